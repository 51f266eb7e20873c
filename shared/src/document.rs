//! One customer = one automerge document: creating, changing, merging and
//! reading it. Pure logic, no IO: callers load and store the bytes.
//!
//! **Architecture invariant:** every document starts with the same
//! deterministic *skeleton* change for its id (fixed actor, time 0, empty
//! card). Two replicas that create the same customer independently therefore
//! share the nested map objects (`company`, `contacts`, …) and their edits
//! merge field by field instead of one whole section hiding the other.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, Automerge, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT,
};
use serde::Serialize;
use serde_json::Value as Json;

use crate::customer::{Customer, Millis};
use crate::diff::{self, FieldChange};
use crate::error::{Error, Result};
use crate::note::{Action, ChangeNote};
use crate::validate;

/// Actor of the skeleton change; never used for anything else.
pub(crate) const SKELETON_ACTOR: [u8; 16] = [0; 16];

/// A customer's automerge document.
#[derive(Debug, Clone)]
pub struct CustomerDoc {
    doc: Automerge,
    /// The hydrated card, kept in step with `doc` by every write and merge.
    card: Customer,
    /// Paths whose keys currently hold concurrent values (from the same
    /// hydrate as `card`), so listing conflicts needs no second full read.
    conflicted: Vec<String>,
    /// automerge's hydrated tree that `card` was read from, while it is in
    /// step with `doc` (`None` after a local write): a merge patches it
    /// instead of reading the whole document again.
    tree: Option<automerge::hydrate::Value>,
}

/// One entry of a customer's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// Change hash (hex).
    pub hash: String,
    /// When, in milliseconds since the epoch (second precision).
    pub at: Millis,
    /// Who (login), from the change note; `None` for changes without one.
    pub by: Option<String>,
    /// What kind of action.
    pub action: Option<Action>,
    /// Why.
    pub reason: Option<String>,
    /// The fields this change touched, old → new.
    pub fields: Vec<FieldChange>,
}

/// A field that two replicas set concurrently to different values.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    /// Dotted path of the field.
    pub path: String,
    /// Every concurrent value; the first is the one currently shown.
    pub values: Vec<ConflictValue>,
}

/// One of the competing values of a [`Conflict`].
#[derive(Debug, Clone, Serialize)]
pub struct ConflictValue {
    /// The value as JSON.
    pub value: serde_json::Value,
    /// Who wrote it, if known.
    pub by: Option<String>,
    /// When it was written (milliseconds, second precision).
    pub at: Option<Millis>,
}

fn commit_options(note: &ChangeNote, now: Millis) -> CommitOptions {
    CommitOptions::default()
        .with_message(note.to_message())
        .with_time(now.div_euclid(1000))
}

impl CustomerDoc {
    /// The skeleton document for `id`: identical bytes on every replica.
    fn skeleton(id: &str) -> Result<Automerge> {
        let mut doc = Automerge::new().with_actor(ActorId::from(SKELETON_ACTOR));
        let empty = Customer {
            id: id.to_string(),
            ..Default::default()
        };
        let mut tx = doc.transaction();
        // Reconciling into an empty document is autosurgeon's fast path
        // (whole objects are batch-created), and it fixes the schema's shape.
        autosurgeon::reconcile(&mut tx, &empty).map_err(|e| Error::Corrupt(e.to_string()))?;
        tx.commit_with(CommitOptions::default().with_time(0));
        Ok(doc)
    }

    /// A new document holding `c`, written by `actor`. Validates `c` first.
    pub fn create(c: &Customer, actor: ActorId, note: &ChangeNote, now: Millis) -> Result<Self> {
        validate::customer_input(None, c)?;
        let mut doc = Self::skeleton(&c.id)?;
        doc.set_actor(actor);
        let skeleton = Customer {
            id: c.id.clone(),
            ..Default::default()
        };
        let mut this = CustomerDoc {
            doc,
            card: skeleton,
            conflicted: Vec::new(),
            tree: None,
        };
        this.write(c, note, now)?;
        Ok(this)
    }

    /// Loads saved bytes (a snapshot, optionally followed by incremental
    /// changes) and checks the content matches the schema.
    pub fn load(bytes: &[u8], actor: ActorId) -> Result<Self> {
        let doc = Automerge::load(bytes)
            .map_err(|e| Error::Corrupt(e.to_string()))?
            .with_actor(actor);
        let tree = doc.hydrate(None);
        let (card, conflicted) = read_card(&tree)?;
        Ok(CustomerDoc {
            doc,
            card,
            conflicted,
            tree: Some(tree),
        })
    }

    /// Wraps a document already in memory, reading its card.
    pub(crate) fn from_automerge(doc: Automerge) -> Result<Self> {
        let tree = doc.hydrate(None);
        let (card, conflicted) = read_card(&tree)?;
        Ok(CustomerDoc {
            doc,
            card,
            conflicted,
            tree: Some(tree),
        })
    }

    /// Loads saved bytes and merges `incoming` into them, reading the card
    /// once (a server applying a push). Errors name bad incoming bytes as such.
    pub fn load_and_merge(
        bytes: &[u8],
        incoming: &[u8],
        actor: ActorId,
    ) -> Result<(Self, Vec<ChangeHash>)> {
        let doc = Automerge::load(bytes)
            .map_err(|e| Error::Corrupt(e.to_string()))?
            .with_actor(actor);
        let mut this = CustomerDoc {
            doc,
            card: Customer::default(),
            conflicted: Vec::new(),
            tree: None,
        };
        let before = this.merge_incoming(incoming)?;
        Ok((this, before))
    }

    /// Merges `incoming` (changes or a saved document from another replica)
    /// into this readable document and reads the card again; returns the
    /// heads from before. Errors name bad incoming bytes as such.
    pub fn merge_incoming(&mut self, incoming: &[u8]) -> Result<Vec<ChangeHash>> {
        let before = self.doc.get_heads();
        // A repeated sequence number is told apart from damaged bytes: the
        // cure is different (re-recording, not refusing).
        let bad = |e: automerge::AutomergeError| match Error::from(e) {
            clash @ Error::Clash { .. } => clash,
            other => Error::invalid("data", other.to_string()),
        };
        // Reading the whole card costs in proportion to all it holds (a
        // customer with thousands of visits: tens of milliseconds); patching
        // the tree it was read from costs in proportion to what arrived.
        let tree = match self.tree.take() {
            Some(mut tree) => {
                let mut log = automerge::PatchLog::active();
                self.doc
                    .load_incremental_log_patches(incoming, &mut log)
                    .map_err(bad)?;
                let patches = self.doc.make_patches(&mut log);
                match tree.apply_patches(self.doc.text_encoding(), patches) {
                    Ok(()) => tree,
                    // Never seen; a full read is always right.
                    Err(_) => self.doc.hydrate(None),
                }
            }
            None => {
                self.doc.load_incremental(incoming).map_err(bad)?;
                self.doc.hydrate(None)
            }
        };
        debug_assert!(
            tree == self.doc.hydrate(None),
            "the patched tree must equal a full read of the document"
        );
        // The document was readable before, so a card that no longer is
        // comes from the incoming changes.
        (self.card, self.conflicted) =
            read_card(&tree).map_err(|e| Error::invalid("data", e.to_string()))?;
        self.tree = Some(tree);
        Ok(before)
    }

    /// Verifies saved bytes load, with exactly `heads`, without reading the card.
    pub fn verify(bytes: &[u8], heads: &[ChangeHash]) -> Result<()> {
        verify(bytes, heads)
    }

    /// The card as it stands.
    pub fn customer(&self) -> Result<Customer> {
        Ok(self.card.clone())
    }

    /// The card as it stands, borrowed.
    pub fn card(&self) -> &Customer {
        &self.card
    }

    /// The underlying automerge document (read-only).
    pub fn automerge(&self) -> &Automerge {
        &self.doc
    }

    /// Current heads.
    pub fn heads(&self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Whether the document's heads are exactly `heads`.
    pub fn has_heads(&self, heads: &[ChangeHash]) -> bool {
        same_heads(&self.doc.get_heads(), heads)
    }

    /// Whole document in compact form.
    pub fn save(&self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes made since `heads`, for appending to storage.
    pub fn save_after(&self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// What to send a replica that has `heads`: the changes after them, or
    /// `None` when the whole saved document (`whole_len` bytes) is smaller.
    pub fn changes_unless_whole_is_smaller(
        &self,
        heads: &[ChangeHash],
        whole_len: usize,
    ) -> Option<Vec<u8>> {
        smaller_changes(&self.doc, heads, whole_len)
    }

    /// Replaces the card with `c`, committing one change. Validates `c`,
    /// refuses a changed id, and requires a reason when archive fields (not
    /// just new visits or contacts) change. Returns the field changes; an
    /// empty list means nothing differed and nothing was committed.
    pub fn update(
        &mut self,
        c: &Customer,
        note: &ChangeNote,
        now: Millis,
    ) -> Result<Vec<FieldChange>> {
        let before = &self.card;
        if c.id != before.id {
            return Err(Error::invalid("id", "客户编号不能修改"));
        }
        validate::customer_input(Some(before), c)?;
        let changes = diff::customers(before, c);
        if changes.is_empty() {
            return Ok(changes);
        }
        if diff::needs_reason(&changes) && note.reason.is_none() {
            return Err(Error::ReasonRequired);
        }
        self.write(c, note, now)?;
        Ok(changes)
    }

    /// Commits the card `c` as one change, writing only what differs from
    /// the document's current card (see [`crate::write`]).
    fn write(&mut self, c: &Customer, note: &ChangeNote, now: Millis) -> Result<()> {
        let old = serde_json::to_value(&self.card).expect("a customer always serialises");
        let new = serde_json::to_value(c).expect("a customer always serialises");
        let (Json::Object(old), Json::Object(new)) = (old, new) else {
            unreachable!("a customer serialises as an object")
        };
        let mut tx = self.doc.transaction();
        if let Err(e) = crate::write::apply(&mut tx, &ROOT, &old, &new) {
            tx.rollback();
            return Err(e);
        }
        tx.commit_with(commit_options(note, now));
        self.card = c.clone();
        self.tree = None;
        Ok(())
    }

    /// Merges another replica's saved bytes (snapshot or changes) into this
    /// document. Returns whether anything new arrived. On an error the
    /// caller must drop this in-memory document rather than store it.
    pub fn merge_bytes(&mut self, bytes: &[u8]) -> Result<bool> {
        let before = self.merge_incoming(bytes)?;
        Ok(self.doc.get_heads() != before)
    }

    fn note_of(&self, hash: &ChangeHash) -> (Option<ChangeNote>, Option<Millis>) {
        match self.doc.get_change_meta_by_hash(hash) {
            Some(m) => (
                ChangeNote::from_message(m.message.as_deref()),
                Some(m.timestamp * 1000),
            ),
            None => (None, None),
        }
    }

    /// Who the customer was assigned to just after change `hash` (as its
    /// author saw the card), if this document holds that change.
    pub fn salesperson_after(&self, hash: &ChangeHash) -> Option<String> {
        match self.doc.get_at(ROOT, "salesperson", &[*hash]) {
            Ok(Some((automerge::Value::Scalar(s), _))) => match s.as_ref() {
                automerge::ScalarValue::Str(t) => Some(t.to_string()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether changes arrived whose dependencies this document lacks (they
    /// wait, unapplied, until the missing ones arrive).
    pub fn has_missing_deps(&self) -> bool {
        !self.doc.get_missing_deps(&[]).is_empty()
    }

    /// The changes after `heads` (all but the skeleton), with their notes.
    pub fn changes_since(&self, heads: &[ChangeHash]) -> Vec<(ChangeHash, Option<ChangeNote>)> {
        let skeleton = ActorId::from(SKELETON_ACTOR);
        self.doc
            .get_changes_meta(heads)
            .into_iter()
            .filter(|m| *m.actor != skeleton)
            .map(|m| (m.hash, ChangeNote::from_message(m.message.as_deref())))
            .collect()
    }

    /// Who entered this customer and when: the earliest change noted as a
    /// creation (`None` for a customer that came from an import file).
    pub fn entered(&self) -> Option<crate::reports::Entered> {
        self.doc
            .get_changes_meta(&[])
            .into_iter()
            .filter_map(|m| {
                let note = ChangeNote::from_message(m.message.as_deref())?;
                (note.action == Action::Create).then(|| crate::reports::Entered {
                    by: note.by,
                    at: m.timestamp * 1000,
                })
            })
            .min_by_key(|e| e.at)
    }

    /// Every change after the skeleton, oldest first, with the fields it changed.
    pub fn history(&self) -> Vec<HistoryEntry> {
        let skeleton = ActorId::from(SKELETON_ACTOR);
        // The card as JSON at `heads`, and its conflicted paths.
        let state = |heads: &[ChangeHash]| {
            let v = self.doc.hydrate(Some(heads));
            let mut conflicted = Vec::new();
            if let automerge::hydrate::Value::Map(m) = &v {
                flagged(m, "", &mut conflicted);
            }
            (hydrated_json(&v), conflicted)
        };
        // Changes come in causal order, mostly each on the one before: the
        // state after one is then the state before the next, read once.
        let mut last: Option<(ChangeHash, (Json, Vec<String>))> = None;
        self.doc
            .get_changes_meta(&[])
            .into_iter()
            .filter(|m| *m.actor != skeleton)
            .map(|m| {
                let (before, was_conflicted) = match last.take() {
                    Some((hash, s)) if m.deps == [hash] => s,
                    _ => state(&m.deps),
                };
                let (after, still_conflicted) = state(&[m.hash]);
                let mut fields = diff::json(&before, &after);
                // Settling a conflict on the value already shown changes no
                // visible value; the field it settled is named all the same.
                for path in was_conflicted {
                    if !still_conflicted.contains(&path) && !fields.iter().any(|f| f.path == path) {
                        let at = |j: &Json| {
                            let pointer = format!("/{}", path.replace('.', "/"));
                            j.pointer(&pointer).and_then(|v| diff::text_at(&path, v))
                        };
                        fields.push(FieldChange {
                            old: at(&before),
                            new: at(&after),
                            path,
                        });
                    }
                }
                last = Some((m.hash, (after, still_conflicted)));
                let note = ChangeNote::from_message(m.message.as_deref());
                HistoryEntry {
                    hash: m.hash.to_string(),
                    at: m.timestamp * 1000,
                    by: note.as_ref().map(|n| n.by.clone()),
                    action: note.as_ref().map(|n| n.action),
                    reason: note.and_then(|n| n.reason),
                    fields,
                }
            })
            .collect()
    }

    /// Fields with concurrent, differing values. automerge's bulk hydrate
    /// flags conflicted keys cheaply (kept from the read of the card); only
    /// those are then read in full.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out = Vec::new();
        for p in &self.conflicted {
            let Ok((obj, key)) = self.locate(p) else {
                continue;
            };
            let all = self.doc.get_all(&obj, key.as_str()).unwrap_or_default();
            let mut values: Vec<ConflictValue> = all
                .iter()
                .map(|(v, id)| {
                    let hash = self.doc.hash_for_opid(id);
                    let (note, at) = hash.map(|h| self.note_of(&h)).unwrap_or((None, None));
                    ConflictValue {
                        value: value_json(v),
                        by: note.map(|n| n.by),
                        at,
                    }
                })
                .collect();
            // automerge's winner is the last of get_all; show it first.
            values.reverse();
            values.dedup_by(|a, b| a.value == b.value);
            if values.len() > 1 {
                out.push(Conflict {
                    path: p.clone(),
                    values,
                });
            }
        }
        out
    }

    /// Settles a conflicting field on `value` (JSON scalar), with a reason.
    /// The value is written even if it equals the one currently shown, so
    /// that it supersedes every concurrent value.
    pub fn resolve(
        &mut self,
        path: &str,
        value: &serde_json::Value,
        note: &ChangeNote,
        now: Millis,
    ) -> Result<()> {
        if note.reason.is_none() {
            return Err(Error::ReasonRequired);
        }
        if !self.conflicts().iter().any(|c| c.path == path) {
            return Err(Error::invalid(path, "该字段没有待解决的冲突"));
        }
        // Validate through the schema: apply the value to the card and check it.
        let mut card = serde_json::to_value(self.customer()?).expect("serialises");
        crate::edit::set_path(&mut card, path, value.clone())?;
        let card: Customer = crate::edit::from_json(card)?;
        validate::customer_input(Some(&self.card), &card)?;
        let scalar = scalar_of(path, value)?;
        let (obj, key) = self.locate(path)?;
        let mut tx = self.doc.transaction();
        if let Err(e) = tx.put(&obj, key.as_str(), scalar) {
            tx.rollback();
            return Err(e.into());
        }
        tx.commit_with(commit_options(note, now));
        let tree = self.doc.hydrate(None);
        (self.card, self.conflicted) = read_card(&tree)?;
        self.tree = Some(tree);
        Ok(())
    }

    fn locate(&self, path: &str) -> Result<(ObjId, String)> {
        let mut parts: Vec<&str> = path.split('.').collect();
        let key = parts.pop().unwrap_or_default().to_string();
        let mut obj = ROOT;
        for p in parts {
            match self.doc.get(&obj, p)? {
                Some((Value::Object(ObjType::Map), id)) => obj = id,
                _ => return Err(Error::UnknownField(path.to_string())),
            }
        }
        Ok((obj, key))
    }
}

/// Paths of conflicted keys in a hydrated map, recursively.
fn flagged(m: &automerge::hydrate::Map, path: &str, out: &mut Vec<String>) {
    for (k, mv) in m.iter() {
        let p = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        if mv.conflict {
            out.push(p.clone());
        }
        if let automerge::hydrate::Value::Map(inner) = &mv.value {
            flagged(inner, &p, out);
        }
    }
}

/// The card in a document's hydrated tree, and the sorted paths of its
/// conflicted keys.
///
/// Reads through automerge's bulk `hydrate` and serde rather than
/// autosurgeon's `Hydrate`, which reads field by field and costs ~4x as much
/// (3 ms vs 0.8 ms for a card with 100 visits on automerge 0.12). The card
/// is deserialised straight from the hydrated tree ([`crate::hydrated`]),
/// without a JSON copy in between. The two mappings are the same shape;
/// `tests/document.rs` checks they agree.
fn read_card(root: &automerge::hydrate::Value) -> Result<(Customer, Vec<String>)> {
    let mut conflicted = Vec::new();
    if let automerge::hydrate::Value::Map(m) = root {
        flagged(m, "", &mut conflicted);
    }
    conflicted.sort();
    let card = crate::hydrated::from_value(root).map_err(|e| Error::Corrupt(e.to_string()))?;
    Ok((card, conflicted))
}

/// The changes in a saved document after `heads`, without reading the card:
/// what a laptop pushes to a server that already has `heads`.
pub fn changes_after(bytes: &[u8], heads: &[ChangeHash]) -> Result<Vec<u8>> {
    let doc = Automerge::load(bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
    Ok(doc.save_after(heads))
}

/// What to send a replica that has `heads` of the saved document `bytes`:
/// the changes after them, or `None` when the whole document is the smaller
/// (see [`smaller_changes`]).
pub fn changes_unless_whole_is_smaller(
    bytes: &[u8],
    heads: &[ChangeHash],
) -> Result<Option<Vec<u8>>> {
    let doc = Automerge::load(bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
    Ok(smaller_changes(&doc, heads, bytes.len()))
}

/// The changes in `doc` after `heads`, unless they would outweigh the whole
/// saved document (`whole_len` bytes): then `None`. A compressed document of
/// thousands of changes is a fraction of their size one by one, and loads
/// faster than they apply. Encoding changes is the costly part, so a floor
/// of their size from metadata alone (each carries its dependencies'
/// hashes and its message) settles the clear cases without encoding.
fn smaller_changes(doc: &Automerge, heads: &[ChangeHash], whole_len: usize) -> Option<Vec<u8>> {
    let floor: usize = doc
        .get_changes_meta(heads)
        .iter()
        .map(|m| 32 * m.deps.len() + m.message.as_deref().map_or(0, str::len))
        .sum();
    if floor > whole_len {
        return None;
    }
    let changes = doc.save_after(heads);
    (changes.len() <= whole_len).then_some(changes)
}

/// Whether `bytes` are changes that build on others not among them: what a
/// laptop pushes to a server it believes holds the start of a document. A
/// server that lacks that start (restored from an older backup) cannot load
/// them as a document and must ask for the whole one instead.
pub fn is_continuation(bytes: &[u8]) -> bool {
    let mut doc = Automerge::new();
    doc.load_incremental(bytes).is_ok() && !doc.get_missing_deps(&[]).is_empty()
}

/// Checks saved bytes load as a document whose heads are `heads`.
pub fn verify(bytes: &[u8], heads: &[ChangeHash]) -> Result<()> {
    verify_covering(bytes, heads, &[]).map(|_| ())
}

/// Checks saved bytes load as a document whose heads are `heads`, and tells
/// whether it holds every change up to `covered` (another replica's heads):
/// if so, it can replace that replica's copy without a merge.
pub fn verify_covering(bytes: &[u8], heads: &[ChangeHash], covered: &[ChangeHash]) -> Result<bool> {
    let doc = Automerge::load(bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
    if !same_heads(&doc.get_heads(), heads) {
        return Err(Error::Corrupt("文档的 heads 与声明的不符".into()));
    }
    Ok(covered
        .iter()
        .all(|h| doc.get_change_meta_by_hash(h).is_some()))
}

/// Whether two head sets are equal, whatever their order.
pub fn same_heads(a: &[ChangeHash], b: &[ChangeHash]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
}

/// Heads in their stored form on both sides: sorted, concatenated 32-byte hashes.
pub fn heads_to_blob(heads: &[ChangeHash]) -> Vec<u8> {
    let mut hs: Vec<&ChangeHash> = heads.iter().collect();
    hs.sort();
    hs.iter().flat_map(|h| h.0).collect()
}

/// Heads from their stored form.
pub fn heads_from_blob(blob: &[u8]) -> Vec<ChangeHash> {
    blob.chunks_exact(32)
        .filter_map(|c| ChangeHash::try_from(c).ok())
        .collect()
}

fn scalar_of(path: &str, v: &serde_json::Value) -> Result<ScalarValue> {
    Ok(match v {
        serde_json::Value::Null => ScalarValue::Null,
        serde_json::Value::Bool(b) => ScalarValue::Boolean(*b),
        serde_json::Value::String(s) => ScalarValue::Str(s.as_str().into()),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => ScalarValue::Int(i),
            None => ScalarValue::F64(n.as_f64().unwrap_or_default()),
        },
        _ => return Err(Error::invalid(path, "只能选择单个值")),
    })
}

fn scalar_json(s: &ScalarValue) -> serde_json::Value {
    use serde_json::Value as J;
    match s {
        ScalarValue::Str(s) => J::String(s.to_string()),
        ScalarValue::Int(i) => J::from(*i),
        ScalarValue::Uint(u) => J::from(*u),
        ScalarValue::F64(f) => J::from(*f),
        ScalarValue::Boolean(b) => J::Bool(*b),
        ScalarValue::Timestamp(t) => J::from(*t),
        ScalarValue::Counter(c) => J::from(i64::from(c)),
        ScalarValue::Null | ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => J::Null,
    }
}

fn value_json(v: &Value<'_>) -> serde_json::Value {
    match v {
        Value::Scalar(s) => scalar_json(s),
        // Only two replicas creating different objects under one key get
        // here; entries are keyed by unique ids, so it does not happen in
        // practice, but it must still be listed rather than hidden.
        Value::Object(t) => serde_json::Value::String(format!("<{t:?} 对象>")),
    }
}

/// The JSON form of a hydrated automerge value.
pub(crate) fn hydrated_json(v: &automerge::hydrate::Value) -> serde_json::Value {
    use automerge::hydrate::Value as H;
    match v {
        H::Scalar(s) => scalar_json(s),
        H::Map(m) => serde_json::Value::Object(
            m.iter()
                .map(|(k, mv)| (k.clone(), hydrated_json(&mv.value)))
                .collect(),
        ),
        H::List(l) => {
            serde_json::Value::Array(l.iter().map(|lv| hydrated_json(&lv.value)).collect())
        }
        H::Text(t) => serde_json::Value::String(t.to_string()),
    }
}
