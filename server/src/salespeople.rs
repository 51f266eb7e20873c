//! Who a customer may be assigned to: what a person typed as 业务员 (a
//! login or a name), turned into the login of an existing salesperson.

use rusqlite::Connection;

/// The accounts a customer may be assigned to, for turning what a person
/// typed as 业务员 into a login. A customer assigned to a name, or to a
/// login no salesperson has, is seen by no salesperson at all.
pub(crate) struct Salespeople(Vec<crate::db::User>);

impl Salespeople {
    /// The accounts as they are now, read on `conn`.
    pub(crate) fn load(conn: &Connection) -> Result<Self, crate::db::DbError> {
        Ok(Salespeople(crate::db::users_on(conn)?))
    }

    /// The login of the salesperson `typed` names: their login (any ASCII
    /// case) or their name (姓名). Anything else is refused, saying why.
    pub(crate) fn resolve(&self, typed: &str) -> Result<String, String> {
        use crm_shared::codes::Role;
        let t = typed.trim();
        if t.is_empty() {
            return Err("业务员不能为空".into());
        }
        let usable = |u: &crate::db::User| -> Result<String, String> {
            if u.role != Role::Salesperson {
                Err(format!(
                    "“{t}”是{}({}),不是业务员",
                    u.role.label(),
                    u.display_name
                ))
            } else if u.disabled {
                Err(format!(
                    "业务员 {}({})的账号已停用,不能分配客户",
                    u.login, u.display_name
                ))
            } else {
                Ok(u.login.clone())
            }
        };
        if let Some(u) = self.0.iter().find(|u| u.login.eq_ignore_ascii_case(t)) {
            return usable(u);
        }
        let named: Vec<&crate::db::User> = self
            .0
            .iter()
            .filter(|u| u.display_name.trim() == t)
            .collect();
        let sellers: Vec<&&crate::db::User> = named
            .iter()
            .filter(|u| u.role == Role::Salesperson)
            .collect();
        match (sellers.as_slice(), named.as_slice()) {
            ([one], _) => usable(one),
            ([], [one, ..]) => usable(one),
            ([], []) => Err(format!(
                "“{t}”不是系统中的业务员(请填业务员的登录名或姓名,见 crm-server user list)"
            )),
            (many, _) => Err(format!(
                "姓名“{t}”对应多位业务员({}),请填登录名",
                many.iter()
                    .map(|u| u.login.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            )),
        }
    }
}
