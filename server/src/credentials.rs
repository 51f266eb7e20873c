//! Secrets, made and checked: argon2id password hashes and device tokens.
//! A leaf: it knows nothing of HTTP, sessions or the database's queries.
//!
//! Password hashing is deliberately slow and memory-hungry, so it runs on
//! blocking threads and at most [`HASH_SLOTS`] at a time (two hundred laptops
//! signing in at once must not take the server's memory), and a check waits
//! at most [`HASH_WAIT`] for a slot (a flood of guesses must not queue work
//! without end). Tokens are 32 random bytes; only their SHA-256 is stored, so
//! a copy of the database does not let anyone sync as a laptop.

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::db::PasswordHash;
use crate::password_rule;

/// Password hashes computed at the same time, at most.
const HASH_SLOTS: usize = 2;
static HASHING: Semaphore = Semaphore::const_new(HASH_SLOTS);

/// How long a check waits for a free hashing slot before saying busy.
const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Longest password accepted; longer ones are refused before hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Making or checking a secret failed.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// Every hashing slot stayed taken: try again later.
    #[error("服务器忙,请稍后再试")]
    Busy,
    /// The system's random source or a hashing thread failed.
    #[error("无法计算密码散列:{0}")]
    Failed(String),
}

/// Hashes `password` with a fresh salt, on a blocking thread.
pub async fn hash_password(password: String) -> Result<PasswordHash, CredentialError> {
    let _slot = HASHING
        .acquire()
        .await
        .map_err(|e| CredentialError::Failed(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| PasswordHash::from_stored(h.to_string()))
            .map_err(|e| CredentialError::Failed(e.to_string()))
    })
    .await
    .map_err(|e| CredentialError::Failed(e.to_string()))?
}

/// Checks `password` against `hash` on a blocking thread. A malformed
/// stored hash counts as a mismatch (and is logged).
pub async fn verify_password(
    hash: PasswordHash,
    password: String,
) -> Result<bool, CredentialError> {
    verify_within(HASH_WAIT, hash, password).await
}

/// [`verify_password`], waiting at most `wait` for a hashing slot.
async fn verify_within(
    wait: std::time::Duration,
    hash: PasswordHash,
    password: String,
) -> Result<bool, CredentialError> {
    let _slot = tokio::time::timeout(wait, HASHING.acquire())
        .await
        .map_err(|_| CredentialError::Busy)?
        .map_err(|e| CredentialError::Failed(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        match Argon2::default().verify_password(password.as_bytes(), hash.as_str()) {
            Ok(()) => true,
            Err(argon2::password_hash::Error::PasswordInvalid) => false,
            Err(e) => {
                tracing::error!(error = %e, "数据库中的密码散列无法解析");
                false
            }
        }
    })
    .await
    .map_err(|e| CredentialError::Failed(e.to_string()))
}

/// A hash of a random password, to verify against when the login is
/// unknown: the answer then takes as long as for a real user, so its delay
/// does not tell which logins exist.
pub async fn dummy_hash() -> Result<PasswordHash, CredentialError> {
    static DUMMY: OnceLock<PasswordHash> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash.clone());
    }
    let hash = hash_password(new_token()?).await?;
    Ok(DUMMY.get_or_init(|| hash).clone())
}

/// Checks a new password for `login` against the rule
/// ([`password_rule`]); the error is for people.
pub fn check_new_password(login: &str, password: &str) -> Result<(), String> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!("密码不能超过 {MAX_PASSWORD_BYTES} 字节"));
    }
    match password_rule::why_not(login, password) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// SHA-256 of a bearer token: what the database stores and looks up.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A fresh bearer token: 32 random bytes, base64url without padding.
pub fn new_token() -> Result<String, CredentialError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| CredentialError::Failed(format!("getrandom: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn password_hash_verifies_only_the_same_password() {
        let hash = hash_password("正确的密码123".into()).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(!format!("{hash:?}").contains("argon2"));
        assert!(verify_password(hash.clone(), "正确的密码123".into())
            .await
            .unwrap());
        assert!(!verify_password(hash, "错误的密码123".into()).await.unwrap());
    }

    #[tokio::test]
    async fn a_check_with_every_slot_taken_says_busy() {
        let _taken = HASHING.acquire_many(HASH_SLOTS as u32).await.unwrap();
        let hash = PasswordHash::from_stored("$argon2id$not-reached".into());
        let answer = verify_within(std::time::Duration::ZERO, hash, "随便".into()).await;
        assert!(matches!(answer, Err(CredentialError::Busy)), "{answer:?}");
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
