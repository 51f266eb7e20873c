//! The central server's SQLite store: every SQL statement of the server
//! lives here, and nothing else does. It knows nothing of HTTP, sign-in or
//! sync: those are `crm-server`'s; a backup node links this crate alone to
//! restore a server database.
//!
//! Why one module: the schema, its migrations and the queries that depend on
//! them change together, and a reader should find all of them in one place.
//! Handlers and admin commands call the async methods of [`Db`]; none of them
//! sees a connection. Each method runs on a blocking thread (see [`pool`]).
//!
//! **Architecture Invariant:** [`MIGRATIONS`] is append-only. A released
//! migration is never edited or reordered; a schema change is a new entry at
//! the end. The database's `PRAGMA user_version` records how many ran.
//!
//! Durability: WAL journal, `synchronous=FULL` (a committed write survives a
//! power cut), foreign keys on, and a busy timeout for the rare writer from
//! another process (an admin command while the server runs).

pub mod access;
pub mod activities;
pub mod backup;
pub mod complaints;
mod data_dir;
pub use data_dir::DataDir;
pub mod documents;
pub use documents::{ListFilter, ListOrder, Projection};
mod pool;
pub mod reports;
pub mod restore;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crm_shared::codes::{Position, Role};
use crm_shared::settings::Settings;
use crm_shared::sync::VersionedSettings;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use rusqlite_migration::{Migrations, M};
use uuid::Uuid;

/// The schema, oldest first. Append only; never edit an entry (see module docs).
pub const MIGRATIONS: &[M<'static>] = &[
    // 1: users and their devices.
    M::up(
        "CREATE TABLE users (
            login               TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,
            display_name        TEXT NOT NULL,
            role                TEXT NOT NULL,
            password_hash       TEXT NOT NULL,
            password_expires_at INTEGER,
            disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
            created_at          INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE devices (
            id           TEXT PRIMARY KEY NOT NULL,
            login        TEXT NOT NULL REFERENCES users (login),
            name         TEXT NOT NULL,
            token_hash   BLOB NOT NULL UNIQUE,
            created_at   INTEGER NOT NULL,
            last_seen_at INTEGER,
            revoked_at   INTEGER
        ) STRICT;
        CREATE INDEX devices_by_login ON devices (login);",
    ),
    // 2: customer documents, the update log that sync and backup follow,
    // who sent each change, and the head-office projection.
    M::up(
        "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;
        CREATE TABLE documents (
            id          TEXT PRIMARY KEY NOT NULL,
            snapshot    BLOB NOT NULL,
            heads       BLOB NOT NULL,
            chunk_count INTEGER NOT NULL DEFAULT 0,
            chunk_bytes INTEGER NOT NULL DEFAULT 0,
            seq         INTEGER NOT NULL,
            salesperson TEXT NOT NULL,
            updated_at  INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX documents_by_seq ON documents (seq);
        CREATE INDEX documents_by_salesperson ON documents (salesperson, seq);
        CREATE TABLE doc_chunks (
            doc_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            seq    INTEGER NOT NULL,
            data   BLOB NOT NULL,
            PRIMARY KEY (doc_id, seq)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE doc_log (
            seq         INTEGER PRIMARY KEY,
            doc_id      TEXT NOT NULL,
            heads       BLOB NOT NULL,
            salesperson TEXT NOT NULL,
            login       TEXT NOT NULL,
            device_id   TEXT,
            at          INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX doc_log_by_doc ON doc_log (doc_id, seq);
        CREATE INDEX doc_log_by_salesperson ON doc_log (salesperson, doc_id);
        CREATE TABLE change_authors (
            hash      BLOB PRIMARY KEY NOT NULL,
            doc_id    TEXT NOT NULL,
            login     TEXT NOT NULL,
            device_id TEXT,
            at        INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE refused_edits (
            id        INTEGER PRIMARY KEY,
            doc_id    TEXT NOT NULL,
            path      TEXT NOT NULL,
            attempted TEXT,
            login     TEXT NOT NULL,
            device_id TEXT,
            at        INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE customers (
            id          TEXT PRIMARY KEY NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            name        TEXT NOT NULL,
            salesperson TEXT NOT NULL,
            region      TEXT NOT NULL,
            status      TEXT NOT NULL,
            grade       TEXT,
            tier        TEXT,
            search      TEXT NOT NULL,
            conflicts   INTEGER NOT NULL,
            summary     TEXT NOT NULL
        ) STRICT;
        CREATE INDEX customers_by_name ON customers (name);
        CREATE INDEX customers_by_salesperson ON customers (salesperson);
        CREATE INDEX customers_with_conflicts ON customers (id) WHERE conflicts > 0;",
    ),
    // 3: what the backup node follows besides the log: audit rows by
    // document and time, and a version that moves whenever a record (user,
    // device) changes. A device's last_seen_at is left out on purpose: it
    // changes on every sync and would make the backup re-copy all records.
    M::up(
        "CREATE INDEX change_authors_by_doc ON change_authors (doc_id, at);
        CREATE INDEX refused_edits_by_doc ON refused_edits (doc_id, at);
        INSERT OR IGNORE INTO meta (key, value) VALUES ('records_version', '1');
        CREATE TRIGGER users_insert_bumps_records AFTER INSERT ON users BEGIN
            UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'records_version';
        END;
        CREATE TRIGGER users_update_bumps_records AFTER UPDATE ON users BEGIN
            UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'records_version';
        END;
        CREATE TRIGGER users_delete_bumps_records AFTER DELETE ON users BEGIN
            UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'records_version';
        END;
        CREATE TRIGGER devices_insert_bumps_records AFTER INSERT ON devices BEGIN
            UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'records_version';
        END;
        CREATE TRIGGER devices_update_bumps_records AFTER UPDATE OF login, name, token_hash, revoked_at ON devices BEGIN
            UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'records_version';
        END;
        CREATE TRIGGER devices_delete_bumps_records AFTER DELETE ON devices BEGIN
            UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'records_version';
        END;",
    ),
    // 4: the business rules. A user's position on the credit approval
    // chain; each customer's slimmed card for head office's rule reports
    // (filled on every write, and at start for rows written before this
    // migration); the credit requests on the cards, with their decisions,
    // so that head office can list them and sync can tell a forged decision.
    // Company settings live in `meta` ('settings'), and changing them moves
    // the records version so the backup copies them.
    M::up(
        "ALTER TABLE users ADD COLUMN position TEXT;
        ALTER TABLE customers ADD COLUMN rules TEXT NOT NULL DEFAULT '';
        CREATE TABLE credit_requests (
            doc_id      TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            request_id  TEXT NOT NULL,
            salesperson TEXT NOT NULL,
            at          INTEGER NOT NULL,
            request     TEXT NOT NULL,
            PRIMARY KEY (doc_id, request_id)
        ) STRICT;
        CREATE TRIGGER settings_insert_bumps_records AFTER INSERT ON meta WHEN NEW.key = 'settings' BEGIN
            UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'records_version';
        END;
        CREATE TRIGGER settings_update_bumps_records AFTER UPDATE ON meta WHEN NEW.key = 'settings' BEGIN
            UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'records_version';
        END;",
    ),
    // 5: the list row keeps only what the console filters, sorts and
    // searches on; the JSON (summary, slimmed card) moves to its own table.
    // Measured at 100,000 customers: a search scanned ~2.5 KB rows (300 ms);
    // the narrow rows make the same scan a few MB.
    M::up(
        "CREATE TABLE customer_details (
            id      TEXT PRIMARY KEY NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            summary TEXT NOT NULL,
            rules   TEXT NOT NULL DEFAULT ''
        ) STRICT;
        INSERT INTO customer_details (id, summary, rules) SELECT id, summary, rules FROM customers;
        ALTER TABLE customers DROP COLUMN summary;
        ALTER TABLE customers DROP COLUMN rules;
        CREATE INDEX customers_by_region ON customers (region);",
    ),
    // 6: a trigram full-text index over the search text, so a search of
    // three or more characters (any script) finds its rows without scanning
    // every customer (measured 180 ms at 100,000 customers as a LIKE scan).
    // Kept in step with `customers` by triggers.
    M::up(
        "CREATE VIRTUAL TABLE customer_search USING fts5(
            search, content = 'customers', content_rowid = 'rowid', tokenize = 'trigram'
        );
        INSERT INTO customer_search (customer_search) VALUES ('rebuild');
        CREATE TRIGGER customers_search_insert AFTER INSERT ON customers BEGIN
            INSERT INTO customer_search (rowid, search) VALUES (NEW.rowid, NEW.search);
        END;
        CREATE TRIGGER customers_search_update AFTER UPDATE OF search ON customers BEGIN
            INSERT INTO customer_search (customer_search, rowid, search) VALUES ('delete', OLD.rowid, OLD.search);
            INSERT INTO customer_search (rowid, search) VALUES (NEW.rowid, NEW.search);
        END;
        CREATE TRIGGER customers_search_delete AFTER DELETE ON customers BEGIN
            INSERT INTO customer_search (customer_search, rowid, search) VALUES ('delete', OLD.rowid, OLD.search);
        END;",
    ),
    // 7: the index is rewritten only when the search text really changed.
    // Every stored push upserts the row, and a visit leaves the text as it
    // was; re-indexing its trigrams anyway was half of storing a document.
    M::up(
        "DROP TRIGGER customers_search_update;
        CREATE TRIGGER customers_search_update AFTER UPDATE OF search ON customers
        WHEN OLD.search IS NOT NEW.search BEGIN
            INSERT INTO customer_search (customer_search, rowid, search) VALUES ('delete', OLD.rowid, OLD.search);
            INSERT INTO customer_search (rowid, search) VALUES (NEW.rowid, NEW.search);
        END;",
    ),
    // 8: the log-order index also holds each document's salesperson and id,
    // so that finding the customers a laptop lost since its cursor reads
    // only the index. Through the table, each changed document cost a page
    // read or more: its salesperson is stored after the snapshot.
    M::up(
        "DROP INDEX documents_by_seq;
        CREATE INDEX documents_by_seq ON documents (seq, salesperson, id);",
    ),
    // 9: how far each laptop actor's history has reached (see
    // `crm_shared::sync::Lineage`), so that a copy of a store that went back
    // in time is told to write under a fresh actor.
    M::up(
        "CREATE TABLE actor_marks (
            actor TEXT PRIMARY KEY NOT NULL,
            mark  TEXT NOT NULL,
            login TEXT NOT NULL,
            at    INTEGER NOT NULL
        ) STRICT;",
    ),
    // 10: the doors. Failed sign-ins per login as typed (an account that
    // does not exist is counted the same, so that the answer never tells
    // which exist) and the lock they lead to; the audit of access, which
    // the backup follows by id; a password an administrator reset must be
    // changed at the next sign-in.
    M::up(
        "CREATE TABLE sign_in_failures (
            login           TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,
            failures        INTEGER NOT NULL,
            last_failure_at INTEGER NOT NULL,
            locked_until    INTEGER
        ) STRICT;
        CREATE TABLE access_log (
            id        INTEGER PRIMARY KEY,
            at        INTEGER NOT NULL,
            kind      TEXT NOT NULL,
            login     TEXT NOT NULL,
            by_login  TEXT,
            address   TEXT,
            device_id TEXT,
            detail    TEXT NOT NULL DEFAULT ''
        ) STRICT;
        CREATE INDEX access_log_by_at ON access_log (at);
        CREATE INDEX access_log_by_login ON access_log (login COLLATE NOCASE, at);
        ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0
            CHECK (must_change_password IN (0, 1));",
    ),
    // 11: the console's list sorts by name in pinyin order, credit limit,
    // grade, next follow-up and last activity: each a column of the row,
    // kept with it on every write, with an index so that a page of a
    // sorted list reads only that page. `sort_name` is filled for rows
    // older than this by `migrate`, which has the pinyin table.
    M::up(
        "ALTER TABLE customers ADD COLUMN sort_name TEXT NOT NULL DEFAULT '';
        ALTER TABLE customers ADD COLUMN credit_limit INTEGER;
        ALTER TABLE customers ADD COLUMN next_followup TEXT;
        ALTER TABLE customers ADD COLUMN last_activity_at INTEGER;
        UPDATE customers SET
            credit_limit = (SELECT json_extract(d.summary, '$.credit_limit')
                            FROM customer_details d WHERE d.id = customers.id),
            next_followup = (SELECT json_extract(d.summary, '$.next_followup')
                             FROM customer_details d WHERE d.id = customers.id),
            last_activity_at = (SELECT json_extract(d.summary, '$.last_activity_at')
                                FROM customer_details d WHERE d.id = customers.id);
        CREATE INDEX customers_by_sort_name ON customers (sort_name, id);
        CREATE INDEX customers_by_credit_limit ON customers (credit_limit, id);
        CREATE INDEX customers_by_grade ON customers (grade, id);
        CREATE INDEX customers_by_next_followup ON customers (next_followup, id);
        CREATE INDEX customers_by_last_activity ON customers (last_activity_at, id);",
    ),
    // 12: 工作台 and the follow-up report count customers by grade (with
    // their credit) and overdue follow-ups by salesperson over the whole
    // archive; these indexes hold every column those counts read, so
    // SQLite answers from the index without visiting 100,000 rows.
    M::up(
        "CREATE INDEX customers_grade_credit ON customers (grade, credit_limit);
        CREATE INDEX customers_salesperson_followup ON customers (salesperson, next_followup);",
    ),
    // 13: the grade table and the warnings read a page of rows kept per
    // customer on each write (`reports`), not every card. Filled by
    // `reports::rebuild_if_stale`, which `migrate` runs.
    M::up(
        "CREATE TABLE warning_rows (
            customer_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            rule TEXT NOT NULL,
            active_from TEXT NOT NULL,
            sort_name TEXT NOT NULL,
            PRIMARY KEY (customer_id, seq)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX warning_rows_by_rule ON warning_rows (rule, active_from);
        CREATE INDEX warning_rows_by_rule_name
            ON warning_rows (rule, sort_name, customer_id, seq, active_from);
        CREATE TABLE grade_rows (
            customer_id TEXT PRIMARY KEY NOT NULL,
            grade TEXT,
            valid_from TEXT NOT NULL,
            valid_until TEXT NOT NULL,
            row TEXT NOT NULL
        ) STRICT;
        CREATE INDEX grade_rows_by_grade ON grade_rows (grade);
        CREATE INDEX grade_rows_by_customer ON grade_rows (customer_id, grade);
        CREATE INDEX grade_rows_until ON grade_rows (valid_until);
        CREATE INDEX grade_rows_from ON grade_rows (valid_from);",
    ),
    // 14: the monthly complaint statistics and 工作台's chart count the
    // complaint rows kept per customer (`reports`). Forgetting which
    // settings the report rows follow makes `migrate` rebuild them all,
    // which fills these.
    M::up(
        "CREATE TABLE complaint_rows (
            customer_id TEXT NOT NULL,
            complaint_id TEXT NOT NULL,
            month TEXT NOT NULL,
            category TEXT,
            closed INTEGER NOT NULL,
            satisfied INTEGER,
            PRIMARY KEY (customer_id, complaint_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX complaint_rows_by_month ON complaint_rows (month);
        DELETE FROM meta WHERE key = 'reports_settings';",
    ),
    // 15: complaints are cases with steps: the rows keep the whole
    // complaint and the step it waits for, for the complaints list and for
    // the server's record of head office's part (`complaints`). Emptied
    // here and filled from the documents by `complaints::fill_if_needed`.
    M::up(
        "ALTER TABLE complaint_rows ADD COLUMN at INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE complaint_rows ADD COLUMN stage TEXT NOT NULL DEFAULT '';
        ALTER TABLE complaint_rows ADD COLUMN body TEXT NOT NULL DEFAULT '';
        CREATE INDEX complaint_rows_by_at ON complaint_rows (at);
        DELETE FROM complaint_rows;
        INSERT INTO meta (key, value) VALUES ('complaint_rows_fill', '1')
            ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
    ),
    // 16: 工作台's visits per week per salesperson sum the activity
    // weeks kept per customer (`activities`), filled once from the
    // documents by `activities::fill_if_needed`.
    M::up(
        "CREATE TABLE activity_weeks (
            customer_id TEXT NOT NULL,
            week TEXT NOT NULL,
            by TEXT NOT NULL,
            kind TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (customer_id, week, by, kind)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX activity_weeks_by_week ON activity_weeks (week, kind, by, n);
        INSERT INTO meta (key, value) VALUES ('activity_weeks_fill', '1')
            ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
    ),
];

/// The server's own records: copied whole to the backup node whenever
/// `meta.records_version` moves (triggers in migration 3 move it), and
/// restored whole. Every other table is a document table that the backup
/// follows through the update log. A test checks each table is one or the
/// other, so a new table cannot be forgotten by the backup.
pub const RECORD_TABLES: &[&str] = &["users", "devices", "meta"];

/// Tables the backup follows through the update log (see [`RECORD_TABLES`]).
pub const DOCUMENT_TABLES: &[&str] = &[
    "documents",
    "doc_chunks",
    "doc_log",
    "change_authors",
    "refused_edits",
    "customers",
    "customer_details",
    "credit_requests",
    // What the rule reports keep per customer: derived, rewritten by
    // `documents::put_row` as rows are restored.
    "warning_rows",
    "grade_rows",
    "complaint_rows",
    "activity_weeks",
    // The full-text index over `customers.search` and its shadow tables:
    // derived, rebuilt by the triggers as rows are restored.
    "customer_search",
    "customer_search_data",
    "customer_search_idx",
    "customer_search_docsize",
    "customer_search_config",
];

/// Tables that stay with this server and are not backed up: losing them in
/// a restore costs nothing (an actor with no mark is simply accepted).
pub const LOCAL_TABLES: &[&str] = &["actor_marks", "sign_in_failures"];

/// Append-only audit tables the backup follows by row id, apart from the
/// log (see `db::backup::pull`).
pub const ACCESS_TABLES: &[&str] = &["access_log"];

/// Read-only connections beside the single writer.
const READERS: usize = 4;

/// How long a statement waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection: more than this module has.
const STATEMENT_CACHE: usize = 256;

/// What can go wrong in the store. Handlers map it with `AppError::from`.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The row asked for does not exist.
    #[error("找不到记录")]
    NotFound,
    /// A row with the same key exists already.
    #[error("记录已存在")]
    AlreadyExists,
    /// Another process held the database longer than the busy timeout.
    #[error("数据库忙,请稍后再试")]
    Busy,
    /// The database was written by a newer `crm-server`.
    #[error("数据库结构版本 {found} 比本程序认识的版本 {known} 新,请升级 crm-server")]
    TooNew {
        /// Migrations recorded in the database.
        found: usize,
        /// Migrations this program knows.
        known: usize,
    },
    /// A stored value this program cannot read (e.g. an unknown role code).
    #[error("数据库中有无法识别的值:{0}")]
    Corrupt(String),
    /// Opening or migrating the database failed.
    #[error("无法打开数据库 {path}:{source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Any other SQLite error.
    #[error("数据库错误:{0}")]
    Sqlite(#[source] rusqlite::Error),
    /// The blocking task running the query failed.
    #[error("数据库任务失败:{0}")]
    Task(String),
    /// The runtime is shutting down.
    #[error("数据库已关闭")]
    Closed,
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
        match e.sqlite_error_code() {
            Some(DatabaseBusy | DatabaseLocked) => DbError::Busy,
            _ => DbError::Sqlite(e),
        }
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login name; unique regardless of ASCII case.
    pub login: String,
    /// Name shown to people (姓名).
    pub display_name: String,
    /// What the user may see and change.
    pub role: Role,
    /// When the password stops being accepted at login (ms), if ever.
    pub password_expires_at: Option<i64>,
    /// A disabled user can neither log in nor use existing devices.
    pub disabled: bool,
    /// Creation time (ms).
    pub created_at: i64,
    /// Position on the credit approval chain, if any.
    pub position: Option<Position>,
    /// An administrator reset the password: it must be changed before the
    /// account is used.
    pub must_change_password: bool,
}

/// An argon2id password hash in PHC string form (`$argon2id$v=19$...`),
/// as stored; made and checked in `crate::credentials`. Its `Debug` does
/// not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<hidden>)")
    }
}

impl PasswordHash {
    /// Wraps a PHC string (read from the database, or just computed).
    pub fn from_stored(hash: String) -> PasswordHash {
        PasswordHash(hash)
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new account for [`Db::insert_user`].
#[derive(Debug)]
pub struct NewUser {
    /// Login name.
    pub login: String,
    /// Name shown to people.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// The argon2 hash of the initial password.
    pub password_hash: PasswordHash,
    /// When the password expires (ms), if ever.
    pub password_expires_at: Option<i64>,
    /// Position on the credit approval chain, if any.
    pub position: Option<Position>,
    /// Whether the holder must choose a new password at first sign-in
    /// (an administrator chose this one in the console and has seen it).
    pub must_change_password: bool,
}

/// A laptop (or other client) that logged in and holds a bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Device id, given out at login.
    pub id: Uuid,
    /// The user it belongs to.
    pub login: String,
    /// Name the client gave at login.
    pub name: String,
    /// Login time (ms).
    pub created_at: i64,
    /// Last authenticated request (ms), updated at most once a minute.
    pub last_seen_at: Option<i64>,
    /// When an administrator revoked it (ms).
    pub revoked_at: Option<i64>,
}

/// A device to record at login; only the token's hash is stored.
#[derive(Debug)]
pub struct NewDevice {
    /// Device id.
    pub id: Uuid,
    /// The user logging in.
    pub login: String,
    /// Name the client gave.
    pub name: String,
    /// SHA-256 of the bearer token.
    pub token_hash: [u8; 32],
    /// Login time (ms).
    pub created_at: i64,
}

/// The device a bearer token belongs to, with its user.
#[derive(Debug, Clone)]
pub struct TokenOwner {
    /// The device.
    pub device: Device,
    /// Its user.
    pub user: User,
}

/// Numbers for `GET /status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// User accounts.
    pub users: u64,
    /// Devices not revoked.
    pub devices: u64,
}

/// Handle to the server's database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: std::sync::Arc<pool::Pool>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (creating if needed) the database file and brings its schema up
    /// to date. The parent directory must exist.
    pub async fn open(path: &Path) -> Result<Db, DbError> {
        let path = path.to_path_buf();
        let pool = tokio::task::spawn_blocking(move || open_pool(&path))
            .await
            .map_err(|e| DbError::Task(e.to_string()))??;
        Ok(Db {
            pool: std::sync::Arc::new(pool),
        })
    }

    /// Runs `f` in one writer transaction, with the caller's error type;
    /// the sync engine uses it so a refused push leaves nothing behind.
    pub async fn write_with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.pool.write_with(f).await
    }

    /// Wakes whenever a write commits (a waiting backup pull listens).
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.pool.commits()
    }

    /// Runs `f` on a read-only connection, with the caller's error type.
    pub async fn read_with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.pool.read_with(f).await
    }

    // ---- users -------------------------------------------------------------

    /// Adds a user; [`DbError::AlreadyExists`] if the login is taken.
    pub async fn insert_user(&self, user: NewUser) -> Result<(), DbError> {
        self.pool
            .write(move |tx| {
                let inserted = tx.execute(
                    "INSERT INTO users (login, display_name, role, password_hash,
                                        password_expires_at, disabled, created_at, position,
                                        must_change_password)
                     VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8)
                     ON CONFLICT (login) DO NOTHING",
                    params![
                        user.login,
                        user.display_name,
                        user.role.code(),
                        user.password_hash.as_str(),
                        user.password_expires_at,
                        chrono::Utc::now().timestamp_millis(),
                        user.position.map(|p| p.code()),
                        user.must_change_password,
                    ],
                )?;
                if inserted == 0 {
                    return Err(DbError::AlreadyExists);
                }
                Ok(())
            })
            .await
    }

    /// The user with this login (any ASCII case), if any.
    pub async fn user(&self, login: &str) -> Result<Option<User>, DbError> {
        Ok(self.user_credentials(login).await?.map(|(user, _)| user))
    }

    /// The user with this login and their password hash, for login.
    pub async fn user_credentials(
        &self,
        login: &str,
    ) -> Result<Option<(User, PasswordHash)>, DbError> {
        let login = login.to_owned();
        self.pool
            .read(move |conn| {
                conn.query_row(
                    &format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE login = ?1"),
                    [login],
                    |row| Ok((user_from_row(row), row.get::<_, String>(8)?)),
                )
                .optional()?
                .map(|(user, hash)| Ok((user?, PasswordHash::from_stored(hash))))
                .transpose()
            })
            .await
    }

    /// All users, by login.
    pub async fn users(&self) -> Result<Vec<User>, DbError> {
        self.pool
            .read(|conn| {
                let mut stmt =
                    conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY login"))?;
                let rows = stmt.query_map([], |row| Ok(user_from_row(row)))?;
                rows.map(|r| r?).collect()
            })
            .await
    }

    /// Replaces a user's password hash and its expiry; `must_change`: the
    /// holder must choose a new one at the next sign-in (an administrator
    /// set this one). `event` is written to the audit with it.
    pub async fn set_password(
        &self,
        login: &str,
        hash: PasswordHash,
        expires_at: Option<i64>,
        must_change: bool,
        event: access::AccessEvent,
    ) -> Result<(), DbError> {
        let login = login.to_owned();
        self.pool
            .write(move |tx| {
                let n = tx.execute(
                    "UPDATE users SET password_hash = ?2, password_expires_at = ?3,
                         must_change_password = ?4 WHERE login = ?1",
                    params![login, hash.as_str(), expires_at, must_change],
                )?;
                found(n)?;
                access::record(tx, &event)?;
                Ok(())
            })
            .await
    }

    /// Disables or re-enables a user.
    pub async fn set_disabled(&self, login: &str, disabled: bool) -> Result<(), DbError> {
        let login = login.to_owned();
        self.pool
            .write(move |tx| {
                let n = tx.execute(
                    "UPDATE users SET disabled = ?2 WHERE login = ?1",
                    params![login, disabled],
                )?;
                found(n)
            })
            .await
    }

    /// Sets or clears a user's position on the credit approval chain.
    pub async fn set_position(
        &self,
        login: &str,
        position: Option<Position>,
    ) -> Result<(), DbError> {
        let login = login.to_owned();
        self.pool
            .write(move |tx| {
                found(tx.execute(
                    "UPDATE users SET position = ?2 WHERE login = ?1",
                    params![login, position.map(|p| p.code())],
                )?)
            })
            .await
    }

    /// Changes a user's role.
    pub async fn set_role(&self, login: &str, role: Role) -> Result<(), DbError> {
        let login = login.to_owned();
        self.pool
            .write(move |tx| {
                found(tx.execute(
                    "UPDATE users SET role = ?2 WHERE login = ?1",
                    params![login, role.code()],
                )?)
            })
            .await
    }

    // ---- company settings -------------------------------------------------

    /// The company settings and their version (defaults, version 0, until set).
    pub async fn settings(&self) -> Result<VersionedSettings, DbError> {
        self.pool.read(|conn| Ok(documents::settings(conn)?)).await
    }

    /// Replaces the company settings (already validated); returns the new
    /// version once the kept report rows follow it. The rows are rewritten
    /// [`reports::REBUILD_STEP`] customers per transaction, so that syncs
    /// are not kept waiting for the whole archive (about 5 s at 100,000
    /// customers); meanwhile the warnings of customers not yet rewritten
    /// follow the old settings.
    pub async fn set_settings(&self, settings: Settings) -> Result<u64, DbError> {
        let version = self
            .pool
            .write(move |tx| Ok(documents::set_settings(tx, &settings)?))
            .await?;
        let mut after = String::new();
        loop {
            let from = std::mem::take(&mut after);
            let step = self
                .pool
                .write(move |tx| Ok(reports::rebuild_some(tx, &from, reports::REBUILD_STEP)?))
                .await?;
            match step {
                Some((last, _)) => after = last,
                None => break,
            }
        }
        self.pool
            .write(move |tx| Ok(reports::finish_rebuild(tx, version)?))
            .await?;
        Ok(version)
    }

    // ---- devices -----------------------------------------------------------

    /// Records a device created by a login, with its audit entry.
    pub async fn insert_device(
        &self,
        device: NewDevice,
        event: access::AccessEvent,
    ) -> Result<(), DbError> {
        self.pool
            .write(move |tx| {
                access::record(tx, &event)?;
                tx.execute(
                    "INSERT INTO devices (id, login, name, token_hash, created_at, last_seen_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    params![
                        device.id.to_string(),
                        device.login,
                        device.name,
                        &device.token_hash[..],
                        device.created_at,
                    ],
                )?;
                Ok(())
            })
            .await
    }

    /// The device holding the token with this hash, and its user.
    pub async fn token_owner(&self, token_hash: [u8; 32]) -> Result<Option<TokenOwner>, DbError> {
        self.pool
            .read(move |conn| {
                conn.query_row(
                    &format!(
                        "SELECT {DEVICE_COLUMNS}, {USER_COLUMNS_U}
                         FROM devices d JOIN users u ON u.login = d.login
                         WHERE d.token_hash = ?1"
                    ),
                    [&token_hash[..]],
                    |row| Ok((device_from_row(row), user_from_row_at(row, 6))),
                )
                .optional()?
                .map(|(device, user)| {
                    Ok(TokenOwner {
                        device: device?,
                        user: user?,
                    })
                })
                .transpose()
            })
            .await
    }

    /// Notes that a device was seen at `now` (ms).
    pub async fn touch_device(&self, id: Uuid, now: i64) -> Result<(), DbError> {
        self.pool
            .write(move |tx| {
                tx.execute(
                    "UPDATE devices SET last_seen_at = ?2 WHERE id = ?1",
                    params![id.to_string(), now],
                )?;
                Ok(())
            })
            .await
    }

    /// All devices, newest first.
    pub async fn devices(&self) -> Result<Vec<Device>, DbError> {
        self.pool
            .read(|conn| {
                let mut stmt = conn.prepare(&format!(
                    "SELECT {DEVICE_COLUMNS} FROM devices d ORDER BY d.created_at DESC, d.id"
                ))?;
                let rows = stmt.query_map([], |row| Ok(device_from_row(row)))?;
                rows.map(|r| r?).collect()
            })
            .await
    }

    /// Revokes a device at `now` (ms) and returns it, writing the audit
    /// entry `event` makes of it in the same transaction, so that no device
    /// is revoked unrecorded. Revoking twice keeps the first time and
    /// writes nothing more. [`DbError::NotFound`] if there is no such device.
    pub async fn revoke_device(
        &self,
        id: Uuid,
        now: i64,
        event: impl FnOnce(&Device) -> access::AccessEvent + Send + 'static,
    ) -> Result<Device, DbError> {
        self.pool
            .write(move |tx| {
                let id = id.to_string();
                let revoked = tx.execute(
                    "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    params![id, now],
                )?;
                let device = tx
                    .query_row(
                        &format!("SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.id = ?1"),
                        [id],
                        |row| Ok(device_from_row(row)),
                    )
                    .optional()?
                    .ok_or(DbError::NotFound)??;
                if revoked > 0 {
                    access::record(tx, &event(&device))?;
                }
                Ok(device)
            })
            .await
    }

    /// How many users and live devices exist.
    pub async fn counts(&self) -> Result<Counts, DbError> {
        self.pool
            .read(|conn| {
                let (users, devices): (i64, i64) = conn.query_row(
                    "SELECT (SELECT count(*) FROM users),
                            (SELECT count(*) FROM devices WHERE revoked_at IS NULL)",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?;
                Ok(Counts {
                    users: users.unsigned_abs(),
                    devices: devices.unsigned_abs(),
                })
            })
            .await
    }
}

/// Every account, by login, read on `conn` (inside the caller's
/// transaction: what a person typed as a customer's salesperson is checked
/// against the accounts of that moment).
pub fn users_on(conn: &Connection) -> Result<Vec<User>, DbError> {
    let mut stmt = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY login"))?;
    let rows = stmt.query_map([], |row| Ok(user_from_row(row)))?;
    rows.map(|r| r?).collect()
}

// ---- opening -----------------------------------------------------------------

fn open_pool(path: &Path) -> Result<pool::Pool, DbError> {
    let open_err = |source: Box<dyn std::error::Error + Send + Sync>| DbError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut writer = Connection::open(path).map_err(|e| open_err(e.into()))?;
    configure(&writer).map_err(|e| open_err(e.into()))?;
    // WAL is a property of the file: set once, by the writer.
    writer
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        .map_err(|e| open_err(e.into()))?;
    migrate(&mut writer).map_err(|e| match e {
        e @ DbError::TooNew { .. } => e,
        other => open_err(other.into()),
    })?;
    documents::init_meta(&writer).map_err(|e| open_err(e.into()))?;
    documents::add_pinyin_to_search(&mut writer).map_err(|e| open_err(e.into()))?;

    let readers = (0..READERS)
        .map(|_| {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            configure(&conn)?;
            Ok(conn)
        })
        .collect::<Result<Vec<_>, rusqlite::Error>>()
        .map_err(|e| open_err(e.into()))?;
    Ok(pool::Pool::new(writer, readers))
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // rusqlite keeps 16 prepared statements by default; one sync's write
    // transaction alone runs more distinct statements than that, so with
    // 16 each was parsed again on every use.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let found: usize = conn
        .pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))?
        .try_into()
        .unwrap_or(usize::MAX);
    if found > MIGRATIONS.len() {
        return Err(DbError::TooNew {
            found,
            known: MIGRATIONS.len(),
        });
    }
    Migrations::from_slice(MIGRATIONS)
        .to_latest(conn)
        .map_err(|e| DbError::Task(format!("迁移失败:{e}")))?;
    documents::fill_sort_names(conn)?;
    reports::rebuild_if_stale(conn)?;
    complaints::fill_if_needed(conn)?;
    activities::fill_if_needed(conn)?;
    Ok(())
}

// ---- rows --------------------------------------------------------------------

const USER_COLUMNS: &str = "login, display_name, role, password_expires_at, disabled, created_at, \
     position, must_change_password";
const USER_COLUMNS_U: &str = "u.login, u.display_name, u.role, u.password_expires_at, u.disabled, \
     u.created_at, u.position, u.must_change_password";
const DEVICE_COLUMNS: &str = "d.id, d.login, d.name, d.created_at, d.last_seen_at, d.revoked_at";

/// Reads a user from columns `USER_COLUMNS`; the outer error is SQLite's,
/// the inner one a value this program does not understand.
fn user_from_row(row: &Row<'_>) -> Result<User, DbError> {
    user_from_row_at(row, 0)
}

fn user_from_row_at(row: &Row<'_>, at: usize) -> Result<User, DbError> {
    let role: String = row.get(at + 2)?;
    Ok(User {
        login: row.get(at)?,
        display_name: row.get(at + 1)?,
        role: role
            .parse()
            .map_err(|_| DbError::Corrupt(format!("角色代码 {role:?}")))?,
        password_expires_at: row.get(at + 3)?,
        disabled: row.get(at + 4)?,
        created_at: row.get(at + 5)?,
        position: match row.get::<_, Option<String>>(at + 6)? {
            None => None,
            Some(p) => Some(
                p.parse()
                    .map_err(|_| DbError::Corrupt(format!("职位代码 {p:?}")))?,
            ),
        },
        must_change_password: row.get(at + 7)?,
    })
}

fn device_from_row(row: &Row<'_>) -> Result<Device, DbError> {
    let id: String = row.get(0)?;
    Ok(Device {
        id: id
            .parse()
            .map_err(|_| DbError::Corrupt(format!("设备编号 {id:?}")))?,
        login: row.get(1)?,
        name: row.get(2)?,
        created_at: row.get(3)?,
        last_seen_at: row.get(4)?,
        revoked_at: row.get(5)?,
    })
}

fn found(changed: usize) -> Result<(), DbError> {
    if changed == 0 {
        Err(DbError::NotFound)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        Migrations::from_slice(MIGRATIONS).validate().unwrap();
    }

    /// Stores `c`'s rows as a write would (an empty document: the rows
    /// are what these tests read).
    fn put_card(conn: &Connection, c: &crm_shared::Customer) {
        conn.execute(
            "INSERT INTO documents (id, snapshot, heads, seq, salesperson, updated_at)
             VALUES (?1, x'', x'', 1, 'zhang', 0)",
            [&c.id],
        )
        .unwrap();
        documents::put_row(conn, &c.id, &Projection::of(c, 0)).unwrap();
    }

    #[test]
    fn a_settings_change_rewrites_the_rows_a_few_customers_at_a_time() {
        use crm_shared::customer::Activity;
        use crm_shared::Customer;
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        // Three customers last visited 100 days ago.
        let visited = chrono::Utc::now().timestamp_millis() - 100 * 86_400_000;
        for id in ["c1", "c2", "c3"] {
            let mut c = Customer {
                id: id.into(),
                name: format!("客户{id}"),
                ..Default::default()
            };
            c.activities.insert(
                "v1".into(),
                Activity {
                    at: visited,
                    ..Default::default()
                },
            );
            put_card(&conn, &c);
        }
        let churn = |conn: &Connection| -> Vec<String> {
            conn.prepare(
                "SELECT active_from FROM warning_rows WHERE rule = 'churn' ORDER BY customer_id",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
        };
        let before = churn(&conn);
        assert_eq!(before.len(), 3);
        let settings = crm_shared::settings::Settings {
            churn_days: 120,
            ..Default::default()
        };
        let version = documents::set_settings(&conn, &settings).unwrap();
        // One customer a step: the first step rewrites c1 alone.
        let (mut after, n) = reports::rebuild_some(&conn, "", 1).unwrap().unwrap();
        assert_eq!((after.as_str(), n), ("c1", 1));
        let mid = churn(&conn);
        assert_ne!(mid[0], before[0]);
        assert_eq!(mid[1..], before[1..]);
        while let Some((last, _)) = reports::rebuild_some(&conn, &after, 1).unwrap() {
            after = last;
        }
        reports::finish_rebuild(&conn, version).unwrap();
        let now = churn(&conn);
        for (was, is) in before.iter().zip(&now) {
            let (was, is): (crm_shared::day::Day, crm_shared::day::Day) =
                (was.parse().unwrap(), is.parse().unwrap());
            assert_eq!(was.days_until(is), 30, "churn now starts 30 days later");
        }
        // The rows follow these settings: opening again rebuilds nothing.
        conn.execute("DELETE FROM warning_rows", []).unwrap();
        migrate(&mut conn).unwrap();
        assert!(churn(&conn).is_empty());
    }

    #[test]
    fn grade_rows_that_no_longer_hold_are_refreshed_a_few_at_a_time() {
        use crm_shared::Customer;
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        for id in ["c1", "c2", "c3"] {
            put_card(
                &conn,
                &Customer {
                    id: id.into(),
                    name: format!("客户{id}"),
                    ..Default::default()
                },
            );
        }
        // A year on, every row's month has passed.
        let later = crm_shared::day::Day::from_millis_local(chrono::Utc::now().timestamp_millis())
            .plus_days(400);
        assert!(reports::grades_stale(&conn, later).unwrap());
        for _ in 0..3 {
            assert_eq!(reports::refresh_grades(&conn, later, 1).unwrap(), 1);
        }
        assert!(!reports::grades_stale(&conn, later).unwrap());
        assert_eq!(reports::refresh_grades(&conn, later, 1).unwrap(), 0);
    }

    #[test]
    fn every_table_is_backed_up_one_way_or_the_other() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let mut st = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .unwrap();
        let tables: Vec<String> = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for t in &tables {
            assert!(
                RECORD_TABLES.contains(&t.as_str())
                    || DOCUMENT_TABLES.contains(&t.as_str())
                    || LOCAL_TABLES.contains(&t.as_str())
                    || ACCESS_TABLES.contains(&t.as_str()),
                "table {t} is neither a record, a document nor a local table: the backup would miss it"
            );
        }
    }

    #[test]
    fn records_version_moves_with_users_but_not_with_last_seen() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let version = |c: &Connection| -> String {
            c.query_row(
                "SELECT value FROM meta WHERE key = 'records_version'",
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(version(&conn), "1");
        conn.execute(
            "INSERT INTO users (login, display_name, role, password_hash, password_expires_at, disabled, created_at)
             VALUES ('a', 'A', 'clerk', 'x', NULL, 0, 0)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO devices (id, login, name, token_hash, created_at) VALUES ('d', 'a', 'n', x'00', 0)",
            [],
        )
        .unwrap();
        assert_eq!(version(&conn), "3");
        conn.execute("UPDATE devices SET last_seen_at = 5", [])
            .unwrap();
        assert_eq!(version(&conn), "3");
        conn.execute("UPDATE devices SET revoked_at = 5", [])
            .unwrap();
        assert_eq!(version(&conn), "4");
        // Company settings are a record too (migration 4).
        documents::set_settings(&conn, &crm_shared::settings::Settings::default()).unwrap();
        assert_eq!(version(&conn), "5");
        documents::set_settings(&conn, &crm_shared::settings::Settings::default()).unwrap();
        assert_eq!(version(&conn), "6");
        assert_eq!(documents::settings(&conn).unwrap().version, 2);
    }

    #[test]
    fn a_sorted_list_pages_through_valued_rows_then_the_rest_without_overlap() {
        use crm_shared::Customer;
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        for (id, limit) in [
            ("a", None),
            ("b", Some(5)),
            ("c", None),
            ("d", Some(3)),
            ("e", Some(9)),
        ] {
            let mut c = Customer {
                id: id.into(),
                name: format!("客户{id}"),
                ..Default::default()
            };
            c.credit.limit = limit;
            conn.execute(
                "INSERT INTO documents (id, snapshot, heads, seq, salesperson, updated_at)
                 VALUES (?1, x'', x'', 1, '', 0)",
                [id],
            )
            .unwrap();
            documents::put_row(&conn, id, &Projection::of(&c, 0)).unwrap();
        }
        let pages = |descending: bool| -> Vec<Vec<String>> {
            let f = ListFilter {
                order: ListOrder::CreditLimit,
                descending,
                ..Default::default()
            };
            (0..3)
                .map(|p| {
                    documents::list(&conn, &f, p * 2, 2)
                        .unwrap()
                        .into_iter()
                        .map(|r| r.id)
                        .collect()
                })
                .collect()
        };
        assert_eq!(pages(false), [vec!["d", "b"], vec!["e", "a"], vec!["c"]]);
        assert_eq!(pages(true), [vec!["e", "b"], vec!["d", "c"], vec!["a"]]);
    }

    #[test]
    fn customers_from_before_the_report_rows_get_them_when_migrated() {
        use crm_shared::codes::Grade;
        use crm_shared::customer::{Complaint, MajorChange};
        use crm_shared::Customer;
        let mut conn = Connection::open_in_memory().unwrap();
        Migrations::from_slice(&MIGRATIONS[..12])
            .to_latest(&mut conn)
            .unwrap();
        let mut c = Customer {
            id: "c1".into(),
            name: "安徽合肥贸易公司".into(),
            grade: Some(Grade::D),
            ..Default::default()
        };
        c.major_changes.insert("m1".into(), MajorChange::default());
        c.complaints.insert(
            "k1".into(),
            Complaint {
                description: "包装破损".into(),
                ..Default::default()
            },
        );
        c.activities.insert(
            "v1".into(),
            crm_shared::customer::Activity {
                by: "zhang".into(),
                at: chrono::Utc::now().timestamp_millis(),
                ..Default::default()
            },
        );
        let p = Projection::of(&c, 0);
        let summary = serde_json::to_string(&p.summary).unwrap();
        let note = crm_shared::note::ChangeNote::new("zhang", crm_shared::note::Action::Create);
        let doc =
            crm_shared::CustomerDoc::create(&c, crm_shared::ActorId::random(), &note, 0).unwrap();
        conn.execute(
            "INSERT INTO documents (id, snapshot, heads, seq, salesperson, updated_at)
             VALUES ('c1', ?1, x'', 1, 'zhang', 0)",
            [doc.save()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO customers (id, name, salesperson, region, status, grade, tier, search,
                 conflicts, sort_name)
             VALUES ('c1', ?1, 'zhang', '', 'active', 'D', NULL, '', 0, ?2)",
            [&c.name, &crm_shared::pinyin::sort_key(&c.name)],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO customer_details (id, summary, rules) VALUES ('c1', ?1, ?2)",
            [&summary, &p.rules],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        fn count(conn: &Connection, table: &str) -> i64 {
            conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        }
        // A low grade, an uncleared major change and churn from a day
        // after today's visit; one complaint; one week of visits; one grade
        // row, out of date until the grade report asks.
        assert_eq!(count(&conn, "warning_rows"), 3);
        assert_eq!(count(&conn, "complaint_rows"), 1);
        assert_eq!(count(&conn, "activity_weeks"), 1);
        // The complaint rows hold the whole complaint, read from the
        // document (the slimmed card has no text).
        let held = complaints::held(&conn, "c1").unwrap();
        assert_eq!(held["k1"].description, "包装破损");
        assert_eq!(count(&conn, "grade_rows"), 1);
        let today = crm_shared::day::Day::from_millis_local(chrono::Utc::now().timestamp_millis());
        assert!(reports::grades_stale(&conn, today).unwrap());
        assert_eq!(reports::refresh_grades(&conn, today, 10).unwrap(), 1);
        assert!(!reports::grades_stale(&conn, today).unwrap());
        // Opening again rebuilds nothing: the rows follow these settings.
        conn.execute("DELETE FROM warning_rows", []).unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(count(&conn, "warning_rows"), 0);
    }

    #[test]
    fn rows_from_before_the_sort_columns_get_them_when_migrated() {
        use crm_shared::Customer;
        let mut conn = Connection::open_in_memory().unwrap();
        Migrations::from_slice(&MIGRATIONS[..10])
            .to_latest(&mut conn)
            .unwrap();
        let mut c = Customer {
            id: "c1".into(),
            name: "安徽合肥贸易公司".into(),
            ..Default::default()
        };
        c.credit.limit = Some(800_000);
        let summary = serde_json::to_string(&crm_shared::summary::CustomerSummary::of(&c)).unwrap();
        conn.execute(
            "INSERT INTO documents (id, snapshot, heads, seq, salesperson, updated_at)
             VALUES ('c1', x'', x'', 1, 'zhang', 0)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO customers (id, name, salesperson, region, status, grade, tier, search, conflicts)
             VALUES ('c1', ?1, 'zhang', '', 'active', NULL, NULL, '', 0)",
            [&c.name],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO customer_details (id, summary, rules) VALUES ('c1', ?1, '{}')",
            [&summary],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let (key, limit): (String, Option<i64>) = conn
            .query_row(
                "SELECT sort_name, credit_limit FROM customers WHERE id = 'c1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(key, crm_shared::pinyin::sort_key("安徽合肥贸易公司"));
        assert!(key.starts_with("an hui "), "{key}");
        assert_eq!(limit, Some(800_000));
    }

    #[test]
    fn search_finds_substrings_of_any_length_and_follows_updates() {
        use crm_shared::Customer;
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let put = |id: &str, name: &str, mobile: &str| {
            let mut c = Customer {
                id: id.into(),
                name: name.into(),
                ..Default::default()
            };
            c.contacts.insert(
                "k".into(),
                crm_shared::customer::Contact {
                    name: "周经理".into(),
                    mobile: mobile.into(),
                    ..Default::default()
                },
            );
            conn.execute(
                "INSERT OR IGNORE INTO documents (id, snapshot, heads, chunk_count, chunk_bytes, seq, salesperson, updated_at)
                 VALUES (?1, x'', x'', 0, 0, 0, '', 0)",
                [id],
            )
            .unwrap();
            documents::put_row(&conn, id, &Projection::of(&c, 0)).unwrap();
        };
        put("a", "杭州西湖龙井茶业有限公司", "13800000001");
        put("b", "苏州丝绸进出口公司", "13900000002");
        let find = |q: &str| -> Vec<String> {
            let f = ListFilter {
                q: Some(q.into()),
                ..Default::default()
            };
            documents::list(&conn, &f, 0, 10)
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect()
        };
        assert_eq!(find("西湖龙井"), ["a"]);
        assert_eq!(find("龙井"), ["a"], "two characters: no trigram, a scan");
        assert_eq!(find("公司"), ["a", "b"]);
        assert_eq!(find("13900000002"), ["b"]);
        assert_eq!(find("周经理"), ["a", "b"]);
        assert!(find("\"引号").is_empty());
        // The same row stored again (a visit changes no search text) is
        // still found, and the index still matches its rows.
        put("b", "苏州丝绸进出口公司", "13900000002");
        assert_eq!(find("丝绸进出口"), ["b"]);
        // A renamed customer is found by its new name only.
        put("a", "杭州梅家坞茶厂", "13800000001");
        assert!(find("西湖龙井").is_empty());
        assert_eq!(find("梅家坞"), ["a"]);
        conn.execute(
            "INSERT INTO customer_search (customer_search) VALUES ('integrity-check')",
            [],
        )
        .expect("the full-text index matches the rows");

        // Pinyin: rows written with it are found at once; rows written
        // before it get it once, when the database is opened.
        assert_eq!(find("meijiawu"), ["a"]);
        assert_eq!(find("szsc"), ["b"]);
        conn.execute("UPDATE customers SET search = name", [])
            .unwrap();
        assert!(find("szsc").is_empty());
        assert_eq!(documents::add_pinyin_to_search(&mut conn).unwrap(), 2);
        let found = |q: &str| -> Vec<String> {
            let f = ListFilter {
                q: Some(q.into()),
                ..Default::default()
            };
            let rows = documents::list(&conn, &f, 0, 10).unwrap();
            rows.into_iter().map(|r| r.id).collect()
        };
        assert_eq!(found("szsc"), ["b"]);
        assert_eq!(found("shanghai").len(), 0);
        assert_eq!(documents::add_pinyin_to_search(&mut conn).unwrap(), 0);
        conn.execute(
            "INSERT INTO customer_search (customer_search) VALUES ('integrity-check')",
            [],
        )
        .expect("the full-text index matches the rows after the rewrite");
    }

    #[test]
    fn finding_lost_customers_reads_only_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let mut st = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", documents::TAKEN_AWAY))
            .unwrap();
        let plan: Vec<String> = st
            .query_map(params![0, "zhang"], |r| r.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let searches: Vec<&String> = plan.iter().filter(|p| p.starts_with("SEARCH")).collect();
        assert_eq!(searches.len(), 2, "{plan:?}");
        assert!(
            searches.iter().all(|p| p.contains("COVERING INDEX")),
            "{plan:?}"
        );
    }

    async fn write_settings(db: &Db) {
        db.pool
            .write(|tx| {
                documents::set_settings(tx, &crm_shared::settings::Settings::default())?;
                Ok(())
            })
            .await
            .unwrap();
    }

    /// A waiting backup pull wakes for a commit that wrote, not for a
    /// transaction that found nothing to do.
    #[tokio::test]
    async fn only_commits_that_wrote_wake_the_backup() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("crm-server.sqlite3"))
            .await
            .unwrap();
        let mut commits = db.commits();
        commits.borrow_and_update();
        db.pool.write(|_| Ok(())).await.unwrap();
        assert!(!commits.has_changed().unwrap(), "nothing was written");
        write_settings(&db).await;
        assert!(commits.has_changed().unwrap(), "the settings were written");
    }

    /// A command-line run (import, user add) must not leave its WAL behind:
    /// the next open would read all of it again, and it grew run after run.
    #[tokio::test]
    async fn closing_the_database_folds_the_wal_back_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm-server.sqlite3");
        let wal = dir.path().join("crm-server.sqlite3-wal");
        let db = Db::open(&path).await.unwrap();
        write_settings(&db).await;
        let version = db
            .pool
            .read(|c| Ok(documents::settings(c)?.version))
            .await
            .unwrap();
        assert_eq!(version, 1);
        assert!(wal.exists(), "WAL mode writes go to the WAL first");
        drop(db);
        assert!(!wal.exists(), "the last connection to close was read-only");
        let db = Db::open(&path).await.unwrap();
        let version = db
            .pool
            .read(|c| Ok(documents::settings(c)?.version))
            .await
            .unwrap();
        assert_eq!(version, 1, "what was written is in the database file");
    }
}
