//! Grading (客户等级评估): score, grade, coefficient and the credit limit it
//! suggests, from the sales recorded on the card.
//!
//! The handbook gives the inputs (monthly average sales against the
//! previous period, and the on-time credit performance rate) and the bands;
//! the weights are company settings. The rule, in full:
//!
//! - The current period is the `period_months` whole calendar months before
//!   the month of the assessment day; the previous period the same number of
//!   months before that. Monthly average = the period's sales ÷ its months.
//! - Sales points = 100 × current ÷ previous average, at most 100 (a customer
//!   whose sales hold or grow gets full points). With no previous sales:
//!   100 if there are current sales, else 0.
//! - On-time rate = the share of credit sales that fell due (due day before
//!   the assessment day, or already paid) and were paid by their due day,
//!   over both periods. With no credit sale due, the rate typed on the card;
//!   with none there either, 100 (no credit taken, none broken).
//! - Score = sales weight × sales points + credit weight × on-time rate,
//!   rounded to one decimal. A customer with no sale in either period is
//!   not graded (there is nothing to score); its note names both periods
//!   and where its sales fall instead (a sale of the assessment month counts
//!   from the next month's assessment on).
//! - Grade: the highest grade whose band minimum the score reaches (bands
//!   include their lower bound: 60 is D, 59.9 is E); below E's minimum, E.
//! - Suggested limit = coefficient × current monthly average, whole yuan.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::codes::Grade;
use crate::customer::{Customer, Yuan};
use crate::day::Day;
use crate::settings::Grading;
use crate::story::yuan;

/// The grading of one customer on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// Monthly average sales in the current period, yuan.
    pub monthly_average: f64,
    /// Monthly average sales in the previous period, yuan.
    pub previous_average: f64,
    /// Sales points, 0–100.
    pub sales_points: f64,
    /// On-time credit performance rate, percent.
    pub on_time_rate: f64,
    /// Where the rate came from.
    pub rate_source: RateSource,
    /// Score, 0–100, one decimal.
    pub score: f64,
    /// Grade.
    pub grade: Grade,
    /// The grade's coefficient.
    pub coefficient: f64,
    /// Coefficient × monthly average, whole yuan.
    pub suggested_limit: Yuan,
}

/// Where an on-time rate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateSource {
    /// Computed from recorded credit sales.
    Sales,
    /// Typed on the card (no credit sale fell due).
    Card,
    /// Nothing to go on: no credit taken, so none broken.
    NoCredit,
}

/// The first day of the month `back` months before `day`'s month; the first
/// day chrono can represent if that month is before it (a day at the very
/// start of the calendar has no month before it to start from).
fn month_start(day: Day, back: u32) -> NaiveDate {
    let months = i64::from(day.0.year()) * 12 + i64::from(day.0.month0()) - i64::from(back);
    i32::try_from(months.div_euclid(12))
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, months.rem_euclid(12) as u32 + 1, 1))
        .unwrap_or(NaiveDate::MIN)
}

/// The two periods an assessment compares, each as its first and last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Periods {
    /// The previous period (上期).
    pub previous: (Day, Day),
    /// The current period (本期), ending with the month before the assessment day's.
    pub current: (Day, Day),
}

/// The periods an assessment on `day` compares (see the module doc).
pub fn periods(g: &Grading, day: Day) -> Periods {
    let n = g.period_months;
    let start = |back| month_start(day, back);
    let last_before = |d: NaiveDate| Day(d.pred_opt().unwrap_or(d));
    Periods {
        previous: (Day(start(2 * n)), last_before(start(n))),
        current: (Day(start(n)), last_before(start(0))),
    }
}

/// Why a customer with recorded sales got no grade: which periods were
/// looked at and where its sales fall instead. `None` when it has no dated
/// sale at all.
fn why_not_graded(card: &Customer, g: &Grading, day: Day) -> Option<String> {
    let p = periods(g, day);
    let this_month = month_start(day, 0);
    let next_month = this_month
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(NaiveDate::MAX);
    let (mut older, mut now, mut later) = (0, 0, 0);
    let mut any = false;
    for s in card.sales.values() {
        let Some(d) = s.day else { continue };
        any = true;
        if d < p.previous.0 {
            older += s.amount;
        } else if d.0 < next_month {
            now += s.amount;
        } else {
            later += s.amount;
        }
    }
    if !any {
        return None;
    }
    let mut note = format!(
        "本期({}至{})及上期({}至{})无销售记录,未评分",
        p.current.0, p.current.1, p.previous.0, p.previous.1
    );
    if now > 0 {
        note.push_str(&format!(
            ";本月({} 起)的销售 {} 按整月评定,下月起计入",
            Day(this_month),
            yuan(now)
        ));
    }
    if later > 0 {
        note.push_str(&format!(";另有 {} 的销售日期在本月之后", yuan(later)));
    }
    if older > 0 {
        note.push_str(&format!(";另有 {} 的销售早于上期,不计入", yuan(older)));
    }
    Some(note)
}

/// The grade a score falls in.
pub fn grade_for(score: f64, g: &Grading) -> Grade {
    [Grade::A, Grade::B, Grade::C, Grade::D]
        .into_iter()
        .find(|x| score >= g.bands.get(*x))
        .unwrap_or(Grade::E)
}

/// Grades `card` as of `day`; `None` if it has no sale in either period.
pub fn assess(card: &Customer, g: &Grading, day: Day) -> Option<Assessment> {
    let n = g.period_months;
    let (cur_from, prev_from, until) = (
        month_start(day, n),
        month_start(day, 2 * n),
        month_start(day, 0),
    );
    let mut cur = 0i64;
    let mut prev = 0i64;
    let mut any = false;
    let (mut due, mut on_time) = (0u32, 0u32);
    for s in card.sales.values() {
        let Some(d) = s.day else { continue };
        if d.0 >= prev_from && d.0 < until {
            any = true;
            if d.0 >= cur_from {
                cur += s.amount;
            } else {
                prev += s.amount;
            }
            if let Some(due_day) = s.due {
                let fell_due = due_day < day || s.paid_on.is_some();
                if fell_due {
                    due += 1;
                    if s.paid_on.is_some_and(|p| p <= due_day) {
                        on_time += 1;
                    }
                }
            }
        }
    }
    if !any {
        return None;
    }
    let monthly_average = cur as f64 / n as f64;
    let previous_average = prev as f64 / n as f64;
    let sales_points = if previous_average > 0.0 {
        (100.0 * monthly_average / previous_average).min(100.0)
    } else if monthly_average > 0.0 {
        100.0
    } else {
        0.0
    };
    let (on_time_rate, rate_source) = if due > 0 {
        (100.0 * on_time as f64 / due as f64, RateSource::Sales)
    } else if let Some(r) = card.credit.on_time_rate {
        (r, RateSource::Card)
    } else {
        (100.0, RateSource::NoCredit)
    };
    let score =
        ((g.sales_weight * sales_points + g.credit_weight * on_time_rate) * 10.0).round() / 10.0;
    let grade = grade_for(score, g);
    let coefficient = g.coefficients.get(grade);
    Some(Assessment {
        monthly_average,
        previous_average,
        sales_points,
        on_time_rate,
        rate_source,
        score,
        grade,
        coefficient,
        suggested_limit: (coefficient * monthly_average).round() as Yuan,
    })
}

/// The days around `day` on which [`GradeRow::of`] gives `card` the same
/// row: from the first (inclusive) to the second (exclusive). A row depends
/// on the day through its month (the periods) and through each unpaid
/// credit sale's due day (from the day after, it counts as not paid on
/// time); the server keeps a row per customer for as long as this says it
/// holds. A property test checks every day in the window gives the same row.
pub fn window(card: &Customer, day: Day) -> (Day, Day) {
    let mut from = Day(month_start(day, 0));
    let mut until = Day(month_start(day, 0)
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(NaiveDate::MAX));
    for due in card
        .sales
        .values()
        .filter(|s| s.paid_on.is_none())
        .filter_map(|s| s.due)
    {
        let turns = due.plus_days(1);
        if turns <= day {
            from = from.max(turns);
        } else {
            until = until.min(turns);
        }
    }
    (from, until)
}

/// One row of the grade summary table (客户等级管理汇总表).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeRow {
    /// Customer id.
    pub id: String,
    /// Customer name (客户名称).
    pub name: String,
    /// Salesperson (业务员).
    pub salesperson: String,
    /// Score (客户等级评分); none if not graded.
    pub score: Option<f64>,
    /// Coefficient (等级系数).
    pub coefficient: Option<f64>,
    /// Monthly average sales, yuan (月均销售额).
    pub monthly_average: Option<f64>,
    /// On-time credit performance rate, percent (信用履约率).
    pub on_time_rate: Option<f64>,
    /// Grade as assessed now (客户等级).
    pub grade: Option<Grade>,
    /// Grade on the card, as last set by head office.
    pub card_grade: Option<Grade>,
    /// Credit limit on the card, yuan (信用额度).
    pub credit_limit: Option<Yuan>,
    /// Suggested credit limit, yuan.
    pub suggested_limit: Option<Yuan>,
    /// Remarks (备注).
    pub remarks: String,
}

impl GradeRow {
    /// The row of `card` as of `day`.
    pub fn of(card: &Customer, g: &Grading, day: Day) -> GradeRow {
        let a = assess(card, g, day);
        let mut remarks = Vec::new();
        match &a {
            None => remarks.push(
                why_not_graded(card, g, day).unwrap_or_else(|| "无销售记录,未评分".to_string()),
            ),
            Some(a) => {
                if card.grade != Some(a.grade) {
                    remarks.push(match card.grade {
                        Some(old) => format!("等级由{}调为{}", old.code(), a.grade.code()),
                        None => format!("首次定级{}", a.grade.code()),
                    });
                }
                match a.grade {
                    Grade::D => remarks.push("关注客户".into()),
                    Grade::E => remarks.push("淘汰客户".into()),
                    _ => {}
                }
                if card.credit.limit != Some(a.suggested_limit) {
                    remarks.push(format!("建议额度 {}", yuan(a.suggested_limit)));
                }
            }
        }
        GradeRow {
            id: card.id.clone(),
            name: card.name.clone(),
            salesperson: card.salesperson.clone(),
            score: a.as_ref().map(|a| a.score),
            coefficient: a.as_ref().map(|a| a.coefficient),
            monthly_average: a.as_ref().map(|a| a.monthly_average),
            on_time_rate: a.as_ref().map(|a| a.on_time_rate),
            grade: a.as_ref().map(|a| a.grade),
            card_grade: card.grade,
            credit_limit: card.credit.limit,
            suggested_limit: a.as_ref().map(|a| a.suggested_limit),
            remarks: remarks.join(";"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::Sale;

    fn day(s: &str) -> Day {
        s.parse().unwrap()
    }

    fn sale(card: &mut Customer, d: &str, amount: Yuan, due: Option<&str>, paid: Option<&str>) {
        let id = format!("s{}", card.sales.len());
        card.sales.insert(
            id,
            Sale {
                day: Some(day(d)),
                amount,
                due: due.map(day),
                paid_on: paid.map(day),
                ..Default::default()
            },
        );
    }

    fn g() -> Grading {
        Grading::default()
    }

    #[test]
    fn band_boundaries_include_their_lower_bound() {
        let g = g();
        for (score, grade) in [
            (100.0, Grade::A),
            (90.0, Grade::A),
            (89.9, Grade::B),
            (80.0, Grade::B),
            (79.9, Grade::C),
            (70.0, Grade::C),
            (69.9, Grade::D),
            (60.0, Grade::D),
            (59.9, Grade::E),
            (50.0, Grade::E),
            (10.0, Grade::E),
        ] {
            assert_eq!(grade_for(score, &g), grade, "score {score}");
        }
    }

    #[test]
    fn periods_are_whole_months_before_the_assessment_month() {
        // Assessed 2026-11-15: current = Aug–Oct, previous = May–Jul.
        let mut c = Customer::default();
        sale(&mut c, "2026-05-01", 300_000, None, None); // previous
        sale(&mut c, "2026-07-31", 300_000, None, None); // previous
        sale(&mut c, "2026-08-01", 450_000, None, None); // current
        sale(&mut c, "2026-11-01", 999_999, None, None); // this month: not counted
        sale(&mut c, "2026-04-30", 999_999, None, None); // too old
        let a = assess(&c, &g(), day("2026-11-15")).unwrap();
        assert_eq!(a.previous_average, 200_000.0);
        assert_eq!(a.monthly_average, 150_000.0);
        assert_eq!(a.sales_points, 75.0);
        assert_eq!(a.rate_source, RateSource::NoCredit);
        // 0.5 × 75 + 0.5 × 100 = 87.5 → B, coefficient 1.5 × 150,000.
        assert_eq!(a.score, 87.5);
        assert_eq!(a.grade, Grade::B);
        assert_eq!(a.suggested_limit, 225_000);
    }

    #[test]
    fn on_time_rate_counts_credit_sales_that_fell_due() {
        let mut c = Customer::default();
        sale(
            &mut c,
            "2026-06-10",
            100,
            Some("2026-07-10"),
            Some("2026-07-01"),
        ); // on time
        sale(
            &mut c,
            "2026-08-10",
            100,
            Some("2026-09-10"),
            Some("2026-09-20"),
        ); // late
        sale(&mut c, "2026-09-10", 100, Some("2026-10-10"), None); // overdue, unpaid
        sale(&mut c, "2026-10-20", 100, Some("2026-12-20"), None); // not yet due
        let a = assess(&c, &g(), day("2026-11-15")).unwrap();
        assert_eq!(a.rate_source, RateSource::Sales);
        assert!((a.on_time_rate - 100.0 / 3.0).abs() < 1e-9);
        // Sales 300 now against 100 before: capped at 100 points.
        assert_eq!(a.sales_points, 100.0);
        assert_eq!(a.score, 66.7);
        assert_eq!(a.grade, Grade::D);
    }

    #[test]
    fn exactly_sixty_is_d_and_just_below_is_e() {
        // Sales flat (100 points), card rate 20 % → 60.0 → D.
        let mut c = Customer::default();
        sale(&mut c, "2026-06-01", 1000, None, None);
        sale(&mut c, "2026-09-01", 1000, None, None);
        c.credit.on_time_rate = Some(20.0);
        let a = assess(&c, &g(), day("2026-11-15")).unwrap();
        assert_eq!(
            (a.score, a.grade, a.rate_source),
            (60.0, Grade::D, RateSource::Card)
        );
        c.credit.on_time_rate = Some(19.8);
        let a = assess(&c, &g(), day("2026-11-15")).unwrap();
        assert_eq!((a.score, a.grade), (59.9, Grade::E));
        assert_eq!(a.coefficient, 0.0);
    }

    #[test]
    fn no_sales_means_no_grade_and_the_row_says_so() {
        let c = Customer {
            name: "杭州西湖贸易有限公司".into(),
            grade: Some(Grade::B),
            ..Default::default()
        };
        assert!(assess(&c, &g(), day("2026-11-15")).is_none());
        let row = GradeRow::of(&c, &g(), day("2026-11-15"));
        assert_eq!(row.grade, None);
        assert_eq!(row.card_grade, Some(Grade::B));
        assert!(row.remarks.contains("未评分"));
    }

    #[test]
    fn a_sale_outside_the_period_is_named_with_the_period_in_the_note() {
        // 86,000 sold today: the current period is the three whole months
        // before this one, so the sale counts from next month's assessment.
        let mut c = Customer::default();
        sale(&mut c, "2026-12-02", 86_000, None, None);
        let row = GradeRow::of(&c, &g(), day("2026-12-02"));
        assert_eq!(row.grade, None);
        assert!(!row.remarks.starts_with("无销售记录"), "{}", row.remarks);
        assert!(
            row.remarks.contains("本期(2026-09-01至2026-11-30)")
                && row.remarks.contains("上期(2026-06-01至2026-08-31)"),
            "{}",
            row.remarks
        );
        assert!(
            row.remarks.contains("86,000 元") && row.remarks.contains("下月"),
            "{}",
            row.remarks
        );
        // A sale older than both periods is named as such.
        let mut old = Customer::default();
        sale(&mut old, "2025-01-10", 5_000, None, None);
        let row = GradeRow::of(&old, &g(), day("2026-12-02"));
        assert!(row.remarks.contains("早于上期"), "{}", row.remarks);
        // Without any sale the note stays short.
        let none = GradeRow::of(&Customer::default(), &g(), day("2026-12-02"));
        assert_eq!(none.remarks, "无销售记录,未评分");
    }

    #[test]
    fn weights_and_bands_are_settings() {
        let mut c = Customer::default();
        sale(&mut c, "2026-06-01", 1000, None, None);
        sale(&mut c, "2026-09-01", 500, None, None);
        let mut g = g();
        g.sales_weight = 1.0;
        g.credit_weight = 0.0;
        let a = assess(&c, &g, day("2026-11-15")).unwrap();
        assert_eq!((a.score, a.grade), (50.0, Grade::E));
        g.bands.d = 50.0;
        g.bands.e = 40.0;
        assert_eq!(assess(&c, &g, day("2026-11-15")).unwrap().grade, Grade::D);
    }

    #[test]
    fn month_arithmetic_crosses_years() {
        assert_eq!(month_start(day("2026-02-10"), 3).to_string(), "2025-11-01");
        assert_eq!(month_start(day("2026-01-31"), 0).to_string(), "2026-01-01");
    }

    #[test]
    fn grading_on_the_first_representable_day_does_not_panic() {
        let first = Day(NaiveDate::MIN);
        assert_eq!(month_start(first, 6), NaiveDate::MIN);
        let mut c = Customer::default();
        c.sales.insert("s".into(), Default::default());
        assert!(assess(&c, &Grading::default(), first).is_none());
    }
}
