//! What every handler can reach: the database and the limits.
//!
//! Handlers take `State<AppState>`; extractors get it through `FromRef`.
//! Add shared resources (a document cache, say) as new fields here, built in
//! [`AppState::new`] or by the caller.

use crate::config::Limits;
use crate::db::Db;

/// Shared state of the HTTP server; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The server's store.
    pub db: Db,
    /// Request and connection limits.
    pub limits: Limits,
}

impl AppState {
    /// State over an open database, with the given limits.
    pub fn new(db: Db, limits: Limits) -> AppState {
        AppState { db, limits }
    }
}
