//! Credit-limit requests: those waiting for the signed-in manager's
//! decision (with approve / reject forms), and every request with its
//! decisions so far.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;

use crm_shared::api::{CreditRequestView, DecideRequest};
use crm_shared::codes::Position;

use super::layout::{csrf, flash, page, when, yuan};
use super::people::People;
use super::{done, ConsoleError, Fields, Query, SignedIn};
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

fn decisions(people: &People, v: &CreditRequestView) -> Markup {
    html! {
        @for p in Position::ALL {
            @if let Some(d) = v.request.decisions.get(p.code()) {
                div {
                    b { (p.label()) } ":"
                    @if d.approved { ("批准") } @else { span.tag.bad { ("驳回") } }
                    " " (people.name(&d.by)) " " (when(Some(d.at)))
                    @if !d.comment.is_empty() { " —「" (d.comment) "」" }
                }
            }
        }
    }
}

fn row(s: &SignedIn, people: &People, v: &CreditRequestView, form: bool) -> Markup {
    let r = &v.request;
    html! {
        tr {
            td { a href={ "/console/customers/" (v.customer) } { (v.name) } }
            td { (people.name(&v.salesperson)) } td { (when(Some(r.at))) }
            td.num { (yuan(r.current)) } td.num { (yuan(Some(r.proposed))) } td { (r.reason) }
            td { (v.status.label()) (decisions(people, v)) }
            @if form {
                td {
                    form.decide method="post" action={ "/console/credit/" (v.customer) "/" (v.request_id) } {
                        (csrf(s))
                        input name="comment" placeholder=("审核意见(驳回必填)") size="24";
                        " "
                        button type="submit" name="approve" value="true" { ("批准") }
                        " "
                        button.danger type="submit" name="approve" value="false" { ("驳回") }
                    }
                }
            }
        }
    }
}

fn head(form: bool) -> Markup {
    html! {
        thead { tr {
            th { ("客户") } th { ("业务员") } th { ("申请时间") }
            th { ("原额度") } th { ("拟变更额度") } th { ("理由") }
            th { ("状态与审批") }
            @if form { th { ("审批") } }
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

/// How many credit requests wait for `s` (0 for anyone not an approver);
/// a failure to count is logged and shown as none, not a failed page.
pub(super) async fn waiting_count(state: &AppState, s: &SignedIn) -> usize {
    if s.role != crm_shared::codes::Role::Manager || s.position.is_none() {
        return 0;
    }
    match rules::credit_requests(&state.db, s.caller(), None).await {
        Ok(all) => waiting_for(s, &all).len(),
        Err(e) => {
            tracing::warn!(error = %e, "无法统计待审批的申请");
            0
        }
    }
}

async fn list(
    s: SignedIn,
    State(state): State<AppState>,
    Query(d): Query<Done>,
) -> Result<Markup, ConsoleError> {
    let all = rules::credit_requests(&state.db, s.caller(), None).await?;
    let people = People::load(&state).await?;
    let mine = waiting_for(&s, &all);
    let ok = match d.done.as_str() {
        "approved" => Some("已批准"),
        "rejected" => Some("已驳回"),
        _ => None,
    };
    Ok(page(
        &s,
        "credit",
        "信用额度变更审批",
        html! {
            (flash(ok))
            h2 { ("待我审批") }
            @if s.position.is_none() {
                p.muted { ("您没有审批职位。") }
            } @else if mine.is_empty() {
                p.muted { ("没有等待您审批的申请") }
            } @else {
                table #waiting { (head(true)) tbody { @for v in &mine { (row(&s, &people, v, true)) } } }
            }
            h2 { ("全部申请") }
            table #all-requests { (head(false)) tbody { @for v in &all { (row(&s, &people, v, false)) } } }
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
    .await?;
    Ok(done(if approve {
        "/console/credit?done=approved"
    } else {
        "/console/credit?done=rejected"
    }))
}
