//! The laptop's local store: customer documents in one SQLite file, and the
//! query projection kept beside them in the same transactions.
//!
//! Every write is one SQLite transaction that stores the document change and
//! its projected row together, committed with `synchronous = FULL` before the
//! caller reports success: what a command said was saved survives kill -9
//! and power loss.
//!
//! - this module: opening the store, the profile, loading and merging one
//!   document;
//! - [`cards`]: what the salesperson does with customers (create, change,
//!   find, list, history, conflicts);
//! - [`sync`]: the laptop's half of sync (what to push, storing an answer,
//!   customers set aside, the actor's lineage);
//! - [`write`]: how a changed document is written (snapshot or chunk).

mod cards;
mod sign_in;
mod sync;
mod write;

use std::path::{Path, PathBuf};

use automerge::{ActorId, ChangeHash};
use rusqlite::Connection;

use crm_shared::note::{Action, ChangeNote};
use crm_shared::summary::{search_text, CustomerSummary};
use crm_shared::{Customer, CustomerDoc};

pub use sync::SyncApplied;
pub(crate) use write::{prepare_upsert, PendingWrite, Upsert};

use crate::clock::now_millis;
use crate::db;
use crate::error::{ClientError, Result};
use crate::key;

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

impl Store {
    /// Path of the store file in `dir`.
    pub fn file(dir: &Path) -> PathBuf {
        dir.join(STORE_FILE)
    }

    /// Creates the profile for `user` (or reopens it if it is already theirs).
    pub fn init(dir: &Path, user: &str, display_name: &str) -> Result<Store> {
        crm_shared::validate::check_id("user", user)?;
        Self::check_dir(dir)?;
        let made = !dir.exists();
        std::fs::create_dir_all(dir)?;
        db::settle_conversion(&Self::file(dir))?;
        let key = match Self::key(dir, true) {
            Ok(key) => key,
            Err(e) => {
                // A refused init leaves no trace: a directory it made is
                // removed again, if nothing else was put in it.
                if made {
                    let _ = std::fs::remove_dir(dir);
                }
                return Err(e);
            }
        };
        Self::init_with(dir, user, display_name, Some(&key))
    }

    /// An unencrypted store, for `crm-bench` to measure what encryption
    /// costs; the product never makes one (a later [`Store::open`]
    /// encrypts it).
    #[doc(hidden)]
    pub fn init_unencrypted_for_benchmark(
        dir: &Path,
        user: &str,
        display_name: &str,
    ) -> Result<Store> {
        std::fs::create_dir_all(dir)?;
        Self::init_with(dir, user, display_name, None)
    }

    fn init_with(
        dir: &Path,
        user: &str,
        display_name: &str,
        key: Option<&key::StoreKey>,
    ) -> Result<Store> {
        let conn = db::open(&Self::file(dir), key)?;
        if let Some(existing) = db::meta_get(&conn, "user")? {
            if existing != user {
                return Err(ClientError::AlreadyInitialised(existing));
            }
        } else {
            let tx = conn.unchecked_transaction()?;
            db::meta_set(&tx, "user", user)?;
            db::meta_set(&tx, "actor", &ActorId::random().to_hex_string())?;
            db::meta_set(
                &tx,
                "search_version",
                &crm_shared::summary::SEARCH_VERSION.to_string(),
            )?;
            tx.commit()?;
        }
        db::meta_set(&conn, "display_name", display_name)?;
        Self::from_conn(conn)
    }

    /// Opens the store in `dir`; fails if `crm init` has not been run there.
    pub fn open(dir: &Path) -> Result<Store> {
        Self::check_dir(dir)?;
        let file = Self::file(dir);
        db::settle_conversion(&file)?;
        if !file.exists() {
            return Err(ClientError::NotInitialised);
        }
        let key = Self::key(dir, false)?;
        let mut store = Self::from_conn(db::open(&file, Some(&key))?)?;
        store.refresh_search()?;
        Ok(store)
    }

    /// The key of the store in `dir` (a conversion a crash interrupted
    /// already settled), made when there is none yet (a new store, with
    /// `new`) and a plain store of an earlier version encrypted with it
    /// first. Anything that is not a crm store is
    /// refused here, before a key is made for it.
    fn key(dir: &Path, new: bool) -> Result<crate::key::StoreKey> {
        let file = Self::file(dir);
        let found = db::identify(&file)?;
        let refuse = |what| ClientError::NotAStore {
            path: file.clone(),
            what,
        };
        match found {
            db::Found::ServerDb | db::Found::OtherSqlite => Err(refuse(found)),
            db::Found::NotSqlite if !key::exists(dir) => Err(refuse(found)),
            db::Found::NotSqlite => key::unlock(dir),
            db::Found::New if key::exists(dir) => key::unlock(dir),
            db::Found::New if new => {
                key::create_asking(dir, "本机资料将加密保存,请设置本机数据密码(忘记后资料无法打开,可重新登录从服务器取回)。")
            }
            db::Found::New => Err(ClientError::NotInitialised),
            db::Found::Store | db::Found::Unfinished => {
                let key = match key::exists(dir) {
                    true => key::unlock(dir)?,
                    false => key::create_asking(dir, "本机资料将改为加密保存,请设置本机数据密码(忘记后资料无法打开,可重新登录从服务器取回)。")?,
                };
                db::encrypt_plain(&file, &key)?;
                Ok(key)
            }
        }
    }

    /// Whether this handle may go on being used: the store's actor and
    /// user are still the ones it was opened with (a sync may have given
    /// the laptop a new actor through another connection).
    pub fn still_current(&self) -> Result<bool> {
        let actor = db::meta_get(&self.conn, "actor")?;
        let user = db::meta_get(&self.conn, "user")?;
        Ok(
            actor.as_deref() == Some(self.profile.actor.to_hex_string().as_str())
                && user.as_deref() == Some(self.profile.user.as_str()),
        )
    }

    /// A number that changes when another connection (another thread's
    /// handle, another process) commits to the store; this handle's own
    /// writes leave it as it is.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Deletes this laptop's store and destroys its key (the device was
    /// revoked): customers are removed from the file first, then the file,
    /// its journal and the key. Returns how many customers there were.
    pub fn destroy(mut self, dir: &Path) -> Result<usize> {
        let n = self.wipe_customers()?;
        drop(self);
        db::remove_store(&Self::file(dir))?;
        key::destroy(dir)?;
        Ok(n)
    }

    /// Rows whose search text was written by an older version (before
    /// pinyin) are rewritten once, so search finds every customer alike.
    fn refresh_search(&mut self) -> Result<()> {
        let want = crm_shared::summary::SEARCH_VERSION.to_string();
        if db::meta_get(&self.conn, "search_version")?.as_deref() == Some(want.as_str()) {
            return Ok(());
        }
        self.rebuild_projection()?;
        db::meta_set(&self.conn, "search_version", &want)?;
        Ok(())
    }

    /// Refuses a data directory that is a file (CRM_HOME set to the store
    /// file itself, or to some other file), saying what that file is.
    fn check_dir(dir: &Path) -> Result<()> {
        if dir.exists() && !dir.is_dir() {
            return Err(ClientError::NotADirectory {
                path: dir.to_path_buf(),
                what: db::identify(dir)?,
            });
        }
        Ok(())
    }

    fn from_conn(conn: Connection) -> Result<Store> {
        let user = db::meta_get(&conn, "user")?.ok_or(ClientError::NotInitialised)?;
        let actor = db::meta_get(&conn, "actor")?.ok_or(ClientError::NotInitialised)?;
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

    /// This laptop's profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// A note authored by the local user.
    pub fn note(&self, action: Action, reason: Option<&str>) -> ChangeNote {
        ChangeNote::new(&self.profile.user, action).with_reason(reason)
    }

    /// What storage holds for customer `id`; not found if nothing.
    fn stored_or_missing(&self, id: &str) -> Result<db::StoredDoc> {
        self.stored(id)?
            .ok_or_else(|| ClientError::NotFound(id.to_string()))
    }

    fn load(&self, id: &str) -> Result<(CustomerDoc, db::StoredDoc)> {
        let stored = self.stored_or_missing(id)?;
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

    /// Customer `id`'s document as stored, for another replica: its last
    /// snapshot and the changes appended since, which automerge loads as
    /// one document. Nothing is loaded here; the replica checks the bytes
    /// when it loads them.
    pub fn document_bytes(&self, id: &str) -> Result<Vec<u8>> {
        Ok(self.stored_or_missing(id)?.bytes)
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
            let stored = db::doc_load(&tx, id)?.ok_or_else(|| ClientError::NotFound(id.clone()))?;
            let doc = CustomerDoc::load(&stored.bytes, self.profile.actor.clone())?;
            let card = doc.customer()?;
            let (rules, days) = write::derived(&doc);
            db::project(
                &tx,
                &CustomerSummary::of(&card),
                &search_text(&card),
                Some((&rules, &days)),
            )?;
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
}
