//! People by name. A login is for signing in; the console shows who
//! someone is, and adds the login only where two people share a name, so
//! they can still be told apart.

use std::collections::HashMap;

use crm_shared::codes::Role;

use crate::db::DbError;
use crate::state::AppState;

/// Every account's name as the console shows it.
pub struct People {
    shown: HashMap<String, String>,
    /// Salesperson accounts (login, shown name), in pinyin order.
    salespeople: Vec<(String, String)>,
}

impl People {
    /// Reads the accounts.
    pub async fn load(state: &AppState) -> Result<People, DbError> {
        let users = state.db.users().await?;
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for u in &users {
            *seen.entry(u.display_name.trim()).or_default() += 1;
        }
        let show = |login: &str, name: &str| {
            let name = name.trim();
            match (name.is_empty(), seen.get(name).copied().unwrap_or(0) > 1) {
                (true, _) => login.to_string(),
                (false, true) => format!("{name}({login})"),
                (false, false) => name.to_string(),
            }
        };
        let shown: HashMap<String, String> = users
            .iter()
            .map(|u| (u.login.clone(), show(&u.login, &u.display_name)))
            .collect();
        let mut salespeople: Vec<(String, String)> = users
            .iter()
            .filter(|u| u.role == Role::Salesperson)
            .map(|u| (u.login.clone(), shown[&u.login].clone()))
            .collect();
        salespeople.sort_by_cached_key(|(_, n)| crm_shared::pinyin::sort_key(n));
        Ok(People { shown, salespeople })
    }

    /// `login`'s name; the login itself for one no account has (a
    /// person deleted since, a value typed on a laptop).
    pub fn name(&self, login: &str) -> String {
        self.shown
            .get(login)
            .cloned()
            .unwrap_or_else(|| login.to_string())
    }

    /// `login`'s name, `None` for one no account has.
    pub fn known(&self, login: &str) -> Option<String> {
        self.shown.get(login).cloned()
    }

    /// Salesperson accounts as (login, name), in pinyin order.
    pub fn salespeople(&self) -> &[(String, String)] {
        &self.salespeople
    }
}
