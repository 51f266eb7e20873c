//! Complaints as cases over HTTP: the list, registering one at head
//! office, and taking a step of its handling. Handlers only parse and
//! delegate to `crate::complaints`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crm_shared::api::{ComplaintView, NewComplaint, TakeStep};
use crm_shared::complaint;
use crm_shared::customer::Complaint;

use crate::auth::Auth;
use crate::caller::Caller;
use crate::clock;
use crate::complaints::{self, ListQuery};
use crate::error::AppError;
use crate::extract::{Json, Query, StrictJson};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/complaints", get(list))
        .route("/customers/{id}/complaints", post(register))
        .route("/customers/{id}/complaints/{key}/steps", post(take_step))
}

/// Rows of the list to skip, and at most how many to send.
#[derive(Debug, Default, Deserialize)]
struct Window {
    offset: Option<u64>,
    limit: Option<u64>,
}

/// At most this many complaints in one answer.
const MAX_LIMIT: u64 = 1_000;

async fn list(
    auth: Auth,
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
    Query(w): Query<Window>,
) -> Result<Json<Vec<ComplaintView>>, AppError> {
    let filter = q.filter(clock::now_ms())?;
    let limit = w.limit.unwrap_or(100).min(MAX_LIMIT);
    let offset = w.offset.unwrap_or(0).min(i64::MAX as u64);
    let (_, rows) = complaints::list(&s.db, Caller::from(&auth), filter, offset, limit).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| ComplaintView {
                stage: complaint::stage_label(&r.complaint),
                customer: r.customer_id,
                name: r.customer_name,
                salesperson: r.salesperson,
                key: r.key,
                complaint: r.complaint,
            })
            .collect(),
    ))
}

async fn register(
    auth: Auth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    StrictJson(body): StrictJson<NewComplaint>,
) -> Result<Json<serde_json::Value>, AppError> {
    let key = complaints::register(
        &s.db,
        Caller::from(&auth),
        id,
        body.description,
        clock::now_ms(),
    )
    .await?;
    Ok(Json(serde_json::json!({ "key": key })))
}

async fn take_step(
    auth: Auth,
    State(s): State<AppState>,
    Path((id, key)): Path<(String, String)>,
    StrictJson(body): StrictJson<TakeStep>,
) -> Result<Json<Complaint>, AppError> {
    let k = complaints::take_step(
        &s.db,
        Caller::from(&auth),
        auth.position,
        (id, key),
        body.step,
        body.input,
        clock::now_ms(),
    )
    .await?;
    Ok(Json(k))
}
