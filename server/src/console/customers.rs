//! The customer list (search, filters, order, pages, bulk reassign and
//! export) and 新建客户. The card itself is in `card`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;

use crm_shared::codes::{Grade, Status, Tier};
use crm_shared::Customer;

use super::layout::{csrf, flash, page, yuan};
use super::people::People;
use super::{ConsoleError, Fields, Query, SignedIn};
use crate::archive;
use crate::caller::ServiceError;
use crate::db::{ListFilter, ListOrder};
use crate::extract::ClientAddress;
use crate::state::AppState;

/// Rows per page of the list.
const PAGE: usize = 50;
/// The furthest a page may start: SQLite's OFFSET is an i64, and no archive
/// comes near a billion customers.
const MAX_OFFSET: usize = 1_000_000_000;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list))
        .route("/customers/bulk", post(bulk))
        .route("/customers/new", get(new_form).post(create))
}

/// The customer list's query: search, filters, order and page.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    salesperson: String,
    #[serde(default)]
    grade: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    tier: String,
    /// The order's code ([`ListOrder::code`]); the name when empty.
    #[serde(default)]
    sort: String,
    /// `desc` for largest first.
    #[serde(default)]
    dir: String,
    #[serde(default)]
    page: usize,
    /// What was just done, for the message at the top (not carried on).
    #[serde(default)]
    done: String,
    /// How many customers it moved.
    #[serde(default)]
    moved: usize,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl ListQuery {
    /// Refuses an order or direction the list does not have.
    pub(super) fn check(&self) -> Result<(), ConsoleError> {
        let bad = |m: String| ConsoleError(crate::error::AppError::BadRequest(m));
        if !self.sort.is_empty() && ListOrder::from_code(&self.sort).is_none() {
            return Err(bad(format!("无法按“{}”排序", self.sort)));
        }
        if !self.dir.is_empty() && self.dir != "desc" {
            return Err(bad(format!("排序方向“{}”无效(只能是 desc)", self.dir)));
        }
        Ok(())
    }

    /// The customers this query lists, on every page.
    pub(super) fn filter(&self) -> ListFilter {
        ListFilter {
            q: some(&self.q),
            region: some(&self.region),
            salesperson: some(&self.salesperson),
            grade: some(&self.grade),
            status: some(&self.status),
            tier: some(&self.tier),
            order: self.order(),
            descending: self.dir == "desc",
        }
    }

    /// The order asked for; an unknown code is refused by [`list`] first.
    fn order(&self) -> ListOrder {
        ListOrder::from_code(&self.sort).unwrap_or_default()
    }

    /// This query on another page.
    fn href(&self, page: usize) -> String {
        self.href_with(&self.sort, &self.dir, page)
    }

    /// This query sorted by `order`: the other way round when it already
    /// is, from the first page.
    fn sorted_by(&self, order: ListOrder) -> String {
        let dir = if self.order() == order && self.dir != "desc" {
            "desc"
        } else {
            ""
        };
        self.href_with(order.code(), dir, 0)
    }

    /// This query's whole list as a download (`xlsx` or `csv`).
    fn export_href(&self, ext: &str) -> String {
        let query = self.query(&self.sort, &self.dir, 0);
        let sep = if query.is_empty() { "" } else { "?" };
        format!("/console/export/customers.{ext}{sep}{query}")
    }

    fn href_with(&self, sort: &str, dir: &str, page: usize) -> String {
        format!("/console/customers?{}", self.query(sort, dir, page))
    }

    /// The search and filters, by parameter name: what every link and form
    /// of the list carries on.
    fn filters(&self) -> [(&'static str, &String); 6] {
        [
            ("q", &self.q),
            ("region", &self.region),
            ("salesperson", &self.salesperson),
            ("grade", &self.grade),
            ("status", &self.status),
            ("tier", &self.tier),
        ]
    }

    /// The URL query of this list's filters with `sort`, `dir` and `page`.
    fn query(&self, sort: &str, dir: &str, page: usize) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.filters() {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if !sort.is_empty() && sort != ListOrder::Name.code() {
            q.append_pair("sort", sort);
        }
        if dir == "desc" {
            q.append_pair("dir", "desc");
        }
        if page > 0 {
            q.append_pair("page", &page.to_string());
        }
        q.finish()
    }

    /// The list's query as hidden fields of a form, so that the page
    /// shown after it is the same page.
    fn hidden(&self) -> Markup {
        let order = [("sort", &self.sort), ("dir", &self.dir)];
        html! {
            @for (k, v) in self.filters().into_iter().chain(order) {
                @if !v.is_empty() { input type="hidden" name={ "list_" (k) } value=(v); }
            }
            @if self.page > 0 { input type="hidden" name="list_page" value=(self.page); }
        }
    }

    /// The list's query from the hidden fields of [`Self::hidden`].
    fn from_form(f: &Fields) -> ListQuery {
        let v = |k: &str| f.text(&format!("list_{k}"));
        ListQuery {
            q: v("q"),
            region: v("region"),
            salesperson: v("salesperson"),
            grade: v("grade"),
            status: v("status"),
            tier: v("tier"),
            sort: v("sort"),
            dir: v("dir"),
            page: v("page").parse().unwrap_or(0),
            ..Default::default()
        }
    }

    /// A column heading that sorts the list by `order`, with an arrow when
    /// it does.
    fn heading(&self, label: &str, order: ListOrder) -> Markup {
        let arrow = match (self.order() == order, self.dir == "desc") {
            (false, _) => "",
            (true, false) => " ▲",
            (true, true) => " ▼",
        };
        html! { a href=(self.sorted_by(order)) { (label) (arrow) } }
    }
}

fn select(
    name: &str,
    label: &str,
    current: &str,
    options: &[(String, String)],
    any: &str,
) -> Markup {
    html! {
        label { (label)
            select name=(name) {
                option value="" { (any) }
                @for (v, l) in options {
                    option value=(v) selected[v == current] { (l) }
                }
            }
        }
    }
}

/// What a refused bulk action keeps on the page: the customers ticked,
/// what was typed, and why it was refused.
#[derive(Debug, Default)]
struct Kept {
    ids: Vec<String>,
    to: String,
    reason: String,
    error: Option<String>,
}

async fn list(
    s: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Markup, ConsoleError> {
    render_list(&s, &state, &q, &Kept::default()).await
}

async fn render_list(
    s: &SignedIn,
    state: &AppState,
    q: &ListQuery,
    kept: &Kept,
) -> Result<Markup, ConsoleError> {
    let offset = q
        .page
        .checked_mul(PAGE)
        .filter(|o| *o <= MAX_OFFSET)
        .ok_or_else(|| {
            ConsoleError(crate::error::AppError::BadRequest(format!(
                "页码 {} 超出范围",
                q.page
            )))
        })?;
    q.check()?;
    let (mut rows, total) =
        archive::list_counted(&state.db, s.caller(), q.filter(), offset, PAGE + 1).await?;
    let pages = (total as usize).div_ceil(PAGE).max(1);
    let more = rows.len() > PAGE;
    rows.truncate(PAGE);
    let own = (!crm_shared::access::sees_all(s.role)).then(|| s.login.clone());
    let (regions, people) = state
        .db
        .read_with(move |conn| {
            Ok::<_, crate::db::DbError>(crate::db::documents::facets(conn, own.as_deref())?)
        })
        .await?;
    let pairs = |v: Vec<String>| v.into_iter().map(|x| (x.clone(), x)).collect::<Vec<_>>();
    let names = People::load(state).await?;
    let mut sellers: Vec<(String, String)> = people
        .into_iter()
        .map(|login| {
            let name = names.name(&login);
            (login, name)
        })
        .collect();
    sellers.sort_by_cached_key(|(_, n)| crm_shared::pinyin::sort_key(n));
    let codes = |all: Vec<(&str, &str)>| {
        all.into_iter()
            .map(|(c, lb)| (c.to_string(), lb.to_string()))
            .collect::<Vec<_>>()
    };
    let any = "全部";
    // Bulk actions are for whoever may write cards in head office.
    let bulk = archive::may_write(&s.caller()).is_ok();
    let all_sellers: Vec<(String, String)> = if bulk {
        names.salespeople().to_vec()
    } else {
        Vec::new()
    };
    Ok(page(
        s,
        "customers",
        "客户列表",
        html! {
            form.filters method="get" action="/console/customers" {
                label { ("搜索(名称、联系人、电话、税号)")
                    input name="q" value=(q.q) size="30" autofocus; }
                (select("region", "区域", &q.region, &pairs(regions), any))
                @if s.head_office() || s.role == crm_shared::codes::Role::Admin {
                    (select("salesperson", "业务员", &q.salesperson, &sellers, any))
                }
                (select("grade", "等级", &q.grade, &codes(Grade::ALL.iter().map(|g| (g.code(), g.label())).collect()), any))
                (select("status", "状态", &q.status, &codes(Status::ALL.iter().map(|g| (g.code(), g.label())).collect()), any))
                (select("tier", "类别", &q.tier, &codes(Tier::ALL.iter().map(|g| (g.code(), g.label())).collect()), any))
                button type="submit" { ("查询") }
                @if bulk { a.button href="/console/customers/new" { ("新建客户") } }
                @if s.head_office() {
                    a href=(q.export_href("xlsx")) { ("导出 Excel") }
                    a href=(q.export_href("csv")) { "CSV" }
                }
            }
            @if q.done == "reassign" {
                (flash(Some(&format!("{}{}{}", "已改派 ", q.moved, " 位客户"))))
            }
            @if let Some(e) = &kept.error { div.error role="alert" { (e) } }
            form #bulk method="post" action="/console/customers/bulk" {
            (csrf(s))
            (q.hidden())
            @if bulk {
                fieldset.bulk {
                    legend { ("对勾选的客户") }
                    (select("to", "改派给", &kept.to, &all_sellers, "请选择"))
                    label { ("原因") input name="reason" value=(kept.reason) size="24"; }
                    button type="submit" name="do" value="reassign" { ("改派") }
                    button type="submit" name="do" value="export" { ("导出所选 Excel") }
                }
            }
            table.cards #customers {
                thead { tr {
                    @if bulk { th { span.sr-only { ("选择") } } }
                    th { (q.heading("客户名称", ListOrder::Name)) }
                    th { ("业务员") } th { ("区域") }
                    th { ("状态") }
                    th { (q.heading("等级", ListOrder::Grade)) }
                    th { ("类别") }
                    th { (q.heading("信用额度", ListOrder::CreditLimit)) }
                    th { ("联系人") } th { ("电话") }
                    th { (q.heading("下次跟进", ListOrder::NextFollowup)) }
                    th { (q.heading("最近拜访", ListOrder::LastActivity)) }
                } }
                tbody {
                    @for r in &rows {
                        tr {
                            @if bulk { td { input type="checkbox" name="id" value=(r.id) checked[kept.ids.contains(&r.id)] aria-label=(r.name); } }
                            td.title { a href={ "/console/customers/" (r.id) } { (r.name) } }
                            td data-label=("业务员") { (names.name(&r.salesperson)) }
                            td data-label=("区域") { (r.region) }
                            td data-label=("状态") { (r.status.label()) }
                            td data-label=("等级") { @if let Some(g) = r.grade { (g.label()) } }
                            td data-label=("类别") { @if let Some(t) = r.tier { (t.label()) } }
                            td.num data-label=("信用额度") { (yuan(r.credit_limit)) }
                            td data-label=("联系人") { (r.contact.clone().unwrap_or_default()) }
                            td data-label=("电话") { (r.phone.clone().unwrap_or_default()) }
                            td data-label=("下次跟进") { @if let Some(d) = r.next_followup { (d.to_string()) } }
                            td data-label=("最近拜访") { (crm_web::format::date(r.last_activity_at)) }
                        }
                    }
                }
            }
            }
            @if rows.is_empty() { p.muted { ("没有符合条件的客户") } }
            div.pager {
                @if q.page > 0 { a href=(q.href(q.page - 1)) { ("上一页") } }
                span.muted #list-count {
                    ("共 ") (total) (" 位客户,第 ") (q.page + 1)
                    " / " (pages) (" 页")
                }
                @if more { a href=(q.href(q.page + 1)) { ("下一页") } }
            }
        },
    ))
}

/// The list's bulk actions on the ticked customers: reassign (with a
/// reason) or export. A refusal shows the same page again, with the ticks
/// and what was typed kept.
async fn bulk(
    s: SignedIn,
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let q = ListQuery::from_form(&f);
    let ids: Vec<String> = f.all("id").into_iter().map(String::from).collect();
    let kept = |error: String| Kept {
        ids: ids.clone(),
        to: f.text("to"),
        reason: f.text("reason"),
        error: Some(error),
    };
    let refused = |e: String| async {
        let page = render_list(&s, &state, &q, &kept(e)).await?;
        Ok::<_, ConsoleError>((StatusCode::BAD_REQUEST, page).into_response())
    };
    if ids.is_empty() {
        return refused("请先勾选客户".into()).await;
    }
    match f.text("do").as_str() {
        "reassign" => {
            let done = archive::reassign(
                &state.db,
                s.caller(),
                ids.clone(),
                f.text("to"),
                f.text("reason"),
                crate::clock::now_ms(),
            )
            .await;
            match done {
                Ok(moved) => {
                    let back = q.href(q.page);
                    let sep = if back.ends_with('?') { "" } else { "&" };
                    Ok(super::done(&format!(
                        "{back}{sep}done=reassign&moved={moved}"
                    )))
                }
                Err(ServiceError::BadRequest(m)) => refused(m).await,
                Err(e) => Err(e.into()),
            }
        }
        "export" => {
            let t =
                crate::sheets::export::chosen_customers(&state.db, s.caller(), ids.clone()).await?;
            super::sheets::send(
                &state,
                &s,
                peer,
                t,
                crate::sheets::Format::Xlsx,
                ("customers", "所选客户"),
            )
            .await
        }
        other => refused(format!("未知的操作“{other}”")).await,
    }
}

/// The fields of 新建客户, as typed.
#[derive(Debug, Default)]
struct NewCustomer {
    name: String,
    salesperson: String,
    region: String,
    contact: String,
    mobile: String,
    tax_no: String,
}

impl NewCustomer {
    fn of(f: &Fields) -> NewCustomer {
        NewCustomer {
            name: f.text("name"),
            salesperson: f.text("salesperson"),
            region: f.text("region"),
            contact: f.text("contact"),
            mobile: f.text("mobile"),
            tax_no: f.text("tax_no"),
        }
    }

    fn card(&self) -> Customer {
        let mut c = Customer {
            name: self.name.clone(),
            salesperson: self.salesperson.clone(),
            region: self.region.clone(),
            ..Default::default()
        };
        if !self.contact.is_empty() || !self.mobile.is_empty() {
            c.contacts.insert(
                "k1".into(),
                crm_shared::customer::Contact {
                    name: self.contact.clone(),
                    mobile: self.mobile.clone(),
                    primary: true,
                    ..Default::default()
                },
            );
        }
        c.billing.tax_no = self.tax_no.clone();
        c
    }
}

/// 新建客户: the form, with what was typed, why it was refused, and the
/// customers on file it resembles (then 仍然新建 may be ticked).
async fn new_page(
    s: &SignedIn,
    state: &AppState,
    typed: &NewCustomer,
    error: Option<&str>,
    duplicates: &[archive::Duplicate],
) -> Result<Markup, ConsoleError> {
    let names = People::load(state).await?;
    Ok(page(
        s,
        "customers",
        "新建客户",
        html! {
            @if let Some(e) = error { div.error role="alert" { (e) } }
            @if !duplicates.is_empty() {
                div.error role="alert" #duplicates {
                    p { ("档案中已有相似的客户,请先核对:") }
                    ul { @for d in duplicates {
                        li { (d.on) ("相同:") a href={ "/console/customers/" (d.customer) } { (d.name) } }
                    } }
                }
            }
            form.stack method="post" action="/console/customers/new" #new-customer {
                (csrf(s))
                div.fields {
                    label { ("客户名称(必填)") input name="name" value=(typed.name) required; }
                    (select("salesperson", "业务员", &typed.salesperson, names.salespeople(), "请选择"))
                    label { ("区域") input name="region" value=(typed.region); }
                    label { ("联系人") input name="contact" value=(typed.contact); }
                    label { ("手机") input name="mobile" value=(typed.mobile) inputmode="tel"; }
                    label { ("税号") input name="tax_no" value=(typed.tax_no); }
                }
                @if !duplicates.is_empty() {
                    label { span { input type="checkbox" name="anyway" value="1"; " " ("确认不是同一客户,仍然新建") } }
                }
                div.row {
                    button type="submit" { ("新建") }
                    a.button.secondary href="/console/customers" { ("取消") }
                }
            }
        },
    ))
}

async fn new_form(s: SignedIn, State(state): State<AppState>) -> Result<Markup, ConsoleError> {
    archive::may_write(&s.caller())?;
    new_page(&s, &state, &NewCustomer::default(), None, &[]).await
}

/// Creates the customer, or shows the form again as typed: refused (400),
/// or with the customers it resembles until 仍然新建 is ticked.
async fn create(
    s: SignedIn,
    State(state): State<AppState>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let typed = NewCustomer::of(&f);
    if typed.contact.is_empty() && !typed.mobile.is_empty() {
        let why = "填写了手机,请同时填写联系人姓名";
        let page = new_page(&s, &state, &typed, Some(why), &[]).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let done = archive::create(
        &state.db,
        s.caller(),
        typed.card(),
        f.get("anyway").is_some(),
        crate::clock::now_ms(),
    )
    .await;
    match done {
        Ok(Ok(id)) => Ok(super::done(&format!("/console/customers/{id}?done=create"))),
        Ok(Err(duplicates)) => {
            let page = new_page(&s, &state, &typed, None, &duplicates).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(ServiceError::BadRequest(m)) => {
            let page = new_page(&s, &state, &typed, Some(&m), &[]).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
