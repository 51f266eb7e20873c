//! Credit-limit requests: those waiting for the signed-in manager's
//! decision (with approve / reject forms), and every request with its
//! decisions so far.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;

use crm_shared::api::{CreditRequestView, DecideRequest};
use crm_shared::codes::Position;

use super::layout::{csrf, flash, page, when, yuan};
use super::people::People;
use super::{done, ConsoleError, Fields, InLang, SignedIn};
use crate::rules;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/credit", get(list))
        .route("/credit/{customer}/{request}", post(decide))
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    #[serde(default)]
    done: String,
}

fn decisions(s: &SignedIn, people: &People, v: &CreditRequestView) -> Markup {
    let l = s.lang;
    html! {
        @for p in Position::ALL {
            @if let Some(d) = v.request.decisions.get(p.code()) {
                div {
                    b { (p.label()) } ":"
                    @if d.approved { (l.t("批准", "approved")) } @else { span.tag.bad { (l.t("驳回", "rejected")) } }
                    " " (people.name(&d.by)) " " (when(Some(d.at)))
                    @if !d.comment.is_empty() { " —「" (d.comment) "」" }
                }
            }
        }
    }
}

fn row(s: &SignedIn, people: &People, v: &CreditRequestView, form: bool) -> Markup {
    let l = s.lang;
    let r = &v.request;
    html! {
        tr {
            td { a href={ "/console/customers/" (v.customer) } { (v.name) } }
            td { (people.name(&v.salesperson)) } td { (when(Some(r.at))) }
            td.num { (yuan(r.current)) } td.num { (yuan(Some(r.proposed))) } td { (r.reason) }
            td { (v.status.label()) (decisions(s, people, v)) }
            @if form {
                td {
                    form.decide method="post" action={ "/console/credit/" (v.customer) "/" (v.request_id) } {
                        (csrf(s))
                        input name="comment" placeholder=(l.t("审核意见(驳回必填)", "Comment (required to reject)")) size="24";
                        " "
                        button type="submit" name="approve" value="true" { (l.t("批准", "Approve")) }
                        " "
                        button.danger type="submit" name="approve" value="false" { (l.t("驳回", "Reject")) }
                    }
                }
            }
        }
    }
}

fn head(s: &SignedIn, form: bool) -> Markup {
    let l = s.lang;
    html! {
        thead { tr {
            th { (l.t("客户", "Customer")) } th { (l.t("业务员", "Salesperson")) } th { (l.t("申请时间", "Filed")) }
            th { (l.t("原额度", "Current")) } th { (l.t("拟变更额度", "Proposed")) } th { (l.t("理由", "Reason")) }
            th { (l.t("状态与审批", "Status and decisions")) }
            @if form { th { (l.t("审批", "Decide")) } }
        } }
    }
}

/// The requests of `all` waiting for the signed-in manager's decision.
pub(super) fn waiting_for<'a>(
    s: &SignedIn,
    all: &'a [CreditRequestView],
) -> Vec<&'a CreditRequestView> {
    match s.position {
        Some(p) if s.role == crm_shared::codes::Role::Manager => all
            .iter()
            .filter(|v| v.status == crm_shared::credit::CreditStatus::Pending(p))
            .collect(),
        _ => Vec::new(),
    }
}

async fn list(
    s: SignedIn,
    State(state): State<AppState>,
    Query(d): Query<Done>,
) -> Result<Markup, ConsoleError> {
    let l = s.lang;
    let all = rules::credit_requests(&state.db, s.caller(), None)
        .await
        .lang(l)?;
    let people = People::load(&state).await.lang(l)?;
    let mine = waiting_for(&s, &all);
    let ok = match d.done.as_str() {
        "approved" => Some(l.t("已批准", "Approved")),
        "rejected" => Some(l.t("已驳回", "Rejected")),
        _ => None,
    };
    Ok(page(
        &s,
        "credit",
        l.t("信用额度变更审批", "Credit-limit approvals"),
        html! {
            (flash(ok))
            h2 { (l.t("待我审批", "Waiting for my decision")) }
            @if s.position.is_none() {
                p.muted { (l.t("您没有审批职位。", "You hold no approval position.")) }
            } @else if mine.is_empty() {
                p.muted { (l.t("没有等待您审批的申请", "Nothing is waiting for you")) }
            } @else {
                table #waiting { (head(&s, true)) tbody { @for v in &mine { (row(&s, &people, v, true)) } } }
            }
            h2 { (l.t("全部申请", "All requests")) }
            table #all-requests { (head(&s, false)) tbody { @for v in &all { (row(&s, &people, v, false)) } } }
        },
    ))
}

async fn decide(
    s: SignedIn,
    State(state): State<AppState>,
    Path((customer, request)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let approve = f.get("approve") == Some("true");
    rules::decide(
        &state.db,
        s.caller(),
        s.position,
        customer,
        request,
        DecideRequest {
            approve,
            comment: f.text("comment"),
        },
        crate::clock::now_ms(),
    )
    .await
    .lang(s.lang)?;
    Ok(done(if approve {
        "/console/credit?done=approved"
    } else {
        "/console/credit?done=rejected"
    }))
}
