//! `crm-backup run`: follows the server's update log for as long as it runs.
//!
//! One pull at a time: ask for what follows the held position (the server
//! waits up to [`WAIT_MS`] for news), store the answer in one transaction,
//! repeat. The position sent with each pull is what the store committed, so
//! the server's view of the backup (lag, zero-loss acknowledgements) never
//! runs ahead of the disk. Errors (network cut, server down, disk full) are
//! retried with a growing pause; nothing is half-stored, so retrying is
//! always safe. A new server epoch (the server was restored) moves the old
//! copy aside and starts a new one: a backup is never overwritten.
//!
//! Told to stop (SIGTERM, Ctrl-C), it abandons a pull in flight or a pause
//! (nothing of either is stored yet), never a store, and closes the file
//! cleanly: the WAL folded into the database and removed, so the file alone
//! is the whole backup.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crm_net::{Client, NetError};
use crm_shared::backup::{PullRequest, PullResponse};

use crate::link;
use crate::store::{Store, StoreError};

/// How long one pull may wait on the server for news.
pub const WAIT_MS: u64 = 20_000;

/// In steady state, pulls start at most this often. Under a stream of
/// small commits, pulling after every one costs the server a request per
/// commit; gathering them for this long costs at most this much lag.
pub const PULL_GAP: Duration = Duration::from_millis(50);

/// Longest pause between retries after an error.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How often a pull or a pause looks whether it was told to stop.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Why following stopped for good.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// `init` was never run.
    #[error("备份机尚未连接服务器,请先运行 crm-backup init")]
    NotLinked,
    /// The server no longer accepts the node's token.
    #[error("服务器不再接受此备份机的登录({0}),请重新运行 crm-backup init")]
    Refused(NetError),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Setting up the client failed.
    #[error(transparent)]
    Net(#[from] NetError),
    /// Moving an old copy aside failed.
    #[error("无法保存旧备份 {path}:{source}")]
    Rotate {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// What happened in one step, for the caller's log.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Entries stored; the node now holds everything up to `after`.
    Stored {
        /// Entries in this answer.
        entries: usize,
        /// Documents in this answer.
        docs: usize,
        /// New position.
        after: u64,
        /// The server's newest position.
        head: u64,
    },
    /// A pull failed; retrying after `retry_in`.
    Failed {
        /// What went wrong.
        message: String,
        /// Pause before the next try.
        retry_in: Duration,
    },
    /// The server has a new epoch: the old copy was moved to `kept`.
    NewEpoch {
        /// Where the old copy is.
        kept: PathBuf,
    },
    /// Caught up with the server (nothing more to pull right now).
    CaughtUp {
        /// Position.
        after: u64,
    },
    /// Told to stop: the file is closed, everything up to `after` in it.
    Stopped {
        /// Position.
        after: u64,
    },
}

/// Follows the server until `stop` says so (checked between steps, and
/// every [`STOP_CHECK`] during a pull or a pause); then closes the file
/// cleanly. `once`: stop when caught up.
pub fn run(
    dir: &Path,
    once: bool,
    stop: impl Fn() -> bool,
    mut on: impl FnMut(&Event),
) -> Result<(), FollowError> {
    if !Store::file(dir).exists() {
        return Err(FollowError::NotLinked);
    }
    let mut store = Store::open(dir)?;
    let link = store.link()?.ok_or(FollowError::NotLinked)?;
    let client = link::client(&link)?;
    let mut backoff = Backoff::new();
    let mut caught_up = false;
    let mut last_pull: Option<std::time::Instant> = None;
    while !stop() {
        if let Some(gap) = last_pull
            .filter(|_| caught_up)
            .map(|t| PULL_GAP.saturating_sub(t.elapsed()))
        {
            if pause(gap, &stop) {
                break;
            }
        }
        last_pull = Some(std::time::Instant::now());
        let pos = store.position()?;
        let req = pos.pull_request(if once || !caught_up { 0 } else { WAIT_MS });
        let resp = match pull_unless_stopped(&client, &link.token, &req, &stop) {
            None => break,
            Some(Ok(r)) => r,
            Some(Err(
                e @ (NetError::Unauthorized | NetError::DeviceRevoked | NetError::Forbidden(_)),
            )) => {
                return Err(FollowError::Refused(e));
            }
            Some(Err(e)) => {
                if backoff.failed(e, once, &stop, &mut on)? {
                    break;
                }
                caught_up = false;
                continue;
            }
        };
        if pos.epoch.as_deref().is_some_and(|e| e != resp.epoch) {
            drop(store);
            let kept = rotate(dir, pos.epoch.as_deref().unwrap_or_default())?;
            on(&Event::NewEpoch { kept });
            store = Store::open(dir)?;
            store.set_link(&link)?;
            caught_up = false;
            continue;
        }
        let now = chrono::Utc::now().timestamp_millis();
        let (entries, docs) = (resp.entries.len(), resp.docs.len());
        match store.apply(&resp, now) {
            Ok(after) => {
                backoff = Backoff::new();
                if entries > 0 {
                    on(&Event::Stored {
                        entries,
                        docs,
                        after,
                        head: resp.head,
                    });
                }
                let was = caught_up;
                caught_up = !resp.more && after >= resp.head;
                if caught_up && (!was || entries > 0) {
                    on(&Event::CaughtUp { after });
                }
                // `--once` ends with a pull that brought nothing, so the
                // server has also been told the final position.
                if once && caught_up && entries == 0 && req.epoch.is_some() {
                    break;
                }
            }
            // A full disk, most likely: the transaction rolled back, the
            // position did not move; try again later.
            Err(e) => {
                if backoff.failed(e, once, &stop, &mut on)? {
                    break;
                }
            }
        }
    }
    let after = store.position()?.after;
    store.close()?;
    on(&Event::Stopped { after });
    Ok(())
}

/// The growing pause between failed steps.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(Duration::from_millis(250))
    }

    /// Reports a failed step and waits before the next; whether `stop` said
    /// so meanwhile. With `once` there is no next step: the error is returned.
    fn failed(
        &mut self,
        e: impl Into<FollowError> + std::fmt::Display,
        once: bool,
        stop: &impl Fn() -> bool,
        on: &mut impl FnMut(&Event),
    ) -> Result<bool, FollowError> {
        on(&Event::Failed {
            message: e.to_string(),
            retry_in: self.0,
        });
        if once {
            return Err(e.into());
        }
        let stopped = pause(self.0, stop);
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
        Ok(stopped)
    }
}

/// One pull, or `None` if `stop` said so first. Abandoning a pull loses
/// nothing: only a stored answer moves the position.
fn pull_unless_stopped(
    client: &Client,
    token: &str,
    req: &PullRequest,
    stop: &impl Fn() -> bool,
) -> Option<Result<PullResponse, NetError>> {
    client.block_on(async {
        tokio::select! {
            resp = client.post_json("/api/v1/backup/pull", Some(token), req) => Some(resp),
            () = stopped(stop) => None,
        }
    })
}

/// Ends once `stop` says so.
async fn stopped(stop: &impl Fn() -> bool) {
    while !stop() {
        tokio::time::sleep(STOP_CHECK).await;
    }
}

/// Sleeps for `length`, or less if `stop` says so; whether it did.
fn pause(length: Duration, stop: &impl Fn() -> bool) -> bool {
    let end = std::time::Instant::now() + length;
    loop {
        if stop() {
            return true;
        }
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(left.min(STOP_CHECK));
    }
}

/// Moves the current store aside as `crm-backup.<epoch>.sqlite3` (the
/// server it followed was replaced: a new log starts from zero).
pub fn rotate(dir: &Path, epoch: &str) -> Result<PathBuf, FollowError> {
    let from = Store::file(dir);
    let short: String = epoch
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect();
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let to = dir.join(format!("crm-backup.{stamp}.{short}.sqlite3"));
    std::fs::rename(&from, &to).map_err(|source| FollowError::Rotate {
        path: to.clone(),
        source,
    })?;
    for suffix in ["-wal", "-shm"] {
        let mut f = from.clone().into_os_string();
        f.push(suffix);
        let mut t = to.clone().into_os_string();
        t.push(suffix);
        let _ = std::fs::rename(f, t);
    }
    Ok(to)
}
