//! Company settings (公司设置): the numbers the business rules run on.
//!
//! Head office sets them on the server (`crm-server settings`); laptops
//! receive them with their next sync and apply the same rules offline.

use serde::{Deserialize, Serialize};

use crate::cadence::Cadence;
use crate::codes::{Grade, Position};

/// Every company setting, with the handbook's values as defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// How customers are graded.
    pub grading: Grading,
    /// Days between follow-ups per intent level.
    pub cadence: Cadence,
    /// A record not reviewed for this many days is flagged (default 60).
    pub review_days: u32,
    /// No sale and no contact for this many days raises the churn warning (default 90).
    pub churn_days: u32,
    /// Who decides a credit-limit request, in order.
    pub credit_chain: Vec<Position>,
    /// A laptop that has not synced for this many days locks its customer
    /// data until it syncs again (nothing is lost); `None` (the default):
    /// never.
    pub offline_lock_days: Option<u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            grading: Grading::default(),
            cadence: Cadence::default(),
            review_days: 60,
            churn_days: 90,
            credit_chain: Position::ALL.to_vec(),
            offline_lock_days: None,
        }
    }
}

/// The grading rule: score = sales weight × sales points + credit weight ×
/// on-time rate, each on 0–100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Grading {
    /// Length of the period whose monthly average is compared with the
    /// period before it, in whole months (default 3).
    pub period_months: u32,
    /// Weight of the sales points (default 0.5).
    pub sales_weight: f64,
    /// Weight of the on-time credit performance rate (default 0.5).
    pub credit_weight: f64,
    /// Lowest score of each grade; a score below `e` is still E.
    pub bands: PerGrade,
    /// Grade coefficient (等级系数): credit limit = coefficient × monthly average sales.
    pub coefficients: PerGrade,
}

impl Default for Grading {
    fn default() -> Self {
        Grading {
            period_months: 3,
            sales_weight: 0.5,
            credit_weight: 0.5,
            // The handbook: D = 60–70 (60 included), E = 50–60 (50 included).
            bands: PerGrade {
                a: 90.0,
                b: 80.0,
                c: 70.0,
                d: 60.0,
                e: 50.0,
            },
            coefficients: PerGrade {
                a: 2.0,
                b: 1.5,
                c: 1.0,
                d: 0.5,
                e: 0.0,
            },
        }
    }
}

/// One number per grade.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PerGrade {
    /// A.
    pub a: f64,
    /// B.
    pub b: f64,
    /// C.
    pub c: f64,
    /// D.
    pub d: f64,
    /// E.
    pub e: f64,
}

impl PerGrade {
    /// The value for `g`.
    pub fn get(&self, g: Grade) -> f64 {
        match g {
            Grade::A => self.a,
            Grade::B => self.b,
            Grade::C => self.c,
            Grade::D => self.d,
            Grade::E => self.e,
        }
    }
}

/// Where a laptop stands with the offline lock ([`Settings::offline_lock_days`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OfflineLock {
    /// No lock is set, or this laptop has not synced yet.
    None,
    /// The laptop must sync within `days_left` whole days.
    Open {
        /// Whole days left before the lock engages.
        days_left: i64,
    },
    /// Locked: its last sync is more than the allowed days ago.
    Locked {
        /// Whole days since the last sync.
        days_since: i64,
        /// The allowed days.
        limit: u32,
    },
}

impl Settings {
    /// The offline lock of a laptop whose last completed sync was at
    /// `last_sync` (ms, `None`: never), at `now` (ms, the laptop's clock).
    pub fn offline_lock(&self, last_sync: Option<i64>, now: i64) -> OfflineLock {
        const DAY: i64 = 86_400_000;
        let (Some(limit), Some(last)) = (self.offline_lock_days, last_sync) else {
            return OfflineLock::None;
        };
        // A clock set back before the last sync counts as no time passed.
        let since = (now - last).max(0);
        if since > i64::from(limit) * DAY {
            OfflineLock::Locked {
                days_since: since / DAY,
                limit,
            }
        } else {
            // Part of a day left counts as a day.
            OfflineLock::Open {
                days_left: (i64::from(limit) * DAY - since + DAY - 1) / DAY,
            }
        }
    }
}

/// Settings that cannot work; the message names the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("设置无效:{0}")]
pub struct BadSettings(pub String);

impl Settings {
    /// Checks every setting; the first problem found is named.
    pub fn validate(&self) -> Result<(), BadSettings> {
        let bad = |m: &str| Err(BadSettings(m.to_string()));
        let g = &self.grading;
        if !(1..=24).contains(&g.period_months) {
            return bad("grading.period_months(评分周期月数)应在 1 到 24 之间");
        }
        let w = [g.sales_weight, g.credit_weight];
        if w.iter().any(|x| !x.is_finite() || *x < 0.0) || (w[0] + w[1] - 1.0).abs() > 1e-6 {
            return bad(
                "grading.sales_weight 与 grading.credit_weight(权重)应为非负数,且相加等于 1",
            );
        }
        let b = [g.bands.a, g.bands.b, g.bands.c, g.bands.d, g.bands.e];
        if b.iter().any(|x| !x.is_finite() || *x < 0.0 || *x > 100.0)
            || b.windows(2).any(|p| p[0] <= p[1])
        {
            return bad("grading.bands(等级分数线)应在 0 到 100 之间,且 A > B > C > D > E");
        }
        let c = [
            g.coefficients.a,
            g.coefficients.b,
            g.coefficients.c,
            g.coefficients.d,
            g.coefficients.e,
        ];
        if c.iter().any(|x| !x.is_finite() || *x < 0.0 || *x > 100.0) {
            return bad("grading.coefficients(等级系数)应在 0 到 100 之间");
        }
        let k = &self.cadence;
        if [k.h, k.a, k.b, k.c].iter().any(|d| !(1..=365).contains(d)) {
            return bad("cadence(跟进间隔天数)应在 1 到 365 之间");
        }
        if !(1..=3650).contains(&self.review_days) {
            return bad("review_days(审查周期天数)应在 1 到 3650 之间");
        }
        if !(1..=3650).contains(&self.churn_days) {
            return bad("churn_days(流失预警天数)应在 1 到 3650 之间");
        }
        if self
            .offline_lock_days
            .is_some_and(|d| !(1..=365).contains(&d))
        {
            return bad("offline_lock_days(离线锁定天数)应在 1 到 365 之间,或不设");
        }
        if self.credit_chain.is_empty() {
            return bad("credit_chain(信用额度审批链)不能为空");
        }
        let mut seen = self.credit_chain.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != self.credit_chain.len() {
            return bad("credit_chain(信用额度审批链)中职位不能重复");
        }
        Ok(())
    }

    /// Parses and validates settings from JSON; missing keys take defaults.
    pub fn from_json(text: &str) -> Result<Settings, BadSettings> {
        let s: Settings =
            serde_json::from_str(text).map_err(|e| BadSettings(format!("JSON 无法解析:{e}")))?;
        s.validate()?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offline_lock_engages_after_the_days_set() {
        const DAY: i64 = 86_400_000;
        let mut s = Settings::default();
        assert_eq!(s.offline_lock(Some(0), 400 * DAY), OfflineLock::None);
        s.offline_lock_days = Some(30);
        assert_eq!(s.offline_lock(None, 400 * DAY), OfflineLock::None);
        assert_eq!(
            s.offline_lock(Some(0), 10 * DAY),
            OfflineLock::Open { days_left: 20 }
        );
        assert_eq!(
            s.offline_lock(Some(0), 30 * DAY),
            OfflineLock::Open { days_left: 0 }
        );
        assert_eq!(
            s.offline_lock(Some(0), 31 * DAY),
            OfflineLock::Locked {
                days_since: 31,
                limit: 30
            }
        );
        assert_eq!(
            s.offline_lock(Some(10 * DAY), 0),
            OfflineLock::Open { days_left: 30 }
        );
        s.offline_lock_days = Some(0);
        assert!(s.validate().is_err());
    }

    #[test]
    fn defaults_are_valid_and_partial_json_keeps_the_rest() {
        Settings::default().validate().unwrap();
        let s = Settings::from_json(r#"{"review_days": 30}"#).unwrap();
        assert_eq!(s.review_days, 30);
        assert_eq!(s.grading, Grading::default());
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let e = Settings::from_json(r#"{"grading": {"sales_weight": 0.7}}"#).unwrap_err();
        assert!(e.to_string().contains("权重"), "{e}");
        let e = Settings::from_json(
            r#"{"grading": {"bands": {"a": 90, "b": 80, "c": 80, "d": 60, "e": 50}}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("分数线"), "{e}");
        let e = Settings::from_json(r#"{"credit_chain": ["sales_vp", "sales_vp"]}"#).unwrap_err();
        assert!(e.to_string().contains("重复"), "{e}");
        let e = Settings::from_json(r#"{"credit_chain": ["boss"]}"#).unwrap_err();
        assert!(e.to_string().contains("职位"), "{e}");
    }
}
