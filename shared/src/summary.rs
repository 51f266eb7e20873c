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
/// numbers, and the tax number, separated by newlines.
pub fn search_text(c: &Customer) -> String {
    let mut parts = vec![c.id.as_str(), c.name.as_str(), c.billing.tax_no.as_str()];
    for k in c.contacts.values() {
        parts.extend([k.name.as_str(), k.mobile.as_str(), k.phone.as_str()]);
    }
    parts.retain(|p| !p.is_empty());
    parts.join("\n")
}
