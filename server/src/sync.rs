//! The sync engine behind `POST /api/v1/sync` (protocol: ARCHITECTURE.md,
//! wire types: `crm_shared::sync`).
//!
//! Two steps, so that only writes hold the single writer:
//! 1. **Push** (one writer transaction): each pushed document is merged into
//!    the stored one, after checking that the caller may change it, that every
//!    new change is authored by the caller, and that the result is a valid
//!    card. A protected field the caller may not change is put back by a
//!    change of the server's own (history stays intact) and the attempt is
//!    recorded. Any refusal rolls the whole push back: nothing is stored.
//! 2. **Answer** (a read snapshot): what the laptop lacks, found from its
//!    cursor in the update log, or from its `have` list on a first sync.
//!
//! Pushed documents are merged a few at a time ([`MERGE_CHUNK`], on every
//! core) and dropped: memory does not grow with the number of customers or
//! the size of a push, and a sync with nothing to do loads none.

use std::collections::HashMap;

use rayon::prelude::*;
use rusqlite::{Connection, Transaction};

use crm_shared::access;
use crm_shared::codes::Role;
use crm_shared::note::{Action, ChangeNote};
use crm_shared::sync::{
    heads_from_hex, heads_to_hex, Blob, DocHeads, DocUpdate, RefusalKind, Refused, Reverted, Row,
    SyncRequest, SyncResponse,
};
use crm_shared::{edit, validate, ActorId, ChangeHash, Customer, CustomerDoc};

use crate::db::documents::{self as docs, Origin};
use crate::db::{Db, DbError, Projection};
use crate::doc_cache::DocCache;
use crate::caller::{Caller, ServiceError};

/// Bytes of document data in one response before it is cut (`more`).
pub const RESPONSE_BUDGET: usize = 8 << 20;

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
pub(crate) fn is_automerge(data: &[u8]) -> bool {
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

/// Runs one sync exchange. Also returns the newest log position of any
/// pushed document (0 when nothing was pushed), for zero-loss mode.
pub async fn sync(
    db: &Db,
    caller: Caller,
    req: SyncRequest,
    now: i64,
) -> Result<(SyncResponse, u64), ServiceError> {
    if !matches!(caller.role, Role::Salesperson | Role::Clerk | Role::Manager) {
        return Err(ServiceError::Forbidden(format!(
            "角色“{}”不能同步客户档案",
            caller.role.label()
        )));
    }
    let SyncRequest {
        epoch,
        cursor,
        have,
        push,
        settings_version,
        recheck,
        lineage,
    } = req;
    let cache = db.doc_cache();
    let pushing = !push.is_empty();
    let pushed = if pushing {
        crate::push_group::apply(db, caller.clone(), push, lineage.clone(), now).await?
    } else {
        Pushed::default()
    };
    let upto = pushed.upto;
    let resp = db
        .read_with(move |conn| {
            // Without a push the mark does not move; it is only compared.
            let rotate = match (&lineage, pushing) {
                (Some(l), false) => !docs::lineage_follows(conn, l)?,
                _ => pushed.rotate_actor,
            };
            let asked = Asked {
                epoch,
                cursor,
                have,
                recheck,
            };
            let mut resp = answer(conn, &cache, &caller, asked, pushed)?;
            resp.rotate_actor = rotate;
            let current = docs::settings(conn)?;
            if settings_version != Some(current.version) {
                resp.settings = Some(current);
            }
            Ok::<_, ServiceError>(resp)
        })
        .await?;
    Ok((resp, upto))
}

/// What a laptop asks for besides its push.
struct Asked {
    epoch: Option<String>,
    cursor: Option<u64>,
    have: Option<Vec<DocHeads>>,
    recheck: Vec<DocHeads>,
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

fn parse_heads(id: &str, hex: &[String]) -> Result<Vec<ChangeHash>, ServiceError> {
    heads_from_hex(hex).ok_or_else(|| bad(format!("客户 {id} 的 heads 格式无效")))
}

fn corrupt(id: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Db(DbError::Corrupt(format!(
        "服务器上的客户文档 {id} 无法读取:{e}"
    )))
}

/// Applies one push (or, from [`crate::push_group`], several of one user's
/// pushes as one, with `devices` saying which device sent what) in the
/// writer's transaction. Any error means the caller must roll back.
pub(crate) fn apply_pushes(
    tx: &Transaction,
    cache: &DocCache,
    caller: &Caller,
    push: &[crm_shared::sync::DocPush],
    devices: &Devices,
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
    let ctx = PushCtx {
        tx,
        cache,
        caller,
        sees_all,
        origin: &origin,
        devices,
        now,
    };
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
        let merged: Vec<Result<CustomerDoc, ServiceError>> = chunk
            .par_iter()
            .zip(&read)
            .map(|(p, r)| match r {
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
                apply_push(&ctx, &mut out, p, &client_heads, stored, merged).map(|()| client_heads)
            });
            match applied {
                Ok(client_heads) => {
                    tx.execute_batch("RELEASE doc")?;
                    out.client_heads.insert(p.id.clone(), client_heads);
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
/// document itself, for a customer new to the server).
fn merge_pushed(
    cache: &DocCache,
    caller: &Caller,
    sees_all: bool,
    actor: &ActorId,
    p: &crm_shared::sync::DocPush,
    stored: Option<&docs::Stored>,
) -> Result<CustomerDoc, ServiceError> {
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
            merged.map_err(|e| match e {
                crm_shared::Error::Invalid { message, .. } => {
                    bad(format!("客户 {} 的数据无效:{message}", p.id))
                }
                clash @ crm_shared::Error::Clash { .. } => {
                    ServiceError::Clash(format!("客户 {}:{clash}", p.id))
                }
                other => corrupt(&p.id, other),
            })
        }
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
            Ok(doc)
        }
    }
}

/// Which device sent which changes, when several pushes are applied as one.
#[derive(Default)]
pub(crate) struct Devices {
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
    devices: &'a Devices,
    now: i64,
}

/// Checks one merged push and stores it, in the writer's transaction.
fn apply_push(
    ctx: &PushCtx,
    out: &mut Pushed,
    p: &crm_shared::sync::DocPush,
    client_heads: &[ChangeHash],
    stored: Option<docs::Stored>,
    merged: Result<CustomerDoc, ServiceError>,
) -> Result<(), ServiceError> {
    let PushCtx {
        tx,
        cache,
        caller,
        sees_all,
        origin,
        devices,
        now,
    } = *ctx;
    if let Some(s) = &stored {
        // A customer reassigned while its former salesperson was offline
        // still takes what they recorded while it was theirs; it then
        // leaves their laptop through `removed`.
        if !sees_all
            && s.salesperson != caller.login
            && !docs::ever_assigned(tx, &p.id, &caller.login)?
        {
            return Err(ServiceError::Forbidden(format!(
                "无权修改客户 {}:该客户不属于你",
                p.id
            )));
        }
    }
    let mut doc = merged?;
    let old_heads = stored.as_ref().map(|s| s.heads.clone()).unwrap_or_default();
    // The laptop records our ack as "the server has everything up to the
    // heads I pushed": those heads must really be here now (or wait on
    // missing dependencies, asked for below), else the data was cut or
    // damaged and the ack would lose changes.
    if !doc.has_missing_deps()
        && client_heads
            .iter()
            .any(|h| doc.automerge().get_change_meta_by_hash(h).is_none())
    {
        return Err(bad(format!("客户 {} 的数据不完整:缺少所声明的修改", p.id)));
    }
    if doc.has_missing_deps() {
        // The laptop believes we have changes we do not (e.g. we were
        // restored from an older backup): ask for everything after ours.
        out.need.push(DocHeads {
            id: p.id.clone(),
            heads: heads_to_hex(&old_heads),
        });
    }
    validate::customer(doc.card()).map_err(|e| bad(format!("客户 {}:{e}", p.id)))?;
    let new = doc.changes_since(&old_heads);
    let restored_at = docs::restored_at(tx)?;
    for (hash, note) in &new {
        let by = note.as_ref().map(|n| n.by.as_str());
        if by != Some(caller.login.as_str()) && !returned(&doc, hash, note.as_ref(), restored_at) {
            return Err(ServiceError::Forbidden(format!(
                "客户 {} 中有一项修改署名为“{}”,与登录用户 {} 不符",
                p.id,
                by.unwrap_or_default(),
                caller.login
            )));
        }
    }
    record_authors(
        tx,
        &doc,
        &p.id,
        &old_heads,
        &new,
        origin,
        devices.by_doc.get(&p.id),
    )?;
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
    let refused = access::refused_changes(caller.role, &before, doc.card());
    if !refused.is_empty() {
        let mut card = serde_json::to_value(doc.card()).expect("serialises");
        for (path, old, new) in &refused {
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
        doc.update(&card, &note, now)
            .map_err(|e| corrupt(&p.id, e))?;
    }
    guard_credit_requests(tx, &mut doc, &p.id, caller, origin, out, now)?;
    let heads = doc.heads();
    if heads != old_heads {
        let card = doc.card();
        let bytes = match &stored {
            Some(s) => {
                let compact = |next: usize| {
                    crm_shared::document::should_compact(
                        s.chunk_count,
                        s.chunk_bytes,
                        s.snapshot_bytes,
                        next,
                    )
                };
                // The pushed bytes are at least the size of the new
                // chunk, give or take the server's own corrections: when
                // they already tip the rule, the chunk is not worth
                // computing (for thousands of changes it costs more than
                // the snapshot does).
                if compact(p.data.0.len()) {
                    Snapshot(doc.save())
                } else {
                    let chunk = doc.save_after(&old_heads);
                    if compact(chunk.len()) {
                        Snapshot(doc.save())
                    } else {
                        Append(chunk)
                    }
                }
            }
            None => Snapshot(doc.save()),
        };
        let b = match &bytes {
            Snapshot(b) => docs::Bytes::Snapshot(b),
            Append(b) => docs::Bytes::Append(b),
        };
        let conflicts = doc.conflicts().len();
        docs::store(
            tx,
            &p.id,
            b,
            &heads,
            &Projection::of(card, conflicts),
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

/// Whether a change signed by someone else is one that this server accepted
/// before it was restored from a backup that lacks it, coming back from a
/// laptop that received it (a head-office edit, a decision, a put-back):
/// made before the restore and signed by someone. Protected fields in it
/// are still judged by the pusher's role, so it can return what the lost
/// server held but never widen what the pusher may change.
fn returned(
    doc: &CustomerDoc,
    hash: &ChangeHash,
    note: Option<&ChangeNote>,
    restored_at: Option<i64>,
) -> bool {
    let (Some(restored_at), Some(_)) = (restored_at, note) else {
        return false;
    };
    doc.automerge()
        .get_change_meta_by_hash(hash)
        .is_some_and(|m| m.timestamp * 1000 <= restored_at)
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

/// Credit-request decisions are the server's alone (they are made through
/// `decide`), and a request is frozen once anyone has decided on it. A push
/// that adds, changes or drops a decision, changes a decided request or
/// drops one the server holds is put back from the server's record, by a
/// change of the server's own, and the attempt is recorded.
fn guard_credit_requests(
    tx: &Transaction,
    doc: &mut CustomerDoc,
    id: &str,
    caller: &Caller,
    origin: &Origin,
    out: &mut Pushed,
    now: i64,
) -> Result<(), ServiceError> {
    let card = doc.card();
    if card.credit_requests.is_empty() && !docs::has_credit_requests(tx, id)? {
        return Ok(());
    }
    let held = docs::credit_requests_of(tx, id)?;
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
    for (rid, h) in &held {
        if !fixed.credit_requests.contains_key(rid) {
            fixed.credit_requests.insert(rid.clone(), h.clone());
            put_back.push(rid.clone());
        }
    }
    if put_back.is_empty() {
        return Ok(());
    }
    for rid in &put_back {
        let path = format!("credit_requests.{rid}");
        docs::record_refusal(tx, id, &path, None, origin)?;
        out.reverted.push(Reverted {
            id: id.to_string(),
            path,
            message: "信用额度申请的审批只能在总部进行,已审批的申请不能修改,已恢复服务器记录"
                .into(),
        });
    }
    let note = ChangeNote::new(SYSTEM_USER, Action::Edit).with_reason(Some(format!(
        "{} 修改了信用额度申请的审批记录,服务器已恢复",
        caller.login
    )));
    doc.update(&fixed, &note, now).map_err(|e| corrupt(id, e))?;
    Ok(())
}

use OwnedBytes::{Append, Snapshot};
enum OwnedBytes {
    Snapshot(Vec<u8>),
    Append(Vec<u8>),
}

fn answer(
    conn: &Connection,
    cache: &DocCache,
    caller: &Caller,
    asked: Asked,
    pushed: Pushed,
) -> Result<SyncResponse, ServiceError> {
    let Asked {
        epoch,
        cursor,
        have,
        recheck,
    } = asked;
    // One snapshot for the whole answer.
    let tx = conn.unchecked_transaction()?;
    let server_epoch = docs::meta(&tx, "epoch")?;
    let max = docs::max_seq(&tx)?;
    let all = access::sees_all(caller.role);
    let mut resp = SyncResponse {
        epoch: server_epoch.clone(),
        cursor: max as u64,
        acked: pushed.acked,
        need: pushed.need,
        reverted: pushed.reverted,
        refused: pushed.refused,
        ..Default::default()
    };
    let mut budget = RESPONSE_BUDGET;
    let mut send = |resp: &mut SyncResponse,
                    id: &str,
                    base: Option<&[ChangeHash]>|
     -> Result<bool, ServiceError> {
        let Some(stored) = docs::load(&tx, id)? else {
            return Ok(true);
        };
        // A whole document travels as stored (snapshot + chunks, a valid
        // saved form); only a partial one needs automerge. The whole form
        // is also sent when it is the smaller one.
        let changes = match base {
            Some(b) => match cache.get(id, &stored.heads) {
                Some(kept) => kept.changes_unless_whole_is_smaller(b, stored.bytes.len()),
                None => crm_shared::document::changes_unless_whole_is_smaller(&stored.bytes, b)
                    .map_err(|e| corrupt(id, e))?,
            },
            None => None,
        };
        let (data, whole) = match changes {
            Some(c) if c.is_empty() => return Ok(true),
            Some(c) => (c, false),
            None => (stored.bytes, true),
        };
        if data.len() > budget && !resp.docs.is_empty() {
            resp.more = true;
            return Ok(false);
        }
        budget = budget.saturating_sub(data.len());
        let row = match whole {
            false => None,
            true => docs::row(&tx, id)?.map(|(summary, search, conflicts)| Row {
                summary,
                search,
                conflicted: conflicts > 0,
            }),
        };
        resp.docs.push(DocUpdate {
            id: id.to_string(),
            heads: heads_to_hex(&stored.heads),
            data: Blob(data),
            row,
        });
        Ok(true)
    };

    match (have, cursor) {
        (Some(have), _) => {
            let mut client: HashMap<String, Vec<ChangeHash>> = HashMap::with_capacity(have.len());
            for h in have {
                let heads = parse_heads(&h.id, &h.heads)?;
                client.insert(h.id, heads);
            }
            for (id, heads) in &pushed.client_heads {
                client.insert(id.clone(), heads.clone());
            }
            for h in docs::visible(&tx, &caller.login, all)? {
                let theirs = client.remove(&h.id);
                match &theirs {
                    Some(ch) if *ch == h.heads => continue,
                    Some(ch) => {
                        if ch.iter().any(|x| !h.heads.contains(x))
                            && !pushed.client_heads.contains_key(&h.id)
                        {
                            resp.need.push(DocHeads {
                                id: h.id.clone(),
                                heads: heads_to_hex(&h.heads),
                            });
                        }
                        if !send(&mut resp, &h.id, Some(ch))? {
                            break;
                        }
                    }
                    None => {
                        if !send(&mut resp, &h.id, None)? {
                            break;
                        }
                    }
                }
            }
            if !resp.more {
                // What the laptop holds beyond what it may see.
                for id in client.into_keys() {
                    match docs::salesperson(&tx, &id)? {
                        Some(_) => resp.removed.push(id),
                        None => resp.need.push(DocHeads { id, heads: vec![] }),
                    }
                }
            }
        }
        (None, Some(c)) if epoch.as_deref() == Some(server_epoch.as_str()) && c <= max as u64 => {
            let c = c as i64;
            for h in docs::changed_since(&tx, c, &caller.login, all)? {
                let mut base = match docs::heads_at(&tx, &h.id, c)? {
                    Some((heads, owner)) if all || owner == caller.login => Some(heads),
                    _ => None,
                };
                if let Some(pushed_heads) = pushed.client_heads.get(&h.id) {
                    let mut b = base.unwrap_or_default();
                    b.extend(pushed_heads.iter().copied());
                    base = Some(b);
                }
                if base
                    .as_ref()
                    .is_some_and(|b| h.heads.iter().all(|x| b.contains(x)))
                {
                    resp.cursor = h.seq as u64;
                    continue;
                }
                if !send(&mut resp, &h.id, base.as_deref())? {
                    break;
                }
                resp.cursor = h.seq as u64;
            }
            if !resp.more {
                resp.cursor = max as u64;
                if !all {
                    resp.removed = docs::taken_away(&tx, c, &caller.login)?;
                }
            }
        }
        _ => {
            // No usable cursor: the laptop must list what it has.
            resp.resync = true;
            resp.cursor = 0;
        }
    }
    if !resp.resync {
        for r in recheck {
            if resp.more {
                break;
            }
            if resp.docs.iter().any(|d| d.id == r.id) || resp.removed.contains(&r.id) {
                continue;
            }
            match docs::salesperson(&tx, &r.id)? {
                Some(owner) if all || owner == caller.login => {
                    let base = parse_heads(&r.id, &r.heads)?;
                    send(&mut resp, &r.id, (!base.is_empty()).then_some(&base[..]))?;
                }
                Some(_) => resp.removed.push(r.id),
                None => resp.need.push(DocHeads {
                    id: r.id,
                    heads: vec![],
                }),
            }
        }
    }
    Ok(resp)
}
