//! The activity weeks: per customer, how many activities of each kind each
//! person logged in each week (`crm_shared::reports::activity_weeks`),
//! rewritten with the customer in the same transaction as every write
//! (`documents::put_row`). 工作台's visits-per-week chart sums them; a
//! customer contributes a row per week, person and kind, not one per
//! visit.

use rusqlite::{params, Connection};

use crm_shared::codes::ActivityKind;
use crm_shared::day::Day;
use crm_shared::reports::ActivityWeek;

use crate::documents;

/// Writes customer `id`'s activity weeks.
pub fn put(tx: &Connection, id: &str, weeks: &[ActivityWeek]) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM activity_weeks WHERE customer_id = ?1")?
        .execute([id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO activity_weeks (customer_id, week, by, kind, n) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for w in weeks {
        insert.execute(params![
            id,
            w.week.to_string(),
            w.by,
            w.kind.code(),
            w.count
        ])?;
    }
    Ok(())
}

/// Activities of `kind` per week from the week of `from` on, per person
/// who logged them (`by`: only theirs): (Monday, login, how many), by week
/// then login.
pub fn weekly(
    conn: &Connection,
    from: Day,
    kind: ActivityKind,
    by: Option<&str>,
) -> rusqlite::Result<Vec<(String, String, u64)>> {
    conn.prepare_cached(
        "SELECT week, by, SUM(n) FROM activity_weeks
         WHERE week >= ?1 AND kind = ?2 AND (?3 IS NULL OR by = ?3)
         GROUP BY week, by ORDER BY week, by",
    )?
    .query_map(
        params![from.week_start().to_string(), kind.code(), by],
        |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)),
    )?
    .collect()
}

/// Fills the activity weeks from the documents once, after migration 16
/// made the table: only customers whose slimmed card shows an activity
/// are read.
pub(crate) fn fill_if_needed(conn: &mut rusqlite::Connection) -> rusqlite::Result<()> {
    documents::fill_once_from_documents(
        conn,
        "activity_weeks_fill",
        r#"%"activities":{"%"#,
        |tx, id, card| put(tx, id, &crm_shared::reports::activity_weeks(card)),
    )
}
