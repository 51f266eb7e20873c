//! The row a customer contributes to list, search and follow-up queries.
//!
//! Computed from the card alone, so both the laptop's and the server's query
//! tables can always be rebuilt from the documents.

use serde::{Deserialize, Serialize};

use crate::codes::{Grade, Intent, Status, Tier};
use crate::customer::{Customer, Millis, Yuan};
use crate::day::Day;

/// One customer's projected row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerSummary {
    /// Customer id.
    pub id: String,
    /// Company name.
    pub name: String,
    /// Assigned salesperson.
    pub salesperson: String,
    /// Region.
    pub region: String,
    /// Status.
    pub status: Status,
    /// Grade.
    pub grade: Option<Grade>,
    /// Tier.
    pub tier: Option<Tier>,
    /// Credit limit.
    pub credit_limit: Option<Yuan>,
    /// Main contact's name.
    pub contact: Option<String>,
    /// Main contact's mobile, else phone.
    pub phone: Option<String>,
    /// Intent level now.
    pub intent: Option<Intent>,
    /// Next planned follow-up.
    pub next_followup: Option<Day>,
    /// Time of the latest activity.
    pub last_activity_at: Option<Millis>,
    /// Number of activities.
    pub activities: usize,
}

impl CustomerSummary {
    /// The row of `c`.
    pub fn of(c: &Customer) -> Self {
        let main = c.main_contact();
        let phone = main.and_then(|k| {
            [&k.mobile, &k.phone]
                .into_iter()
                .find(|p| !p.is_empty())
                .cloned()
        });
        CustomerSummary {
            id: c.id.clone(),
            name: c.name.clone(),
            salesperson: c.salesperson.clone(),
            region: c.region.clone(),
            status: c.status,
            grade: c.grade,
            tier: c.tier,
            credit_limit: c.credit.limit,
            contact: main.map(|k| k.name.clone()),
            phone,
            intent: c.current_intent(),
            next_followup: c.next_followup(),
            last_activity_at: c.last_activity().map(|(_, a)| a.at),
            activities: c.activities.len(),
        }
    }
}

/// Text a search matches against: id, name, every contact's name and
/// numbers, the tax number, and the name in pinyin (run together and as
/// initials: `shanghai` and `shhd` both find 上海华东机电), separated by
/// newlines.
pub fn search_text(c: &Customer) -> String {
    let (full, initials) = crate::pinyin::search_forms(&c.name);
    let mut parts = vec![c.id.as_str(), c.name.as_str(), c.billing.tax_no.as_str()];
    for k in c.contacts.values() {
        parts.extend([k.name.as_str(), k.mobile.as_str(), k.phone.as_str()]);
    }
    parts.extend([full.as_str(), initials.as_str()]);
    parts.retain(|p| !p.is_empty());
    parts.join("\n")
}

/// `search` (a search text from elsewhere, e.g. a server that wrote it
/// before pinyin was added) with the pinyin of `name` added if missing.
pub fn with_pinyin(search: &str, name: &str) -> String {
    let (full, initials) = crate::pinyin::search_forms(name);
    let mut out = search.to_string();
    for form in [full, initials] {
        if !form.is_empty() && !out.lines().any(|l| l == form) {
            out.push('\n');
            out.push_str(&form);
        }
    }
    out
}

/// The local calendar days on which `c` has something a daily report
/// counts: activities, sales, complaints, and `entered` (when a person
/// entered the customer: [`crate::CustomerDoc::entered`], which an import
/// never has); as
/// ` YYYY-MM-DD YYYY-MM-DD ` (each day between spaces, so a day is found by
/// looking for ` day `). Lets a laptop read only the cards a day's report
/// needs.
pub fn record_days(c: &Customer, entered: Option<crate::customer::Millis>) -> String {
    use crate::day::Day;
    let mut days: Vec<Day> = c
        .activities
        .values()
        .map(|a| Day::from_millis_local(a.at))
        .chain(c.complaints.values().map(|k| Day::from_millis_local(k.at)))
        .chain(c.sales.values().filter_map(|s| s.day))
        .chain(entered.map(Day::from_millis_local))
        .collect();
    days.sort();
    days.dedup();
    let mut out = String::from(" ");
    for d in days {
        out.push_str(&d.to_string());
        out.push(' ');
    }
    out
}

/// Version of what a laptop's projected row holds: a store whose rows
/// were written under another version rewrites them (2: pinyin in the
/// search text; 3: the slimmed rules card and the record days).
pub const SEARCH_VERSION: u32 = 3;

/// The card slimmed to what the business rules read (grading, warnings,
/// complaint statistics, review list): no contacts, company or billing
/// details, no free text, and only the activities that decide the intent
/// level, the next follow-up and the last contact. Head office keeps one per
/// customer so a report over 100,000 customers reads no documents.
pub fn rules_card(c: &Customer) -> Customer {
    let mut activities = std::collections::BTreeMap::new();
    if let Some((id, a)) = c.last_activity() {
        activities.insert(id.clone(), a.clone());
    }
    if let Some((id, a)) = c
        .activities
        .iter()
        .filter(|(_, a)| a.intent.is_some())
        .max_by(|a, b| (a.1.at, a.0).cmp(&(b.1.at, b.0)))
    {
        activities.insert(id.clone(), a.clone());
    }
    for a in activities.values_mut() {
        a.notes.clear();
    }
    let mut complaints = c.complaints.clone();
    for k in complaints.values_mut() {
        k.description.clear();
        k.investigation.clear();
        k.remedy.clear();
        k.execution.clear();
        k.inspection.clear();
        k.responsible_department.clear();
        k.manager_opinion.clear();
        k.negotiation.clear();
        k.litigation.clear();
        k.steps.clear();
    }
    Customer {
        id: c.id.clone(),
        name: c.name.clone(),
        salesperson: c.salesperson.clone(),
        region: c.region.clone(),
        status: c.status,
        entered_at: c.entered_at,
        grade: c.grade,
        score: c.score,
        tier: c.tier,
        intent: c.intent,
        credit: c.credit.clone(),
        activities,
        complaints,
        sales: c.sales.clone(),
        reviews: c.reviews.clone(),
        major_changes: c.major_changes.clone(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Intent;
    use crate::customer::Activity;
    use crate::settings::Settings;

    #[test]
    fn the_slim_card_gives_the_same_rule_results() {
        let mut c = Customer {
            id: "c1".into(),
            name: "苏州工业园区精密模具厂".into(),
            entered_at: 1_700_000_000_000,
            ..Default::default()
        };
        for (i, intent) in [Some(Intent::A), None, Some(Intent::H), None]
            .into_iter()
            .enumerate()
        {
            c.activities.insert(
                format!("a{i}"),
                Activity {
                    at: 1_700_000_000_000 + i as i64 * 86_400_000,
                    intent,
                    notes: "很长的拜访记录".into(),
                    next_followup: Some(format!("2023-11-{:02}", 20 + i).parse().unwrap()),
                    ..Default::default()
                },
            );
        }
        let slim = rules_card(&c);
        assert_eq!(slim.activities.len(), 2);
        assert_eq!(slim.current_intent(), c.current_intent());
        assert_eq!(slim.next_followup(), c.next_followup());
        let today = "2024-03-01".parse().unwrap();
        let s = Settings::default();
        assert_eq!(
            crate::warnings::check(&slim, &s, today),
            crate::warnings::check(&c, &s, today)
        );
    }
}
