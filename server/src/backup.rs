//! The server's side of continuous backup (protocol: ARCHITECTURE.md,
//! "Backup"; wire types: `crm_shared::backup`).
//!
//! A backup node (`crm-backup`) pulls the update log from here. The server
//! keeps no state per node beyond the last position a node confirmed
//! ([`BackupHub`]), reads everything from a read snapshot, and never waits
//! for the node, except in zero-loss mode, where a laptop's push is
//! acknowledged only once the node confirms it (and otherwise stays unsent
//! on the laptop, to be pushed again).

use std::time::{Duration, Instant};

use crm_shared::api::BackupLag;
use crm_shared::backup::{PullRequest, PullResponse, Summary, SummaryRequest, MAX_WAIT_MS};
use crm_shared::sync::Blob;
use tokio::sync::watch;

use crate::db::{backup as sql, documents, Db, DbError};

/// Bytes of documents in one pull answer before it is cut (`more`).
pub const PULL_BUDGET: usize = 8 << 20;

/// How long a zero-loss sync waits for the backup before answering without
/// acknowledging (the laptop keeps its changes marked unsent).
pub const ZERO_LOSS_WAIT: Duration = Duration::from_secs(5);

/// What the server knows about its backup node; shared by all handlers.
#[derive(Debug)]
pub struct BackupHub {
    zero_loss: bool,
    files: Vec<(String, Vec<u8>)>,
    confirmed: watch::Sender<Option<Confirmation>>,
}

/// A backup node's latest confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmation {
    /// It holds every log entry up to here.
    pub seq: u64,
    /// When it said so.
    pub at: Instant,
}

impl Default for BackupHub {
    fn default() -> Self {
        BackupHub::new(false, Vec::new())
    }
}

impl BackupHub {
    /// A hub; `zero_loss` makes syncs wait for the backup, `files` are the
    /// data-directory files a restored server needs (name, bytes).
    pub fn new(zero_loss: bool, files: Vec<(String, Vec<u8>)>) -> BackupHub {
        BackupHub {
            zero_loss,
            files,
            confirmed: watch::Sender::new(None),
        }
    }

    /// Whether zero-loss mode is on.
    pub fn zero_loss(&self) -> bool {
        self.zero_loss
    }

    fn confirm(&self, seq: u64) {
        self.confirmed.send_replace(Some(Confirmation {
            seq,
            at: Instant::now(),
        }));
    }

    /// The node's latest confirmation, if one pulled since the server started.
    pub fn confirmation(&self) -> Option<Confirmation> {
        *self.confirmed.borrow()
    }

    /// Waits until the node confirms log position `seq`; false on timeout.
    pub async fn wait_confirmed(&self, seq: u64, timeout: Duration) -> bool {
        let mut rx = self.confirmed.subscribe();
        let reached = async move {
            rx.wait_for(|c| c.is_some_and(|c| c.seq >= seq))
                .await
                .is_ok()
        };
        tokio::time::timeout(timeout, reached)
            .await
            .unwrap_or(false)
    }

    /// How far the node is behind, for `/status`; `None` before its first pull.
    pub async fn lag(&self, db: &Db, now_ms: i64) -> Result<Option<BackupLag>, DbError> {
        let Some(c) = self.confirmation() else {
            return Ok(None);
        };
        let (head, behind, oldest) = db
            .read_with(move |conn| Ok::<_, DbError>(sql::lag(conn, c.seq)?))
            .await?;
        Ok(Some(BackupLag {
            confirmed: c.seq,
            head,
            behind_changes: behind,
            behind_seconds: oldest.map_or(0.0, |at| (now_ms - at).max(0) as f64 / 1000.0),
            last_contact_ms_ago: c.at.elapsed().as_millis() as u64,
            zero_loss: self.zero_loss,
        }))
    }
}

/// Answers one pull: the log after the node's position, waiting up to
/// `wait_ms` for news when there is none.
pub async fn pull(
    db: &Db,
    hub: &BackupHub,
    req: PullRequest,
    now_ms: impl Fn() -> i64,
) -> Result<PullResponse, DbError> {
    let deadline = Instant::now() + Duration::from_millis(req.wait_ms.min(MAX_WAIT_MS));
    let mut commits = db.commits();
    let mut confirmed = false;
    loop {
        // Marked seen before reading, so a write after the read wakes us.
        commits.borrow_and_update();
        let (after, version, access) = (req.after, req.records_version, req.access_after);
        let mut resp = db
            .read_with(move |conn| {
                let tx = conn.unchecked_transaction()?;
                let resp = sql::pull(&tx, after, version, access, PULL_BUDGET)?;
                Ok::<_, DbError>(resp)
            })
            .await?;
        // The node's position means something only in this server's epoch.
        if !confirmed && req.epoch.as_deref() == Some(resp.epoch.as_str()) {
            hub.confirm(req.after);
            confirmed = true;
        }
        if let Some(records) = &mut resp.records {
            records.files = hub
                .files
                .iter()
                .map(|(name, bytes)| (name.clone(), Blob(bytes.clone())))
                .collect();
        }
        let news = !resp.entries.is_empty()
            || resp.records.is_some()
            || resp.audit.iter().any(|t| !t.rows.is_empty());
        let now = Instant::now();
        if news || now >= deadline || req.epoch.as_deref() != Some(resp.epoch.as_str()) {
            resp.server_time = now_ms();
            return Ok(resp);
        }
        // Another process (an admin import) writes without waking us: look
        // again at least every second.
        let slice = (deadline - now).min(Duration::from_secs(1));
        let _ = tokio::time::timeout(slice, commits.changed()).await;
    }
}

/// The server's documents and heads as of `req.upto`, in bucket digests.
pub async fn summary(db: &Db, req: SummaryRequest) -> Result<Summary, DbError> {
    db.read_with(move |conn| {
        let docs = sql::heads_as_of(conn, req.upto)?;
        Ok::<_, DbError>(crm_shared::backup::summarise(req.upto, docs, &req.list))
    })
    .await
}

/// The newest log position now.
pub async fn head(db: &Db) -> Result<u64, DbError> {
    db.read_with(|conn| Ok::<_, DbError>(documents::max_seq(conn)? as u64))
        .await
}
