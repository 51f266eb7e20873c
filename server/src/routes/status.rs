//! `GET /status`: is the server up, which version, how many users and
//! devices, how far the backup node is behind. For monitors; it needs no token and shows no customer content.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use crm_shared::api::ServerStatus;

use crate::error::AppError;
use crate::extract::Json;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/status", get(status))
}

async fn status(State(state): State<AppState>) -> Result<Json<ServerStatus>, AppError> {
    let counts = state.db.counts().await?;
    let backup = state.backup.lag(&state.db, crate::clock::now_ms()).await?;
    Ok(Json(ServerStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        users: counts.users,
        devices: counts.devices,
        backup,
    }))
}
