//! 客户: the list, searched by name, contact, phone, tax number or pinyin
//! (`shhd` and `shanghai` both find 上海华东机电) and sorted by name in pinyin
//! order, next follow-up, last visit or grade; and 新建客户, warned of
//! customers that look the same.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;

use crm_shared::codes::Intent;
use crm_shared::customer::{Contact, Customer};
use crm_shared::summary::CustomerSummary;
use crm_web::format::{date, grade, yuan};
use crm_web::parts::flash;

use super::form::{Posted, Refused};
use super::view::{back, failure, page, token};
use super::{App, Shared};
use crate::clock::now_millis;
use crate::error::{ClientError, Result};
use crate::record;
use crate::store::Store;

/// Rows shown at once; the count says how many matched.
const SHOWN: usize = 300;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/customers", get(list))
        .route("/customers/rows", get(rows))
        .route("/customers/new", get(new_form).post(create))
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    ok: Option<String>,
}

const SORTS: &[(&str, &str)] = &[
    ("name", "名称(拼音)"),
    ("followup", "下次跟进"),
    ("recent", "最近联系"),
    ("grade", "等级"),
];

fn found(store: &Store, q: &ListQuery) -> Result<Vec<CustomerSummary>> {
    let mut rows = if q.q.trim().is_empty() {
        store.list()?
    } else {
        let mut r = store.search(&q.q)?;
        r.sort_by_cached_key(|s| (crm_shared::pinyin::sort_key(&s.name), s.id.clone()));
        r
    };
    match q.sort.as_str() {
        "followup" => rows.sort_by_key(|s| (s.next_followup.is_none(), s.next_followup)),
        "recent" => rows.sort_by_key(|s| std::cmp::Reverse(s.last_activity_at)),
        "grade" => rows.sort_by_key(|s| (s.grade.is_none(), s.grade)),
        _ => {}
    }
    Ok(rows)
}

fn table(rows: &[CustomerSummary]) -> Markup {
    html! {
        div #rows {
            p.muted { "共 " (rows.len()) " 位" @if rows.len() > SHOWN { ",显示前 " (SHOWN) " 位,请输入更多文字缩小范围" } }
            table {
                thead { tr { th { "客户" } th { "联系人" } th { "电话" } th { "等级" } th.hide-narrow { "意向" } th { "下次跟进" } th.hide-narrow { "上次联系" } th.hide-narrow { "信用额度" } } }
                tbody { @for s in rows.iter().take(SHOWN) { tr {
                    td { a href={ "/customers/" (s.id) } { (s.name) } }
                    td { (s.contact.clone().unwrap_or_default()) }
                    td { @if let Some(p) = &s.phone { a href={ "tel:" (p) } { (p) } } }
                    td { (grade(s.grade)) }
                    td.hide-narrow { (s.intent.map(|i| i.label()).unwrap_or_default()) }
                    td { (s.next_followup.map(|d| d.to_string()).unwrap_or_default()) }
                    td.hide-narrow { (date(s.last_activity_at)) }
                    td.num.hide-narrow { (yuan(s.credit_limit)) }
                } } }
            }
        }
    }
}

async fn list(State(app): State<Shared>, Query(q): Query<ListQuery>) -> Response {
    let render = || -> Result<Response> {
        let Some(store) = app.store()? else {
            return Ok(axum::response::Redirect::to("/setup").into_response());
        };
        let rows = found(&store, &q)?;
        let body = html! {
            (flash(q.ok.as_deref()))
            form.filters method="get" action="/customers" role="search" {
                label { "查找(名称、联系人、电话、税号、拼音或首字母)"
                    input #q name="q" value=(q.q) autofocus autocomplete="off" placeholder="如 shhd 或 上海"; }
                label { "排序" select name="sort" {
                    @for (code, label) in SORTS { option value=(code) selected[q.sort == *code] { (label) } }
                } }
                button type="submit" { "查找" }
                a.button.secondary href="/customers/new" { "新建客户" }
            }
            (table(&rows))
        };
        Ok(page(&app, &store, "customers", "客户", body).into_response())
    };
    render().unwrap_or_else(|e| failure(&e))
}

/// The rows alone, for search as you type.
async fn rows(State(app): State<Shared>, Query(q): Query<ListQuery>) -> Response {
    let render = || -> Result<Markup> {
        let store = app.store()?.ok_or(ClientError::NotInitialised)?;
        Ok(table(&found(&store, &q)?))
    };
    render()
        .map(IntoResponse::into_response)
        .unwrap_or_else(|e| failure(&e))
}

async fn new_form(State(app): State<Shared>) -> Response {
    new_page(&app, None, &[])
}

fn new_page(app: &App, refused: Option<&Refused>, duplicates: &[CustomerSummary]) -> Response {
    let render = || -> Result<Response> {
        let Some(store) = app.store()? else {
            return Ok(axum::response::Redirect::to("/setup").into_response());
        };
        let v = |name: &str| Refused::value(refused, "new", name).unwrap_or_default();
        let body = html! {
            @if let Some(r) = refused { div.error role="alert" { (r.message) } }
            @if !duplicates.is_empty() {
                div.error role="alert" {
                    "本机已有相似的客户,请确认不是同一客户:"
                    ul { @for d in duplicates { li { a href={ "/customers/" (d.id) } { (d.name) } " " (d.contact.clone().unwrap_or_default()) " " (d.phone.clone().unwrap_or_default()) } } }
                }
            }
            form.stack method="post" action="/customers/new" {
                (token(app))
                label { "客户名称 *" input name="name" required value=(v("name")) autofocus; (Refused::beside(refused, "new", "name")) }
                div.row {
                    label { "联系人" input name="contact" value=(v("contact")); }
                    label { "职务" input name="title" value=(v("title")); }
                    label { "手机" input name="mobile" type="tel" value=(v("mobile")); (Refused::beside(refused, "new", "mobile")) }
                }
                div.row {
                    label { "区域" input name="region" value=(v("region")); }
                    label { "行业" input name="industry" value=(v("industry")); }
                    label { "税务登记号" input name="tax_no" value=(v("tax_no")); }
                }
                label { "地址" input name="address" value=(v("address")); }
                label { "意向等级" select name="intent" {
                    option value="" { "—" }
                    @for i in Intent::ALL { option value=(i.code()) selected[v("intent") == i.code()] { (i.label()) } }
                } }
                @if !duplicates.is_empty() {
                    label { span { input type="checkbox" name="not_duplicate"; " 确认不是同一客户,仍然新建" } }
                }
                div.actions { button type="submit" { "保存" } a.button.secondary href="/customers" { "取消" } }
            }
        };
        Ok(page(app, &store, "new", "新建客户", body).into_response())
    };
    render().unwrap_or_else(|e| failure(&e))
}

async fn create(State(app): State<Shared>, form: Posted) -> Response {
    let result = (|| -> Result<std::result::Result<String, Vec<CustomerSummary>>> {
        let mut store = app.store()?.ok_or(ClientError::NotInitialised)?;
        let mut c = Customer {
            id: record::customer_id(),
            name: form.get("name").to_string(),
            salesperson: store.profile().user.clone(),
            region: form.get("region").to_string(),
            industry: form.get("industry").to_string(),
            entered_at: now_millis(),
            intent: form
                .opt("intent")
                .map(str::parse::<Intent>)
                .transpose()
                .map_err(|_| record::invalid("intent", "意向等级无效"))?,
            ..Default::default()
        };
        c.billing.tax_no = form.get("tax_no").to_string();
        c.company.address = form.get("address").to_string();
        if form.opt("contact").is_some() || form.opt("mobile").is_some() {
            c.contacts.insert(
                "k1".into(),
                Contact {
                    name: form.get("contact").to_string(),
                    title: form.get("title").to_string(),
                    mobile: form.get("mobile").to_string(),
                    primary: true,
                    ..Default::default()
                },
            );
        }
        if c.name.trim().is_empty() {
            return Err(record::invalid("name", "请填写客户名称"));
        }
        if !form.ticked("not_duplicate") {
            let dups = store.possible_duplicates(&c)?;
            if !dups.is_empty() {
                return Ok(Err(dups));
            }
        }
        store.create(&c, true)?;
        Ok(Ok(c.id))
    })();
    match result {
        Ok(Ok(id)) => {
            app.changed();
            back(&format!("/customers/{id}"), "已新建客户")
        }
        Ok(Err(dups)) => new_page(
            &app,
            Some(&Refused {
                form: "new",
                typed: form,
                message: "可能与已有客户重复".into(),
                field: None,
            }),
            &dups,
        ),
        Err(e) => new_page(&app, Some(&Refused::new("new", form, &e)), &[]),
    }
}
