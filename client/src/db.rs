//! Every SQL statement of the laptop store, and its migrations.
//!
//! Layout (one SQLite file, WAL):
//! - `meta`: the local profile (user, actor id).
//! - `documents` + `doc_chunks`: each customer's automerge document as a
//!   compressed snapshot plus the incremental changes appended since; the
//!   store folds the chunks back into the snapshot when they grow.
//! - `customers`: the query projection (list, search, follow-ups), a pure
//!   function of the documents; `rebuild` recomputes it.
//!
//! Migrations are an append-only list indexed by `PRAGMA user_version`:
//! never edit one that has shipped, add a new one.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use rusqlite_migration::{Migrations, M};

use crm_shared::summary::CustomerSummary;

const MIGRATIONS: &[M<'static>] = &[
    // 1: profile, documents, projection.
    M::up(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE documents (
         id TEXT PRIMARY KEY,
         snapshot BLOB NOT NULL,
         heads BLOB NOT NULL,
         chunk_count INTEGER NOT NULL DEFAULT 0,
         chunk_bytes INTEGER NOT NULL DEFAULT 0,
         updated_at INTEGER NOT NULL
     );
     CREATE TABLE doc_chunks (
         doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
         seq INTEGER NOT NULL,
         data BLOB NOT NULL,
         PRIMARY KEY (doc_id, seq)
     ) WITHOUT ROWID;
     CREATE TABLE customers (
         id TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
         name TEXT NOT NULL,
         search TEXT NOT NULL,
         next_followup TEXT,
         summary TEXT NOT NULL
     );
     CREATE INDEX customers_name ON customers(name);
     CREATE INDEX customers_followup ON customers(next_followup)
         WHERE next_followup IS NOT NULL;",
    ),
    // 2: what the server is known to hold of each document (NULL: nothing yet).
    M::up("ALTER TABLE documents ADD COLUMN synced_heads BLOB;"),
    // 3: the document's heads before each chunk (the chunk holds exactly the
    // changes after them), so a push can send the chunks after what the
    // server holds without loading the document. NULL: not known.
    M::up("ALTER TABLE doc_chunks ADD COLUMN after_heads BLOB;"),
    // 4: customers set aside by sync, with what is to be done about each
    // (see `crate::aside`).
    M::up(
        "CREATE TABLE aside (
             id TEXT PRIMARY KEY,
             kind TEXT NOT NULL,
             message TEXT NOT NULL,
             at INTEGER NOT NULL
         );",
    ),
    // 5: per customer, the card slimmed to what the rules read
    // (`summary::rules_card`, JSON) and the days it has records on
    // (`summary::record_days`), so reports over every customer read no
    // document. NULL: not computed yet (a row the server sent).
    M::up(
        "ALTER TABLE customers ADD COLUMN rules TEXT;
         ALTER TABLE customers ADD COLUMN days TEXT;",
    ),
    // 6: what sync compares (heads against synced heads), apart from the
    // snapshot stored before them in the row: read through the table, every
    // sync would walk each snapshot's overflow pages, each one decrypted.
    M::up("CREATE INDEX documents_sync_state ON documents (id, heads, synced_heads);"),
    // 7: the rules card and record days in a table of their own: in the
    // customers row they make each row several pages' worth, so a list or
    // a search of 2,000 customers would read (and decrypt) ten megabytes.
    // The days come first: the daily report reads them without walking
    // the card's overflow pages.
    M::up(
        "CREATE TABLE customer_rules (
             id TEXT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
             days TEXT,
             rules TEXT
         );
         INSERT INTO customer_rules (id, days, rules) SELECT id, days, rules FROM customers;
         ALTER TABLE customers DROP COLUMN rules;
         ALTER TABLE customers DROP COLUMN days;",
    ),
];

/// What a file at the store's path holds, judged before anything is
/// written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Nothing yet, an empty file or an SQLite file without tables: a new store.
    New,
    /// A crm store: its `meta` names a user and an actor.
    Store,
    /// A crm store whose `crm init` stopped before recording the profile:
    /// only crm's own tables, and no user.
    Unfinished,
    /// The server's database (`crm-server`).
    ServerDb,
    /// Another program's SQLite database.
    OtherSqlite,
    /// Not an SQLite database at all.
    NotSqlite,
}

/// The tables a crm store has; a file holding only some of them is one
/// whose `crm init` stopped halfway.
const OWN_TABLES: &[&str] = &["meta", "documents", "doc_chunks", "customers", "aside"];

/// Looks at the file at `path` without changing it: whether it is a crm
/// store, a new one, or something else that must be left alone.
pub fn identify(path: &Path) -> std::io::Result<Found> {
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::New),
        Err(e) => return Err(e),
    };
    let mut magic = [0u8; 16];
    let read = file.read(&mut magic)?;
    if read == 0 {
        return Ok(Found::New);
    }
    if read < magic.len() || &magic != b"SQLite format 3\0" {
        return Ok(Found::NotSqlite);
    }
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    );
    let found = conn.and_then(|conn| {
        let tables: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let has = |t: &str| tables.iter().any(|x| x == t);
        if tables.is_empty() {
            return Ok(Found::New);
        }
        if has("users") && has("devices") {
            return Ok(Found::ServerDb);
        }
        // A profile makes it a store, whatever tables later versions added.
        let profile: i64 = if has("meta") {
            conn.query_row(
                "SELECT COUNT(*) FROM meta WHERE key IN ('user', 'actor')",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0)
        } else {
            0
        };
        Ok(if profile == 2 {
            Found::Store
        } else if tables.iter().all(|t| OWN_TABLES.contains(&t.as_str())) {
            Found::Unfinished
        } else {
            Found::OtherSqlite
        })
    });
    // A file SQLite cannot read as a database is not one.
    Ok(found.unwrap_or(Found::NotSqlite))
}

/// Opens (creating if needed) the store file, encrypted with `key` (plain
/// without one: only `crm-bench` makes such a store, to compare), and
/// brings its schema up to date. A file that is not a crm store (another
/// program's database, the server's, a plain store not yet converted by
/// [`encrypt_plain`]) is refused before anything is written to it.
pub fn open(path: &Path, key: Option<&crate::key::StoreKey>) -> crate::Result<Connection> {
    let found = identify(path)?;
    match (found, key) {
        // An encrypted file has no SQLite header: the key decides.
        (Found::New | Found::NotSqlite, Some(_)) => {}
        (Found::New | Found::Store | Found::Unfinished, None) => {}
        (other, _) => {
            return Err(crate::ClientError::NotAStore {
                path: path.to_path_buf(),
                what: other,
            })
        }
    }
    let mut conn = Connection::open(path)?;
    if let Some(key) = key {
        conn.execute_batch(&format!("PRAGMA key = {};", key.pragma()))?;
    }
    if let Err(e) = conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())) {
        return Err(match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => crate::ClientError::NotAStore {
                path: path.to_path_buf(),
                what: Found::NotSqlite,
            },
            _ => e.into(),
        });
    }
    // FULL: a visit reported as saved survives power loss, not only kill -9.
    // An 8 MiB page cache (SQLite's default is 2): pages are decrypted on
    // their way into it, so a list of every customer read again (the app's
    // pages, reports) is read from it rather than decrypted again.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -8192;",
    )?;
    // rusqlite keeps 16 prepared statements by default, fewer than one
    // sync runs; past that each was parsed again on every use.
    conn.set_prepared_statement_cache_capacity(64);
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > MIGRATIONS.len() as i64 {
        return Err(crate::ClientError::Migration(format!(
            "资料库由更新版本的 crm 写入(结构版本 {version},本程序只认识到 {}),请升级 crm",
            MIGRATIONS.len()
        )));
    }
    Migrations::from_slice(MIGRATIONS)
        .to_latest(&mut conn)
        .map_err(|e| crate::ClientError::Migration(e.to_string().replace('\n', " ")))?;
    Ok(conn)
}

/// Where a plain store is kept while its encrypted copy takes its place.
fn plain_aside(path: &Path) -> std::path::PathBuf {
    path.with_extension("sqlite3.plain")
}

/// Where the encrypted copy of a plain store is written before the swap.
fn encrypting(path: &Path) -> std::path::PathBuf {
    path.with_extension("sqlite3.encrypting")
}

/// Finishes or undoes a conversion a crash interrupted: the plain file is
/// put back if the encrypted one never took its place, else removed.
pub fn settle_conversion(path: &Path) -> std::io::Result<()> {
    let aside = plain_aside(path);
    if aside.exists() {
        if path.exists() {
            shred(&aside)?;
        } else {
            std::fs::rename(&aside, path)?;
        }
    }
    let _ = std::fs::remove_file(encrypting(path));
    Ok(())
}

/// Converts the plain store at `path` (made by a version of crm before
/// encryption) to one encrypted with `key`, in place: an encrypted copy
/// is written whole beside it, swapped in by renames, and the plain
/// file's bytes are overwritten before it is removed. A crash at any
/// point leaves either store whole ([`settle_conversion`]).
pub fn encrypt_plain(path: &Path, key: &crate::key::StoreKey) -> crate::Result<()> {
    let target = encrypting(path);
    let _ = std::fs::remove_file(&target);
    {
        let conn = Connection::open(path)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let target_text = target.to_str().ok_or_else(|| {
            crate::ClientError::Key(format!("路径 {} 无法使用", target.display()))
        })?;
        conn.execute(
            &format!("ATTACH DATABASE ?1 AS encrypted KEY {}", key.pragma()),
            [target_text],
        )?;
        conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        conn.execute_batch(&format!(
            "PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"
        ))?;
        // Folds the plain WAL into the file, so its bytes are shredded too.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    std::fs::File::open(&target)?.sync_all()?;
    let aside = plain_aside(path);
    std::fs::rename(path, &aside)?;
    std::fs::rename(&target, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    shred(&aside)?;
    for extra in ["-wal", "-shm"] {
        let mut p = aside.clone().into_os_string();
        p.push(extra);
        let _ = shred(Path::new(&p));
        let mut p = path.to_path_buf().into_os_string();
        p.push(extra);
        let _ = std::fs::remove_file(Path::new(&p));
    }
    Ok(())
}

/// Overwrites a file with zeros, then removes it.
fn shred(path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    {
        let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
        let zeros = vec![0u8; 1 << 20];
        let mut left = len;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            f.write_all(&zeros[..n])?;
            left -= n as u64;
        }
        f.sync_all()?;
    }
    std::fs::remove_file(path)
}

/// Removes the store file and its journal (the key is destroyed apart).
pub fn remove_store(path: &Path) -> std::io::Result<()> {
    for extra in ["", "-wal", "-shm"] {
        let mut p = path.to_path_buf().into_os_string();
        p.push(extra);
        shred(Path::new(&p))?;
    }
    Ok(())
}

/// Reads a profile value.
pub fn meta_get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()
}

/// Writes a profile value.
pub fn meta_set(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// A stored document: its snapshot followed by its chunks, ready for
/// `Automerge::load`, and how much the chunks weigh.
pub struct StoredDoc {
    /// Snapshot bytes with every chunk appended.
    pub bytes: Vec<u8>,
    /// Number of chunks since the snapshot.
    pub chunk_count: i64,
    /// Bytes in those chunks.
    pub chunk_bytes: i64,
    /// Bytes in the snapshot.
    pub snapshot_bytes: i64,
}

impl StoredDoc {
    /// What storage holds, for `crm_shared::storage::next_write`.
    pub fn shape(&self) -> crm_shared::storage::Shape {
        crm_shared::storage::Shape {
            chunk_count: self.chunk_count,
            chunk_bytes: self.chunk_bytes,
            snapshot_bytes: self.snapshot_bytes,
        }
    }
}

/// Loads a document's bytes, or `None` if there is no such document.
pub fn doc_load(conn: &Connection, id: &str) -> rusqlite::Result<Option<StoredDoc>> {
    let head = conn
        .prepare_cached("SELECT snapshot, chunk_count, chunk_bytes FROM documents WHERE id = ?1")?
        .query_row([id], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((snapshot, chunk_count, chunk_bytes)) = head else {
        return Ok(None);
    };
    let snapshot_bytes = snapshot.len() as i64;
    let chunks: Vec<Vec<u8>> = if chunk_count > 0 {
        conn.prepare_cached("SELECT data FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    } else {
        Vec::new()
    };
    let bytes = crm_shared::storage::assemble(snapshot, chunks);
    Ok(Some(StoredDoc {
        bytes,
        chunk_count,
        chunk_bytes,
        snapshot_bytes,
    }))
}

/// Stores a whole document as a fresh snapshot, dropping its chunks.
pub fn doc_put_snapshot(
    tx: &Transaction,
    id: &str,
    snapshot: &[u8],
    heads: &[u8],
    now: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO documents (id, snapshot, heads, chunk_count, chunk_bytes, updated_at)
         VALUES (?1, ?2, ?3, 0, 0, ?4)
         ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, heads = excluded.heads,
             chunk_count = 0, chunk_bytes = 0, updated_at = excluded.updated_at",
    )?
    .execute(params![id, snapshot, heads, now])?;
    tx.prepare_cached("DELETE FROM doc_chunks WHERE doc_id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Appends incremental changes to a stored document: `chunk` holds exactly
/// the changes after heads `after`, and `heads` are the heads after it.
pub fn doc_append(
    tx: &Transaction,
    id: &str,
    chunk: &[u8],
    after: &[u8],
    heads: &[u8],
    now: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO doc_chunks (doc_id, seq, data, after_heads)
         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM doc_chunks WHERE doc_id = ?1), ?2, ?3)",
    )?
    .execute(params![id, chunk, after])?;
    tx.prepare_cached(
        "UPDATE documents SET heads = ?2, chunk_count = chunk_count + 1,
             chunk_bytes = chunk_bytes + ?3, updated_at = ?4 WHERE id = ?1",
    )?
    .execute(params![id, heads, chunk.len() as i64, now])?;
    Ok(())
}

/// The changes of document `id` after heads `after`, read from its chunks
/// without loading it: every chunk from the one appended at exactly those
/// heads on (each holds the changes after the one before). `None` when no
/// chunk starts there (the chunks were folded into the snapshot since).
pub fn chunks_after(
    conn: &Connection,
    id: &str,
    after: &[u8],
) -> rusqlite::Result<Option<Vec<u8>>> {
    let mut st = conn.prepare_cached(
        "SELECT after_heads, data FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq",
    )?;
    let mut rows = st.query([id])?;
    let mut out: Option<Vec<u8>> = None;
    while let Some(r) = rows.next()? {
        match &mut out {
            Some(bytes) => bytes.extend_from_slice(r.get_ref(1)?.as_blob()?),
            None if r.get_ref(0)?.as_blob_or_null()? == Some(after) => {
                out = Some(r.get_ref(1)?.as_blob()?.to_vec())
            }
            None => {}
        }
    }
    Ok(out)
}

/// Every document id, in order.
pub fn doc_ids(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare("SELECT id FROM documents ORDER BY id")?;
    let ids = st.query_map([], |r| r.get(0))?.collect();
    ids
}

/// Writes a customer's projected row; `derived` is its rules card (JSON)
/// and record days, `None` when not computed.
pub fn project(
    tx: &Transaction,
    s: &CustomerSummary,
    search: &str,
    derived: Option<(&str, &str)>,
) -> rusqlite::Result<()> {
    let json = serde_json::to_string(s).expect("a summary always serialises");
    tx.prepare_cached(
        "INSERT INTO customers (id, name, search, next_followup, summary)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, search = excluded.search,
             next_followup = excluded.next_followup, summary = excluded.summary",
    )?
    .execute(params![
        s.id,
        s.name,
        search,
        s.next_followup.map(|d| d.to_string()),
        json,
    ])?;
    put_derived(tx, &s.id, derived.map(|d| d.0), derived.map(|d| d.1))
}

/// Customers whose rules card or record days are not computed yet.
pub fn underived(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT c.id FROM customers c LEFT JOIN customer_rules r ON r.id = c.id
         WHERE r.rules IS NULL OR r.days IS NULL",
    )?;
    let ids = st.query_map([], |r| r.get(0))?.collect();
    ids
}

/// Stores a customer's rules card and record days.
pub fn set_derived(tx: &Transaction, id: &str, rules: &str, days: &str) -> rusqlite::Result<()> {
    put_derived(tx, id, Some(rules), Some(days))
}

fn put_derived(
    tx: &Transaction,
    id: &str,
    rules: Option<&str>,
    days: Option<&str>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO customer_rules (id, rules, days) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET rules = excluded.rules, days = excluded.days",
    )?
    .execute(params![id, rules, days])?;
    Ok(())
}

/// Every computed rules card (JSON).
pub fn rules_cards(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare("SELECT rules FROM customer_rules WHERE rules IS NOT NULL")?;
    let cards = st.query_map([], |r| r.get(0))?.collect();
    cards
}

/// Customers with a record on `day`, or a follow-up planned on `next`
/// (both YYYY-MM-DD): what a daily report of `day` reads.
pub fn active_on(conn: &Connection, day: &str, next: &str) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT c.id FROM customers c LEFT JOIN customer_rules r ON r.id = c.id
         WHERE instr(r.days, ' ' || ?1 || ' ') > 0 OR c.next_followup = ?2 OR r.days IS NULL",
    )?;
    let ids = st.query_map(params![day, next], |r| r.get(0))?.collect();
    ids
}

fn summaries(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<Vec<CustomerSummary>> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(args, |r| {
        let json: String = r.get(0)?;
        serde_json::from_str(&json).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    })?;
    rows.collect()
}

/// Every customer's row, by name.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<CustomerSummary>> {
    summaries(conn, "SELECT summary FROM customers ORDER BY name, id", [])
}

/// Rows whose search text contains `needle` (case-insensitive for ASCII).
pub fn search(conn: &Connection, needle: &str) -> rusqlite::Result<Vec<CustomerSummary>> {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    summaries(
        conn,
        "SELECT summary FROM customers WHERE search LIKE '%' || ?1 || '%' ESCAPE '\\' ORDER BY name, id",
        [escaped],
    )
}

/// Rows with a follow-up due on or before `day` (YYYY-MM-DD), earliest first.
pub fn followups_due(conn: &Connection, day: &str) -> rusqlite::Result<Vec<CustomerSummary>> {
    summaries(
        conn,
        "SELECT summary FROM customers WHERE next_followup IS NOT NULL AND next_followup <= ?1
         ORDER BY next_followup, name",
        [day],
    )
}

/// Ids whose id starts with `prefix` or whose name equals `name` (at most 10).
pub fn find_ids(conn: &Connection, key: &str) -> rusqlite::Result<Vec<(String, String)>> {
    let escaped = key
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let mut st = conn.prepare_cached(
        "SELECT id, name FROM customers WHERE id LIKE ?1 || '%' ESCAPE '\\' OR name = ?2 ORDER BY id LIMIT 10",
    )?;
    let rows = st.query_map(params![escaped, key], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// A customer's name, if this store holds the customer.
pub fn name_of(conn: &Connection, id: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT name FROM customers WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
}

/// Rewrites the file without the free pages deleted rows left behind, and
/// empties the journal, so that removed customers' names, phones and notes
/// are gone from the disk's copy of the store, not merely unlisted.
/// Proportional to the store's size: run after removals, not on every write.
pub fn scrub(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("VACUUM;")?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// Whether a document exists.
pub fn doc_exists(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM documents WHERE id = ?1")?
        .exists([id])
}

/// The current heads blob of document `id`, if this store holds it.
pub fn doc_heads(conn: &Connection, id: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT heads FROM documents WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
}

/// Drops every projected row (before a rebuild).
pub fn clear_projection(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM customers", [])?;
    Ok(())
}

/// Total bytes of stored documents (snapshots + chunks).
pub fn stored_bytes(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT (SELECT COALESCE(SUM(LENGTH(snapshot)), 0) FROM documents)
              + (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM doc_chunks)",
        [],
        |r| r.get(0),
    )
}

/// A document with changes the server has not acknowledged.
pub struct Pending {
    /// Customer id.
    pub id: String,
    /// Current heads blob.
    pub heads: Vec<u8>,
    /// What the server holds (`None`: nothing yet).
    pub synced: Option<Vec<u8>>,
    /// Set aside by sync: not pushed until what it says is done.
    pub held: bool,
    /// Set aside to be handed over: pushed whole, for the server to record
    /// its changes again (`crate::aside::Kind::HandOver`).
    pub hand_over: bool,
}

/// Documents with changes the server has not acknowledged: never synced, or
/// heads moved since.
pub fn pending(conn: &Connection) -> rusqlite::Result<Vec<Pending>> {
    let mut st = conn.prepare_cached(
        "SELECT d.id, d.heads, d.synced_heads, a.kind IN ('held', 'rebase'),
                a.kind = 'hand_over'
         FROM documents d LEFT JOIN aside a ON a.id = d.id
         WHERE d.synced_heads IS NULL OR d.synced_heads <> d.heads ORDER BY d.id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Pending {
            id: r.get(0)?,
            heads: r.get(1)?,
            synced: r.get(2)?,
            held: r.get::<_, Option<bool>>(3)?.unwrap_or(false),
            hand_over: r.get::<_, Option<bool>>(4)?.unwrap_or(false),
        })
    })?;
    rows.collect()
}

/// One customer set aside by sync.
#[derive(Debug, Clone)]
pub struct AsideRow {
    /// Customer id.
    pub id: String,
    /// What is to be done (`crate::aside::Kind` code).
    pub kind: String,
    /// Why, in Chinese.
    pub message: String,
    /// When (ms).
    pub at: i64,
}

/// Every customer set aside, oldest first.
pub fn aside_list(conn: &Connection) -> rusqlite::Result<Vec<AsideRow>> {
    let mut st = conn.prepare_cached("SELECT id, kind, message, at FROM aside ORDER BY at, id")?;
    let rows = st.query_map([], |r| {
        Ok(AsideRow {
            id: r.get(0)?,
            kind: r.get(1)?,
            message: r.get(2)?,
            at: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// Sets a customer aside (or changes why).
pub fn aside_put(conn: &Connection, row: &AsideRow) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO aside (id, kind, message, at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, message = excluded.message, at = excluded.at",
    )?
    .execute(params![row.id, row.kind, row.message, row.at])?;
    Ok(())
}

/// Takes a customer out of the set-aside list.
pub fn aside_clear(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM aside WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Every document's id and heads blob.
pub fn all_heads(conn: &Connection) -> rusqlite::Result<Vec<(String, Vec<u8>)>> {
    let mut st = conn.prepare_cached("SELECT id, heads FROM documents ORDER BY id")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// What the server was last known to hold of a document: `None` if there is
/// no such document, `Some(None)` if the server holds nothing of it.
pub fn synced(conn: &Connection, id: &str) -> rusqlite::Result<Option<Option<Vec<u8>>>> {
    conn.prepare_cached("SELECT synced_heads FROM documents WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
}

/// Records what the server holds of a document (`None`: nothing).
pub fn set_synced(tx: &Transaction, id: &str, heads: Option<&[u8]>) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE documents SET synced_heads = ?2 WHERE id = ?1")?
        .execute(params![id, heads])?;
    Ok(())
}

/// Deletes one customer's document and rows.
pub fn delete_doc(tx: &Transaction, id: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM aside WHERE id = ?1")?
        .execute([id])?;
    tx.prepare_cached("DELETE FROM customers WHERE id = ?1")?
        .execute([id])?;
    tx.prepare_cached("DELETE FROM documents WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Deletes every customer's document and rows.
pub fn delete_all_docs(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DELETE FROM aside; DELETE FROM customer_rules; DELETE FROM customers;
         DELETE FROM doc_chunks; DELETE FROM documents;",
    )
}

/// Removes a profile value.
pub fn meta_delete(conn: &Connection, key: &str) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    Ok(())
}

/// Every profile value whose key starts with `prefix`.
pub fn meta_with_prefix(
    conn: &Connection,
    prefix: &str,
) -> rusqlite::Result<std::collections::HashMap<String, String>> {
    let mut stmt =
        conn.prepare("SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1")?;
    let rows = stmt.query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Deletes every profile value whose key starts with `prefix`; returns how
/// many there were.
pub fn meta_delete_prefix(conn: &Connection, prefix: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM meta WHERE substr(key, 1, length(?1)) = ?1",
        [prefix],
    )
}
