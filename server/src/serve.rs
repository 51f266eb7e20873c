//! The accept loop: connections in, requests to the router, clean stop.
//!
//! Written out (rather than `axum::serve`) because it does three things in one
//! place for plain and TLS connections alike: it bounds how many connections
//! are served at once (a semaphore, as in mini-redis), it runs each TLS
//! handshake in the connection's own task with a timeout (a slow client never
//! holds up `accept`), and on shutdown it stops accepting, lets requests in
//! flight finish, and closes idle keep-alive connections.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::routes::router;
use crate::state::AppState;
use crate::tls::TlsConfig;

/// A TLS handshake must finish within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's headers must arrive within this (slow-loris guard).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// After shutdown is asked for, requests in flight get this long to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves the API on `listener` until `shutdown` completes, then drains.
///
/// With `tls` the server speaks HTTPS only; with `None`, plain HTTP (the
/// binary allows that only with `--insecure-plain-http`). Tests bind
/// `127.0.0.1:0`, read `listener.local_addr()`, and pass a oneshot receiver
/// as `shutdown`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    tls: Option<TlsConfig>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(state.limits.max_connections.max(1)));
    let keeper = tokio::spawn(crate::rules::keep_grades_current(state.db.clone()));
    let mut app = router(state);
    if tls.is_some() {
        // Over HTTPS, browsers are told never to try this server in plain
        // HTTP, where a network in between could read or change the pages.
        app = app.layer(axum::middleware::map_response(
            |mut r: axum::response::Response| async move {
                r.headers_mut().insert(
                    axum::http::header::STRICT_TRANSPORT_SECURITY,
                    axum::http::HeaderValue::from_static("max-age=31536000"),
                );
                r
            },
        ));
    }
    let acceptor = tls.as_ref().map(TlsConfig::acceptor);
    let graceful = GracefulShutdown::new();
    tracing::info!(
        addr = %listener.local_addr()?,
        tls = acceptor.is_some(),
        "开始服务"
    );

    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Usually out of file descriptors: back off, keep serving.
                    tracing::warn!(error = %e, "接受连接失败");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            match acceptor {
                None => serve_connection(stream, peer, app, watcher).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => serve_connection(tls, peer, app, watcher).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS 握手失败"),
                        Err(_) => tracing::debug!(%peer, "TLS 握手超时"),
                    }
                }
            }
        });
    }

    drop(listener);
    keeper.abort();
    tracing::info!("停止接受新连接,等待进行中的请求完成");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("已停止"),
        () = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("等待超时,强制停止"),
    }
    Ok(())
}

async fn serve_connection<I>(io: I, peer: SocketAddr, app: axum::Router, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(%peer, error = %e, "连接异常结束");
    }
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM: the binary's shutdown signal.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("收到停止信号");
}
