//! The HTTPS client for `crm-server`, used by the laptop (`crm`) and the
//! backup node (`crm-backup`) alike.
//!
//! The server usually runs with a self-signed certificate and prints its
//! SHA-256 fingerprint; `crm login --fingerprint` pins it, and every later
//! request accepts exactly that certificate ([`Trust::Fingerprint`]). A
//! server with a certificate from a company CA is trusted through that CA's
//! PEM ([`Trust::CaCert`], normal webpki verification including the host
//! name). Plain `http://` ([`Trust::PlainHttp`]) exists for tests against
//! `crm-server --insecure-plain-http` and is refused for `https://` URLs.
//!
//! reqwest + rustls with the *ring* provider, the same as the server: no
//! OpenSSL, no system trust store, no process-wide crypto default needed.
//!
//! The callers are synchronous. [`Client`] owns a current-thread tokio
//! runtime; [`Client::post`] and [`Client::get`] block on the async
//! [`Client::post_json`] / [`Client::get_json`]. Do not call the blocking
//! methods from inside another tokio runtime (tokio panics on nested
//! `block_on`).
//!
//! Every failure becomes a [`NetError`] whose message is Chinese and tells
//! the person what to do; server error bodies (`crm_shared::api::ErrorBody`)
//! are mapped by their stable code.
//!
//! - [`trust`]: what a server must present (a pinned fingerprint, a CA).
//! - [`error`]: everything talking to a server can fail with.
//! - [`client`]: the connection and its requests.

pub mod client;
pub mod error;
pub mod trust;

pub use client::{normalize_url, presented_fingerprint, Client, CONNECT_TIMEOUT, REQUEST_TIMEOUT};
pub use error::NetError;
pub use trust::{colon_hex, fingerprint_of, normalize_fingerprint, Trust};
