//! Where the laptop keeps its sign-in to the server: the profile's
//! `server.*` values, replaced or forgotten together in one transaction so
//! a half-saved sign-in is never read back.

use std::collections::HashMap;

use super::Store;
use crate::db;
use crate::error::Result;

/// The key prefix every saved sign-in value carries.
const PREFIX: &str = "server.";

impl Store {
    /// The saved sign-in values, keyed without the prefix (empty: never
    /// signed in, or signed out).
    pub(crate) fn sign_in(&self) -> Result<HashMap<String, String>> {
        Ok(db::meta_with_prefix(&self.conn, PREFIX)?
            .into_iter()
            .map(|(k, v)| (k[PREFIX.len()..].to_string(), v))
            .collect())
    }

    /// Replaces the saved sign-in with `values` (keys without the prefix).
    pub(crate) fn save_sign_in(&mut self, values: &[(&str, &str)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        db::meta_delete_prefix(&tx, PREFIX)?;
        for (key, value) in values {
            db::meta_set(&tx, &format!("{PREFIX}{key}"), value)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets the saved sign-in; returns whether there was one.
    pub(crate) fn forget_sign_in(&mut self) -> Result<bool> {
        Ok(db::meta_delete_prefix(&self.conn, PREFIX)? > 0)
    }
}
