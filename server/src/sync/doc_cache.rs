//! The most recently written documents, kept loaded.
//!
//! Loading a document costs time in proportion to its whole history: for a
//! customer that ten laptops edit at once (thousands of changes) a load
//! takes tens of milliseconds, and every push and every answer would pay it.
//! The writer leaves every document it stores here, and the next push or
//! answer for the same customer starts from it.
//!
//! An entry is used only when its heads equal the heads the caller read from
//! the database in its own transaction. A document's content is a function
//! of its heads, so an entry can never be stale, whichever transaction wrote
//! it or whether that transaction committed; a mismatch just means loading
//! from the database as before. The cache is bounded by entry count, so
//! memory stays flat however many customers there are.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use crm_shared::{ChangeHash, CustomerDoc};

/// Documents kept; a hot customer stays, a one-off push is soon forgotten.
const CAPACITY: usize = 64;

/// Loaded documents by customer id, least recently used dropped first.
pub(crate) struct DocCache {
    docs: Mutex<LruCache<String, Arc<CustomerDoc>>>,
}

impl DocCache {
    pub(crate) fn new() -> DocCache {
        DocCache {
            docs: Mutex::new(LruCache::new(
                NonZeroUsize::new(CAPACITY).expect("non-zero"),
            )),
        }
    }

    /// Document `id` as of exactly `heads`, if it is kept.
    pub(crate) fn get(&self, id: &str, heads: &[ChangeHash]) -> Option<Arc<CustomerDoc>> {
        let mut docs = self.docs.lock().unwrap_or_else(|p| p.into_inner());
        docs.get(id).filter(|d| d.has_heads(heads)).cloned()
    }

    /// Keeps `doc` as the newest form of customer `id`.
    pub(crate) fn put(&self, id: &str, doc: Arc<CustomerDoc>) {
        let mut docs = self.docs.lock().unwrap_or_else(|p| p.into_inner());
        docs.put(id.to_string(), doc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_shared::note::{Action, ChangeNote};
    use crm_shared::{ActorId, Customer};

    #[test]
    fn a_kept_document_is_used_only_at_its_own_heads() {
        let card = Customer {
            id: "c1".into(),
            name: "杭州乙有限公司".into(),
            salesperson: "zhang".into(),
            ..Default::default()
        };
        let note = ChangeNote::new("zhang", Action::Create);
        let doc = CustomerDoc::create(&card, ActorId::random(), &note, 0).unwrap();
        let old = doc.heads();
        let mut newer = doc.clone();
        let mut c = card.clone();
        c.remarks = "新备注".into();
        let edit = ChangeNote::new("zhang", Action::Edit).with_reason(Some("更新"));
        newer.update(&c, &edit, 0).unwrap();

        let cache = DocCache::new();
        assert!(cache.get("c1", &old).is_none());
        cache.put("c1", Arc::new(newer.clone()));
        assert!(
            cache.get("c1", &old).is_none(),
            "older heads: load from the database"
        );
        assert!(cache.get("c2", &newer.heads()).is_none());
        let kept = cache.get("c1", &newer.heads()).unwrap();
        assert_eq!(kept.card().remarks, "新备注");
    }
}
