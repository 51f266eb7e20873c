//! Who may see and change which customer, and which fields are protected.
//! The server enforces these rules; the client applies the same ones to
//! refuse an edit before it is made.

use crate::codes::Role;
use crate::customer::Customer;
use crate::diff::FieldChange;

/// Fields a salesperson may not change: credit limit, grade and the
/// assigned salesperson.
pub const PROTECTED: &[&str] = &["credit.limit", "grade", "salesperson"];

/// Fields nobody changes by editing the card: they move only through their
/// own rule. The credit limit changes when the last approver of the chain
/// approves a credit-limit request (the handbook's 客户信用额度变更申请表),
/// never by a correction, whoever makes it.
pub const BY_RULE_ONLY: &[&str] = &["credit.limit"];

/// Whether `role` sees every customer (head office) rather than only its own.
pub fn sees_all(role: Role) -> bool {
    matches!(role, Role::Clerk | Role::Manager | Role::Admin)
}

/// Whether user `login` with `role` may see customer `card`.
pub fn may_see(role: Role, login: &str, card: &Customer) -> bool {
    sees_all(role) || (role == Role::Salesperson && card.salesperson == login)
}

/// Whether `role` may change field `path` by editing the card.
pub fn may_change(role: Role, path: &str) -> bool {
    if BY_RULE_ONLY.contains(&path) {
        return false;
    }
    match role {
        Role::Clerk | Role::Manager => true,
        Role::Salesperson => !PROTECTED.contains(&path),
        Role::Admin | Role::BackupOperator => false,
    }
}

/// Why `role` may not change field `path` (for a field it may not change),
/// in Chinese, with what to do instead.
pub fn why_not(role: Role, path: &str) -> String {
    if BY_RULE_ONLY.contains(&path) {
        "信用额度只能通过信用额度变更申请修改,由审批链(销售管理部经理 → 销售副总 → 销售总经理 → 集团总经理)最后一级批准后生效".into()
    } else {
        format!(
            "{}无权修改“{}”,请联系档案管理员",
            role.label(),
            crate::labels::label_of(path)
        )
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

    /// The credit limit moves only through an approved request: no role
    /// changes it by an edit, and a head-office push changing it is put back.
    #[test]
    fn nobody_edits_the_credit_limit() {
        for role in [Role::Clerk, Role::Manager, Role::Salesperson, Role::Admin] {
            assert!(!may_change(role, "credit.limit"), "{role:?}");
        }
        let before = Customer::default();
        let mut after = before.clone();
        after.credit.limit = Some(500_000);
        let r = refused_changes(Role::Manager, &before, &after);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].0, "credit.limit");
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
        let clerk: Vec<_> = refused_changes(Role::Clerk, &before, &after)
            .iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(clerk, vec!["credit.limit"]);
    }
}
