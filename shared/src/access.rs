//! Who may see and change which customer, and which fields are protected.
//! The server enforces these rules; the client applies the same ones to
//! refuse an edit before it is made.

use crate::codes::Role;
use crate::customer::Customer;
use crate::diff::FieldChange;

/// Fields only head office (archive clerk, manager) may change: credit
/// limit, grade and the assigned salesperson.
pub const PROTECTED: &[&str] = &["credit.limit", "grade", "salesperson"];

/// Whether `role` sees every customer (head office) rather than only its own.
pub fn sees_all(role: Role) -> bool {
    matches!(role, Role::Clerk | Role::Manager | Role::Admin)
}

/// Whether user `login` with `role` may see customer `card`.
pub fn may_see(role: Role, login: &str, card: &Customer) -> bool {
    sees_all(role) || (role == Role::Salesperson && card.salesperson == login)
}

/// Whether `role` may change field `path`.
pub fn may_change(role: Role, path: &str) -> bool {
    match role {
        Role::Clerk | Role::Manager => true,
        Role::Salesperson => !PROTECTED.contains(&path),
        Role::Admin | Role::BackupOperator => false,
    }
}

/// The changes among `changes` that `role` may not make.
pub fn forbidden(role: Role, changes: &[FieldChange]) -> Vec<&FieldChange> {
    changes
        .iter()
        .filter(|c| !may_change(role, &c.path))
        .collect()
}

/// The protected fields of `card` with their values, by path.
pub fn protected_values(card: &Customer) -> Vec<(&'static str, serde_json::Value)> {
    let json = serde_json::to_value(ProtectedView {
        credit_limit: card.credit.limit,
        grade: card.grade,
        salesperson: &card.salesperson,
    })
    .expect("serialises");
    PROTECTED
        .iter()
        .map(|p| (*p, json[p.replace('.', "_")].clone()))
        .collect()
}

#[derive(serde::Serialize)]
struct ProtectedView<'a> {
    credit_limit: Option<i64>,
    grade: Option<crate::codes::Grade>,
    salesperson: &'a str,
}

/// The protected fields `role` changed from `before` to `after`, with the
/// value to put back.
pub fn refused_changes(
    role: Role,
    before: &Customer,
    after: &Customer,
) -> Vec<(&'static str, serde_json::Value, serde_json::Value)> {
    protected_values(before)
        .into_iter()
        .zip(protected_values(after))
        .filter(|((path, old), (_, new))| old != new && !may_change(role, path))
        .map(|((path, old), (_, new))| (path, old, new))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salespeople_see_their_own_and_may_not_touch_protected_fields() {
        let c = Customer {
            salesperson: "zhang".into(),
            ..Default::default()
        };
        assert!(may_see(Role::Salesperson, "zhang", &c));
        assert!(!may_see(Role::Salesperson, "li", &c));
        assert!(may_see(Role::Clerk, "anyone", &c));
        assert!(!may_see(Role::BackupOperator, "zhang", &c));
        assert!(!may_change(Role::Salesperson, "credit.limit"));
        assert!(may_change(Role::Salesperson, "company.address"));
        assert!(may_change(Role::Clerk, "grade"));
    }

    #[test]
    fn refused_changes_name_the_old_value() {
        let before = Customer {
            salesperson: "zhang".into(),
            grade: Some(crate::codes::Grade::B),
            ..Default::default()
        };
        let mut after = before.clone();
        after.credit.limit = Some(9);
        after.salesperson = "li".into();
        after.name = "x".into();
        let r = refused_changes(Role::Salesperson, &before, &after);
        let paths: Vec<_> = r.iter().map(|x| x.0).collect();
        assert_eq!(paths, vec!["credit.limit", "salesperson"]);
        assert_eq!(r[1].1, serde_json::json!("zhang"));
        assert!(refused_changes(Role::Clerk, &before, &after).is_empty());
    }
}
