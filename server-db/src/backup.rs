//! SQL behind the server's backup endpoints: reading the update log
//! with the documents and audit rows it touched, dumping the record tables,
//! and the per-document summary a backup node verifies against.
//!
//! Everything here reads; the backup never makes the server write.

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};

use crm_shared::backup::{Cell, DocBytes, LogEntry, PullResponse, Records, TableRows};
use crm_shared::document::heads_from_blob;
use crm_shared::sync::{heads_to_hex, Blob};
use crm_shared::ChangeHash;

use super::documents;
use super::RECORD_TABLES;

/// Most log entries in one pull answer.
const MAX_ENTRIES: i64 = 5_000;

/// The version of the record tables (moved by triggers, migration 3).
pub fn records_version(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(documents::meta(conn, "records_version")?
        .parse()
        .unwrap_or_default())
}

/// Every record table, whole, at `version`.
pub fn records(conn: &Connection, version: i64) -> rusqlite::Result<Records> {
    let tables = RECORD_TABLES
        .iter()
        .map(|t| table_rows(conn, t, &format!("SELECT * FROM {t}"), []))
        .collect::<rusqlite::Result<_>>()?;
    Ok(Records {
        version,
        tables,
        files: Vec::new(),
    })
}

/// The log after `after` with what it touched, cut at `budget` bytes of
/// documents. Call inside one read transaction so that the entries,
/// documents and records are one consistent state.
pub fn pull(
    conn: &Connection,
    after: u64,
    records_version: Option<i64>,
    access_after: Option<i64>,
    budget: usize,
) -> rusqlite::Result<PullResponse> {
    let mut resp = PullResponse {
        epoch: documents::meta(conn, "epoch")?,
        head: documents::max_seq(conn)? as u64,
        ..Default::default()
    };
    let version = self::records_version(conn)?;
    if records_version != Some(version) {
        resp.records = Some(records(conn, version)?);
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT {LOG_COLUMNS} FROM doc_log WHERE seq > ?1 ORDER BY seq LIMIT ?2"
    ))?;
    let entries: Vec<LogEntry> = st
        .query_map(params![after as i64, MAX_ENTRIES], log_entry)?
        .collect::<rusqlite::Result<_>>()?;
    resp.more = entries.len() as i64 == MAX_ENTRIES;
    let mut left = budget;
    let mut sent = std::collections::HashSet::new();
    let mut authors = empty_rows(conn, "change_authors")?;
    let mut refused = empty_rows(conn, "refused_edits")?;
    for e in entries {
        if !sent.contains(&e.doc_id) {
            // The stored bytes are the whole document now, so they hold this
            // entry's state and every later one in this answer.
            if let Some(stored) = documents::load(conn, &e.doc_id)? {
                if stored.bytes.len() > left && !resp.entries.is_empty() {
                    resp.more = true;
                    break;
                }
                left = left.saturating_sub(stored.bytes.len());
                resp.docs.push(DocBytes {
                    id: e.doc_id.clone(),
                    heads: heads_to_hex(&stored.heads),
                    data: Blob(stored.bytes),
                });
            }
            sent.insert(e.doc_id.clone());
        }
        // One push writes its entry and its audit rows with the same
        // document, login and time, so these select exactly that push's rows.
        let args = params![e.doc_id, e.at, e.login];
        authors.rows.extend(
            table_rows(
                conn,
                "change_authors",
                "SELECT * FROM change_authors WHERE doc_id = ?1 AND at = ?2 AND login = ?3",
                args,
            )?
            .rows,
        );
        refused.rows.extend(
            table_rows(
                conn,
                "refused_edits",
                "SELECT * FROM refused_edits WHERE doc_id = ?1 AND at = ?2 AND login = ?3",
                args,
            )?
            .rows,
        );
        resp.entries.push(e);
    }
    resp.audit = vec![authors, refused];
    if let Some(a) = access_after {
        let access = table_rows(
            conn,
            "access_log",
            "SELECT * FROM access_log WHERE id > ?1 ORDER BY id LIMIT ?2",
            params![a, MAX_ENTRIES],
        )?;
        resp.more |= access.rows.len() as i64 == MAX_ENTRIES;
        resp.audit.push(access);
    }
    Ok(resp)
}

/// The newest log position, how many entries follow `confirmed`, and the
/// time of the oldest of them.
pub fn lag(conn: &Connection, confirmed: u64) -> rusqlite::Result<(u64, u64, Option<i64>)> {
    conn.query_row(
        "SELECT (SELECT COALESCE(MAX(seq), 0) FROM doc_log),
                (SELECT count(*) FROM doc_log WHERE seq > ?1),
                (SELECT at FROM doc_log WHERE seq > ?1 ORDER BY seq LIMIT 1)",
        [confirmed as i64],
        |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get(2)?,
            ))
        },
    )
}

/// Each document's heads as of log position `upto`.
pub fn heads_as_of(
    conn: &Connection,
    upto: u64,
) -> rusqlite::Result<Vec<(String, Vec<ChangeHash>)>> {
    // SQLite takes the bare columns of an aggregate query from the row
    // holding the max(): each document's newest entry up to `upto`.
    let mut st = conn
        .prepare("SELECT doc_id, heads, max(seq) FROM doc_log WHERE seq <= ?1 GROUP BY doc_id")?;
    let rows = st.query_map([upto as i64], |r| {
        Ok((r.get(0)?, heads_from_blob(&r.get::<_, Vec<u8>>(1)?)))
    })?;
    rows.collect()
}

fn empty_rows(conn: &Connection, table: &str) -> rusqlite::Result<TableRows> {
    table_rows(conn, table, &format!("SELECT * FROM {table} LIMIT 0"), [])
}

/// The rows `sql` selects from `table`, as generic cells.
fn table_rows(
    conn: &Connection,
    table: &str,
    sql: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<TableRows> {
    let mut st = conn.prepare_cached(sql)?;
    let columns: Vec<String> = st.column_names().iter().map(|c| c.to_string()).collect();
    let n = columns.len();
    let rows = st
        .query_map(args, |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        ValueRef::Null => Cell::Null,
                        ValueRef::Integer(v) => Cell::Int(v),
                        ValueRef::Real(v) => Cell::Real(v),
                        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Blob(b) => Cell::Bytes(Blob(b.to_vec())),
                    })
                })
                .collect::<rusqlite::Result<Vec<Cell>>>()
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(TableRows {
        table: table.to_string(),
        columns,
        rows,
    })
}

/// The columns of a log row, in the order [`log_entry`] reads them. The
/// backup node's own log table keeps the same columns.
pub const LOG_COLUMNS: &str = "seq, doc_id, heads, salesperson, login, device_id, at";

/// One log row, selected as [`LOG_COLUMNS`].
pub fn log_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<LogEntry> {
    Ok(LogEntry {
        seq: r.get::<_, i64>(0)? as u64,
        doc_id: r.get(1)?,
        heads: heads_to_hex(&heads_from_blob(&r.get::<_, Vec<u8>>(2)?)),
        salesperson: r.get(3)?,
        login: r.get(4)?,
        device_id: r.get(5)?,
        at: r.get(6)?,
    })
}
