//! The audit of access: what is written down about who got in, from where,
//! and what was done with accounts, devices, and the archive as a whole
//! (exports and imports). Read by administrators in the console and with
//! `crm-server audit`; followed by the backup node like the other records.
//! A failed sign-in records the login typed, never the password.

use crate::db::access::AccessEvent;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Signed in (a new device, or a console session).
    SignIn,
    /// A sign-in was refused (wrong password, no such account, disabled).
    SignInFailed,
    /// Too many failed sign-ins locked the login for a while.
    Locked,
    /// An administrator lifted a lock.
    Unlocked,
    /// A device was revoked (by an administrator, or a console session ended).
    DeviceRevoked,
    /// An account was created.
    UserAdded,
    /// A role or approval position changed.
    RoleChanged,
    /// An account was disabled or enabled again.
    UserDisabled,
    /// The holder changed their own password.
    PasswordChanged,
    /// An administrator reset a password (to be changed at the next sign-in).
    PasswordReset,
    /// Customers were exported to a file.
    Export,
    /// Customers were imported from a file.
    Import,
}

impl Kind {
    /// Every kind, in the order the filters list them.
    pub const ALL: [Kind; 12] = [
        Kind::SignIn,
        Kind::SignInFailed,
        Kind::Locked,
        Kind::Unlocked,
        Kind::DeviceRevoked,
        Kind::UserAdded,
        Kind::RoleChanged,
        Kind::UserDisabled,
        Kind::PasswordChanged,
        Kind::PasswordReset,
        Kind::Export,
        Kind::Import,
    ];

    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Kind::SignIn => "sign_in",
            Kind::SignInFailed => "sign_in_failed",
            Kind::Locked => "locked",
            Kind::Unlocked => "unlocked",
            Kind::DeviceRevoked => "device_revoked",
            Kind::UserAdded => "user_added",
            Kind::RoleChanged => "role_changed",
            Kind::UserDisabled => "user_disabled",
            Kind::PasswordChanged => "password_changed",
            Kind::PasswordReset => "password_reset",
            Kind::Export => "export",
            Kind::Import => "import",
        }
    }

    /// Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            Kind::SignIn => "登录",
            Kind::SignInFailed => "登录失败",
            Kind::Locked => "账号锁定",
            Kind::Unlocked => "解除锁定",
            Kind::DeviceRevoked => "停用设备",
            Kind::UserAdded => "新建账号",
            Kind::RoleChanged => "角色或职位变更",
            Kind::UserDisabled => "停用或启用账号",
            Kind::PasswordChanged => "修改密码",
            Kind::PasswordReset => "重设密码",
            Kind::Export => "导出",
            Kind::Import => "导入",
        }
    }

    /// The kind with this code or Chinese name.
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.code() == text || k.label() == text)
    }
}

/// Who did something the audit records, and from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// Their login (`crm-server` for the server's own command line).
    pub login: Option<String>,
    /// Their address, for what came over the network.
    pub address: Option<String>,
}

impl Actor {
    /// The operator at the server's own command line.
    pub fn command_line() -> Actor {
        Actor {
            login: Some("crm-server".into()),
            address: None,
        }
    }
}

/// An entry about `login`'s account, done by `actor`, at `at`.
pub fn event(
    kind: Kind,
    login: &str,
    actor: &Actor,
    at: i64,
    detail: impl Into<String>,
) -> AccessEvent {
    AccessEvent {
        id: 0,
        at,
        kind: kind.code().into(),
        login: login.to_string(),
        // The holder acting on their own account is not named twice.
        by_login: actor
            .login
            .clone()
            .filter(|by| !by.eq_ignore_ascii_case(login)),
        address: actor.address.clone(),
        device_id: None,
        detail: detail.into(),
    }
}
