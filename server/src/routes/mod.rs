//! The HTTP API: which paths exist and the layers around all of them.
//!
//! Each submodule owns one group of routes and exposes `routes()`; this
//! module merges them and adds, in one place, what every route gets: the
//! body limit, the per-route tracing span, panic-to-500, and JSON answers for
//! unknown paths and methods.
//!
//! To add a group (e.g. sync): write `routes/sync.rs` with
//! `pub fn routes() -> Router<AppState>` using paths relative to `/api/v1`,
//! and merge it into `api` below.
//!
//! The body limit is enforced by the body extractors (`crate::extract::Json`,
//! `axum::body::Bytes`, `String`): read request bodies through one of them,
//! never by streaming `axum::body::Body` by hand, or the limit does not apply.

mod auth;
mod backup;
mod customers;
mod rules;
mod status;
mod sync;

use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::{middleware, Router};
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::AppError;
use crate::state::AppState;
use crate::telemetry;

/// The whole application, ready to serve (or to test with `oneshot`).
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(auth::routes())
        .merge(sync::routes())
        .merge(customers::routes())
        .merge(rules::routes())
        .merge(backup::routes());
    Router::new()
        .merge(status::routes())
        .nest("/api/v1", api)
        .nest("/console", crate::console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.limits.body_limit))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(middleware::from_fn(telemetry::trace_request))
        .with_state(state)
}

async fn not_found() -> AppError {
    AppError::NotFound("没有这个接口".into())
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

fn panicked(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic>".into());
    AppError::internal(format!("handler panicked: {what}")).into_response()
}
