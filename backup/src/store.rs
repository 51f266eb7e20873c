//! The backup node's SQLite file: every SQL statement of `crm-backup`.
//!
//! Layout (`crm-backup.sqlite3` in the backup directory):
//! - `docs`: each customer document as the server last stored it (a complete
//!   automerge document, history included), its SHA-256 and heads.
//! - `log`: the server's update log, entry for entry (point-in-time restore
//!   cuts each document's history at the heads logged before the chosen time).
//! - `audit`: the audit rows sent with the log (who sent which change,
//!   refused edits).
//! - `records`: every copy of the server's records (users, devices, settings)
//!   ever received, with its hash.
//! - `meta`: the server, the credentials, the epoch and the position.
//!
//! Each pull answer is stored in one transaction together with the new
//! position, with `synchronous=FULL`: a kill -9 or a full disk leaves the
//! previous position and its data, and the next pull repeats the rest.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};

use crm_server_db::backup::{log_entry, LOG_COLUMNS};
use crm_shared::backup::{
    content_hash, Cell, LogEntry, PullRequest, PullResponse, Records, TableRows,
};
use crm_shared::document::{heads_from_blob, heads_to_blob};
use crm_shared::sync::heads_from_hex;
use crm_shared::ChangeHash;

use crate::private;

/// The store file's name inside the backup directory.
pub const FILE: &str = "crm-backup.sqlite3";

const MIGRATIONS: &[M<'static>] = &[M::up(
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;
    CREATE TABLE docs (
        id    TEXT PRIMARY KEY NOT NULL,
        data  BLOB NOT NULL,
        hash  BLOB NOT NULL,
        heads BLOB NOT NULL,
        seq   INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE log (
        seq         INTEGER PRIMARY KEY,
        doc_id      TEXT NOT NULL,
        heads       BLOB NOT NULL,
        salesperson TEXT NOT NULL,
        login       TEXT NOT NULL,
        device_id   TEXT,
        at          INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX log_by_doc ON log (doc_id, seq);
    CREATE INDEX log_by_at ON log (at);
    CREATE TABLE audit (
        tbl     TEXT NOT NULL,
        columns TEXT NOT NULL,
        cells   TEXT NOT NULL,
        at      INTEGER NOT NULL,
        UNIQUE (tbl, cells)
    ) STRICT;
    CREATE TABLE records (
        version  INTEGER PRIMARY KEY,
        taken_at INTEGER NOT NULL,
        data     BLOB NOT NULL,
        hash     BLOB NOT NULL
    ) STRICT;",
)];

/// What can go wrong with the backup file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file is not a usable database (damaged, truncated, not ours).
    #[error("备份文件 {path} 无法使用:{source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored value this program cannot read.
    #[error("备份中的数据无法识别:{0}")]
    Corrupt(String),
    /// Any other SQLite error (a full disk among them).
    #[error("备份数据库错误:{0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Where the node follows its server from, as saved by `crm-backup init`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Server URL.
    pub url: String,
    /// `fingerprint:HEX`, `ca:PEM` or `plain`.
    pub trust: String,
    /// The backup operator's login.
    pub login: String,
    /// The device token.
    pub token: String,
}

/// The node's position in the server's log.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    /// The server epoch the copy belongs to.
    pub epoch: Option<String>,
    /// Every log entry up to here is held.
    pub after: u64,
    /// The server's newest position at the last pull.
    pub head: u64,
    /// Local time of the last successful pull (ms).
    pub last_pull_at: Option<i64>,
    /// Records version held.
    pub records_version: Option<i64>,
    /// The audit of access is held up to this row id.
    pub access_after: i64,
}

impl Position {
    /// The pull that continues from here, waiting up to `wait_ms` for news.
    pub fn pull_request(&self, wait_ms: u64) -> PullRequest {
        PullRequest {
            epoch: self.epoch.clone(),
            after: self.after,
            records_version: self.records_version,
            access_after: Some(self.access_after),
            wait_ms,
        }
    }
}

/// One backed-up document.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Customer id.
    pub id: String,
    /// Saved automerge document.
    pub data: Vec<u8>,
    /// SHA-256 recorded when it was stored.
    pub hash: Vec<u8>,
    /// Heads recorded when it was stored.
    pub heads: Vec<ChangeHash>,
}

/// A log entry as kept on the backup.
#[derive(Debug, Clone)]
pub struct Logged {
    /// Log position.
    pub seq: u64,
    /// Heads after this update.
    pub heads: Vec<ChangeHash>,
    /// Time of the update (ms).
    pub at: i64,
}

/// The backup node's store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// The store file in backup directory `dir`.
    pub fn file(dir: &Path) -> PathBuf {
        dir.join(FILE)
    }

    /// Opens (creating) the store in `dir`, for `init` and `run`. The
    /// directory, if created here, and every backup file in it are made
    /// readable by their owner only (see [`crate::private`]).
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = Store::file(dir);
        let open_err = |e: std::io::Error| StoreError::Open {
            path: path.clone(),
            source: e.into(),
        };
        private::create_dir(dir).map_err(open_err)?;
        private::create_file(&path).map_err(open_err)?;
        private::restrict_backup_files(dir).map_err(open_err)?;
        Store::connect(path)
    }

    /// Opens an existing store (status, verify, restore): a missing file
    /// is an error, not a new empty backup. The directory and the modes
    /// are left as they are, so this also opens a copy taken elsewhere.
    pub fn open_existing(dir: &Path) -> Result<Store, StoreError> {
        let path = Store::file(dir);
        if !path.exists() {
            return Err(StoreError::Open {
                path,
                source: "文件不存在(先运行 crm-backup init 和 run)".into(),
            });
        }
        Store::connect(path)
    }

    fn connect(path: PathBuf) -> Result<Store, StoreError> {
        let open_err = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.clone(),
            source: e,
        };
        let mut conn = Connection::open(&path).map_err(|e| open_err(e.into()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| open_err(e.into()))?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            .map_err(|e| open_err(e.into()))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| open_err(e.into()))?;
        Migrations::from_slice(MIGRATIONS)
            .to_latest(&mut conn)
            .map_err(|e| open_err(e.into()))?;
        Ok(Store { conn, path })
    }

    /// Closes the file cleanly: the WAL is folded into the database and
    /// truncated, and SQLite, closing its last connection, removes it. The
    /// database file alone is then the whole backup; a copy of it taken
    /// with a WAL beside it would be an older backup that still verifies.
    pub fn close(self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        self.conn.close().map_err(|(_, e)| StoreError::Sqlite(e))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    // ---- meta ------------------------------------------------------------

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn meta_i64(&self, key: &str) -> Result<Option<i64>, StoreError> {
        self.meta(key)?
            .map(|v| {
                v.parse()
                    .map_err(|_| StoreError::Corrupt(format!("{key} = {v:?}")))
            })
            .transpose()
    }

    /// Saves the server link (replacing an earlier one).
    pub fn set_link(&self, link: &Link) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        for (k, v) in [
            ("url", &link.url),
            ("trust", &link.trust),
            ("login", &link.login),
            ("token", &link.token),
        ] {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![format!("link.{k}"), v],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The saved server link, if `init` was run.
    pub fn link(&self) -> Result<Option<Link>, StoreError> {
        let get = |k: &str| self.meta(&format!("link.{k}"));
        Ok(
            match (get("url")?, get("trust")?, get("login")?, get("token")?) {
                (Some(url), Some(trust), Some(login), Some(token)) => Some(Link {
                    url,
                    trust,
                    login,
                    token,
                }),
                _ => None,
            },
        )
    }

    /// Where the copy stands.
    pub fn position(&self) -> Result<Position, StoreError> {
        Ok(Position {
            epoch: self.meta("epoch")?,
            after: self.meta_i64("after")?.unwrap_or(0) as u64,
            head: self.meta_i64("head")?.unwrap_or(0) as u64,
            last_pull_at: self.meta_i64("last_pull_at")?,
            records_version: self.meta_i64("records_version")?,
            access_after: self.meta_i64("access_after")?.unwrap_or(0),
        })
    }

    /// Notes a pull that brought nothing new (for status).
    pub fn note_contact(&self, head: u64, now: i64) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        set(&tx, "head", &head.to_string())?;
        set(&tx, "last_pull_at", &now.to_string())?;
        tx.commit()?;
        Ok(())
    }

    // ---- following ---------------------------------------------------------

    /// Stores one pull answer and the new position, in one transaction.
    /// Returns the new position (`after`).
    pub fn apply(&mut self, resp: &PullResponse, now: i64) -> Result<u64, StoreError> {
        let tx = self.conn.transaction()?;
        set(&tx, "epoch", &resp.epoch)?;
        {
            let mut log = tx.prepare_cached(
                "INSERT OR IGNORE INTO log (seq, doc_id, heads, salesperson, login, device_id, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for e in &resp.entries {
                log.execute(params![
                    e.seq as i64,
                    e.doc_id,
                    heads_blob(&e.heads, &e.doc_id)?,
                    e.salesperson,
                    e.login,
                    e.device_id,
                    e.at
                ])?;
            }
            let mut doc = tx.prepare_cached(
                "INSERT INTO docs (id, data, hash, heads, seq) VALUES (?1, ?2, ?3, ?4,
                     (SELECT COALESCE(MAX(seq), 0) FROM log WHERE doc_id = ?1))
                 ON CONFLICT (id) DO UPDATE SET data = excluded.data, hash = excluded.hash,
                     heads = excluded.heads, seq = excluded.seq",
            )?;
            for d in &resp.docs {
                doc.execute(params![
                    d.id,
                    d.data.0,
                    &content_hash(&d.data.0)[..],
                    heads_blob(&d.heads, &d.id)?,
                ])?;
            }
            let mut audit = tx.prepare_cached(
                "INSERT OR IGNORE INTO audit (tbl, columns, cells, at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for t in &resp.audit {
                let columns = serde_json::to_string(&t.columns).expect("strings serialise");
                let at_col = t.columns.iter().position(|c| c == "at");
                // The audit of access is followed by row id, apart from the log.
                if t.table == "access_log" {
                    let id_col = t.columns.iter().position(|c| c == "id");
                    let newest = t
                        .rows
                        .iter()
                        .filter_map(|row| match id_col.and_then(|i| row.get(i)) {
                            Some(Cell::Int(id)) => Some(*id),
                            _ => None,
                        })
                        .max();
                    if let Some(id) = newest {
                        set(&tx, "access_after", &id.to_string())?;
                    }
                }
                for row in &t.rows {
                    let at = match at_col.and_then(|i| row.get(i)) {
                        Some(Cell::Int(at)) => *at,
                        _ => 0,
                    };
                    let cells = serde_json::to_string(row).expect("cells serialise");
                    audit.execute(params![t.table, columns, cells, at])?;
                }
            }
        }
        if let Some(r) = &resp.records {
            let data = serde_json::to_vec(r).expect("records serialise");
            tx.execute(
                "INSERT OR REPLACE INTO records (version, taken_at, data, hash) VALUES (?1, ?2, ?3, ?4)",
                params![r.version, resp.server_time, &data, &content_hash(&data)[..]],
            )?;
            set(&tx, "records_version", &r.version.to_string())?;
        }
        let after = match resp.entries.last() {
            Some(e) => e.seq,
            None => self_after(&tx)?,
        };
        set(&tx, "after", &after.to_string())?;
        set(&tx, "head", &resp.head.max(after).to_string())?;
        set(&tx, "last_pull_at", &now.to_string())?;
        tx.commit()?;
        Ok(after)
    }

    // ---- reading -----------------------------------------------------------

    /// Number of documents and log entries held.
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM docs), (SELECT count(*) FROM log)",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }

    /// SQLite's own check of the file's structure: `None` if sound, else
    /// what it found (damaged pages, a truncated file).
    pub fn integrity_problems(&self) -> Result<Option<String>, StoreError> {
        let mut st = self.conn.prepare("PRAGMA integrity_check")?;
        let lines: Vec<String> = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(if lines == ["ok"] {
            None
        } else {
            Some(lines.into_iter().take(5).collect::<Vec<_>>().join(";"))
        })
    }

    /// Ids of all documents held, sorted.
    pub fn doc_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self.conn.prepare("SELECT id FROM docs ORDER BY id")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One document.
    pub fn doc(&self, id: &str) -> Result<Option<Doc>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT id, data, hash, heads FROM docs WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(Doc {
                    id: r.get(0)?,
                    data: r.get(1)?,
                    hash: r.get(2)?,
                    heads: heads_from_blob(&r.get::<_, Vec<u8>>(3)?),
                })
            })
            .optional()?)
    }

    /// A document's log entries up to `upto`, oldest first.
    pub fn logged(&self, id: &str, upto: u64) -> Result<Vec<Logged>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT seq, heads, at FROM log WHERE doc_id = ?1 AND seq <= ?2 ORDER BY seq",
        )?;
        let rows = st.query_map(params![id, upto as i64], |r| {
            Ok(Logged {
                seq: r.get::<_, i64>(0)? as u64,
                heads: heads_from_blob(&r.get::<_, Vec<u8>>(1)?),
                at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Log entries that name a document the backup does not hold.
    pub fn orphan_entries(&self) -> Result<Vec<(u64, String)>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT seq, doc_id FROM log l WHERE NOT EXISTS (SELECT 1 FROM docs d WHERE d.id = l.doc_id)
             ORDER BY seq LIMIT 100",
        )?;
        let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Each document's heads as of log position `upto` (for the summary).
    pub fn heads_as_of(&self, upto: u64) -> Result<Vec<(String, Vec<ChangeHash>)>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT doc_id, heads, max(seq) FROM log WHERE seq <= ?1 GROUP BY doc_id")?;
        let rows = st.query_map([upto as i64], |r| {
            Ok((r.get(0)?, heads_from_blob(&r.get::<_, Vec<u8>>(1)?)))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The newest log position at or before time `at` (ms), 0 if none.
    pub fn seq_at_time(&self, at: i64) -> Result<u64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(seq), 0) FROM log WHERE at <= ?1",
            [at],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Log entries up to `upto`, oldest first.
    pub fn entries(&self, upto: u64) -> Result<Vec<LogEntry>, StoreError> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {LOG_COLUMNS} FROM log WHERE seq <= ?1 ORDER BY seq"
        ))?;
        let rows = st.query_map([upto as i64], log_entry)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Audit rows recorded at or before `at` (ms), grouped per table.
    pub fn audit_until(&self, at: i64) -> Result<Vec<TableRows>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT tbl, columns, cells FROM audit WHERE at <= ?1 ORDER BY tbl, rowid")?;
        let mut rows = st.query([at])?;
        let mut out: Vec<TableRows> = Vec::new();
        while let Some(r) = rows.next()? {
            let table: String = r.get(0)?;
            let columns: Vec<String> = parse_json(&r.get::<_, String>(1)?)?;
            let cells: Vec<Cell> = parse_json(&r.get::<_, String>(2)?)?;
            match out.last_mut() {
                Some(t) if t.table == table && t.columns == columns => t.rows.push(cells),
                _ => out.push(TableRows {
                    table,
                    columns,
                    rows: vec![cells],
                }),
            }
        }
        Ok(out)
    }

    /// The newest records copy taken at or before `at` (ms), checked
    /// against its hash; `None` if every copy is newer.
    pub fn records_at(&self, at: i64) -> Result<Option<Records>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT data, hash, version FROM records WHERE taken_at <= ?1
                 ORDER BY version DESC LIMIT 1",
                [at],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )
            .optional()?;
        let Some((data, hash, version)) = row else {
            return Ok(None);
        };
        if content_hash(&data)[..] != hash[..] {
            return Err(StoreError::Corrupt(format!(
                "用户与设备记录(版本 {version})的校验值不符,文件已损坏"
            )));
        }
        Ok(Some(parse_json(&data)?))
    }

    /// When the oldest records copy was taken (ms, server time): the
    /// earliest moment whose users, devices and settings the backup knows.
    pub fn records_began(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT MIN(taken_at) FROM records", [], |r| r.get(0))?)
    }

    /// Every records copy whose bytes no longer match their hash.
    pub fn damaged_records(&self) -> Result<Vec<i64>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT version, data, hash FROM records")?;
        let mut rows = st.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let data: Vec<u8> = r.get(1)?;
            let hash: Vec<u8> = r.get(2)?;
            if content_hash(&data)[..] != hash[..] {
                out.push(r.get(0)?);
            }
        }
        Ok(out)
    }
}

fn set(tx: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
        .execute(params![key, value])?;
    Ok(())
}

fn self_after(tx: &Connection) -> Result<u64, StoreError> {
    let v: Option<String> = tx
        .query_row("SELECT value FROM meta WHERE key = 'after'", [], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

fn heads_blob(hex: &[String], id: &str) -> Result<Vec<u8>, StoreError> {
    heads_from_hex(hex)
        .map(|h| heads_to_blob(&h))
        .ok_or_else(|| StoreError::Corrupt(format!("服务器发来的客户 {id} 的 heads 无效")))
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: impl AsRef<[u8]>) -> Result<T, StoreError> {
    serde_json::from_slice(bytes.as_ref()).map_err(|e| StoreError::Corrupt(e.to_string()))
}
