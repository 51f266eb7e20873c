//! The laptop's local store: customer documents in one SQLite file, and the
//! query projection kept beside them in the same transactions.
//!
//! Every write is one SQLite transaction that stores the document change and
//! its projected row together, committed with `synchronous = FULL` before the
//! caller reports success: what a command said was saved survives kill -9
//! and power loss.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use automerge::{ActorId, ChangeHash};
use rayon::prelude::*;
use rusqlite::Connection;

use crm_shared::diff::FieldChange;
use crm_shared::document::{heads_from_blob as heads_of, heads_to_blob as heads_bytes};
use crm_shared::document::{Conflict, HistoryEntry};
use crm_shared::note::{Action, ChangeNote};
use crm_shared::summary::{search_text, CustomerSummary};
use crm_shared::sync::{
    heads_from_hex, heads_to_hex, Blob, DocHeads, DocPush, Lineage, RefusalKind, SyncRequest,
    SyncResponse,
};
use crm_shared::{Customer, CustomerDoc};

use crate::aside::Kind as AsideKind;
use crate::db;
use crate::error::{Result, StoreError};

/// Pending documents read and prepared at once for a push: enough to keep
/// every core busy, few enough that memory stays flat.
const PUSH_CHUNK: usize = 16;

/// File name of the store inside the data directory.
pub const STORE_FILE: &str = "crm.sqlite3";

/// Who works on this laptop.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Login, recorded as the author of every change.
    pub user: String,
    /// Name shown to people.
    pub display_name: String,
    /// Automerge actor of this laptop's changes.
    pub actor: ActorId,
}

/// The open local store.
pub struct Store {
    conn: Connection,
    profile: Profile,
}

/// Milliseconds since the epoch, now.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn bad_server(id: &str) -> StoreError {
    crm_shared::Error::Corrupt(format!("服务器发来的客户 {id} 数据无效")).into()
}

/// What storing one sync response did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncApplied {
    /// Documents that arrived or changed.
    pub received: usize,
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
    /// Path of the store file in `dir`.
    pub fn file(dir: &Path) -> PathBuf {
        dir.join(STORE_FILE)
    }

    /// Creates the profile for `user` (or reopens it if it is already theirs).
    pub fn init(dir: &Path, user: &str, display_name: &str) -> Result<Store> {
        crm_shared::validate::check_id("user", user)?;
        Self::check_dir(dir)?;
        std::fs::create_dir_all(dir)?;
        let conn = db::open(&Self::file(dir))?;
        if let Some(existing) = db::meta_get(&conn, "user")? {
            if existing != user {
                return Err(StoreError::AlreadyInitialised(existing));
            }
        } else {
            let tx = conn.unchecked_transaction()?;
            db::meta_set(&tx, "user", user)?;
            db::meta_set(&tx, "actor", &ActorId::random().to_hex_string())?;
            tx.commit()?;
        }
        db::meta_set(&conn, "display_name", display_name)?;
        Self::from_conn(conn)
    }

    /// Opens the store in `dir`; fails if `crm init` has not been run there.
    pub fn open(dir: &Path) -> Result<Store> {
        Self::check_dir(dir)?;
        let file = Self::file(dir);
        if !file.exists() {
            return Err(StoreError::NotInitialised);
        }
        Self::from_conn(db::open(&file)?)
    }

    /// Refuses a data directory that is a file (CRM_HOME set to the store
    /// file itself, or to some other file), saying what that file is.
    fn check_dir(dir: &Path) -> Result<()> {
        if dir.exists() && !dir.is_dir() {
            return Err(StoreError::NotADirectory {
                path: dir.to_path_buf(),
                what: db::identify(dir)?,
            });
        }
        Ok(())
    }

    fn from_conn(conn: Connection) -> Result<Store> {
        let user = db::meta_get(&conn, "user")?.ok_or(StoreError::NotInitialised)?;
        let actor = db::meta_get(&conn, "actor")?.ok_or(StoreError::NotInitialised)?;
        let actor = ActorId::try_from(actor.as_str())
            .map_err(|e| crm_shared::Error::Corrupt(format!("本机 actor 无效:{e}")))?;
        let display_name = db::meta_get(&conn, "display_name")?.unwrap_or_else(|| user.clone());
        Ok(Store {
            conn,
            profile: Profile {
                user,
                display_name,
                actor,
            },
        })
    }

    /// The SQLite connection, for modules keeping values in `meta`.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// This laptop's profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// A note authored by the local user.
    pub fn note(&self, action: Action, reason: Option<&str>) -> ChangeNote {
        ChangeNote::new(&self.profile.user, action).with_reason(reason)
    }

    fn load(&self, id: &str) -> Result<(CustomerDoc, db::StoredDoc)> {
        let stored =
            db::doc_load(&self.conn, id)?.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        let doc = CustomerDoc::load(&stored.bytes, self.profile.actor.clone())?;
        Ok((doc, stored))
    }

    /// Writes `doc` and its projection inside `tx`; `stored` is what storage
    /// holds now (with the heads it was loaded at), `None` for a new document.
    fn persist(
        tx: &rusqlite::Transaction,
        doc: &CustomerDoc,
        card: &Customer,
        stored: Option<(&db::StoredDoc, &[ChangeHash])>,
        now: i64,
    ) -> Result<()> {
        PendingWrite::prepare(doc, card, stored).commit(tx, now)
    }

    /// Existing customers that look like `c`: same name, same phone, or same tax number.
    pub fn possible_duplicates(&self, c: &Customer) -> Result<Vec<CustomerSummary>> {
        let mut found: Vec<CustomerSummary> = Vec::new();
        let mut probes = vec![c.name.clone()];
        probes.extend(
            c.contacts
                .values()
                .flat_map(|k| [k.mobile.clone(), k.phone.clone()]),
        );
        probes.push(c.billing.tax_no.clone());
        for p in probes.into_iter().filter(|p| p.chars().count() >= 2) {
            for s in db::search(&self.conn, &p)? {
                let same = s.name == c.name || {
                    let other = self.get(&s.id)?;
                    (!c.billing.tax_no.is_empty() && other.billing.tax_no == c.billing.tax_no)
                        || other.contacts.values().any(|k| {
                            c.contacts.values().any(|m| {
                                (!m.mobile.is_empty() && m.mobile == k.mobile)
                                    || (!m.phone.is_empty() && m.phone == k.phone)
                            })
                        })
                };
                if same && s.id != c.id && !found.iter().any(|f| f.id == s.id) {
                    found.push(s);
                }
            }
        }
        Ok(found)
    }

    /// Stores a new customer. Fails if the id exists or, unless
    /// `allow_duplicate`, if it looks like an existing customer.
    pub fn create(&mut self, c: &Customer, allow_duplicate: bool) -> Result<()> {
        if db::doc_exists(&self.conn, &c.id)? {
            return Err(StoreError::Exists(c.id.clone()));
        }
        if !allow_duplicate {
            let dups = self.possible_duplicates(c)?;
            if !dups.is_empty() {
                let list = dups
                    .iter()
                    .map(|d| format!("{} {}", d.id, d.name))
                    .collect::<Vec<_>>()
                    .join("、");
                return Err(StoreError::Duplicate(list));
            }
        }
        let now = now_millis();
        let doc = CustomerDoc::create(
            c,
            self.profile.actor.clone(),
            &self.note(Action::Create, None),
            now,
        )?;
        let tx = self.conn.transaction()?;
        Self::persist(&tx, &doc, c, None, now)?;
        tx.commit()?;
        Ok(())
    }

    /// The card of customer `id`.
    pub fn get(&self, id: &str) -> Result<Customer> {
        Ok(self.load(id)?.0.customer()?)
    }

    /// Applies `edit` to customer `id` and commits it as one change with
    /// `note`. Nothing is stored if `edit` or validation fails, or if a reason
    /// is needed and missing. Returns what changed (empty: nothing to do).
    pub fn change(
        &mut self,
        id: &str,
        note: &ChangeNote,
        edit: impl FnOnce(&mut Customer) -> Result<()>,
    ) -> Result<Vec<FieldChange>> {
        let (mut doc, stored) = self.load(id)?;
        let before = doc.heads();
        let mut card = doc.customer()?;
        edit(&mut card)?;
        let now = now_millis();
        let changes = doc.update(&card, note, now)?;
        if !changes.is_empty() {
            let tx = self.conn.transaction()?;
            Self::persist(&tx, &doc, &card, Some((&stored, &before)), now)?;
            tx.commit()?;
        }
        Ok(changes)
    }

    /// The id a user meant: an exact id, a unique id prefix, an exact
    /// name, or else the one customer whose name, contact, phone or tax
    /// number contains `key`. When several contain it they are named.
    pub fn resolve_key(&self, key: &str) -> Result<String> {
        if db::doc_exists(&self.conn, key)? {
            return Ok(key.to_string());
        }
        let listed = |many: &[(String, String)]| {
            many.iter()
                .take(5)
                .map(|(i, n)| format!("{n}({i})"))
                .collect::<Vec<_>>()
                .join("、")
        };
        let found = db::find_ids(&self.conn, key)?;
        match found.as_slice() {
            [(id, _)] => return Ok(id.clone()),
            [] => {}
            many => {
                return Err(StoreError::Ambiguous {
                    key: key.to_string(),
                    candidates: listed(many),
                })
            }
        }
        let found: Vec<(String, String)> = match key.trim() {
            k if k.chars().count() >= 2 => db::search(&self.conn, k)?
                .into_iter()
                .map(|s| (s.id, s.name))
                .collect(),
            _ => Vec::new(),
        };
        match found.as_slice() {
            [] => Err(StoreError::NotFound(key.to_string())),
            [(id, _)] => Ok(id.clone()),
            many => Err(StoreError::Ambiguous {
                key: key.to_string(),
                candidates: format!(
                    "{}{}",
                    listed(many),
                    if many.len() > 5 {
                        format!(" 等 {} 位", many.len())
                    } else {
                        String::new()
                    }
                ),
            }),
        }
    }

    /// Every customer, by name in pinyin order.
    pub fn list(&self) -> Result<Vec<CustomerSummary>> {
        let mut rows = db::list(&self.conn)?;
        rows.sort_by_cached_key(|s| (crm_shared::pinyin::sort_key(&s.name), s.id.clone()));
        Ok(rows)
    }

    /// For each customer id, the shortest start of it that names only that
    /// customer here (at least 6 characters): what lists show, and what
    /// `resolve_key` accepts. Ids made a few milliseconds apart share their
    /// first dozen characters, so a fixed cut would not do.
    pub fn short_ids(&self) -> Result<HashMap<String, String>> {
        let ids = db::doc_ids(&self.conn)?;
        let common =
            |a: &str, b: &str| a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
        let mut out = HashMap::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let before = i.checked_sub(1).map_or(0, |j| common(&ids[j], id));
            let after = ids.get(i + 1).map_or(0, |n| common(n, id));
            let keep = (before.max(after) + 1).max(6);
            out.insert(id.clone(), id.chars().take(keep).collect());
        }
        Ok(out)
    }

    /// When the last sync that completed did (ms), if any has.
    pub fn last_sync_at(&self) -> Result<Option<i64>> {
        Ok(db::meta_get(&self.conn, "sync.at")?.and_then(|v| v.parse().ok()))
    }

    /// Customers whose name, contacts, phones, tax number or id contain `q`.
    pub fn search(&self, q: &str) -> Result<Vec<CustomerSummary>> {
        Ok(db::search(&self.conn, q.trim())?)
    }

    /// Customers with a follow-up due on or before `day`.
    pub fn followups_due(&self, day: crm_shared::day::Day) -> Result<Vec<CustomerSummary>> {
        Ok(db::followups_due(&self.conn, &day.to_string())?)
    }

    /// Who changed what, when and why, oldest first.
    pub fn history(&self, id: &str) -> Result<Vec<HistoryEntry>> {
        Ok(self.load(id)?.0.history())
    }

    /// Open conflicts of one customer.
    pub fn conflicts(&self, id: &str) -> Result<Vec<Conflict>> {
        Ok(self.load(id)?.0.conflicts())
    }

    /// Open conflicts of every customer.
    pub fn all_conflicts(&self) -> Result<Vec<(String, Conflict)>> {
        let mut out = Vec::new();
        for id in db::doc_ids(&self.conn)? {
            for c in self.conflicts(&id)? {
                out.push((id.clone(), c));
            }
        }
        Ok(out)
    }

    /// Settles a conflicting field on `value`, with a reason.
    pub fn resolve_conflict(
        &mut self,
        id: &str,
        path: &str,
        value: &serde_json::Value,
        reason: &str,
    ) -> Result<()> {
        let (mut doc, stored) = self.load(id)?;
        let before = doc.heads();
        let now = now_millis();
        doc.resolve(path, value, &self.note(Action::Resolve, Some(reason)), now)?;
        let card = doc.customer()?;
        let tx = self.conn.transaction()?;
        Self::persist(&tx, &doc, &card, Some((&stored, &before)), now)?;
        tx.commit()?;
        Ok(())
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
            return Err(StoreError::NotAside(id.to_string()));
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

    /// The saved bytes of customer `id`'s document (for another replica).
    pub fn document_bytes(&self, id: &str) -> Result<Vec<u8>> {
        Ok(self.load(id)?.0.save())
    }

    /// Merges another replica's document bytes for `id`, creating the
    /// customer if this store lacks it. Returns whether anything changed.
    pub fn merge(&mut self, id: &str, bytes: &[u8]) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let (_, changed) = Self::merge_in(&tx, &self.profile.actor, id, bytes, now_millis())?;
        tx.commit()?;
        Ok(changed)
    }

    /// Merges `bytes` into customer `id` inside `tx`, creating it if absent,
    /// and stores it if anything changed. Returns the document and whether
    /// it changed.
    fn merge_in(
        tx: &rusqlite::Transaction,
        actor: &ActorId,
        id: &str,
        bytes: &[u8],
        now: i64,
    ) -> Result<(CustomerDoc, bool)> {
        let (doc, changed, stored) = match db::doc_load(tx, id)? {
            Some(stored) => {
                let mut doc = CustomerDoc::load(&stored.bytes, actor.clone())?;
                let before = doc.heads();
                let changed = doc.merge_bytes(bytes)?;
                (doc, changed, Some((stored, before)))
            }
            None => (CustomerDoc::load(bytes, actor.clone())?, true, None),
        };
        if doc.card().id != id {
            return Err(crm_shared::Error::invalid(
                "id",
                format!("文档属于客户 {},不是 {id}", doc.card().id),
            )
            .into());
        }
        if changed {
            Self::persist(
                tx,
                &doc,
                doc.card(),
                stored.as_ref().map(|(s, b)| (s, b.as_slice())),
                now,
            )?;
        }
        Ok((doc, changed))
    }

    /// Recomputes the query projection from the documents.
    pub fn rebuild_projection(&mut self) -> Result<usize> {
        let ids = db::doc_ids(&self.conn)?;
        let tx = self.conn.transaction()?;
        db::clear_projection(&tx)?;
        for id in &ids {
            let stored = db::doc_load(&tx, id)?.ok_or_else(|| StoreError::NotFound(id.clone()))?;
            let card = CustomerDoc::load(&stored.bytes, self.profile.actor.clone())?.customer()?;
            db::project(&tx, &CustomerSummary::of(&card), &search_text(&card))?;
        }
        tx.commit()?;
        Ok(ids.len())
    }

    /// Number of customers and bytes of stored documents.
    pub fn stats(&self) -> Result<(usize, i64)> {
        Ok((
            db::doc_ids(&self.conn)?.len(),
            db::stored_bytes(&self.conn)?,
        ))
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
                    Some(blob) => db::chunks_after(&self.conn, &p.id, blob)?,
                    None => None,
                };
                read.push(match ready {
                    Some(changes) => PushSource::Chunks(changes),
                    None => PushSource::Stored(
                        db::doc_load(&self.conn, &p.id)?
                            .ok_or_else(|| StoreError::NotFound(p.id.clone()))?,
                    ),
                });
            }
            let data: Vec<crm_shared::Result<Vec<u8>>> = chunk
                .par_iter()
                .zip(read)
                .map(|(p, read)| match (read, &p.synced) {
                    (PushSource::Chunks(changes), _) => Ok(changes),
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
        if resp.rotate_actor {
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
                                bytes: WriteBytes::Snapshot(u.data.0.clone()),
                                heads: heads_bytes(&heads),
                                summary: row.summary.clone(),
                                search: row.search.clone(),
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
                    if !doc.conflicts().is_empty() {
                        applied.conflicted.push(u.id.clone());
                    }
                }
                Err(StoreError::Domain(e @ crm_shared::Error::Clash { .. })) => {
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
            if pending.contains(id) {
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
        let stored = db::doc_load(tx, &u.id)?.ok_or_else(|| StoreError::NotFound(u.id.clone()))?;
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

    /// The company settings as last received from the server (with their
    /// version), or the handbook's defaults before the first sync.
    pub fn versioned_settings(&self) -> Result<Option<crm_shared::sync::VersionedSettings>> {
        Ok(db::meta_get(&self.conn, "settings")?.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// The company settings this laptop applies.
    pub fn settings(&self) -> Result<crm_shared::settings::Settings> {
        Ok(self
            .versioned_settings()?
            .map(|v| v.settings)
            .unwrap_or_default())
    }

    /// Every local card, for reports over a salesperson's own customers
    /// (a laptop holds a few hundred).
    pub fn cards(&self) -> Result<Vec<Customer>> {
        let mut out = Vec::new();
        for id in db::doc_ids(&self.conn)? {
            out.push(self.load(&id)?.0.card().clone());
        }
        Ok(out)
    }

    /// Every local card with who entered it (the daily report's new
    /// customers are the ones its salesperson entered, not imported ones).
    pub fn cards_entered(&self) -> Result<Vec<(Customer, Option<crm_shared::reports::Entered>)>> {
        let mut out = Vec::new();
        for id in db::doc_ids(&self.conn)? {
            let doc = self.load(&id)?.0;
            let entered = doc.entered();
            out.push((doc.card().clone(), entered));
        }
        Ok(out)
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

    /// The stored bytes of `id`, if any (for [`prepare_upsert`]).
    pub(crate) fn stored(&self, id: &str) -> Result<Option<db::StoredDoc>> {
        Ok(db::doc_load(&self.conn, id)?)
    }

    /// Commits prepared writes in one transaction.
    pub(crate) fn commit_all(&mut self, writes: &[PendingWrite]) -> Result<()> {
        let now = now_millis();
        let tx = self.conn.transaction()?;
        for w in writes {
            w.commit(&tx, now)?;
        }
        tx.commit()?;
        Ok(())
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

/// A document write computed without touching the database, so that many
/// can be prepared in parallel and committed together.
pub(crate) struct PendingWrite {
    id: String,
    bytes: WriteBytes,
    heads: Vec<u8>,
    summary: CustomerSummary,
    search: String,
}

enum WriteBytes {
    /// A whole compressed document replacing snapshot and chunks.
    Snapshot(Vec<u8>),
    /// Changes to append after the existing chunks: `chunk` holds exactly
    /// the changes after heads `after` (a blob).
    Append { chunk: Vec<u8>, after: Vec<u8> },
}

impl PendingWrite {
    fn prepare(
        doc: &CustomerDoc,
        card: &Customer,
        stored: Option<(&db::StoredDoc, &[ChangeHash])>,
    ) -> Self {
        let bytes = match stored {
            Some((s, before)) => {
                let chunk = doc.save_after(before);
                if crm_shared::document::should_compact(
                    s.chunk_count,
                    s.chunk_bytes,
                    s.snapshot_bytes,
                    chunk.len(),
                ) {
                    WriteBytes::Snapshot(doc.save())
                } else {
                    WriteBytes::Append {
                        chunk,
                        after: heads_bytes(before),
                    }
                }
            }
            None => WriteBytes::Snapshot(doc.save()),
        };
        PendingWrite {
            id: card.id.clone(),
            bytes,
            heads: heads_bytes(&doc.heads()),
            summary: CustomerSummary::of(card),
            search: search_text(card),
        }
    }

    /// A document received whole: `bytes` become its snapshot as they are.
    fn received(doc: &CustomerDoc, bytes: Vec<u8>) -> Self {
        let card = doc.card();
        PendingWrite {
            id: card.id.clone(),
            bytes: WriteBytes::Snapshot(bytes),
            heads: heads_bytes(&doc.heads()),
            summary: CustomerSummary::of(card),
            search: search_text(card),
        }
    }

    fn commit(&self, tx: &rusqlite::Transaction, now: i64) -> Result<()> {
        match &self.bytes {
            WriteBytes::Snapshot(b) => db::doc_put_snapshot(tx, &self.id, b, &self.heads, now)?,
            WriteBytes::Append { chunk, after } => {
                db::doc_append(tx, &self.id, chunk, after, &self.heads, now)?
            }
        }
        db::project(tx, &self.summary, &self.search)?;
        Ok(())
    }
}

/// What an upsert did to one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upsert {
    Created,
    Updated,
    Unchanged,
}

/// Creates customer `id` or updates its `stored` document with `edits`,
/// each committed as its own change with `note` (an import file may hold
/// one customer on several lines; each line stays in the history). Pure
/// computation: safe to run in parallel.
pub(crate) fn prepare_upsert<F: FnOnce(&mut Customer)>(
    profile: &Profile,
    id: &str,
    stored: Option<db::StoredDoc>,
    note: &ChangeNote,
    edits: impl IntoIterator<Item = F>,
) -> Result<(Upsert, Option<PendingWrite>)> {
    let now = now_millis();
    let mut edits = edits.into_iter();
    let (mut doc, stored, mut what) = match stored {
        None => {
            let mut card = Customer::default();
            if let Some(edit) = edits.next() {
                edit(&mut card);
            }
            if card.id != id {
                return Err(crm_shared::Error::invalid("id", "客户编号与记录不符").into());
            }
            let doc = CustomerDoc::create(&card, profile.actor.clone(), note, now)?;
            (doc, None, Upsert::Created)
        }
        Some(stored) => {
            let doc = CustomerDoc::load(&stored.bytes, profile.actor.clone())?;
            let before = doc.heads();
            (doc, Some((stored, before)), Upsert::Unchanged)
        }
    };
    for edit in edits {
        let mut card = doc.customer()?;
        edit(&mut card);
        if !doc.update(&card, note, now)?.is_empty() && what == Upsert::Unchanged {
            what = Upsert::Updated;
        }
    }
    if what == Upsert::Unchanged {
        return Ok((what, None));
    }
    let write = PendingWrite::prepare(
        &doc,
        doc.card(),
        stored.as_ref().map(|(s, before)| (s, before.as_slice())),
    );
    Ok((what, Some(write)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backlog is pushed in order and cut at the byte budget, across the
    /// chunks it is prepared in; what is cut off is reported as remaining.
    #[test]
    fn pending_pushes_keep_order_and_cut_at_the_budget() {
        let dir = tempfile::tempdir().unwrap();
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
        for k in 4..4 + crm_shared::document::MAX_CHUNKS as usize {
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
            assert!(stored.chunk_count <= crm_shared::document::MAX_CHUNKS);
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
