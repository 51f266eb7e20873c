//! The laptop's sign-in to the server: which server, how it is trusted, and
//! this device's bearer token.
//!
//! Kept in the store's `meta` table under keys starting with `server.`, so
//! it lives and is backed up with the data it belongs to. The token is a
//! secret: it is never printed, and [`Session`]'s `Debug` hides it.

use std::fmt;

use crm_shared::api::{LoginRequest, LoginResponse};
use crm_shared::codes::Role;

use crate::error::{ClientError, Result};
use crate::net::{self, Client, NetError, Trust};
use crate::store::Store;

/// Path of the login endpoint.
pub const LOGIN_PATH: &str = "/api/v1/login";
/// Where a password is changed.
pub const PASSWORD_PATH: &str = "/api/v1/password";

// The saved sign-in's keys (the store adds its `server.` prefix).
const KEY_URL: &str = "url";
const KEY_TRUST: &str = "trust";
const KEY_FINGERPRINT: &str = "fingerprint";
const KEY_CA_PEM: &str = "ca_pem";
const KEY_TOKEN: &str = "token";
const KEY_DEVICE: &str = "device_id";
const KEY_LOGIN: &str = "login";
const KEY_ROLE: &str = "role";
const KEY_NAME: &str = "display_name";

/// This laptop signed in to a server.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// Base URL, e.g. `https://10.0.0.5:8443` (no trailing slash).
    pub server_url: String,
    /// How the server's certificate is checked.
    pub trust: Trust,
    /// The device's bearer token. Secret: never print it.
    pub token: String,
    /// The device id the server gave this laptop.
    pub device_id: String,
    /// The user's login name.
    pub login: String,
    /// The user's role, as the server said at login.
    pub role: Role,
    /// The user's display name (姓名).
    pub display_name: String,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("server_url", &self.server_url)
            .field("trust", &self.trust)
            .field("token", &"<hidden>")
            .field("device_id", &self.device_id)
            .field("login", &self.login)
            .field("role", &self.role)
            .field("display_name", &self.display_name)
            .finish()
    }
}

impl Session {
    /// A network client for this session's server and trust.
    pub fn client(&self) -> Result<Client, NetError> {
        Client::new(&self.server_url, &self.trust)
    }

    /// The session a sign-in to `server_url` answered with.
    fn signed_in(server_url: String, trust: Trust, response: LoginResponse) -> Session {
        Session {
            server_url,
            trust,
            token: response.token,
            device_id: response.device_id,
            login: response.login,
            role: response.role,
            display_name: response.display_name,
        }
    }

    /// The token, for `Client::post(path, Some(session.bearer()), …)`.
    pub fn bearer(&self) -> &str {
        &self.token
    }

    fn save(&self, store: &mut Store) -> Result<()> {
        let (trust, trust_value) = match &self.trust {
            Trust::Fingerprint(fp) => ("fingerprint", Some((KEY_FINGERPRINT, fp.as_str()))),
            Trust::CaCert(pem) => ("ca", Some((KEY_CA_PEM, pem.as_str()))),
            Trust::PlainHttp => ("plain-http", None),
        };
        let mut values = vec![
            (KEY_URL, self.server_url.as_str()),
            (KEY_TRUST, trust),
            (KEY_TOKEN, self.token.as_str()),
            (KEY_DEVICE, self.device_id.as_str()),
            (KEY_LOGIN, self.login.as_str()),
            (KEY_ROLE, self.role.code()),
            (KEY_NAME, self.display_name.as_str()),
        ];
        values.extend(trust_value);
        store.save_sign_in(&values)
    }
}

/// Signs in to `url` as `login` and saves the session in the store.
///
/// The store belongs to one user (its profile); signing in as anyone else
/// is refused before anything is sent. A new login replaces any earlier
/// session (the old device stays registered on the server until an
/// administrator revokes it).
pub fn login(
    store: &mut Store,
    url: &str,
    trust: Trust,
    login: &str,
    password: &str,
    device_name: &str,
) -> Result<Session> {
    let owner = store.profile().user.clone();
    if login != owner {
        return Err(ClientError::OtherUser {
            owner,
            login: login.to_string(),
        });
    }
    let (server_url, response) = request_login(url, &trust, login, password, device_name)?;
    if response.login != owner {
        return Err(ClientError::OtherUser {
            owner,
            login: response.login,
        });
    }
    let session = Session::signed_in(server_url, trust, response);
    session.save(store)?;
    Ok(session)
}

/// Signs a new laptop in: the server is asked first, and only when it
/// accepts does the store in `dir` get its profile (the login and name the
/// server answered with), so a mistyped login or password leaves no store
/// behind. A store already there must belong to the same person.
pub fn first_login(
    dir: &std::path::Path,
    url: &str,
    trust: Trust,
    login: &str,
    password: &str,
    device_name: &str,
) -> Result<(Store, Session)> {
    let (server_url, response) = request_login(url, &trust, login, password, device_name)?;
    let mut store = Store::init(dir, &response.login, &response.display_name)?;
    let session = Session::signed_in(server_url, trust, response);
    session.save(&mut store)?;
    Ok((store, session))
}

/// `POST /api/v1/login`; the normalised server URL and the answer.
fn request_login(
    url: &str,
    trust: &Trust,
    login: &str,
    password: &str,
    device_name: &str,
) -> Result<(String, LoginResponse)> {
    let server_url = net::normalize_url(url)?;
    let client = Client::new(&server_url, trust)?;
    let request = LoginRequest {
        login: login.to_string(),
        password: password.to_string(),
        device_name: device_name.to_string(),
    };
    let response: LoginResponse = client.post(LOGIN_PATH, None, &request)?;
    Ok((server_url, response))
}

/// Changes `login`'s password on the server at `url`, proving who they are
/// with the current one (also the way through a reset by an
/// administrator, before any session exists).
pub fn change_password(
    url: &str,
    trust: &Trust,
    login: &str,
    current: &str,
    new: &str,
) -> Result<()> {
    let client = Client::new(&net::normalize_url(url)?, trust)?;
    let change = crm_shared::api::PasswordChange {
        login: login.to_string(),
        current: current.to_string(),
        new: new.to_string(),
    };
    let _: serde_json::Value = client.post(PASSWORD_PATH, None, &change)?;
    Ok(())
}

/// The saved session, if this laptop has signed in.
pub fn current(store: &Store) -> Result<Option<Session>> {
    let mut saved = store.sign_in()?;
    let mut get = |key: &str| -> Result<Option<String>> { Ok(saved.remove(key)) };
    let (Some(server_url), Some(token)) = (get(KEY_URL)?, get(KEY_TOKEN)?) else {
        return Ok(None);
    };
    let corrupt = |what: &str| -> ClientError {
        crm_shared::Error::Corrupt(format!("本机保存的登录信息不完整({what}),请重新 crm login"))
            .into()
    };
    let trust = match get(KEY_TRUST)?.as_deref() {
        Some("fingerprint") => {
            Trust::Fingerprint(get(KEY_FINGERPRINT)?.ok_or_else(|| corrupt(KEY_FINGERPRINT))?)
        }
        Some("ca") => Trust::CaCert(get(KEY_CA_PEM)?.ok_or_else(|| corrupt(KEY_CA_PEM))?),
        Some("plain-http") => Trust::PlainHttp,
        _ => return Err(corrupt(KEY_TRUST)),
    };
    let role = get(KEY_ROLE)?
        .and_then(|r| r.parse::<Role>().ok())
        .ok_or_else(|| corrupt(KEY_ROLE))?;
    let login = get(KEY_LOGIN)?.ok_or_else(|| corrupt(KEY_LOGIN))?;
    Ok(Some(Session {
        server_url,
        trust,
        token,
        device_id: get(KEY_DEVICE)?.ok_or_else(|| corrupt(KEY_DEVICE))?,
        display_name: get(KEY_NAME)?.unwrap_or_else(|| login.clone()),
        login,
        role,
    }))
}

/// The saved session, or an error telling the user to sign in.
pub fn require(store: &Store) -> Result<Session> {
    current(store)?.ok_or(ClientError::NotLoggedIn)
}

/// Forgets the session (token, server, trust). Returns whether there was one.
/// Customer data and the sync position stay.
pub fn forget(store: &mut Store) -> Result<bool> {
    store.forget_sign_in()
}

/// A name for this laptop for the server's device list: the host name, or
/// "laptop".
pub fn device_name() -> String {
    hostname()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "laptop".to_string())
}

#[cfg(unix)]
fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most
    // that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec()).ok()
}

#[cfg(not(unix))]
fn hostname() -> Option<String> {
    std::env::var("COMPUTERNAME").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_round_trips_through_meta_and_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        crate::key::create(dir.path(), "单元测试的本机数据密码").unwrap();
        let mut store = Store::init(dir.path(), "zhangsan", "张三").unwrap();
        assert!(current(&store).unwrap().is_none());
        for trust in [
            Trust::Fingerprint("ab".repeat(32)),
            Trust::CaCert("-----BEGIN CERTIFICATE-----\n…".into()),
            Trust::PlainHttp,
        ] {
            let s = Session {
                server_url: "https://10.0.0.5:8443".into(),
                trust,
                token: "secret-token".into(),
                device_id: "d-1".into(),
                login: "zhangsan".into(),
                role: Role::Salesperson,
                display_name: "张三".into(),
            };
            s.save(&mut store).unwrap();
            assert_eq!(current(&store).unwrap().as_ref(), Some(&s));
            assert!(!format!("{s:?}").contains("secret-token"));
        }
        assert!(forget(&mut store).unwrap());
        assert!(current(&store).unwrap().is_none());
        assert!(!forget(&mut store).unwrap());
        assert!(matches!(require(&store), Err(ClientError::NotLoggedIn)));
    }

    #[test]
    fn another_users_login_is_refused_before_anything_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        crate::key::create(dir.path(), "单元测试的本机数据密码").unwrap();
        let mut store = Store::init(dir.path(), "zhangsan", "张三").unwrap();
        // Port 1 is closed: a request would fail as offline, not as OtherUser.
        let err = login(
            &mut store,
            "http://127.0.0.1:1",
            Trust::PlainHttp,
            "lisi",
            "pw",
            "laptop",
        )
        .unwrap_err();
        assert!(matches!(err, ClientError::OtherUser { .. }), "{err:?}");
        assert!(err.to_string().contains("zhangsan"));
    }
}
