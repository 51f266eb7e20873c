//! The offline lock: head office sets, in company settings, how many days
//! a laptop may go without reaching the server; past that, its customer
//! data stays on the disk but is not shown or changed until it syncs
//! again (`crm sync`, or 同步 in the app). The rule itself is
//! `Settings::offline_lock`; this is where the laptop applies it.

use crm_shared::settings::OfflineLock;

use crate::clock::now_millis;
use crate::error::{ClientError, Result};
use crate::store::Store;

/// Where this laptop stands with the lock now.
pub fn state(store: &Store) -> Result<OfflineLock> {
    Ok(store
        .settings()?
        .offline_lock(store.last_sync_at()?, now_millis()))
}

/// Refuses when the lock has engaged.
pub fn check(store: &Store) -> Result<()> {
    match state(store)? {
        OfflineLock::Locked { days_since, limit } => {
            Err(ClientError::OfflineLocked { days_since, limit })
        }
        _ => Ok(()),
    }
}

/// One line for people about the lock, if one is set.
pub fn describe(lock: OfflineLock) -> Option<String> {
    match lock {
        OfflineLock::None => None,
        OfflineLock::Open { days_left } => Some(format!(
            "离线锁定:{days_left} 天内须与服务器同步一次,否则本机客户资料将锁定"
        )),
        OfflineLock::Locked { days_since, limit } => {
            Some(ClientError::OfflineLocked { days_since, limit }.to_string())
        }
    }
}
