//! The operating system's keychain: Windows Credential Manager, the macOS
//! Keychain, the Secret Service on Linux (GNOME Keyring, KWallet), through
//! the `keyring` crate. It keeps one secret per data directory; what that
//! secret opens is [`crate::key`]'s business.
//!
//! Every call runs on a thread of its own and is waited for a bounded
//! time: a Secret Service that is present but never answers (a prompt
//! nobody sees on a headless box) must not hang `crm`. A bounded thread
//! also keeps the crate's blocking D-Bus client, which runs its own tokio
//! runtime, off the app's runtime threads, where it could not start.

use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;

/// The keychain entries' service name; the account is the data directory.
pub const SERVICE: &str = "crm 客户档案";

// Long enough for a person to answer the system's own unlock prompt.
const WAIT: Duration = Duration::from_secs(30);
// Whether a keychain is there is asked before a store is created; a
// missing or mute one means the passphrase, so do not keep anyone waiting.
const PROBE_WAIT: Duration = Duration::from_secs(10);

/// Why the keychain could not be used, in words for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable(pub String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn why(e: &keyring::Error) -> Unreachable {
    Unreachable(
        match e {
            keyring::Error::NoStorageAccess(_) => "系统钥匙串已锁定或拒绝访问",
            keyring::Error::PlatformFailure(_) => "连接不到系统钥匙串服务",
            keyring::Error::BadEncoding(_) => "系统钥匙串中的内容无法读取",
            _ => "系统钥匙串不接受这个条目",
        }
        .into(),
    )
}

/// Runs `op` on its own thread; gives up after `wait`.
fn bounded<T: Send + 'static>(
    wait: Duration,
    op: impl FnOnce() -> Result<T, Unreachable> + Send + 'static,
) -> Result<T, Unreachable> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("crm-keychain".into())
        .spawn(move || {
            let _ = tx.send(op());
        })
        .map_err(|_| Unreachable("无法访问系统钥匙串".into()))?;
    rx.recv_timeout(wait)
        .unwrap_or_else(|_| Err(Unreachable("系统钥匙串没有响应".into())))
}

fn entry(account: &str) -> Result<keyring::Entry, Unreachable> {
    keyring::Entry::new(SERVICE, account).map_err(|e| why(&e))
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// What the last probe found, for this process: the app's sign-in page
/// asks on each showing, and the answer must not change under a form.
static WORKS: Mutex<Option<bool>> = Mutex::new(None);

/// Whether this account has a keychain that keeps a secret: one is
/// written, read back and deleted. Asked once per process.
pub fn works() -> bool {
    let mut known = WORKS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(k) = *known {
        return k;
    }
    let answer = bounded(PROBE_WAIT, || {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|_| Unreachable("无法生成随机数".into()))?;
        let probe = format!("检测 {}", b64().encode(nonce));
        let e = entry(&probe)?;
        e.set_password(&probe).map_err(|e| why(&e))?;
        let back = e.get_password().map_err(|e| why(&e));
        let _ = e.delete_credential();
        Ok(back? == probe)
    })
    .unwrap_or(false);
    *known = Some(answer);
    answer
}

/// The keychain failed where [`works`] said it would do: later creations
/// in this process use the passphrase.
pub fn distrust() {
    *WORKS.lock().unwrap_or_else(|p| p.into_inner()) = Some(false);
}

/// Keeps `secret` as `account`'s entry, replacing any.
pub fn store(account: &str, secret: &[u8]) -> Result<(), Unreachable> {
    let account = account.to_string();
    let text = b64().encode(secret);
    bounded(WAIT, move || {
        entry(&account)?.set_password(&text).map_err(|e| why(&e))
    })
}

/// `account`'s secret; `None` when the keychain has no such entry.
pub fn load(account: &str) -> Result<Option<Vec<u8>>, Unreachable> {
    let account = account.to_string();
    bounded(WAIT, move || match entry(&account)?.get_password() {
        Ok(text) => b64()
            .decode(text)
            .map(Some)
            .map_err(|_| Unreachable("系统钥匙串中的内容无法读取".into())),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(why(&e)),
    })
}

/// Deletes `account`'s entry; one already gone is no failure.
pub fn delete(account: &str) -> Result<(), Unreachable> {
    let account = account.to_string();
    bounded(WAIT, move || match entry(&account)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(why(&e)),
    })
}
