//! The laptop's sign-in to the server: which server, how it is trusted, and
//! this device's bearer token.
//!
//! Kept in the store's `meta` table under keys starting with `server.`, so
//! it lives and is backed up with the data it belongs to. The token is a
//! secret: it is never printed, and [`Session`]'s `Debug` hides it.

use std::fmt;

use crm_shared::api::{LoginRequest, LoginResponse};
use crm_shared::codes::Role;

use crate::db;
use crate::error::{Result, StoreError};
use crate::net::{self, Client, NetError, Trust};
use crate::store::Store;

/// Path of the login endpoint.
pub const LOGIN_PATH: &str = "/api/v1/login";
/// Where a password is changed.
pub const PASSWORD_PATH: &str = "/api/v1/password";

const KEY_URL: &str = "server.url";
const KEY_TRUST: &str = "server.trust";
const KEY_FINGERPRINT: &str = "server.fingerprint";
const KEY_CA_PEM: &str = "server.ca_pem";
const KEY_TOKEN: &str = "server.token";
const KEY_DEVICE: &str = "server.device_id";
const KEY_LOGIN: &str = "server.login";
const KEY_ROLE: &str = "server.role";
const KEY_NAME: &str = "server.display_name";

const ALL_KEYS: &[&str] = &[
    KEY_URL,
    KEY_TRUST,
    KEY_FINGERPRINT,
    KEY_CA_PEM,
    KEY_TOKEN,
    KEY_DEVICE,
    KEY_LOGIN,
    KEY_ROLE,
    KEY_NAME,
];

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

    /// The token, for `Client::post(path, Some(session.bearer()), …)`.
    pub fn bearer(&self) -> &str {
        &self.token
    }

    fn save(&self, store: &Store) -> Result<()> {
        let conn = store.conn();
        let tx = conn.unchecked_transaction()?;
        for key in ALL_KEYS {
            db::meta_delete(&tx, key)?;
        }
        db::meta_set(&tx, KEY_URL, &self.server_url)?;
        match &self.trust {
            Trust::Fingerprint(fp) => {
                db::meta_set(&tx, KEY_TRUST, "fingerprint")?;
                db::meta_set(&tx, KEY_FINGERPRINT, fp)?;
            }
            Trust::CaCert(pem) => {
                db::meta_set(&tx, KEY_TRUST, "ca")?;
                db::meta_set(&tx, KEY_CA_PEM, pem)?;
            }
            Trust::PlainHttp => db::meta_set(&tx, KEY_TRUST, "plain-http")?,
        }
        db::meta_set(&tx, KEY_TOKEN, &self.token)?;
        db::meta_set(&tx, KEY_DEVICE, &self.device_id)?;
        db::meta_set(&tx, KEY_LOGIN, &self.login)?;
        db::meta_set(&tx, KEY_ROLE, self.role.code())?;
        db::meta_set(&tx, KEY_NAME, &self.display_name)?;
        tx.commit()?;
        Ok(())
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
        return Err(StoreError::OtherUser {
            owner,
            login: login.to_string(),
        });
    }
    let server_url = net::normalize_url(url)?;
    let client = Client::new(&server_url, &trust)?;
    let request = LoginRequest {
        login: login.to_string(),
        password: password.to_string(),
        device_name: device_name.to_string(),
    };
    let response: LoginResponse = client.post(LOGIN_PATH, None, &request)?;
    if response.login != owner {
        return Err(StoreError::OtherUser {
            owner,
            login: response.login,
        });
    }
    let session = Session {
        server_url,
        trust,
        token: response.token,
        device_id: response.device_id,
        login: response.login,
        role: response.role,
        display_name: response.display_name,
    };
    session.save(store)?;
    Ok(session)
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
    let conn = store.conn();
    let get = |key: &str| db::meta_get(conn, key);
    let (Some(server_url), Some(token)) = (get(KEY_URL)?, get(KEY_TOKEN)?) else {
        return Ok(None);
    };
    let corrupt = |what: &str| -> StoreError {
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
    current(store)?.ok_or(StoreError::NotLoggedIn)
}

/// Forgets the session (token, server, trust). Returns whether there was one.
/// Customer data and the sync position stay.
pub fn forget(store: &mut Store) -> Result<bool> {
    let conn = store.conn();
    let had = db::meta_get(conn, KEY_TOKEN)?.is_some();
    let tx = conn.unchecked_transaction()?;
    for key in ALL_KEYS {
        db::meta_delete(&tx, key)?;
    }
    tx.commit()?;
    Ok(had)
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
            s.save(&store).unwrap();
            assert_eq!(current(&store).unwrap().as_ref(), Some(&s));
            assert!(!format!("{s:?}").contains("secret-token"));
        }
        assert!(forget(&mut store).unwrap());
        assert!(current(&store).unwrap().is_none());
        assert!(!forget(&mut store).unwrap());
        assert!(matches!(require(&store), Err(StoreError::NotLoggedIn)));
    }

    #[test]
    fn another_users_login_is_refused_before_anything_is_sent() {
        let dir = tempfile::tempdir().unwrap();
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
        assert!(matches!(err, StoreError::OtherUser { .. }), "{err:?}");
        assert!(err.to_string().contains("zhangsan"));
    }
}
