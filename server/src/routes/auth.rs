//! Signing in and asking who one is.
//!
//! `POST /api/v1/login` turns a password into a device token;
//! `GET /api/v1/whoami` tells a client whether its token still works.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use crm_shared::api::{LoginRequest, LoginResponse, PasswordChange, WhoAmI};

use crate::auth::{self, Auth};
use crate::error::AppError;
use crate::extract::ClientAddress;
use crate::extract::{Json, StrictJson};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/password", post(change_password))
        .route("/whoami", get(whoami))
}

/// Where the request came from, as the sign-in rules count it.
fn attempt(state: &AppState, peer: Option<std::net::IpAddr>) -> auth::Attempt {
    auth::Attempt {
        address: peer,
        now: state.clock.now(),
    }
}

async fn login(
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    StrictJson(req): StrictJson<LoginRequest>,
) -> Result<Json<LoginResponse>, AppError> {
    auth::login(&state, &attempt(&state, peer), req)
        .await
        .map(Json)
}

/// `POST /api/v1/password`: the holder changes their password with the
/// current one (no token: it is also the way through a reset).
async fn change_password(
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    StrictJson(req): StrictJson<PasswordChange>,
) -> Result<Json<serde_json::Value>, AppError> {
    auth::change_password(&state, &attempt(&state, peer), req).await?;
    Ok(Json(serde_json::json!({"ok": true})))
}

async fn whoami(auth: Auth) -> Json<WhoAmI> {
    Json(auth.into())
}
