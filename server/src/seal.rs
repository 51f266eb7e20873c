//! The server's seal on the changes it makes itself: head office's edits,
//! resolutions, decisions, grades, reviews and imports, and its own
//! put-backs (see `ChangeNote::seal`). A server restored from a backup
//! that lacks such a change takes it back from a laptop by its seal, as
//! one the lost server made, whatever that server's clock said; a laptop
//! cannot make one, as the key never leaves the servers and their backup.

use ring::hmac;
use rusqlite::Connection;

use crm_shared::note::ChangeNote;

use crate::db::documents as docs;
use crate::db::DbError;

/// The seal of `note` on customer `customer` at `time_secs`.
fn compute(key: &str, customer: &str, note: &ChangeNote, time_secs: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    let tag = hmac::sign(&key, &note.seal_input(customer, time_secs));
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// `note` sealed for a change to `customer` committed at `now` (ms), with
/// this server's key.
pub fn sealed(
    conn: &Connection,
    customer: &str,
    note: ChangeNote,
    now: i64,
) -> Result<ChangeNote, DbError> {
    Ok(seal_with(&key(conn)?, customer, note, now))
}

/// This server's seal key.
pub fn key(conn: &Connection) -> Result<String, DbError> {
    Ok(docs::meta(conn, "seal_key")?)
}

/// `note` sealed with `key` (see [`sealed`]), for work that reads the key
/// once for many customers.
pub fn seal_with(key: &str, customer: &str, mut note: ChangeNote, now: i64) -> ChangeNote {
    note.seal = None;
    note.seal = Some(compute(key, customer, &note, now.div_euclid(1000)));
    note
}

/// Whether `note`, on a change to `customer` made at `time_secs` (the
/// change's own time, in seconds), carries this key's seal.
pub fn is_sealed(key: &str, customer: &str, note: &ChangeNote, time_secs: i64) -> bool {
    let Some(seal) = &note.seal else {
        return false;
    };
    let mut unsealed = note.clone();
    unsealed.seal = None;
    let Some(tag) = hex_bytes(seal) else {
        return false;
    };
    // ring compares in constant time, as the key's secrecy is the point.
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    hmac::verify(&key, &unsealed.seal_input(customer, time_secs), &tag).is_ok()
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_shared::note::Action;

    #[test]
    fn a_seal_holds_only_for_its_customer_note_time_and_key() {
        let note = ChangeNote::new("clerk", Action::Edit).with_reason(Some("总部核对"));
        let seal = compute("k1", "c1", &note, 100);
        let mut sealed = note.clone();
        sealed.seal = Some(seal);
        assert!(is_sealed("k1", "c1", &sealed, 100));
        assert!(!is_sealed("k2", "c1", &sealed, 100), "another key");
        assert!(!is_sealed("k1", "c2", &sealed, 100), "another customer");
        assert!(!is_sealed("k1", "c1", &sealed, 101), "another time");
        let mut forged = sealed.clone();
        forged.by = "s0".into();
        assert!(!is_sealed("k1", "c1", &forged, 100), "another author");
        forged = sealed.clone();
        forged.reason = Some("改了".into());
        assert!(!is_sealed("k1", "c1", &forged, 100), "another reason");
        assert!(!is_sealed("k1", "c1", &note, 100), "no seal");
    }
}
