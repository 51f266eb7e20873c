//! Runs SQLite work off the async runtime.
//!
//! rusqlite is blocking, and an argon2 hash or an fsync on a handler thread
//! would stall every other request on it. Each call here waits (asynchronously)
//! for a connection, then runs the caller's closure on tokio's blocking pool.
//! There is one writer connection behind an async mutex, so writes are
//! serialised inside the process and never meet `SQLITE_BUSY` from each other,
//! and a few read-only connections, which WAL lets run beside the writer.
//!
//! This module only hands out connections; the SQL lives in [`super`].

use std::sync::{Arc, Mutex};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::Semaphore;

use super::DbError;

/// One writer and a fixed set of readers over the same database file.
pub(super) struct Pool {
    writer: Arc<tokio::sync::Mutex<Connection>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    free_readers: Arc<Semaphore>,
    /// Counts committed writes that changed rows, so that a waiting backup
    /// pull wakes at once (and not for a transaction that found nothing to do,
    /// such as a push already applied by the writer's previous holder).
    commits: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Pool {
    pub(super) fn new(writer: Connection, readers: Vec<Connection>) -> Pool {
        assert!(!readers.is_empty(), "the pool needs at least one reader");
        Pool {
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            free_readers: Arc::new(Semaphore::new(readers.len())),
            readers: Arc::new(Mutex::new(readers)),
            commits: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// Wakes whenever a write commits.
    pub(super) fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.commits.subscribe()
    }

    /// Runs `f` on a read-only connection, on a blocking thread.
    pub(super) async fn read<T, F>(&self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .free_readers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DbError::Closed)?;
        let readers = self.readers.clone();
        run_blocking(move || {
            let lent = Lent::take(readers);
            let result = f(lent.conn());
            drop(lent);
            drop(permit);
            result
        })
        .await
    }

    /// Runs `f` inside one `BEGIN IMMEDIATE` transaction on the writer, on a
    /// blocking thread; commits if `f` returns `Ok`, rolls back otherwise.
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, DbError> + Send + 'static,
        T: Send + 'static,
    {
        self.write_with(f).await
    }
}

impl Pool {
    /// Like [`Pool::write`], for callers whose closure fails with their own
    /// error type (e.g. the sync engine refusing a push): rolls back on `Err`.
    pub(super) async fn write_with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let mut writer = self.writer.clone().lock_owned().await;
        let commits = self.commits.clone();
        run_blocking(move || {
            let before = writer.total_changes();
            let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
            Ok(match f(&tx) {
                Ok(value) => {
                    tx.commit()?;
                    // `total_changes` counts rows written (triggers included)
                    // since the connection opened: only a commit that wrote
                    // wakes the listeners.
                    if writer.total_changes() != before {
                        commits.send_modify(|n| *n += 1);
                    }
                    Ok(value)
                }
                Err(e) => Err(e),
            })
        })
        .await?
    }

    /// Like [`Pool::read`], with the caller's error type.
    pub(super) async fn read_with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.read(move |conn| Ok(f(conn))).await?
    }
}

impl Drop for Pool {
    /// SQLite folds the WAL back into the database file and deletes it when
    /// the last connection closes, but only if that connection may write.
    /// Fields drop in declaration order, which would close the writer first
    /// and leave a read-only reader last: the WAL then outlived every
    /// command-line run, and each next open read all of it again to rebuild
    /// its index (measured: a 100 MB WAL after 56 imports of 200 customers,
    /// and an import that grew slower with every run). Readers close first.
    fn drop(&mut self) {
        lock(&self.readers).clear();
    }
}

async fn run_blocking<T, F>(f: F) -> Result<T, DbError>
where
    F: FnOnce() -> Result<T, DbError> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(DbError::Task("数据库任务崩溃".into())),
        Err(_) => Err(DbError::Closed),
    }
}

/// A reader taken from the pool; goes back on drop, also when `f` panics.
struct Lent {
    conn: Option<Connection>,
    home: Arc<Mutex<Vec<Connection>>>,
}

impl Lent {
    fn take(home: Arc<Mutex<Vec<Connection>>>) -> Lent {
        let conn = lock(&home)
            .pop()
            .expect("a semaphore permit guarantees a free reader");
        Lent {
            conn: Some(conn),
            home,
        }
    }

    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            lock(&self.home).push(conn);
        }
    }
}

/// The list is only pushed and popped, so a poisoned lock holds no broken state.
fn lock(m: &Mutex<Vec<Connection>>) -> std::sync::MutexGuard<'_, Vec<Connection>> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
