//! The backup node's endpoints (see `crate::backup`). Only a backup
//! operator's device may call them; a backup operator may call nothing that
//! shows customer content through the API (sync and the customer routes
//! refuse the role).

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use crm_shared::backup::{PullRequest, PullResponse, Summary, SummaryRequest, BUCKETS};
use crm_shared::codes::Role;

use crate::auth::Auth;
use crate::backup;
use crate::clock;
use crate::error::AppError;
use crate::extract::Json;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/backup/pull", post(pull))
        .route("/backup/summary", post(summary))
}

fn operator_only(auth: &Auth) -> Result<(), AppError> {
    if auth.role != Role::BackupOperator {
        return Err(AppError::Forbidden(format!(
            "只有备份管理员可以使用备份接口(当前角色:{})",
            auth.role.label()
        )));
    }
    Ok(())
}

async fn pull(
    auth: Auth,
    State(s): State<AppState>,
    Json(req): Json<PullRequest>,
) -> Result<axum::Json<PullResponse>, AppError> {
    operator_only(&auth)?;
    let resp = backup::pull(&s.db, &s.backup, req, clock::now_ms).await?;
    Ok(axum::Json(resp))
}

async fn summary(
    auth: Auth,
    State(s): State<AppState>,
    Json(req): Json<SummaryRequest>,
) -> Result<axum::Json<Summary>, AppError> {
    operator_only(&auth)?;
    if let Some(b) = req.list.iter().find(|&&b| b as usize >= BUCKETS) {
        return Err(AppError::BadRequest(format!(
            "桶编号 {b} 无效:必须小于 {BUCKETS}"
        )));
    }
    Ok(axum::Json(backup::summary(&s.db, req).await?))
}
