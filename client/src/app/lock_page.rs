//! The offline lock in the app: while it holds, every page of customer
//! data is replaced by one that says why and offers 同步, which lifts it.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::html;

use crm_shared::settings::OfflineLock;

use super::view::{page, token};
use super::Shared;
use crate::error::ClientError;

/// Pages that stay open while locked: signing in and syncing lift the lock.
const OPEN: &[&str] = &[
    "/",
    "/sync",
    "/sync/status",
    "/ping",
    "/style.css",
    "/app.js",
];

/// Shows the lock instead of customer data while it holds.
pub async fn gate(State(app): State<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if OPEN.contains(&path) || path.starts_with("/setup") {
        return next.run(request).await;
    }
    let locked = match app.store() {
        Ok(Some(store)) => crate::lock::state(&store).ok(),
        _ => None,
    };
    let Some(OfflineLock::Locked { days_since, limit }) = locked else {
        return next.run(request).await;
    };
    let Ok(Some(store)) = app.store() else {
        return next.run(request).await;
    };
    let body = html! {
        div.error role="alert" { (ClientError::OfflineLocked { days_since, limit }.to_string()) }
        form method="post" action="/sync" {
            (token(&app))
            button type="submit" { "立即同步" }
        }
    };
    (
        StatusCode::LOCKED,
        page(&app, &store, "", "客户资料已锁定", body),
    )
        .into_response()
}
