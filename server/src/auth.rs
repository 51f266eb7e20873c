//! Who is calling: signing in (and changing one's password), and the
//! [`Auth`] extractor that every protected handler takes.
//!
//! A user proves who they are once, with their password, and gets a device
//! token; from then on the laptop sends `Authorization: Bearer <token>`.
//! Revoking a device kills its token and nothing else. Secrets themselves
//! are made and checked in [`crate::credentials`].

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use crm_shared::api::{LoginRequest, LoginResponse, PasswordChange, WhoAmI};
use crm_shared::codes::Role;
use uuid::Uuid;

use crate::audit::{self, Actor, Kind};
use crate::caller::Caller;
use crate::clock::now_ms;
use crate::credentials::{
    dummy_hash, hash_password, new_token, token_hash, verify_password, MAX_PASSWORD_BYTES,
};
use crate::db::access::SignInAttempt;
use crate::db::{Db, NewDevice, User};
use crate::error::AppError;
use crate::password_rule;
use crate::sign_in;
use crate::state::AppState;

/// A device's last-seen time is written at most this often (ms).
const TOUCH_EVERY_MS: i64 = 60_000;

/// The caller of a protected route, taken from its bearer token.
///
/// Add it as a handler argument; the request is refused with 401/403 before
/// the handler runs if the token is missing, unknown, revoked, or its user is
/// disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// The user's login name.
    pub login: String,
    /// The user's display name.
    pub display_name: String,
    /// The user's role.
    pub role: Role,
    /// The device the token was issued to.
    pub device_id: Uuid,
    /// Position on the credit approval chain, if any.
    pub position: Option<crm_shared::codes::Position>,
}

impl From<&Auth> for Caller {
    fn from(auth: &Auth) -> Self {
        Caller {
            login: auth.login.clone(),
            role: auth.role,
            device_id: auth.device_id.to_string(),
        }
    }
}

impl From<Auth> for WhoAmI {
    fn from(auth: Auth) -> Self {
        WhoAmI {
            login: auth.login,
            display_name: auth.display_name,
            role: auth.role,
            device_id: auth.device_id.to_string(),
            position: auth.position,
        }
    }
}

impl<S> FromRequestParts<S> for Auth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let state = AppState::from_ref(state);
        let token = bearer_token(&parts.headers).ok_or(AppError::Unauthorized)?;
        let session = state
            .db
            .token_owner(token_hash(token))
            .await?
            .ok_or(AppError::Unauthorized)?;
        let span = tracing::Span::current();
        span.record("login", session.user.login.as_str());
        span.record("device", tracing::field::display(session.device.id));
        if session.device.revoked_at.is_some() {
            return Err(AppError::DeviceRevoked);
        }
        if session.user.disabled {
            return Err(AppError::UserDisabled);
        }
        record_use(&state.db, &session.device, now_ms()).await;
        let auth = Auth {
            login: session.user.login,
            display_name: session.user.display_name,
            role: session.user.role,
            device_id: session.device.id,
            position: session.user.position,
        };
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

/// Writes down that `device` was used at `now`, at most once a
/// [`TOUCH_EVERY_MS`]: a failure only loses that note, never the request.
pub(crate) async fn record_use(db: &Db, device: &crate::db::Device, now: i64) {
    if device
        .last_seen_at
        .is_none_or(|seen| now - seen >= TOUCH_EVERY_MS)
    {
        if let Err(e) = db.touch_device(device.id, now).await {
            tracing::warn!(error = %e, "无法记录设备最近访问时间");
        }
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Where a sign-in attempt comes from, and the clock it is judged by.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The client's address (`None` for the server's own command line).
    pub address: Option<std::net::IpAddr>,
    /// Now, by the server's clock.
    pub now: i64,
}

impl Attempt {
    fn actor(&self) -> Actor {
        Actor {
            login: None,
            address: self.address.map(|a| a.to_string()),
        }
    }
}

/// Checks `login`'s password, throttled (see [`crate::sign_in`]): the
/// attempt counts against the login and the address before the password
/// is checked, and is taken back only if it was right, so guesses sent at
/// once get no more checks than guesses sent one after another. The answer
/// never tells whether the login exists. Returns the account on success.
async fn check_password(
    state: &AppState,
    at: &Attempt,
    login: &str,
    password: String,
) -> Result<User, AppError> {
    let now = at.now;
    let wait = |until: i64| AppError::TooManyAttempts(((until - now) + 999) / 1000);
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::BadCredentials);
    }
    let address = match at.address {
        Some(a) => Some(state.sign_ins.reserve(a, now).map_err(wait)?),
        None => None,
    };
    let release = || {
        if let Some(r) = address {
            state.sign_ins.release(r);
        }
    };
    let counted = state
        .db
        .sign_in_attempt(
            login,
            now,
            now - sign_in::FORGET_MS,
            move |f| sign_in::login_wait(f, now),
            move |n| sign_in::lock_for(n, now),
        )
        .await;
    let (before, after) = match counted {
        Ok(SignInAttempt::Counted { before, after }) => (before, after),
        Ok(SignInAttempt::Wait(until)) => {
            release();
            return Err(wait(until));
        }
        Err(e) => {
            release();
            return Err(e.into());
        }
    };
    let checked = match state.db.user_credentials(login).await {
        Ok(Some((user, hash))) => verify_password(hash, password)
            .await
            .map(|right| (Some(user), right))
            .map_err(AppError::from),
        // Spend the same time as for a real user, so the answer's delay
        // does not tell which logins exist.
        Ok(None) => match dummy_hash().await {
            Ok(hash) => verify_password(hash, password).await.map(|_| (None, false)),
            Err(e) => Err(e),
        }
        .map_err(AppError::from),
        Err(e) => Err(AppError::from(e)),
    };
    let (user, why, refusal) = match checked {
        Ok((Some(user), true)) if !user.disabled => {
            // Typos now and then, each followed by a good sign-in, must not
            // add up over months to a delay or a lock.
            state.db.clear_sign_in_failures(login, None).await?;
            release();
            return Ok(user);
        }
        Ok((Some(user), true)) => (Some(user), "账号已停用", AppError::UserDisabled),
        Ok((Some(user), false)) => (Some(user), "密码错误", AppError::BadCredentials),
        Ok((None, _)) => (None, "无此账号", AppError::BadCredentials),
        // Not checked, yet counted: taking the count back would need it
        // put back as it was, which attempts made meanwhile have moved on.
        Err(e) => (None, "服务器未能核对密码", e),
    };
    let actor = at.actor();
    let typed = user.as_ref().map_or(login.to_string(), |u| u.login.clone());
    let mut events = vec![audit::event(Kind::SignInFailed, &typed, &actor, now, why)];
    if sign_in::lock_starts(&before, &after, now) {
        events.push(audit::event(
            Kind::Locked,
            &typed,
            &actor,
            now,
            format!(
                "连续 {} 次登录失败,锁定 {} 分钟",
                after.failures,
                sign_in::LOCK_MS / 60_000
            ),
        ));
    }
    state.db.record_accesses(events).await?;
    tracing::info!(login, "登录失败");
    Err(refusal)
}

/// Signs a user in on a new device: checks the password (throttled) and
/// the account, then creates the device and returns its token (shown this
/// once). Every attempt is written to the audit of access.
pub async fn login(
    state: &AppState,
    at: &Attempt,
    req: LoginRequest,
) -> Result<LoginResponse, AppError> {
    let device_name = req.device_name.trim().to_owned();
    if device_name.is_empty() || device_name.chars().count() > 100 {
        return Err(AppError::BadRequest(
            "设备名称不能为空,且不超过 100 个字符".into(),
        ));
    }
    let login = req.login.trim().to_owned();
    if login.is_empty() {
        return Err(AppError::BadCredentials);
    }
    let user = check_password(state, at, &login, req.password).await?;
    let now = at.now;
    if user.password_expires_at.is_some_and(|t| t <= now) {
        return Err(AppError::PasswordExpired);
    }
    if user.must_change_password {
        return Err(AppError::PasswordChangeRequired);
    }
    let token = new_token()?;
    let device_id = Uuid::now_v7();
    let mut event = audit::event(
        Kind::SignIn,
        &user.login,
        &at.actor(),
        now,
        device_name.clone(),
    );
    event.device_id = Some(device_id.to_string());
    state
        .db
        .insert_device(
            NewDevice {
                id: device_id,
                login: user.login.clone(),
                name: device_name,
                token_hash: token_hash(&token),
                created_at: now,
            },
            event,
        )
        .await?;
    tracing::info!(login = %user.login, device = %device_id, "新设备登录");
    Ok(LoginResponse {
        token,
        device_id: device_id.to_string(),
        login: user.login,
        display_name: user.display_name,
        role: user.role,
    })
}

/// A user changes their own password, proving who they are with the
/// current one (throttled like a sign-in). Also the way through a reset
/// by an administrator.
pub async fn change_password(
    state: &AppState,
    at: &Attempt,
    change: PasswordChange,
) -> Result<(), AppError> {
    let login = change.login.trim().to_owned();
    if login.is_empty() {
        return Err(AppError::BadCredentials);
    }
    if let Some(why) = password_rule::why_not(&login, &change.new) {
        return Err(AppError::BadRequest(format!("新密码:{why}")));
    }
    if change.new == change.current {
        return Err(AppError::BadRequest("新密码不能与现在的密码相同".into()));
    }
    let user = check_password(state, at, &login, change.current).await?;
    let hash = hash_password(change.new).await?;
    let event = audit::event(Kind::PasswordChanged, &user.login, &at.actor(), at.now, "");
    state
        .db
        .set_password(&user.login, hash, None, false, event)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_is_read_case_insensitively_and_trimmed() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, "bearer  abc ".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }
}
