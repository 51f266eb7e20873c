//! One push, applied in the writer's transaction: every document merged
//! (a few at a time, on every core), then, in push order, checked into a
//! verdict and stored, each in its own savepoint. A document refused takes
//! back only what it wrote and is listed in the answer; the others are
//! stored all the same. Pushed documents are dropped once stored (the last
//! ones written stay in the cache): memory does not grow with the number of
//! customers or the size of a push.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use rusqlite::Transaction;

use crm_shared::access;
use crm_shared::codes::Role;
use crm_shared::complaint;
use crm_shared::customer::Complaint;
use crm_shared::note::{Action, ChangeNote};
use crm_shared::sync::{heads_from_hex, heads_to_hex, DocHeads, RefusalKind, Refused, Reverted};
use crm_shared::{edit, validate, ActorId, ChangeHash, Customer, CustomerDoc};

use crm_shared::storage;

use super::doc_cache::DocCache;
use crate::caller::{Caller, ServiceError};
use crate::db::complaints as complaints_db;
use crate::db::documents::{self as docs, Origin};
use crate::db::{DbError, Projection};
use crate::salespeople::Salespeople;

/// Author recorded on the server's own corrective changes.
pub const SYSTEM_USER: &str = "system";

/// Pushed documents merged at once (see [`merge_chunks`]): enough to keep
/// every core busy, few enough that memory stays flat however large the push.
const MERGE_CHUNK: usize = 16;

/// The first bytes of every automerge chunk (a saved document or changes).
const AUTOMERGE_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Whether pushed bytes are automerge data (or empty). automerge skips
/// bytes it cannot parse when merging, so a push must be refused here
/// rather than acknowledged having stored nothing.
pub(super) fn is_automerge(data: &[u8]) -> bool {
    data.is_empty() || data.starts_with(&AUTOMERGE_MAGIC)
}

/// What the push step tells the answer step.
#[derive(Default)]
pub(crate) struct Pushed {
    /// Pushed document → the laptop's heads.
    pub(crate) client_heads: HashMap<String, Vec<ChangeHash>>,
    pub(crate) acked: Vec<DocHeads>,
    pub(crate) need: Vec<DocHeads>,
    pub(crate) reverted: Vec<Reverted>,
    /// Newest log position of any pushed document: what a backup must hold
    /// before the push may be acknowledged in zero-loss mode.
    pub(crate) upto: u64,
    /// Pushed documents refused one by one; nothing of them was stored.
    pub(crate) refused: Vec<Refused>,
    /// The pusher's actor history does not follow on from the server's mark.
    pub(crate) rotate_actor: bool,
}

/// A refusal of one pushed document, or `Err` for a failure of the store
/// that must fail the whole transaction.
fn refusal(id: &str, e: ServiceError) -> Result<Refused, ServiceError> {
    let (kind, message) = match e {
        ServiceError::BadRequest(m) | ServiceError::NotFound(m) => (RefusalKind::Invalid, m),
        ServiceError::Forbidden(m) => (RefusalKind::Forbidden, m),
        ServiceError::Clash(m) => (RefusalKind::Clash, m),
        ServiceError::Db(DbError::Corrupt(m)) => {
            tracing::error!(customer = id, cause = %m, "服务器上的客户文档无法读取");
            (
                RefusalKind::Server,
                format!("服务器暂时无法处理客户 {id},请联系管理员"),
            )
        }
        other => return Err(other),
    };
    Ok(Refused {
        id: id.to_string(),
        kind,
        message,
    })
}

fn bad(msg: impl Into<String>) -> ServiceError {
    ServiceError::BadRequest(msg.into())
}

pub(super) fn parse_heads(id: &str, hex: &[String]) -> Result<Vec<ChangeHash>, ServiceError> {
    heads_from_hex(hex).ok_or_else(|| bad(format!("客户 {id} 的 heads 格式无效")))
}

pub(super) fn corrupt(id: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Db(DbError::Corrupt(format!(
        "服务器上的客户文档 {id} 无法读取:{e}"
    )))
}

/// Applies one push (or, from [`super::group`], several of one user's
/// pushes as one, with `devices` saying which device sent what) in the
/// writer's transaction. Any error means the caller must roll back.
pub(super) fn apply_pushes(
    tx: &Transaction,
    cache: &DocCache,
    caller: &Caller,
    push: &[crm_shared::sync::DocPush],
    devices: &PushOrigins,
    now: i64,
) -> Result<Pushed, ServiceError> {
    let actor =
        ActorId::try_from(docs::meta(tx, "actor")?.as_str()).map_err(|e| corrupt("actor", e))?;
    let origin = Origin {
        login: &caller.login,
        device_id: Some(&caller.device_id),
        at: now,
    };
    let sees_all = access::sees_all(caller.role);
    let restored = match docs::restored_at(tx)? {
        Some(at) => Some(Restored {
            at,
            former: docs::former_actors(tx)?,
            key: crate::seal::key(tx)?,
        }),
        None => None,
    };
    let ctx = PushCtx {
        tx,
        cache,
        caller,
        sees_all,
        origin: &origin,
        devices,
        now,
        restored,
    };
    let was_restored = ctx.restored.is_some();
    let mut out = Pushed::default();
    for chunk in merge_chunks(push) {
        // Merging is pure work on each document alone: done for the whole
        // chunk at once on every core. Everything that reads or writes the
        // store then follows in push order, and a document's errors surface
        // in that order too, as if it were merged on the spot.
        let mut read = Vec::with_capacity(chunk.len());
        for p in &chunk {
            read.push(
                validate::check_id("id", &p.id)
                    .map_err(|e| bad(e.to_string()))
                    .and_then(|_| parse_heads(&p.id, &p.heads))
                    .and_then(|heads| Ok((heads, docs::load(tx, &p.id)?))),
            );
        }
        let merged: Vec<Result<Option<CustomerDoc>, ServiceError>> = chunk
            .par_iter()
            .zip(&read)
            .map(|(p, r)| match r {
                Ok((_, stored)) if p.hand_over => {
                    handed_over(caller, was_restored, p, stored.as_ref()).map(Some)
                }
                Ok((_, stored)) => {
                    merge_pushed(cache, caller, sees_all, &actor, p, stored.as_ref())
                }
                // Never looked at: the read error surfaces first.
                Err(_) => Err(bad("")),
            })
            .collect();
        for ((p, r), merged) in chunk.into_iter().zip(read).zip(merged) {
            // Each document alone: a refusal takes back only what it wrote,
            // and the others of the push are stored all the same.
            tx.execute_batch("SAVEPOINT doc")?;
            let marks = (out.acked.len(), out.need.len(), out.reverted.len());
            let applied = r.and_then(|(client_heads, stored)| {
                apply_push(&ctx, &mut out, p, &client_heads, stored, merged)
                    .map(|kept| kept.then_some(client_heads))
            });
            match applied {
                Ok(kept) => {
                    tx.execute_batch("RELEASE doc")?;
                    if let Some(client_heads) = kept {
                        out.client_heads.insert(p.id.clone(), client_heads);
                    }
                }
                Err(e) => {
                    tx.execute_batch("ROLLBACK TO doc; RELEASE doc")?;
                    out.acked.truncate(marks.0);
                    out.need.truncate(marks.1);
                    out.reverted.truncate(marks.2);
                    out.refused.push(refusal(&p.id, e)?);
                }
            }
        }
    }
    Ok(out)
}

/// Documents a push is merged in, at once: at most [`MERGE_CHUNK`] each, and
/// a document pushed twice goes to a later chunk, so that it merges into
/// what its first copy stored.
fn merge_chunks(push: &[crm_shared::sync::DocPush]) -> Vec<Vec<&crm_shared::sync::DocPush>> {
    let mut chunks: Vec<Vec<&crm_shared::sync::DocPush>> = Vec::new();
    for p in push {
        match chunks.last_mut() {
            Some(c) if c.len() < MERGE_CHUNK && c.iter().all(|q| q.id != p.id) => c.push(p),
            _ => chunks.push(vec![p]),
        }
    }
    chunks
}

/// The stored document with the pushed bytes merged in (or the pushed
/// document itself, for a customer new to the server). `None`: the customer
/// is new here but the push only continues it (the laptop believes we hold
/// its start: we were restored from an older backup), so the whole document
/// must be asked for.
fn merge_pushed(
    cache: &DocCache,
    caller: &Caller,
    sees_all: bool,
    actor: &ActorId,
    p: &crm_shared::sync::DocPush,
    stored: Option<&docs::Stored>,
) -> Result<Option<CustomerDoc>, ServiceError> {
    if !is_automerge(&p.data.0) {
        return Err(bad(format!("客户 {} 的数据不是 automerge 格式", p.id)));
    }
    match stored {
        Some(s) => {
            let merged = match cache.get(&p.id, &s.heads) {
                Some(kept) => {
                    let mut doc = CustomerDoc::clone(&kept);
                    doc.merge_incoming(&p.data.0).map(|_| doc)
                }
                None => CustomerDoc::load_and_merge(&s.bytes, &p.data.0, actor.clone())
                    .map(|(doc, _)| doc),
            };
            merged.map(Some).map_err(|e| match e {
                crm_shared::Error::Invalid { message, .. } => {
                    bad(format!("客户 {} 的数据无效:{message}", p.id))
                }
                clash @ crm_shared::Error::Clash { .. } => {
                    ServiceError::Clash(format!("客户 {}:{clash}", p.id))
                }
                other => corrupt(&p.id, other),
            })
        }
        None if crm_shared::document::is_continuation(&p.data.0) => Ok(None),
        None => {
            let doc = CustomerDoc::load(&p.data.0, actor.clone())
                .map_err(|e| bad(format!("新客户 {} 的数据无效:{e}", p.id)))?;
            if doc.card().id != p.id {
                return Err(bad(format!("文档属于客户 {},不是 {}", doc.card().id, p.id)));
            }
            if !sees_all && doc.card().salesperson != caller.login {
                return Err(ServiceError::Forbidden(format!(
                    "新客户 {} 必须分配给你自己",
                    p.id
                )));
            }
            Ok(Some(doc))
        }
    }
}

/// A laptop's whole document handed over (see `DocPush::hand_over`): its
/// changes clash with ours, and the laptop has nothing to record them
/// again on. Recorded again here instead, on our copy, under a fresh
/// actor: the sender's own changes, and after a restore every change (a
/// lost server's, which [`check`] takes back only by its seal or within
/// the return window, as from any laptop).
fn handed_over(
    caller: &Caller,
    restored: bool,
    p: &crm_shared::sync::DocPush,
    stored: Option<&docs::Stored>,
) -> Result<CustomerDoc, ServiceError> {
    let Some(s) = stored else {
        return Err(bad(format!("服务器没有客户 {},无法并入交来的修改", p.id)));
    };
    let theirs = CustomerDoc::load(&p.data.0, ActorId::random())
        .map_err(|e| bad(format!("客户 {} 的数据无效:{e}", p.id)))?;
    if theirs.card().id != p.id {
        return Err(bad(format!(
            "文档属于客户 {},不是 {}",
            theirs.card().id,
            p.id
        )));
    }
    let keep = |note: Option<&ChangeNote>| restored || note.is_some_and(|n| n.by == caller.login);
    crm_shared::rebase::rebase(&theirs, &s.bytes, ActorId::random(), keep)
        .map(|r| r.doc)
        .map_err(|e| bad(format!("无法并入客户 {} 的修改:{e}", p.id)))
}

/// Which device sent which changes, when several pushes are applied as one.
#[derive(Default)]
pub(super) struct PushOrigins {
    /// Customer id → each push's device and the heads it pushed, in order.
    pub(crate) by_doc: HashMap<String, Vec<(String, Vec<ChangeHash>)>>,
}

/// What every document of one push is checked and stored with.
struct PushCtx<'a> {
    tx: &'a Transaction<'a>,
    cache: &'a DocCache,
    caller: &'a Caller,
    sees_all: bool,
    origin: &'a Origin<'a>,
    devices: &'a PushOrigins,
    now: i64,
    /// Read once per push: whether this server was restored, and what it
    /// knows of the server it replaced.
    restored: Option<Restored>,
}

/// What checking one pushed document decided, before anything is written.
struct Verdict {
    /// The stored document with the push merged in.
    doc: CustomerDoc,
    /// The heads it had in store (none for a new customer).
    old_heads: Vec<ChangeHash>,
    /// The changes the push brought, with their notes.
    new: Vec<(ChangeHash, Option<ChangeNote>)>,
    /// Protected fields the caller may not change: (path, value to put
    /// back, value attempted).
    put_back: Vec<(&'static str, serde_json::Value, serde_json::Value)>,
    /// The login to store as 业务员 instead of what was typed, and why.
    assigned: Option<(String, String)>,
    /// Credit requests to put back from the server's record, with the card
    /// that does.
    credit: Option<(Customer, Vec<String>)>,
    /// The complaints as the server holds them, when the push changed head
    /// office's part of one (a salesperson's laptop may not).
    complaints: Option<BTreeMap<String, Complaint>>,
}

/// Checks one merged push and stores it, in the writer's transaction.
/// Returns whether it was kept (not merely answered with a `need`).
fn apply_push(
    ctx: &PushCtx,
    out: &mut Pushed,
    p: &crm_shared::sync::DocPush,
    client_heads: &[ChangeHash],
    stored: Option<docs::Stored>,
    merged: Result<Option<CustomerDoc>, ServiceError>,
) -> Result<bool, ServiceError> {
    // The laptop believes we hold changes we do not (we were restored from
    // an older backup): nothing is kept, the whole of what it has after our
    // heads is asked for, and checked when it comes.
    let merged = match merged? {
        Some(doc) if !doc.has_missing_deps() => doc,
        _ => {
            out.need.push(DocHeads {
                id: p.id.clone(),
                heads: heads_to_hex(&stored.map(|s| s.heads).unwrap_or_default()),
            });
            return Ok(false);
        }
    };
    let verdict = check(ctx, p, client_heads, stored.as_ref(), merged)?;
    store(ctx, out, p, stored, verdict).map(|()| true)
}

/// Decides about one pushed document, reading only: may the caller change
/// this customer, does the push hold what it claims, is every new change
/// the caller's (or one a lost server had accepted), is the card valid, and
/// what must be put back.
fn check(
    ctx: &PushCtx,
    p: &crm_shared::sync::DocPush,
    client_heads: &[ChangeHash],
    stored: Option<&docs::Stored>,
    doc: CustomerDoc,
) -> Result<Verdict, ServiceError> {
    let (tx, caller, restored) = (ctx.tx, ctx.caller, ctx.restored.as_ref());
    if let Some(s) = stored {
        // A customer reassigned while its former salesperson was offline
        // still takes what they recorded while it was theirs; it then
        // leaves their laptop through `removed`.
        // So does one whose reassignment to them was lost with a server
        // restored from an older backup and comes back in this push (a
        // change a server made shows them as its salesperson): what they
        // recorded is kept, and the reassignment itself is judged as a
        // protected field below (put back: a salesperson cannot give
        // themselves a customer).
        // As does one they entered themselves (a restore may have lost the
        // log that says so, but not the document's own first change).
        // And a push that brings nothing new changes nothing: it is
        // acknowledged, so that a laptop holding only what we hold lets go
        // of the customer instead of offering it for ever.
        let may = ctx.sees_all
            || s.salesperson == caller.login
            || crm_shared::document::same_heads(&doc.heads(), &s.heads)
            || docs::ever_assigned(tx, &p.id, &caller.login)?
            || entered_by(&doc, &s.heads, &caller.login)
            || restored.is_some_and(|r| given_by_a_lost_server(&doc, &p.id, &caller.login, r))
            || (p.hand_over && handed_over_by_a_lost_server(p, &caller.login, restored));
        if !may {
            return Err(ServiceError::Forbidden(format!(
                "无权修改客户 {}:该客户不属于你",
                p.id
            )));
        }
    }
    let old_heads = stored.map(|s| s.heads.clone()).unwrap_or_default();
    // The laptop records our ack as "the server has everything up to the
    // heads I pushed": those heads must really be here now, else the data
    // was cut or damaged and the ack would lose changes.
    // A hand-over's heads are the laptop's, recorded again here as others.
    if !p.hand_over
        && client_heads
            .iter()
            .any(|h| doc.automerge().get_change_meta_by_hash(h).is_none())
    {
        return Err(bad(format!("客户 {} 的数据不完整:缺少所声明的修改", p.id)));
    }
    validate::customer(doc.card()).map_err(|e| bad(format!("客户 {}:{e}", p.id)))?;
    let new = doc.changes_since(&old_heads);
    for (hash, note) in &new {
        let by = note.as_ref().map(|n| n.by.as_str());
        if by != Some(caller.login.as_str())
            && !returned(&doc, &p.id, hash, note.as_ref(), restored, ctx.now)
        {
            return Err(ServiceError::Forbidden(format!(
                "客户 {} 中有一项修改署名为“{}”,与登录用户 {} 不符",
                p.id,
                by.unwrap_or_default(),
                caller.login
            )));
        }
    }
    // Protected fields, compared against the stored row (no need to read
    // the old card): a role that may not change them gets them put back.
    let before = match docs::row(tx, &p.id)? {
        Some((row, _, _)) => {
            let mut c = Customer {
                salesperson: row.salesperson,
                grade: row.grade,
                ..Default::default()
            };
            c.credit.limit = row.credit_limit;
            c
        }
        None => Customer {
            salesperson: doc.card().salesperson.clone(),
            ..Default::default()
        },
    };
    let put_back = access::refused_changes(caller.role, &before, doc.card());
    let assigned = assignment(tx, caller, stored.is_some(), &before, doc.card(), &put_back)
        .map_err(|why| bad(format!("客户 {}:{why}", p.id)))?;
    let credit = if doc.card().credit_requests.is_empty() && !docs::has_credit_requests(tx, &p.id)?
    {
        None
    } else {
        credit_put_back(doc.card(), &docs::credit_requests_of(tx, &p.id)?)
    };
    // A push that returns changes of others (a server restored from an
    // older backup lost them) brings head office's steps back rightly.
    let only_callers = new
        .iter()
        .all(|(_, n)| n.as_ref().map(|n| n.by.as_str()) == Some(caller.login.as_str()));
    let complaints = if caller.role == Role::Salesperson && only_callers {
        let held = complaints_db::held(tx, &p.id)?;
        complaints_to_put_back(doc.card(), &held).map(|_| held)
    } else {
        None
    };
    Ok(Verdict {
        doc,
        old_heads,
        new,
        put_back,
        assigned,
        credit,
        complaints,
    })
}

/// A 业务员 set on a head-office laptop, checked as the console checks it:
/// a salesperson's name becomes their login (`Ok(Some)`), and anything
/// that names no salesperson is put back on a known customer (`Ok(Some)`
/// with the old login) or refuses a new one. Without this, a customer
/// typed as assigned to "张三" would be seen by no salesperson at all.
fn assignment(
    tx: &Transaction,
    caller: &Caller,
    known: bool,
    before: &Customer,
    card: &Customer,
    put_back: &[(&'static str, serde_json::Value, serde_json::Value)],
) -> Result<Option<(String, String)>, String> {
    let typed = &card.salesperson;
    let changed = !known || *typed != before.salesperson;
    if !changed || *typed == caller.login || put_back.iter().any(|(p, ..)| *p == "salesperson") {
        return Ok(None);
    }
    let people = Salespeople::load(tx).map_err(|e| e.to_string())?;
    match people.resolve(typed) {
        Ok(login) if login == *typed => Ok(None),
        Ok(login) => Ok(Some((
            login.clone(),
            format!("业务员“{typed}”已记为登录名 {login}"),
        ))),
        Err(why) if known => Ok(Some((
            before.salesperson.clone(),
            format!("{why};已恢复原业务员 {}", before.salesperson),
        ))),
        Err(why) => Err(why),
    }
}

/// Stores one pushed document as its verdict says: who sent each change,
/// the refused attempts, the server's corrections, the document itself.
fn store(
    ctx: &PushCtx,
    out: &mut Pushed,
    p: &crm_shared::sync::DocPush,
    stored: Option<docs::Stored>,
    v: Verdict,
) -> Result<(), ServiceError> {
    let PushCtx {
        tx,
        cache,
        caller,
        origin,
        devices,
        now,
        ..
    } = *ctx;
    let Verdict {
        mut doc,
        old_heads,
        new,
        put_back,
        assigned,
        credit,
        complaints,
    } = v;
    record_authors(
        tx,
        &doc,
        &p.id,
        &old_heads,
        &new,
        origin,
        devices.by_doc.get(&p.id),
    )?;
    if !put_back.is_empty() {
        let mut card = serde_json::to_value(doc.card()).expect("serialises");
        for (path, old, new) in &put_back {
            edit::set_path(&mut card, path, old.clone()).map_err(|e| corrupt(&p.id, e))?;
            let attempted = match new {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            };
            docs::record_refusal(tx, &p.id, path, attempted.as_deref(), origin)?;
            out.reverted.push(Reverted {
                id: p.id.clone(),
                path: path.to_string(),
                message: format!("{} 无权修改此字段,已恢复原值", caller.role.label()),
            });
        }
        let card = edit::from_json(card).map_err(|e| corrupt(&p.id, e))?;
        let note = ChangeNote::new(SYSTEM_USER, Action::Edit).with_reason(Some(format!(
            "{} 无权修改受保护字段,服务器已恢复原值",
            caller.login
        )));
        let note = crate::seal::sealed(tx, &p.id, note, now)?;
        doc.update(&card, &note, now)
            .map_err(|e| corrupt(&p.id, e))?;
    }
    if let Some((login, message)) = assigned {
        let mut card = doc.card().clone();
        card.salesperson = login;
        out.reverted.push(Reverted {
            id: p.id.clone(),
            path: "salesperson".into(),
            message,
        });
        let note = ChangeNote::new(SYSTEM_USER, Action::Edit)
            .with_reason(Some("业务员须为系统中的业务员,服务器已更正".to_string()));
        let note = crate::seal::sealed(tx, &p.id, note, now)?;
        doc.update(&card, &note, now)
            .map_err(|e| corrupt(&p.id, e))?;
    }
    if let Some((fixed, requests)) = credit {
        // The put-back card was judged before the protected fields were
        // restored: carry those over so neither undoes the other.
        let mut fixed = fixed;
        fixed.salesperson = doc.card().salesperson.clone();
        fixed.grade = doc.card().grade;
        fixed.credit.limit = doc.card().credit.limit;
        for rid in &requests {
            let path = format!("credit_requests.{rid}");
            docs::record_refusal(tx, &p.id, &path, None, origin)?;
            out.reverted.push(Reverted {
                id: p.id.clone(),
                path,
                message: "信用额度申请的审批只能在总部进行,已审批的申请不能修改,已恢复服务器记录"
                    .into(),
            });
        }
        let note = ChangeNote::new(SYSTEM_USER, Action::Edit).with_reason(Some(format!(
            "{} 修改了信用额度申请的审批记录,服务器已恢复",
            caller.login
        )));
        let note = crate::seal::sealed(tx, &p.id, note, now)?;
        doc.update(&fixed, &note, now)
            .map_err(|e| corrupt(&p.id, e))?;
    }
    if let Some(held) = complaints {
        // Judged on the card as it now is, so that what was put back above
        // stays put back.
        let mut card = doc.card().clone();
        for key in complaints_to_put_back(&card, &held).unwrap_or_default() {
            match (card.complaints.get_mut(&key), held.get(&key)) {
                (Some(k), Some(h)) => complaint::restore_office_part(k, h),
                (Some(k), None) => complaint::restore_office_part(k, &Complaint::default()),
                (None, Some(h)) => {
                    card.complaints.insert(key.clone(), h.clone());
                }
                (None, None) => continue,
            }
            let path = format!("complaints.{key}");
            docs::record_refusal(tx, &p.id, &path, None, origin)?;
            out.reverted.push(Reverted {
                id: p.id.clone(),
                path,
                message:
                    "投诉的初步判断、处理方案、经理意见、诉讼和结案由总部办理,已恢复服务器记录"
                        .into(),
            });
        }
        let note = ChangeNote::new(SYSTEM_USER, Action::Edit).with_reason(Some(format!(
            "{} 修改了投诉中由总部办理的步骤,服务器已恢复",
            caller.login
        )));
        let note = crate::seal::sealed(tx, &p.id, note, now)?;
        doc.update(&card, &note, now)
            .map_err(|e| corrupt(&p.id, e))?;
    }
    let heads = doc.heads();
    if heads != old_heads {
        let shape = stored.as_ref().map(|s| (s.shape(), s.heads.as_slice()));
        let write = storage::next_write(&doc, shape, Some(p.data.0.len()));
        let conflicts = doc.conflicts().len();
        docs::store(
            tx,
            &p.id,
            &write,
            &heads,
            &Projection::of(doc.card(), conflicts),
            origin,
        )?;
    }
    cache.put(&p.id, std::sync::Arc::new(doc));
    out.upto = out.upto.max(docs::seq_of(tx, &p.id)?.unwrap_or(0) as u64);
    out.acked.push(DocHeads {
        id: p.id.clone(),
        heads: heads_to_hex(&heads),
    });
    Ok(())
}

/// What a server restored from a backup knows of the server it replaced.
struct Restored {
    /// When it was restored (ms, by the restoring machine's clock).
    at: i64,
    /// The actors the lost server (and any before it) wrote as, in hex.
    former: Vec<String>,
    /// The key of the servers' seal, the same before and after.
    key: String,
}

/// Whether `login` entered this customer: the stored document (up to
/// `stored_heads`, not anything pushed now) holds their creation of it,
/// assigned to themselves. Normally the update log says as much; after a
/// restore from a backup that never held the customer, this is what is
/// left to say it.
fn entered_by(doc: &CustomerDoc, stored_heads: &[ChangeHash], login: &str) -> bool {
    let pushed: std::collections::HashSet<ChangeHash> = doc
        .changes_since(stored_heads)
        .into_iter()
        .map(|(h, _)| h)
        .collect();
    doc.changes_since(&[]).iter().any(|(hash, note)| {
        !pushed.contains(hash)
            && note
                .as_ref()
                .is_some_and(|n| n.action == Action::Create && n.by == login)
            && doc.salesperson_after(hash).as_deref() == Some(login)
    })
}

/// Whether a change that a server made itself (see [`made_by_a_server`])
/// shows `login` as the customer's salesperson: a restored server's
/// evidence that the server it replaced had given them the customer.
fn given_by_a_lost_server(doc: &CustomerDoc, customer: &str, login: &str, r: &Restored) -> bool {
    doc.changes_since(&[]).iter().any(|(hash, note)| {
        made_by_a_server(doc, customer, hash, note.as_ref(), r)
            && doc.salesperson_after(hash).as_deref() == Some(login)
    })
}

/// [`given_by_a_lost_server`], read in the laptop's own document of a
/// hand-over: recording it again on our copy gave the lost server's
/// change a new hash, so the evidence is looked for where it was made.
fn handed_over_by_a_lost_server(
    p: &crm_shared::sync::DocPush,
    login: &str,
    restored: Option<&Restored>,
) -> bool {
    let Some(r) = restored else {
        return false;
    };
    CustomerDoc::load(&p.data.0, ActorId::random())
        .is_ok_and(|theirs| given_by_a_lost_server(&theirs, &p.id, login, r))
}

/// Whether change `hash` was made by a server (this one before its
/// restore, or one before that): it carries the servers' seal, or it was
/// written by a former server actor.
fn made_by_a_server(
    doc: &CustomerDoc,
    customer: &str,
    hash: &ChangeHash,
    note: Option<&ChangeNote>,
    r: &Restored,
) -> bool {
    doc.automerge()
        .get_change_meta_by_hash(hash)
        .is_some_and(|m| {
            note.is_some_and(|n| crate::seal::is_sealed(&r.key, customer, n, m.timestamp))
                || r.former.iter().any(|a| *a == m.actor.to_hex_string())
        })
}

/// How long after a restore a laptop may hand back another salesperson's
/// change that the lost server had accepted (see [`returned`]).
const RETURN_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;

/// Whether a change signed by someone else is one that a lost server
/// accepted after the backup's last copy, coming back from a laptop that
/// received it. One a server made itself (a head-office edit, a decision,
/// a put-back) is known by its seal or its former server actor, whatever
/// any clock said, even re-recorded by a laptop whose store went back in
/// time. Another salesperson's change cannot be told from a forgery (its
/// time is their laptop's clock, which may be anything): it is taken while
/// laptops hand back what they held, within [`RETURN_WINDOW_MS`] of the
/// restore by this server's clock, and the device that sent it is
/// recorded. Protected fields in either are still judged by the pusher's
/// role, so a returned change never widens what the pusher may change.
fn returned(
    doc: &CustomerDoc,
    customer: &str,
    hash: &ChangeHash,
    note: Option<&ChangeNote>,
    restored: Option<&Restored>,
    now: i64,
) -> bool {
    let (Some(restored), Some(_)) = (restored, note) else {
        return false;
    };
    made_by_a_server(doc, customer, hash, note, restored) || now - restored.at <= RETURN_WINDOW_MS
}

/// Records who sent each new change. For several pushes applied as one,
/// a change goes to the first push whose heads it leads to (the changes a
/// push sent are those new here that its heads have and ours lacked).
fn record_authors(
    tx: &Transaction,
    doc: &CustomerDoc,
    id: &str,
    old_heads: &[ChangeHash],
    new: &[(ChangeHash, Option<ChangeNote>)],
    origin: &Origin,
    devices: Option<&Vec<(String, Vec<ChangeHash>)>>,
) -> Result<(), ServiceError> {
    let Some(devices) = devices else {
        for (hash, _) in new {
            docs::record_author(tx, hash, id, origin)?;
        }
        return Ok(());
    };
    let mut left: std::collections::HashSet<ChangeHash> = new.iter().map(|(h, _)| *h).collect();
    for (device, heads) in devices {
        let mut have = old_heads.to_vec();
        have.extend(heads.iter().copied());
        let beyond: std::collections::HashSet<ChangeHash> = doc
            .automerge()
            .get_changes_meta(&have)
            .into_iter()
            .map(|m| m.hash)
            .collect();
        let sent: Vec<ChangeHash> = left
            .iter()
            .filter(|h| !beyond.contains(h))
            .copied()
            .collect();
        let from = Origin {
            device_id: Some(device),
            ..*origin
        };
        for hash in sent {
            left.remove(&hash);
            docs::record_author(tx, &hash, id, &from)?;
        }
    }
    // Not reached by any push's heads (never seen): the first device.
    for hash in left {
        docs::record_author(tx, &hash, id, origin)?;
    }
    Ok(())
}

/// The complaints of `card` whose head-office part differs from what the
/// server `held` (changed, or a held complaint dropped), or `None`.
fn complaints_to_put_back(
    card: &Customer,
    held: &BTreeMap<String, Complaint>,
) -> Option<Vec<String>> {
    let blank = complaint::office_part(&Complaint::default());
    let mut keys: Vec<String> = card
        .complaints
        .iter()
        .filter(|(key, k)| {
            let was = held
                .get(*key)
                .map_or_else(|| blank.clone(), complaint::office_part);
            complaint::office_part(k) != was
        })
        .map(|(key, _)| key.clone())
        .collect();
    keys.extend(
        held.keys()
            .filter(|key| !card.complaints.contains_key(*key))
            .cloned(),
    );
    (!keys.is_empty()).then_some(keys)
}

/// Credit-request decisions are the server's alone (they are made through
/// `decide`), and a request is frozen once anyone has decided on it. A card
/// that adds, changes or drops a decision, changes a decided request or
/// drops one the server `held` gets it back from the server's record: the
/// card that does so and the requests put back, or `None` when all is well.
fn credit_put_back(
    card: &Customer,
    held: &std::collections::BTreeMap<String, crm_shared::customer::CreditRequest>,
) -> Option<(Customer, Vec<String>)> {
    let mut fixed = card.clone();
    let mut put_back = Vec::new();
    for (rid, req) in fixed.credit_requests.iter_mut() {
        match held.get(rid) {
            Some(h) if !h.decisions.is_empty() && req != h => {
                *req = h.clone();
                put_back.push(rid.clone());
            }
            Some(h) if req.decisions != h.decisions => {
                req.decisions = h.decisions.clone();
                put_back.push(rid.clone());
            }
            None if !req.decisions.is_empty() => {
                req.decisions.clear();
                put_back.push(rid.clone());
            }
            _ => {}
        }
    }
    for (rid, h) in held {
        if !fixed.credit_requests.contains_key(rid) {
            fixed.credit_requests.insert(rid.clone(), h.clone());
            put_back.push(rid.clone());
        }
    }
    (!put_back.is_empty()).then_some((fixed, put_back))
}
