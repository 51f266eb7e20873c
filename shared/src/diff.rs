//! Field-level differences between two states of a card, as dotted paths.
//!
//! Used for the history (“which fields, old → new”) and to decide whether a
//! change needs a reason. Works on the JSON form so it covers every field
//! without per-field code.

use serde::Serialize;
use serde_json::Value;

use crate::customer::Customer;

/// Collections whose new entries are records being added, not card edits.
pub const COLLECTIONS: &[&str] = &[
    "contacts",
    "activities",
    "complaints",
    "violations",
    "evaluations",
    "sales",
    "credit_requests",
    "reviews",
    "major_changes",
];

/// One field that differs, as people read it (moments as dates). `None`
/// means absent or empty (null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// Dotted path, e.g. `credit.limit` or `contacts.k1.mobile`.
    pub path: String,
    /// The value before, as text.
    pub old: Option<String>,
    /// The value after, as text.
    pub new: Option<String>,
}

impl FieldChange {
    /// Whether this change adds a whole new entry to a record collection
    /// (a visit, a contact, …) rather than altering the card.
    pub fn is_new_entry(&self) -> bool {
        let mut parts = self.path.splitn(3, '.');
        let (Some(top), Some(_), None) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        self.old.is_none() && COLLECTIONS.contains(&top)
    }
}

/// Text of a value for people: empty strings count as absent, and an
/// object (a whole new entry) reads as `key=value` pairs of what is set.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => Some(
            m.iter()
                .filter_map(|(k, v)| match v {
                    Value::Bool(false) => None,
                    Value::Object(o) if o.is_empty() => None,
                    other => text(other).map(|t| format!("{k}={t}")),
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        other => Some(other.to_string()),
    }
}

/// [`text`] of the value at `path`, as people read it: a moment (stored
/// as epoch milliseconds) as a date or date and time, also inside a whole
/// new entry (`at=2026-03-02 09:00`).
pub fn text_at(path: &str, v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => match (crate::labels::moment_of(path), n.as_i64()) {
            (Some(m), Some(ms)) => m.show(ms),
            _ => text(v),
        },
        Value::Object(m) => Some(
            m.iter()
                .filter_map(|(k, v)| match v {
                    Value::Bool(false) => None,
                    Value::Object(o) if o.is_empty() => None,
                    other => text_at(&format!("{path}.{k}"), other).map(|t| format!("{k}={t}")),
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => text(v),
    }
}

fn walk(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<FieldChange>) {
    let old = old.filter(|v| !v.is_null());
    let new = new.filter(|v| !v.is_null());
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(&p, a.get(k), b.get(k), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => {
            // Compared as stored, shown as read: two moments in the same
            // minute differ all the same.
            if a.and_then(text) != b.and_then(text) {
                out.push(FieldChange {
                    path: path.to_string(),
                    old: a.and_then(|v| text_at(path, v)),
                    new: b.and_then(|v| text_at(path, v)),
                });
            }
        }
    }
}

/// Differences between two JSON trees.
pub fn json(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk("", Some(old), Some(new), &mut out);
    out
}

/// Differences between two cards.
pub fn customers(old: &Customer, new: &Customer) -> Vec<FieldChange> {
    let a = serde_json::to_value(old).expect("a customer always serialises");
    let b = serde_json::to_value(new).expect("a customer always serialises");
    json(&a, &b)
}

/// Whether going from `old` to `new` changes the archive card (which needs a
/// reason) rather than only adding records such as visits.
pub fn needs_reason(changes: &[FieldChange]) -> bool {
    changes.iter().any(|c| !c.is_new_entry())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::Activity;

    #[test]
    fn a_new_visit_needs_no_reason_but_an_edit_does() {
        let a = Customer {
            id: "c1".into(),
            name: "甲".into(),
            ..Default::default()
        };
        let mut b = a.clone();
        b.activities.insert("v1".into(), Activity::default());
        let d = customers(&a, &b);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "activities.v1");
        assert!(!needs_reason(&d));

        b.credit.limit = Some(5);
        let d = customers(&a, &b);
        assert!(d
            .iter()
            .any(|c| c.path == "credit.limit" && c.new.as_deref() == Some("5")));
        assert!(needs_reason(&d));
    }
}
