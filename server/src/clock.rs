//! Time as the server stores it: milliseconds since the Unix epoch (UTC),
//! and its rendering for people in the local time zone.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Milliseconds in `days` days.
pub fn days_ms(days: u32) -> i64 {
    i64::from(days) * 24 * 60 * 60 * 1000
}

/// `2025-03-01 14:05` in local time, for admin output.
pub fn local_minutes(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        None => ms.to_string(),
    }
}

/// The server's clock for rules that depend on time passing (sign-in
/// delays and locks, idle console sessions): the system clock, moved on by
/// a test's [`Clock::advance`] instead of the test waiting, or stopped by
/// [`Clock::freeze`] where the test's own pace must not matter.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// Where the clock stands while frozen; 0 while it runs.
    frozen: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    /// Milliseconds since the Unix epoch, now, by this clock.
    pub fn now(&self) -> i64 {
        match self.frozen.load(std::sync::atomic::Ordering::Relaxed) {
            0 => now_ms().saturating_add(self.offset.load(std::sync::atomic::Ordering::Relaxed)),
            at => at,
        }
    }

    /// Moves this clock (and every copy of it) `ms` into the future.
    pub fn advance(&self, ms: i64) {
        use std::sync::atomic::Ordering::Relaxed;
        if self.frozen.load(Relaxed) == 0 {
            self.offset.fetch_add(ms, Relaxed);
        } else {
            self.frozen.fetch_add(ms, Relaxed);
        }
    }

    /// Stops this clock (and every copy of it) where it stands: from then
    /// on only [`Clock::advance`] moves it.
    pub fn freeze(&self) {
        self.frozen
            .store(self.now(), std::sync::atomic::Ordering::Relaxed);
    }
}
