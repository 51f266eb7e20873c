//! Writing a new server database from a backup (`crm-backup restore`).
//!
//! The whole restore is one transaction on a file that did not exist: it
//! either ends as a complete, migrated server database with a fresh epoch
//! (so every laptop re-lists its documents at its next sync and pushes what
//! the backup lacked), or the file is removed.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};

use crm_shared::backup::{Cell, LogEntry, TableRows};
use crm_shared::document::heads_to_blob;
use crm_shared::sync::heads_from_hex;
use crm_shared::ChangeHash;

use super::{configure, documents, migrate, DbError, Projection, RECORD_TABLES};

/// Audit tables a restore may write besides the record tables.
const AUDIT_TABLES: &[&str] = &["change_authors", "refused_edits"];

/// A server database being built from a backup; see the module docs.
pub struct RestoreWriter {
    conn: Option<Connection>,
    path: PathBuf,
    finished: bool,
}

impl std::fmt::Debug for RestoreWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreWriter")
            .field("path", &self.path)
            .finish()
    }
}

impl RestoreWriter {
    /// Creates the database file at `path` (which must not exist) with the
    /// current schema, and opens the restore transaction.
    pub fn create(path: &Path) -> Result<RestoreWriter, DbError> {
        create_private(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => DbError::AlreadyExists,
            _ => DbError::Open {
                path: path.to_path_buf(),
                source: e.into(),
            },
        })?;
        // From here on, dropping `this` unfinished removes the file.
        let mut this = RestoreWriter {
            conn: None,
            path: path.to_path_buf(),
            finished: false,
        };
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
        migrate(&mut conn)?;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        this.conn = Some(conn);
        Ok(this)
    }

    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("open until finish")
    }

    /// Inserts rows of a record table (users, devices, meta) or an audit
    /// table, replacing rows with the same key.
    pub fn insert_rows(&self, rows: &TableRows) -> Result<(), DbError> {
        let table = rows.table.as_str();
        if !RECORD_TABLES.contains(&table) && !AUDIT_TABLES.contains(&table) {
            return Err(DbError::Corrupt(format!("备份中有未知的表 {table:?}")));
        }
        if rows.rows.is_empty() {
            return Ok(());
        }
        for c in &rows.columns {
            if c.is_empty() || !c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_') {
                return Err(DbError::Corrupt(format!("备份中有无效的列名 {c:?}")));
            }
        }
        let marks = vec!["?"; rows.columns.len()].join(", ");
        let sql = format!(
            "INSERT OR REPLACE INTO {table} ({}) VALUES ({marks})",
            rows.columns.join(", ")
        );
        let mut st = self.conn().prepare(&sql)?;
        for row in &rows.rows {
            if row.len() != rows.columns.len() {
                return Err(DbError::Corrupt(format!("备份中表 {table} 的一行列数不符")));
            }
            let values = row.iter().map(|c| match c {
                Cell::Null => rusqlite::types::Value::Null,
                Cell::Int(v) => rusqlite::types::Value::Integer(*v),
                Cell::Real(v) => rusqlite::types::Value::Real(*v),
                Cell::Text(t) => rusqlite::types::Value::Text(t.clone()),
                Cell::Bytes(b) => rusqlite::types::Value::Blob(b.0.clone()),
            });
            st.execute(rusqlite::params_from_iter(values))?;
        }
        Ok(())
    }

    /// Inserts one update-log entry, keeping its position.
    pub fn insert_log(&self, e: &LogEntry) -> Result<(), DbError> {
        let heads = heads_from_hex(&e.heads)
            .ok_or_else(|| DbError::Corrupt(format!("日志第 {} 条的 heads 无效", e.seq)))?;
        self.conn()
            .prepare_cached(
                "INSERT INTO doc_log (seq, doc_id, heads, salesperson, login, device_id, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                e.seq as i64,
                e.doc_id,
                heads_to_blob(&heads),
                e.salesperson,
                e.login,
                e.device_id,
                e.at
            ])?;
        Ok(())
    }

    /// Inserts a document as a snapshot, with its projected row. `seq` is
    /// its newest log position, `updated_at` that entry's time.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_document(
        &self,
        id: &str,
        bytes: &[u8],
        heads: &[ChangeHash],
        seq: u64,
        updated_at: i64,
        projection: &Projection,
    ) -> Result<(), DbError> {
        let summary = &projection.summary;
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO documents (id, snapshot, heads, chunk_count, chunk_bytes, seq, salesperson, updated_at)
             VALUES (?1, ?2, ?3, 0, 0, ?4, ?5, ?6)",
        )?
        .execute(params![
            id,
            bytes,
            heads_to_blob(heads),
            seq as i64,
            summary.salesperson,
            updated_at
        ])?;
        documents::put_row(conn, id, projection)?;
        Ok(())
    }

    /// Gives the restored server a new epoch and commits.
    pub fn finish(mut self) -> Result<String, DbError> {
        let epoch = uuid::Uuid::new_v4().to_string();
        let conn = self.conn();
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('epoch', ?1)",
            [&epoch],
        )?;
        // A database restored before any record existed still needs an actor.
        documents::init_meta(conn)?;
        conn.execute_batch("COMMIT")?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        self.finished = true;
        Ok(epoch)
    }
}

/// Creates the empty database file, readable by its owner only: it holds
/// password hashes, and the target may be a directory the operator made
/// with the usual mode. SQLite gives the `-wal` and `-shm` files it creates
/// beside it the same mode. (On Windows the directory's ACLs apply.)
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path).map(drop)
}

impl Drop for RestoreWriter {
    fn drop(&mut self) {
        // Closed first, so that SQLite leaves no -wal or -shm behind.
        drop(self.conn.take());
        if !self.finished {
            // Not finished: leave no half-restored database behind.
            for suffix in ["", "-wal", "-shm"] {
                let mut p = self.path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }
}
