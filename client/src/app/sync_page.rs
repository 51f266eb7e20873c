//! 同步: what the last sync brought, in words; customers waiting to be
//! sent and set aside; the button. The status line on every page is
//! refreshed from `/sync/status`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;

use super::form::Posted;
use super::view::{back, failure, page, status_line};
use super::Shared;
use crate::error::{ClientError, Result};
use crate::session;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/sync", get(show))
        .route("/sync/status", get(status))
}

async fn show(State(app): State<Shared>) -> Response {
    let inner = || -> Result<Response> {
        let store = app.store()?.ok_or(ClientError::NotInitialised)?;
        let st = app.worker.status();
        let s = session::current(&store)?;
        let pending = store.pending_summaries()?;
        let aside = store.aside()?;
        let body = html! {
            @if let Some(w) = &st.wiped { div.error role="alert" { (w) } p { a href="/setup" { "重新登录" } } }
            @match &s {
                Some(s) => p { "服务器:" (s.server_url) "(" (s.trust.describe()) "),登录为 " (s.display_name) },
                None => p { "尚未登录服务器。" a href="/setup" { "登录" } },
            }
            @if let Some(e) = &st.error { div.error role="alert" { "上次同步未完成:" (e) } }
            h2 { "上次同步带来的变化" }
            @if st.news.is_empty() { p.muted { "本次启动后还没有完成同步。" } }
            ul #news { @for n in &st.news { li { (n) } } }
            h2 { "待发送 " (pending.len()) " 位客户" }
            @if !pending.is_empty() {
                ul { @for p in &pending { li { a href={ "/customers/" (p.id) } { (p.name) } } } }
            }
            @if !aside.is_empty() {
                h2 { "暂时搁置 " (aside.len()) " 位客户" }
                p.muted { "这些客户这次未能同步,其他客户不受影响;下次同步会再试。" }
                ul { @for a in &aside { li { (a.id) ":" (a.message) } } }
            }
        };
        Ok(page(&app, &store, "sync", "同步", body).into_response())
    };
    inner().unwrap_or_else(|e| failure(&e))
}

/// `GET /sync/status`: the status line alone.
async fn status(State(app): State<Shared>) -> Response {
    match app.store() {
        Ok(Some(store)) => status_line(&app, &store).into_response(),
        Ok(None) => html! { div #status {} }.into_response(),
        Err(e) => failure(&e),
    }
}

/// `POST /sync`: sync now.
pub async fn start(State(app): State<Shared>, _form: Posted) -> Response {
    app.worker.sync_soon();
    back("/sync", "正在同步")
}
