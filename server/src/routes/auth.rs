//! Signing in and asking who one is.
//!
//! `POST /api/v1/login` turns a password into a device token;
//! `GET /api/v1/whoami` tells a client whether its token still works.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use crm_shared::api::{LoginRequest, LoginResponse, WhoAmI};

use crate::auth::{self, Auth};
use crate::error::AppError;
use crate::extract::{Json, StrictJson};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/whoami", get(whoami))
}

async fn login(
    State(state): State<AppState>,
    StrictJson(req): StrictJson<LoginRequest>,
) -> Result<Json<LoginResponse>, AppError> {
    auth::login(&state.db, req).await.map(Json)
}

async fn whoami(auth: Auth) -> Json<WhoAmI> {
    Json(auth.into())
}
