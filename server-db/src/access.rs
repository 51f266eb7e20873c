//! SQL of the doors: failed sign-ins and the locks they lead to, and the
//! audit of access (who got in, from where, what they did with accounts,
//! devices and whole-archive exports and imports).

use rusqlite::{params, Connection, OptionalExtension};

use super::{Db, DbError};

/// How a login (as typed) has fared at signing in lately.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    /// Failed attempts since the last success (or unlock).
    pub failures: u32,
    /// When the last one was (ms).
    pub last_at: i64,
    /// Locked until then (ms), if a lock was set.
    pub locked_until: Option<i64>,
}

/// What [`Db::sign_in_attempt`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInAttempt {
    /// The login must wait until then (ms); nothing was counted.
    Wait(i64),
    /// Counted as a failure until the password proves right.
    Counted {
        /// The login's record before this attempt.
        before: Failures,
        /// And with it.
        after: Failures,
    },
}

/// A login that is locked now, for the administrators' list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Locked {
    /// The login as typed (it may name no account).
    pub login: String,
    /// Failed attempts in a row.
    pub failures: u32,
    /// Until when (ms).
    pub until: i64,
}

/// One entry of the audit of access.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessEvent {
    /// Row id, in the order written.
    #[serde(default)]
    pub id: i64,
    /// When (ms).
    pub at: i64,
    /// What happened (a code of `crate::audit::Kind`).
    pub kind: String,
    /// Whose account it concerns (for a failed sign-in: the login typed).
    pub login: String,
    /// Who did it, when not the account's holder (an administrator, or
    /// `crm-server` on the server's own machine).
    pub by_login: Option<String>,
    /// The client's address, for what came over the network.
    pub address: Option<String>,
    /// The device concerned, if any.
    pub device_id: Option<String>,
    /// More, in Chinese (never a password).
    pub detail: String,
}

/// Which entries of the audit to read.
#[derive(Debug, Clone, Default)]
pub struct AccessFilter {
    /// Only events concerning this login (or done by it).
    pub login: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// From this time on (ms).
    pub since: Option<i64>,
    /// Before this time (ms).
    pub until: Option<i64>,
    /// At most this many, newest first.
    pub limit: usize,
}

fn failures_of(conn: &Connection, login: &str) -> rusqlite::Result<Failures> {
    Ok(conn
        .prepare_cached(
            "SELECT failures, last_failure_at, locked_until FROM sign_in_failures WHERE login = ?1",
        )?
        .query_row([login], |r| {
            Ok(Failures {
                failures: r.get(0)?,
                last_at: r.get(1)?,
                locked_until: r.get(2)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// Writes one audit entry inside the caller's transaction.
pub fn record(tx: &Connection, e: &AccessEvent) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO access_log (at, kind, login, by_login, address, device_id, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.at,
        e.kind,
        e.login,
        e.by_login,
        e.address,
        e.device_id,
        e.detail
    ])?;
    Ok(())
}

impl Db {
    /// How `login` (as typed) has fared at signing in lately.
    pub async fn sign_in_failures(&self, login: &str) -> Result<Failures, DbError> {
        let login = login.to_owned();
        self.pool
            .read(move |conn| Ok(failures_of(conn, &login)?))
            .await
    }

    /// Counts an attempt to sign in as `login` at `now` as a failure
    /// before its password is checked, unless `wait` says when it may try
    /// again; sets the lock `lock_until` gives for the new count. First
    /// forgets every login (this one too) whose last failure was before
    /// `forget_before` and that is not locked at `now`. Checking
    /// and counting are one transaction, so attempts sent at once are
    /// judged one after another, each seeing the ones before it. A right
    /// password then clears the count ([`Db::clear_sign_in_failures`]).
    pub async fn sign_in_attempt(
        &self,
        login: &str,
        now: i64,
        forget_before: i64,
        wait: impl FnOnce(&Failures) -> Option<i64> + Send + 'static,
        lock_until: impl FnOnce(u32) -> Option<i64> + Send + 'static,
    ) -> Result<SignInAttempt, DbError> {
        let login = login.to_owned();
        self.pool
            .write(move |tx| {
                // Every failed attempt at any login typed adds a row; the
                // table holds only those recent enough to matter.
                tx.prepare_cached(
                    "DELETE FROM sign_in_failures
                     WHERE last_failure_at < ?1 AND coalesce(locked_until, 0) <= ?2",
                )?
                .execute(params![forget_before, now])?;
                let before = failures_of(tx, &login)?;
                if let Some(until) = wait(&before) {
                    return Ok(SignInAttempt::Wait(until));
                }
                let failures = before.failures.saturating_add(1);
                let after = Failures {
                    failures,
                    last_at: now,
                    locked_until: lock_until(failures).or(before.locked_until),
                };
                tx.execute(
                    "INSERT INTO sign_in_failures (login, failures, last_failure_at, locked_until)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (login) DO UPDATE SET failures = excluded.failures,
                         last_failure_at = excluded.last_failure_at,
                         locked_until = excluded.locked_until",
                    params![login, after.failures, after.last_at, after.locked_until],
                )?;
                Ok(SignInAttempt::Counted { before, after })
            })
            .await
    }

    /// Forgets `login`'s failed sign-ins and any lock (a success, or an
    /// administrator's unlock), writing `event` with it if given. Returns
    /// whether there was anything to forget.
    pub async fn clear_sign_in_failures(
        &self,
        login: &str,
        event: Option<AccessEvent>,
    ) -> Result<bool, DbError> {
        let login = login.to_owned();
        self.pool
            .write(move |tx| {
                let n = tx.execute("DELETE FROM sign_in_failures WHERE login = ?1", [&login])?;
                if let Some(e) = &event {
                    record(tx, e)?;
                }
                Ok(n > 0)
            })
            .await
    }

    /// Logins locked at `now`, most recently failed first.
    pub async fn locked_logins(&self, now: i64) -> Result<Vec<Locked>, DbError> {
        self.pool
            .read(move |conn| {
                let mut st = conn.prepare(
                    "SELECT login, failures, locked_until FROM sign_in_failures
                     WHERE locked_until > ?1 ORDER BY last_failure_at DESC",
                )?;
                let rows = st.query_map([now], |r| {
                    Ok(Locked {
                        login: r.get(0)?,
                        failures: r.get(1)?,
                        until: r.get(2)?,
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    /// Writes one entry of the audit of access.
    pub async fn record_access(&self, event: AccessEvent) -> Result<(), DbError> {
        self.pool.write(move |tx| Ok(record(tx, &event)?)).await
    }

    /// Writes entries of the audit of access, all or none.
    pub async fn record_accesses(&self, events: Vec<AccessEvent>) -> Result<(), DbError> {
        self.pool
            .write(move |tx| {
                for e in &events {
                    record(tx, e)?;
                }
                Ok(())
            })
            .await
    }

    /// Entries of the audit of access matching `f`, newest first.
    pub async fn access_log(&self, f: AccessFilter) -> Result<Vec<AccessEvent>, DbError> {
        self.pool
            .read(move |conn| {
                let mut sql = String::from(
                    "SELECT id, at, kind, login, by_login, address, device_id, detail
                     FROM access_log WHERE 1",
                );
                let mut args: Vec<rusqlite::types::Value> = Vec::new();
                if let Some(l) = &f.login {
                    args.push(l.clone().into());
                    let n = args.len();
                    sql.push_str(&format!(
                        " AND (login = ?{n} COLLATE NOCASE OR by_login = ?{n} COLLATE NOCASE)"
                    ));
                }
                if let Some(k) = &f.kind {
                    args.push(k.clone().into());
                    sql.push_str(&format!(" AND kind = ?{}", args.len()));
                }
                if let Some(t) = f.since {
                    args.push(t.into());
                    sql.push_str(&format!(" AND at >= ?{}", args.len()));
                }
                if let Some(t) = f.until {
                    args.push(t.into());
                    sql.push_str(&format!(" AND at < ?{}", args.len()));
                }
                sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", f.limit.max(1)));
                let mut st = conn.prepare(&sql)?;
                let rows = st.query_map(rusqlite::params_from_iter(args), |r| {
                    Ok(AccessEvent {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        kind: r.get(2)?,
                        login: r.get(3)?,
                        by_login: r.get(4)?,
                        address: r.get(5)?,
                        device_id: r.get(6)?,
                        detail: r.get(7)?,
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn fail(db: &Db, login: &str, now: i64, forget_before: i64, lock: Option<i64>) {
        let counted = db
            .sign_in_attempt(login, now, forget_before, |_| None, move |_| lock)
            .await
            .unwrap();
        assert!(
            matches!(counted, SignInAttempt::Counted { .. }),
            "{counted:?}"
        );
    }

    /// Logins typed at random must not grow the table without end: an
    /// attempt forgets every login whose last failure is older than the
    /// window it is given, unless it is still locked.
    #[tokio::test]
    async fn an_attempt_forgets_logins_quiet_for_long_but_no_lock() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("crm.sqlite3")).await.unwrap();
        fail(&db, "random-guess", 1_000, 0, None).await;
        fail(&db, "locked", 1_000, 0, Some(10_000_000)).await;
        fail(&db, "recent", 50_000, 0, None).await;
        fail(&db, "now", 100_000, 40_000, None).await;

        let rows: Vec<String> = db
            .pool
            .read(|conn| {
                let mut st = conn.prepare("SELECT login FROM sign_in_failures ORDER BY login")?;
                let rows = st.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
            .unwrap();
        assert_eq!(rows, ["locked", "now", "recent"]);
        assert_eq!(db.sign_in_failures("recent").await.unwrap().failures, 1);
    }
}
