//! How fast anyone may guess passwords: failed sign-ins slow down, per
//! login (as typed) and per client address, and a login locks for a while
//! after many failures in a row.
//!
//! The per-login count lives in the database (an administrator sees and
//! lifts locks, also from `crm-server user unlock` in another process); it
//! is kept for logins that name no account too, so a refusal never tells
//! which accounts exist. The per-address count lives in memory: it only
//! needs to hold one attacker back while the server runs.
//!
//! The policy, in numbers: a login's first [`LOGIN_FREE`] failures cost
//! nothing; after that each one must wait 1 s, 2 s, 4 s, … (at most
//! [`MAX_DELAY_MS`]) after the last; at [`LOCK_AT`] failures in a row the
//! login locks for [`LOCK_MS`], and each failure after a lock ran out locks
//! it again. A correct sign-in forgets the login's failures, so typos now
//! and then never add up to a lock, and so does a quiet [`FORGET_MS`]
//! after the last one (unless the login is locked). An address gets
//! [`ADDRESS_FREE`] failures an hour, across all logins, before its own
//! delays start; a success does not clear them (whoever holds one account
//! could otherwise wipe their address's count between guesses at others).
//! One attacker's guesses therefore lock the account they attack, and slow
//! their own address, but no one else's sign-in to another account.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failures of one login that cost no delay.
pub const LOGIN_FREE: u32 = 5;
/// Failures in a row that lock a login.
pub const LOCK_AT: u32 = 10;
/// How long a lock lasts (ms).
pub const LOCK_MS: i64 = 30 * 60 * 1000;
/// Failures from one address in [`ADDRESS_WINDOW_MS`] that cost no delay.
pub const ADDRESS_FREE: u32 = 10;
/// The window an address's failures are counted in (ms).
pub const ADDRESS_WINDOW_MS: i64 = 60 * 60 * 1000;
/// Longest delay between two attempts (ms).
pub const MAX_DELAY_MS: i64 = 15 * 60 * 1000;
/// A login's failures are forgotten this long after the last one, unless
/// it is locked (ms). A day: long enough that waiting for the slate to be
/// wiped gives a guesser fewer tries than the locks allow (one each
/// [`LOCK_MS`]), short enough that logins typed at random, each kept until
/// then, cannot pile up.
pub const FORGET_MS: i64 = 24 * 60 * 60 * 1000;
/// Addresses remembered at most; the oldest are forgotten first.
const MAX_ADDRESSES: usize = 10_000;

/// The wait after `failures` failures, of which `free` cost nothing (ms).
pub fn delay_after(failures: u32, free: u32) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = (failures - free).min(20);
    (1000_i64 << doublings).min(MAX_DELAY_MS)
}

/// When a login with this record may try again (ms), if not now.
pub fn login_wait(f: &crate::db::access::Failures, now: i64) -> Option<i64> {
    let until = f
        .locked_until
        .unwrap_or(0)
        .max(f.last_at + delay_after(f.failures, LOGIN_FREE));
    (until > now).then_some(until)
}

/// When the `failures`-th failure in a row locks the login, until when.
pub fn lock_for(failures: u32, now: i64) -> Option<i64> {
    (failures >= LOCK_AT).then_some(now + LOCK_MS)
}

/// Whether the failure that took a login from `before` to `after` started
/// a lock: the first at [`LOCK_AT`], or any later one once the last ran out
/// (each is written to the audit when it starts).
pub fn lock_starts(
    before: &crate::db::access::Failures,
    after: &crate::db::access::Failures,
    now: i64,
) -> bool {
    after.locked_until.is_some_and(|u| u > now) && before.locked_until.is_none_or(|u| u <= now)
}

#[derive(Debug, Clone, Copy)]
struct AddressRecord {
    failures: u32,
    first_at: i64,
    last_at: i64,
}

/// Failed sign-ins per client address, in memory.
#[derive(Debug, Default)]
pub struct AddressThrottle {
    seen: Mutex<HashMap<IpAddr, AddressRecord>>,
}

/// An attempt from an address, counted as a failure before its password is
/// checked (so that attempts sent at once are judged one after another);
/// [`AddressThrottle::release`] takes it back when the password was right.
#[derive(Debug, Clone, Copy)]
pub struct Reserved {
    address: IpAddr,
    at: i64,
    last_before: i64,
}

impl AddressThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, AddressRecord>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts an attempt from `address` at `now` as a failure, unless the
    /// address must wait: then nothing is counted, and the answer is until
    /// when (ms).
    pub fn reserve(&self, address: IpAddr, now: i64) -> Result<Reserved, i64> {
        let mut seen = self.lock();
        if let Some(r) = seen.get(&address) {
            let until = r.last_at + delay_after(r.failures, ADDRESS_FREE);
            if now - r.first_at <= ADDRESS_WINDOW_MS && until > now {
                return Err(until);
            }
        }
        if seen.len() >= MAX_ADDRESSES && !seen.contains_key(&address) {
            seen.retain(|_, r| now - r.last_at <= ADDRESS_WINDOW_MS);
            if seen.len() >= MAX_ADDRESSES {
                if let Some(oldest) = seen.iter().min_by_key(|(_, r)| r.last_at).map(|(a, _)| *a) {
                    seen.remove(&oldest);
                }
            }
        }
        let r = seen.entry(address).or_insert(AddressRecord {
            failures: 0,
            first_at: now,
            last_at: now,
        });
        if now - r.first_at > ADDRESS_WINDOW_MS {
            *r = AddressRecord {
                failures: 0,
                first_at: now,
                last_at: now,
            };
        }
        let last_before = r.last_at;
        r.failures += 1;
        r.last_at = now;
        Ok(Reserved {
            address,
            at: now,
            last_before,
        })
    }

    /// Takes back an attempt [`AddressThrottle::reserve`] counted: the
    /// password was right, or it was never checked.
    pub fn release(&self, reserved: Reserved) {
        let mut seen = self.lock();
        if let Some(r) = seen.get_mut(&reserved.address) {
            r.failures = r.failures.saturating_sub(1);
            // Unless a later attempt has moved it on since.
            if r.last_at == reserved.at {
                r.last_at = reserved.last_before;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_stop_growing() {
        assert_eq!(delay_after(4, 5), 0);
        assert_eq!(delay_after(5, 5), 1000);
        assert_eq!(delay_after(6, 5), 2000);
        assert_eq!(delay_after(9, 5), 16_000);
        assert_eq!(delay_after(40, 5), MAX_DELAY_MS);
    }

    #[test]
    fn an_address_is_held_back_after_its_free_failures_and_forgiven_later() {
        let t = AddressThrottle::default();
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        for i in 0..ADDRESS_FREE {
            assert!(t.reserve(a, i as i64).is_ok());
        }
        assert!(t.reserve(a, 20).is_err());
        let other: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(t.reserve(other, 20).is_ok(), "others unaffected");
        assert!(t.reserve(a, ADDRESS_WINDOW_MS + 100).is_ok());
    }

    #[test]
    fn a_released_attempt_is_not_held_against_the_address() {
        let t = AddressThrottle::default();
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        for i in 0..ADDRESS_FREE * 3 {
            let r = t.reserve(a, i as i64).unwrap();
            t.release(r);
        }
        assert!(t.reserve(a, 100).is_ok());
    }
}
