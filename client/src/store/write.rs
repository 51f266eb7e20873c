//! How a changed document goes to the store: as a fresh snapshot or as one
//! more chunk (`crm_shared::storage`), computed off the database so that
//! many can be prepared in parallel and committed in one transaction.

use automerge::ChangeHash;

use crm_shared::document::heads_to_blob as heads_bytes;
use crm_shared::note::ChangeNote;
use crm_shared::storage::{self, Write};
use crm_shared::summary::{record_days, rules_card, search_text, CustomerSummary};
use crm_shared::{Customer, CustomerDoc};

use super::{Profile, Store};
use crate::clock::now_millis;
use crate::db;
use crate::error::Result;

impl Store {
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

/// A document write computed without touching the database, so that many
/// can be prepared in parallel and committed together.
pub(crate) struct PendingWrite {
    pub(super) id: String,
    pub(super) write: Write,
    pub(super) heads: Vec<u8>,
    pub(super) summary: CustomerSummary,
    pub(super) search: String,
    /// The rules card (JSON) and record days, when the card was read.
    pub(super) derived: Option<(String, String)>,
}

/// What a row keeps beside the summary: the rules card and record days.
pub(super) fn derived(doc: &CustomerDoc) -> (String, String) {
    let card = doc.card();
    let rules = serde_json::to_string(&rules_card(card)).expect("a card always serialises");
    (rules, record_days(card, doc.entered().map(|e| e.at)))
}

impl PendingWrite {
    /// The write for `doc` (showing `card`), stored now as `stored` with the
    /// heads it was loaded at, or new to this store.
    pub(super) fn prepare(
        doc: &CustomerDoc,
        card: &Customer,
        stored: Option<(&db::StoredDoc, &[ChangeHash])>,
    ) -> Self {
        let shape = stored.map(|(s, before)| (s.shape(), before));
        PendingWrite {
            id: card.id.clone(),
            write: storage::next_write(doc, shape, None),
            heads: heads_bytes(&doc.heads()),
            summary: CustomerSummary::of(card),
            search: search_text(card),
            derived: Some(derived(doc)),
        }
    }

    /// A document received whole: `bytes` become its snapshot as they are.
    pub(super) fn received(doc: &CustomerDoc, bytes: Vec<u8>) -> Self {
        let card = doc.card();
        PendingWrite {
            id: card.id.clone(),
            write: Write::Snapshot(bytes),
            heads: heads_bytes(&doc.heads()),
            summary: CustomerSummary::of(card),
            search: search_text(card),
            derived: Some(derived(doc)),
        }
    }

    pub(super) fn commit(&self, tx: &rusqlite::Transaction, now: i64) -> Result<()> {
        match &self.write {
            Write::Snapshot(b) => db::doc_put_snapshot(tx, &self.id, b, &self.heads, now)?,
            Write::Append { chunk, after } => {
                db::doc_append(tx, &self.id, chunk, &heads_bytes(after), &self.heads, now)?
            }
        }
        let derived = self.derived.as_ref().map(|(r, d)| (r.as_str(), d.as_str()));
        db::project(tx, &self.summary, &self.search, derived)?;
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
