//! What every handler can reach: the database, the limits, and the little
//! state the server keeps in memory between requests.
//!
//! Handlers take `State<AppState>`; extractors get it through `FromRef`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::backup::BackupHub;
use crate::config::Limits;
use crate::db::Db;

/// Shared state of the HTTP server; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The server's store.
    pub db: Db,
    /// The sync engine: pushes waiting for the writer, documents kept loaded.
    pub sync: crate::sync::SyncEngine,
    /// Request and connection limits.
    pub limits: Limits,
    /// The backup node's progress, and zero-loss mode.
    pub backup: Arc<BackupHub>,
    /// Each device's last sync since the server started, for the console.
    pub syncs: Arc<Mutex<HashMap<uuid::Uuid, DeviceSync>>>,
    /// Spreadsheets uploaded to the console, kept between dry run and import.
    pub uploads: Arc<Uploads>,
    /// Time as the sign-in rules see it (tests move it on).
    pub clock: crate::clock::Clock,
    /// Failed sign-ins per client address.
    pub sign_ins: Arc<crate::sign_in::AddressThrottle>,
}

/// A device's last sync as this server process saw it. Kept in memory
/// only: writing it on every sync would cost the single writer, and after
/// a restart each device reports again on its next sync.
#[derive(Debug, Clone, Copy)]
pub struct DeviceSync {
    /// When (ms).
    pub at: i64,
    /// The log position the device has received everything up to.
    pub cursor: u64,
    /// Documents it pushed in that sync.
    pub pushed: usize,
    /// Pushed documents not acknowledged yet (zero-loss mode).
    pub unconfirmed: usize,
}

/// An uploaded spreadsheet waiting for the person to confirm the import.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Who uploaded it (only they may import it).
    pub login: String,
    /// File name as uploaded.
    pub file_name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// When (ms); old uploads are dropped.
    pub at: i64,
}

/// The uploads waiting for their import, each only for its uploader.
///
/// Bounded per person rather than overall, so one busy clerk can never lock
/// everyone else out: each person keeps at most [`Uploads::PER_USER`]
/// plans (a new one pushes out their own oldest), each for at most
/// [`Uploads::TTL_MS`]. Only head office may upload, so the whole store is
/// bounded by the number of their accounts times the body limit.
#[derive(Debug, Default)]
pub struct Uploads {
    waiting: Mutex<HashMap<String, Upload>>,
}

impl Uploads {
    /// Plans one person may have waiting at once.
    pub const PER_USER: usize = 4;
    /// Age (ms) after which a plan is dropped.
    pub const TTL_MS: i64 = 3_600_000;

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Upload>> {
        // A panic while holding the lock leaves only a map of whole entries.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `upload` and returns its id, dropping expired plans and, if the
    /// uploader already has [`Uploads::PER_USER`], their oldest ones.
    pub fn put(&self, upload: Upload) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut waiting = self.lock();
        let now = upload.at;
        waiting.retain(|_, u| now - u.at < Self::TTL_MS);
        let mut theirs: Vec<(i64, String)> = waiting
            .iter()
            .filter(|(_, u)| u.login == upload.login)
            .map(|(k, u)| (u.at, k.clone()))
            .collect();
        theirs.sort();
        let excess = (theirs.len() + 1).saturating_sub(Self::PER_USER);
        for (_, old) in theirs.into_iter().take(excess) {
            waiting.remove(&old);
        }
        waiting.insert(id.clone(), upload);
        id
    }

    /// The plan `id` if it belongs to `login` and has not expired by `now`.
    pub fn get(&self, id: &str, login: &str, now: i64) -> Option<Upload> {
        self.lock()
            .get(id)
            .filter(|u| u.login == login && now - u.at < Self::TTL_MS)
            .cloned()
    }

    /// Forgets the plan `id` (it was imported).
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// How many plans wait, in all.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no plan waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl AppState {
    /// State over an open database, with the given limits.
    pub fn new(db: Db, limits: Limits) -> AppState {
        AppState {
            sync: crate::sync::SyncEngine::new(db.clone()),
            db,
            limits,
            backup: Arc::new(BackupHub::default()),
            syncs: Arc::default(),
            uploads: Arc::default(),
            clock: crate::clock::Clock::default(),
            sign_ins: Arc::default(),
        }
    }

    /// The same state with this backup hub (zero-loss mode, files to back up).
    pub fn with_backup(mut self, hub: BackupHub) -> AppState {
        self.backup = Arc::new(hub);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(login: &str, at: i64) -> Upload {
        Upload {
            login: login.into(),
            file_name: format!("{login}-{at}.csv"),
            bytes: vec![],
            at,
        }
    }

    #[test]
    fn each_person_keeps_their_newest_plans_and_others_are_untouched() {
        let u = Uploads::default();
        let wangs = u.put(upload("wang", 0));
        let mut lis = Vec::new();
        for at in 1..=40 {
            lis.push(u.put(upload("li", at)));
        }
        assert_eq!(u.len(), 1 + Uploads::PER_USER);
        assert!(u.get(&wangs, "wang", 41).is_some(), "another's plan stays");
        assert!(u.get(&lis[0], "li", 41).is_none(), "the oldest went");
        for id in &lis[40 - Uploads::PER_USER..] {
            assert!(u.get(id, "li", 41).is_some());
        }
        assert!(
            u.get(&lis[39], "wang", 41).is_none(),
            "only for its uploader"
        );
    }

    #[test]
    fn plans_expire() {
        let u = Uploads::default();
        let id = u.put(upload("wang", 0));
        assert!(u.get(&id, "wang", Uploads::TTL_MS - 1).is_some());
        assert!(u.get(&id, "wang", Uploads::TTL_MS).is_none());
        u.put(upload("li", Uploads::TTL_MS));
        assert_eq!(u.len(), 1, "expired plans are dropped on the next upload");
    }
}
