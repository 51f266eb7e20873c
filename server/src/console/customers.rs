//! Customer pages: the list (search, filters, pages), the card with every
//! archive field and record, its history, editing with a reason, settling
//! conflicts, marking a review; and the list of open conflicts.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;

use crm_shared::access;
use crm_shared::codes::{Grade, Status, Tier};
use crm_shared::day::Moment;
use crm_shared::diff::text_at;
use crm_shared::document::Conflict;
use crm_shared::labels::{label_of, FIELDS};
use crm_shared::story;
use crm_shared::Customer;

use super::layout::{csrf, flash, page, when, yuan};
use super::people::People;
use super::{done, ConsoleError, Fields, InLang, SignedIn};
use crate::archive;
use crate::caller::ServiceError;
use crate::db::{ListFilter, ListOrder};
use crate::extract::ClientAddress;
use crate::state::AppState;

/// Rows per page of the list.
const PAGE: usize = 50;
/// Details of a history entry shown before the rest fold away.
const HISTORY_SHOWN: usize = 5;
/// The furthest a page may start: SQLite's OFFSET is an i64, and no archive
/// comes near a billion customers.
const MAX_OFFSET: usize = 1_000_000_000;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list))
        .route("/customers/{id}", get(card))
        .route("/customers/bulk", post(bulk))
        .route("/customers/new", get(new_form).post(create))
        .route("/customers/{id}/edit", post(edit))
        .route("/customers/{id}/resolve", post(resolve))
        .route("/customers/{id}/review", post(review))
        .route("/conflicts", get(conflicts))
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
    pub(super) fn check(&self, l: super::Lang) -> Result<(), ConsoleError> {
        let bad = |m: String| ConsoleError(crate::error::AppError::BadRequest(m), l);
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
    let l = s.lang;
    let offset = q
        .page
        .checked_mul(PAGE)
        .filter(|o| *o <= MAX_OFFSET)
        .ok_or_else(|| {
            ConsoleError(
                crate::error::AppError::BadRequest(format!("页码 {} 超出范围", q.page)),
                l,
            )
        })?;
    q.check(l)?;
    let (mut rows, total) =
        archive::list_counted(&state.db, s.caller(), q.filter(), offset, PAGE + 1)
            .await
            .lang(l)?;
    let pages = (total as usize).div_ceil(PAGE).max(1);
    let more = rows.len() > PAGE;
    rows.truncate(PAGE);
    let own = (!crm_shared::access::sees_all(s.role)).then(|| s.login.clone());
    let (regions, people) = state
        .db
        .read_with(move |conn| {
            Ok::<_, crate::db::DbError>(crate::db::documents::facets(conn, own.as_deref())?)
        })
        .await
        .lang(l)?;
    let pairs = |v: Vec<String>| v.into_iter().map(|x| (x.clone(), x)).collect::<Vec<_>>();
    let names = People::load(state).await.lang(l)?;
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
    let any = l.t("全部", "All");
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
        l.t("客户列表", "Customers"),
        html! {
            form.filters method="get" action="/console/customers" {
                label { (l.t("搜索(名称、联系人、电话、税号)", "Search (name, contact, phone, tax no.)"))
                    input name="q" value=(q.q) size="30" autofocus; }
                (select("region", l.t("区域", "Region"), &q.region, &pairs(regions), any))
                @if s.head_office() || s.role == crm_shared::codes::Role::Admin {
                    (select("salesperson", l.t("业务员", "Salesperson"), &q.salesperson, &sellers, any))
                }
                (select("grade", l.t("等级", "Grade"), &q.grade, &codes(Grade::ALL.iter().map(|g| (g.code(), g.label())).collect()), any))
                (select("status", l.t("状态", "Status"), &q.status, &codes(Status::ALL.iter().map(|g| (g.code(), g.label())).collect()), any))
                (select("tier", l.t("类别", "Tier"), &q.tier, &codes(Tier::ALL.iter().map(|g| (g.code(), g.label())).collect()), any))
                button type="submit" { (l.t("查询", "Search")) }
                @if bulk { a.button href="/console/customers/new" { (l.t("新建客户", "New customer")) } }
                @if s.head_office() {
                    a href=(q.export_href("xlsx")) { (l.t("导出 Excel", "Export .xlsx")) }
                    a href=(q.export_href("csv")) { "CSV" }
                }
            }
            @if q.done == "reassign" {
                (flash(Some(&format!("{}{}{}", l.t("已改派 ", "Reassigned "), q.moved, l.t(" 位客户", " customers")))))
            }
            @if let Some(e) = &kept.error { div.error role="alert" { (e) } }
            form #bulk method="post" action="/console/customers/bulk" {
            (csrf(s))
            (q.hidden())
            @if bulk {
                fieldset.bulk {
                    legend { (l.t("对勾选的客户", "With the ticked customers")) }
                    (select("to", l.t("改派给", "Reassign to"), &kept.to, &all_sellers, l.t("请选择", "Choose")))
                    label { (l.t("原因", "Reason")) input name="reason" value=(kept.reason) size="24"; }
                    button type="submit" name="do" value="reassign" { (l.t("改派", "Reassign")) }
                    button type="submit" name="do" value="export" { (l.t("导出所选 Excel", "Export ticked (.xlsx)")) }
                }
            }
            table #customers {
                thead { tr {
                    @if bulk { th { span.sr-only { (l.t("选择", "Select")) } } }
                    th { (q.heading(l.t("客户名称", "Name"), ListOrder::Name)) }
                    th { (l.t("业务员", "Salesperson")) } th { (l.t("区域", "Region")) }
                    th { (l.t("状态", "Status")) }
                    th { (q.heading(l.t("等级", "Grade"), ListOrder::Grade)) }
                    th { (l.t("类别", "Tier")) }
                    th { (q.heading(l.t("信用额度", "Credit limit"), ListOrder::CreditLimit)) }
                    th { (l.t("联系人", "Contact")) } th { (l.t("电话", "Phone")) }
                    th { (q.heading(l.t("下次跟进", "Next follow-up"), ListOrder::NextFollowup)) }
                    th { (q.heading(l.t("最近拜访", "Last visit"), ListOrder::LastActivity)) }
                } }
                tbody {
                    @for r in &rows {
                        tr {
                            @if bulk { td { input type="checkbox" name="id" value=(r.id) checked[kept.ids.contains(&r.id)] aria-label=(r.name); } }
                            td { a href={ "/console/customers/" (r.id) } { (r.name) } }
                            td { (names.name(&r.salesperson)) } td { (r.region) } td { (r.status.label()) }
                            td { @if let Some(g) = r.grade { (g.label()) } }
                            td { @if let Some(t) = r.tier { (t.label()) } }
                            td.num { (yuan(r.credit_limit)) }
                            td { (r.contact.clone().unwrap_or_default()) }
                            td { (r.phone.clone().unwrap_or_default()) }
                            td { @if let Some(d) = r.next_followup { (d.to_string()) } }
                            td { (crm_web::format::date(r.last_activity_at)) }
                        }
                    }
                }
            }
            }
            @if rows.is_empty() { p.muted { (l.t("没有符合条件的客户", "No customers match")) } }
            div.pager {
                @if q.page > 0 { a href=(q.href(q.page - 1)) { (l.t("上一页", "Previous")) } }
                span.muted #list-count {
                    (l.t("共 ", "")) (total) (l.t(" 位客户,第 ", " customers, page ")) (q.page + 1)
                    " / " (pages) (l.t(" 页", ""))
                }
                @if more { a href=(q.href(q.page + 1)) { (l.t("下一页", "Next")) } }
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
        return refused(s.lang.t("请先勾选客户", "Tick some customers first").into()).await;
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
                Err(e) => Err(e).lang(s.lang),
            }
        }
        "export" => {
            let t = crate::sheets::export::chosen_customers(&state.db, s.caller(), ids.clone())
                .await
                .lang(s.lang)?;
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
    let l = s.lang;
    let names = People::load(state).await.lang(l)?;
    Ok(page(
        s,
        "customers",
        l.t("新建客户", "New customer"),
        html! {
            @if let Some(e) = error { div.error role="alert" { (e) } }
            @if !duplicates.is_empty() {
                div.error role="alert" #duplicates {
                    p { (l.t("档案中已有相似的客户,请先核对:", "Similar customers are on file:")) }
                    ul { @for d in duplicates {
                        li { (d.on) (l.t("相同:", " matches: ")) a href={ "/console/customers/" (d.customer) } { (d.name) } }
                    } }
                }
            }
            form.stack method="post" action="/console/customers/new" #new-customer {
                (csrf(s))
                div.fields {
                    label { (l.t("客户名称(必填)", "Name (required)")) input name="name" value=(typed.name) required; }
                    (select("salesperson", l.t("业务员", "Salesperson"), &typed.salesperson, names.salespeople(), l.t("请选择", "Choose")))
                    label { (l.t("区域", "Region")) input name="region" value=(typed.region); }
                    label { (l.t("联系人", "Contact")) input name="contact" value=(typed.contact); }
                    label { (l.t("手机", "Mobile")) input name="mobile" value=(typed.mobile) inputmode="tel"; }
                    label { (l.t("税号", "Tax number")) input name="tax_no" value=(typed.tax_no); }
                }
                @if !duplicates.is_empty() {
                    label { span { input type="checkbox" name="anyway" value="1"; " " (l.t("确认不是同一客户,仍然新建", "Not the same customer: create anyway")) } }
                }
                div.row {
                    button type="submit" { (l.t("新建", "Create")) }
                    a.button.secondary href="/console/customers" { (l.t("取消", "Cancel")) }
                }
            }
        },
    ))
}

async fn new_form(s: SignedIn, State(state): State<AppState>) -> Result<Markup, ConsoleError> {
    archive::may_write(&s.caller()).lang(s.lang)?;
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
        let why = s.lang.t(
            "填写了手机,请同时填写联系人姓名",
            "A mobile number needs the contact's name",
        );
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
        Err(e) => Err(e).lang(s.lang),
    }
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    #[serde(default)]
    done: String,
}

fn done_message(s: &SignedIn, code: &str) -> Option<&'static str> {
    let l = s.lang;
    Some(match code {
        "edit" => l.t("已保存修改", "Saved"),
        "create" => l.t("已新建客户", "Customer created"),
        "resolve" => l.t("冲突已解决", "Conflict resolved"),
        "review" => l.t("已记录审查", "Review recorded"),
        _ => return None,
    })
}

/// Every single-value field of the card with its Chinese label and value.
fn field_rows(c: &Customer) -> Vec<(&'static str, &'static str, String)> {
    let json = serde_json::to_value(c).expect("a card serialises");
    FIELDS
        .iter()
        .map(|(path, label)| {
            let mut v = &json;
            for part in path.split('.') {
                v = &v[part];
            }
            let text = match (coded(c, path), v) {
                (Some(label), _) => label,
                (None, serde_json::Value::Null) => String::new(),
                (None, serde_json::Value::String(s)) => s.clone(),
                (None, serde_json::Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(";"),
                (None, other) => other.to_string(),
            };
            (*path, *label, text)
        })
        .collect()
}

/// A coded field as people read it: its Chinese label, not the stored code.
fn coded(c: &Customer, path: &str) -> Option<String> {
    fn label<T: std::fmt::Display>(v: Option<T>) -> String {
        v.map(|v| v.to_string()).unwrap_or_default()
    }
    Some(match path {
        "status" => c.status.to_string(),
        "grade" => label(c.grade),
        "tier" => label(c.tier),
        "kind" => label(c.kind),
        "nature" => label(c.nature),
        "intent" => label(c.intent),
        "company.bank_rating" => label(c.company.bank_rating),
        _ => return None,
    })
}

async fn card(
    s: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(d): Query<Done>,
) -> Result<Markup, ConsoleError> {
    let l = s.lang;
    let view = archive::card(&state.db, s.caller(), id.clone())
        .await
        .lang(l)?;
    let c = &view.customer;
    let settings = state.db.settings().await.lang(l)?.settings;
    // The history names people, not logins.
    let people = People::load(&state).await.lang(l)?;
    let names = |login: &str| people.known(login);
    let stories = story::tell_all(&view.history, c, &names);
    let edits = s.head_office();
    // As `rules::review` allows: head office, or the customer's own salesperson.
    let reviews = edits || s.role == crm_shared::codes::Role::Salesperson;
    Ok(page(
        &s,
        "customers",
        &c.name,
        html! {
            (flash(done_message(&s, &d.done)))
            @if !view.conflicts.is_empty() {
                div.error { (l.t("此客户有未解决的冲突,见下方“冲突”。", "This customer has open conflicts, see below.")) }
            }
            h2 { (l.t("档案", "Archive card")) }
            div.card #card {
                div { span { (l.t("编号", "Id")) } (c.id) }
                @for (path, label, text) in field_rows(c) {
                    @if path == "entered_at" {
                        div { span { (label) } (Moment::Date.show(c.entered_at).unwrap_or_default()) }
                    } @else {
                        div { span { (label) } (text) }
                    }
                }
            }
            h2 { (l.t("联系人", "Contacts")) }
            table #contacts { thead { tr {
                    th { (l.t("姓名", "Name")) } th { (l.t("部门/职务", "Dept./title")) } th { (l.t("手机", "Mobile")) } th { (l.t("电话", "Phone")) }
                    th { (l.t("传真", "Fax")) } th { (l.t("邮箱", "Email")) } th { (l.t("微信", "WeChat")) } th { (l.t("决策影响力", "Decision influence")) }
                    th { (l.t("重要日期", "Important dates")) } th { (l.t("喜好", "Preferences")) } th { (l.t("接受邮寄", "Mail")) } th { (l.t("接受短信", "SMS")) }
                    th { (l.t("主要联系人", "Main")) }
                } }
                tbody { @for k in c.contacts.values() { tr {
                    td { (k.name) } td { (k.department) " " (k.title) } td { (k.mobile) } td { (k.phone) } td { (k.fax) } td { (k.email) } td { (k.wechat) }
                    td { (k.influence) } td { (k.important_dates) } td { (k.preferences) }
                    td { (yes_no(l, k.accepts_mail)) } td { (yes_no(l, k.accepts_sms)) }
                    td { @if k.primary { "✓" } }
                } } } }
            h2 { (l.t("拜访与活动", "Visits and activities")) " (" (c.activities.len()) ")" }
            table { thead { tr { th { (l.t("时间", "When")) } th { (l.t("类型", "Kind")) } th { (l.t("记录人", "By")) } th { (l.t("内容", "Notes")) } th { (l.t("意向", "Intent")) } th { (l.t("下次跟进", "Next")) } } }
                tbody { @for a in sorted_activities(c) { tr {
                    td { (when(Some(a.at))) } td { (a.kind.label()) } td { (a.by) } td { (a.notes) }
                    td { @if let Some(i) = a.intent { (i.label()) } } td { @if let Some(n) = a.next_followup { (n.to_string()) } }
                } } } }
            h2 { (l.t("销售记录", "Sales")) }
            table { thead { tr { th { (l.t("日期", "Day")) } th { (l.t("产品", "Product")) } th { (l.t("数量", "Qty")) } th { (l.t("金额(元)", "Amount")) } th { (l.t("应付日", "Due")) } th { (l.t("付款日", "Paid")) } } }
                tbody { @for x in c.sales.values() { tr {
                    td { @if let Some(d) = x.day { (d.to_string()) } } td { (x.product) } td.num { (x.quantity) } td.num { (yuan(Some(x.amount))) }
                    td { @if let Some(d) = x.due { (d.to_string()) } } td { @if let Some(d) = x.paid_on { (d.to_string()) } @else { span.tag.bad { (l.t("未付", "unpaid")) } } }
                } } } }
            h2 { (l.t("投诉", "Complaints")) }
            table { thead { tr { th { (l.t("登记时间", "When")) } th { (l.t("性质", "Kind")) } th { (l.t("内容", "Complaint")) } th { (l.t("调查", "Investigation")) } th { (l.t("处理方案", "Remedy")) } th { (l.t("执行", "Execution")) } th { (l.t("结果", "Outcome")) } } }
                tbody { @for k in c.complaints.values() { tr {
                    td { (when(Some(k.at))) } td { @if let Some(x) = k.category { (x.label()) } } td { (k.description) }
                    td { (k.investigation) } td { (k.remedy) } td { (k.execution) }
                    td { @match (k.closed_at, k.satisfied) {
                        (Some(_), Some(true)) => (l.t("客户满意", "satisfied")),
                        (Some(_), _) => (l.t("客户不满意", "not satisfied")),
                        _ => (l.t("处理中", "open")),
                    } }
                } } } }
            h2 { (l.t("违约记录", "Violations")) " (" (c.violations.len()) ")" }
            table #violations { thead { tr { th { (l.t("时间", "When")) } th { (l.t("类型", "Kind")) } th { (l.t("描述", "Description")) } } }
                tbody { @for v in by_time(&c.violations, |v| v.at) { tr {
                    td { (when(Some(v.at))) } td { (v.kind) } td { (v.description) }
                } } } }
            h2 { (l.t("评价", "Evaluations")) " (" (c.evaluations.len()) ")" }
            table #evaluations { thead { tr { th { (l.t("时间", "When")) } th { (l.t("评价人", "By")) } th { (l.t("评价内容", "Evaluation")) } } }
                tbody { @for e in by_time(&c.evaluations, |e| e.at) { tr {
                    td { (when(Some(e.at))) } td { (e.by) } td { (e.text) }
                } } } }
            h2 { (l.t("信用额度申请", "Credit-limit requests")) }
            table { thead { tr { th { (l.t("申请时间", "Filed")) } th { (l.t("申请人", "By")) } th { (l.t("原额度", "Current")) } th { (l.t("拟变更额度", "Proposed")) } th { (l.t("理由", "Reason")) } th { (l.t("状态", "Status")) } } }
                tbody { @for r in c.credit_requests.values() { tr {
                    td { (when(Some(r.at))) } td { (r.by) } td.num { (yuan(r.current)) } td.num { (yuan(Some(r.proposed))) } td { (r.reason) }
                    td { (crm_shared::credit::status(r, &settings.credit_chain).label()) }
                } } } }
            h2 { (l.t("定期审查", "Reviews")) }
            table { thead { tr { th { (l.t("时间", "When")) } th { (l.t("审查人", "By")) } th { (l.t("类别", "Tier")) } th { (l.t("意见", "Notes")) } } }
                tbody { @for r in c.reviews.values() { tr {
                    td { (when(Some(r.at))) } td { (r.by) } td { @if let Some(t) = r.tier { (t.label()) } } td { (r.notes) }
                } } } }
            @if !c.major_changes.is_empty() {
                h2 { (l.t("重大变化", "Major changes")) }
                ul { @for m in c.major_changes.values() { li { (when(Some(m.at))) " " (m.description) @if m.cleared { " (" (l.t("已处理", "cleared")) ")" } } } }
            }
            @if !view.conflicts.is_empty() {
                h2 #conflicts { (l.t("冲突", "Conflicts")) }
                @for k in &view.conflicts { (conflict_form(&s, &c.id, k)) }
            }
            @if edits {
                h2 { (l.t("修改档案", "Edit the card")) }
                form #edit method="post" action={ "/console/customers/" (c.id) "/edit" } {
                    (csrf(&s))
                    div.filters {
                        @for i in 0..3 {
                            label { (l.t("字段", "Field"))
                                select name="field" {
                                    option value="" { "—" }
                                    @for (path, label) in FIELDS.iter().filter(|(p, _)| access::may_change(s.role, p)) {
                                        option value=(path) selected[i == 0 && *path == "company.address"] { (label) " (" (path) ")" }
                                    }
                                }
                            }
                            label { (l.t("新值", "New value")) input name="value"; }
                        }
                    }
                    p.muted { (l.t("日期写作 2026-01-01,时间写作 2026-01-01 09:30。", "Type dates as 2026-01-01, times as 2026-01-01 09:30.")) }
                    label { (l.t("修改原因(必填)", "Reason (required)")) input name="reason" required size="60"; }
                    p { button type="submit" { (l.t("保存修改", "Save")) } }
                }
            }
            @if reviews {
                h2 { (l.t("标记为已审查", "Mark reviewed")) }
                form #review method="post" action={ "/console/customers/" (c.id) "/review" } {
                    (csrf(&s))
                    div.filters {
                        label { (l.t("客户类别", "Tier"))
                            select name="tier" { option value="" { "—" } @for t in Tier::ALL { option value=(t.code()) { (t.label()) } } } }
                        label { (l.t("意见", "Notes")) input name="notes" size="40"; }
                        button type="submit" { (l.t("记录审查", "Record review")) }
                    }
                }
            }
            h2 #history { (l.t("修改历史", "History")) }
            table { thead { tr { th { (l.t("时间", "When")) } th { (l.t("修改人", "Who")) } th { (l.t("内容", "What")) } th { (l.t("原因", "Why")) } } }
                tbody { @for h in stories.iter().rev() { tr {
                    td { (when(Some(h.at))) } td { (h.who) }
                    td {
                        div { (h.headline) }
                        @for d in h.details.iter().take(HISTORY_SHOWN) { div.muted { (d) } }
                        @if h.details.len() > HISTORY_SHOWN {
                            details {
                                summary { (l.t("另有 ", "")) (h.details.len() - HISTORY_SHOWN) (l.t(" 项", " more")) }
                                @for d in &h.details[HISTORY_SHOWN..] { div.muted { (d) } }
                            }
                        }
                    }
                    td { (h.reason.clone().unwrap_or_default()) }
                } } } }
        },
    ))
}

fn yes_no(l: super::Lang, v: bool) -> &'static str {
    if v {
        l.t("是", "yes")
    } else {
        l.t("否", "no")
    }
}

/// A record collection newest first.
fn by_time<T>(m: &std::collections::BTreeMap<String, T>, at: impl Fn(&T) -> i64) -> Vec<&T> {
    let mut v: Vec<&T> = m.values().collect();
    v.sort_by_key(|x| std::cmp::Reverse(at(x)));
    v
}

fn sorted_activities(c: &Customer) -> Vec<&crm_shared::customer::Activity> {
    let mut v: Vec<_> = c.activities.values().collect();
    v.sort_by_key(|a| std::cmp::Reverse(a.at));
    v
}

fn conflict_form(s: &SignedIn, id: &str, k: &Conflict) -> Markup {
    let l = s.lang;
    html! {
        form.conflict method="post" action={ "/console/customers/" (id) "/resolve" } {
            (csrf(s))
            input type="hidden" name="path" value=(k.path);
            p { b { (label_of(&k.path)) } " (" (k.path) ")" }
            @for (i, v) in k.values.iter().enumerate() {
                label { span {
                    input type="radio" name="value" value=(v.value.to_string()) checked[i == 0];
                    " " (text_at(&k.path, &v.value).unwrap_or_default())
                    span.muted { " — " (v.by.clone().unwrap_or_default()) " " (when(v.at)) }
                } }
            }
            label { (l.t("原因(必填)", "Reason (required)")) input name="reason" required size="50"; }
            button type="submit" { (l.t("采用所选值", "Keep the chosen value")) }
        }
    }
}

async fn edit(
    s: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let sets: Vec<(String, String)> = f
        .all("field")
        .into_iter()
        .zip(f.all("value"))
        .filter(|(k, _)| !k.trim().is_empty())
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect();
    archive::edit(
        &state.db,
        s.caller(),
        id.clone(),
        sets,
        f.text("reason"),
        crate::clock::now_ms(),
    )
    .await
    .lang(s.lang)?;
    Ok(done(&format!("/console/customers/{id}?done=edit#history")))
}

async fn resolve(
    s: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let reason = f.text("reason");
    if reason.is_empty() {
        return Err(ConsoleError(
            crate::error::AppError::BadRequest("解决冲突必须说明原因".into()),
            s.lang,
        ));
    }
    let value: serde_json::Value = serde_json::from_str(f.get("value").unwrap_or_default())
        .map_err(|_| {
            ConsoleError(
                crate::error::AppError::BadRequest("请选择要保留的值".into()),
                s.lang,
            )
        })?;
    archive::resolve(
        &state.db,
        s.caller(),
        id.clone(),
        f.text("path"),
        value,
        reason,
        crate::clock::now_ms(),
    )
    .await
    .lang(s.lang)?;
    Ok(done(&format!(
        "/console/customers/{id}?done=resolve#history"
    )))
}

async fn review(
    s: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let tier = match f.text("tier").as_str() {
        "" => None,
        t => Some(t.parse::<Tier>().map_err(|e| {
            ConsoleError(crate::error::AppError::BadRequest(e.to_string()), s.lang)
        })?),
    };
    crate::rules::review(
        &state.db,
        s.caller(),
        id.clone(),
        crm_shared::api::ReviewRequest {
            tier,
            notes: f.text("notes"),
        },
        crate::clock::now_ms(),
    )
    .await
    .lang(s.lang)?;
    Ok(done(&format!("/console/customers/{id}?done=review")))
}

async fn conflicts(s: SignedIn, State(state): State<AppState>) -> Result<Markup, ConsoleError> {
    let l = s.lang;
    let all = archive::conflicts(&state.db, s.caller()).await.lang(l)?;
    Ok(page(
        &s,
        "conflicts",
        l.t("未解决的冲突", "Open conflicts"),
        html! {
            @if all.is_empty() { p.muted { (l.t("没有未解决的冲突", "No open conflicts")) } }
            @for c in &all {
                h2 { a href={ "/console/customers/" (c.id) } { (c.name) } }
                @for k in &c.conflicts { (conflict_form(&s, &c.id, k)) }
            }
        },
    ))
}
