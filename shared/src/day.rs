//! Calendar dates (follow-up due dates, validity periods), stored as
//! `YYYY-MM-DD` strings so documents stay readable and sort as text.

use std::fmt;
use std::str::FromStr;

use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler};
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar day with no time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Day(pub NaiveDate);

/// A string that is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{0}”不是有效日期,应为 YYYY-MM-DD 格式")]
pub struct BadDay(pub String);

impl Day {
    /// The day `n` days after this one.
    pub fn plus_days(self, n: i64) -> Day {
        Day(self.0 + chrono::Duration::days(n))
    }

    /// Whole days from `self` to `later` (negative if `later` is earlier).
    pub fn days_until(self, later: Day) -> i64 {
        (later.0 - self.0).num_days()
    }

    /// The local calendar day of a Unix timestamp in milliseconds.
    pub fn from_millis_local(ms: i64) -> Day {
        use chrono::TimeZone;
        let dt = chrono::Local
            .timestamp_millis_opt(ms)
            .single()
            .unwrap_or_else(chrono::Local::now);
        Day(dt.date_naive())
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl FromStr for Day {
    type Err = BadDay;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map(Day)
            .map_err(|_| BadDay(s.to_string()))
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Reconcile for Day {
    type Key<'a> = autosurgeon::reconcile::NoKey;
    fn reconcile<R: Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
        r.str(self.to_string())
    }
}

impl Hydrate for Day {
    fn hydrate_string(s: &str) -> Result<Self, HydrateError> {
        s.parse()
            .map_err(|_| HydrateError::unexpected("YYYY-MM-DD", s.to_string()))
    }
}
