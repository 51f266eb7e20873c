//! The laptop's half of sync: which local changes to push, storing the
//! server's answer in one transaction, the customers set aside, and the
//! lineage of this laptop's actor. The loop that exchanges requests is
//! `crate::sync`; this is what it stores and reads.

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, ChangeHash};
use rayon::prelude::*;
use rusqlite::Connection;

use crm_shared::document::{heads_from_blob as heads_of, heads_to_blob as heads_bytes};
use crm_shared::summary::CustomerSummary;
use crm_shared::sync::{
    heads_from_hex, heads_to_hex, Blob, DocHeads, DocPush, Lineage, RefusalKind, SyncRequest,
    SyncResponse,
};
use crm_shared::CustomerDoc;

use super::write::PendingWrite;
use super::{Profile, Store};
use crate::aside::Kind as AsideKind;
use crate::clock::now_millis;
use crate::db;
use crate::error::{ClientError, Result};

/// Pending documents read and prepared at once for a push: enough to keep
/// every core busy, few enough that memory stays flat.
const PUSH_CHUNK: usize = 16;

fn bad_server(id: &str) -> ClientError {
    crm_shared::Error::Corrupt(format!("服务器发来的客户 {id} 数据无效")).into()
}

/// What storing one sync response did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncApplied {
    /// Documents that arrived or changed.
    pub received: usize,
    /// Their ids.
    pub received_ids: Vec<String>,
    /// Of those, the ones with open conflicts.
    pub conflicted: Vec<String>,
    /// Documents dropped from this laptop.
    pub removed: usize,
    /// Names of the documents dropped (no longer this user's customers).
    pub removed_names: Vec<String>,
    /// Customers set aside by this response (id, why).
    pub set_aside: Vec<(String, String)>,
    /// Customers whose changes were recorded again on the server's copy
    /// (this store had gone back in time).
    pub rebased: Vec<String>,
    /// Customers to be handed over whole, for the server to record their
    /// changes again (sent by the next request of this sync).
    pub handing_over: Vec<String>,
    /// Changes left out of those because someone else signed them.
    pub dropped: usize,
    /// This laptop now writes under a fresh actor.
    pub rotated: bool,
    /// Documents the server took away that still had unsent changes (kept
    /// until they are sent).
    pub kept_unsent: usize,
    /// Pushed documents the server holds but its backup does not yet
    /// (zero-loss mode); they stay marked unsent.
    pub unconfirmed: usize,
}

impl Store {
    /// When the last sync that completed did (ms), if any has.
    pub fn last_sync_at(&self) -> Result<Option<i64>> {
        Ok(db::meta_get(&self.conn, "sync.at")?.and_then(|v| v.parse().ok()))
    }

    /// Customers set aside by sync, oldest first.
    pub fn aside(&self) -> Result<Vec<crate::aside::Aside>> {
        let mut out = Vec::new();
        for row in db::aside_list(&self.conn)? {
            let kind = AsideKind::from_code(&row.kind);
            let name = db::name_of(&self.conn, &row.id)?;
            out.push(crate::aside::Aside {
                id: row.id,
                name,
                kind: kind.code(),
                next_step: kind.label(),
                message: row.message,
                at: row.at,
            });
        }
        Ok(out)
    }

    /// Asks the next sync to take the server's copy of a customer set aside
    /// and record this user's own changes again on top of it (changes
    /// signed by anyone else are left out and counted).
    pub fn retry_aside(&mut self, id: &str) -> Result<()> {
        if !db::aside_list(&self.conn)?.iter().any(|r| r.id == id) {
            return Err(ClientError::NotAside(id.to_string()));
        }
        db::aside_put(
            &self.conn,
            &db::AsideRow {
                id: id.to_string(),
                kind: AsideKind::Rebase.code().into(),
                message: "已要求重新同步".into(),
                at: now_millis(),
            },
        )?;
        Ok(())
    }

    /// Customers whose whole document the next sync asks for.
    pub fn recheck(&self) -> Result<Vec<DocHeads>> {
        Ok(db::aside_list(&self.conn)?
            .into_iter()
            .filter(|r| AsideKind::from_code(&r.kind).refetches())
            .map(|r| DocHeads {
                id: r.id,
                heads: Vec::new(),
            })
            .collect())
    }

    /// This laptop's actor and where its history stands, for the server to
    /// compare (see [`Lineage`]). The mark it proposes is kept until the
    /// server confirms it, so a repeated request proposes the same.
    pub fn lineage(&self) -> Result<Lineage> {
        let next = match db::meta_get(&self.conn, "actor.next")? {
            Some(n) => n,
            None => {
                let n = uuid::Uuid::new_v4().simple().to_string();
                db::meta_set(&self.conn, "actor.next", &n)?;
                n
            }
        };
        Ok(Lineage {
            actor: self.profile.actor.to_hex_string(),
            mark: db::meta_get(&self.conn, "actor.mark")?,
            next,
        })
    }

    /// Local changes the server lacks, as pushes, up to about `budget`
    /// bytes (at least one document). Returns the pushes and whether more remain.
    pub fn pending_pushes(&self, budget: usize) -> Result<(Vec<DocPush>, bool)> {
        let pending: Vec<db::Pending> = db::pending(&self.conn)?
            .into_iter()
            .filter(|p| !p.held)
            .collect();
        let mut out = Vec::new();
        let mut used = 0;
        // A few documents at a time, their changes computed on every core.
        for chunk in pending.chunks(PUSH_CHUNK) {
            // No need to read the card: a never-synced document goes whole,
            // as stored; otherwise only the changes after what the server
            // has. Those are usually the chunks written since the last sync,
            // sent as stored; only when the chunks were folded into the
            // snapshot since must the document be loaded to find them.
            let mut read = Vec::with_capacity(chunk.len());
            for p in chunk {
                let ready = match &p.synced {
                    Some(_) if p.hand_over => None,
                    Some(blob) => db::chunks_after(&self.conn, &p.id, blob)?,
                    None => None,
                };
                read.push(match ready {
                    Some(changes) => PushSource::Chunks(changes),
                    None => PushSource::Stored(
                        db::doc_load(&self.conn, &p.id)?
                            .ok_or_else(|| ClientError::NotFound(p.id.clone()))?,
                    ),
                });
            }
            let data: Vec<crm_shared::Result<Vec<u8>>> = chunk
                .par_iter()
                .zip(read)
                .map(|(p, read)| match (read, &p.synced) {
                    (PushSource::Chunks(changes), _) => Ok(changes),
                    (PushSource::Stored(stored), _) if p.hand_over => Ok(stored.bytes),
                    (PushSource::Stored(stored), Some(blob)) => {
                        crm_shared::document::changes_after(&stored.bytes, &heads_of(blob))
                    }
                    (PushSource::Stored(stored), None) => Ok(stored.bytes),
                })
                .collect();
            for (p, data) in chunk.iter().zip(data) {
                // A document this laptop cannot read must not hold up the others.
                let data = match data {
                    Ok(d) => d,
                    Err(e) => {
                        set_aside(
                            &self.conn,
                            &p.id,
                            AsideKind::Held,
                            &format!("本机保存的数据无法读取:{e}"),
                        )?;
                        continue;
                    }
                };
                // This one, at least, is left for the next request.
                if used + data.len() > budget && !out.is_empty() {
                    return Ok((out, true));
                }
                used += data.len();
                out.push(DocPush {
                    id: p.id.clone(),
                    heads: heads_to_hex(&heads_of(&p.heads)),
                    data: Blob(data),
                    hand_over: p.hand_over,
                });
            }
        }
        Ok((out, false))
    }

    /// Customers with changes the server has not acknowledged.
    pub fn pending_summaries(&self) -> Result<Vec<CustomerSummary>> {
        let mut out = Vec::new();
        for p in db::pending(&self.conn)? {
            out.push(CustomerSummary::of(self.load(&p.id)?.0.card()));
        }
        Ok(out)
    }

    /// Ids of the customers with changes the server has not acknowledged,
    /// without reading their documents.
    pub fn pending_ids(&self) -> Result<Vec<String>> {
        Ok(db::pending(&self.conn)?.into_iter().map(|p| p.id).collect())
    }

    /// Number of documents with changes the server has not acknowledged.
    pub fn pending_count(&self) -> Result<usize> {
        Ok(db::pending(&self.conn)?.len())
    }

    /// Every document with its heads (the `have` list of a first sync).
    pub fn have(&self) -> Result<Vec<DocHeads>> {
        Ok(db::all_heads(&self.conn)?
            .into_iter()
            .map(|(id, h)| DocHeads {
                id,
                heads: heads_to_hex(&heads_of(&h)),
            })
            .collect())
    }

    /// Stores one sync response durably, in one transaction: merges what
    /// arrived, records what the server now holds, drops what this user may
    /// no longer see (unless it still has unsent changes), and moves the
    /// cursor (unless `keep_cursor`, during a first sync cut in parts).
    /// `req` is the request that got this response.
    ///
    /// One customer that cannot be stored never holds up the others: it is
    /// set aside (see [`crate::aside`]) and the rest is stored. A customer
    /// whose local changes clash with the server's (this store went back in
    /// time) is rebuilt from the server's whole document with this user's
    /// changes recorded again under a fresh actor.
    pub fn apply_sync(
        &mut self,
        resp: &SyncResponse,
        req: &SyncRequest,
        keep_cursor: bool,
    ) -> Result<SyncApplied> {
        let now = now_millis();
        let mut applied = SyncApplied::default();
        let tx = self.conn.transaction()?;
        let pushed = &req.push;
        let rechecked: HashSet<&str> = req.recheck.iter().map(|r| r.id.as_str()).collect();
        let mut aside: HashMap<String, AsideKind> = db::aside_list(&tx)?
            .into_iter()
            .map(|r| (r.id, AsideKind::from_code(&r.kind)))
            .collect();
        // A fresh actor for this store, made at most once per response.
        let mut fresh: Option<ActorId> = None;
        // A server that lost its place (restored from a backup) may have
        // lost changes of ours too; a customer we then receive again from
        // it lacks them, and our actor would number its next change as one
        // of those: a clash, for good, wherever the lost one survives.
        if resp.rotate_actor || resp.resync {
            fresh = Some(ActorId::random());
        } else if let (Some(l), false) = (&req.lineage, pushed.is_empty()) {
            db::meta_set(&tx, "actor.mark", &l.next)?;
            db::meta_delete(&tx, "actor.next")?;
        }
        // Stored by the server but not yet backed up (zero-loss mode): they
        // stay unsent here, whatever else this answer says about them.
        let mut unconfirmed = Vec::new();
        for id in &resp.unconfirmed {
            if let Some(synced) = db::synced(&tx, id)? {
                unconfirmed.push((id, synced));
            }
        }
        applied.unconfirmed = unconfirmed.len();
        for a in &resp.acked {
            // The server merged what we sent, so it holds everything up to
            // the heads we pushed: record those. Not its own heads: it may
            // also hold changes this laptop never receives (a customer
            // reassigned while we were offline), and the document would then
            // look unsent forever and never leave this laptop.
            let sent = pushed
                .iter()
                .find(|p| p.id == a.id)
                .map_or(&a.heads, |p| &p.heads);
            let heads = heads_from_hex(sent).ok_or_else(|| bad_server(&a.id))?;
            db::set_synced(&tx, &a.id, Some(&heads_bytes(&heads)))?;
        }
        for r in &resp.refused {
            // A clash is cured by the server's whole document; one that
            // clashes again right after that needs a person.
            let kind = match r.kind {
                RefusalKind::Clash if !rechecked.contains(r.id.as_str()) => AsideKind::Rebase,
                _ => AsideKind::Held,
            };
            set_aside(&tx, &r.id, kind, &r.message)?;
            aside.insert(r.id.clone(), kind);
            applied.set_aside.push((r.id.clone(), r.message.clone()));
        }
        // What arrived but cannot be stored: asked for again whole, once.
        let failed = |tx: &rusqlite::Transaction,
                      applied: &mut SyncApplied,
                      id: &str,
                      why: String|
         -> Result<()> {
            let kind = if rechecked.contains(id) {
                AsideKind::Held
            } else {
                AsideKind::Refetch
            };
            let message = format!("服务器发来的数据无法保存:{why}");
            set_aside(tx, id, kind, &message)?;
            applied.set_aside.push((id.to_string(), message));
            Ok(())
        };
        // Customers new to this laptop arrive whole, and so does a known one
        // when the whole saved document is smaller than the changes this
        // laptop lacks (a customer many replicas edited at once): check and
        // project them on all cores, and keep the received bytes as their
        // snapshot. A whole document that lacks something of ours (changed
        // here while the answer was on its way) is merged instead, and one
        // set aside for a clash is rebuilt from it.
        let mut whole = Vec::new();
        let mut known = Vec::new();
        let mut rebuild = Vec::new();
        for u in &resp.docs {
            match db::doc_heads(&tx, &u.id)? {
                Some(_) if u.row.is_some() && aside.get(&u.id) == Some(&AsideKind::Rebase) => {
                    rebuild.push(u)
                }
                None => whole.push((u, Vec::new())),
                Some(ours) if u.row.is_some() => whole.push((u, heads_of(&ours))),
                Some(_) => known.push(u),
            }
        }
        let actor = self.profile.actor.clone();
        let prepared: Vec<Result<Option<Received>>> = whole
            .par_iter()
            .map(|(u, ours)| {
                let heads = heads_from_hex(&u.heads).ok_or_else(|| bad_server(&u.id))?;
                // Every document is checked to load with the announced heads;
                // the card is read only if the server sent no row for it.
                let (write, conflicted) = match &u.row {
                    Some(row) if row.summary.id == u.id => {
                        let covers = crm_shared::document::verify_covering(&u.data.0, &heads, ours)
                            .map_err(|_| bad_server(&u.id))?;
                        if !covers {
                            return Ok(None);
                        }
                        (
                            PendingWrite {
                                id: u.id.clone(),
                                write: crm_shared::storage::Write::Snapshot(u.data.0.clone()),
                                heads: heads_bytes(&heads),
                                summary: row.summary.clone(),
                                // A server may have written the row before
                                // search texts carried pinyin.
                                search: crm_shared::summary::with_pinyin(
                                    &row.search,
                                    &row.summary.name,
                                ),
                                derived: None,
                            },
                            row.conflicted,
                        )
                    }
                    _ if !ours.is_empty() => return Ok(None),
                    _ => {
                        let doc = CustomerDoc::load(&u.data.0, actor.clone())?;
                        if doc.card().id != u.id || !doc.has_heads(&heads) {
                            return Err(bad_server(&u.id));
                        }
                        (
                            PendingWrite::received(&doc, u.data.0.clone()),
                            !doc.conflicts().is_empty(),
                        )
                    }
                };
                Ok(Some((write, heads, conflicted)))
            })
            .collect();
        for ((u, _), p) in whole.into_iter().zip(prepared) {
            let (write, heads, conflicted) = match p {
                Ok(Some(p)) => p,
                Ok(None) => {
                    known.push(u);
                    continue;
                }
                Err(e) => {
                    failed(&tx, &mut applied, &u.id, e.to_string())?;
                    continue;
                }
            };
            write.commit(&tx, now)?;
            db::set_synced(&tx, &u.id, Some(&heads_bytes(&heads)))?;
            settled(&tx, &mut aside, &u.id)?;
            applied.received += 1;
            applied.received_ids.push(u.id.clone());
            if conflicted {
                applied.conflicted.push(u.id.clone());
            }
        }
        for u in known {
            let Some(heads) = heads_from_hex(&u.heads) else {
                failed(&tx, &mut applied, &u.id, "heads 格式无效".into())?;
                continue;
            };
            tx.execute_batch("SAVEPOINT doc")?;
            match Self::merge_in(&tx, &self.profile.actor, &u.id, &u.data.0, now) {
                Ok((doc, _)) => {
                    tx.execute_batch("RELEASE doc")?;
                    db::set_synced(&tx, &u.id, Some(&heads_bytes(&heads)))?;
                    settled(&tx, &mut aside, &u.id)?;
                    applied.received += 1;
                    applied.received_ids.push(u.id.clone());
                    if !doc.conflicts().is_empty() {
                        applied.conflicted.push(u.id.clone());
                    }
                }
                Err(ClientError::Domain(e @ crm_shared::Error::Clash { .. })) => {
                    tx.execute_batch("ROLLBACK TO doc; RELEASE doc")?;
                    if u.row.is_some() {
                        rebuild.push(u);
                    } else {
                        let message = format!("与服务器的数据冲突,将取服务器的版本重新记录:{e}");
                        set_aside(&tx, &u.id, AsideKind::Rebase, &message)?;
                        aside.insert(u.id.clone(), AsideKind::Rebase);
                        applied.set_aside.push((u.id.clone(), message));
                    }
                }
                Err(e) => {
                    tx.execute_batch("ROLLBACK TO doc; RELEASE doc")?;
                    failed(&tx, &mut applied, &u.id, e.to_string())?;
                }
            }
        }
        for u in rebuild {
            let fresh = fresh.get_or_insert_with(ActorId::random).clone();
            match Self::rebuild(&tx, &self.profile, u, fresh, now) {
                Ok(dropped) => {
                    settled(&tx, &mut aside, &u.id)?;
                    applied.received += 1;
                    applied.received_ids.push(u.id.clone());
                    applied.rebased.push(u.id.clone());
                    applied.dropped += dropped;
                }
                Err(e) => {
                    let message = format!("无法在服务器的版本上重新记录本机的修改:{e}");
                    set_aside(&tx, &u.id, AsideKind::Held, &message)?;
                    applied.set_aside.push((u.id.clone(), message));
                }
            }
        }
        for n in &resp.need {
            let heads = heads_from_hex(&n.heads).ok_or_else(|| bad_server(&n.id))?;
            let blob = (!heads.is_empty()).then(|| heads_bytes(&heads));
            db::set_synced(&tx, &n.id, blob.as_deref())?;
        }
        for (id, synced) in unconfirmed {
            db::set_synced(&tx, id, synced.as_deref())?;
        }
        let pending: HashSet<String> = db::pending(&tx)?.into_iter().map(|p| p.id).collect();
        for id in &resp.removed {
            let asked = rechecked.contains(id.as_str());
            if pending.contains(id) && asked && aside.get(id) == Some(&AsideKind::Rebase) {
                // Set aside for a clash, and asked for whole, but the server
                // no longer shows us its copy (reassigned meanwhile): our
                // changes since its last acknowledgement go again, under a
                // fresh actor, on top of what it acknowledged, which it
                // holds.
                let fresh = fresh.get_or_insert_with(ActorId::random).clone();
                // Holding nothing it acknowledged, the laptop has nothing to
                // rebuild on, and may not be sent what the server holds now:
                // the server records our changes again on its copy.
                let held = match Self::rebuild_on_acked(&tx, &self.profile, id, fresh, now) {
                    Ok(true) => None,
                    Ok(false) => Some((
                        AsideKind::HandOver,
                        "该客户已改派他人,本机的修改与服务器的版本无法衔接,将交服务器并入"
                            .to_string(),
                    )),
                    Err(e) => Some((AsideKind::Held, format!("无法重新记录本机的修改:{e}"))),
                };
                match held {
                    None => {
                        db::aside_clear(&tx, id)?;
                        aside.remove(id);
                        applied.rebased.push(id.clone());
                    }
                    Some((kind, message)) => {
                        set_aside(&tx, id, kind, &message)?;
                        aside.insert(id.clone(), kind);
                        if kind == AsideKind::HandOver {
                            applied.handing_over.push(id.clone());
                        } else {
                            applied.set_aside.push((id.clone(), message));
                        }
                    }
                }
                applied.kept_unsent += 1;
            } else if pending.contains(id) {
                applied.kept_unsent += 1;
            } else if let Some(name) = db::name_of(&tx, id)? {
                db::delete_doc(&tx, id)?;
                applied.removed += 1;
                applied.removed_names.push(name);
            }
        }
        if let Some(actor) = &fresh {
            db::meta_set(&tx, "actor", &actor.to_hex_string())?;
            db::meta_delete(&tx, "actor.mark")?;
            db::meta_delete(&tx, "actor.next")?;
            applied.rotated = true;
        }
        if !keep_cursor {
            db::meta_set(&tx, "sync.epoch", &resp.epoch)?;
            db::meta_set(&tx, "sync.cursor", &resp.cursor.to_string())?;
            db::meta_set(&tx, "sync.at", &now.to_string())?;
        }
        if let Some(s) = &resp.settings {
            let json = serde_json::to_string(s).expect("settings serialise");
            db::meta_set(&tx, "settings", &json)?;
        }
        tx.commit()?;
        if let Some(actor) = fresh {
            self.profile.actor = actor;
        }
        if applied.removed > 0 {
            // The removed customers' bytes must not linger in free pages.
            db::scrub(&self.conn)?;
        }
        Ok(applied)
    }

    /// Rebuilds customer `u.id` from the server's whole document `u`, with
    /// this user's own local changes the server lacks recorded again under
    /// `actor`; returns how many changes signed by others were left out.
    fn rebuild(
        tx: &rusqlite::Transaction,
        profile: &Profile,
        u: &crm_shared::sync::DocUpdate,
        actor: ActorId,
        now: i64,
    ) -> Result<usize> {
        let heads = heads_from_hex(&u.heads).ok_or_else(|| bad_server(&u.id))?;
        crm_shared::document::verify(&u.data.0, &heads).map_err(|_| bad_server(&u.id))?;
        let stored = db::doc_load(tx, &u.id)?.ok_or_else(|| ClientError::NotFound(u.id.clone()))?;
        let ours = CustomerDoc::load(&stored.bytes, profile.actor.clone())?;
        let user = &profile.user;
        let r = crm_shared::rebase::rebase(&ours, &u.data.0, actor, |note| {
            note.is_some_and(|n| &n.by == user)
        })?;
        if r.doc.card().id != u.id {
            return Err(bad_server(&u.id));
        }
        PendingWrite::prepare(&r.doc, r.doc.card(), None).commit(tx, now)?;
        db::set_synced(tx, &u.id, Some(&heads_bytes(&heads)))?;
        Ok(r.dropped.len())
    }

    /// Rebuilds customer `id` from its own state at what the server last
    /// acknowledged, with every change since recorded again under `actor`;
    /// `false` (nothing done) when this laptop holds none of what the server
    /// acknowledged.
    fn rebuild_on_acked(
        tx: &rusqlite::Transaction,
        profile: &Profile,
        id: &str,
        actor: ActorId,
        now: i64,
    ) -> Result<bool> {
        // A store put back to a copy from before the customer's first sync
        // holds no acknowledgement at all: nothing to rebuild on either.
        let Some(acked) = db::synced(tx, id)?.flatten() else {
            return Ok(false);
        };
        let stored = db::doc_load(tx, id)?.ok_or_else(|| ClientError::NotFound(id.to_string()))?;
        let ours = CustomerDoc::load(&stored.bytes, profile.actor.clone())?;
        // The server may hold changes we never received (it asked with
        // `need` from its own heads): what we share of them is the base.
        let base: Vec<ChangeHash> = heads_of(&acked)
            .into_iter()
            .filter(|h| ours.automerge().get_change_meta_by_hash(h).is_some())
            .collect();
        if base.is_empty() {
            return Ok(false);
        }
        let base = ours
            .automerge()
            .fork_at(&base)
            .map_err(|e| crm_shared::Error::Corrupt(e.to_string()))?
            .save();
        // Everything after that base goes again, head office's changes
        // too: they came from a server since lost, which is why this
        // server lacks them, and it takes them back by their seal.
        let r = crm_shared::rebase::rebase(&ours, &base, actor, |_| true)?;
        PendingWrite::prepare(&r.doc, r.doc.card(), None).commit(tx, now)?;
        Ok(true)
    }

    /// The server epoch and cursor of the last completed sync, if any.
    pub fn sync_position(&self) -> Result<Option<(String, u64)>> {
        let epoch = db::meta_get(&self.conn, "sync.epoch")?;
        let cursor = db::meta_get(&self.conn, "sync.cursor")?.and_then(|c| c.parse().ok());
        Ok(epoch.zip(cursor))
    }

    /// Forgets the sync position, so the next sync lists every document.
    pub fn forget_sync_position(&mut self) -> Result<()> {
        db::meta_delete(&self.conn, "sync.epoch")?;
        db::meta_delete(&self.conn, "sync.cursor")?;
        Ok(())
    }

    /// Deletes every customer from this laptop (device revoked), leaving no
    /// trace of them in the store's file or its journal.
    pub fn wipe_customers(&mut self) -> Result<usize> {
        let n = db::doc_ids(&self.conn)?.len();
        let tx = self.conn.transaction()?;
        db::delete_all_docs(&tx)?;
        tx.commit()?;
        self.forget_sync_position()?;
        db::scrub(&self.conn)?;
        Ok(n)
    }
}

/// A whole document checked and ready to store: the write, its heads, and
/// whether it has open conflicts. `None` from the check: merge it instead.
type Received = (PendingWrite, Vec<ChangeHash>, bool);

/// Sets customer `id` aside with `kind` and why.
fn set_aside(conn: &Connection, id: &str, kind: AsideKind, message: &str) -> Result<()> {
    db::aside_put(
        conn,
        &db::AsideRow {
            id: id.to_string(),
            kind: kind.code().into(),
            message: message.to_string(),
            at: now_millis(),
        },
    )?;
    Ok(())
}

/// A customer that was waiting to be received again has been: it is no
/// longer set aside (one held for its own changes stays held).
fn settled(conn: &Connection, aside: &mut HashMap<String, AsideKind>, id: &str) -> Result<()> {
    if matches!(aside.get(id), Some(AsideKind::Refetch | AsideKind::Rebase)) {
        db::aside_clear(conn, id)?;
        aside.remove(id);
    }
    Ok(())
}

/// Where a push's bytes come from.
enum PushSource {
    /// The changes after what the server holds, read from the chunks.
    Chunks(Vec<u8>),
    /// The stored document, to load (or to send whole, if never synced).
    Stored(db::StoredDoc),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_shared::note::{Action, ChangeNote};
    use crm_shared::summary::search_text;
    use crm_shared::Customer;

    /// A backlog is pushed in order and cut at the byte budget, across the
    /// chunks it is prepared in; what is cut off is reported as remaining.
    #[test]
    fn pending_pushes_keep_order_and_cut_at_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        crate::key::create(dir.path(), "单元测试的本机数据密码").unwrap();
        let mut store = Store::init(dir.path(), "zhang", "张三").unwrap();
        for i in 0..40 {
            let card = Customer {
                id: format!("c{i:02}"),
                name: format!("上海{i}号有限公司"),
                salesperson: "zhang".into(),
                ..Default::default()
            };
            store.create(&card, false).unwrap();
        }
        let (all, more) = store.pending_pushes(usize::MAX).unwrap();
        assert!(!more);
        let ids: Vec<String> = db::pending(&store.conn)
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(all.iter().map(|p| p.id.clone()).collect::<Vec<_>>(), ids);
        assert_eq!(ids.len(), 40);

        // A budget that ends inside the second chunk of 16.
        let budget: usize = all[..20].iter().map(|p| p.data.0.len()).sum();
        let (cut, more) = store.pending_pushes(budget).unwrap();
        assert!(more);
        assert_eq!(cut, all[..20].to_vec());
        // A budget smaller than one document still sends that one.
        let (one, more) = store.pending_pushes(1).unwrap();
        assert!(more);
        assert_eq!(one, all[..1].to_vec());
    }

    /// Logs visit `v{k}` to customer `id` (notes of varying length).
    fn add_visit(store: &mut Store, id: &str, k: usize) {
        let note = store.note(Action::Activity, None);
        store
            .change(id, &note, |c| {
                c.activities.insert(
                    format!("v{k}"),
                    crm_shared::customer::Activity {
                        at: k as i64,
                        notes: "拜访".repeat(k % 7 + 1),
                        ..Default::default()
                    },
                );
                Ok(())
            })
            .unwrap();
    }

    /// After a sync, a push is the chunks written since, read without
    /// loading the document; once they are folded into the snapshot it is
    /// computed from the document. Either brings the server's copy to
    /// exactly the laptop's heads.
    #[test]
    fn a_push_after_a_sync_is_the_chunks_written_since() {
        let dir = tempfile::tempdir().unwrap();
        crate::key::create(dir.path(), "单元测试的本机数据密码").unwrap();
        let mut store = Store::init(dir.path(), "zhang", "张三").unwrap();
        // A customer with some history, so that a visit is appended rather
        // than outweighing the snapshot.
        let mut card = Customer {
            id: "c1".into(),
            name: "上海甲有限公司".into(),
            salesperson: "zhang".into(),
            ..Default::default()
        };
        for k in 0..30 {
            card.activities.insert(
                format!("old{k}"),
                crm_shared::customer::Activity {
                    at: k,
                    notes: "以往拜访,客户反馈良好".into(),
                    ..Default::default()
                },
            );
        }
        store.create(&card, false).unwrap();
        add_visit(&mut store, "c1", 0);
        // The server acknowledged everything so far.
        let server_copy = db::doc_load(&store.conn, "c1").unwrap().unwrap().bytes;
        let synced = db::doc_heads(&store.conn, "c1").unwrap().unwrap();
        let tx = store.conn.transaction().unwrap();
        db::set_synced(&tx, "c1", Some(&synced)).unwrap();
        tx.commit().unwrap();
        let server_gets = |store: &Store| {
            let (push, more) = store.pending_pushes(usize::MAX).unwrap();
            assert!(!more);
            assert_eq!(push.len(), 1);
            let mut server = CustomerDoc::load(&server_copy, ActorId::random()).unwrap();
            assert!(server.merge_bytes(&push[0].data.0).unwrap());
            assert_eq!(
                heads_bytes(&server.heads()),
                db::doc_heads(&store.conn, "c1").unwrap().unwrap()
            );
            assert_eq!(server.card(), &store.get("c1").unwrap());
            push[0].data.0.clone()
        };

        for k in 1..4 {
            add_visit(&mut store, "c1", k);
        }
        let from_chunks = db::chunks_after(&store.conn, "c1", &synced).unwrap();
        assert!(from_chunks.is_some(), "the visits were appended as chunks");
        assert_eq!(Some(server_gets(&store)), from_chunks);

        // Enough visits that the chunks are folded into the snapshot.
        for k in 4..4 + crm_shared::storage::MAX_CHUNKS as usize {
            add_visit(&mut store, "c1", k);
        }
        assert_eq!(db::chunks_after(&store.conn, "c1", &synced).unwrap(), None);
        server_gets(&store);
    }

    /// Many small changes to one customer: chunks are folded into a fresh
    /// snapshot as they pile up, and nothing is lost across a reopen.
    #[test]
    fn chunks_are_compacted_and_nothing_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        crate::key::create(dir.path(), "单元测试的本机数据密码").unwrap();
        let mut store = Store::init(dir.path(), "zhang", "张三").unwrap();
        let card = Customer {
            id: "c1".into(),
            name: "上海甲有限公司".into(),
            salesperson: "zhang".into(),
            ..Default::default()
        };
        store.create(&card, false).unwrap();
        let mut max_chunks = 0;
        for k in 0..80 {
            add_visit(&mut store, "c1", k);
            let stored = db::doc_load(&store.conn, "c1").unwrap().unwrap();
            max_chunks = max_chunks.max(stored.chunk_count);
            assert!(stored.chunk_count <= crm_shared::storage::MAX_CHUNKS);
        }
        assert!(max_chunks > 1, "changes were appended as chunks");
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.get("c1").unwrap().activities.len(), 80);
        assert_eq!(store.history("c1").unwrap().len(), 81);
    }

    /// A whole document sent for a customer this laptop already holds
    /// replaces its copy when it contains everything here, and is merged
    /// when it lacks something recorded here meanwhile: nothing is lost.
    #[test]
    fn a_whole_document_for_a_known_customer_loses_nothing_of_ours() {
        let visit = |store: &mut Store, key: &str| {
            let note = store.note(Action::Activity, None);
            store
                .change("c1", &note, |c| {
                    c.activities.insert(
                        key.into(),
                        crm_shared::customer::Activity {
                            at: 1,
                            notes: format!("拜访{key}"),
                            ..Default::default()
                        },
                    );
                    Ok(())
                })
                .unwrap();
        };
        let dir = tempfile::tempdir().unwrap();
        crate::key::create(dir.path(), "单元测试的本机数据密码").unwrap();
        let mut store = Store::init(dir.path(), "zhang", "张三").unwrap();
        let card = Customer {
            id: "c1".into(),
            name: "宁波甲有限公司".into(),
            salesperson: "zhang".into(),
            ..Default::default()
        };
        store.create(&card, false).unwrap();
        // "Another replica": this laptop's document plus two more visits.
        let mut other = CustomerDoc::load(
            &store.document_bytes("c1").unwrap(),
            crm_shared::ActorId::random(),
        )
        .unwrap();
        for key in ["a", "b"] {
            let mut c = other.customer().unwrap();
            c.activities.insert(key.into(), Default::default());
            other
                .update(&c, &ChangeNote::new("zhang", Action::Activity), 0)
                .unwrap();
        }
        let whole = |doc: &CustomerDoc| {
            let card = doc.customer().unwrap();
            crm_shared::sync::DocUpdate {
                id: "c1".into(),
                heads: heads_to_hex(&doc.heads()),
                data: Blob(doc.save()),
                row: Some(crm_shared::sync::Row {
                    summary: CustomerSummary::of(&card),
                    search: search_text(&card),
                    conflicted: false,
                }),
            }
        };
        let resp = |u| SyncResponse {
            epoch: "e".into(),
            docs: vec![u],
            ..Default::default()
        };

        // It holds everything here: it replaces our copy as it is.
        store
            .apply_sync(&resp(whole(&other)), &SyncRequest::default(), false)
            .unwrap();
        assert_eq!(store.get("c1").unwrap().activities.len(), 2);
        assert_eq!(store.document_bytes("c1").unwrap(), other.save());

        // A visit recorded here meanwhile is not in the next one: merged.
        visit(&mut store, "ours");
        let mut c = other.customer().unwrap();
        c.activities.insert("c".into(), Default::default());
        other
            .update(&c, &ChangeNote::new("zhang", Action::Activity), 0)
            .unwrap();
        store
            .apply_sync(&resp(whole(&other)), &SyncRequest::default(), false)
            .unwrap();
        let keys: Vec<String> = store.get("c1").unwrap().activities.into_keys().collect();
        assert_eq!(keys, ["a", "b", "c", "ours"]);
        assert_eq!(
            store.pending_count().unwrap(),
            1,
            "our visit is still to be sent"
        );
    }
}
