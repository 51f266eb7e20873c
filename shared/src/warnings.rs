//! Early warnings (预警管理): each rule looks at one card on one day and, if
//! it trips, says by how much. The laptop runs them over its own customers,
//! the server over all of them; the rules are the same.

use serde::{Deserialize, Serialize};

use crate::codes::{Grade, Status, WarningRule};
use crate::customer::{Customer, Millis};
use crate::day::Day;
use crate::settings::Settings;
use crate::story::yuan;

/// One tripped rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    /// Customer id.
    pub customer: String,
    /// Customer name.
    pub name: String,
    /// Assigned salesperson.
    pub salesperson: String,
    /// The rule.
    pub rule: WarningRule,
    /// The figure that tripped it, in words (Chinese).
    pub figure: String,
    /// The same figure as a number (yuan, days, …) for sorting and export.
    pub value: f64,
}

/// Every warning `card` raises on `today`.
pub fn check(card: &Customer, s: &Settings, today: Day) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut warn = |rule, figure: String, value: f64| {
        out.push(Warning {
            customer: card.id.clone(),
            name: card.name.clone(),
            salesperson: card.salesperson.clone(),
            rule,
            figure,
            value,
        })
    };

    // Overdue arrears: unpaid sales past their due day.
    let overdue: Vec<_> = card
        .sales
        .values()
        .filter(|x| x.paid_on.is_none() && x.due.is_some_and(|d| d < today))
        .collect();
    if !overdue.is_empty() {
        let sum: i64 = overdue.iter().map(|x| x.amount).sum();
        let oldest = overdue
            .iter()
            .filter_map(|x| x.due)
            .min()
            .expect("non-empty");
        let days = oldest.days_until(today);
        warn(
            WarningRule::OverdueArrears,
            format!(
                "逾期欠款 {}(最早于 {oldest} 到期,已逾期 {days} 天)",
                yuan(sum)
            ),
            sum as f64,
        );
    }

    // Credit limit exceeded.
    if let (Some(arrears), Some(limit)) = (card.arrears(), card.credit.limit) {
        if arrears > limit {
            warn(
                WarningRule::CreditExceeded,
                format!(
                    "欠款 {},超出信用额度 {} {}",
                    yuan(arrears),
                    yuan(limit),
                    yuan(arrears - limit)
                ),
                (arrears - limit) as f64,
            );
        }
    }

    // Churn: no order and no contact for the churn period.
    if card.status != Status::Lost {
        let last_sale = card.sales.values().filter_map(|x| x.day).max();
        let last_contact = card
            .last_activity()
            .map(|(_, a)| Day::from_millis_local(a.at));
        let since = last_sale.max(last_contact);
        let (from, what) = match since {
            Some(d) => (d, "最近订单或拜访"),
            None => (day_of(card.entered_at, today), "建档以来无订单或拜访,建档"),
        };
        let days = from.days_until(today);
        if days >= i64::from(s.churn_days) {
            warn(
                WarningRule::Churn,
                format!("{what}于 {from},已 {days} 天(流失预警 {} 天)", s.churn_days),
                days as f64,
            );
        }
    }

    // Follow-up overdue.
    if let Some(next) = card.next_followup() {
        if next < today {
            let days = next.days_until(today);
            warn(
                WarningRule::FollowupOverdue,
                format!("计划于 {next} 跟进,已逾期 {days} 天"),
                days as f64,
            );
        }
    }

    // Record not reviewed within the review period.
    let (reviewed, what) = match card.last_review() {
        Some(r) => (day_of(r.at, today), "上次审查"),
        None => (day_of(card.entered_at, today), "从未审查,建档"),
    };
    let days = reviewed.days_until(today);
    if days > i64::from(s.review_days) {
        warn(
            WarningRule::ReviewOverdue,
            format!(
                "{what}于 {reviewed},已 {days} 天(审查周期 {} 天)",
                s.review_days
            ),
            days as f64,
        );
    }

    // Graded D or E.
    if let Some(g @ (Grade::D | Grade::E)) = card.grade {
        let what = if g == Grade::D {
            "关注客户"
        } else {
            "淘汰客户"
        };
        let score = card.score.map(|x| format!(",评分 {x}")).unwrap_or_default();
        warn(
            WarningRule::LowGrade,
            format!("等级 {}({what}){score}", g.code()),
            card.score.unwrap_or(0.0),
        );
    }

    // Major changes not cleared.
    for m in card.major_changes.values().filter(|m| !m.cleared) {
        warn(
            WarningRule::MajorChange,
            format!("{}(登记于 {})", m.description, day_of(m.at, today)),
            0.0,
        );
    }
    out
}

/// A rule `card` raises from a day on, for as long as the card stays as it
/// is: what the server keeps per customer so that a warnings page reads
/// only its rows, whatever the day asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduled {
    /// The rule.
    pub rule: WarningRule,
    /// The first day [`check`] raises it; `None` for every day.
    pub from: Option<Day>,
}

impl Scheduled {
    /// Whether [`check`] raises it on `day`.
    pub fn on(&self, day: Day) -> bool {
        self.from.is_none_or(|f| f <= day)
    }
}

/// Every warning [`check`] raises on some day for `card` unchanged, in
/// [`check`]'s order, with the day it starts: `check(card, s, d)` gives
/// exactly the rules of those with `from <= d` (a property test holds the
/// two to each other). No rule here stops with time alone: each ends only
/// when the card changes.
pub fn schedule(card: &Customer, s: &Settings) -> Vec<Scheduled> {
    let mut out = Vec::new();
    let mut at = |rule, from| out.push(Scheduled { rule, from });

    // `due < today`: from the day after the earliest unpaid due day.
    if let Some(due) = card
        .sales
        .values()
        .filter(|x| x.paid_on.is_none())
        .filter_map(|x| x.due)
        .min()
    {
        at(WarningRule::OverdueArrears, Some(due.plus_days(1)));
    }
    if let (Some(arrears), Some(limit)) = (card.arrears(), card.credit.limit) {
        if arrears > limit {
            at(WarningRule::CreditExceeded, None);
        }
    }
    if card.status != Status::Lost {
        let last_sale = card.sales.values().filter_map(|x| x.day).max();
        let last_contact = card
            .last_activity()
            .map(|(_, a)| Day::from_millis_local(a.at));
        let anchor = last_sale
            .max(last_contact)
            .or_else(|| (card.entered_at > 0).then(|| Day::from_millis_local(card.entered_at)));
        match anchor {
            Some(d) => at(
                WarningRule::Churn,
                Some(d.plus_days(i64::from(s.churn_days))),
            ),
            // No anchor: `check` counts 0 days every day.
            None if s.churn_days == 0 => at(WarningRule::Churn, None),
            None => {}
        }
    }
    if let Some(next) = card.next_followup() {
        at(WarningRule::FollowupOverdue, Some(next.plus_days(1)));
    }
    let reviewed = card.last_review().map_or(card.entered_at, |r| r.at);
    // With no time at all `check` counts 0 days, never more than the period.
    if reviewed > 0 {
        let d = Day::from_millis_local(reviewed);
        at(
            WarningRule::ReviewOverdue,
            Some(d.plus_days(i64::from(s.review_days) + 1)),
        );
    }
    if let Some(Grade::D | Grade::E) = card.grade {
        at(WarningRule::LowGrade, None);
    }
    for _ in card.major_changes.values().filter(|m| !m.cleared) {
        at(WarningRule::MajorChange, None);
    }
    out
}

/// The local day of a timestamp; `today` for a missing (zero) one.
fn day_of(ms: Millis, today: Day) -> Day {
    if ms <= 0 {
        today
    } else {
        Day::from_millis_local(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::{Activity, MajorChange, Review, Sale};

    fn day(s: &str) -> Day {
        s.parse().unwrap()
    }

    fn ms(d: &str) -> Millis {
        use chrono::TimeZone;
        chrono::Local
            .from_local_datetime(&day(d).0.and_hms_opt(12, 0, 0).unwrap())
            .unwrap()
            .timestamp_millis()
    }

    fn rules(c: &Customer, today: &str) -> Vec<WarningRule> {
        check(c, &Settings::default(), day(today))
            .into_iter()
            .map(|w| w.rule)
            .collect()
    }

    /// A customer entered, reviewed and visited on 2026-11-01, with nothing wrong.
    fn healthy() -> Customer {
        let mut c = Customer {
            id: "c1".into(),
            name: "宁波甬江机械厂".into(),
            entered_at: ms("2026-11-01"),
            ..Default::default()
        };
        c.reviews.insert(
            "r1".into(),
            Review {
                at: ms("2026-11-01"),
                ..Default::default()
            },
        );
        c.activities.insert(
            "a1".into(),
            Activity {
                at: ms("2026-11-01"),
                next_followup: Some(day("2026-11-10")),
                ..Default::default()
            },
        );
        c
    }

    #[test]
    fn a_healthy_card_raises_nothing() {
        assert!(rules(&healthy(), "2026-11-10").is_empty());
    }

    #[test]
    fn arrears_warnings_appear_and_clear_when_paid() {
        let mut c = healthy();
        c.credit.limit = Some(1000);
        c.sales.insert(
            "s1".into(),
            Sale {
                day: Some(day("2026-11-01")),
                amount: 1500,
                due: Some(day("2026-11-05")),
                ..Default::default()
            },
        );
        // Due on the 5th: on the 5th it is not yet overdue, but over the limit.
        assert_eq!(rules(&c, "2026-11-05"), vec![WarningRule::CreditExceeded]);
        let w = check(&c, &Settings::default(), day("2026-11-08"));
        assert_eq!(w[0].rule, WarningRule::OverdueArrears);
        assert!(
            w[0].figure.contains("1,500 元") && w[0].figure.contains("3 天"),
            "{}",
            w[0].figure
        );
        assert!(
            w[1].figure.contains("超出信用额度 1,000 元 500 元"),
            "{}",
            w[1].figure
        );
        c.sales.get_mut("s1").unwrap().paid_on = Some(day("2026-11-08"));
        assert!(rules(&c, "2026-11-08").is_empty());
    }

    #[test]
    fn churn_counts_from_the_latest_sale_or_contact() {
        let c = healthy();
        // 90 days after the visit of 2026-11-01 is 2027-01-30.
        assert!(!rules(&c, "2027-01-29").contains(&WarningRule::Churn));
        assert!(rules(&c, "2027-01-30").contains(&WarningRule::Churn));
        let mut c = c;
        c.sales.insert(
            "s".into(),
            Sale {
                day: Some(day("2027-01-20")),
                amount: 5,
                ..Default::default()
            },
        );
        assert!(!rules(&c, "2027-01-30").contains(&WarningRule::Churn));
        c.status = Status::Lost;
        assert!(!rules(&c, "2027-12-30").contains(&WarningRule::Churn));
    }

    #[test]
    fn followup_and_review_overdue() {
        let c = healthy();
        assert!(!rules(&c, "2026-11-10").contains(&WarningRule::FollowupOverdue));
        let w = check(&c, &Settings::default(), day("2026-11-12"));
        assert_eq!(w[0].rule, WarningRule::FollowupOverdue);
        assert!(w[0].figure.contains("已逾期 2 天"));
        // Reviewed 2026-11-01; 60 days later (2026-12-31) is still in time.
        assert!(!rules(&c, "2026-12-31").contains(&WarningRule::ReviewOverdue));
        assert!(rules(&c, "2027-01-01").contains(&WarningRule::ReviewOverdue));
    }

    #[test]
    fn low_grade_and_major_change_until_cleared() {
        let mut c = healthy();
        c.grade = Some(Grade::C);
        assert!(rules(&c, "2026-11-10").is_empty());
        c.grade = Some(Grade::E);
        c.score = Some(55.0);
        let w = check(&c, &Settings::default(), day("2026-11-10"));
        assert!(w[0].figure.contains("淘汰客户") && w[0].figure.contains("55"));
        c.grade = Some(Grade::B);
        c.major_changes.insert(
            "m".into(),
            MajorChange {
                at: ms("2026-11-09"),
                description: "法人代表变更".into(),
                ..Default::default()
            },
        );
        assert_eq!(rules(&c, "2026-11-10"), vec![WarningRule::MajorChange]);
        c.major_changes.get_mut("m").unwrap().cleared = true;
        assert!(rules(&c, "2026-11-10").is_empty());
    }
}
