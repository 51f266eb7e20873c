//! Talking to the server: turning a saved [`Link`] into an HTTPS client
//! (the laptops' client, with the same certificate pinning) and logging in.

use crm_net::{Client, NetError, Trust};
use crm_shared::api::{LoginRequest, LoginResponse};
use crm_shared::codes::Role;

use crate::store::Link;

/// How a trust setting is saved in the store.
pub fn trust_to_text(trust: &Trust) -> String {
    match trust {
        Trust::Fingerprint(fp) => format!("fingerprint:{fp}"),
        Trust::CaCert(pem) => format!("ca:{pem}"),
        Trust::PlainHttp => "plain".into(),
    }
}

/// A saved trust setting.
pub fn trust_from_text(text: &str) -> Result<Trust, NetError> {
    if let Some(fp) = text.strip_prefix("fingerprint:") {
        Trust::fingerprint(fp)
    } else if let Some(pem) = text.strip_prefix("ca:") {
        Ok(Trust::CaCert(pem.to_string()))
    } else {
        Ok(Trust::PlainHttp)
    }
}

/// A client for the linked server.
pub fn client(link: &Link) -> Result<Client, NetError> {
    Client::new(&link.url, &trust_from_text(&link.trust)?)
}

/// Why `init` could not link the node.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The server refused or could not be reached.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The account is not a backup operator's.
    #[error("用户 {login} 的角色是“{role}”,备份机只能用备份管理员(backup_operator)账号登录")]
    NotOperator {
        /// The login.
        login: String,
        /// Its role's label.
        role: String,
    },
}

/// Logs in as a backup operator and returns the link to save.
pub fn login(
    url: &str,
    trust: &Trust,
    login: &str,
    password: String,
    device_name: &str,
) -> Result<Link, LinkError> {
    let client = Client::new(url, trust)?;
    let resp: LoginResponse = client.post(
        "/api/v1/login",
        None,
        &LoginRequest {
            login: login.to_string(),
            password,
            device_name: device_name.to_string(),
        },
    )?;
    if resp.role != Role::BackupOperator {
        return Err(LinkError::NotOperator {
            login: resp.login,
            role: resp.role.label().to_string(),
        });
    }
    Ok(Link {
        url: client.url().to_string(),
        trust: trust_to_text(trust),
        login: resp.login,
        token: resp.token,
    })
}
