//! The store the app's pages read, kept open between requests.
//!
//! A store opened for each request would decrypt every page it reads on
//! every request (a list of 2,000 customers, each keystroke of a search).
//! One connection kept open keeps its page cache, so browsing reads
//! decrypted pages from memory. It is
//! reopened when the store changed under it: a sync gave the laptop a new
//! actor (writes under the old one would be refused as clashes), or the
//! store was deleted (a revoked laptop) or made anew.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::error::Result;
use crate::store::Store;

/// The open store, if any, and the directory it is in.
pub struct Warm {
    dir: PathBuf,
    open: Mutex<Option<Open>>,
}

struct Open {
    store: Store,
    /// Its data version when last looked at.
    seen: i64,
}

/// The store, held for one request.
pub struct Held<'a>(MutexGuard<'a, Option<Open>>);

impl Deref for Held<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.0.as_ref().expect("held only while open").store
    }
}

impl DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.0.as_mut().expect("held only while open").store
    }
}

impl Warm {
    /// Nothing open yet, for the store in `dir`.
    pub fn new(dir: &Path) -> Warm {
        Warm {
            dir: dir.to_path_buf(),
            open: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Open>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store, opened if it is not, or if it changed under us; `None`
    /// when this laptop has none. `written` is called when something else
    /// wrote to the store since the last call (another connection: the
    /// sync thread, a `crm` command), or it was opened anew, so its
    /// contents may not be what they were.
    pub fn get(&self, written: impl FnOnce()) -> Result<Option<Held<'_>>> {
        let mut open = self.lock();
        if !Store::file(&self.dir).exists() {
            *open = None;
            return Ok(None);
        }
        let current = match open.as_ref() {
            Some(o) => o.store.still_current()?,
            None => false,
        };
        if current {
            let o = open.as_mut().expect("current only while open");
            let version = o.store.data_version()?;
            if version != o.seen {
                o.seen = version;
                written();
            }
        } else {
            *open = None;
            let store = Store::open(&self.dir)?;
            let seen = store.data_version()?;
            *open = Some(Open { store, seen });
            written();
        }
        Ok(Some(Held(open)))
    }

    /// Closes it (before the store is deleted, which some systems refuse
    /// while a file is open).
    pub fn close(&self) {
        *self.lock() = None;
    }
}
