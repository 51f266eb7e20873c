//! How a customer's document is kept in a database, on every side alike
//! (laptop, server, backup): a compressed snapshot, followed by the change
//! chunks appended since, in order. Loading concatenates them (a valid
//! input for automerge); writing appends the new changes as one more chunk
//! until the chunks outnumber [`MAX_CHUNKS`] or outweigh the snapshot, and
//! then stores a fresh snapshot instead. The rule lives here once; each
//! side's SQL only puts the bytes where it says.

use automerge::ChangeHash;

use crate::document::CustomerDoc;

/// Appended change chunks allowed after a snapshot before it is rewritten.
pub const MAX_CHUNKS: i64 = 32;

/// What storage holds of a document, as far as the rule cares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Chunks appended since the snapshot.
    pub chunk_count: i64,
    /// Their bytes.
    pub chunk_bytes: i64,
    /// The snapshot's bytes.
    pub snapshot_bytes: i64,
}

impl Shape {
    /// Whether appending `next` more bytes breaks the rule: then store a
    /// fresh snapshot instead.
    pub fn compacts_with(&self, next: usize) -> bool {
        self.chunk_count + 1 > MAX_CHUNKS || self.chunk_bytes + next as i64 > self.snapshot_bytes
    }
}

/// What to write for a changed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// The whole document, replacing snapshot and chunks.
    Snapshot(Vec<u8>),
    /// Changes to append as one chunk: exactly those after heads `after`.
    Append {
        /// The changes.
        chunk: Vec<u8>,
        /// The heads they follow (what was stored before).
        after: Vec<ChangeHash>,
    },
}

/// What to write for `doc`, stored as `stored` (its shape and the heads it
/// had there), or `None` for a document new to this store. `hint` is a size
/// the new chunk is known to reach at least (the bytes a push brought):
/// when that alone breaks the rule, the chunk is not worth computing, which
/// for thousands of changes costs more than the snapshot.
pub fn next_write(
    doc: &CustomerDoc,
    stored: Option<(Shape, &[ChangeHash])>,
    hint: Option<usize>,
) -> Write {
    let Some((shape, before)) = stored else {
        return Write::Snapshot(doc.save());
    };
    if hint.is_some_and(|h| shape.compacts_with(h)) {
        return Write::Snapshot(doc.save());
    }
    let chunk = doc.save_after(before);
    if shape.compacts_with(chunk.len()) {
        Write::Snapshot(doc.save())
    } else {
        Write::Append {
            chunk,
            after: before.to_vec(),
        }
    }
}

/// A stored document's bytes, ready to load: the snapshot, then every
/// chunk in the order written.
pub fn assemble(snapshot: Vec<u8>, chunks: impl IntoIterator<Item = impl AsRef<[u8]>>) -> Vec<u8> {
    let mut bytes = snapshot;
    for c in chunks {
        bytes.extend_from_slice(c.as_ref());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::Customer;
    use crate::note::{Action, ChangeNote};

    #[test]
    fn changes_are_appended_until_they_outweigh_or_outnumber_the_snapshot() {
        let card = Customer {
            id: "c1".into(),
            name: "上海甲有限公司".into(),
            ..Default::default()
        };
        let mut doc = CustomerDoc::create(
            &card,
            crate::ActorId::random(),
            &ChangeNote::new("zhang", Action::Create),
            0,
        )
        .unwrap();
        let saved = doc.save();
        let before = doc.heads();
        let mut c = doc.card().clone();
        c.remarks = "补记".into();
        doc.update(
            &c,
            &ChangeNote::new("zhang", Action::Edit).with_reason(Some("补充")),
            0,
        )
        .unwrap();
        let shape = Shape {
            chunk_count: 0,
            chunk_bytes: 0,
            snapshot_bytes: saved.len() as i64,
        };
        let Write::Append { chunk, after } = next_write(&doc, Some((shape, &before)), None) else {
            panic!("a small change is appended");
        };
        assert_eq!(after, before);
        let loaded = CustomerDoc::load(
            &assemble(saved.clone(), [&chunk[..]]),
            crate::ActorId::random(),
        )
        .unwrap();
        assert_eq!(loaded.card(), doc.card());
        let full = Shape {
            chunk_count: MAX_CHUNKS,
            ..shape
        };
        assert!(matches!(
            next_write(&doc, Some((full, &before)), None),
            Write::Snapshot(_)
        ));
        assert!(matches!(
            next_write(&doc, Some((shape, &before)), Some(saved.len() + 1)),
            Write::Snapshot(_)
        ));
        assert!(matches!(next_write(&doc, None, None), Write::Snapshot(_)));
    }
}
