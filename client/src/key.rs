//! The store's encryption key and where it lives.
//!
//! The store file is encrypted by SQLCipher with a random 256-bit key,
//! given as a raw key (no key derivation on each open). That key is kept in
//! `crm.key` beside the store, sealed (ChaCha20-Poly1305) under a wrapping
//! key that is not on the disk, so the disk alone reads nothing: a lost
//! laptop leaks no customer. The wrapping key is either
//!
//! - random and kept in the operating system's keychain
//!   ([`crate::keychain`]), so signing in to the computer is enough; or
//! - derived from the salesperson's passphrase with Argon2id, where there
//!   is no keychain (a headless Linux box, CI) or `CRM_PASSPHRASE` asks
//!   for it (scripts, tests).
//!
//! Which one is chosen once, when the key is made, and `crm.key` says so.
//! A process asks for the passphrase once: what it unlocked is remembered
//! for the process's lifetime (the app is one process for a whole working
//! session; each `crm` command is one too, and reads `CRM_PASSPHRASE` or
//! asks at the terminal).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::{ClientError, Result};

/// The file beside the store that holds its sealed key.
pub const KEY_FILE: &str = "crm.key";
/// Where scripts and tests give the passphrase.
pub const PASSPHRASE_ENV: &str = "CRM_PASSPHRASE";
/// The shortest passphrase accepted for a new key.
pub const MIN_PASSPHRASE: usize = 8;

// Argon2id at OWASP's first recommended setting: 19 MiB, 2 passes. About
// 30 ms once per process on a laptop; an attacker with the disk pays it
// for every guess.
const KDF_MEMORY_KIB: u32 = 19 * 1024;
const KDF_PASSES: u32 = 2;

/// The store's 256-bit key. Zeroed when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    fn random() -> Result<StoreKey> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| ClientError::Key(format!("无法生成密钥:{e}")))?;
        Ok(StoreKey(k))
    }

    /// The `PRAGMA key` value: a raw key in SQLCipher's `x'…'` form.
    pub fn pragma(&self) -> String {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        format!("\"x'{hex}'\"")
    }
}

impl Drop for StoreKey {
    fn drop(&mut self) {
        self.0 = [0; 32];
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(…)")
    }
}

/// What the store key is sealed under.
#[derive(Serialize, Deserialize, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Wrapping {
    /// A key derived from the passphrase (files written before the
    /// keychain say nothing, and are these).
    #[default]
    Passphrase,
    /// A random key in the operating system's keychain.
    Keychain,
}

impl Wrapping {
    /// Where the key is kept, as `crm status` says it.
    pub fn label(self) -> &'static str {
        match self {
            Wrapping::Passphrase => "本机数据密码",
            Wrapping::Keychain => "系统钥匙串",
        }
    }
}

/// `crm.key`: the store key, sealed.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    #[serde(default)]
    wrapped: Wrapping,
    // The passphrase's derivation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kdf: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    memory_kib: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    passes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
    // The keychain entry: the data directory where the key was made, kept
    // here so a directory moved later still finds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    nonce: String,
    sealed: String,
}

/// Keys unlocked in this process, by data directory, and the wrapping
/// keys derived, by salt and passphrase digest (so copies of one store
/// cost one derivation).
#[derive(Default)]
struct Unlocked {
    keys: HashMap<PathBuf, StoreKey>,
    wraps: Vec<([u8; 16], [u8; 32], StoreKey)>,
}

fn unlocked() -> std::sync::MutexGuard<'static, Unlocked> {
    static U: OnceLock<Mutex<Unlocked>> = OnceLock::new();
    U.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn dir_id(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Whether `dir` holds a sealed key.
pub fn exists(dir: &Path) -> bool {
    dir.join(KEY_FILE).exists()
}

/// The key of `dir` if this process has unlocked it.
pub fn remembered(dir: &Path) -> Option<StoreKey> {
    unlocked().keys.get(&dir_id(dir)).cloned()
}

fn remember(dir: &Path, key: &StoreKey) {
    unlocked().keys.insert(dir_id(dir), key.clone());
}

/// Forgets what this process unlocked for `dir`.
pub fn forget(dir: &Path) {
    unlocked().keys.remove(&dir_id(dir));
}

fn wrapping_key(
    passphrase: &str,
    salt: &[u8; 16],
    memory_kib: u32,
    passes: u32,
) -> Result<StoreKey> {
    let digest: [u8; 32] = sha2::Sha256::digest(passphrase.as_bytes()).into();
    if let Some((_, _, k)) = unlocked()
        .wraps
        .iter()
        .find(|(s, d, _)| s == salt && *d == digest)
    {
        return Ok(k.clone());
    }
    let params = argon2::Params::new(memory_kib, passes, 1, Some(32))
        .map_err(|e| ClientError::Key(format!("密钥文件参数无效:{e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut out)
        .map_err(|e| ClientError::Key(format!("无法由密码生成密钥:{e}")))?;
    let k = StoreKey(out);
    unlocked().wraps.push((*salt, digest, k.clone()));
    Ok(k)
}

/// Makes a new store key for `dir`, sealed under `passphrase`, and
/// remembers it. The key file is written whole or not at all.
pub fn create(dir: &Path, passphrase: &str) -> Result<StoreKey> {
    check_new_passphrase(passphrase)?;
    std::fs::create_dir_all(dir)?;
    // Reuse a salt this process already derived for the same passphrase:
    // a laptop's stores share one derivation (tests and the simulator
    // make many stores).
    let digest: [u8; 32] = sha2::Sha256::digest(passphrase.as_bytes()).into();
    let known = unlocked()
        .wraps
        .iter()
        .find(|(_, d, _)| *d == digest)
        .map(|(s, _, _)| *s);
    let salt = match known {
        Some(s) => s,
        None => {
            let mut s = [0u8; 16];
            getrandom::fill(&mut s).map_err(|e| ClientError::Key(format!("无法生成密钥:{e}")))?;
            s
        }
    };
    let wrap = wrapping_key(passphrase, &salt, KDF_MEMORY_KIB, KDF_PASSES)?;
    let key = StoreKey::random()?;
    let (nonce, sealed) = seal(&wrap, &key)?;
    let file = KeyFile {
        version: 1,
        wrapped: Wrapping::Passphrase,
        kdf: Some("argon2id".into()),
        memory_kib: Some(KDF_MEMORY_KIB),
        passes: Some(KDF_PASSES),
        salt: Some(b64().encode(salt)),
        account: None,
        nonce,
        sealed,
    };
    write_key_file(dir, &file)?;
    remember(dir, &key);
    Ok(key)
}

/// Makes a new store key for `dir`, sealed under a random key kept in the
/// operating system's keychain, and remembers it.
pub fn create_in_keychain(dir: &Path) -> Result<StoreKey> {
    std::fs::create_dir_all(dir)?;
    let account = dir_id(dir).to_string_lossy().into_owned();
    let wrap = StoreKey::random()?;
    if let Err(e) = crate::keychain::store(&account, &wrap.0) {
        crate::keychain::distrust();
        return Err(ClientError::Key(format!(
            "无法把本机资料的密钥存入系统钥匙串({e}),未做任何改动;请重试,将改用本机数据密码"
        )));
    }
    let key = StoreKey::random()?;
    let (nonce, sealed) = seal(&wrap, &key)?;
    let file = KeyFile {
        version: 1,
        wrapped: Wrapping::Keychain,
        kdf: None,
        memory_kib: None,
        passes: None,
        salt: None,
        account: Some(account),
        nonce,
        sealed,
    };
    write_key_file(dir, &file)?;
    remember(dir, &key);
    Ok(key)
}

fn seal(wrap: &StoreKey, key: &StoreKey) -> Result<(String, String)> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| ClientError::Key(format!("无法生成密钥:{e}")))?;
    let sealed = ChaCha20Poly1305::new((&wrap.0).into())
        .encrypt(Nonce::from_slice(&nonce), key.0.as_slice())
        .map_err(|_| ClientError::Key("无法封存密钥".into()))?;
    Ok((b64().encode(nonce), b64().encode(sealed)))
}

fn write_key_file(dir: &Path, file: &KeyFile) -> Result<()> {
    write_private(
        &dir.join(KEY_FILE),
        &serde_json::to_vec_pretty(file).expect("serialises"),
    )?;
    Ok(())
}

fn damaged(dir: &Path, what: &str) -> ClientError {
    ClientError::Key(format!(
        "密钥文件 {} 已损坏({what})",
        dir.join(KEY_FILE).display()
    ))
}

fn read_key_file(dir: &Path) -> Result<KeyFile> {
    let text = std::fs::read(dir.join(KEY_FILE))?;
    let file: KeyFile = serde_json::from_slice(&text).map_err(|_| damaged(dir, "格式"))?;
    if file.version != 1 {
        return Err(damaged(dir, "版本"));
    }
    Ok(file)
}

/// What the key of `dir` is sealed under; `None` without a readable
/// key file.
pub fn wrapping(dir: &Path) -> Option<Wrapping> {
    read_key_file(dir).ok().map(|f| f.wrapped)
}

/// Opens the sealed key of `dir` and remembers it: with `passphrase`, or
/// from the keychain if that is where its wrapping key is (the passphrase
/// is then not used). A wrong passphrase is
/// [`ClientError::WrongPassphrase`]; nothing changes.
pub fn open(dir: &Path, passphrase: &str) -> Result<StoreKey> {
    let file = read_key_file(dir)?;
    match file.wrapped {
        Wrapping::Passphrase => open_with_passphrase(dir, &file, passphrase),
        Wrapping::Keychain => open_from_keychain(dir, &file),
    }
}

fn open_with_passphrase(dir: &Path, file: &KeyFile, passphrase: &str) -> Result<StoreKey> {
    let damaged = |what: &str| damaged(dir, what);
    if file.kdf.as_deref() != Some("argon2id") {
        return Err(damaged("版本"));
    }
    let (Some(salt), Some(memory_kib), Some(passes)) = (&file.salt, file.memory_kib, file.passes)
    else {
        return Err(damaged("格式"));
    };
    let salt: [u8; 16] = b64()
        .decode(salt)
        .map_err(|_| damaged("编码"))?
        .try_into()
        .map_err(|_| damaged("盐"))?;
    let wrap = wrapping_key(passphrase, &salt, memory_kib, passes)?;
    let key = unseal(dir, file, &wrap)?.ok_or(ClientError::WrongPassphrase)?;
    remember(dir, &key);
    Ok(key)
}

fn open_from_keychain(dir: &Path, file: &KeyFile) -> Result<StoreKey> {
    let account = file
        .account
        .as_deref()
        .ok_or_else(|| damaged(dir, "格式"))?;
    let shown = dir_id(dir);
    let secret = crate::keychain::load(account)
        .map_err(|e| ClientError::KeychainUnreachable(e.to_string()))?
        .ok_or_else(|| ClientError::KeychainMissing(shown.clone()))?;
    let wrap = StoreKey(
        secret
            .try_into()
            .map_err(|_| ClientError::KeychainMissing(shown.clone()))?,
    );
    // Another key under this entry (the directory's key made anew
    // elsewhere) opens nothing here, just as no key does.
    let key = unseal(dir, file, &wrap)?.ok_or(ClientError::KeychainMissing(shown))?;
    remember(dir, &key);
    Ok(key)
}

/// The store key in `file` opened with `wrap`; `None` when `wrap` is not
/// the key it was sealed under.
fn unseal(dir: &Path, file: &KeyFile, wrap: &StoreKey) -> Result<Option<StoreKey>> {
    let bytes = |s: &str| b64().decode(s).map_err(|_| damaged(dir, "编码"));
    let nonce = bytes(&file.nonce)?;
    if nonce.len() != 12 {
        return Err(damaged(dir, "随机数"));
    }
    let Ok(plain) = ChaCha20Poly1305::new((&wrap.0).into())
        .decrypt(Nonce::from_slice(&nonce), bytes(&file.sealed)?.as_slice())
    else {
        return Ok(None);
    };
    let key = plain.try_into().map_err(|_| damaged(dir, "长度"))?;
    Ok(Some(StoreKey(key)))
}

/// Destroys the key of `dir`: its file is overwritten, then removed, and
/// its keychain entry deleted. The store file is unreadable from then on,
/// whatever copy of it remains.
pub fn destroy(dir: &Path) -> std::io::Result<()> {
    forget(dir);
    let entry = read_key_file(dir)
        .ok()
        .filter(|f| f.wrapped == Wrapping::Keychain)
        .and_then(|f| f.account);
    let path = dir.join(KEY_FILE);
    if let Ok(len) = std::fs::metadata(&path).map(|m| m.len()) {
        let mut f = std::fs::OpenOptions::new().write(true).open(&path)?;
        f.write_all(&vec![0u8; len as usize])?;
        f.sync_all()?;
        std::fs::remove_file(&path)?;
    }
    if let Some(account) = entry {
        // With the file gone the entry opens nothing, so a keychain that
        // cannot be reached now does not hold up the revocation.
        let _ = crate::keychain::delete(&account);
    }
    Ok(())
}

static NEVER_ASK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// This process never asks at the terminal (the app: it asks on a page).
pub fn never_ask() {
    NEVER_ASK.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `CRM_PASSPHRASE` gives a passphrase: a new key is then sealed
/// under it rather than kept in the keychain.
pub fn passphrase_given() -> bool {
    std::env::var(PASSPHRASE_ENV).is_ok_and(|p| !p.is_empty())
}

/// The passphrase `CRM_PASSPHRASE` gives; `None` when the terminal is to
/// be asked, an error when it is not set and this process never asks.
fn given() -> Result<Option<String>> {
    match std::env::var(PASSPHRASE_ENV) {
        Ok(p) if !p.is_empty() => Ok(Some(p)),
        _ if NEVER_ASK.load(std::sync::atomic::Ordering::Relaxed) => {
            Err(ClientError::NeedPassphrase)
        }
        _ => Ok(None),
    }
}

/// The key of `dir`: remembered by this process, else opened from the
/// keychain, or with `CRM_PASSPHRASE` or a passphrase typed at the
/// terminal, as its key file says.
pub fn unlock(dir: &Path) -> Result<StoreKey> {
    if let Some(k) = remembered(dir) {
        return Ok(k);
    }
    let file = read_key_file(dir)?;
    if file.wrapped == Wrapping::Keychain {
        return open_from_keychain(dir, &file);
    }
    let passphrase = match given()? {
        Some(p) => p,
        None => crm_usage::password::read_var(PASSPHRASE_ENV, "本机数据密码:")?
            .ok_or(ClientError::NeedPassphrase)?,
    };
    open_with_passphrase(dir, &file, &passphrase)
}

/// A new key for `dir`: sealed under `CRM_PASSPHRASE` if it is set, else
/// kept in the keychain if there is one, else sealed under a passphrase
/// typed twice at the terminal; `why` tells the person why they are asked.
pub fn create_asking(dir: &Path, why: &str) -> Result<StoreKey> {
    if let Some(k) = remembered(dir) {
        return Ok(k);
    }
    if !passphrase_given() && crate::keychain::works() {
        return create_in_keychain(dir);
    }
    let passphrase = match given()? {
        Some(p) => p,
        None => {
            use crm_usage::password::{read_new, NewPassword};
            use std::io::IsTerminal;
            // Without a terminal nothing is asked: the error says how.
            if std::io::stdin().is_terminal() {
                eprintln!("{why}");
            }
            match read_new(
                false,
                PASSPHRASE_ENV,
                "设置本机数据密码(至少 8 个字符):",
                "再输入一次:",
            )? {
                NewPassword::Given(p) => p,
                NewPassword::Mismatch => {
                    return Err(ClientError::Key("两次输入的本机数据密码不一致".into()))
                }
                NewPassword::Missing => return Err(ClientError::NeedNewPassphrase),
            }
        }
    };
    create(dir, &passphrase)
}

/// What a new passphrase must be.
pub fn check_new_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.chars().count() < MIN_PASSPHRASE {
        return Err(ClientError::Key(format!(
            "本机数据密码至少 {MIN_PASSPHRASE} 个字符(可用一句好记的话)"
        )));
    }
    Ok(())
}

/// Writes `bytes` to `path` readable by this user only, whole or not at all.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("key.new");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_opens_with_its_passphrase_only() {
        let dir = tempfile::tempdir().unwrap();
        let made = create(dir.path(), "正确的本机数据密码").unwrap();
        forget(dir.path());
        assert!(matches!(
            open(dir.path(), "错误的本机数据密码"),
            Err(ClientError::WrongPassphrase)
        ));
        assert_eq!(open(dir.path(), "正确的本机数据密码").unwrap(), made);
        destroy(dir.path()).unwrap();
        assert!(!exists(dir.path()));
        assert!(remembered(dir.path()).is_none());
    }

    #[test]
    fn a_key_file_from_before_the_keychain_is_a_passphrase_file() {
        let dir = tempfile::tempdir().unwrap();
        let made = create(dir.path(), "正确的本机数据密码").unwrap();
        let path = dir.path().join(KEY_FILE);
        let mut file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(file["wrapped"], "passphrase");
        file.as_object_mut().unwrap().remove("wrapped");
        std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        forget(dir.path());
        assert_eq!(wrapping(dir.path()), Some(Wrapping::Passphrase));
        assert_eq!(open(dir.path(), "正确的本机数据密码").unwrap(), made);
    }
}
