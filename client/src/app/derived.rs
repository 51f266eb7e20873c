//! Figures that read every card (this laptop's warnings, the records due
//! for review): with thousands of customers that takes seconds, so it is
//! done on a thread of its own after each change, and pages show the last
//! result with the time it was computed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crm_shared::reports::{review_due, ReviewDue};
use crm_shared::warnings::{self, Warning};

use crate::clock::now_millis;
use crate::store::Store;

/// The last figures computed.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// This laptop's warnings.
    pub warnings: Vec<Warning>,
    /// Records due for review.
    pub review_due: Vec<ReviewDue>,
    /// When they were computed (ms); 0 for never.
    pub at: i64,
}

#[derive(Default)]
struct State {
    figures: Figures,
    stale: bool,
    computing: bool,
}

/// Figures over every card, recomputed in the background when stale.
pub struct Derived {
    dir: PathBuf,
    state: Arc<Mutex<State>>,
}

impl Derived {
    /// No figures yet; [`Derived::stale`] starts the first computation.
    pub fn new(dir: PathBuf) -> Derived {
        Derived {
            dir,
            state: Arc::default(),
        }
    }

    /// The data changed: compute again (once more after the running
    /// computation, if one is running).
    pub fn stale(&self) {
        let Ok(mut s) = self.state.lock() else { return };
        s.stale = true;
        if s.computing {
            return;
        }
        s.computing = true;
        let state = self.state.clone();
        let dir = self.dir.clone();
        std::thread::spawn(move || loop {
            if let Ok(mut s) = state.lock() {
                if !s.stale {
                    s.computing = false;
                    return;
                }
                s.stale = false;
            }
            if let Some(f) = compute(&dir) {
                if let Ok(mut s) = state.lock() {
                    s.figures = f;
                }
            }
        });
    }

    /// The last figures computed.
    pub fn figures(&self) -> Figures {
        self.state
            .lock()
            .map(|s| s.figures.clone())
            .unwrap_or_default()
    }
}

fn compute(dir: &std::path::Path) -> Option<Figures> {
    if !Store::file(dir).exists() {
        return None;
    }
    let mut store = Store::open(dir).ok()?;
    let settings = store.settings().ok()?;
    let cards = store.rules_cards().ok()?;
    let today = crate::clock::today();
    Some(Figures {
        warnings: cards
            .iter()
            .flat_map(|c| warnings::check(c, &settings, today))
            .collect(),
        review_due: review_due(&cards, settings.review_days, today),
        at: now_millis(),
    })
}
