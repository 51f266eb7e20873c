//! The head-office web console: server-rendered HTML (maud) on the same
//! port as the API, in Chinese, no script or style
//! from anywhere but this server (it must work with no internet access).
//!
//! - Sessions: signing in creates a device (like a laptop's) named
//!   “网页控制台”; its token lives in an `HttpOnly; Secure; SameSite=Strict`
//!   cookie scoped to `/console`, and signing out revokes it. A session
//!   unused for [`IDLE_LIMIT_MS`] (8 hours) is revoked at its next request.
//! - CSRF: every form carries a token derived from the session token
//!   ([`SignedIn::csrf`]); every POST handler checks it before anything else.
//! - Access: pages call the same functions the API does (`crate::archive`,
//!   `crate::rules`), which check the role server-side; a salesperson sees
//!   only their own customers here too.
//!
//! Submodules are one page group each (`sheets` is import/export); [`layout`] holds the shell and the
//! shared bits of markup.

mod approvals;
mod card;
mod charts;
mod complaints;
mod customers;
mod home;
mod layout;
mod people;
mod records;
mod reports;
mod security;
mod sheets;
mod system;
mod users;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use sha2::{Digest, Sha256};

use crm_shared::api::LoginRequest;
use crm_shared::codes::{Position, Role};

use crate::audit::{self, Actor, Kind};
use crate::caller::Caller;
use crate::credentials::token_hash;
use crate::error::AppError;
use crate::extract::ClientAddress;
use crate::state::AppState;

/// Name of the session cookie.
const SESSION_COOKIE: &str = "crm_session";

/// A console session unused this long is ended (its device revoked): a
/// browser left signed in on a shared office machine must not stay a way
/// into every customer's archive.
pub const IDLE_LIMIT_MS: i64 = 8 * 60 * 60 * 1000;

/// The name of every console session's device: a browser signed in, not a
/// laptop holding customers.
const CONSOLE_DEVICE: &str = "网页控制台";

/// The console's routes, to be nested under `/console`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/style.css", get(layout::stylesheet))
        .merge(home::routes())
        .merge(customers::routes())
        .merge(card::routes())
        .merge(records::routes())
        .merge(approvals::routes())
        .merge(reports::routes())
        .merge(system::routes())
        .merge(sheets::routes())
        .merge(security::routes())
        .merge(users::routes())
        .merge(complaints::routes())
        .fallback(not_found)
}

/// `GET /` and `GET /console/`: the console's first page, 工作台.
pub async fn home() -> Redirect {
    Redirect::to("/console/home")
}

/// A page under `/console/` that does not exist: a page in the console's
/// layout, not the API's JSON.
async fn not_found() -> Response {
    let body = layout::bare(
        "没有这个页面",
        html! {
            div.error role="alert" { ("没有这个页面,可能地址有误。") }
            p { a href="/console/customers" { ("客户列表") } }
        },
    );
    (StatusCode::NOT_FOUND, body).into_response()
}

/// Where to go after signing in: `next` if it is a console page of this
/// server (never another site: no scheme, no `//`, no backslash), else
/// 工作台.
fn after_sign_in(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/console/")
                && !n.starts_with("/console/login")
                && !n.contains("//")
                && !n.contains('\\')
                && !n.contains("://") =>
        {
            n.to_string()
        }
        _ => "/console/home".to_string(),
    }
}

/// The sign-in page, remembering the page asked for (GET only: a form
/// posted with an ended session cannot be replayed).
fn to_sign_in(parts: &Parts) -> Response {
    // Inside the nested router the URI has lost its `/console`; the
    // original is kept as an extension.
    let uri = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map(|o| &o.0)
        .unwrap_or(&parts.uri);
    let asked = uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|_| parts.method == axum::http::Method::GET)
        .map(|p| after_sign_in(Some(p)))
        .filter(|p| p != "/console/home");
    match asked {
        Some(p) => {
            let q: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", &p)
                .finish();
            Redirect::to(&format!("/console/login?{q}")).into_response()
        }
        None => Redirect::to("/console/login").into_response(),
    }
}

/// The signed-in person, from the session cookie. Pages that need one take
/// it as an argument; without a valid session the browser is sent to the
/// sign-in page.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Login.
    pub login: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Approval position, if any.
    pub position: Option<Position>,
    /// The console device.
    pub device_id: uuid::Uuid,
    /// Credit requests waiting for this approver (the menu's badge).
    pub waiting: usize,
    token: String,
}

impl SignedIn {
    /// The form token for this session: a hash of the session token, so a
    /// page from another site can neither read nor forge it.
    pub fn csrf(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"crm-console-csrf:");
        h.update(self.token.as_bytes());
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    }

    /// Refuses a form whose `_csrf` field is missing or wrong.
    pub fn check(&self, form: &Fields) -> Result<(), ConsoleError> {
        let sent = form.get("_csrf").unwrap_or_default();
        let want = self.csrf();
        // Constant-time: compare every byte whatever the first mismatch.
        let same = sent.len() == want.len()
            && sent
                .bytes()
                .zip(want.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(ConsoleError(AppError::Forbidden(
                "表单已失效(CSRF 校验失败),请刷新页面后重试".into(),
            )))
        }
    }

    /// The same person as the API's caller.
    pub fn caller(&self) -> Caller {
        Caller {
            login: self.login.clone(),
            role: self.role,
            device_id: self.device_id.to_string(),
        }
    }

    /// The same person as the audit's actor, from `peer`.
    pub fn actor(&self, peer: Option<std::net::IpAddr>) -> Actor {
        Actor {
            login: Some(self.login.clone()),
            address: peer.map(|a| a.to_string()),
        }
    }

    /// Refuses anyone whose role is not one of `roles`.
    pub fn only(&self, roles: &[Role]) -> Result<(), ConsoleError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ConsoleError(AppError::Forbidden(format!(
                "角色“{}”不能查看此页",
                self.role.label()
            ))))
        }
    }

    /// Refuses anyone but an administrator.
    pub fn admin_only(&self) -> Result<(), ConsoleError> {
        self.only(&[Role::Admin])
    }

    /// Whether this is head office (clerk or manager).
    pub fn head_office(&self) -> bool {
        matches!(self.role, Role::Clerk | Role::Manager)
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A page's query string; a wrong one is the error page, saying in Chinese
/// which parameter and why (see [`crate::extract::Query`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ConsoleError> {
        let crate::extract::Query(q) = crate::extract::Query::from_request_parts(parts, state)
            .await
            .map_err(ConsoleError)?;
        Ok(Query(q))
    }
}

/// Why a page could not be shown: the API error (whose status is decided in
/// `AppError::parts`, the one place) rendered as a page.
#[derive(Debug)]
pub struct ConsoleError(pub AppError);

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let ConsoleError(e) = self;
        let (status, _) = e.parts();
        if matches!(
            e,
            AppError::Unauthorized | AppError::DeviceRevoked | AppError::UserDisabled
        ) {
            return Redirect::to("/console/login").into_response();
        }
        let message = if status.is_server_error() {
            "服务器内部错误,请稍后再试".to_string()
        } else {
            e.to_string()
        };
        let body = layout::bare(
            "出错了",
            html! {
                div.error role="alert" { (message) }
                p { a href="/console/" { ("返回首页") } " · " a href="/console/customers" { ("客户列表") } }
            },
        );
        let mut response = (status, body).into_response();
        e.mark(&mut response);
        response
    }
}

impl<E: Into<AppError>> From<E> for ConsoleError {
    fn from(e: E) -> Self {
        ConsoleError(e.into())
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || to_sign_in(parts);
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_owned) else {
            return Err(to_login());
        };
        let session = state
            .db
            .token_owner(token_hash(&token))
            .await
            .map_err(|e| ConsoleError(e.into()).into_response())?
            .ok_or_else(to_login)?;
        if session.device.revoked_at.is_some() || session.user.disabled {
            return Err(to_login());
        }
        let now = state.clock.now();
        let seen = session.device.last_seen_at;
        if now - seen.unwrap_or(session.device.created_at) > IDLE_LIMIT_MS {
            let ClientAddress(peer) = ClientAddress::of(parts);
            let actor = Actor {
                login: None,
                address: peer.map(|a| a.to_string()),
            };
            let why = format!("控制台闲置超过 {} 小时,超时退出", IDLE_LIMIT_MS / 3_600_000);
            if let Err(e) = end_session(state, session.device.id, now, actor, why).await {
                tracing::warn!(error = %e, "无法结束闲置的控制台会话");
            }
            return Err(to_login());
        }
        crate::auth::record_use(&state.db, &session.device, now).await;
        let mut signed = SignedIn {
            login: session.user.login,
            name: session.user.display_name,
            role: session.user.role,
            position: session.user.position,
            device_id: session.device.id,
            waiting: 0,
            token,
        };
        signed.waiting = approvals::waiting_count(state, &signed).await;
        Ok(signed)
    }
}

/// Form fields as sent, in order (a field may repeat).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first value of `name`, trimmed, or empty.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_string()
    }
}

/// A form or address value that may be left empty: `None` when it is, else
/// it parsed, or the parser's own message (which names the value and what
/// is allowed).
pub fn optional<T: std::str::FromStr>(text: &str) -> Result<Option<T>, String>
where
    T::Err: std::fmt::Display,
{
    match text.trim() {
        "" => Ok(None),
        t => t.parse().map(Some).map_err(|e: T::Err| e.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct LoginPageQuery {
    #[serde(default)]
    changed: bool,
    /// The page to open after signing in.
    next: Option<String>,
}

async fn login_page(Query(q): Query<LoginPageQuery>) -> Markup {
    let next = q.next.as_deref().map(|n| after_sign_in(Some(n)));
    if q.changed {
        return login_form_with(None, Some("密码已修改,请用新密码登录"), "", next.as_deref());
    }
    login_form_with(None, None, "", next.as_deref())
}

fn login_form(error: Option<&str>, login: &str, next: Option<&str>) -> Markup {
    login_form_with(error, None, login, next)
}

fn login_form_with(
    error: Option<&str>,
    ok: Option<&str>,
    login: &str,
    next: Option<&str>,
) -> Markup {
    layout::bare(
        "登录",
        html! {
            form.login method="post" action="/console/login" {
                h1 { ("客户档案管理 · 总部控制台") }
                @if let Some(e) = error { div.error role="alert" { (e) } }
                (layout::flash(ok))
                @if let Some(n) = next { input type="hidden" name="next" value=(n); }
                label { ("登录名") input name="login" value=(login) autofocus required; }
                label { ("密码") input name="password" type="password" required; }
                button type="submit" { ("登录") }
            }
        },
    )
}

async fn login(
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Form(form): Form<Fields>,
) -> Response {
    let login = form.text("login");
    let req = LoginRequest {
        login: login.clone(),
        password: form.get("password").unwrap_or_default().to_string(),
        device_name: CONSOLE_DEVICE.into(),
    };
    let attempt = crate::auth::Attempt {
        address: peer,
        now: state.clock.now(),
    };
    match crate::auth::login(&state, &attempt, req).await {
        Ok(resp) => {
            let cookie = format!(
                "{SESSION_COOKIE}={}; Path=/console; HttpOnly; Secure; SameSite=Strict",
                resp.token
            );
            let mut r = Redirect::to(&after_sign_in(form.get("next"))).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Err(AppError::PasswordChangeRequired) => {
            security::first_password_form(&login, None).into_response()
        }
        Err(e) => {
            let (status, _) = e.parts();
            let message = if status.is_server_error() {
                "服务器内部错误".to_string()
            } else {
                e.to_string()
            };
            let next = form.get("next").map(|n| after_sign_in(Some(n)));
            let mut r =
                (status, login_form(Some(&message), &login, next.as_deref())).into_response();
            e.mark(&mut r);
            if let AppError::TooManyAttempts(secs) = e {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
            }
            r
        }
    }
}

/// Ends a console session: revokes its device, with the audit entry that
/// says why.
async fn end_session(
    state: &AppState,
    device: uuid::Uuid,
    now: i64,
    actor: Actor,
    why: String,
) -> Result<crate::db::Device, crate::db::DbError> {
    state
        .db
        .revoke_device(device, now, move |d| {
            let mut event = audit::event(Kind::DeviceRevoked, &d.login, &actor, now, why);
            event.device_id = Some(d.id.to_string());
            event
        })
        .await
}

async fn logout(
    session: SignedIn,
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Form(form): Form<Fields>,
) -> Result<Response, ConsoleError> {
    session.check(&form)?;
    let actor = session.actor(peer);
    let now = state.clock.now();
    end_session(&state, session.device_id, now, actor, "退出控制台".into()).await?;
    let mut r = Redirect::to("/console/login").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "crm_session=; Path=/console; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(r)
}

/// A 303 back to `to` after a successful form.
pub fn done(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// The notice a redirect back to a page carries (what was just done),
/// sealed for the session that did it: a link from elsewhere cannot put
/// words of its own in the page's notice.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Notice {
    #[serde(default)]
    ok: String,
    #[serde(default)]
    seal: String,
}

impl Notice {
    fn seal_of(s: &SignedIn, text: &str) -> String {
        let mut h = Sha256::new();
        h.update(s.csrf().as_bytes());
        h.update(b":");
        h.update(text.as_bytes());
        h.finalize()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The query that shows `text` as the notice of `s`'s next page.
    pub fn query(s: &SignedIn, text: &str) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("ok", text)
            .append_pair("seal", &Self::seal_of(s, text))
            .finish()
    }

    /// The notice, if this session sealed it.
    pub fn text(&self, s: &SignedIn) -> Option<&str> {
        (!self.ok.is_empty() && self.seal == Self::seal_of(s, &self.ok)).then_some(self.ok.as_str())
    }
}

/// A 303 back to `to` after a successful form, saying `text` there.
pub fn done_saying(s: &SignedIn, to: &str, text: &str) -> Response {
    done(&format!("{to}?{}", Notice::query(s, text)))
}
