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
}
