//! What every handler can reach: the database and the limits.
//!
//! Handlers take `State<AppState>`; extractors get it through `FromRef`.
//! Add shared resources (a document cache, say) as new fields here, built in
//! [`AppState::new`] or by the caller.

use std::sync::Arc;

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
}

impl AppState {
    /// State over an open database, with the given limits.
    pub fn new(db: Db, limits: Limits) -> AppState {
        AppState {
            db,
            limits,
            backup: Arc::new(BackupHub::default()),
        }
    }

    /// The same state with this backup hub (zero-loss mode, files to back up).
    pub fn with_backup(mut self, hub: BackupHub) -> AppState {
        self.backup = Arc::new(hub);
        self
    }
}
