//! The complaint rows: every complaint of every customer, whole, with the
//! step it waits for, rewritten with the customer in the same transaction
//! as every write (`documents::put_row`). They serve the complaints list,
//! the monthly statistics and 工作台's chart, and they are the server's
//! record of head office's part of each case, which a laptop's push may
//! not change (`crm_shared::complaint::office_part`).

use std::collections::BTreeMap;

use rusqlite::{params, Connection};

use crm_shared::complaint;
use crm_shared::customer::Complaint;
use crm_shared::reports::ComplaintMonth;

use crate::documents;

/// What [`stage`] stores for a closed case.
pub const CLOSED: &str = "closed";

/// The step case `k` waits for, as stored: a step's code, or [`CLOSED`].
pub fn stage(k: &Complaint) -> &'static str {
    complaint::next_step(k).map_or(CLOSED, |s| s.code())
}

/// Writes customer `id`'s complaint rows.
pub fn put(
    tx: &Connection,
    id: &str,
    complaints: &BTreeMap<String, Complaint>,
) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM complaint_rows WHERE customer_id = ?1")?
        .execute([id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO complaint_rows
             (customer_id, complaint_id, month, category, closed, satisfied, at, stage, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for (key, k) in complaints {
        insert.execute(params![
            id,
            key,
            crm_shared::reports::month_of(k.at),
            k.category.map(|c| c.code()),
            k.closed_at.is_some(),
            k.satisfied,
            k.at,
            stage(k),
            serde_json::to_string(k).expect("a complaint always serialises"),
        ])?;
    }
    Ok(())
}

/// Customer `id`'s complaints as the server holds them.
pub fn held(conn: &Connection, id: &str) -> rusqlite::Result<BTreeMap<String, Complaint>> {
    conn.prepare_cached("SELECT complaint_id, body FROM complaint_rows WHERE customer_id = ?1")?
        .query_map([id], |r| {
            let body: String = r.get(1)?;
            let k = serde_json::from_str(&body).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    1,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?;
            Ok((r.get(0)?, k))
        })?
        .collect()
}

/// Which complaints a list shows; `None` or empty means any.
#[derive(Debug, Clone, Default)]
pub struct ComplaintFilter {
    /// Only this salesperson's customers.
    pub salesperson: Option<String>,
    /// Open (`Some(true)`) or closed (`Some(false)`) cases only.
    pub open: Option<bool>,
    /// Only cases waiting for this step (a step's code).
    pub stage: Option<String>,
    /// Only this category (a code), or `"none"` for cases not judged yet.
    pub category: Option<String>,
    /// Only customers whose name contains this.
    pub customer: Option<String>,
    /// Only cases registered before this time (open longer than some days).
    pub registered_before: Option<i64>,
}

/// One complaint in a list, with its customer.
#[derive(Debug, Clone)]
pub struct ComplaintRow {
    /// The customer's id.
    pub customer_id: String,
    /// The customer's name.
    pub customer_name: String,
    /// The customer's salesperson (login).
    pub salesperson: String,
    /// The complaint's key on the card.
    pub key: String,
    /// The complaint.
    pub complaint: Complaint,
}

/// The complaints `f` picks, newest first: `limit` of them from `offset`,
/// and how many there are in all.
pub fn page(
    conn: &Connection,
    f: &ComplaintFilter,
    offset: u64,
    limit: u64,
) -> rusqlite::Result<(u64, Vec<ComplaintRow>)> {
    let like = f.customer.as_deref().map(|c| {
        format!(
            "%{}%",
            c.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let (category, unjudged) = match f.category.as_deref() {
        Some("none") => (None, true),
        other => (other, false),
    };
    let filter = "FROM complaint_rows k JOIN customers c ON c.id = k.customer_id
         WHERE (?1 IS NULL OR c.salesperson = ?1)
           AND (?2 IS NULL OR k.closed = NOT ?2)
           AND (?3 IS NULL OR k.stage = ?3)
           AND (?4 IS NULL OR k.category = ?4)
           AND (NOT ?5 OR k.category IS NULL)
           AND (?6 IS NULL OR c.name LIKE ?6 ESCAPE '\\')
           AND (?7 IS NULL OR k.at < ?7)";
    let args: [&dyn rusqlite::ToSql; 7] = [
        &f.salesperson,
        &f.open,
        &f.stage,
        &category,
        &unjudged,
        &like,
        &f.registered_before,
    ];
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) {filter}"))?
        .query_row(&args[..], |r| r.get(0))?;
    let (limit, offset) = (limit as i64, offset as i64);
    let window: [&dyn rusqlite::ToSql; 2] = [&limit, &offset];
    let mut st = conn.prepare_cached(&format!(
        "SELECT k.customer_id, c.name, c.salesperson, k.complaint_id, k.body {filter}
         ORDER BY k.at DESC, k.customer_id, k.complaint_id LIMIT ?8 OFFSET ?9"
    ))?;
    let rows = st
        .query_map(
            rusqlite::params_from_iter(args.iter().chain(&window)),
            |r| {
                let body: String = r.get(4)?;
                Ok(ComplaintRow {
                    customer_id: r.get(0)?,
                    customer_name: r.get(1)?,
                    salesperson: r.get(2)?,
                    key: r.get(3)?,
                    complaint: serde_json::from_str(&body).unwrap_or_default(),
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok((total as u64, rows))
}

/// Monthly complaint statistics (`salesperson`: only theirs), oldest month
/// first: the same figures as `crm_shared::reports::complaint_stats` over
/// the cards, counted from the complaint rows.
pub fn stats(
    conn: &Connection,
    salesperson: Option<&str>,
) -> rusqlite::Result<Vec<ComplaintMonth>> {
    let (from, mine) = match salesperson {
        Some(_) => (
            "complaint_rows k JOIN customers c ON c.id = k.customer_id",
            "c.salesperson = ?1",
        ),
        None => ("complaint_rows k", "?1 IS NULL"),
    };
    let mut st = conn.prepare_cached(&format!(
        "SELECT k.month, COUNT(*),
             SUM(k.category IS 'quality'), SUM(k.category IS 'non_quality'),
             SUM(k.category IS NULL),
             SUM(k.closed AND k.satisfied = 1), SUM(k.closed AND k.satisfied IS NOT 1),
             SUM(NOT k.closed)
         FROM {from} WHERE {mine} GROUP BY k.month ORDER BY k.month"
    ))?;
    let rows = st.query_map([salesperson], |r| {
        let n = |i| r.get::<_, i64>(i).map(|x| x as u32);
        Ok(ComplaintMonth {
            month: r.get(0)?,
            total: n(1)?,
            quality: n(2)?,
            non_quality: n(3)?,
            unclassified: n(4)?,
            satisfied: n(5)?,
            unsatisfied: n(6)?,
            open: n(7)?,
        })
    })?;
    rows.collect()
}

/// Fills the complaint rows from the documents once, after migration 15
/// emptied them (the rows before it held no complaint text): only the
/// customers whose slimmed card shows a complaint are read.
pub(crate) fn fill_if_needed(conn: &mut Connection) -> rusqlite::Result<()> {
    documents::fill_once_from_documents(
        conn,
        "complaint_rows_fill",
        r#"%"complaints":{"%"#,
        |tx, id, card| put(tx, id, &card.complaints),
    )
}
