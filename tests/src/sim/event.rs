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
    /// A salesperson files a credit-limit request.
    CreditRequest {
        laptop: usize,
        pick: usize,
        amount: u32,
    },
    /// A salesperson registers a complaint.
    Complaint { laptop: usize, pick: usize },
    /// The next step of an open complaint is taken: by head office (the
    /// clerk, or the manager whose step it is) or, when it is the
    /// salesperson's, on the laptop.
    ComplaintStep {
        laptop: usize,
        pick: usize,
        office: bool,
    },
    /// Head office corrects a field of any customer, with a reason.
    OfficeEdit { pick: usize, value: u32 },
    /// Head office gives a customer to another salesperson.
    Reassign { pick: usize, to: usize },
    /// The manager whose turn it is decides on a waiting credit request.
    Decide { pick: usize, approve: bool },
    /// Head office settles a conflicting field on one of its values.
    Resolve { pick: usize },
    /// Head office runs the grading rule over every customer.
    Grade,
    /// Head office revokes a laptop's device: the laptop wipes its
    /// customers (as `crm sync` does when told) and signs in afresh.
    RevokeDevice { laptop: usize },
    /// Head office adds a salesperson (with no laptop yet).
    AddUser,
    /// A salesperson gets a new laptop, set up from nothing.
    NewLaptop { user: usize },
    /// A laptop syncs.
    Sync { laptop: usize },
    /// A laptop's sync reaches the server, which stores the push, but the
    /// answer never arrives (the network is cut mid-reply).
    SyncCutMidReply { laptop: usize },
    /// A laptop's sync never reaches the server (cut mid-request).
    SyncCutMidRequest { laptop: usize },
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
    /// The same, to a point `back` log entries before the backup's latest.
    RestoreServerEarlier { back: u64 },
    /// The server's clock is set `minutes` off true time (a new machine,
    /// a wrong time zone, a dead battery), from now on.
    ServerClock { minutes: i64 },
    /// A laptop's clock is set `minutes` off true time, from now on.
    LaptopClock { laptop: usize, minutes: i64 },
    /// The backup node pulls, and the answer is lost on the way.
    BackupCut,
    /// The backup node stores one pull and is killed before it closes its
    /// store.
    BackupCrash,
}

impl Event {
    /// The laptop this event happens on, if one (as drawn: the world takes
    /// it modulo the laptops there are).
    pub fn laptop(&self) -> Option<usize> {
        match *self {
            Event::LaptopEdit { laptop, .. }
            | Event::Visit { laptop, .. }
            | Event::NewCustomer { laptop }
            | Event::Contact { laptop, .. }
            | Event::CreditRequest { laptop, .. }
            | Event::Complaint { laptop, .. }
            | Event::ComplaintStep {
                laptop,
                office: false,
                ..
            }
            | Event::RevokeDevice { laptop }
            | Event::Sync { laptop }
            | Event::SyncCutMidReply { laptop }
            | Event::SyncCutMidRequest { laptop }
            | Event::CopyLaptop { laptop }
            | Event::RestoreLaptop { laptop, .. }
            | Event::CloneLaptop { laptop }
            | Event::LaptopClock { laptop, .. } => Some(laptop),
            _ => None,
        }
    }
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
            Event::CreditRequest {
                laptop,
                pick,
                amount,
            } => {
                write!(f, "laptop {laptop} asks credit {amount} for #{pick}")
            }
            Event::Complaint { laptop, pick } => {
                write!(f, "laptop {laptop} registers a complaint on #{pick}")
            }
            Event::ComplaintStep {
                laptop,
                pick,
                office,
            } => {
                if office {
                    write!(f, "head office takes the next step of complaint #{pick}")
                } else {
                    write!(
                        f,
                        "laptop {laptop} takes the next step of complaint #{pick}"
                    )
                }
            }
            Event::Decide { pick, approve } => {
                write!(f, "a manager decides request #{pick} (approve: {approve})")
            }
            Event::Resolve { pick } => write!(f, "head office resolves conflict #{pick}"),
            Event::Grade => write!(f, "head office runs grading"),
            Event::RevokeDevice { laptop } => write!(f, "laptop {laptop}'s device is revoked"),
            Event::AddUser => write!(f, "head office adds a salesperson"),
            Event::NewLaptop { user } => write!(f, "salesperson {user} gets a new laptop"),
            Event::SyncCutMidRequest { laptop } => {
                write!(f, "laptop {laptop} syncs; the request is lost")
            }
            Event::RestoreServerEarlier { back } => {
                write!(
                    f,
                    "the server is restored to {back} entries before the backup's latest"
                )
            }
            Event::ServerClock { minutes } => write!(f, "the server's clock is {minutes} min off"),
            Event::LaptopClock { laptop, minutes } => {
                write!(f, "laptop {laptop}'s clock is {minutes} min off")
            }
            Event::BackupCut => write!(f, "the backup node's pull is cut"),
            Event::BackupCrash => write!(f, "the backup node is killed after a pull"),
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
        0..=13 => Event::LaptopEdit {
            laptop,
            pick,
            value: rng.u32(..4),
        },
        14..=27 => Event::Visit { laptop, pick },
        28..=31 => Event::NewCustomer { laptop },
        32..=35 => Event::Contact { laptop, pick },
        36..=38 => Event::CreditRequest {
            laptop,
            pick,
            amount: rng.u32(1..10) * 100_000,
        },
        39..=40 => Event::Complaint { laptop, pick },
        41..=46 => Event::OfficeEdit {
            pick,
            value: rng.u32(..4),
        },
        47..=49 => Event::Reassign {
            pick,
            to: rng.usize(..8),
        },
        50..=52 => Event::Decide {
            pick,
            approve: rng.u32(..4) != 0,
        },
        53..=54 => Event::Resolve { pick },
        55 => Event::Grade,
        56 => Event::RevokeDevice { laptop },
        57 => Event::AddUser,
        58 => Event::NewLaptop { user: laptop },
        59..=60 => Event::ComplaintStep {
            laptop,
            pick,
            office: rng.bool(),
        },
        61..=77 => Event::Sync { laptop },
        78 => Event::LaptopClock {
            laptop,
            minutes: rng.i64(-180..=180),
        },
        79 => Event::BackupCut,
        80 => Event::BackupCrash,
        81..=83 => Event::SyncCutMidReply { laptop },
        84..=85 => Event::SyncCutMidRequest { laptop },
        86..=88 => Event::CopyLaptop { laptop },
        89..=90 => Event::RestoreLaptop {
            laptop,
            copy: rng.usize(..4),
        },
        91..=92 => Event::CloneLaptop { laptop },
        93 => Event::ServerRestart,
        94..=96 => Event::BackupCatchUp,
        97 => Event::RestoreServer,
        98 => Event::RestoreServerEarlier {
            back: rng.u64(1..6),
        },
        _ => Event::ServerClock {
            minutes: rng.i64(-180..=180),
        },
    }
}
