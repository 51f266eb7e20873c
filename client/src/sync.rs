//! `crm sync`: the laptop's side of the sync protocol (see ARCHITECTURE.md).
//!
//! The loop is independent of HTTP: it is given an `exchange` function that
//! sends one request and returns the response. Every response is stored in
//! one transaction before the next request, so a sync cut at any point is
//! resumed by running it again: nothing is applied twice or lost.

use std::collections::HashSet;

use crm_shared::sync::{DocHeads, SyncRequest, SyncResponse};

use crate::error::Result;
use crate::store::Store;

/// Bytes of local changes sent per request; larger backlogs go in several.
pub const PUSH_BUDGET: usize = 8 << 20;

/// Requests in one sync run at most (a guard against a misbehaving server).
const MAX_ROUNDS: usize = 1_000;

/// What a sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Requests made.
    pub requests: usize,
    /// Documents whose local changes were sent.
    pub sent: usize,
    /// Documents that arrived or changed.
    pub received: usize,
    /// Their ids, each once.
    pub received_ids: Vec<String>,
    /// Documents removed from this laptop.
    pub removed: usize,
    /// Documents that arrived with open conflicts (`crm conflicts` lists them).
    pub conflicts: Vec<String>,
    /// Protected-field changes the server undid, as messages.
    pub reverted: Vec<String>,
    /// Documents the server took away whose unsent changes are kept for now.
    pub kept_unsent: usize,
    /// Documents the server stored but its backup does not hold yet
    /// (zero-loss mode): still marked unsent, sent again next time.
    pub awaiting_backup: usize,
    /// Customers removed from this laptop, by name (reassigned to someone
    /// else, or no longer visible to this user).
    pub removed_names: Vec<String>,
    /// Customers set aside after this run, with why (`crm aside` lists them).
    pub set_aside: Vec<(String, String)>,
    /// Customers whose local changes were recorded again on the server's
    /// copy, because this store had gone back in time or been copied.
    pub rebased: Vec<String>,
    /// Changes left out of those because someone else signed them.
    pub dropped: usize,
    /// This laptop now writes under a fresh actor (its store had gone back
    /// in time or been copied).
    pub rotated: bool,
    /// Request body bytes sent (filled in by the caller that owns the transport).
    pub bytes_sent: u64,
    /// Response body bytes received (likewise).
    pub bytes_received: u64,
}

/// Runs one sync: pushes local changes, stores what the server sends,
/// repeats until both sides are even. `progress` is told after each request.
pub fn run(
    store: &mut Store,
    mut exchange: impl FnMut(&SyncRequest) -> Result<SyncResponse>,
    mut progress: impl FnMut(&SyncReport),
) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    let mut position = store.sync_position()?;
    // A first sync (or one after the server was restored) lists every
    // document; it keeps doing so until the server says it sent everything.
    let mut listing = position.is_none();
    // Customers whose whole document was asked for in this run: asked once,
    // so that one that cannot be stored either is set aside, not retried
    // round after round.
    let mut rechecked: HashSet<String> = HashSet::new();
    // Documents received so far in this run (a first sync lists thousands).
    let mut received: HashSet<String> = HashSet::new();
    let unasked = |store: &Store, rechecked: &HashSet<String>| -> Result<Vec<DocHeads>> {
        Ok(store
            .recheck()?
            .into_iter()
            .filter(|r| !rechecked.contains(&r.id))
            .collect())
    };
    for _ in 0..MAX_ROUNDS {
        let (push, more_to_push) = store.pending_pushes(PUSH_BUDGET)?;
        let recheck = unasked(store, &rechecked)?;
        rechecked.extend(recheck.iter().map(|r| r.id.clone()));
        let req = SyncRequest {
            epoch: position.as_ref().map(|(e, _)| e.clone()),
            cursor: if listing {
                None
            } else {
                position.as_ref().map(|(_, c)| *c)
            },
            have: if listing { Some(store.have()?) } else { None },
            push,
            settings_version: store.versioned_settings()?.map(|v| v.version),
            recheck,
            lineage: Some(store.lineage()?),
        };
        let resp = exchange(&req)?;
        report.requests += 1;
        if resp.resync {
            // Our cursor means nothing to this server: list everything.
            // Nothing in this answer was stored, so the same is sent again.
            for r in &req.recheck {
                rechecked.remove(&r.id);
            }
            store.apply_sync(&resp, &req, true)?;
            store.forget_sync_position()?;
            position = None;
            listing = true;
            continue;
        }
        report.sent += req.push.len() - resp.refused.len().min(req.push.len());
        let keep_cursor = listing && resp.more;
        let applied = store.apply_sync(&resp, &req, keep_cursor)?;
        report.received += applied.received;
        for id in applied.received_ids {
            if received.insert(id.clone()) {
                report.received_ids.push(id);
            }
        }
        report.removed += applied.removed;
        report.removed_names.extend(applied.removed_names);
        report.rebased.extend(applied.rebased.iter().cloned());
        report.dropped += applied.dropped;
        report.rotated |= applied.rotated;
        for id in applied.conflicted {
            if !report.conflicts.contains(&id) {
                report.conflicts.push(id);
            }
        }
        report.kept_unsent = applied.kept_unsent;
        report.awaiting_backup = applied.unconfirmed;
        report.reverted.extend(
            resp.reverted
                .iter()
                .map(|r| format!("{} {}:{}", r.id, r.path, r.message)),
        );
        if !keep_cursor {
            position = Some((resp.epoch.clone(), resp.cursor));
            listing = false;
        }
        progress(&report);
        // A rebuilt customer has changes to send, as does one to hand
        // over, and one newly set aside for a clash is to be asked for
        // whole.
        let even = !resp.more
            && !more_to_push
            && resp.need.is_empty()
            && applied.rebased.is_empty()
            && applied.handing_over.is_empty()
            && unasked(store, &rechecked)?.is_empty();
        if even {
            break;
        }
    }
    // What was set aside and cured within this run is not news; what is
    // still aside is, every time, until it is dealt with.
    report.set_aside = store
        .aside()?
        .into_iter()
        .map(|a| (a.id, a.message))
        .collect();
    Ok(report)
}
