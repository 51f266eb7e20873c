//! Who is asking, and why the server's services say no.
//!
//! Every service of the server (sync, head office's archive work, the
//! business rules, spreadsheets, the admin commands) is called with a
//! [`Caller`] and answers a [`ServiceError`]. None of them knows HTTP: the
//! one mapping to a status is `crate::error`, for the API and the console
//! alike.

use crm_shared::codes::Role;

use crate::db::DbError;

/// Why a service refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller may not do this; nothing was stored.
    #[error("{0}")]
    Forbidden(String),
    /// The request is malformed; nothing was stored.
    #[error("{0}")]
    BadRequest(String),
    /// No such customer (or none the caller may see).
    #[error("{0}")]
    NotFound(String),
    /// Pushed changes reuse sequence numbers of different changes held
    /// here: the laptop's store went back in time (see `crm_shared::rebase`).
    #[error("{0}")]
    Clash(String),
    /// The store failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for ServiceError {
    fn from(e: rusqlite::Error) -> Self {
        ServiceError::Db(e.into())
    }
}

/// Who is calling a service: their login, role and device.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Login.
    pub login: String,
    /// Role.
    pub role: Role,
    /// Device id (the laptop, or the console session).
    pub device_id: String,
}
