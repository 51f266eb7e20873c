//! `crm-backup verify`: is this backup whole, and is it the server's?
//!
//! Local checks, on the backup machine alone:
//! 1. SQLite's `integrity_check` over the whole file (a damaged page or a
//!    truncated file shows here);
//! 2. every document: its bytes hash to the SHA-256 recorded when it was
//!    stored, load, have every change's dependencies, end at the recorded
//!    heads, and contain every state the log recorded for it (what a
//!    point-in-time restore would cut at);
//! 3. every log entry names a document that is held; every records copy
//!    matches its hash.
//!
//! Then, unless offline, the comparison with the server: both sides
//! summarise their documents and heads as of the backup's position in 256
//! bucket digests; only differing buckets are listed one by one, so the
//! exact missing or different documents are named without copying anything.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crm_net::NetError;
use crm_shared::backup::{check_document, summarise, Summary, SummaryRequest, BUCKETS};
use crm_shared::sync::heads_to_hex;

use crate::link;
use crate::store::{Store, StoreError};

/// Documents checked per batch (bounds memory on big backups).
const BATCH: usize = 512;

/// What verify found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The file's structure, if SQLite found it damaged.
    pub file_damage: Option<String>,
    /// Documents checked.
    pub documents: u64,
    /// Log entries held.
    pub log_entries: u64,
    /// The backup's position.
    pub upto: u64,
    /// Damaged documents: id → problem.
    pub damaged: BTreeMap<String, String>,
    /// Log entries naming a document the backup lacks.
    pub orphan_entries: Vec<(u64, String)>,
    /// Records copies whose bytes no longer match their hash.
    pub damaged_records: Vec<i64>,
    /// The comparison with the server, unless skipped.
    pub server: Option<ServerComparison>,
    /// Why the server comparison was skipped, if it was.
    pub server_skipped: Option<String>,
}

/// The backup against the server, as of the backup's position.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerComparison {
    /// Documents the server had at that position.
    pub server_documents: u64,
    /// On the server, not on the backup.
    pub missing: Vec<String>,
    /// On both, with different heads.
    pub different: Vec<String>,
    /// On the backup, not on the server.
    pub extra: Vec<String>,
}

impl Report {
    /// Whether nothing is wrong.
    pub fn ok(&self) -> bool {
        self.file_damage.is_none()
            && self.damaged.is_empty()
            && self.orphan_entries.is_empty()
            && self.damaged_records.is_empty()
            && self.server.as_ref().is_none_or(|s| {
                s.missing.is_empty() && s.different.is_empty() && s.extra.is_empty()
            })
    }
}

/// Runs every check; `offline` skips the server comparison.
pub fn verify(
    dir: &Path,
    offline: bool,
    mut progress: impl FnMut(u64, u64),
) -> Result<Report, StoreError> {
    let store = Store::open_existing(dir)?;
    let mut report = Report::default();
    // A file SQLite cannot even check is damaged too.
    let integrity = store
        .integrity_problems()
        .unwrap_or_else(|e| Some(e.to_string()));
    if let Some(problem) = integrity {
        // Reading further could return damaged rows as if whole.
        report.file_damage = Some(problem);
        return Ok(report);
    }
    let pos = store.position()?;
    report.upto = pos.after;
    (report.documents, report.log_entries) = store.counts()?;
    let ids = store.doc_ids()?;
    let total = ids.len() as u64;
    let mut done = 0;
    for batch in ids.chunks(BATCH) {
        let mut loaded = Vec::with_capacity(batch.len());
        for id in batch {
            if let Some(doc) = store.doc(id)? {
                let logged: Vec<(u64, Vec<_>)> = store
                    .logged(id, u64::MAX)?
                    .into_iter()
                    .map(|l| (l.seq, l.heads))
                    .collect();
                loaded.push((doc, logged));
            }
        }
        let problems: Vec<(String, String)> = loaded
            .par_iter()
            .filter_map(|(doc, logged)| {
                check_document(&doc.data, &doc.hash, &doc.heads, logged)
                    .err()
                    .map(|p| (doc.id.clone(), p.to_string()))
            })
            .collect();
        report.damaged.extend(problems);
        done += batch.len() as u64;
        progress(done, total);
    }
    report.orphan_entries = store.orphan_entries()?;
    report.damaged_records = store.damaged_records()?;
    if offline {
        report.server_skipped = Some("按要求未与服务器比对(--offline)".into());
        return Ok(report);
    }
    match compare(&store, pos.after) {
        Ok(c) => report.server = Some(c),
        Err(e) => report.server_skipped = Some(e),
    }
    Ok(report)
}

fn compare(store: &Store, upto: u64) -> Result<ServerComparison, String> {
    let link = store
        .link()
        .map_err(|e| e.to_string())?
        .ok_or("备份机尚未连接服务器(crm-backup init)")?;
    let client = link::client(&link).map_err(|e| e.to_string())?;
    let ask = |list: Vec<u16>| -> Result<Summary, NetError> {
        client.post(
            "/api/v1/backup/summary",
            Some(&link.token),
            &SummaryRequest { upto, list },
        )
    };
    let server = ask(Vec::new()).map_err(|e| format!("无法与服务器比对:{e}"))?;
    let ours = store.heads_as_of(upto).map_err(|e| e.to_string())?;
    let local = summarise(upto, ours.clone(), &[]);
    let differing: Vec<u16> = (0..BUCKETS)
        .filter(|&b| server.buckets.get(b) != local.buckets.get(b))
        .map(|b| b as u16)
        .collect();
    let mut out = ServerComparison {
        server_documents: server.documents,
        ..Default::default()
    };
    if differing.is_empty() {
        return Ok(out);
    }
    let listed = ask(differing.clone()).map_err(|e| format!("无法与服务器比对:{e}"))?;
    let theirs: BTreeMap<String, Vec<String>> =
        listed.listed.into_iter().map(|d| (d.id, d.heads)).collect();
    let mine: BTreeMap<String, Vec<String>> = ours
        .into_iter()
        .filter(|(id, _)| differing.contains(&(crm_shared::backup::bucket(id) as u16)))
        .map(|(id, h)| (id, heads_to_hex(&h)))
        .collect();
    for (id, heads) in &theirs {
        match mine.get(id) {
            None => out.missing.push(id.clone()),
            Some(h) if h != heads => out.different.push(id.clone()),
            Some(_) => {}
        }
    }
    out.extra = mine
        .keys()
        .filter(|id| !theirs.contains_key(*id))
        .cloned()
        .collect();
    Ok(out)
}
