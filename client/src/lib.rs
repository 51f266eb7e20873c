//! The laptop side of the customer archive: the local store and the
//! commands of the `crm` CLI.
//!
//! - [`store`]: documents + projection in one SQLite file (SQL in [`db`]).
//! - [`aside`]: customers sync set aside, and what is to be done about each.
//! - [`import`]: JSON Lines import in checked, batched transactions.
//! - [`error`]: the one error type.
//! - [`net`]: the HTTPS client for `crm-server` (crate `crm-net`, shared
//!   with the backup node).
//! - [`session`]: `crm login`: the server, its trust and this device's token.

pub mod app;
pub mod aside;
pub mod clock;
pub mod db;
pub mod error;
pub mod import;
pub mod key;
pub mod keychain;
pub mod lock;
pub use crm_net as net;
pub mod session;
pub mod store;
pub mod sync;

pub use error::{ClientError, Result};
pub use store::Store;
pub mod cli;
pub mod record;
pub mod render;
pub mod usage;
