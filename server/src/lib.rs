//! `crm-server`: the head-office server that laptops sync with.
//!
//! A library first, so tests (and the binary) start it the same way:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use crm_server::{config::{DataDir, Limits}, db::Db, serve, AppState};
//! let data = DataDir::new("./crm-data");
//! data.create()?;
//! let state = AppState::new(Db::open(&data.db_path()).await?, Limits::default());
//! let tls = crm_server::tls::TlsConfig::self_signed(&data)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! serve(listener, state, Some(tls), std::future::pending()).await?;
//! # Ok(()) }
//! ```
//!
//! Code map (each module's docs say why it exists):
//!
//! - [`serve()`](serve::serve): accept loop, TLS handshakes, connection limit, graceful stop.
//! - [`routes`]: the HTTP API, assembled by [`router`], and its common layers
//!   (security headers, body limit, panic-to-500, request log).
//! - [`console`]: the head-office web console (HTML pages under `/console`).
//! - [`auth`]: login, device tokens, the [`Auth`] extractor; [`credentials`]:
//!   password hashing; [`sign_in`]: failed-attempt throttling and locks;
//!   [`password_rule`]: what a new password must be.
//! - [`caller`]: who asks ([`caller::Caller`]) and what a service refuses
//!   ([`caller::ServiceError`]) — the services below know nothing of HTTP.
//! - [`sync`]: the sync engine (group commit, per-document verdicts, answers,
//!   the cache of hot documents), held by [`AppState`].
//! - [`archive`]: cards, conflicts, imports; [`rules`]: business rules over
//!   the whole archive (credit approval, grading, warnings, reports, reviews);
//!   [`salespeople`]: what a person typed as 业务员, resolved to a login.
//! - [`sheets`]: Excel/CSV import (plan, duplicates, one-transaction commit)
//!   and export, for the console and the `sheet`/`export` commands.
//! - [`backup`]: what a backup node pulls, its lag, zero-loss acknowledgement.
//! - [`audit`]: who looked at or exported what (the access log).
//! - [`db`] (the `crm-server-db` crate): all SQL, the migrations, the async
//!   [`Db`] handle, and the writer a backup restores into.
//! - [`error`]: [`AppError`], the one error → HTTP status mapping;
//!   [`extract`]: extractors whose rejections are [`AppError`]s.
//! - [`admin`]: `crm-server user …` / `device …` / `audit …` commands.
//! - [`seal`]: the server's own changes, signed as no laptop can.
//! - [`state`], [`config`], [`tls`], [`telemetry`], [`clock`]: plumbing.
//!
//! **Architecture Invariant:** the domain rules (document schema, merging,
//! validation) live in `crm-shared`; this crate does IO and access control.
//! **API Boundary:** the wire types are `crm_shared::api`; error bodies are
//! always `ErrorBody` with a code from `crm_shared::api::error_code`.

pub mod admin;
pub mod archive;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod caller;
pub mod clock;
pub mod complaints;
pub mod config;
pub mod console;
pub mod credentials;
pub use crm_server_db as db;
pub mod entries;
pub mod error;
pub mod extract;
pub mod password_rule;
pub mod routes;
pub mod rules;
pub mod salespeople;
pub mod seal;
pub mod serve;
pub mod sheets;
pub mod sign_in;
pub mod state;
pub mod sync;
pub mod telemetry;
pub mod tls;

pub use auth::Auth;
pub use db::Db;
pub use error::AppError;
pub use routes::router;
pub use serve::serve;
pub use state::AppState;
pub use tls::TlsConfig;
