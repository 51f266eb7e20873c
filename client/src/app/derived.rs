//! Figures that read every card (this laptop's warnings, the records due
//! for review, the grade preview, today's daily report): with thousands of
//! customers that takes seconds, so it is done on a thread of its own
//! after each change.
//!
//! Two kinds of reader. 今日 and 预警 show the last result with the time it
//! was computed ([`Derived::figures`]). 日报 and 等级预览 show nothing
//! older than the store: they take the result only while it is current
//! ([`Derived::current`]) and otherwise compute directly, slower.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use crm_shared::day::Day;
use crm_shared::grading::GradeRow;
use crm_shared::reports::{review_due, DailyReport, ReviewDue};
use crm_shared::warnings::{self, Warning};

use crate::clock::{now_millis, today};
use crate::store::Store;

/// The figures of one computation.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// This laptop's warnings.
    pub warnings: Vec<Warning>,
    /// Records due for review.
    pub review_due: Vec<ReviewDue>,
    /// The grade preview's rows, as its page lists them.
    pub grades: Vec<GradeRow>,
    /// The daily report of `day`, as its page shows it.
    pub daily: Option<DailyReport>,
    /// The day they were computed for; `None` for never.
    pub day: Option<Day>,
    /// When they were computed (ms); 0 for never.
    pub at: i64,
    /// The changes counted when their computation began.
    seen: u64,
}

#[derive(Default)]
struct State {
    figures: Arc<Figures>,
    stale: bool,
    computing: bool,
    /// Changes counted so far. A computation that began before the last
    /// one read the store without it, even if it finished after.
    changes: u64,
}

impl State {
    /// The data changed; whether a computation must be started.
    fn mark(&mut self) -> bool {
        self.stale = true;
        self.changes += 1;
        !std::mem::replace(&mut self.computing, true)
    }

    /// The changes a computation starting now will see, or `None` when
    /// nothing changed since the last one began (the thread then stops).
    fn begin(&mut self) -> Option<u64> {
        if !self.stale {
            self.computing = false;
            return None;
        }
        self.stale = false;
        Some(self.changes)
    }

    fn finish(&mut self, mut f: Figures, seen: u64) {
        f.seen = seen;
        self.figures = Arc::new(f);
    }

    /// The figures, if nothing changed since their computation began and
    /// they were computed for `day`.
    fn current(&self, day: Day) -> Option<Arc<Figures>> {
        let f = &self.figures;
        (f.seen == self.changes && f.day == Some(day)).then(|| f.clone())
    }
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

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The data changed: compute again (once more after the running
    /// computation, if one is running).
    pub fn stale(&self) {
        if !self.lock().mark() {
            return;
        }
        let state = self.state.clone();
        let dir = self.dir.clone();
        std::thread::spawn(move || {
            let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let Some(seen) = lock().begin() else { return };
                if let Some(f) = compute(&dir) {
                    lock().finish(f, seen);
                }
            }
        });
    }

    /// The last figures computed, however old.
    pub fn figures(&self) -> Arc<Figures> {
        self.lock().figures.clone()
    }

    /// The last figures computed if they are those of the store as it is
    /// now and of today; else `None`, and the caller computes what it needs.
    pub fn current(&self) -> Option<Arc<Figures>> {
        let day = today();
        let s = self.lock();
        if let Some(f) = s.current(day) {
            return Some(f);
        }
        // Nothing changed but the date: an app left running overnight
        // would otherwise compute directly until the next change.
        let new_day = s.figures.seen == s.changes && s.figures.day.is_some() && !s.computing;
        drop(s);
        if new_day {
            self.stale();
        }
        None
    }
}

fn compute(dir: &std::path::Path) -> Option<Figures> {
    if !Store::file(dir).exists() {
        return None;
    }
    let mut store = Store::open(dir).ok()?;
    let settings = store.settings().ok()?;
    let cards = store.rules_cards().ok()?;
    let today = today();
    let daily = super::reports::daily_report(&mut store, today).ok()?;
    Some(Figures {
        warnings: cards
            .iter()
            .flat_map(|c| warnings::check(c, &settings, today))
            .collect(),
        review_due: review_due(&cards, settings.review_days, today),
        grades: super::reports::grade_rows(&cards, &settings.grading, today),
        daily: Some(daily),
        day: Some(today),
        at: now_millis(),
        seen: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record;
    use crm_shared::codes::ActivityKind;
    use crm_shared::Customer;

    fn computed(day: Day) -> Figures {
        Figures {
            day: Some(day),
            at: 1,
            ..Default::default()
        }
    }

    /// A computation that began before a change is not current, though it
    /// finished after it; the next one, begun after, is.
    #[test]
    fn a_result_begun_before_a_change_is_not_current() {
        let day = today();
        let mut s = State::default();
        assert!(s.current(day).is_none(), "nothing computed yet");
        assert!(s.mark(), "the first change starts a thread");
        let seen = s.begin().unwrap();
        assert!(!s.mark(), "the running thread will compute again");
        s.finish(computed(day), seen);
        assert!(s.current(day).is_none());
        let seen = s.begin().unwrap();
        assert!(s.current(day).is_none(), "the old result, still");
        s.finish(computed(day), seen);
        assert!(s.current(day).is_some());
        assert!(s.begin().is_none() && !s.computing);
        // Another day: the same figures are not today's.
        assert!(s.current(day.plus_days(1)).is_none());
        // A change after the result: not current until computed again.
        assert!(s.mark());
        assert!(s.current(day).is_none());
    }

    /// Against a real store: once computed, the figures are what the pages
    /// would compute directly; a change makes them not current at once,
    /// and the next computation includes it.
    #[test]
    fn figures_match_the_direct_computation_and_a_change_unsettles_them() {
        let dir = tempfile::tempdir().unwrap();
        crate::key::create(dir.path(), "单元测试的本机数据密码").unwrap();
        let mut store = Store::init(dir.path(), "zhang", "张三").unwrap();
        for (id, name) in [("c1", "杭州西湖电子"), ("c2", "安徽合肥机械")] {
            let card = Customer {
                id: id.into(),
                name: name.into(),
                salesperson: "zhang".into(),
                ..Default::default()
            };
            store.create(&card, false).unwrap();
        }
        let visit = |store: &mut Store, notes: &str| {
            record::visit(
                store,
                "c1",
                record::Visit {
                    kind: ActivityKind::Call,
                    notes: notes.into(),
                    intent: None,
                    next: None,
                    at: now_millis(),
                },
            )
            .unwrap();
        };
        visit(&mut store, "第一次电话");

        let derived = Derived::new(dir.path().to_path_buf());
        derived.stale();
        let direct = |store: &mut Store| {
            let day = today();
            let grading = store.settings().unwrap().grading;
            let cards = store.rules_cards().unwrap();
            (
                super::super::reports::grade_rows(&cards, &grading, day),
                super::super::reports::daily_report(store, day).unwrap(),
            )
        };
        let f = settled(&derived);
        let (grades, daily) = direct(&mut store);
        assert_eq!(f.grades, grades);
        assert_eq!(f.grades[0].name, "安徽合肥机械", "in pinyin order");
        assert_eq!(f.daily.as_ref(), Some(&daily));
        assert_eq!(daily.activities.len(), 1);

        visit(&mut store, "第二次电话");
        derived.stale();
        assert!(derived.current().is_none(), "a change unsettles them");
        let f = settled(&derived);
        let (grades, daily) = direct(&mut store);
        assert_eq!(f.grades, grades);
        assert_eq!(f.daily.as_ref(), Some(&daily));
        assert_eq!(daily.activities.len(), 2);
    }

    /// Waits for the background computation (bounded, so a hang fails).
    fn settled(derived: &Derived) -> Arc<Figures> {
        let start = std::time::Instant::now();
        loop {
            if let Some(f) = derived.current() {
                return f;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "never computed"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
