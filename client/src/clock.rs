//! Time as the laptop records it: milliseconds since the Unix epoch.

/// Milliseconds since the epoch, now.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
