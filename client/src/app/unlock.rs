//! The app's first page of a working session: the store is encrypted, and
//! the passphrase that opens its key is asked for here, once per launch
//! (see [`crate::key`]). A store whose key is in the system keychain opens
//! without it, and this page only says why when it cannot. A store from
//! before encryption is given a key here (in the keychain, or under a
//! passphrase asked for here) and encrypted in place.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use maud::{html, Markup};

use super::form::Posted;
use super::view::{bare, token};
use super::{App, Shared};
use crate::key;
use crate::store::Store;

/// Pages that need no key.
const OPEN: &[&str] = &["/unlock", "/ping", "/style.css", "/app.js"];

/// The unlock form's route.
pub fn routes() -> Router<Shared> {
    Router::new().route("/unlock", post(unlock))
}

/// What the store in the app's directory needs before any page shows it.
enum Needs {
    /// Nothing: unlocked, or no store yet.
    Nothing,
    /// The passphrase of its key.
    Passphrase,
    /// A passphrase for a new key: a plain store of an earlier version,
    /// and no keychain.
    NewPassphrase,
    /// Nothing anyone can type: the key is in the keychain, which cannot
    /// give it; why.
    Keychain(String),
}

fn needs(app: &App) -> Needs {
    if key::remembered(&app.dir).is_some() {
        return Needs::Nothing;
    }
    if key::exists(&app.dir) {
        // The keychain, or CRM_PASSPHRASE where it is set, opens it
        // without a page.
        return match key::unlock(&app.dir) {
            Ok(_) => Needs::Nothing,
            Err(e) if key::wrapping(&app.dir) == Some(key::Wrapping::Keychain) => {
                Needs::Keychain(e.to_string())
            }
            Err(_) => Needs::Passphrase,
        };
    }
    if Store::file(&app.dir).exists() && !key::passphrase_given() && !crate::keychain::works() {
        return Needs::NewPassphrase;
    }
    Needs::Nothing
}

/// Shows the unlock page instead of any other until the key is open.
pub async fn gate(State(app): State<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if OPEN.contains(&path) {
        return next.run(request).await;
    }
    // No store (never set up, or deleted when head office revoked this
    // laptop): every page leads to signing in, which says why.
    if !Store::file(&app.dir).exists() && path != "/" && !path.starts_with("/setup") {
        return Redirect::to("/setup").into_response();
    }
    match needs(&app) {
        Needs::Nothing => next.run(request).await,
        needs => (StatusCode::UNAUTHORIZED, page(&app, &needs, None)).into_response(),
    }
}

fn page(app: &App, needs: &Needs, error: Option<&str>) -> Markup {
    if let Needs::Keychain(why) = needs {
        let body = html! {
            div.login {
                h1 { "打开客户档案" }
                div.error role="alert" { (why) }
                p.muted { "刷新此页可再试一次。" }
            }
        };
        return bare("打开客户档案", body);
    }
    let body = html! {
        form.login method="post" action="/unlock" {
            @match needs {
                Needs::NewPassphrase => {
                    h1 { "为本机资料设置密码" }
                    p { "客户资料将加密保存在本机,电脑丢失时别人读不到。请设置本机数据密码(至少 "
                        (key::MIN_PASSPHRASE) " 个字符,可用一句好记的话);每次打开客户档案时输入一次。" }
                    p.muted { "忘记密码时本机资料无法打开,可重新登录从服务器取回已同步的资料。" }
                }
                _ => {
                    h1 { "打开客户档案" }
                    p { "本机资料已加密,请输入本机数据密码。" }
                }
            }
            @if let Some(e) = error { div.error role="alert" { (e) } }
            (token(app))
            label { "本机数据密码" input name="passphrase" type="password" required autofocus autocomplete="current-password"; }
            @if matches!(needs, Needs::NewPassphrase) {
                label { "再输入一次" input name="passphrase2" type="password" required autocomplete="new-password"; }
            }
            button type="submit" { "打开" }
        }
    };
    bare("打开客户档案", body)
}

async fn unlock(State(app): State<Shared>, form: Posted) -> Response {
    let needs = needs(&app);
    let passphrase = form.get("passphrase").to_string();
    let opened = match needs {
        Needs::Nothing | Needs::Keychain(_) => return Redirect::to("/").into_response(),
        Needs::Passphrase => key::open(&app.dir, &passphrase).map(|_| ()),
        Needs::NewPassphrase => {
            if passphrase != form.get("passphrase2") {
                Err(crate::ClientError::Key(
                    "两次输入的本机数据密码不一致".into(),
                ))
            } else {
                key::create(&app.dir, &passphrase).and_then(|_| Store::open(&app.dir).map(|_| ()))
            }
        }
    };
    match opened {
        Ok(()) => {
            app.derived.stale();
            app.worker.sync_soon();
            Redirect::to("/").into_response()
        }
        Err(e) => (
            StatusCode::UNAUTHORIZED,
            page(&app, &needs, Some(&e.to_string())),
        )
            .into_response(),
    }
}
