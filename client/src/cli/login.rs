//! Signing in to head office's server: `crm login`, `crm password`, `crm
//! logout`, and how the password and the server's trust are read.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::error::{ClientError, Result};
use crate::net::{NetError, Trust};
use crate::session;
use crate::store::Store;
use crm_shared::Error as DomainError;

/// `crm login`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// 服务器地址,如 https://10.0.0.5:8443
    #[arg(long, value_name = "URL")]
    server: String,
    /// 登录名,须与 crm init 时的用户相同
    #[arg(long)]
    user: String,
    /// 服务器证书的 SHA-256 指纹(总部提供,crm-server 启动时显示)
    #[arg(long, value_name = "HEX", conflicts_with = "ca_file")]
    fingerprint: Option<String>,
    /// 不用指纹时,信任的 CA(或服务器)证书文件(PEM)
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// 从标准输入读一行作为密码(管理员重设密码后,第二行为新密码);否则用环境变量 CRM_PASSWORD,否则提示输入
    #[arg(long)]
    password_stdin: bool,
}

/// `crm password`
#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// 服务器地址(已登录时不用填)
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// 登录名(默认本机用户)
    #[arg(long)]
    user: Option<String>,
    /// 服务器证书的 SHA-256 指纹(未登录时与 --server 一起给出)
    #[arg(long, value_name = "HEX", conflicts_with = "ca_file")]
    fingerprint: Option<String>,
    /// 不用指纹时,信任的 CA(或服务器)证书文件(PEM)
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// 从标准输入读两行:现在的密码、新密码(否则用环境变量或提示输入)
    #[arg(long)]
    password_stdin: bool,
}

/// Runs `crm login`.
pub fn login(dir: &Path, l: LoginArgs) -> Result<()> {
    let mut store = Store::open(dir)?;
    let trust = login_trust(&l)?;
    let password = read_password(l.password_stdin)?;
    let device = session::device_name();
    let first = session::login(
        &mut store,
        &l.server,
        trust.clone(),
        &l.user,
        &password,
        &device,
    );
    let s = match first {
        // An administrator reset the password: the holder chooses
        // a new one now, then signs in with it.
        Err(ClientError::Net(NetError::PasswordChangeRequired)) => {
            eprintln!("管理员已重设你的密码,请设置只有你自己知道的新密码。");
            let new = read_new_password(l.password_stdin)?;
            session::change_password(&l.server, &trust, &l.user, &password, &new)?;
            println!("已设置新密码");
            session::login(&mut store, &l.server, trust, &l.user, &new, &device)?
        }
        other => other?,
    };
    println!(
        "已登录 {},用户 {}({})",
        s.server_url, s.display_name, s.role
    );
    Ok(())
}

/// Runs `crm password`.
pub fn password(dir: &Path, p: PasswordArgs) -> Result<()> {
    let store = Store::open(dir)?;
    let saved = session::current(&store)?;
    let (server, trust, user) = match (&p.server, saved) {
        (Some(server), _) => {
            let args = LoginArgs {
                server: server.clone(),
                user: p
                    .user
                    .clone()
                    .unwrap_or_else(|| store.profile().user.clone()),
                fingerprint: p.fingerprint.clone(),
                ca_file: p.ca_file.clone(),
                password_stdin: p.password_stdin,
            };
            (server.clone(), login_trust(&args)?, args.user)
        }
        (None, Some(s)) => (s.server_url.clone(), s.trust.clone(), s.login.clone()),
        (None, None) => return Err(ClientError::NotLoggedIn),
    };
    let current = read_password(p.password_stdin)?;
    let new = read_new_password(p.password_stdin)?;
    session::change_password(&server, &trust, &user, &current, &new)?;
    println!("已修改 {user} 在 {server} 的密码");
    Ok(())
}

/// Runs `crm logout`.
pub fn logout(dir: &Path) -> Result<()> {
    let mut store = Store::open(dir)?;
    if session::forget(&mut store)? {
        println!("已退出登录(本机客户数据保留)");
    } else {
        println!("本机尚未登录服务器");
    }
    Ok(())
}

/// How `crm login` trusts the server: http needs nothing, https needs a
/// fingerprint or a CA file.
fn login_trust(l: &LoginArgs) -> Result<Trust> {
    let https = l.server.trim().starts_with("https://");
    Ok(match (&l.fingerprint, &l.ca_file) {
        (Some(fp), _) => Trust::fingerprint(fp)?,
        (None, Some(path)) => Trust::ca_file(path)?,
        (None, None) if https => return Err(NetError::NoTrust.into()),
        (None, None) => Trust::PlainHttp,
    })
}

/// The login password: one line of stdin, else `CRM_PASSWORD`, else a
/// prompt without echo.
fn read_password(from_stdin: bool) -> Result<String> {
    crm_usage::password::read(from_stdin, "密码:")?.ok_or(ClientError::NoPassword)
}

/// A new password: the next line of stdin, else `CRM_NEW_PASSWORD`, else
/// typed twice without echo. The server checks it against its rule.
fn read_new_password(from_stdin: bool) -> Result<String> {
    use crm_usage::password::{read_new, NewPassword};
    match read_new(
        from_stdin,
        "CRM_NEW_PASSWORD",
        "新密码(至少 10 个字符,可用一句好记的话):",
        "再输入一次新密码:",
    )? {
        NewPassword::Given(password) => Ok(password),
        NewPassword::Mismatch => {
            Err(DomainError::invalid("新密码", "两次输入的新密码不一致").into())
        }
        NewPassword::Missing => Err(ClientError::NoNewPassword),
    }
}
