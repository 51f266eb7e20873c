//! Only this person on this laptop may use the app. A page on 127.0.0.1 is
//! reachable by every program and every web page the browser opens, so:
//!
//! - the Host header must be `127.0.0.1:PORT` or `localhost:PORT` (a DNS
//!   rebinding page arrives under its own host name);
//! - a random token made at launch is in the address `crm ui` opens; the
//!   browser trades it once for an `HttpOnly; SameSite=Strict` cookie
//!   holding a second random secret, and every page wants that cookie;
//! - every POST must come from this origin (`Origin` header) and carry the
//!   form token derived from the cookie's secret, which another site can
//!   neither read nor guess.
//!
//! Every answer carries the same browser protections as the console: a CSP
//! allowing only this origin, no framing, no sniffing, no referrer to
//! other sites, and
//! `no-store` (pages show customer data).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

use super::Shared;
use crate::error::Result;

/// The secrets of one launch.
pub struct Keys {
    port: u16,
    launch: String,
    secret: String,
    cookie: String,
}

/// The paths anyone on this machine may fetch: they show no data.
const OPEN_PATHS: &[&str] = &["/ping", "/style.css", "/app.js"];

impl Keys {
    /// Fresh secrets for the app listening on `port`.
    pub fn new(port: u16) -> Result<Keys> {
        Ok(Keys {
            port,
            launch: random_hex()?,
            secret: random_hex()?,
            // Cookies are shared by every port of a host: the port in the
            // name keeps two apps (two users' data directories) apart.
            cookie: format!("crm_app_{port}"),
        })
    }

    /// The token in the address `crm ui` opens.
    pub fn launch_token(&self) -> &str {
        &self.launch
    }

    /// The form token every POST carries.
    pub fn form_token(&self) -> String {
        let digest = Sha256::digest(format!("crm-app-form:{}", self.secret));
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `sent` is the form token (compared in constant time).
    pub fn form_token_is(&self, sent: &str) -> bool {
        same(sent, &self.form_token())
    }

    fn host_ok(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
            return false;
        };
        host == format!("127.0.0.1:{}", self.port) || host == format!("localhost:{}", self.port)
    }

    fn origin_ok(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok()) else {
            return false;
        };
        origin == format!("http://127.0.0.1:{}", self.port)
            || origin == format!("http://localhost:{}", self.port)
    }

    fn cookie_ok(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| name == self.cookie && same(value, &self.secret))
    }
}

fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| std::io::Error::other(format!("无法取得随机数:{e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Refuses what does not come from this person's browser, trades the
/// launch token for the cookie, and adds the protective headers.
pub async fn check(State(app): State<Shared>, request: Request, next: Next) -> Response {
    let keys = &app.guard;
    let headers = request.headers();
    let mut response = if !keys.host_ok(headers) {
        refuse("地址不符:请用 crm ui 打开的地址访问")
    } else if OPEN_PATHS.contains(&request.uri().path()) {
        next.run(request).await
    } else if let Some(rest) = launch_token(&request, &keys.launch) {
        // The token leaves the address at once, so it is not kept in the
        // browser's history with a page, nor sent on as a referrer.
        let cookie = format!(
            "{}={}; HttpOnly; SameSite=Strict; Path=/",
            keys.cookie, keys.secret
        );
        let mut r = Redirect::to(&rest).into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        r
    } else if !keys.cookie_ok(headers) {
        refuse("请从 crm ui 打开客户档案(此页面需要本机启动时给出的地址)")
    } else if request.method() == Method::POST && !keys.origin_ok(headers) {
        refuse("表单来源不符,未做任何修改")
    } else {
        next.run(request).await
    };
    protect(response.headers_mut());
    response
}

/// With the right `t=` in the query, the same address without it.
fn launch_token(request: &Request, launch: &str) -> Option<String> {
    let query = request.uri().query()?;
    let mut rest = Vec::new();
    let mut found = false;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == "t" && same(&v, launch) {
            found = true;
        } else {
            rest.push((k.into_owned(), v.into_owned()));
        }
    }
    if !found {
        return None;
    }
    let path = request.uri().path().to_string();
    if rest.is_empty() {
        return Some(path);
    }
    let q: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(rest)
        .finish();
    Some(format!("{path}?{q}"))
}

fn refuse(why: &str) -> Response {
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="zh-CN" { head { meta charset="utf-8"; title { "拒绝访问" } }
            body { h1 { "拒绝访问" } p { (why) } } }
    };
    (StatusCode::FORBIDDEN, page).into_response()
}

fn protect(h: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // `same-origin`, not `no-referrer`: under the latter the browser sends
    // `Origin: null` with its own form posts, and the Origin check needs it.
    set(h, header::REFERRER_POLICY, "same-origin");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
}
