//! What the server keeps per customer to answer report pages without
//! reading every card must agree with the rules run afresh on any day:
//! `warnings::schedule` with `warnings::check`, `grading::window` with
//! `GradeRow::of`.

use chrono::NaiveDate;
use proptest::prelude::*;

use crm_shared::codes::{Grade, Status};
use crm_shared::customer::{Activity, Customer, MajorChange, Review, Sale};
use crm_shared::day::Day;
use crm_shared::grading::{self, GradeRow};
use crm_shared::settings::Settings;
use crm_shared::warnings;

/// Days 2025-01-01 .. 2027-12-31, where the cards' days fall.
fn a_day() -> impl Strategy<Value = Day> {
    (0i64..3 * 365).prop_map(|n| Day(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()).plus_days(n))
}

/// A moment in the same years; sometimes missing (0), as on old cards.
fn a_moment() -> impl Strategy<Value = i64> {
    prop_oneof![
        1 => Just(0i64),
        6 => 1_735_660_800_000i64..1_830_268_800_000,
    ]
}

fn a_sale() -> impl Strategy<Value = Sale> {
    (
        proptest::option::of(a_day()),
        0i64..50_000,
        proptest::option::of(a_day()),
        proptest::option::of(a_day()),
    )
        .prop_map(|(day, amount, due, paid_on)| Sale {
            day,
            amount,
            due,
            paid_on,
            ..Default::default()
        })
}

fn a_card() -> impl Strategy<Value = Customer> {
    (
        a_moment(),
        prop::collection::vec(a_sale(), 0..6),
        prop::collection::vec((a_moment(), proptest::option::of(a_day())), 0..4),
        prop::collection::vec(a_moment(), 0..3),
        prop::collection::vec(any::<bool>(), 0..3),
        (
            0usize..6,
            any::<bool>(),
            proptest::option::of(0i64..100_000),
        ),
        proptest::option::of(0.0f64..100.0),
    )
        .prop_map(
            |(entered_at, sales, activities, reviews, changes, (grade, lost, limit), rate)| {
                let mut c = Customer {
                    id: "c1".into(),
                    name: "宁波甬江机械厂".into(),
                    entered_at,
                    grade: [Grade::A, Grade::B, Grade::C, Grade::D, Grade::E]
                        .get(grade)
                        .copied(),
                    status: if lost {
                        Status::Lost
                    } else {
                        Status::default()
                    },
                    ..Default::default()
                };
                c.credit.limit = limit;
                c.credit.on_time_rate = rate;
                for (i, s) in sales.into_iter().enumerate() {
                    c.sales.insert(format!("s{i}"), s);
                }
                for (i, (at, next_followup)) in activities.into_iter().enumerate() {
                    c.activities.insert(
                        format!("a{i}"),
                        Activity {
                            at,
                            next_followup,
                            ..Default::default()
                        },
                    );
                }
                for (i, at) in reviews.into_iter().enumerate() {
                    c.reviews.insert(
                        format!("r{i}"),
                        Review {
                            at,
                            ..Default::default()
                        },
                    );
                }
                for (i, cleared) in changes.into_iter().enumerate() {
                    c.major_changes.insert(
                        format!("m{i}"),
                        MajorChange {
                            cleared,
                            description: "法人代表变更".into(),
                            ..Default::default()
                        },
                    );
                }
                c
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_schedule_raises_what_check_raises_on_every_day(
        card in a_card(),
        churn in 0u32..200,
        review in 0u32..200,
        day in a_day(),
    ) {
        let s = Settings { churn_days: churn, review_days: review, ..Settings::default() };
        let checked: Vec<_> = warnings::check(&card, &s, day).into_iter().map(|w| w.rule).collect();
        let scheduled: Vec<_> = warnings::schedule(&card, &s)
            .into_iter()
            .filter(|w| w.on(day))
            .map(|w| w.rule)
            .collect();
        prop_assert_eq!(checked, scheduled);
    }

    #[test]
    fn a_grade_row_holds_on_every_day_of_its_window(
        card in a_card(),
        day in a_day(),
        pick in 0.0f64..1.0,
    ) {
        let g = Settings::default().grading;
        let (from, until) = grading::window(&card, day);
        prop_assert!(from <= day && day < until, "{day} outside {from}..{until}");
        // Any other day of the window, and its two ends.
        let len = from.days_until(until);
        let other = from.plus_days((pick * len as f64) as i64);
        let row = GradeRow::of(&card, &g, day);
        for d in [from, other, until.plus_days(-1)] {
            prop_assert_eq!(&GradeRow::of(&card, &g, d), &row, "on {}", d);
        }
    }
}
