//! Calendar dates (follow-up due dates, validity periods), stored as
//! `YYYY-MM-DD` strings so documents stay readable and sort as text.

use std::fmt;
use std::str::FromStr;

use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar day with no time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Day(pub NaiveDate);

/// The earliest year a typed date may have.
pub const MIN_YEAR: i32 = 1900;
/// The latest year a typed date may have.
pub const MAX_YEAR: i32 = 9999;

/// A string that is not a date a person could mean.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadDay {
    /// Not `YYYY-MM-DD`, or no such day.
    #[error("“{0}”不是有效日期,应为 YYYY-MM-DD 格式")]
    Format(String),
    /// A real day, but outside [`MIN_YEAR`]–[`MAX_YEAR`].
    #[error("日期“{0}”超出范围,年份应在 1900 到 9999 之间")]
    OutOfRange(String),
}

impl Day {
    /// The day `n` days after this one (before it if `n` is negative),
    /// stopping at the first or last day chrono can represent rather than
    /// panicking: cards may carry any stored day and reports add to it.
    pub fn plus_days(self, n: i64) -> Day {
        let end = if n < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        };
        Day(chrono::TimeDelta::try_days(n)
            .and_then(|d| self.0.checked_add_signed(d))
            .unwrap_or(end))
    }

    /// Any `YYYY-MM-DD` chrono accepts, whatever its year. Only for days
    /// already stored: a document written before the year range was checked
    /// must still load.
    fn parse_stored(s: &str) -> Result<Day, BadDay> {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map(Day)
            .map_err(|_| BadDay::Format(s.to_string()))
    }

    /// The Monday of this day's week (weeks run Monday to Sunday, as in
    /// China).
    pub fn week_start(self) -> Day {
        use chrono::Datelike;
        self.plus_days(-i64::from(self.0.weekday().num_days_from_monday()))
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

/// How people read a moment stored as milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// A day (建档时间): `YYYY-MM-DD`.
    Date,
    /// A moment of the day (a visit, a complaint): `YYYY-MM-DD HH:MM`.
    DateTime,
}

impl Moment {
    /// `ms` in local time, as this kind of moment is read; `None` for 0 or
    /// less (not recorded) or a time the calendar cannot hold.
    pub fn show(self, ms: i64) -> Option<String> {
        use chrono::TimeZone;
        let t = chrono::Local.timestamp_millis_opt(ms).single()?;
        (ms > 0).then(|| match self {
            Moment::Date => t.format("%Y-%m-%d").to_string(),
            Moment::DateTime => t.format("%Y-%m-%d %H:%M").to_string(),
        })
    }

    /// A moment typed by a person, in local time: `YYYY-MM-DD` (the start
    /// of that day) or `YYYY-MM-DD HH:MM`; milliseconds since the epoch.
    /// `None` if it is neither, or its year is outside
    /// [`MIN_YEAR`]–[`MAX_YEAR`].
    pub fn parse(text: &str) -> Option<i64> {
        use chrono::{NaiveDateTime, TimeZone};
        let t = text.trim();
        let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M")
            .ok()
            .or_else(|| t.parse::<Day>().ok()?.0.and_hms_opt(0, 0, 0))?;
        if !(MIN_YEAR..=MAX_YEAR).contains(&naive.year()) {
            return None;
        }
        // A local time that a clock change skips or repeats: its earliest reading.
        chrono::Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|d| d.timestamp_millis())
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// A day typed by a person (command line, query, form, sheet): the year must
/// lie in [`MIN_YEAR`]–[`MAX_YEAR`], so `+262143-12-31` is refused here with
/// a clear message instead of reaching the date arithmetic.
impl FromStr for Day {
    type Err = BadDay;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let day = Day::parse_stored(s)?;
        if (MIN_YEAR..=MAX_YEAR).contains(&day.0.year()) {
            Ok(day)
        } else {
            Err(BadDay::OutOfRange(s.trim().to_string()))
        }
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Day::parse_stored(&String::deserialize(d)?).map_err(serde::de::Error::custom)
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
        Day::parse_stored(s).map_err(|_| HydrateError::unexpected("YYYY-MM-DD", s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_days_keep_to_sane_years() {
        assert_eq!(
            "2026-11-23".parse::<Day>().unwrap().to_string(),
            "2026-11-23"
        );
        assert!("1900-01-01".parse::<Day>().is_ok());
        assert!("9999-12-31".parse::<Day>().is_ok());
        // The last and first days chrono can hold, and just outside the range.
        for far in [
            "+262142-12-31",
            "-262143-01-01",
            "1899-12-31",
            "+10000-01-01",
        ] {
            let e = far.parse::<Day>().unwrap_err();
            assert!(matches!(e, BadDay::OutOfRange(_)), "{far}: {e:?}");
            assert!(e.to_string().contains("1900"), "{e}");
        }
        // Beyond what chrono can hold at all.
        assert!(matches!(
            "+262143-12-31".parse::<Day>(),
            Err(BadDay::Format(_))
        ));
        assert!(matches!(
            "2026-13-01".parse::<Day>(),
            Err(BadDay::Format(_))
        ));
    }

    #[test]
    fn moments_read_back_as_typed() {
        for (kind, typed) in [
            (Moment::Date, "2026-01-01"),
            (Moment::DateTime, "2026-03-02 09:30"),
        ] {
            let ms = Moment::parse(typed).unwrap();
            assert_eq!(kind.show(ms).as_deref(), Some(typed));
        }
        assert_eq!(Moment::Date.show(0), None);
        for bad in ["1767225600000", "2026-13-01", "明天", "1899-12-31"] {
            assert_eq!(Moment::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn stored_days_load_whatever_their_year() {
        let d: Day = serde_json::from_str("\"1899-12-31\"").unwrap();
        assert_eq!(d.to_string(), "1899-12-31");
    }

    #[test]
    fn adding_days_stops_at_the_ends_of_the_calendar() {
        let last = Day(NaiveDate::MAX);
        assert_eq!(last.plus_days(1), last);
        assert_eq!(Day(NaiveDate::MIN).plus_days(-1), Day(NaiveDate::MIN));
        let d: Day = "2026-11-23".parse().unwrap();
        assert_eq!(d.plus_days(i64::MAX), last);
        assert_eq!(d.plus_days(i64::MIN), Day(NaiveDate::MIN));
        assert_eq!(d.plus_days(8).to_string(), "2026-12-01");
    }
}
