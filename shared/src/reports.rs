//! Reports computed from cards: monthly complaint statistics (月度客诉统计),
//! the daily activity report (销售活动日报表) and the periodic-review list.
//! The laptop computes them over its own customers, the server over all.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codes::{ActivityKind, ComplaintCategory, Intent};
use crate::customer::{Customer, Millis, Yuan};
use crate::day::Day;

/// The month (`YYYY-MM`, local time) of a timestamp.
pub fn month_of(ms: Millis) -> String {
    Day::from_millis_local(ms).0.format("%Y-%m").to_string()
}

/// How many activities of one kind one person logged on a customer in
/// one week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityWeek {
    /// The Monday of the week.
    pub week: Day,
    /// Login of who logged them.
    pub by: String,
    /// Visit, call, …
    pub kind: ActivityKind,
    /// How many.
    pub count: u32,
}

/// The activities on card `c` counted by week, person and kind, in that
/// order.
pub fn activity_weeks(c: &Customer) -> Vec<ActivityWeek> {
    let mut by: BTreeMap<(Day, &str, ActivityKind), u32> = BTreeMap::new();
    for a in c.activities.values() {
        let week = Day::from_millis_local(a.at).week_start();
        *by.entry((week, a.by.as_str(), a.kind)).or_default() += 1;
    }
    by.into_iter()
        .map(|((week, by, kind), count)| ActivityWeek {
            week,
            by: by.to_string(),
            kind,
            count,
        })
        .collect()
}

/// Complaints registered in one month (月度客诉统计).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Registered this month.
    pub total: u32,
    /// Judged a quality issue (质量问题).
    pub quality: u32,
    /// Judged a non-quality issue (非质量问题).
    pub non_quality: u32,
    /// Not judged yet.
    pub unclassified: u32,
    /// Closed with the customer satisfied.
    pub satisfied: u32,
    /// Closed with the customer not satisfied.
    pub unsatisfied: u32,
    /// Still being handled.
    pub open: u32,
}

/// Complaint statistics by the month they were registered in, oldest first.
pub fn complaint_stats<'a>(cards: impl IntoIterator<Item = &'a Customer>) -> Vec<ComplaintMonth> {
    let mut by: BTreeMap<String, ComplaintMonth> = BTreeMap::new();
    for c in cards {
        for k in c.complaints.values() {
            let month = month_of(k.at);
            let m = by.entry(month.clone()).or_insert_with(|| ComplaintMonth {
                month,
                ..Default::default()
            });
            m.total += 1;
            match k.category {
                Some(ComplaintCategory::Quality) => m.quality += 1,
                Some(ComplaintCategory::NonQuality) => m.non_quality += 1,
                None => m.unclassified += 1,
            }
            match (k.closed_at, k.satisfied) {
                (Some(_), Some(true)) => m.satisfied += 1,
                (Some(_), _) => m.unsatisfied += 1,
                (None, _) => m.open += 1,
            }
        }
    }
    by.into_values().collect()
}

/// One contact in a daily report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportLine {
    /// When.
    pub at: Millis,
    /// Customer id.
    pub customer: String,
    /// Customer name.
    pub name: String,
    /// Visit, call, …
    pub kind: ActivityKind,
    /// What happened.
    pub notes: String,
    /// Intent level judged after it.
    pub intent: Option<Intent>,
    /// Follow-up it planned.
    pub next_followup: Option<Day>,
}

/// A planned follow-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    /// Customer id.
    pub customer: String,
    /// Customer name.
    pub name: String,
    /// Planned day.
    pub day: Day,
    /// Intent level now.
    pub intent: Option<Intent>,
    /// Days overdue (0 when due on the day itself or later).
    pub overdue_days: i64,
    /// The main contact's name, to ask for on the phone.
    #[serde(default)]
    pub contact: Option<String>,
    /// The main contact's mobile, else phone.
    #[serde(default)]
    pub phone: Option<String>,
}

/// Who entered a customer and when: the author and time of the change that
/// created it (noted [`crate::note::Action::Create`]), read from its
/// document by [`crate::CustomerDoc::entered`]. A customer that came from
/// an import file has none: importing is not entering a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entered {
    /// Login of who created it.
    pub by: String,
    /// When, in milliseconds since the epoch (second precision).
    pub at: Millis,
}

/// The daily activity report (销售活动日报表) of one salesperson for one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyReport {
    /// Salesperson login.
    pub salesperson: String,
    /// The day.
    pub day: Day,
    /// Every contact logged for that day, by time.
    pub activities: Vec<ReportLine>,
    /// Contacts by kind (label → count).
    pub by_kind: BTreeMap<String, u32>,
    /// Customers the salesperson entered that day (not imported ones).
    pub new_customers: u32,
    /// Sales recorded for that day, yuan.
    pub sales_amount: Yuan,
    /// Complaints registered that day.
    pub complaints: u32,
    /// Tomorrow's plan: follow-ups due the next day (明日工作计划).
    pub tomorrow: Vec<Planned>,
}

/// Builds the daily report of `salesperson` for `day` from `cards`, each
/// with who entered it (see [`Entered`]).
pub fn daily<'a>(
    cards: impl IntoIterator<Item = (&'a Customer, Option<&'a Entered>)>,
    salesperson: &str,
    day: Day,
) -> DailyReport {
    let mut r = DailyReport {
        salesperson: salesperson.to_string(),
        day,
        activities: Vec::new(),
        by_kind: BTreeMap::new(),
        new_customers: 0,
        sales_amount: 0,
        complaints: 0,
        tomorrow: Vec::new(),
    };
    let tomorrow = day.plus_days(1);
    for (c, entered) in cards {
        for a in c.activities.values() {
            if a.by == salesperson && Day::from_millis_local(a.at) == day {
                *r.by_kind.entry(a.kind.label().to_string()).or_default() += 1;
                r.activities.push(ReportLine {
                    at: a.at,
                    customer: c.id.clone(),
                    name: c.name.clone(),
                    kind: a.kind,
                    notes: a.notes.clone(),
                    intent: a.intent,
                    next_followup: a.next_followup,
                });
            }
        }
        if c.salesperson != salesperson {
            continue;
        }
        // The card's 建档时间 says nothing of who entered it: head office
        // importing 300 customers for someone sets it to that day too.
        if entered.is_some_and(|e| e.by == salesperson && Day::from_millis_local(e.at) == day) {
            r.new_customers += 1;
        }
        r.sales_amount += c
            .sales
            .values()
            .filter(|x| x.day == Some(day))
            .map(|x| x.amount)
            .sum::<Yuan>();
        r.complaints += c
            .complaints
            .values()
            .filter(|k| Day::from_millis_local(k.at) == day)
            .count() as u32;
        if c.next_followup() == Some(tomorrow) {
            r.tomorrow.push(planned(c, tomorrow, tomorrow));
        }
    }
    r.activities
        .sort_by(|a, b| (a.at, &a.customer).cmp(&(b.at, &b.customer)));
    r.tomorrow.sort_by(|a, b| a.customer.cmp(&b.customer));
    r
}

fn planned(c: &Customer, due: Day, today: Day) -> Planned {
    let main = c.main_contact();
    Planned {
        customer: c.id.clone(),
        name: c.name.clone(),
        day: due,
        intent: c.current_intent(),
        overdue_days: due.days_until(today).max(0),
        contact: main.map(|k| k.name.clone()).filter(|n| !n.is_empty()),
        phone: main.and_then(|k| {
            [&k.mobile, &k.phone]
                .into_iter()
                .find(|p| !p.is_empty())
                .cloned()
        }),
    }
}

/// Follow-ups due on `today` or overdue, most overdue first.
pub fn due_followups<'a>(
    cards: impl IntoIterator<Item = &'a Customer>,
    today: Day,
) -> Vec<Planned> {
    let mut v: Vec<Planned> = cards
        .into_iter()
        .filter_map(|c| {
            c.next_followup()
                .filter(|d| *d <= today)
                .map(|d| planned(c, d, today))
        })
        .collect();
    v.sort_by(|a, b| (a.day, &a.customer).cmp(&(b.day, &b.customer)));
    v
}

/// A record due for its periodic review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewDue {
    /// Customer id.
    pub customer: String,
    /// Customer name.
    pub name: String,
    /// Salesperson.
    pub salesperson: String,
    /// Last reviewed (none: never).
    pub last_review: Option<Millis>,
    /// Days since the last review (or since entry).
    pub days: i64,
}

/// Records not reviewed within `review_days` as of `today`, longest first.
pub fn review_due<'a>(
    cards: impl IntoIterator<Item = &'a Customer>,
    review_days: u32,
    today: Day,
) -> Vec<ReviewDue> {
    let mut v: Vec<ReviewDue> = cards
        .into_iter()
        .filter_map(|c| {
            let last = c.last_review().map(|r| r.at);
            let from = last.unwrap_or(c.entered_at);
            let days = if from > 0 {
                Day::from_millis_local(from).days_until(today)
            } else {
                i64::MAX
            };
            (days > i64::from(review_days)).then(|| ReviewDue {
                customer: c.id.clone(),
                name: c.name.clone(),
                salesperson: c.salesperson.clone(),
                last_review: last,
                days,
            })
        })
        .collect();
    v.sort_by(|a, b| b.days.cmp(&a.days).then(a.customer.cmp(&b.customer)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::{Activity, Complaint, Review};

    fn ms(d: &str, h: u32) -> Millis {
        use chrono::TimeZone;
        let day: Day = d.parse().unwrap();
        chrono::Local
            .from_local_datetime(&day.0.and_hms_opt(h, 0, 0).unwrap())
            .unwrap()
            .timestamp_millis()
    }

    fn complaint(
        c: &mut Customer,
        at: Millis,
        cat: Option<ComplaintCategory>,
        closed: Option<bool>,
    ) {
        let id = format!("k{}", c.complaints.len());
        c.complaints.insert(
            id,
            Complaint {
                at,
                category: cat,
                satisfied: closed,
                closed_at: closed.map(|_| at + 1),
                ..Default::default()
            },
        );
    }

    #[test]
    fn complaint_statistics_split_at_the_month_boundary() {
        let mut a = Customer::default();
        let mut b = Customer::default();
        // 23:00 on 31 October and 00:30 on 1 November fall in different months.
        complaint(
            &mut a,
            ms("2026-10-31", 23),
            Some(ComplaintCategory::Quality),
            Some(true),
        );
        complaint(
            &mut a,
            ms("2026-11-01", 0) + 30 * 60_000,
            Some(ComplaintCategory::NonQuality),
            Some(false),
        );
        complaint(&mut b, ms("2026-11-30", 12), None, None);
        let s = complaint_stats([&a, &b]);
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0],
            ComplaintMonth {
                month: "2026-10".into(),
                total: 1,
                quality: 1,
                satisfied: 1,
                ..Default::default()
            }
        );
        assert_eq!(
            s[1],
            ComplaintMonth {
                month: "2026-11".into(),
                total: 2,
                non_quality: 1,
                unclassified: 1,
                unsatisfied: 1,
                open: 1,
                ..Default::default()
            }
        );
    }

    #[test]
    fn daily_report_lists_the_days_contacts_and_tomorrows_plan() {
        let mut c = Customer {
            id: "c1".into(),
            name: "温州瓯海鞋业".into(),
            salesperson: "zhang".into(),
            ..Default::default()
        };
        c.activities.insert(
            "a1".into(),
            Activity {
                at: ms("2026-11-23", 9),
                by: "zhang".into(),
                notes: "拜访采购".into(),
                intent: Some(Intent::H),
                next_followup: Some("2026-11-24".parse().unwrap()),
                ..Default::default()
            },
        );
        c.activities.insert(
            "a0".into(),
            Activity {
                at: ms("2026-11-22", 9),
                by: "zhang".into(),
                ..Default::default()
            },
        );
        let day: Day = "2026-11-23".parse().unwrap();
        let r = daily([(&c, None)], "zhang", day);
        assert_eq!(r.activities.len(), 1);
        assert_eq!(r.activities[0].notes, "拜访采购");
        assert_eq!(r.by_kind.get("拜访"), Some(&1));
        assert_eq!(r.tomorrow.len(), 1);
        assert!(daily([(&c, None)], "li", day).activities.is_empty());
        assert_eq!(r.new_customers, 0, "imported, or entered by no one known");
        let entered = |by: &str, d: &str| Entered {
            by: by.into(),
            at: ms(d, 10),
        };
        let mine = entered("zhang", "2026-11-23");
        assert_eq!(daily([(&c, Some(&mine))], "zhang", day).new_customers, 1);
        let other_day = entered("zhang", "2026-11-22");
        assert_eq!(
            daily([(&c, Some(&other_day))], "zhang", day).new_customers,
            0
        );
        let clerks = entered("wang", "2026-11-23");
        assert_eq!(daily([(&c, Some(&clerks))], "zhang", day).new_customers, 0);
        // The next morning it is due; two days later overdue by one.
        let due = due_followups([&c], "2026-11-25".parse().unwrap());
        assert_eq!(due[0].overdue_days, 1);
        assert!(due_followups([&c], day).is_empty());
    }

    #[test]
    fn review_list_uses_the_latest_review_or_entry() {
        let mut c = Customer {
            id: "c1".into(),
            entered_at: ms("2026-01-01", 9),
            ..Default::default()
        };
        let today: Day = "2026-03-03".parse().unwrap();
        assert_eq!(review_due([&c], 60, today)[0].days, 61);
        c.reviews.insert(
            "r".into(),
            Review {
                at: ms("2026-03-01", 9),
                ..Default::default()
            },
        );
        assert!(review_due([&c], 60, today).is_empty());
    }
}

#[cfg(test)]
mod week_tests {
    use super::*;
    use crate::customer::Activity;

    #[test]
    fn activities_count_by_the_monday_of_their_week() {
        let at = |d: &str| {
            let day: Day = d.parse().unwrap();
            crate::day::Moment::parse(&format!("{day} 10:00")).unwrap()
        };
        let mut c = Customer::default();
        for (key, day, by, kind) in [
            ("a", "2026-11-30", "zhang", ActivityKind::Visit), // a Monday
            ("b", "2026-12-06", "zhang", ActivityKind::Visit), // its Sunday
            ("c", "2026-12-07", "zhang", ActivityKind::Visit), // the next Monday
            ("d", "2026-12-02", "zhang", ActivityKind::Call),
            ("e", "2026-12-02", "li", ActivityKind::Visit),
        ] {
            c.activities.insert(
                key.into(),
                Activity {
                    at: at(day),
                    by: by.into(),
                    kind,
                    ..Default::default()
                },
            );
        }
        let weeks: Vec<(String, String, ActivityKind, u32)> = activity_weeks(&c)
            .into_iter()
            .map(|w| (w.week.to_string(), w.by, w.kind, w.count))
            .collect();
        let want = [
            ("2026-11-30", "li", ActivityKind::Visit, 1),
            ("2026-11-30", "zhang", ActivityKind::Visit, 2),
            ("2026-11-30", "zhang", ActivityKind::Call, 1),
            ("2026-12-07", "zhang", ActivityKind::Visit, 1),
        ]
        .map(|(w, by, k, n)| (w.to_string(), by.to_string(), k, n));
        assert_eq!(weeks, want);
    }
}
