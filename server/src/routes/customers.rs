//! The customer endpoints: a page of the caller's customers, a card with
//! history, open conflicts, settling a conflict with a reason.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::archive::{self, CardView, CustomerConflicts};
use crate::auth::Auth;
use crate::caller::Caller;
use crate::clock;
use crate::error::AppError;
use crate::extract::{Json, Query, StrictJson};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list))
        .route("/customers/{id}", get(card))
        .route("/customers/{id}/resolve", post(resolve))
        .route("/conflicts", get(conflicts))
}

/// Query of `GET /api/v1/customers`: filters as in the console, and the
/// page. Unknown parameters are refused like unknown body fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    q: Option<String>,
    region: Option<String>,
    salesperson: Option<String>,
    grade: Option<String>,
    status: Option<String>,
    tier: Option<String>,
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

/// A page of customers, by name.
#[derive(Debug, serde::Serialize)]
struct Page {
    customers: Vec<crm_shared::summary::CustomerSummary>,
    offset: usize,
    /// Whether another page follows (ask again with `offset` moved on).
    more: bool,
}

/// Most rows one page holds.
const PAGE_MAX: usize = 500;

/// A page of the customers the caller sees: a salesperson their own, head
/// office everyone's (optionally filtered).
async fn list(
    auth: Auth,
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page>, AppError> {
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > PAGE_MAX {
        return Err(AppError::BadRequest(format!(
            "limit 应在 1 到 {PAGE_MAX} 之间"
        )));
    }
    let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let filter = crate::db::ListFilter {
        q: blank(q.q),
        region: blank(q.region),
        salesperson: blank(q.salesperson),
        grade: blank(q.grade),
        status: blank(q.status),
        tier: blank(q.tier),
        ..Default::default()
    };
    let mut customers =
        archive::list(&s.db, Caller::from(&auth), filter, q.offset, limit + 1).await?;
    let more = customers.len() > limit;
    customers.truncate(limit);
    Ok(Json(Page {
        customers,
        offset: q.offset,
        more,
    }))
}

async fn card(
    auth: Auth,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CardView>, AppError> {
    Ok(Json(archive::card(&s.db, Caller::from(&auth), id).await?))
}

async fn conflicts(
    auth: Auth,
    State(s): State<AppState>,
) -> Result<Json<Vec<CustomerConflicts>>, AppError> {
    Ok(Json(archive::conflicts(&s.db, Caller::from(&auth)).await?))
}

/// Body of `POST /api/v1/customers/{id}/resolve`.
#[derive(Debug, Deserialize)]
struct Resolve {
    path: String,
    value: serde_json::Value,
    reason: String,
}

async fn resolve(
    auth: Auth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    StrictJson(b): StrictJson<Resolve>,
) -> Result<Json<serde_json::Value>, AppError> {
    if b.reason.trim().is_empty() {
        return Err(AppError::BadRequest("解决冲突必须说明原因".into()));
    }
    archive::resolve(
        &s.db,
        Caller::from(&auth),
        id,
        b.path,
        b.value,
        b.reason,
        clock::now_ms(),
    )
    .await?;
    Ok(Json(serde_json::json!({"ok": true})))
}
