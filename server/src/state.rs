//! What every handler can reach: the database and the limits.
//!
//! Handlers take `State<AppState>`; extractors get it through `FromRef`.
//! Add shared resources (a document cache, say) as new fields here, built in
//! [`AppState::new`] or by the caller.

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
    /// Request and connection limits.
    pub limits: Limits,
    /// The backup node's progress, and zero-loss mode.
    pub backup: Arc<BackupHub>,
    /// Each device's last sync since the server started, for the console.
    pub syncs: Arc<Mutex<HashMap<uuid::Uuid, DeviceSync>>>,
    /// Spreadsheets uploaded to the console, kept between dry run and import.
    pub uploads: Arc<Mutex<HashMap<String, Upload>>>,
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

impl AppState {
    /// State over an open database, with the given limits.
    pub fn new(db: Db, limits: Limits) -> AppState {
        AppState {
            db,
            limits,
            backup: Arc::new(BackupHub::default()),
            syncs: Arc::default(),
            uploads: Arc::default(),
        }
    }

    /// The same state with this backup hub (zero-loss mode, files to back up).
    pub fn with_backup(mut self, hub: BackupHub) -> AppState {
        self.backup = Arc::new(hub);
        self
    }
}
