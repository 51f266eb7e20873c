//! 今日: follow-ups due and overdue (with the number to call), tomorrow's
//! plan, this laptop's warnings and the records due for review; every row
//! opens the card.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;

use crm_shared::summary::CustomerSummary;
use crm_web::format::{date, when};
use crm_web::parts::flash;

use super::view::{failure, page, Done};
use super::Shared;
use crate::clock::today;
use crate::error::Result;

pub fn routes() -> Router<Shared> {
    Router::new().route("/today", get(show))
}

async fn show(State(app): State<Shared>, Query(done): Query<Done>) -> Response {
    render(&app, done).unwrap_or_else(|e| failure(&e))
}

fn render(app: &super::App, done: Done) -> Result<Response> {
    let Some(store) = app.store()? else {
        return Ok(axum::response::Redirect::to("/setup").into_response());
    };
    let day = today();
    let tomorrow = day.plus_days(1);
    let due = store.followups_due(day)?;
    let plan: Vec<CustomerSummary> = store
        .followups_due(tomorrow)?
        .into_iter()
        .filter(|s| s.next_followup == Some(tomorrow))
        .collect();
    let figures = app.derived.figures();
    let phone = |s: &CustomerSummary| {
        html! {
            @if let Some(p) = &s.phone { a href={ "tel:" (p) } { (p) } }
            @if let Some(c) = &s.contact { " " (c) }
        }
    };
    let body = html! {
        (flash(done.ok.as_deref()))
        h2 { "待跟进 " (due.len()) " 位(" (day) ")" }
        @if due.is_empty() { p.muted { "今天没有到期的跟进。" } } @else {
            table { thead { tr { th { "客户" } th { "应跟进" } th { "意向" } th { "联系人电话" } th.hide-narrow { "上次联系" } } }
                tbody { @for s in &due { tr {
                    td { a href={ "/customers/" (s.id) } { (s.name) } " " a.button.secondary href={ "/customers/" (s.id) "/visit" } { "记录" } }
                    td { @if let Some(d) = s.next_followup {
                        @if d < day { span.tag.bad { "逾期 " ((day.0 - d.0).num_days()) " 天" } } @else { "今日" }
                    } }
                    td { (s.intent.map(|i| i.label()).unwrap_or_default()) }
                    td { (phone(s)) }
                    td.hide-narrow { (date(s.last_activity_at)) }
                } } }
            }
        }
        h2 { "明日计划 " (plan.len()) " 位" }
        @if plan.is_empty() { p.muted { "明天没有安排。" } } @else {
            table { tbody { @for s in &plan { tr {
                td { a href={ "/customers/" (s.id) } { (s.name) } }
                td { (phone(s)) }
            } } } }
        }
        h2 { "预警 " (figures.warnings.len()) " 条" }
        @if figures.at == 0 { p.muted { "正在计算…" } }
        @else if figures.warnings.is_empty() { p.muted { "没有预警。" } } @else {
            table { tbody { @for w in figures.warnings.iter().take(20) { tr {
                td { a href={ "/customers/" (w.customer) } { (w.name) } }
                td { span.tag.bad { (w.rule.label()) } }
                td { (w.figure) }
            } } } }
            @if figures.warnings.len() > 20 { p { a href="/reports/warnings" { "全部 " (figures.warnings.len()) " 条预警" } } }
        }
        h2 { "到期未审查 " (figures.review_due.len()) " 位" }
        @if !figures.review_due.is_empty() {
            table { tbody { @for r in figures.review_due.iter().take(20) { tr {
                td { a href={ "/customers/" (r.customer) } { (r.name) } }
                td { (r.days) " 天未审查" }
            } } } }
        }
        @if figures.at > 0 { p.muted { "预警与审查按 " (when(Some(figures.at))) " 的资料计算" } }
    };
    Ok(page(app, &store, "today", "今日", body).into_response())
}
