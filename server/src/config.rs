//! What the server is told at start: where its data lives, where it listens,
//! how it does TLS, and its limits.
//!
//! The binary fills [`ServerConfig`] from flags and `CRM_*` environment
//! variables (clap does the precedence: flag, then variable, then default);
//! the library never reads the environment itself.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Default listen address: loopback only, until an operator says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./crm-data";
/// Default largest request body: 32 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Default most connections served at once; more wait in the accept queue.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Everything `crm-server serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The data directory (database, generated certificate).
    pub data_dir: DataDir,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// How to secure connections.
    pub tls: TlsMode,
    /// Request and connection limits.
    pub limits: Limits,
}

/// How the server secures connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// HTTPS with a self-signed certificate kept in the data directory,
    /// generated on first start (the default).
    SelfSigned,
    /// HTTPS with an operator's certificate chain and private key (PEM).
    Files {
        /// Certificate chain, leaf first.
        cert: PathBuf,
        /// Private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// Plain HTTP, for tests on loopback only (`--insecure-plain-http`).
    PlainHttp,
}

/// Bounds on what one client can make the server hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body in bytes; larger ones get 413 `payload_too_large`.
    pub body_limit: usize,
    /// Most connections served at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_limit: DEFAULT_BODY_LIMIT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

pub use crate::db::DataDir;
