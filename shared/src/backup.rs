//! The backup protocol's wire types (`/api/v1/backup/*`) and the checks a
//! backup node runs on what it holds. Used by `crm-server` (which answers)
//! and `crm-backup` (which follows, verifies and restores); the protocol
//! itself is described in ARCHITECTURE.md ("Backup").
//!
//! In short: the backup node follows the server's update log. Each pull says
//! up to which log position (`after`) the node has everything durably; the
//! server answers with the next log entries, the current stored bytes of
//! every document they touch (a complete automerge document, history
//! included), the audit rows written with them, and a fresh copy of the
//! server's own records (users, devices, settings) whenever they changed.
//! Point-in-time restore needs nothing more: a document's state at a log
//! entry is its history cut at that entry's heads.

use automerge::{Automerge, ReadDoc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::sync::{heads_to_hex, Blob, DocHeads};
use crate::ChangeHash;

/// Longest a pull may wait for news, in milliseconds.
pub const MAX_WAIT_MS: u64 = 25_000;

/// Number of buckets in a [`Summary`]; a document's bucket is the first byte
/// of the SHA-256 of its id.
pub const BUCKETS: usize = 256;

/// `POST /api/v1/backup/pull` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    /// The server epoch the node's copy belongs to; `None` for a new copy.
    #[serde(default)]
    pub epoch: Option<String>,
    /// The node holds every log entry up to this position, durably. The
    /// server takes it as the node's confirmation (lag, zero-loss mode).
    pub after: u64,
    /// Version of the server records the node holds, if any.
    #[serde(default)]
    pub records_version: Option<i64>,
    /// With nothing after `after`, wait up to this long for a change
    /// (capped at [`MAX_WAIT_MS`]).
    #[serde(default)]
    pub wait_ms: u64,
    /// The node holds the audit of access (`access_log`) up to this row
    /// id; the answer carries the rows after it. `None` from nodes that do
    /// not follow it.
    #[serde(default)]
    pub access_after: Option<i64>,
}

/// `POST /api/v1/backup/pull` response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    /// The server's epoch. A different one than the node's means the server
    /// was restored (or is another server): the node starts a new copy.
    pub epoch: String,
    /// The server's newest log position when this answer was read.
    pub head: u64,
    /// Log entries after `after`, oldest first.
    pub entries: Vec<LogEntry>,
    /// The stored bytes of every document the entries touch.
    pub docs: Vec<DocBytes>,
    /// Audit rows written with these entries (who sent which change,
    /// refused edits), per table, and the audit of access after the node's
    /// `access_after` (table `access_log`).
    pub audit: Vec<TableRows>,
    /// The server's records, when their version differs from the node's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<Records>,
    /// The answer was cut at its size limit: pull again at once.
    pub more: bool,
    /// The server's clock (ms since the epoch), for lag in seconds.
    pub server_time: i64,
}

/// One entry of the server's update log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Log position.
    pub seq: u64,
    /// The customer (document).
    pub doc_id: String,
    /// The document's heads after this update, hex.
    pub heads: Vec<String>,
    /// The customer's salesperson after this update.
    pub salesperson: String,
    /// Who made the update.
    pub login: String,
    /// From which device, if any.
    pub device_id: Option<String>,
    /// When (ms since the epoch).
    pub at: i64,
}

/// A document as the server stores it: a complete saved automerge document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocBytes {
    /// The customer (document) id.
    pub id: String,
    /// Its heads, hex.
    pub heads: Vec<String>,
    /// The bytes.
    pub data: Blob,
}

/// One SQLite value, tagged so that text and bytes stay apart in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Cell {
    /// NULL.
    #[serde(rename = "n")]
    Null,
    /// INTEGER.
    #[serde(rename = "i")]
    Int(i64),
    /// REAL.
    #[serde(rename = "r")]
    Real(f64),
    /// TEXT.
    #[serde(rename = "t")]
    Text(String),
    /// BLOB.
    #[serde(rename = "b")]
    Bytes(Blob),
}

/// Rows of one table, with their column names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRows {
    /// The table.
    pub table: String,
    /// Column names, in the order of each row's cells.
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

/// A copy of the server's own records at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Records {
    /// Increases whenever any record changes.
    pub version: i64,
    /// Every record table, whole.
    pub tables: Vec<TableRows>,
    /// Files of the data directory a restored server needs (its generated
    /// TLS certificate and key, so that laptops keep trusting it), by name.
    pub files: Vec<(String, Blob)>,
}

/// `POST /api/v1/backup/summary` request: the server's documents as of a
/// log position, cheaply compared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryRequest {
    /// The log position to summarise at (the node's `after`).
    pub upto: u64,
    /// Buckets whose documents to list one by one.
    #[serde(default)]
    pub list: Vec<u16>,
}

/// Documents and their heads as of a log position, in [`BUCKETS`] digests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The log position summarised.
    pub upto: u64,
    /// Number of documents.
    pub documents: u64,
    /// One digest per bucket (hex SHA-256 over its sorted ids and heads).
    pub buckets: Vec<String>,
    /// The documents of the buckets asked for in `list`, sorted by id.
    pub listed: Vec<DocHeads>,
}

/// Builds a [`Summary`] from `(id, heads)` pairs in any order; documents of
/// the buckets in `list` are listed.
pub fn summarise(
    upto: u64,
    docs: impl IntoIterator<Item = (String, Vec<ChangeHash>)>,
    list: &[u16],
) -> Summary {
    let mut all: Vec<(String, Vec<String>)> = docs
        .into_iter()
        .map(|(id, heads)| (id, heads_to_hex(&heads)))
        .collect();
    all.sort();
    let mut hashers: Vec<Sha256> = (0..BUCKETS).map(|_| Sha256::new()).collect();
    let mut listed = Vec::new();
    for (id, heads) in &all {
        let b = bucket(id);
        let h = &mut hashers[b];
        h.update(id.as_bytes());
        for head in heads {
            h.update(b" ");
            h.update(head.as_bytes());
        }
        h.update(b"\n");
        if list.contains(&(b as u16)) {
            listed.push(DocHeads {
                id: id.clone(),
                heads: heads.clone(),
            });
        }
    }
    Summary {
        upto,
        documents: all.len() as u64,
        buckets: hashers.into_iter().map(|h| hex(&h.finalize())).collect(),
        listed,
    }
}

/// The bucket of document `id` in a [`Summary`].
pub fn bucket(id: &str) -> usize {
    Sha256::digest(id.as_bytes())[0] as usize
}

/// SHA-256 of `bytes`, as stored beside every document on the backup.
pub fn content_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// What is wrong with a backed-up document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocProblem {
    /// The bytes do not hash to the recorded hash (damaged on disk).
    #[error("内容校验值不符(文件已损坏)")]
    HashMismatch,
    /// The bytes do not load as an automerge document.
    #[error("无法读取:{0}")]
    Unreadable(String),
    /// Some change's dependencies are absent.
    #[error("缺少 {0} 个修改的依赖")]
    MissingDependencies(usize),
    /// The document's heads differ from the newest log entry's.
    #[error("heads 与更新日志不符")]
    HeadsMismatch,
    /// A logged state (for point-in-time restore) is not in the history.
    #[error("历史中缺少日志第 {0} 条记录的状态")]
    MissingLoggedState(u64),
}

/// Checks one backed-up document: its bytes hash to `hash`, load, have
/// every dependency, end at `heads`, and contain every logged state
/// (`(seq, heads)` of its log entries).
pub fn check_document(
    bytes: &[u8],
    hash: &[u8],
    heads: &[ChangeHash],
    logged: &[(u64, Vec<ChangeHash>)],
) -> Result<(), DocProblem> {
    if content_hash(bytes).as_slice() != hash {
        return Err(DocProblem::HashMismatch);
    }
    let doc = Automerge::load(bytes).map_err(|e| DocProblem::Unreadable(e.to_string()))?;
    let missing = doc.get_missing_deps(&[]);
    if !missing.is_empty() {
        return Err(DocProblem::MissingDependencies(missing.len()));
    }
    let (mut have, mut want) = (doc.get_heads(), heads.to_vec());
    have.sort();
    want.sort();
    if have != want {
        return Err(DocProblem::HeadsMismatch);
    }
    for (seq, state) in logged {
        if state
            .iter()
            .any(|h| doc.get_change_meta_by_hash(h).is_none())
        {
            return Err(DocProblem::MissingLoggedState(*seq));
        }
    }
    Ok(())
}

/// The document as it was at `heads` (a point in its history), saved.
pub fn document_at(bytes: &[u8], heads: &[ChangeHash]) -> crate::Result<Vec<u8>> {
    let doc = Automerge::load(bytes).map_err(|e| crate::Error::Corrupt(e.to_string()))?;
    Ok(doc
        .fork_at(heads)
        .map_err(|e| crate::Error::Corrupt(e.to_string()))?
        .save())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_of_the_same_documents_match_whatever_the_order() {
        let h = |n: u8| vec![ChangeHash([n; 32])];
        let a = summarise(7, vec![("x".into(), h(1)), ("y".into(), h(2))], &[]);
        let b = summarise(7, vec![("y".into(), h(2)), ("x".into(), h(1))], &[]);
        assert_eq!(a, b);
        let c = summarise(7, vec![("y".into(), h(3)), ("x".into(), h(1))], &[]);
        let differ: Vec<usize> = (0..BUCKETS)
            .filter(|&i| a.buckets[i] != c.buckets[i])
            .collect();
        assert_eq!(differ, vec![bucket("y")]);
        let listed = summarise(7, vec![("y".into(), h(3))], &[bucket("y") as u16]).listed;
        assert_eq!(listed.len(), 1);
    }

    #[test]
    fn cells_keep_text_and_bytes_apart() {
        let row = vec![
            Cell::Text("aGk=".into()),
            Cell::Bytes(Blob(b"hi".to_vec())),
            Cell::Null,
        ];
        let json = serde_json::to_string(&row).unwrap();
        let back: Vec<Cell> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, row);
    }
}
