//! Follow-up cadence (潜客跟踪): how many days after a contact the next one is due.

use crate::codes::Intent;
use crate::day::Day;

/// Days between follow-ups per intent level. A company setting; the default
/// is the handbook's: H every 2 days, A every 3, B every 5, C every 7; O
/// (deposit paid) and lost prospects have no cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cadence {
    /// Days between follow-ups at level H.
    pub h: u32,
    /// Days between follow-ups at level A.
    pub a: u32,
    /// Days between follow-ups at level B.
    pub b: u32,
    /// Days between follow-ups at level C.
    pub c: u32,
}

impl Default for Cadence {
    fn default() -> Self {
        Cadence {
            h: 2,
            a: 3,
            b: 5,
            c: 7,
        }
    }
}

impl Cadence {
    /// Days until the next follow-up at `level`, or `None` if the level has no cadence.
    pub fn interval(&self, level: Intent) -> Option<u32> {
        match level {
            Intent::H => Some(self.h),
            Intent::A => Some(self.a),
            Intent::B => Some(self.b),
            Intent::C => Some(self.c),
            Intent::O | Intent::Lost => None,
        }
    }

    /// The next follow-up after a contact on `day` that judged the prospect at `level`.
    pub fn next_after(&self, day: Day, level: Intent) -> Option<Day> {
        self.interval(level).map(|n| day.plus_days(n.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handbook_cadence() {
        let c = Cadence::default();
        let d: Day = "2026-11-23".parse().unwrap();
        assert_eq!(
            c.next_after(d, Intent::H).unwrap().to_string(),
            "2026-11-25"
        );
        assert_eq!(
            c.next_after(d, Intent::A).unwrap().to_string(),
            "2026-11-26"
        );
        assert_eq!(
            c.next_after(d, Intent::B).unwrap().to_string(),
            "2026-11-28"
        );
        assert_eq!(
            c.next_after(d, Intent::C).unwrap().to_string(),
            "2026-11-30"
        );
        assert_eq!(c.next_after(d, Intent::O), None);
        assert_eq!(c.next_after(d, Intent::Lost), None);
    }
}
