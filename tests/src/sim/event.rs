//! What can happen in a history, drawn with the weights of an ordinary week:
//! mostly salespeople's edits and syncs, now and then head office, rarely a
//! crash, a restore or a copied disk.
//!
//! Events name laptops and customers by index; the world takes each index
//! modulo what exists when the event runs, so any sub-list of a history is
//! itself a valid history (which is what shrinking needs).

use std::fmt;

/// One thing that happens to the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A salesperson changes a field of one of their customers offline.
    LaptopEdit {
        laptop: usize,
        pick: usize,
        value: u32,
    },
    /// A salesperson logs a visit.
    Visit { laptop: usize, pick: usize },
    /// A salesperson enters a new customer.
    NewCustomer { laptop: usize },
    /// A salesperson adds a contact.
    Contact { laptop: usize, pick: usize },
    /// Head office corrects a field of any customer, with a reason.
    OfficeEdit { pick: usize, value: u32 },
    /// Head office gives a customer to another salesperson.
    Reassign { pick: usize, to: usize },
    /// A laptop syncs.
    Sync { laptop: usize },
    /// A laptop's sync reaches the server, which stores the push, but the
    /// answer never arrives (the network is cut mid-reply).
    SyncCutMidReply { laptop: usize },
    /// A laptop's store is copied aside (a system backup, a VM snapshot).
    CopyLaptop { laptop: usize },
    /// A laptop's store is put back from one of its earlier copies.
    RestoreLaptop { laptop: usize, copy: usize },
    /// A laptop's disk is cloned to a new laptop of the same salesperson.
    CloneLaptop { laptop: usize },
    /// The server stops (everything committed stays) and starts again.
    ServerRestart,
    /// The backup node pulls until it has everything the server has.
    BackupCatchUp,
    /// The server is lost and rebuilt from the backup node's copy.
    RestoreServer,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Event::LaptopEdit {
                laptop,
                pick,
                value,
            } => {
                write!(f, "laptop {laptop} edits customer #{pick} (value {value})")
            }
            Event::Visit { laptop, pick } => write!(f, "laptop {laptop} logs a visit on #{pick}"),
            Event::NewCustomer { laptop } => write!(f, "laptop {laptop} adds a customer"),
            Event::Contact { laptop, pick } => {
                write!(f, "laptop {laptop} adds a contact to #{pick}")
            }
            Event::OfficeEdit { pick, value } => {
                write!(f, "head office edits customer #{pick} (value {value})")
            }
            Event::Reassign { pick, to } => {
                write!(
                    f,
                    "head office reassigns customer #{pick} to salesperson {to}"
                )
            }
            Event::Sync { laptop } => write!(f, "laptop {laptop} syncs"),
            Event::SyncCutMidReply { laptop } => {
                write!(f, "laptop {laptop} syncs; the answer is lost")
            }
            Event::CopyLaptop { laptop } => write!(f, "laptop {laptop}'s store is copied aside"),
            Event::RestoreLaptop { laptop, copy } => {
                write!(f, "laptop {laptop} is restored from its copy #{copy}")
            }
            Event::CloneLaptop { laptop } => write!(f, "laptop {laptop}'s disk is cloned"),
            Event::ServerRestart => write!(f, "the server restarts"),
            Event::BackupCatchUp => write!(f, "the backup node catches up"),
            Event::RestoreServer => write!(f, "the server is restored from the backup"),
        }
    }
}

/// A history of `len` events drawn from `seed`.
pub fn history(seed: u64, len: usize) -> Vec<Event> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| draw(&mut rng)).collect()
}

fn draw(rng: &mut fastrand::Rng) -> Event {
    let laptop = rng.usize(..8);
    let pick = rng.usize(..64);
    // Weights out of 100.
    match rng.u32(..100) {
        0..=17 => Event::LaptopEdit {
            laptop,
            pick,
            value: rng.u32(..4),
        },
        18..=34 => Event::Visit { laptop, pick },
        35..=39 => Event::NewCustomer { laptop },
        40..=44 => Event::Contact { laptop, pick },
        45..=52 => Event::OfficeEdit {
            pick,
            value: rng.u32(..4),
        },
        53..=55 => Event::Reassign {
            pick,
            to: rng.usize(..8),
        },
        56..=79 => Event::Sync { laptop },
        80..=83 => Event::SyncCutMidReply { laptop },
        84..=87 => Event::CopyLaptop { laptop },
        88..=90 => Event::RestoreLaptop {
            laptop,
            copy: rng.usize(..4),
        },
        91..=92 => Event::CloneLaptop { laptop },
        93..=94 => Event::ServerRestart,
        95..=97 => Event::BackupCatchUp,
        _ => Event::RestoreServer,
    }
}
