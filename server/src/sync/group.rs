//! Pushes that wait for the writer together are applied together.
//!
//! Every push needs the single writer. While one is applied, others queue;
//! whoever holds the writer next takes the pushes queued by then (up to
//! [`GROUP_MAX`]) and applies them in its one transaction, each inside its
//! own savepoint, so that a refused push still stores nothing and the others
//! are kept.
//!
//! Concurrent requests have no order of their own, so any order is a valid
//! one: a group applies each user's pushes one after another. When one
//! user's pushes share a customer (a customer edited offline on several of
//! their devices, which then sync at once), they are first tried as one:
//! every change merged in one automerge call, the card read, checked and
//! stored once, instead of once per push (for 10 pushes of 500 changes to a
//! 5,000-change customer, most of each push's cost; see BENCHMARKS.md). If
//! that would refuse anything, put anything back or ask for anything, the
//! attempt is rolled back and the pushes are applied one by one, each alone,
//! as if they had never met. A customer stored that way is logged once, under
//! the first push's device; each change's author record still names the
//! device that sent it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::Transaction;
use tokio::sync::oneshot;

use crm_shared::sync::{heads_from_hex, DocHeads, DocPush, Lineage};
use crm_shared::ChangeHash;

use super::doc_cache::DocCache;
use super::push::{apply_pushes, is_automerge, PushOrigins, Pushed};
use crate::caller::{Caller, ServiceError};
use crate::db::documents as docs;
use crate::db::{Db, DbError};

/// Pushes one transaction takes at most. Nobody hears back before the
/// transaction commits: without a cap, 200 laptops pushing at once all waited
/// for all 200 (measured p50 2.05 s against 1.52 s one by one); the rest stay
/// queued for the next holder of the writer (every queued push has one to
/// come: its own request's).
const GROUP_MAX: usize = 16;

/// Pushes waiting for the writer.
#[derive(Default)]
pub(super) struct PushQueue {
    waiting: Mutex<Vec<Job>>,
    next_id: std::sync::atomic::AtomicU64,
}

/// One request's push and where its result goes.
struct Job {
    id: u64,
    caller: Caller,
    push: Vec<DocPush>,
    lineage: Option<Lineage>,
    now: i64,
    reply: oneshot::Sender<Result<Pushed, ServiceError>>,
}

/// A job's result, sent once the transaction that holds it has committed.
type Done = (
    oneshot::Sender<Result<Pushed, ServiceError>>,
    Result<Pushed, ServiceError>,
);

/// Applies `push` for `caller`, together with whatever else is waiting.
/// Returns once it is durably stored (or refused, with nothing stored).
pub(super) async fn apply(
    (db, cache, queue): (&Db, &Arc<DocCache>, &Arc<PushQueue>),
    caller: Caller,
    push: Vec<DocPush>,
    lineage: Option<Lineage>,
    now: i64,
) -> Result<Pushed, ServiceError> {
    let (reply, result) = oneshot::channel();
    let id = queue
        .next_id
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    lock(&queue.waiting).push(Job {
        id,
        caller,
        push,
        lineage,
        now,
        reply,
    });
    // Our push may already have been taken by the writer's previous holder;
    // then this transaction applies what queued since, or nothing. It runs
    // as a task of its own: the results it holds are other requests' too,
    // and must reach them even if this request is given up.
    let (db, cache, queue) = (db.clone(), cache.clone(), queue.clone());
    tokio::spawn(async move { take_turn((&db, &cache, &queue), Some(id)).await });
    result
        .await
        .unwrap_or_else(|_| Err(DbError::Task("保存推送的事务失败".into()).into()))
}

/// One turn at the writer: applies what is queued, in one transaction, and
/// answers each push once it has committed. If the transaction fails, every
/// push it took fails the same way, and so does push `ours` if it is still
/// queued (nobody will take it for this request). Returns how many pushes
/// it answered.
async fn take_turn(
    (db, cache, queue): (&Db, &Arc<DocCache>, &Arc<PushQueue>),
    ours: Option<u64>,
) -> usize {
    let taken: Arc<Mutex<Vec<Done>>> = Default::default();
    let (slot, waiting, cache) = (taken.clone(), queue.clone(), cache.clone());
    let r = db
        .write_with(move |tx| {
            let (done, applied) = apply_waiting(tx, &cache, &waiting);
            *lock(&slot) = done;
            applied.map_err(ServiceError::from)
        })
        .await;
    let done = std::mem::take(&mut *lock(&taken));
    let n = done.len();
    match r {
        Ok(()) => {
            for (reply, r) in done {
                let _ = reply.send(r);
            }
        }
        Err(e) => {
            let ours = ours.and_then(|id| take(queue, id));
            for reply in done.into_iter().map(|(reply, _)| reply).chain(ours) {
                let _ = reply.send(Err(same_failure(&e)));
            }
        }
    }
    n
}

/// Job `id`'s reply, if it is still waiting (taking it out of the queue).
fn take(queue: &PushQueue, id: u64) -> Option<oneshot::Sender<Result<Pushed, ServiceError>>> {
    let mut waiting = lock(&queue.waiting);
    let at = waiting.iter().position(|j| j.id == id)?;
    Some(waiting.remove(at).reply)
}

/// The writer's failure, for each push it failed.
fn same_failure(e: &ServiceError) -> ServiceError {
    match e {
        ServiceError::Db(DbError::Busy) => DbError::Busy.into(),
        ServiceError::Db(DbError::Closed) => DbError::Closed.into(),
        other => DbError::Task(other.to_string()).into(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Applies the waiting pushes (up to [`GROUP_MAX`]), each user's in arrival
/// order. An error means a savepoint itself failed: the transaction must
/// not commit, and every result is void.
fn apply_waiting(
    tx: &Transaction,
    cache: &DocCache,
    queue: &Arc<PushQueue>,
) -> (Vec<Done>, rusqlite::Result<()>) {
    let jobs: Vec<Job> = {
        let mut waiting = lock(&queue.waiting);
        let n = waiting.len().min(GROUP_MAX);
        waiting.drain(..n).collect()
    };
    let mut by_user: Vec<Vec<Job>> = Vec::new();
    // A request given up meanwhile (the laptop hung up) is not applied: the
    // laptop sends the same again next time.
    for job in jobs.into_iter().filter(|j| !j.reply.is_closed()) {
        match by_user
            .iter_mut()
            .find(|g| g[0].caller.login == job.caller.login)
        {
            Some(g) => g.push(job),
            None => by_user.push(vec![job]),
        }
    }
    let mut done = Vec::new();
    let mut failed = None;
    // Each pusher's actor history against the server's mark for it, moved
    // on in the same transaction as the push it comes with.
    let mut follows: HashMap<u64, bool> = HashMap::new();
    for job in by_user.iter().flatten() {
        let Some(l) = &job.lineage else { continue };
        let step = docs::lineage_follows(tx, l).and_then(|ok| {
            if ok {
                docs::lineage_advance(tx, l, &job.caller.login, job.now)?;
            }
            Ok(ok)
        });
        match step {
            Ok(ok) => {
                follows.insert(job.id, ok);
            }
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    for jobs in by_user {
        let results = match failed {
            Some(_) => Vec::new(),
            None => apply_merged(tx, cache, &jobs)
                .and_then(|r| match r {
                    Some(results) => Ok(results),
                    None => jobs.iter().map(|j| apply_each(tx, cache, j)).collect(),
                })
                .unwrap_or_else(|e| {
                    failed = Some(e);
                    Vec::new()
                }),
        };
        // Without a result (the transaction failed), any placeholder does:
        // every reply then gets the transaction's error instead.
        let mut results = results.into_iter();
        for job in jobs {
            let mut r = results
                .next()
                .unwrap_or_else(|| Err(ServiceError::BadRequest(String::new())));
            if let Ok(pushed) = &mut r {
                pushed.rotate_actor = follows.get(&job.id) == Some(&false);
            }
            done.push((job.reply, r));
        }
    }
    (done, failed.map_or(Ok(()), Err))
}

/// One push alone, inside a savepoint: on any error nothing of it stays.
fn apply_each(
    tx: &Transaction,
    cache: &DocCache,
    job: &Job,
) -> rusqlite::Result<Result<Pushed, ServiceError>> {
    savepoint(tx, |tx| {
        apply_pushes(
            tx,
            cache,
            &job.caller,
            &job.push,
            &PushOrigins::default(),
            job.now,
        )
    })
}

/// Runs `f` inside a savepoint, rolled back if it fails. The outer error:
/// the savepoint itself failed.
fn savepoint<T>(
    tx: &Transaction,
    f: impl FnOnce(&Transaction) -> Result<T, ServiceError>,
) -> rusqlite::Result<Result<T, ServiceError>> {
    tx.execute_batch("SAVEPOINT push")?;
    let r = f(tx);
    if r.is_err() {
        tx.execute_batch("ROLLBACK TO push")?;
    }
    tx.execute_batch("RELEASE push")?;
    Ok(r)
}

/// One user's pushes tried as one, when some customer is in more than one
/// of them. `None`: not tried, or rolled back (apply them one by one). The
/// outer error: a savepoint failed.
fn apply_merged(
    tx: &Transaction,
    cache: &DocCache,
    jobs: &[Job],
) -> rusqlite::Result<Option<Vec<Result<Pushed, ServiceError>>>> {
    let Some(MergedPushes {
        pushes,
        origins,
        heads_by_job,
    }) = merge_pushes(jobs)
    else {
        return Ok(None);
    };
    let first = &jobs[0];
    let tried = savepoint(tx, |tx| {
        let out = apply_pushes(tx, cache, &first.caller, &pushes, &origins, first.now)?;
        if !out.need.is_empty() || !out.reverted.is_empty() || !out.refused.is_empty() {
            // Something to put back or ask for: one by one, each answered alone.
            return Err(ServiceError::BadRequest(String::new()));
        }
        let stored: HashMap<&str, &DocHeads> =
            out.acked.iter().map(|a| (a.id.as_str(), a)).collect();
        let mut results = Vec::with_capacity(jobs.len());
        for client_heads in heads_by_job {
            let mut mine = Pushed::default();
            for id in client_heads.keys() {
                if let Some(a) = stored.get(id.as_str()) {
                    mine.acked.push((*a).clone());
                }
                let seq = docs::seq_of(tx, id)?.unwrap_or(0);
                mine.upto = mine.upto.max(seq as u64);
            }
            mine.client_heads = client_heads;
            results.push(Ok(mine));
        }
        Ok(results)
    })?;
    Ok(tried.ok())
}

/// Several pushes as one.
struct MergedPushes {
    /// Each customer once, with every push's bytes for it one after another
    /// (a valid input for automerge) and every push's heads, which must all
    /// be there after the merge.
    pushes: Vec<DocPush>,
    /// Which device pushed which heads.
    origins: PushOrigins,
    /// Each push's customers with the heads it pushed (its `client_heads`).
    heads_by_job: Vec<HashMap<String, Vec<ChangeHash>>>,
}

/// The pushes as one, if some customer is in more than one of them. Each
/// piece is checked to be automerge data, as a push alone is: automerge
/// would skip a bad piece in the middle.
fn merge_pushes(jobs: &[Job]) -> Option<MergedPushes> {
    if jobs.len() < 2 {
        return None;
    }
    let mut heads_by_job = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mut mine = HashMap::new();
        for p in &job.push {
            if !is_automerge(&p.data.0) {
                return None;
            }
            mine.insert(p.id.clone(), heads_from_hex(&p.heads)?);
        }
        heads_by_job.push(mine);
    }
    let mut pushed_by: HashMap<&str, usize> = HashMap::new();
    for id in heads_by_job.iter().flat_map(|m| m.keys()) {
        *pushed_by.entry(id.as_str()).or_default() += 1;
    }
    if pushed_by.values().all(|&n| n < 2) {
        return None;
    }
    let mut pushes: Vec<DocPush> = Vec::new();
    let mut origins = PushOrigins::default();
    for (job, mine) in jobs.iter().zip(&heads_by_job) {
        for (id, heads) in mine {
            origins
                .by_doc
                .entry(id.clone())
                .or_default()
                .push((job.caller.device_id.clone(), heads.clone()));
        }
        for p in &job.push {
            match pushes.iter_mut().find(|u| u.id == p.id) {
                Some(u) => {
                    u.data.0.extend_from_slice(&p.data.0);
                    for h in &p.heads {
                        if !u.heads.contains(h) {
                            u.heads.push(h.clone());
                        }
                    }
                }
                None => pushes.push(p.clone()),
            }
        }
    }
    Some(MergedPushes {
        pushes,
        origins,
        heads_by_job,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_shared::codes::Role;
    use crm_shared::customer::Activity;
    use crm_shared::note::{Action, ChangeNote};
    use crm_shared::sync::{heads_to_hex, Blob, RefusalKind};
    use crm_shared::{ActorId, ChangeHash, Customer, CustomerDoc};

    fn caller(login: &str, device: &str) -> Caller {
        Caller {
            login: login.into(),
            role: Role::Salesperson,
            device_id: device.into(),
        }
    }

    /// How each document of an accepted push was refused (none: stored).
    fn refusals(r: &Result<Pushed, ServiceError>) -> Vec<RefusalKind> {
        match r {
            Ok(p) => p.refused.iter().map(|r| r.kind).collect(),
            Err(e) => panic!("the push failed as a whole: {e}"),
        }
    }

    /// A server holding customer `c1` of zhang, and its saved bytes.
    /// The engine's parts that pushes go through.
    struct Engine {
        db: Db,
        cache: Arc<DocCache>,
        queue: Arc<PushQueue>,
    }

    impl Engine {
        fn parts(&self) -> (&Db, &Arc<DocCache>, &Arc<PushQueue>) {
            (&self.db, &self.cache, &self.queue)
        }
    }

    async fn server() -> (tempfile::TempDir, Engine, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let db = Engine {
            db: Db::open(&dir.path().join("crm.sqlite3")).await.unwrap(),
            cache: Arc::new(DocCache::new()),
            queue: Arc::default(),
        };
        let card = Customer {
            id: "c1".into(),
            name: "宁波甲贸易有限公司".into(),
            salesperson: "zhang".into(),
            ..Default::default()
        };
        let note = ChangeNote::new("zhang", Action::Create);
        let doc = CustomerDoc::create(&card, ActorId::random(), &note, 0).unwrap();
        let base = doc.save();
        let push = vec![DocPush {
            id: "c1".into(),
            heads: heads_to_hex(&doc.heads()),
            data: Blob(base.clone()),
            hand_over: false,
        }];
        apply(db.parts(), caller("zhang", "d0"), push, None, 0)
            .await
            .unwrap();
        (dir, db, base)
    }

    /// A device's offline visits to `c1`, as it would push them.
    fn visits(base: &[u8], device: &str, n: usize, edit: impl Fn(&mut Customer)) -> DocPush {
        let mut doc = CustomerDoc::load(base, ActorId::random()).unwrap();
        let from = doc.heads();
        for k in 0..n {
            let mut c = doc.card().clone();
            c.activities.insert(
                format!("{device}-{k}"),
                Activity {
                    at: 1_800_000_000_000 + k as i64,
                    by: "zhang".into(),
                    notes: format!("{device} 第{k}次拜访"),
                    ..Default::default()
                },
            );
            edit(&mut c);
            let note = ChangeNote::new("zhang", Action::Edit).with_reason(Some("现场更新"));
            doc.update(&c, &note, 0).unwrap();
        }
        DocPush {
            id: "c1".into(),
            heads: heads_to_hex(&doc.heads()),
            data: Blob(doc.save_after(&from)),
            hand_over: false,
        }
    }

    /// Puts `jobs` in the queue as if they arrived while the writer was
    /// busy, then lets one holder of the writer apply them all.
    async fn apply_queued(
        db: &Engine,
        jobs: Vec<(Caller, DocPush)>,
    ) -> Vec<Result<Pushed, ServiceError>> {
        let queue = db.queue.clone();
        let mut results = Vec::new();
        for (caller, p) in jobs {
            let (reply, result) = oneshot::channel();
            lock(&queue.waiting).push(Job {
                id: 0,
                caller,
                push: vec![p],
                lineage: None,
                now: 1,
                reply,
            });
            results.push(result);
        }
        take_turn(db.parts(), None).await;
        let mut out = Vec::new();
        for r in results {
            out.push(r.await.unwrap());
        }
        out
    }

    async fn stored(db: &Engine) -> (CustomerDoc, i64) {
        db.db
            .read_with(|conn| {
                let s = docs::load(conn, "c1")?.unwrap();
                let logged: i64 = conn.query_row(
                    "SELECT COUNT(*) FROM doc_log WHERE doc_id = 'c1'",
                    [],
                    |r| r.get(0),
                )?;
                Ok::<_, ServiceError>((
                    CustomerDoc::load(&s.bytes, ActorId::random()).unwrap(),
                    logged,
                ))
            })
            .await
            .unwrap()
    }

    async fn authors_by_device(db: &Engine) -> Vec<(String, i64)> {
        db.db
            .read_with(|conn| {
                let mut st = conn.prepare(
                    "SELECT device_id, COUNT(*) FROM change_authors WHERE doc_id = 'c1'
                 GROUP BY device_id ORDER BY device_id",
                )?;
                let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok::<_, ServiceError>(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
            .unwrap()
    }

    /// Three of one salesperson's devices push the same customer at once:
    /// it is stored once with everything, each push is acknowledged with
    /// the heads that hold it, and each change is recorded under the device
    /// that sent it.
    #[tokio::test]
    async fn one_users_pushes_of_one_customer_are_stored_as_one() {
        let (_dir, db, base) = server().await;
        let pushes: Vec<DocPush> = ["d1", "d2", "d3"]
            .iter()
            .map(|d| visits(&base, d, 4, |_| {}))
            .collect();
        let jobs = ["d1", "d2", "d3"]
            .iter()
            .zip(&pushes)
            .map(|(d, p)| (caller("zhang", d), p.clone()))
            .collect();
        let results = apply_queued(&db, jobs).await;
        let (doc, logged) = stored(&db).await;
        assert_eq!(doc.card().activities.len(), 12);
        assert_eq!(logged, 2, "created, then stored once for all three");
        let heads = heads_to_hex(&doc.heads());
        for (r, p) in results.into_iter().zip(&pushes) {
            let r = r.unwrap();
            assert_eq!(r.acked.len(), 1);
            assert_eq!(r.acked[0].heads, heads);
            let mine: Vec<ChangeHash> = heads_from_hex(&p.heads).unwrap();
            assert_eq!(r.client_heads["c1"], mine);
            assert!(r.upto > 0);
        }
        assert_eq!(
            authors_by_device(&db).await,
            [
                ("d0".into(), 1),
                ("d1".into(), 4),
                ("d2".into(), 4),
                ("d3".into(), 4)
            ]
        );
    }

    /// When one of them is refused (damaged data), the pushes are applied
    /// one by one: the others are stored, the refused one leaves nothing.
    #[tokio::test]
    async fn a_refused_push_among_them_refuses_only_itself() {
        let (_dir, db, base) = server().await;
        let good = visits(&base, "d1", 3, |_| {});
        let mut cut = visits(&base, "d2", 3, |_| {});
        let keep = cut.data.0.len() / 2;
        cut.data.0.truncate(keep);
        let also_good = visits(&base, "d3", 2, |_| {});
        let results = apply_queued(
            &db,
            vec![
                (caller("zhang", "d1"), good),
                (caller("zhang", "d2"), cut),
                (caller("zhang", "d3"), also_good),
            ],
        )
        .await;
        assert!(refusals(&results[0]).is_empty());
        assert_eq!(refusals(&results[1]), [RefusalKind::Invalid]);
        assert!(refusals(&results[2]).is_empty());
        let (doc, logged) = stored(&db).await;
        assert_eq!(doc.card().activities.len(), 5, "d1's 3 and d3's 2 only");
        assert_eq!(logged, 3, "one by one");
        assert_eq!(
            authors_by_device(&db).await,
            [("d0".into(), 1), ("d1".into(), 3), ("d3".into(), 2)]
        );
    }

    /// A protected field changed in one of them is put back for that push
    /// alone, reported to it alone; the others are stored as sent.
    #[tokio::test]
    async fn a_put_back_field_is_reported_to_its_own_push_only() {
        let (_dir, db, base) = server().await;
        let raise = visits(&base, "d1", 2, |c| c.credit.limit = Some(9_000_000));
        let plain = visits(&base, "d2", 2, |_| {});
        let results = apply_queued(
            &db,
            vec![
                (caller("zhang", "d1"), raise),
                (caller("zhang", "d2"), plain),
            ],
        )
        .await;
        let (first, second) = (results[0].as_ref().unwrap(), results[1].as_ref().unwrap());
        assert_eq!(first.reverted.len(), 1, "{:?}", first.reverted);
        assert!(second.reverted.is_empty());
        let (doc, _) = stored(&db).await;
        assert_eq!(doc.card().activities.len(), 4);
        assert_eq!(doc.card().credit.limit, None);
    }

    /// One transaction takes at most GROUP_MAX pushes; the next holder of
    /// the writer takes the rest.
    #[tokio::test]
    async fn a_transaction_takes_at_most_a_group_and_leaves_the_rest_queued() {
        let (_dir, db, base) = server().await;
        let queue = db.queue.clone();
        let mut results = Vec::new();
        for k in 0..GROUP_MAX + 1 {
            let (reply, result) = oneshot::channel();
            let device = format!("d{k}");
            lock(&queue.waiting).push(Job {
                id: k as u64,
                caller: caller("zhang", &device),
                push: vec![visits(&base, &device, 1, |_| {})],
                lineage: None,
                now: 1,
                reply,
            });
            results.push(result);
        }
        assert_eq!(take_turn(db.parts(), None).await, GROUP_MAX);
        assert_eq!(lock(&queue.waiting).len(), 1);
        assert_eq!(take_turn(db.parts(), None).await, 1);
        for r in results {
            r.await.unwrap().unwrap();
        }
        let (doc, _) = stored(&db).await;
        assert_eq!(doc.card().activities.len(), GROUP_MAX + 1);
    }

    /// Another process holding the database past the busy timeout: the
    /// push is refused as busy (try again), and is not applied later behind
    /// the laptop's back when the next push takes the writer.
    #[tokio::test]
    async fn a_push_the_writer_could_not_start_is_refused_as_busy_and_dropped() {
        let (dir, db, base) = server().await;
        let other = rusqlite::Connection::open(dir.path().join("crm.sqlite3")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let r = apply(
            db.parts(),
            caller("zhang", "d1"),
            vec![visits(&base, "d1", 2, |_| {})],
            None,
            1,
        )
        .await;
        assert!(
            matches!(r, Err(ServiceError::Db(DbError::Busy))),
            "{:?}",
            r.err()
        );
        other.execute_batch("ROLLBACK").unwrap();
        assert!(lock(&db.queue.clone().waiting).is_empty());
        apply(
            db.parts(),
            caller("zhang", "d2"),
            vec![visits(&base, "d2", 3, |_| {})],
            None,
            2,
        )
        .await
        .unwrap();
        let (doc, _) = stored(&db).await;
        assert_eq!(doc.card().activities.len(), 3, "d2's visits only");
    }

    /// Pushes of different users are applied each on its own, even for the
    /// same customer: one user's refusal is not another's.
    #[tokio::test]
    async fn another_users_push_is_never_merged_with_ones_own() {
        let (_dir, db, base) = server().await;
        let mine = visits(&base, "d1", 2, |_| {});
        let theirs = visits(&base, "d9", 2, |_| {});
        let results = apply_queued(
            &db,
            vec![(caller("zhang", "d1"), mine), (caller("li", "d9"), theirs)],
        )
        .await;
        assert!(refusals(&results[0]).is_empty());
        assert_eq!(
            refusals(&results[1]),
            [RefusalKind::Forbidden],
            "li may not change zhang's customer"
        );
        let (doc, _) = stored(&db).await;
        assert_eq!(doc.card().activities.len(), 2);
    }
}
