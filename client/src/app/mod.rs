//! `crm ui`: the salesperson's app. The `crm` binary serves it from the
//! local store on 127.0.0.1 and opens it in the default browser; every page
//! works with no connection, and a background worker syncs whenever the
//! server can be reached.
//!
//! - [`guard`]: who may use it (loopback Host only, the launch token traded
//!   for a cookie, Origin and form token on every POST) and the headers
//!   every answer carries;
//! - [`instance`]: one app per data directory (a second `crm ui` opens the
//!   running one);
//! - [`worker`]: sync in the background, and the first sign-in;
//! - [`lock_page`]: the offline lock, shown instead of customer data while
//!   it holds;
//! - [`derived`]: figures that read every card (warnings, reviews due,
//!   the grade preview, today's daily report), computed off the request
//!   path and kept until the data changes;
//! - [`view`]: the shell of every page (navigation, sync status) on
//!   `crm-web`'s shared layout;
//! - one module per page group: [`setup`], [`today`], [`customers`],
//!   [`card`] (the card and every form on it), [`edit`], [`reports`],
//!   [`sync_page`].
//!
//! Pages share one open store ([`warm`]), so its page cache survives
//! between requests instead of every request decrypting what it reads; it
//! is reopened when a sync gave this laptop a new actor (a handle kept
//! open would go on writing under the old one) or the store was replaced.

mod card;
mod customers;
mod derived;
mod edit;
mod form;
mod guard;
mod instance;
mod lock_page;
mod reports;
mod setup;
mod sync_page;
mod today;
mod unlock;
mod view;
mod warm;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::error::{ClientError, Result};

/// What every request handler shares.
pub struct App {
    /// The data directory.
    dir: PathBuf,
    /// Who may use this instance, and how that is checked.
    guard: guard::Keys,
    /// The background sync.
    worker: worker::Worker,
    /// Figures over every card, computed in the background.
    derived: Arc<derived::Derived>,
    /// The store the pages read, kept open between requests.
    warm: Arc<warm::Warm>,
}

/// The shared handle.
pub type Shared = Arc<App>;

impl App {
    /// The store, if this laptop has one, held for this request.
    fn store(&self) -> Result<Option<warm::Held<'_>>> {
        // Writes through other connections call no `changed()`: figures
        // that must be current learn of them here, before a page reads.
        self.warm.get(|| self.derived.stale())
    }

    /// Something was recorded: figures over every card are stale, and the
    /// change should reach the server soon.
    fn changed(&self) {
        self.derived.stale();
        self.worker.sync_soon();
    }
}

/// Runs `crm ui`: serves the app until interrupted. With `open`, the
/// default browser is pointed at it.
pub fn run(dir: &Path, open: bool) -> Result<()> {
    if let Some(url) = instance::running(dir) {
        println!("客户档案已在运行:{url}");
        if open {
            open_browser(&url);
        }
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(serve(dir, open))
}

async fn serve(dir: &Path, open: bool) -> Result<()> {
    // The passphrase is asked for on a page, never at a terminal nobody
    // may be watching.
    crate::key::never_ask();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let keys = guard::Keys::new(port)?;
    let url = format!("http://127.0.0.1:{port}/?t={}", keys.launch_token());
    let derived = Arc::new(derived::Derived::new(dir.to_path_buf()));
    let warm = Arc::new(warm::Warm::new(dir));
    let app = Arc::new(App {
        dir: dir.to_path_buf(),
        guard: keys,
        worker: worker::Worker::start(dir.to_path_buf(), derived.clone(), warm.clone()),
        derived,
        warm,
    });
    app.derived.stale();
    let _instance = instance::Claim::write(dir, &url)?;
    // Whoever started the app may have stopped reading its output (a
    // closed terminal, a launcher): that must not stop the app.
    {
        use std::io::Write;
        let _ = writeln!(
            std::io::stdout(),
            "客户档案已启动:{url}\n(关闭此窗口或按 Ctrl+C 退出;数据都已保存在本机)"
        );
    }
    if open {
        open_browser(&url);
    }
    axum::serve(listener, router(app))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(ClientError::Io)
}

/// Every page and form of the app.
fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(view::home))
        .route("/ping", get(instance::ping))
        .route("/style.css", get(view::stylesheet))
        .route("/app.js", get(view::script))
        .merge(setup::routes())
        .merge(unlock::routes())
        .merge(today::routes())
        .merge(customers::routes())
        .merge(card::routes())
        .merge(edit::routes())
        .merge(reports::routes())
        .merge(sync_page::routes())
        .route("/sync", post(sync_page::start))
        // Layers run outermost last: the doors first, then the lock.
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            lock_page::gate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            unlock::gate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            guard::check,
        ))
        .with_state(app)
}

fn open_browser(url: &str) {
    if let Err(e) = webbrowser::open(url) {
        eprintln!("无法自动打开浏览器({e}),请手动打开上面的地址");
    }
}
