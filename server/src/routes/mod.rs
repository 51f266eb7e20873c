//! The HTTP API: which paths exist and the layers around all of them.
//!
//! Each submodule owns one group of routes and exposes `routes()`; this
//! module merges them and adds, in one place, what every route gets: the
//! body limit, the per-route tracing span, panic-to-500, and JSON answers for
//! unknown paths and methods.
//!
//! To add a group: write `routes/<group>.rs` with
//! `pub fn routes() -> Router<AppState>` using paths relative to `/api/v1`,
//! and merge it into `api` below. Handlers stay thin: they turn the request
//! into a [`crate::caller::Caller`] and arguments, call the module that does
//! the work (`sync`, `archive`, `rules`, `backup`), and shape the answer.
//!
//! The body limit is enforced by the body extractors (`crate::extract::Json`,
//! `axum::body::Bytes`, `String`): read request bodies through one of them,
//! never by streaming `axum::body::Body` by hand, or the limit does not apply.

mod auth;
mod backup;
mod complaints;
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
        .merge(complaints::routes())
        .merge(backup::routes());
    let app = Router::new()
        .merge(status::routes())
        // The address head office is given, with or without the path.
        .route("/", axum::routing::get(crate::console::home))
        .route("/console/", axum::routing::get(crate::console::home))
        .nest("/api/v1", api)
        .nest("/console", crate::console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone());
    around(app, &state)
}

/// The layers every answer passes through, innermost first. The
/// protections go on outside the panic catcher, so that the 500 it makes
/// of a handler's panic carries them too.
fn around(app: Router, state: &AppState) -> Router {
    app.layer(DefaultBodyLimit::max(state.limits.body_limit))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(middleware::map_response(protect))
        .layer(middleware::from_fn(telemetry::trace_request))
}

/// What every answer tells the browser, console pages and API alike: load
/// nothing from anywhere but this server and run no inline code (the
/// console has none), never be framed (a page of another site could trick
/// a signed-in clerk into clicking a form), take types as declared, send
/// the address of a page only to this server, and keep no copy of customer
/// data in any cache unless the answer says otherwise (the stylesheet).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

async fn protect(mut response: Response) -> Response {
    use axum::http::{header, HeaderValue};
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use tower::ServiceExt as _;

    async fn boom() -> &'static str {
        panic!("a handler's bug")
    }

    /// A handler that panics still answers with every protection: the
    /// 500 is made inside the layer that adds them.
    #[tokio::test]
    async fn a_caught_panic_carries_the_protections_too() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(&dir.path().join("crm.sqlite3"))
            .await
            .unwrap();
        let state = AppState::new(db, crate::config::Limits::default());
        let app = Router::new().route("/boom", axum::routing::get(boom));
        let request = Request::get("/boom").body(Body::empty()).unwrap();
        let response = around(app, &state).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let h = response.headers();
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
    }
}
