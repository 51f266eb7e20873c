//! Time as the laptop records it: milliseconds since the Unix epoch.

use std::cell::Cell;

thread_local! {
    /// How far this thread's reading is moved from the system clock (ms).
    static SKEW: Cell<i64> = const { Cell::new(0) };
}

/// Milliseconds since the epoch, now, as this laptop's clock reads it.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis() + SKEW.with(Cell::get)
}

/// Today on this laptop's clock, in its time zone.
pub fn today() -> crm_shared::day::Day {
    crm_shared::day::Day::from_millis_local(now_millis())
}

/// Runs `f` with this thread's clock `skew` ms off the system's: what a
/// laptop whose clock is wrong records. For simulations of several laptops
/// in one process; nothing else sets a skew.
pub fn with_skew<T>(skew: i64, f: impl FnOnce() -> T) -> T {
    /// Puts the earlier skew back, even if `f` panics.
    struct Restore(i64);
    impl Drop for Restore {
        fn drop(&mut self) {
            SKEW.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SKEW.with(|s| s.replace(skew)));
    f()
}
