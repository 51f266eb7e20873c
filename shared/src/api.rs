//! Wire types of the HTTP API shared by `crm-server` and the `crm` client.
//! JSON bodies unless stated otherwise.

use serde::{Deserialize, Serialize};

/// Body of every error response: a stable machine code and a Chinese message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code, e.g. `device_revoked`, `forbidden`, `bad_request`.
    pub error: String,
    /// Human-readable Chinese message.
    pub message: String,
}
