//! Writing a new server database from a backup (`crm-backup restore`).
//!
//! The whole restore is one transaction on a file that did not exist: it
//! either ends as a complete, migrated server database with a fresh epoch
//! (so every laptop re-lists its documents at its next sync and pushes what
//! the backup lacked), or the file is removed.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use crm_shared::backup::{Cell, LogEntry, TableRows};
use crm_shared::document::heads_to_blob;
use crm_shared::sync::heads_from_hex;
use crm_shared::{ActorId, ChangeHash};

use super::{configure, documents, migrate, DbError, Projection, RECORD_TABLES};

/// Audit tables a restore may write besides the record tables.
const AUDIT_TABLES: &[&str] = &["change_authors", "refused_edits", "access_log"];

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

    /// Gives the restored server a new epoch and a new automerge actor
    /// (the actors it wrote as before are kept in `meta.former_actors`, a
    /// JSON array of hex ids, oldest first), and commits.
    pub fn finish(mut self) -> Result<String, DbError> {
        let epoch = uuid::Uuid::new_v4().to_string();
        let conn = self.conn();
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('epoch', ?1)",
            [&epoch],
        )?;
        new_actor(conn)?;
        // Laptops may hand back changes the lost server had accepted after
        // the backup's copy, signed by head office or another salesperson;
        // sync takes such changes made before this moment (`restored_at`).
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('restored_at', ?1)",
            [chrono::Utc::now().timestamp_millis().to_string()],
        )?;
        // A database restored before any record existed still needs an actor.
        documents::init_meta(conn)?;
        // The documents may have been written before the settings they are
        // reported under arrived with the records.
        crate::reports::rebuild(conn)?;
        conn.execute_batch("COMMIT")?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        self.finished = true;
        Ok(epoch)
    }
}

/// Replaces the server's actor with a new random one and appends the old
/// one to `former_actors`. The lost server may have gone on writing
/// changes as its actor after the backup's last copy; a restored server
/// writing as the same actor would give other changes the same actor and
/// sequence numbers, which automerge takes for the same change.
fn new_actor(conn: &Connection) -> Result<(), DbError> {
    let value = |key: &str| -> rusqlite::Result<Option<String>> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
    };
    let mut former: Vec<String> = match value("former_actors")? {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| DbError::Corrupt(format!("备份中的 former_actors 无法识别:{e}")))?,
        None => Vec::new(),
    };
    if let Some(old) = value("actor")? {
        if !former.contains(&old) {
            former.push(old);
        }
    }
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('actor', ?1)",
        [ActorId::random().to_hex_string()],
    )?;
    if !former.is_empty() {
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('former_actors', ?1)",
            [serde_json::to_string(&former).expect("strings serialise")],
        )?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(conn: &Connection, key: &str) -> Option<String> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .unwrap()
    }

    fn former_actors(conn: &Connection) -> Vec<String> {
        serde_json::from_str(&meta(conn, "former_actors").expect("former_actors is set")).unwrap()
    }

    /// A restore of `from`'s records, as `crm-backup restore` writes it.
    fn restore_records_of(from: &Connection, to: &Path) -> Connection {
        let records = super::super::backup::records(from, 1).unwrap();
        let writer = RestoreWriter::create(to).unwrap();
        for t in &records.tables {
            writer.insert_rows(t).unwrap();
        }
        writer.finish().unwrap();
        Connection::open(to).unwrap()
    }

    #[test]
    fn a_restored_server_writes_as_a_new_actor_and_lists_the_former_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut lost = Connection::open_in_memory().unwrap();
        migrate(&mut lost).unwrap();
        documents::init_meta(&lost).unwrap();
        let first = meta(&lost, "actor").unwrap();

        let restored = restore_records_of(&lost, &dir.path().join("once.sqlite3"));
        let second = meta(&restored, "actor").unwrap();
        assert_ne!(second, first, "the restored server has its own actor");
        ActorId::try_from(second.as_str()).expect("a valid actor id");
        assert_eq!(former_actors(&restored), std::slice::from_ref(&first));

        // Restored again, from a backup of the restored server: the list
        // the backup held, and the actor it was writing as.
        let again = restore_records_of(&restored, &dir.path().join("twice.sqlite3"));
        let third = meta(&again, "actor").unwrap();
        assert!(third != first && third != second);
        assert_eq!(former_actors(&again), [first, second]);
    }
}
