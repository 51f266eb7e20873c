//! Logging: the subscriber the binary installs, and one span per request.
//!
//! Spans are named by the *matched route* (`/api/v1/login`), never the raw
//! path: paths may carry ids, and a route is what an operator groups by.
//! Health checks (`/status`) log at DEBUG so they do not drown real traffic.
//! The authenticated login and device are recorded on the span by the
//! `Auth` extractor. A failed request is logged here and only here: the
//! error's code and cause arrive as a [`Failure`] on the response.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::error::Failure;

/// Routes polled by monitors; their requests log at DEBUG.
const QUIET_ROUTES: &[&str] = &["/status"];

/// Installs a stderr subscriber. `RUST_LOG` (or `CRM_LOG`) overrides
/// `default_filter`, e.g. `crm_server=debug`.
pub fn init(default_filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("CRM_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Middleware: one span per request, keyed by route; logs status and time.
pub async fn trace_request(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("<unmatched>", MatchedPath::as_str)
        .to_owned();
    let method = req.method().clone();
    let quiet = QUIET_ROUTES.contains(&route.as_str());
    let span = if quiet {
        tracing::debug_span!("request", %method, route, login = tracing::field::Empty, device = tracing::field::Empty)
    } else {
        tracing::info_span!("request", %method, route, login = tracing::field::Empty, device = tracing::field::Empty)
    };
    let started = Instant::now();
    let response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let failure = response.extensions().get::<Failure>();
    let code = failure.map(|f| f.code);
    let cause = failure.map(|f| f.cause.as_str());
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, ms, code, cause, "完成");
        } else if quiet {
            tracing::debug!(status, ms, code, "完成");
        } else {
            tracing::info!(status, ms, code, cause, "完成");
        }
    });
    response
}
