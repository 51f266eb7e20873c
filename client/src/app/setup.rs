//! The first screen of a new laptop: the server's address, its
//! certificate's fingerprint shown for comparison with what head office
//! gave, then login and password. Signing in creates the store (with the
//! name the server knows this person by) and pins the certificate, as
//! `crm login --fingerprint` does. Also the way back in after a sign-out or
//! a revoked laptop.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};

use super::form::Posted;
use super::view::{bare, token};
use super::worker::SignIn;
use super::{App, Shared};
use crate::net;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/setup", get(start))
        .route("/setup/probe", post(probe))
        .route("/setup/login", post(login))
}

/// What the setup form shows.
#[derive(Default)]
struct Step {
    url: String,
    fingerprint: Option<String>,
    login: String,
    error: Option<String>,
    needs_new_password: bool,
}

fn known_login(app: &App) -> String {
    app.store()
        .ok()
        .flatten()
        .map(|s| s.profile().user.clone())
        .unwrap_or_default()
}

async fn start(State(app): State<Shared>) -> Markup {
    let wiped = app.worker.status().wiped;
    page(
        &app,
        Step {
            login: known_login(&app),
            error: wiped,
            ..Default::default()
        },
    )
}

fn page(app: &App, step: Step) -> Markup {
    let address = html! {
        label { "服务器地址(总部提供,如 https://10.0.0.5:8443)"
            input name="url" required value=(step.url) autofocus[step.fingerprint.is_none()]
                placeholder="https://服务器:8443";
        }
    };
    let body = html! {
        @if let Some(e) = &step.error { div.error role="alert" { (e) } }
        @match &step.fingerprint {
            None => form.login method="post" action="/setup/probe" {
                h1 { "连接总部服务器" }
                p.muted { "第一次使用本机时登录一次;之后没有网络也能照常工作,联网时自动同步。" }
                (token(app))
                (address)
                button type="submit" { "下一步" }
            },
            Some(fp) => form.login method="post" action="/setup/login" {
                h1 { "登录" }
                (token(app))
                input type="hidden" name="url" value=(step.url);
                input type="hidden" name="fingerprint" value=(fp);
                p { "服务器 " b { (step.url) } }
                @if fp.is_empty() {
                    p.error { "此地址未加密(http),只应在测试中使用。" }
                } @else {
                    p { "服务器证书指纹:" }
                    p.fingerprint #fingerprint { (net::colon_hex(fp)) }
                    label { span {
                        input type="checkbox" name="confirmed" required;
                        " 与总部提供的指纹逐位核对,完全一致"
                    } }
                }
                label { "登录名" input name="login" required value=(step.login) autocomplete="username" autofocus; }
                label { "密码" input name="password" type="password" required autocomplete="current-password"; }
                @if new_key(app) {
                    p { "客户资料将加密保存在本机,电脑丢失时别人读不到。请设置本机数据密码(至少 "
                        (crate::key::MIN_PASSPHRASE) " 个字符,可用一句好记的话),每次打开客户档案时输入一次;它只在本机使用,与登录密码无关。" }
                    label { "本机数据密码" input name="passphrase" type="password" required autocomplete="new-password"; }
                    label { "再输入一次本机数据密码" input name="passphrase2" type="password" required autocomplete="new-password"; }
                }
                @if step.needs_new_password {
                    p { "管理员已重设你的密码,请设置只有你自己知道的新密码(至少 10 个字符)。" }
                    label { "新密码" input name="new_password" type="password" required autocomplete="new-password"; }
                    label { "再输入一次新密码" input name="new_password2" type="password" required autocomplete="new-password"; }
                }
                button type="submit" { "登录" }
                a href="/setup" { "换一个服务器地址" }
            },
        }
    };
    bare("连接总部服务器", body)
}

/// Whether signing in will make this laptop's store key under a
/// passphrase, and so asks for one: not when `CRM_PASSPHRASE` gives it,
/// nor when the system keychain will keep the key.
fn new_key(app: &App) -> bool {
    !crate::key::exists(&app.dir) && !crate::key::passphrase_given() && !crate::keychain::works()
}

async fn probe(State(app): State<Shared>, form: Posted) -> Markup {
    let url = form.get("url").to_string();
    let probed = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || net::presented_fingerprint(&url)).await
    };
    let step = match probed {
        Ok(Ok(fp)) => Step {
            url,
            fingerprint: Some(fp.unwrap_or_default()),
            login: known_login(&app),
            ..Default::default()
        },
        Ok(Err(e)) => Step {
            url,
            error: Some(e.to_string()),
            ..Default::default()
        },
        Err(_) => Step {
            url,
            error: Some("连接服务器时出错,请重试".into()),
            ..Default::default()
        },
    };
    page(&app, step)
}

async fn login(State(app): State<Shared>, form: Posted) -> Response {
    let url = form.get("url").to_string();
    let fingerprint = form.get("fingerprint").to_string();
    let again = |error: String, needs_new_password: bool| {
        page(
            &app,
            Step {
                url: url.clone(),
                fingerprint: Some(fingerprint.clone()),
                login: form.get("login").to_string(),
                error: Some(error),
                needs_new_password,
            },
        )
        .into_response()
    };
    if !fingerprint.is_empty() && !form.ticked("confirmed") {
        return again("请先核对证书指纹,一致后勾选确认".into(), false);
    }
    let new_password = form.opt("new_password").map(str::to_string);
    if new_password.is_some() && form.get("new_password") != form.get("new_password2") {
        return again("两次输入的新密码不一致".into(), true);
    }
    if new_key(&app) {
        let passphrase = form.get("passphrase");
        if passphrase != form.get("passphrase2") {
            return again("两次输入的本机数据密码不一致".into(), false);
        }
        if let Err(e) = crate::key::create(&app.dir, passphrase) {
            return again(e.to_string(), false);
        }
    }
    let sign_in = SignIn {
        url: url.clone(),
        fingerprint: Some(fingerprint.clone()).filter(|f| !f.is_empty()),
        login: form.get("login").to_string(),
        password: form.0.get("password").cloned().unwrap_or_default(),
        new_password,
    };
    match app.worker.sign_in(sign_in).await {
        Ok(()) => {
            app.derived.stale();
            super::view::back("/today", "已登录,正在同步")
        }
        Err(r) => again(r.message, r.needs_new_password),
    }
}
