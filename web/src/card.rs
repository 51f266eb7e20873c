//! The archive card's fields as people read them: Chinese labels, codes as
//! their names, money with separators, dates as dates.

use crm_shared::labels::{FIELDS, MONEY_FIELDS};
use crm_shared::Customer;

use crate::format::{grade, yuan};

/// Who a login is, by name, where known.
pub type Names<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The text a card field shows; empty when the field is empty. People are
/// shown by name where `names` knows them.
pub fn value(card: &Customer, json: &serde_json::Value, path: &str, names: Names) -> String {
    let label = |o: Option<&'static str>| o.unwrap_or_default().to_string();
    match path {
        "salesperson" => names(&card.salesperson).unwrap_or_else(|| card.salesperson.clone()),
        "status" => card.status.label().to_string(),
        "grade" => grade(card.grade),
        "tier" => label(card.tier.map(|t| t.label())),
        "kind" => label(card.kind.map(|t| t.label())),
        "nature" => label(card.nature.map(|t| t.label())),
        "intent" => label(card.intent.map(|t| t.label())),
        "company.bank_rating" => label(card.company.bank_rating.map(|t| t.label())),
        "credit.on_time_rate" => card
            .credit
            .on_time_rate
            .map(|r| format!("{r:.1}%"))
            .unwrap_or_default(),
        p if MONEY_FIELDS.contains(&p) => {
            let pointer = format!("/{}", p.replace('.', "/"));
            let v = json.pointer(&pointer).and_then(|v| v.as_i64());
            v.map(|v| format!("{} 元", yuan(Some(v))))
                .unwrap_or_default()
        }
        p => {
            let pointer = format!("/{}", p.replace('.', "/"));
            json.pointer(&pointer)
                .and_then(|v| crm_shared::diff::text_at(p, v))
                .unwrap_or_default()
        }
    }
}

/// Every single-value field of the card with its label, in the card's
/// order (empty ones included: the caller decides whether to show them).
pub fn fields(card: &Customer, names: Names) -> Vec<(&'static str, &'static str, String)> {
    let json = serde_json::to_value(card).unwrap_or_default();
    FIELDS
        .iter()
        .map(|(path, label)| (*path, *label, value(card, &json, path, names)))
        .collect()
}
