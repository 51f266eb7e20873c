//! Head office's direct work on customer documents through the server:
//! reading a card with its history, listing open conflicts, settling one.
//! The same access rules as sync apply (`crm_shared::access`).

use rusqlite::Connection;
use serde::Serialize;

use crm_shared::access;
use crm_shared::document::{Conflict, HistoryEntry};
use crm_shared::note::{Action, ChangeNote};
use crm_shared::storage;
use crm_shared::{ActorId, Customer, CustomerDoc};

use crate::caller::{Caller, ServiceError};
use crate::db::documents::{self as docs, Origin};
use crate::db::{Db, Projection};
use crate::salespeople::Salespeople;

/// A customer's card with its history and open conflicts.
#[derive(Debug, Serialize)]
pub struct CardView {
    /// The card.
    pub customer: Customer,
    /// Who changed what, when and why.
    pub history: Vec<HistoryEntry>,
    /// Open conflicts.
    pub conflicts: Vec<Conflict>,
}

/// One customer's open conflicts.
#[derive(Debug, Serialize)]
pub struct CustomerConflicts {
    /// Customer id.
    pub id: String,
    /// Customer name.
    pub name: String,
    /// The conflicting fields.
    pub conflicts: Vec<Conflict>,
}

pub(crate) fn may_read(caller: &Caller) -> Result<(), ServiceError> {
    if matches!(caller.role, crm_shared::codes::Role::BackupOperator) {
        return Err(ServiceError::Forbidden("备份管理员不能查看客户内容".into()));
    }
    Ok(())
}

pub(crate) fn load_visible(
    conn: &Connection,
    caller: &Caller,
    id: &str,
) -> Result<(CustomerDoc, docs::Stored), ServiceError> {
    // Another salesperson's customer is answered exactly as a missing one:
    // a different answer would let anyone probe which ids exist.
    let not_found = || ServiceError::NotFound(format!("找不到客户 {id}"));
    let stored = docs::load(conn, id)?.ok_or_else(not_found)?;
    if !access::sees_all(caller.role) && stored.salesperson != caller.login {
        return Err(not_found());
    }
    let actor = ActorId::try_from(docs::meta(conn, "actor")?.as_str())
        .map_err(|e| ServiceError::Db(crate::db::DbError::Corrupt(e.to_string())))?;
    let doc = CustomerDoc::load(&stored.bytes, actor)
        .map_err(|e| ServiceError::Db(crate::db::DbError::Corrupt(e.to_string())))?;
    Ok((doc, stored))
}

/// The card of `id`, if the caller may see it.
pub async fn card(db: &Db, caller: Caller, id: String) -> Result<CardView, ServiceError> {
    may_read(&caller)?;
    db.read_with(move |conn| {
        let (doc, _) = load_visible(conn, &caller, &id)?;
        Ok(CardView {
            customer: doc.card().clone(),
            history: doc.history(),
            conflicts: doc.conflicts(),
        })
    })
    .await
}

/// Open conflicts of every customer the caller sees.
pub async fn conflicts(db: &Db, caller: Caller) -> Result<Vec<CustomerConflicts>, ServiceError> {
    may_read(&caller)?;
    db.read_with(move |conn| {
        let mut out = Vec::new();
        for id in docs::conflicted(conn, &caller.login, access::sees_all(caller.role))? {
            let (doc, _) = load_visible(conn, &caller, &id)?;
            let conflicts = doc.conflicts();
            if !conflicts.is_empty() {
                out.push(CustomerConflicts {
                    id,
                    name: doc.card().name.clone(),
                    conflicts,
                });
            }
        }
        Ok(out)
    })
    .await
}

/// Settles a conflicting field of `id` on `value`, with a reason.
pub async fn resolve(
    db: &Db,
    caller: Caller,
    id: String,
    path: String,
    value: serde_json::Value,
    reason: String,
    now: i64,
) -> Result<(), ServiceError> {
    may_read(&caller)?;
    if !access::may_change(caller.role, &path) {
        return Err(ServiceError::Forbidden(access::why_not(caller.role, &path)));
    }
    db.write_with(move |tx| {
        let (mut doc, stored) = load_visible(tx, &caller, &id)?;
        let value = match (path.as_str(), &value) {
            ("salesperson", serde_json::Value::String(typed)) => serde_json::Value::String(
                Salespeople::load(tx)?
                    .resolve(typed)
                    .map_err(ServiceError::BadRequest)?,
            ),
            _ => value,
        };
        let note = ChangeNote::new(&caller.login, Action::Resolve).with_reason(Some(reason));
        let note = crate::seal::sealed(tx, &id, note, now)?;
        doc.resolve(&path, &value, &note, now)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        commit_change(tx, &id, &doc, &stored, &caller, now)?;
        Ok(())
    })
    .await
}

/// A customer on file (or an earlier row of an import) that a new one
/// resembles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Duplicate {
    /// What matched: 名称, 电话 or 税号.
    pub on: &'static str,
    /// The matching customer's id, or `第 N 行` for an earlier row.
    pub customer: String,
    /// Its name.
    pub name: String,
}

/// What a new customer is compared on: its name, its main contact's
/// numbers and its tax number.
pub(crate) fn duplicate_keys(card: &Customer) -> Vec<(&'static str, String)> {
    let mut keys: Vec<(&'static str, String)> = vec![("名称", card.name.clone())];
    if let Some(k) = card.main_contact() {
        for p in [&k.mobile, &k.phone] {
            if !p.is_empty() {
                keys.push(("电话", p.clone()));
            }
        }
    }
    if !card.billing.tax_no.is_empty() {
        keys.push(("税号", card.billing.tax_no.clone()));
    }
    keys
}

/// Customers on file that `card`, a new one, resembles (see
/// [`duplicate_keys`]), each once.
pub(crate) fn duplicates_in(
    conn: &Connection,
    card: &Customer,
) -> Result<Vec<Duplicate>, ServiceError> {
    let mut out: Vec<Duplicate> = Vec::new();
    for (on, value) in duplicate_keys(card) {
        let found = if on == "名称" {
            docs::find_by_name(conn, &value)?
        } else {
            docs::find_by_number(conn, &value)?
        };
        for (customer, name) in found {
            if !out.iter().any(|d| d.customer == customer) {
                out.push(Duplicate { on, customer, name });
            }
        }
    }
    Ok(out)
}

/// A fresh customer id, for a customer entered at head office.
pub(crate) fn new_customer_id() -> String {
    format!("c-{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// Head office enters a new customer (the console's 新建客户). One that
/// resembles a customer on file is not created unless `anyway`: the
/// possible duplicates come back instead (`Ok(Err)`), as an import lists
/// them. Returns the new customer's id.
pub async fn create(
    db: &Db,
    caller: Caller,
    card: Customer,
    anyway: bool,
    now: i64,
) -> Result<Result<String, Vec<Duplicate>>, ServiceError> {
    may_write(&caller)?;
    db.write_with(move |tx| {
        let mut card = card;
        card.id = new_customer_id();
        card.entered_at = now;
        card.salesperson = Salespeople::load(tx)?
            .resolve(card.salesperson.trim())
            .map_err(|e| ServiceError::BadRequest(format!("业务员:{e}")))?;
        crm_shared::validate::customer_input(None, &card)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        if !anyway {
            let found = duplicates_in(tx, &card)?;
            if !found.is_empty() {
                return Ok(Err(found));
            }
        }
        let actor = ActorId::try_from(docs::meta(tx, "actor")?.as_str())
            .map_err(|e| crate::db::DbError::Corrupt(e.to_string()))?;
        let note = ChangeNote::new(&caller.login, Action::Create);
        let note = crate::seal::sealed(tx, &card.id, note, now)?;
        let doc = CustomerDoc::create(&card, actor, &note, now)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let origin = Origin {
            login: &caller.login,
            device_id: Some(&caller.device_id),
            at: now,
        };
        docs::store(
            tx,
            &card.id,
            &storage::Write::Snapshot(doc.save()),
            &doc.heads(),
            &Projection::of(doc.card(), 0),
            &origin,
        )?;
        Ok(Ok(card.id))
    })
    .await
}

/// Head office corrects fields of a card through the server (the console):
/// each `(field, value)` names a path or its Chinese label; a reason is
/// required and recorded with the change. Returns the fields changed.
pub async fn edit(
    db: &Db,
    caller: Caller,
    id: String,
    sets: Vec<(String, String)>,
    reason: String,
    now: i64,
) -> Result<Vec<crm_shared::diff::FieldChange>, ServiceError> {
    may_edit(&caller, &reason)?;
    if sets.is_empty() {
        return Err(ServiceError::BadRequest("没有要修改的字段".into()));
    }
    db.write_with(move |tx| edit_in(tx, &caller, &id, &sets, &reason, now))
        .await
}

/// Gives every customer of `ids` to salesperson `to` (a login or a name),
/// in one transaction: all of them, or (naming the first that cannot be
/// given) none. One already theirs is left as it is. Returns how many
/// changed hands.
pub async fn reassign(
    db: &Db,
    caller: Caller,
    ids: Vec<String>,
    to: String,
    reason: String,
    now: i64,
) -> Result<usize, ServiceError> {
    may_edit(&caller, &reason)?;
    if ids.is_empty() {
        return Err(ServiceError::BadRequest("没有选择客户".into()));
    }
    if to.trim().is_empty() {
        return Err(ServiceError::BadRequest("请选择要改派给的业务员".into()));
    }
    db.write_with(move |tx| {
        let login = Salespeople::load(tx)?
            .resolve(to.trim())
            .map_err(|e| ServiceError::BadRequest(format!("业务员:{e}")))?;
        let sets = [("salesperson".to_string(), login.clone())];
        let mut moved = 0;
        for id in &ids {
            // The list row says whose it is; `edit_in` reads the document
            // (and answers one the caller may not see as missing).
            let name = match docs::row(tx, id)? {
                Some((row, _, _)) if row.salesperson == login => continue,
                Some((row, _, _)) => row.name,
                None => return Err(ServiceError::NotFound(format!("找不到客户 {id}"))),
            };
            edit_in(tx, &caller, id, &sets, &reason, now).map_err(|e| match e {
                ServiceError::BadRequest(m) => {
                    ServiceError::BadRequest(format!("客户“{name}”:{m}"))
                }
                other => other,
            })?;
            moved += 1;
        }
        Ok(moved)
    })
    .await
}

/// Whether `caller` may edit cards in head office, with `reason` given.
fn may_edit(caller: &Caller, reason: &str) -> Result<(), ServiceError> {
    may_write(caller)?;
    if reason.trim().is_empty() {
        return Err(ServiceError::BadRequest("修改档案必须说明原因".into()));
    }
    Ok(())
}

/// Whether `caller` may write cards in head office: a clerk or a manager.
pub(crate) fn may_write(caller: &Caller) -> Result<(), ServiceError> {
    may_read(caller)?;
    if !matches!(
        caller.role,
        crm_shared::codes::Role::Clerk | crm_shared::codes::Role::Manager
    ) {
        return Err(ServiceError::Forbidden(format!(
            "只有档案管理员或经理可以在总部修改档案,您的角色是{}",
            caller.role.label()
        )));
    }
    Ok(())
}

/// [`edit`] of one customer inside the writer's transaction `tx`.
fn edit_in(
    tx: &rusqlite::Transaction,
    caller: &Caller,
    id: &str,
    sets: &[(String, String)],
    reason: &str,
    now: i64,
) -> Result<Vec<crm_shared::diff::FieldChange>, ServiceError> {
    let (mut doc, stored) = load_visible(tx, caller, id)?;
    let mut card = doc.card().clone();
    for (field, value) in sets {
        let path = crm_shared::edit::path_for(&card, field)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        if !access::may_change(caller.role, &path) {
            return Err(ServiceError::Forbidden(access::why_not(caller.role, &path)));
        }
        let value = if path == "salesperson" {
            Salespeople::load(tx)?
                .resolve(value)
                .map_err(|e| ServiceError::BadRequest(format!("业务员:{e}")))?
        } else {
            value.clone()
        };
        card = crm_shared::edit::set_text(&card, &path, &value)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
    }
    crm_shared::validate::customer_input(Some(doc.card()), &card)
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
    let note = ChangeNote::new(&caller.login, Action::Edit).with_reason(Some(reason.to_string()));
    let note = crate::seal::sealed(tx, id, note, now)?;
    let changes = doc
        .update(&card, &note, now)
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
    if changes.is_empty() {
        return Err(ServiceError::BadRequest("新值与原值相同,没有改动".into()));
    }
    commit_change(tx, id, &doc, &stored, caller, now)?;
    Ok(changes)
}

/// A page of the customer list for head office (or a salesperson's own).
pub async fn list(
    db: &Db,
    caller: Caller,
    filter: crate::db::ListFilter,
    offset: usize,
    limit: usize,
) -> Result<Vec<crm_shared::summary::CustomerSummary>, ServiceError> {
    let filter = seen_by(&caller, filter)?;
    db.read_with(move |conn| Ok(docs::list(conn, &filter, offset, limit)?))
        .await
}

/// The list rows of customers `ids`, in that order; one `caller` may not
/// see is answered as missing.
pub async fn summaries(
    db: &Db,
    caller: Caller,
    ids: Vec<String>,
) -> Result<Vec<crm_shared::summary::CustomerSummary>, ServiceError> {
    may_read(&caller)?;
    db.read_with(move |conn| {
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            match docs::row(conn, id)? {
                Some((summary, _, _))
                    if access::sees_all(caller.role) || summary.salesperson == caller.login =>
                {
                    out.push(summary)
                }
                _ => return Err(ServiceError::NotFound(format!("找不到客户 {id}"))),
            }
        }
        Ok(out)
    })
    .await
}

/// A page of [`list`] and how many customers it lists on every page,
/// from one read.
pub async fn list_counted(
    db: &Db,
    caller: Caller,
    filter: crate::db::ListFilter,
    offset: usize,
    limit: usize,
) -> Result<(Vec<crm_shared::summary::CustomerSummary>, u64), ServiceError> {
    let filter = seen_by(&caller, filter)?;
    db.read_with(move |conn| {
        Ok((
            docs::list(conn, &filter, offset, limit)?,
            docs::count(conn, &filter)?,
        ))
    })
    .await
}

/// `filter` narrowed to what `caller` may see: a salesperson, their own.
fn seen_by(
    caller: &Caller,
    mut filter: crate::db::ListFilter,
) -> Result<crate::db::ListFilter, ServiceError> {
    may_read(caller)?;
    if !access::sees_all(caller.role) {
        filter.salesperson = Some(caller.login.clone());
    }
    Ok(filter)
}

/// Stores the changes head office just made to `doc` (loaded as `stored`)
/// through the server: appended or compacted, authors recorded, logged for
/// laptops and the backup, projections refreshed.
pub(crate) fn commit_change(
    tx: &rusqlite::Transaction,
    id: &str,
    doc: &CustomerDoc,
    stored: &docs::Stored,
    caller: &Caller,
    now: i64,
) -> Result<(), ServiceError> {
    let write = storage::next_write(doc, Some((stored.shape(), &stored.heads)), None);
    let origin = Origin {
        login: &caller.login,
        device_id: Some(&caller.device_id),
        at: now,
    };
    for (hash, _) in doc.changes_since(&stored.heads) {
        docs::record_author(tx, &hash, id, &origin)?;
    }
    docs::store(
        tx,
        id,
        &write,
        &doc.heads(),
        &Projection::of(doc.card(), doc.conflicts().len()),
        &origin,
    )?;
    Ok(())
}

/// What a server-side import did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ImportReport {
    /// Customers created.
    pub created: usize,
    /// Existing customers updated.
    pub updated: usize,
    /// Existing customers already identical.
    pub unchanged: usize,
    /// Lines whose customer id an earlier line already had, each merged
    /// into that customer as its own change.
    pub merged: Vec<crm_shared::import::Merged>,
    /// Customers on file moved to the salesperson the file names (asked
    /// with `reassign`).
    pub reassigned: usize,
    /// Customers on file the file assigns elsewhere, left with their
    /// salesperson (not asked to reassign).
    pub not_reassigned: usize,
}

/// Customers written per transaction by [`import`].
const IMPORT_BATCH: usize = 200;

/// Imports a JSON Lines file (the laptop's import format) straight into the
/// server's store, as user `by`; `salesperson` assigns every customer to
/// that salesperson. A salesperson, given here or on a line, is a login
/// or a salesperson's name and is stored as the login (see [`crate::salespeople::Salespeople`]).
/// A customer that has a salesperson keeps them unless `reassign`: an
/// import never moves customers silently; the report counts both. Every line is checked first: a bad line imports nothing.
/// Lines sharing an id are one customer, each line one change of it.
/// Documents of a batch are built on all cores, then written in one
/// transaction; `progress(done)` follows each commit (in lines).
pub async fn import(
    db: &Db,
    path: &std::path::Path,
    by: &str,
    salesperson: Option<&str>,
    reassign: bool,
    mut progress: impl FnMut(usize),
) -> Result<ImportReport, ServiceError> {
    use crm_shared::import::{parse_line, ImportRecord};
    use rayon::prelude::*;
    use std::io::BufRead;

    let read = |path: &std::path::Path| -> Result<Vec<(usize, String)>, ServiceError> {
        let f = std::fs::File::open(path)
            .map_err(|e| ServiceError::BadRequest(format!("无法读取 {}:{e}", path.display())))?;
        let mut out = Vec::new();
        for (i, l) in std::io::BufReader::new(f).lines().enumerate() {
            let l = l.map_err(|e| ServiceError::BadRequest(format!("读取失败:{e}")))?;
            if !l.trim().is_empty() {
                out.push((i + 1, l));
            }
        }
        Ok(out)
    };
    let people = db
        .read_with(|conn| Ok::<_, ServiceError>(Salespeople::load(conn)?))
        .await?;
    let salesperson = salesperson
        .map(|s| {
            people
                .resolve(s)
                .map_err(|e| ServiceError::BadRequest(format!("--salesperson:{e}")))
        })
        .transpose()?;
    let record = |line: usize, text: &str| -> Result<ImportRecord, ServiceError> {
        let mut rec =
            parse_line(text).map_err(|e| ServiceError::BadRequest(format!("第 {line} 行:{e}")))?;
        match (&salesperson, &rec.salesperson) {
            (Some(s), _) => rec.salesperson = Some(s.clone()),
            (None, Some(typed)) => {
                rec.salesperson =
                    Some(people.resolve(typed).map_err(|e| {
                        ServiceError::BadRequest(format!("第 {line} 行:业务员:{e}"))
                    })?)
            }
            (None, None) => {}
        }
        let mut probe = Customer::default();
        rec.clone().apply(&mut probe, by, 0);
        // Every value of the line is new input, phone numbers included.
        crm_shared::validate::customer_input(None, &probe)
            .map_err(|e| ServiceError::BadRequest(format!("第 {line} 行:{e}")))?;
        Ok(rec)
    };
    // Check every line before writing anything.
    let lines = read(path)?;
    let mut report = ImportReport::default();
    // One customer's lines, in file order, are built into one document:
    // built apart, two new documents for one id would overwrite each other
    // and the first line would be in no history.
    let mut customers: Vec<Vec<ImportRecord>> = Vec::new();
    let mut first: std::collections::HashMap<String, (usize, usize)> = Default::default();
    for (n, l) in &lines {
        let rec = record(*n, l)?;
        match first.get(&rec.id) {
            Some(&(line, i)) => {
                report.merged.push(crm_shared::import::Merged {
                    line: *n,
                    into: line,
                    id: rec.id.clone(),
                });
                customers[i].push(rec);
            }
            None => {
                first.insert(rec.id.clone(), (*n, customers.len()));
                customers.push(vec![rec]);
            }
        }
    }
    let note = ChangeNote::new(by, Action::Import).with_reason(Some(format!(
        "导入 {}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    )));
    let mut done = 0;
    for batch in customers.chunks(IMPORT_BATCH) {
        let batch = batch.to_vec();
        let note = note.clone();
        let by = by.to_string();
        let now = crate::clock::now_ms();
        let lines_in_batch: usize = batch.iter().map(Vec::len).sum();
        let r = db
            .write_with(move |tx| {
                let actor = ActorId::try_from(docs::meta(tx, "actor")?.as_str())
                    .map_err(|e| ServiceError::Db(crate::db::DbError::Corrupt(e.to_string())))?;
                let stored = batch
                    .iter()
                    .map(|recs| docs::load(tx, &recs[0].id))
                    .collect::<Result<Vec<_>, _>>()?;
                let key = crate::seal::key(tx)?;
                let built = batch
                    .into_par_iter()
                    .zip(stored)
                    .map(|(recs, stored)| {
                        let note = crate::seal::seal_with(&key, &recs[0].id, note.clone(), now);
                        build(recs, stored, &actor, &note, &by, now, reassign)
                    })
                    .collect::<Result<Vec<_>, ServiceError>>()?;
                let origin = Origin {
                    login: &by,
                    device_id: None,
                    at: now,
                };
                let mut report = ImportReport::default();
                for (b, moved) in built {
                    match moved {
                        Some(true) => report.reassigned += 1,
                        Some(false) => report.not_reassigned += 1,
                        None => {}
                    }
                    let Some(b) = b else {
                        report.unchanged += 1;
                        continue;
                    };
                    if b.created {
                        report.created += 1;
                    } else {
                        report.updated += 1;
                    }
                    docs::store(tx, &b.id, &b.write, &b.heads, &b.projection, &origin)?;
                }
                Ok::<_, ServiceError>(report)
            })
            .await?;
        report.created += r.created;
        report.updated += r.updated;
        report.unchanged += r.unchanged;
        report.reassigned += r.reassigned;
        report.not_reassigned += r.not_reassigned;
        done += lines_in_batch;
        progress(done);
    }
    Ok(report)
}

/// A customer's import write, computed off the writer; `None` from
/// [`build`] means the record changed nothing.
struct Built {
    id: String,
    /// A new customer (else an update).
    created: bool,
    /// What to store.
    write: storage::Write,
    heads: Vec<crm_shared::ChangeHash>,
    projection: Projection,
}

/// Writes one customer's lines (`recs`, in file order, each its own
/// change) onto its `stored` document, or a new one. A line naming another
/// salesperson than the customer has moves it only if `reassign`; the
/// second value says whether any line wanted to (`Some(moved)`).
/// Why an import may not change a customer's credit limit.
pub(crate) fn limit_by_rule_only(id: &str, now: Option<i64>, file: Option<i64>) -> String {
    let shown = |v: Option<i64>| v.map_or("空".to_string(), |v| v.to_string());
    format!(
        "客户 {id} 的信用额度只能通过信用额度变更申请修改(现为 {},文件中为 {});请删去此值或改为现值",
        shown(now),
        shown(file)
    )
}

fn build(
    recs: Vec<crm_shared::import::ImportRecord>,
    stored: Option<docs::Stored>,
    actor: &ActorId,
    note: &ChangeNote,
    by: &str,
    now: i64,
    reassign: bool,
) -> Result<(Option<Built>, Option<bool>), ServiceError> {
    let bad = |e: crm_shared::Error| ServiceError::BadRequest(e.to_string());
    let mut recs = recs.into_iter();
    let (mut doc, created) = match &stored {
        None => {
            let mut card = Customer::default();
            if let Some(rec) = recs.next() {
                rec.apply(&mut card, by, now);
            }
            (
                CustomerDoc::create(&card, actor.clone(), note, now).map_err(bad)?,
                true,
            )
        }
        Some(s) => (
            CustomerDoc::load(&s.bytes, actor.clone())
                .map_err(|e| ServiceError::Db(crate::db::DbError::Corrupt(e.to_string())))?,
            false,
        ),
    };
    let mut changed = created;
    let mut moved = None;
    for mut rec in recs {
        let mut card = doc.card().clone();
        if rec
            .salesperson
            .as_ref()
            .is_some_and(|s| !card.salesperson.is_empty() && *s != card.salesperson)
        {
            moved = Some(reassign);
            if !reassign {
                rec.salesperson = None;
            }
        }
        // A customer on file keeps the limit its approval chain gave it;
        // a new one may come with the limit it had in the archive before.
        if stored.is_some() && rec.credit_limit.is_some() && rec.credit_limit != card.credit.limit {
            return Err(ServiceError::BadRequest(limit_by_rule_only(
                &card.id,
                card.credit.limit,
                rec.credit_limit,
            )));
        }
        rec.apply(&mut card, by, now);
        changed |= !doc.update(&card, note, now).map_err(bad)?.is_empty();
    }
    if !changed {
        return Ok((None, moved));
    }
    let write = storage::next_write(
        &doc,
        stored.as_ref().map(|s| (s.shape(), s.heads.as_slice())),
        None,
    );
    let built = Built {
        id: doc.card().id.clone(),
        created,
        write,
        heads: doc.heads(),
        projection: Projection::of(doc.card(), doc.conflicts().len()),
    };
    Ok((Some(built), moved))
}
