//! SQL for customer documents, the update log and the head-office
//! projection. Plain functions over a connection or transaction: the
//! server's sync engine calls them inside one `Db::write_with` /
//! `Db::read_with` closure so a whole push is one transaction.
//!
//! Storage is the same as on the laptop: a compressed snapshot plus appended
//! change chunks, folded back into the snapshot when the chunks outweigh it.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crm_shared::customer::CreditRequest;
use crm_shared::document::{heads_from_blob as heads_of, heads_to_blob as heads_blob};
use crm_shared::settings::Settings;
use crm_shared::storage::{self, Write};
use crm_shared::summary::{rules_card, search_text, CustomerSummary};
use crm_shared::sync::{Lineage, VersionedSettings};
use crm_shared::{ChangeHash, Customer};

/// Everything a customer contributes to the server's query tables: the
/// list row, the search text, its open conflicts, the slimmed card the rule
/// reports read, and its credit requests.
pub struct Projection {
    /// The list row.
    pub summary: CustomerSummary,
    /// Text searches match.
    pub search: String,
    /// Open conflicts.
    pub conflicts: usize,
    /// [`rules_card`]: what the rule reports read.
    pub slim: Customer,
    /// The same as JSON.
    pub rules: String,
    /// The credit requests on the card, by id.
    pub credit: Vec<(String, CreditRequest)>,
    /// The complaints on the card, whole, by id.
    pub complaints: std::collections::BTreeMap<String, crm_shared::customer::Complaint>,
    /// The activities counted by week, person and kind.
    pub weeks: Vec<crm_shared::reports::ActivityWeek>,
}

impl Projection {
    /// The projection of `card`, which has `conflicts` open conflicts.
    pub fn of(card: &Customer, conflicts: usize) -> Projection {
        let slim = rules_card(card);
        Projection {
            summary: CustomerSummary::of(card),
            search: search_text(card),
            conflicts,
            rules: serde_json::to_string(&slim).expect("a card always serialises"),
            slim,
            credit: card
                .credit_requests
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            complaints: card.complaints.clone(),
            weeks: crm_shared::reports::activity_weeks(card),
        }
    }
}

/// Creates the server's epoch and automerge actor on first open.
pub fn init_meta(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?1)",
        [uuid::Uuid::new_v4().to_string()],
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('actor', ?1)",
        [crm_shared::ActorId::random().to_hex_string()],
    )?;
    // The key of the server's seal on its own changes (`ChangeNote::seal`):
    // kept across restores, as the backup copies `meta`.
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('seal_key', ?1)",
        [key],
    )?;
    Ok(())
}

/// Adds the name's pinyin to every search text written before search
/// texts carried it (`shanghai` and `shhd` find 上海华东机电), once per
/// database (`meta.search_pinyin`); returns how many rows changed. The
/// full-text index follows through its trigger.
pub fn add_pinyin_to_search(conn: &mut Connection) -> rusqlite::Result<usize> {
    let done = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'search_pinyin'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?;
    if done.is_some() {
        return Ok(0);
    }
    let tx = conn.transaction()?;
    let rows: Vec<(String, String, String)> = tx
        .prepare("SELECT id, name, search FROM customers")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut changed = 0;
    {
        let mut update = tx.prepare("UPDATE customers SET search = ?2 WHERE id = ?1")?;
        for (id, name, search) in &rows {
            let with = crm_shared::summary::with_pinyin(search, name);
            if &with != search {
                update.execute(rusqlite::params![id, with])?;
                changed += 1;
            }
        }
    }
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('search_pinyin', '1')",
        [],
    )?;
    tx.commit()?;
    Ok(changed)
}

/// A meta value (`epoch`, `actor`).
pub fn meta(conn: &Connection, key: &str) -> rusqlite::Result<String> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
}

/// A stored document: snapshot with chunks appended, and its bookkeeping.
pub struct Stored {
    pub bytes: Vec<u8>,
    pub snapshot_bytes: i64,
    pub chunk_count: i64,
    pub chunk_bytes: i64,
    pub salesperson: String,
    pub heads: Vec<ChangeHash>,
}

impl Stored {
    /// What storage holds, for [`storage::next_write`].
    pub fn shape(&self) -> storage::Shape {
        storage::Shape {
            chunk_count: self.chunk_count,
            chunk_bytes: self.chunk_bytes,
            snapshot_bytes: self.snapshot_bytes,
        }
    }
}

/// Loads document `id`.
pub fn load(conn: &Connection, id: &str) -> rusqlite::Result<Option<Stored>> {
    let head = conn
        .prepare_cached(
            "SELECT snapshot, chunk_count, chunk_bytes, salesperson, heads
             FROM documents WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Vec<u8>>(4)?,
            ))
        })
        .optional()?;
    let Some((snapshot, chunk_count, chunk_bytes, salesperson, heads)) = head else {
        return Ok(None);
    };
    let snapshot_bytes = snapshot.len() as i64;
    let chunks = if chunk_count > 0 {
        conn.prepare_cached("SELECT data FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?
            .query_map([id], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    Ok(Some(Stored {
        bytes: storage::assemble(snapshot, chunks),
        snapshot_bytes,
        chunk_count,
        chunk_bytes,
        salesperson,
        heads: heads_of(&heads),
    }))
}

/// The newest log position of document `id`.
pub fn seq_of(conn: &Connection, id: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT seq FROM documents WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
}

/// The assigned salesperson of `id`, without loading the document.
pub fn salesperson(conn: &Connection, id: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT salesperson FROM documents WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
}

/// Who made an update, for the log.
pub struct Origin<'a> {
    pub login: &'a str,
    pub device_id: Option<&'a str>,
    pub at: i64,
}

/// Writes a document's new state, appends it to the update log and
/// refreshes its projected row. Returns the log sequence number.
#[allow(clippy::too_many_arguments)]
pub fn store(
    tx: &Transaction,
    id: &str,
    write: &Write,
    heads: &[ChangeHash],
    p: &Projection,
    origin: &Origin,
) -> rusqlite::Result<i64> {
    let summary = &p.summary;
    let heads = heads_blob(heads);
    tx.prepare_cached(
        "INSERT INTO doc_log (doc_id, heads, salesperson, login, device_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, heads, summary.salesperson, origin.login, origin.device_id, origin.at])?;
    let seq = tx.last_insert_rowid();
    match write {
        Write::Snapshot(b) => {
            tx.prepare_cached(
                "INSERT INTO documents (id, snapshot, heads, chunk_count, chunk_bytes, seq, salesperson, updated_at)
                 VALUES (?1, ?2, ?3, 0, 0, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, heads = excluded.heads,
                     chunk_count = 0, chunk_bytes = 0, seq = excluded.seq,
                     salesperson = excluded.salesperson, updated_at = excluded.updated_at",
            )?
            .execute(params![id, b, heads, seq, summary.salesperson, origin.at])?;
            tx.prepare_cached("DELETE FROM doc_chunks WHERE doc_id = ?1")?
                .execute([id])?;
        }
        Write::Append { chunk: b, .. } => {
            tx.prepare_cached(
                "INSERT INTO doc_chunks (doc_id, seq, data)
                 VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM doc_chunks WHERE doc_id = ?1), ?2)",
            )?
            .execute(params![id, b])?;
            tx.prepare_cached(
                "UPDATE documents SET heads = ?2, chunk_count = chunk_count + 1,
                     chunk_bytes = chunk_bytes + ?3, seq = ?4, salesperson = ?5, updated_at = ?6
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                heads,
                b.len() as i64,
                seq,
                summary.salesperson,
                origin.at
            ])?;
        }
    }
    put_row(tx, id, p)?;
    Ok(seq)
}

/// Writes a customer's projected rows (list, search, conflicts, what the
/// rule reports keep).
pub fn put_row(tx: &Connection, id: &str, p: &Projection) -> rusqlite::Result<()> {
    let (summary, search, conflicts) = (&p.summary, &p.search, p.conflicts);
    let json = serde_json::to_string(summary).expect("a summary always serialises");
    tx.prepare_cached("DELETE FROM credit_requests WHERE doc_id = ?1")?
        .execute([id])?;
    for (rid, req) in &p.credit {
        tx.prepare_cached(
            "INSERT INTO credit_requests (doc_id, request_id, salesperson, at, request)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            id,
            rid,
            summary.salesperson,
            req.at,
            serde_json::to_string(req).expect("a request always serialises")
        ])?;
    }
    tx.prepare_cached(
        "INSERT INTO customers (id, name, salesperson, region, status, grade, tier, search,
             conflicts, sort_name, credit_limit, next_followup, last_activity_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, salesperson = excluded.salesperson,
             region = excluded.region, status = excluded.status, grade = excluded.grade,
             tier = excluded.tier, search = excluded.search, conflicts = excluded.conflicts,
             sort_name = excluded.sort_name, credit_limit = excluded.credit_limit,
             next_followup = excluded.next_followup,
             last_activity_at = excluded.last_activity_at",
    )?
    .execute(params![
        id,
        summary.name,
        summary.salesperson,
        summary.region,
        summary.status.code(),
        summary.grade.map(|g| g.code()),
        summary.tier.map(|t| t.code()),
        search,
        conflicts as i64,
        crm_shared::pinyin::sort_key(&summary.name),
        summary.credit_limit,
        summary.next_followup.map(|d| d.to_string()),
        summary.last_activity_at,
    ])?;
    tx.prepare_cached(
        "INSERT INTO customer_details (id, summary, rules) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET summary = excluded.summary, rules = excluded.rules",
    )?
    .execute(params![id, json, p.rules])?;
    crate::reports::put(tx, id, &p.slim, &settings(tx)?.settings)?;
    crate::complaints::put(tx, id, &p.complaints)?;
    crate::activities::put(tx, id, &p.weeks)?;
    Ok(())
}

/// Records which user and device sent a change.
pub fn record_author(
    tx: &Transaction,
    hash: &ChangeHash,
    doc_id: &str,
    origin: &Origin,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO change_authors (hash, doc_id, login, device_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![&hash.0[..], doc_id, origin.login, origin.device_id, origin.at])?;
    Ok(())
}

/// Whether a laptop's [`Lineage`] follows on from what this server last
/// confirmed for its actor (or the actor is new here).
pub fn lineage_follows(conn: &Connection, l: &Lineage) -> rusqlite::Result<bool> {
    let stored: Option<String> = conn
        .prepare_cached("SELECT mark FROM actor_marks WHERE actor = ?1")?
        .query_row([&l.actor], |r| r.get(0))
        .optional()?;
    Ok(match stored {
        None => true,
        Some(m) => Some(&m) == l.mark.as_ref() || m == l.next,
    })
}

/// Moves an actor's mark to the lineage's `next`.
pub fn lineage_advance(
    tx: &Connection,
    l: &Lineage,
    login: &str,
    now: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO actor_marks (actor, mark, login, at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (actor) DO UPDATE SET mark = excluded.mark, login = excluded.login, at = excluded.at",
    )?
    .execute(params![l.actor, l.next, login, now])?;
    Ok(())
}

/// When this server's store was restored from a backup (ms), if it was.
pub fn restored_at(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    let v: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'restored_at'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()))
}

/// The automerge actors this server wrote as before it was restored (hex,
/// oldest first); empty for a server never restored.
pub fn former_actors(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let v: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'former_actors'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(v.and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

/// Records a refused change of a protected field.
pub fn record_refusal(
    tx: &Transaction,
    doc_id: &str,
    path: &str,
    attempted: Option<&str>,
    origin: &Origin,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO refused_edits (doc_id, path, attempted, login, device_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![doc_id, path, attempted, origin.login, origin.device_id, origin.at])?;
    Ok(())
}

/// The newest log sequence number (0 when empty).
pub fn max_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM doc_log", [], |r| {
        r.get(0)
    })
}

/// A document's id, heads and latest seq.
pub struct Head {
    pub id: String,
    pub heads: Vec<ChangeHash>,
    pub seq: i64,
}

fn heads_query(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<Vec<Head>> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(args, |r| {
        Ok(Head {
            id: r.get(0)?,
            heads: heads_of(&r.get::<_, Vec<u8>>(1)?),
            seq: r.get(2)?,
        })
    })?;
    rows.collect()
}

/// Documents changed after `cursor` that `login` sees (`all`: every one), oldest change first.
pub fn changed_since(
    conn: &Connection,
    cursor: i64,
    login: &str,
    all: bool,
) -> rusqlite::Result<Vec<Head>> {
    if all {
        heads_query(
            conn,
            "SELECT id, heads, seq FROM documents WHERE seq > ?1 ORDER BY seq",
            [cursor],
        )
    } else {
        heads_query(
            conn,
            "SELECT id, heads, seq FROM documents WHERE salesperson = ?2 AND seq > ?1 ORDER BY seq",
            params![cursor, login],
        )
    }
}

/// Every document `login` sees (`all`: every one), oldest change first.
pub fn visible(conn: &Connection, login: &str, all: bool) -> rusqlite::Result<Vec<Head>> {
    changed_since(conn, -1, login, all)
}

/// The heads document `id` had at log position `cursor`, and who it was assigned to then.
pub fn heads_at(
    conn: &Connection,
    id: &str,
    cursor: i64,
) -> rusqlite::Result<Option<(Vec<ChangeHash>, String)>> {
    conn.prepare_cached(
        "SELECT heads, salesperson FROM doc_log WHERE doc_id = ?1 AND seq <= ?2 ORDER BY seq DESC LIMIT 1",
    )?
    .query_row(params![id, cursor], |r| Ok((heads_of(&r.get::<_, Vec<u8>>(0)?), r.get(1)?)))
    .optional()
}

/// Documents once assigned to `login`, assigned elsewhere now, changed after `cursor`.
pub fn taken_away(conn: &Connection, cursor: i64, login: &str) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare_cached(TAKEN_AWAY)?;
    let rows = st.query_map(params![cursor, login], |r| r.get(0))?;
    rows.collect()
}

/// Every sync with a cursor runs this over all documents changed since it
/// (everyone's), so it must be answered from indexes alone (a test checks).
pub const TAKEN_AWAY: &str = "SELECT d.id FROM documents d
    WHERE d.seq > ?1 AND d.salesperson <> ?2
      AND EXISTS (SELECT 1 FROM doc_log l WHERE l.doc_id = d.id AND l.salesperson = ?2)";

/// Whether `id` was ever assigned to `login`.
pub fn ever_assigned(conn: &Connection, id: &str, login: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM doc_log WHERE salesperson = ?2 AND doc_id = ?1")?
        .exists(params![id, login])
}

/// Ids of customers with open conflicts that `login` sees (`all`: every one).
pub fn conflicted(conn: &Connection, login: &str, all: bool) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM customers WHERE conflicts > 0 AND (?2 OR salesperson = ?1) ORDER BY name, id",
    )?;
    let rows = st.query_map(params![login, all], |r| r.get(0))?;
    rows.collect()
}

/// A document's projected row: summary, search text, open conflict count.
pub fn row(
    conn: &Connection,
    id: &str,
) -> rusqlite::Result<Option<(CustomerSummary, String, i64)>> {
    conn.prepare_cached(
        "SELECT d.summary, c.search, c.conflicts FROM customers c JOIN customer_details d ON d.id = c.id
         WHERE c.id = ?1",
    )?
        .query_row([id], |r| {
            let json: String = r.get(0)?;
            let summary = serde_json::from_str(&json).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?;
            Ok((summary, r.get(1)?, r.get(2)?))
        })
        .optional()
}

fn json_err(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

/// The credit requests stored for `doc_id`, by request id: what the server
/// last accepted, decisions included.
pub fn credit_requests_of(
    conn: &Connection,
    doc_id: &str,
) -> rusqlite::Result<std::collections::BTreeMap<String, CreditRequest>> {
    let mut st =
        conn.prepare_cached("SELECT request_id, request FROM credit_requests WHERE doc_id = ?1")?;
    let rows = st.query_map([doc_id], |r| {
        let json: String = r.get(1)?;
        Ok((r.get(0)?, serde_json::from_str(&json).map_err(json_err)?))
    })?;
    rows.collect()
}

/// Whether the server holds any credit request for `doc_id`.
pub fn has_credit_requests(conn: &Connection, doc_id: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM credit_requests WHERE doc_id = ?1")?
        .exists([doc_id])
}

/// Every stored credit request (`salesperson`: only theirs), oldest first,
/// with its customer id.
pub fn credit_requests(
    conn: &Connection,
    salesperson: Option<&str>,
) -> rusqlite::Result<Vec<(String, String, CreditRequest)>> {
    let mut st = conn.prepare_cached(
        "SELECT doc_id, request_id, request FROM credit_requests
         WHERE ?1 IS NULL OR salesperson = ?1 ORDER BY at, doc_id, request_id",
    )?;
    let rows = st.query_map([salesperson], |r| {
        let json: String = r.get(2)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            serde_json::from_str(&json).map_err(json_err)?,
        ))
    })?;
    rows.collect()
}

/// Runs `f` over the slimmed card of every customer (`salesperson`: only
/// theirs), by name in pinyin order, parsing them on all cores a chunk at a time so memory
/// stays bounded however many customers there are; returns what `f` gave,
/// in order.
pub fn over_rules_cards<T: Send>(
    conn: &Connection,
    salesperson: Option<&str>,
    f: impl Fn(&Customer) -> Vec<T> + Sync,
) -> rusqlite::Result<Vec<T>> {
    use rayon::prelude::*;
    const CHUNK: usize = 4096;
    // Two statements rather than `?1 IS NULL OR …`, which would keep SQLite
    // from using the salesperson index.
    let mut st = match salesperson {
        Some(_) => conn.prepare_cached(
            "SELECT d.rules FROM customers c JOIN customer_details d ON d.id = c.id
             WHERE c.salesperson = ?1 AND d.rules <> '' ORDER BY c.sort_name, c.id",
        )?,
        None => conn.prepare_cached(
            "SELECT d.rules FROM customers c JOIN customer_details d ON d.id = c.id
             WHERE d.rules <> '' AND ?1 IS NULL ORDER BY c.sort_name, c.id",
        )?,
    };
    let mut rows = st.query([salesperson])?;
    let mut out = Vec::new();
    let mut chunk: Vec<String> = Vec::with_capacity(CHUNK);
    let flush = |chunk: &mut Vec<String>, out: &mut Vec<T>| -> rusqlite::Result<()> {
        let parsed: Vec<Vec<T>> = chunk
            .par_iter()
            .map(|json| serde_json::from_str::<Customer>(json).map(|c| f(&c)))
            .collect::<Result<_, _>>()
            .map_err(json_err)?;
        out.extend(parsed.into_iter().flatten());
        chunk.clear();
        Ok(())
    };
    while let Some(r) = rows.next()? {
        chunk.push(r.get(0)?);
        if chunk.len() == CHUNK {
            flush(&mut chunk, &mut out)?;
        }
    }
    flush(&mut chunk, &mut out)?;
    Ok(out)
}

/// The customers whose follow-up falls on or before `today`
/// (`salesperson`: only theirs): how many in all, how many each
/// salesperson has, and the slimmed cards of `limit` of them from
/// `offset`, most overdue first. Read through the follow-up index, so a
/// page costs the same however large the archive.
pub fn due_followups(
    conn: &Connection,
    salesperson: Option<&str>,
    today: &str,
    offset: usize,
    limit: usize,
) -> rusqlite::Result<DueFollowups> {
    let mine = if salesperson.is_some() {
        " AND c.salesperson = ?2"
    } else {
        ""
    };
    let args = || std::iter::once(today).chain(salesperson);
    let mut by_salesperson = Vec::new();
    let mut st = conn.prepare_cached(&format!(
        "SELECT c.salesperson, COUNT(*) FROM customers c
         WHERE c.next_followup <= ?1{mine} GROUP BY c.salesperson ORDER BY 2 DESC, 1"
    ))?;
    let mut rows = st.query(rusqlite::params_from_iter(args()))?;
    while let Some(r) = rows.next()? {
        by_salesperson.push((r.get(0)?, r.get::<_, i64>(1)? as u64));
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT d.rules, d.summary FROM customers c JOIN customer_details d ON d.id = c.id
         WHERE c.next_followup <= ?1{mine} AND d.rules <> ''
         ORDER BY c.next_followup, c.id LIMIT {limit} OFFSET {offset}"
    ))?;
    let cards = st
        .query_map(rusqlite::params_from_iter(args()), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .map(|row| {
            let (rules, summary) = row?;
            Ok((
                serde_json::from_str::<Customer>(&rules).map_err(json_err)?,
                serde_json::from_str::<CustomerSummary>(&summary).map_err(json_err)?,
            ))
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(DueFollowups {
        total: by_salesperson.iter().map(|(_, n)| n).sum(),
        by_salesperson,
        cards,
    })
}

/// What [`due_followups`] found.
#[derive(Debug, Default)]
pub struct DueFollowups {
    /// Customers due or overdue in all.
    pub total: u64,
    /// (salesperson login, customers due or overdue), most first.
    pub by_salesperson: Vec<(String, u64)>,
    /// The page's slimmed cards with their list summaries (which name
    /// the main contact), most overdue first.
    pub cards: Vec<(Customer, CustomerSummary)>,
}

/// Ids of customers whose slimmed card is missing (written before migration 4).
pub fn without_rules(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare("SELECT id FROM customer_details WHERE rules = ''")?;
    let rows = st.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Ids of the customers assigned to `salesperson`.
pub fn ids_of(conn: &Connection, salesperson: &str) -> rusqlite::Result<Vec<String>> {
    let mut st =
        conn.prepare_cached("SELECT id FROM documents WHERE salesperson = ?1 ORDER BY id")?;
    let rows = st.query_map([salesperson], |r| r.get(0))?;
    rows.collect()
}

/// The company settings and their version (defaults, version 0, until set).
pub fn settings(conn: &Connection) -> rusqlite::Result<VersionedSettings> {
    let json: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'settings'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    match json {
        None => Ok(VersionedSettings {
            version: 0,
            settings: Settings::default(),
        }),
        Some(j) => serde_json::from_str(&j).map_err(json_err),
    }
}

/// Replaces the company settings and rewrites what the rule reports keep
/// under them; returns the new version.
pub fn set_settings(conn: &Connection, s: &Settings) -> rusqlite::Result<u64> {
    let version = settings(conn)?.version + 1;
    let json = serde_json::to_string(&VersionedSettings {
        version,
        settings: s.clone(),
    })
    .expect("settings always serialise");
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('settings', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [json],
    )?;
    Ok(version)
}

/// Once a migration asked for it with `meta.<flag>`: hands `fill` every
/// customer whose slimmed card matches `shows` (a LIKE pattern over its
/// JSON) with its card read whole from the document, in one transaction,
/// then forgets the flag. For rows that need what the slimmed card leaves
/// out.
pub(crate) fn fill_once_from_documents(
    conn: &mut Connection,
    flag: &str,
    shows: &str,
    mut fill: impl FnMut(&Connection, &str, &Customer) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let due: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [flag], |r| {
            r.get(0)
        })
        .optional()?;
    if due.is_none() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    let ids: Vec<String> = tx
        .prepare("SELECT id FROM customer_details WHERE rules LIKE ?1")?
        .query_map([shows], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &ids {
        let Some(stored) = load(&tx, id)? else {
            continue;
        };
        let doc = crm_shared::CustomerDoc::load(&stored.bytes, crm_shared::ActorId::random())
            .map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Blob,
                    Box::new(e),
                )
            })?;
        fill(&tx, id, doc.card())?;
    }
    tx.execute("DELETE FROM meta WHERE key = ?1", [flag])?;
    tx.commit()
}

/// Fills the pinyin sort key of rows written before it was kept (see
/// migration 11); a no-op once every row has one.
pub(crate) fn fill_sort_names(conn: &mut Connection) -> rusqlite::Result<()> {
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT id, name FROM customers WHERE sort_name = ''")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if rows.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    {
        let mut st = tx.prepare("UPDATE customers SET sort_name = ?2 WHERE id = ?1")?;
        for (id, name) in &rows {
            st.execute(params![id, crm_shared::pinyin::sort_key(name)])?;
        }
    }
    tx.commit()
}

/// How the console's customer list is ordered. Customers without the value
/// come last either way; the id breaks ties, so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListOrder {
    /// By name, in pinyin order.
    #[default]
    Name,
    /// By credit limit.
    CreditLimit,
    /// By grade, A first.
    Grade,
    /// By the day of the next follow-up.
    NextFollowup,
    /// By when the last visit or call was.
    LastActivity,
}

impl ListOrder {
    /// Every order, in the list's column order.
    pub const ALL: [ListOrder; 5] = [
        ListOrder::Name,
        ListOrder::CreditLimit,
        ListOrder::Grade,
        ListOrder::NextFollowup,
        ListOrder::LastActivity,
    ];

    /// The code in a URL.
    pub fn code(self) -> &'static str {
        match self {
            ListOrder::Name => "name",
            ListOrder::CreditLimit => "credit",
            ListOrder::Grade => "grade",
            ListOrder::NextFollowup => "followup",
            ListOrder::LastActivity => "activity",
        }
    }

    /// From its code.
    pub fn from_code(code: &str) -> Option<ListOrder> {
        ListOrder::ALL.into_iter().find(|o| o.code() == code)
    }

    fn column(self) -> &'static str {
        match self {
            ListOrder::Name => "c.sort_name",
            ListOrder::CreditLimit => "c.credit_limit",
            ListOrder::Grade => "c.grade",
            ListOrder::NextFollowup => "c.next_followup",
            ListOrder::LastActivity => "c.last_activity_at",
        }
    }
}

/// What the console's customer list filters on; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Substring of the name, a contact's name or number, or the tax number.
    pub q: Option<String>,
    /// Region, exactly.
    pub region: Option<String>,
    /// Salesperson login, exactly.
    pub salesperson: Option<String>,
    /// Grade code.
    pub grade: Option<String>,
    /// Status code.
    pub status: Option<String>,
    /// Tier code.
    pub tier: Option<String>,
    /// The order of the list.
    pub order: ListOrder,
    /// Largest first (customers without the value still come last).
    pub descending: bool,
}

/// A page of customers matching `f`, in its order. Only the filters given
/// go into the SQL, so an exact filter (salesperson, region) can use its
/// index.
pub fn list(
    conn: &Connection,
    f: &ListFilter,
    offset: usize,
    limit: usize,
) -> rusqlite::Result<Vec<CustomerSummary>> {
    let (filter, args) = matching(f);
    let col = f.order.column();
    let page = |extra: &str, order: &str, offset: usize, limit: usize| {
        let sql = format!(
            "SELECT c.id FROM customers c WHERE 1{filter}{extra}
             ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        conn.prepare_cached(&sql)?
            .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()
    };
    // Each order reads its page through its index (the page's ids from
    // the narrow rows first; only they are joined to their summaries).
    // Customers without the value come last: largest first, SQLite puts
    // NULL there itself; smallest first, they are a second range, read
    // only once the page runs past the others.
    let ids = match (f.order, f.descending) {
        (_, true) => page("", &format!("{col} DESC, c.id DESC"), offset, limit)?,
        (ListOrder::Name, false) => page("", &format!("{col}, c.id"), offset, limit)?,
        (_, false) => {
            let valued = format!(" AND {col} IS NOT NULL");
            let mut ids = page(&valued, &format!("{col}, c.id"), offset, limit)?;
            if ids.len() < limit {
                let before = count_where(conn, &format!("{filter}{valued}"), &args)? as usize;
                ids.extend(page(
                    &format!(" AND {col} IS NULL"),
                    "c.id",
                    offset.saturating_sub(before),
                    limit - ids.len(),
                )?);
            }
            ids
        }
    };
    let mut st = conn.prepare_cached("SELECT summary FROM customer_details WHERE id = ?1")?;
    ids.iter()
        .map(|id| {
            st.query_row([id], |r| {
                let json: String = r.get(0)?;
                serde_json::from_str(&json).map_err(json_err)
            })
        })
        .collect()
}

/// How many customers match `f`.
pub fn count(conn: &Connection, f: &ListFilter) -> rusqlite::Result<u64> {
    let (filter, args) = matching(f);
    count_where(conn, &filter, &args)
}

/// How many rows of `customers c` meet the conditions `filter` (from
/// [`matching`], perhaps with more) with their `args`.
fn count_where(conn: &Connection, filter: &str, args: &[String]) -> rusqlite::Result<u64> {
    conn.prepare_cached(&format!("SELECT COUNT(*) FROM customers c WHERE 1{filter}"))?
        .query_row(rusqlite::params_from_iter(args.iter()), |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n as u64)
}

/// The SQL conditions of `f` on `customers c` and their arguments.
fn matching(f: &ListFilter) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut args: Vec<String> = Vec::new();
    if let Some(q) = &f.q {
        if q.chars().count() >= 3 {
            // The trigram index finds any substring of three or more characters.
            args.push(format!("\"{}\"", q.replace('"', "\"\"")));
            sql.push_str(&format!(
                " AND c.rowid IN (SELECT rowid FROM customer_search WHERE customer_search MATCH ?{})",
                args.len()
            ));
        } else {
            let escaped = q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            args.push(format!("%{escaped}%"));
            sql.push_str(&format!(" AND c.search LIKE ?{} ESCAPE '\\'", args.len()));
        }
    }
    for (col, v) in [
        ("region", &f.region),
        ("salesperson", &f.salesperson),
        ("grade", &f.grade),
        ("status", &f.status),
        ("tier", &f.tier),
    ] {
        if let Some(v) = v {
            args.push(v.clone());
            sql.push_str(&format!(" AND c.{col} = ?{}", args.len()));
        }
    }
    (sql, args)
}

/// Regions and salespeople present, for the list's filter menus. With
/// `salesperson`, only that salesperson's customers count: a menu must not
/// tell them which regions colleagues work in.
pub fn facets(
    conn: &Connection,
    salesperson: Option<&str>,
) -> rusqlite::Result<(Vec<String>, Vec<String>)> {
    // The filter goes into the SQL only when given, so it can use the
    // salesperson index (`?1 IS NULL OR …` would scan every row).
    let col = |column: &str, extra: &str| -> rusqlite::Result<Vec<String>> {
        let mine = if salesperson.is_some() {
            " AND salesperson = ?1"
        } else {
            ""
        };
        let sql = format!(
            "SELECT DISTINCT {column} FROM customers WHERE 1{extra}{mine} ORDER BY {column}"
        );
        let mut st = conn.prepare_cached(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(salesperson), |r| r.get(0))?;
        rows.collect()
    };
    Ok((col("region", " AND region <> ''")?, col("salesperson", "")?))
}

/// Head office's home-page figures, from the list rows and their indexes
/// (never the documents), over `salesperson`'s customers or, with `None`,
/// every customer.
#[derive(Debug, Default, Clone)]
pub struct Overview {
    /// Customers in all.
    pub customers: u64,
    /// (grade code, or `None` for ungraded; customers; sum of their credit
    /// limits in yuan), in grade order, ungraded first.
    pub by_grade: Vec<(Option<String>, u64, i64)>,
    /// (salesperson login, customers whose follow-up day is before
    /// `today`), most first.
    pub overdue: Vec<(String, u64)>,
    /// Customers whose follow-up falls on `today`.
    pub due_today: u64,
    /// Customers with an open conflict.
    pub conflicted: u64,
}

/// [`Overview`] on `today` (`YYYY-MM-DD`).
pub fn overview(
    conn: &Connection,
    salesperson: Option<&str>,
    today: &str,
) -> rusqlite::Result<Overview> {
    // As in `facets`: the salesperson filter only when given, so the
    // whole-archive figures can use the grade and follow-up indexes.
    let only = |n: usize| match salesperson {
        Some(_) => format!(" AND salesperson = ?{n}"),
        None => String::new(),
    };
    let with_day = || std::iter::once(today).chain(salesperson);
    let mut by_grade = Vec::new();
    let mut st = conn.prepare_cached(&format!(
        "SELECT grade, COUNT(*), COALESCE(SUM(credit_limit), 0) FROM customers
         WHERE 1{} GROUP BY grade ORDER BY grade",
        only(1)
    ))?;
    let mut rows = st.query(rusqlite::params_from_iter(salesperson))?;
    while let Some(r) = rows.next()? {
        by_grade.push((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?));
    }
    let mut overdue = Vec::new();
    let mut st = conn.prepare_cached(&format!(
        "SELECT salesperson, COUNT(*) FROM customers
         WHERE next_followup < ?1{} GROUP BY salesperson ORDER BY 2 DESC, 1",
        only(2)
    ))?;
    let mut rows = st.query(rusqlite::params_from_iter(with_day()))?;
    while let Some(r) = rows.next()? {
        overdue.push((r.get(0)?, r.get::<_, i64>(1)? as u64));
    }
    let count = |sql: String, args: Vec<&str>| -> rusqlite::Result<u64> {
        conn.prepare_cached(&sql)?
            .query_row(rusqlite::params_from_iter(args), |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
    };
    Ok(Overview {
        customers: by_grade.iter().map(|(_, n, _)| n).sum(),
        by_grade,
        overdue,
        due_today: count(
            format!(
                "SELECT COUNT(*) FROM customers WHERE next_followup = ?1{}",
                only(2)
            ),
            with_day().collect(),
        )?,
        conflicted: count(
            format!(
                "SELECT COUNT(*) FROM customers WHERE conflicts > 0{}",
                only(1)
            ),
            salesperson.into_iter().collect(),
        )?,
    })
}

/// How many customers `login` sees (`all`: every one) changed after log position `cursor`.
pub fn changed_count(
    conn: &Connection,
    cursor: i64,
    login: &str,
    all: bool,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT COUNT(*) FROM documents WHERE seq > ?1 AND (?3 OR salesperson = ?2)",
    )?
    .query_row(params![cursor, login, all], |r| r.get(0))
}

/// Customers named exactly `name`: (id, name).
pub fn find_by_name(conn: &Connection, name: &str) -> rusqlite::Result<Vec<(String, String)>> {
    let mut st =
        conn.prepare_cached("SELECT id, name FROM customers WHERE name = ?1 ORDER BY id")?;
    let rows = st.query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Customers with a contact's phone or mobile, or a tax number, equal to
/// `number` (ASCII letters in any case): (id, name). The trigram index
/// narrows the candidates to those whose search text contains it; a
/// candidate counts only if one of its lines (one number each, see
/// `crm_shared::summary::search_text`) is the whole number: 6666-1234 is not
/// a duplicate of 021-6666-1234.
pub fn find_by_number(conn: &Connection, number: &str) -> rusqlite::Result<Vec<(String, String)>> {
    if number.chars().count() < 3 {
        return Ok(Vec::new());
    }
    let mut st = conn.prepare_cached(
        "SELECT id, name FROM customers WHERE rowid IN
            (SELECT rowid FROM customer_search WHERE customer_search MATCH ?1)
         AND instr(upper(char(10) || search || char(10)), upper(char(10) || ?2 || char(10))) > 0
         ORDER BY id LIMIT 20",
    )?;
    let phrase = format!("\"{}\"", number.replace('"', "\"\""));
    let rows = st.query_map([phrase.as_str(), number], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
