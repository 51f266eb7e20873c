//! Head office's customer endpoints: a card with history, open conflicts,
//! settling a conflict with a reason.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::archive::{self, CardView, CustomerConflicts};
use crate::auth::Auth;
use crate::clock;
use crate::error::AppError;
use crate::extract::{Json, StrictJson};
use crate::state::AppState;
use crate::sync::Caller;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}", get(card))
        .route("/customers/{id}/resolve", post(resolve))
        .route("/conflicts", get(conflicts))
}

fn caller(auth: Auth) -> Caller {
    Caller {
        login: auth.login,
        role: auth.role,
        device_id: auth.device_id.to_string(),
    }
}

async fn card(
    auth: Auth,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CardView>, AppError> {
    Ok(Json(archive::card(&s.db, caller(auth), id).await?))
}

async fn conflicts(
    auth: Auth,
    State(s): State<AppState>,
) -> Result<Json<Vec<CustomerConflicts>>, AppError> {
    Ok(Json(archive::conflicts(&s.db, caller(auth)).await?))
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
        caller(auth),
        id,
        b.path,
        b.value,
        b.reason,
        clock::now_ms(),
    )
    .await?;
    Ok(Json(serde_json::json!({"ok": true})))
}
