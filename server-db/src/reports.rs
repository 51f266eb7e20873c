//! What the rule reports keep per customer, so that a page of the grade
//! table or of the warnings reads its own rows and not every card:
//!
//! - `warning_rows`: each warning the customer's card raises on some day,
//!   with the day it starts (`warnings::schedule`), rewritten with the
//!   customer in the same transaction as every write, and for every
//!   customer when the company settings change.
//! - `grade_rows`: the customer's grade-table row and the days it holds
//!   (`grading::window`). A write marks it out of date; the grade report
//!   brings rows that do not hold today up to date before it reads (after
//!   a write, a month's turn, an unpaid sale falling due, a settings
//!   change), so a month costs one pass over the archive, not every page.
//!
//! (The complaint rows are `complaints`'; they follow no settings.)
//!
//! Days are stored as `YYYY-MM-DD` text and compared as text; [`day_key`]
//! keeps days outside the years 1000–9999 from breaking that order.

use chrono::Datelike;
use rusqlite::{params, Connection, OptionalExtension};

use crm_shared::day::Day;
use crm_shared::grading::{self, GradeRow};
use crm_shared::settings::Settings;
use crm_shared::warnings;
use crm_shared::Customer;

use crate::documents;

/// A day as stored: `YYYY-MM-DD`, or the lowest / highest key for a day
/// before the year 1000 / after 9999 (so text order stays day order).
fn day_key(d: Day) -> String {
    match d.0.year() {
        ..1000 => "0000-00-00".into(),
        10000.. => "9999-99-99".into(),
        _ => d.to_string(),
    }
}

fn json_err(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

/// Writes the warning schedule of `slim` (a `summary::rules_card`) under
/// `s` and marks its grade row out of date.
pub fn put(tx: &Connection, id: &str, slim: &Customer, s: &Settings) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM warning_rows WHERE customer_id = ?1")?
        .execute([id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO warning_rows (customer_id, seq, rule, active_from, sort_name)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    // The list's order, kept here too so that one rule's page walks its
    // own index in that order.
    let sort_name = crm_shared::pinyin::sort_key(&slim.name);
    for (seq, w) in warnings::schedule(slim, s).iter().enumerate() {
        insert.execute(params![
            id,
            seq as i64,
            w.rule.code(),
            w.from.map(day_key).unwrap_or_default(),
            sort_name,
        ])?;
    }
    tx.prepare_cached(
        "INSERT INTO grade_rows (customer_id, grade, valid_from, valid_until, row)
         VALUES (?1, NULL, '', '', '')
         ON CONFLICT (customer_id) DO UPDATE SET valid_from = '', valid_until = ''",
    )?
    .execute([id])?;
    Ok(())
}

/// Rewrites every customer's warnings under the current settings and marks
/// every grade row out of date, in one transaction; records which settings
/// version they follow. Returns how many customers it went over.
pub fn rebuild(conn: &Connection) -> rusqlite::Result<usize> {
    let version = documents::settings(conn)?.version;
    let (mut after, mut n) = (String::new(), 0);
    while let Some((last, done)) = rebuild_some(conn, &after, REBUILD_STEP)? {
        after = last;
        n += done;
    }
    finish_rebuild(conn, version)?;
    Ok(n)
}

/// Customers a step of [`rebuild_some`] goes over.
pub const REBUILD_STEP: usize = 4096;

/// Rewrites the warnings of up to `n` customers whose id comes after
/// `after`, in id order, under the current settings, and marks their grade
/// rows out of date; returns the last id and how many it went over, or
/// `None` when none is left. A settings change takes these steps in
/// transactions of their own, so that syncs waiting for the writer go
/// between them; a customer written meanwhile gets its rows under the new
/// settings from that write.
pub fn rebuild_some(
    conn: &Connection,
    after: &str,
    n: usize,
) -> rusqlite::Result<Option<(String, usize)>> {
    let settings = documents::settings(conn)?;
    let ids: Vec<String> = conn
        .prepare_cached(
            "SELECT id FROM customer_details WHERE id > ?1 AND rules <> '' ORDER BY id LIMIT ?2",
        )?
        .query_map(params![after, n as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    in_chunks(conn, &ids, |id, card| {
        put(conn, id, card, &settings.settings)
    })?;
    Ok(ids.last().map(|last| (last.clone(), ids.len())))
}

/// Ends a rebuild begun under settings `version`: drops the rows of
/// customers no longer kept and records that the rows follow that version
/// (if the settings changed again meanwhile, the next open rebuilds).
pub fn finish_rebuild(conn: &Connection, version: u64) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM warning_rows WHERE customer_id NOT IN
             (SELECT id FROM customer_details WHERE rules <> '')",
        [],
    )?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('reports_settings', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [version.to_string()],
    )?;
    Ok(())
}

/// Parses the slimmed cards of `ids` a chunk at a time on all cores and
/// hands each to `f`, so memory stays bounded at any archive size.
fn in_chunks(
    conn: &Connection,
    ids: &[String],
    mut f: impl FnMut(&str, &Customer) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    use rayon::prelude::*;
    const CHUNK: usize = 4096;
    let mut read = conn.prepare_cached("SELECT rules FROM customer_details WHERE id = ?1")?;
    for chunk in ids.chunks(CHUNK) {
        let jsons: Vec<String> = chunk
            .iter()
            .map(|id| read.query_row([id], |r| r.get(0)))
            .collect::<rusqlite::Result<_>>()?;
        let cards: Vec<Customer> = jsons
            .par_iter()
            .map(|json| serde_json::from_str(json).map_err(json_err))
            .collect::<rusqlite::Result<_>>()?;
        for (id, card) in chunk.iter().zip(&cards) {
            f(id, card)?;
        }
    }
    Ok(())
}

/// [`rebuild`], if the rows follow other settings than the current ones
/// (a database from before these rows, or settings restored beside them).
pub fn rebuild_if_stale(conn: &mut Connection) -> rusqlite::Result<()> {
    let follows: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'reports_settings'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if follows == Some(documents::settings(conn)?.version.to_string()) {
        return Ok(());
    }
    let tx = conn.transaction()?;
    rebuild(&tx)?;
    tx.commit()
}

const STALE_GRADES: &str = "SELECT customer_id FROM grade_rows WHERE valid_until <= ?1
     UNION SELECT customer_id FROM grade_rows WHERE valid_from > ?1";

/// Whether some grade row does not hold on `day`.
pub fn grades_stale(conn: &Connection, day: Day) -> rusqlite::Result<bool> {
    conn.prepare_cached(&format!("{STALE_GRADES} LIMIT 1"))?
        .exists([day_key(day)])
}

/// Recomputes up to `n` grade rows that do not hold on `day`, for `day`;
/// returns how many. Fewer than `n` means none is left: the rows move a
/// month at a time, all at once at the turn of a month, so a caller
/// takes them in steps (transactions of their own) to share the writer.
pub fn refresh_grades(tx: &Connection, day: Day, n: usize) -> rusqlite::Result<usize> {
    let g = documents::settings(tx)?.settings.grading;
    let stale: Vec<String> = tx
        .prepare_cached(&format!(
            "SELECT d.id FROM customer_details d
             WHERE d.id IN ({STALE_GRADES}) AND d.rules <> '' LIMIT ?2"
        ))?
        .query_map(
            params![day_key(day), n.min(i64::MAX as usize) as i64],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = tx.prepare_cached(
        "UPDATE grade_rows SET grade = ?2, valid_from = ?3, valid_until = ?4, row = ?5
         WHERE customer_id = ?1",
    )?;
    in_chunks(tx, &stale, |id, card| {
        let row = GradeRow::of(card, &g, day);
        let (from, until) = grading::window(card, day);
        update.execute(params![
            id,
            row.grade.map(|g| g.code()),
            day_key(from),
            day_key(until),
            serde_json::to_string(&row).expect("a grade row always serialises"),
        ])?;
        Ok(())
    })?;
    Ok(stale.len())
}

/// Which rows a report page shows: whose, which kind, and where.
#[derive(Debug, Clone, Default)]
pub struct Slice<'a> {
    /// Only this salesperson's customers.
    pub salesperson: Option<&'a str>,
    /// Only customers of this region (区域).
    pub region: Option<&'a str>,
    /// Only this rule (a warning rule's code) or assessed grade (a grade's code).
    pub kind: Option<&'a str>,
    /// Rows to skip.
    pub offset: usize,
    /// Rows to return; `None` for all.
    pub limit: Option<usize>,
}

impl Slice<'_> {
    /// The conditions on `customers c` for whose rows: parameters `?{who}`
    /// (salesperson) and `?{who + 1}` (region). Separate texts rather than
    /// `?1 IS NULL OR …`, which would keep SQLite from the indexes.
    fn whose(&self, who: usize) -> String {
        let mut w = String::new();
        match self.salesperson {
            Some(_) => w.push_str(&format!(" AND c.salesperson = ?{who}")),
            None => w.push_str(&format!(" AND ?{who} IS NULL")),
        }
        match self.region {
            Some(_) => w.push_str(&format!(" AND c.region = ?{}", who + 1)),
            None => w.push_str(&format!(" AND ?{} IS NULL", who + 1)),
        }
        w
    }

    fn limit_clause(&self) -> String {
        match self.limit {
            Some(n) => format!(" LIMIT {n} OFFSET {}", self.offset),
            None => format!(" LIMIT -1 OFFSET {}", self.offset),
        }
    }
}

/// A page of a report: the counts over the whole scope, and the rows.
#[derive(Debug, Default)]
pub struct Page<T> {
    /// Rows per kind (rule or grade code; `None`: not graded) in scope,
    /// whatever the kind asked for.
    pub per_kind: Vec<(Option<String>, u64)>,
    /// The page's rows, by customer name in pinyin order.
    pub rows: Vec<T>,
}

/// Counts per kind: over everyone from `all` (one table and its index),
/// else from `scoped` (joined to the list rows for whose they are).
fn per_kind(
    conn: &Connection,
    slice: &Slice,
    all: &str,
    scoped: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<Vec<(Option<String>, u64)>> {
    let sql = if slice.salesperson.is_some() || slice.region.is_some() {
        scoped
    } else {
        all
    };
    let mut out = Vec::new();
    let mut st = conn.prepare_cached(sql)?;
    let mut rows = st.query(args)?;
    while let Some(r) = rows.next()? {
        out.push((r.get(0)?, r.get::<_, i64>(1)? as u64));
    }
    Ok(out)
}

// Page queries walk the list rows in name order (`CROSS JOIN` keeps
// SQLite to that order, and `+` keeps it from the kind's index inside the
// loop, which would make a page cost the archive squared); the page's
// wide rows are read after, only for the page.

/// The grade table's rows in `slice`, as last refreshed (see
/// [`refresh_grades`]).
pub fn grades(conn: &Connection, slice: &Slice) -> rusqlite::Result<Page<GradeRow>> {
    let mine = slice.whose(1);
    let per_kind = per_kind(
        conn,
        slice,
        "SELECT grade, COUNT(*) FROM grade_rows WHERE ?1 IS NULL AND ?2 IS NULL
         GROUP BY grade ORDER BY grade",
        &format!(
            "SELECT g.grade, COUNT(*) FROM grade_rows g JOIN customers c ON c.id = g.customer_id
             WHERE 1{mine} GROUP BY g.grade ORDER BY g.grade"
        ),
        params![slice.salesperson, slice.region],
    )?;
    let kind = if slice.kind.is_some() {
        " AND +g.grade = ?3"
    } else {
        " AND ?3 IS NULL"
    };
    let ids: Vec<String> = conn
        .prepare_cached(&format!(
            "SELECT c.id FROM customers c
             CROSS JOIN grade_rows g INDEXED BY grade_rows_by_customer ON g.customer_id = c.id
             WHERE 1{mine}{kind} ORDER BY c.sort_name, c.id{}",
            slice.limit_clause()
        ))?
        .query_map(params![slice.salesperson, slice.region, slice.kind], |r| {
            r.get(0)
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut row = conn.prepare_cached("SELECT row FROM grade_rows WHERE customer_id = ?1")?;
    let mut rows = Vec::with_capacity(ids.len());
    for id in &ids {
        let json: String = row.query_row([id], |r| r.get(0))?;
        // Empty only between a customer's first write and the next refresh.
        if !json.is_empty() {
            rows.push(serde_json::from_str(&json).map_err(json_err)?);
        }
    }
    Ok(Page { per_kind, rows })
}

/// The warnings raised on `day` in `slice`: the rows are what `word`
/// makes of each customer's slimmed card and the places of its page rows
/// in its schedule (`warnings::schedule`). Cards are parsed and worded
/// 4,096 customers at a time on all cores, each once, then dropped.
pub fn warnings<T: Send>(
    conn: &Connection,
    day: Day,
    slice: &Slice,
    word: impl Fn(&Customer, &[usize]) -> Vec<T> + Sync,
) -> rusqlite::Result<Page<T>> {
    use rayon::prelude::*;
    let mine = slice.whose(2);
    let per_kind = per_kind(
        conn,
        slice,
        "SELECT rule, COUNT(*) FROM warning_rows
         WHERE active_from <= ?1 AND ?2 IS NULL AND ?3 IS NULL GROUP BY rule",
        &format!(
            "SELECT w.rule, COUNT(*) FROM warning_rows w JOIN customers c ON c.id = w.customer_id
             WHERE w.active_from <= ?1{mine} GROUP BY w.rule"
        ),
        params![day_key(day), slice.salesperson, slice.region],
    )?;
    // All rules: walk the customers in name order. One rule: walk that
    // rule's rows in name order (its own index), so a rare rule's page does
    // not pass every customer.
    let sql = match slice.kind {
        None => format!(
            "SELECT c.id, w.seq FROM customers c
             CROSS JOIN warning_rows w ON w.customer_id = c.id
             WHERE +w.active_from <= ?1{mine} AND ?4 IS NULL
             ORDER BY c.sort_name, c.id, w.seq{}",
            slice.limit_clause()
        ),
        Some(_) => format!(
            "SELECT w.customer_id, w.seq FROM warning_rows w INDEXED BY warning_rows_by_rule_name
             CROSS JOIN customers c ON c.id = w.customer_id
             WHERE w.rule = ?4 AND w.active_from <= ?1{mine}
             ORDER BY w.sort_name, w.customer_id, w.seq{}",
            slice.limit_clause()
        ),
    };
    let found: Vec<(String, i64)> = conn
        .prepare_cached(&sql)?
        .query_map(
            params![day_key(day), slice.salesperson, slice.region, slice.kind],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .collect::<rusqlite::Result<_>>()?;
    // A customer's rows are next to each other: one entry for them.
    let mut by_customer: Vec<(String, Vec<usize>)> = Vec::new();
    for (id, seq) in found {
        match by_customer.last_mut() {
            Some((last, seqs)) if *last == id => seqs.push(seq as usize),
            _ => by_customer.push((id, vec![seq as usize])),
        }
    }
    let mut read = conn.prepare_cached("SELECT rules FROM customer_details WHERE id = ?1")?;
    let mut rows = Vec::new();
    for chunk in by_customer.chunks(4096) {
        let jsons: Vec<String> = chunk
            .iter()
            .map(|(id, _)| read.query_row([id], |r| r.get(0)))
            .collect::<rusqlite::Result<_>>()?;
        let worded: Vec<Vec<T>> = jsons
            .par_iter()
            .zip(chunk)
            .map(|(json, (_, seqs))| {
                let card: Customer = serde_json::from_str(json).map_err(json_err)?;
                Ok(word(&card, seqs))
            })
            .collect::<rusqlite::Result<_>>()?;
        rows.extend(worded.into_iter().flatten());
    }
    Ok(Page { per_kind, rows })
}
