//! What a salesperson does with customers: create and change them, find
//! them by what they know of them, read their history and conflicts.

use std::collections::HashMap;

use crm_shared::diff::FieldChange;
use crm_shared::document::{Conflict, HistoryEntry};
use crm_shared::note::{Action, ChangeNote};
use crm_shared::summary::CustomerSummary;
use crm_shared::{Customer, CustomerDoc};

use super::Store;
use crate::clock::now_millis;
use crate::db;
use crate::error::{ClientError, Result};

impl Store {
    /// Existing customers that look like `c`: same name, same phone, or same tax number.
    pub fn possible_duplicates(&self, c: &Customer) -> Result<Vec<CustomerSummary>> {
        let mut found: Vec<CustomerSummary> = Vec::new();
        let mut probes = vec![c.name.clone()];
        probes.extend(
            c.contacts
                .values()
                .flat_map(|k| [k.mobile.clone(), k.phone.clone()]),
        );
        probes.push(c.billing.tax_no.clone());
        for p in probes.into_iter().filter(|p| p.chars().count() >= 2) {
            for s in db::search(&self.conn, &p)? {
                let same = s.name == c.name || {
                    let other = self.get(&s.id)?;
                    (!c.billing.tax_no.is_empty() && other.billing.tax_no == c.billing.tax_no)
                        || other.contacts.values().any(|k| {
                            c.contacts.values().any(|m| {
                                (!m.mobile.is_empty() && m.mobile == k.mobile)
                                    || (!m.phone.is_empty() && m.phone == k.phone)
                            })
                        })
                };
                if same && s.id != c.id && !found.iter().any(|f| f.id == s.id) {
                    found.push(s);
                }
            }
        }
        Ok(found)
    }

    /// Stores a new customer. Fails if the id exists or, unless
    /// `allow_duplicate`, if it looks like an existing customer.
    pub fn create(&mut self, c: &Customer, allow_duplicate: bool) -> Result<()> {
        if db::doc_exists(&self.conn, &c.id)? {
            return Err(ClientError::Exists(c.id.clone()));
        }
        if !allow_duplicate {
            let dups = self.possible_duplicates(c)?;
            if !dups.is_empty() {
                let list = dups
                    .iter()
                    .map(|d| format!("{} {}", d.id, d.name))
                    .collect::<Vec<_>>()
                    .join("、");
                return Err(ClientError::Duplicate(list));
            }
        }
        let now = now_millis();
        let doc = CustomerDoc::create(
            c,
            self.profile.actor.clone(),
            &self.note(Action::Create, None),
            now,
        )?;
        let tx = self.conn.transaction()?;
        Self::persist(&tx, &doc, c, None, now)?;
        tx.commit()?;
        Ok(())
    }

    /// The card of customer `id`.
    pub fn get(&self, id: &str) -> Result<Customer> {
        Ok(self.load(id)?.0.customer()?)
    }

    /// Applies `edit` to customer `id` and commits it as one change with
    /// `note`. Nothing is stored if `edit` or validation fails, or if a reason
    /// is needed and missing. Returns what changed (empty: nothing to do).
    pub fn change(
        &mut self,
        id: &str,
        note: &ChangeNote,
        edit: impl FnOnce(&mut Customer) -> Result<()>,
    ) -> Result<Vec<FieldChange>> {
        let (mut doc, stored) = self.load(id)?;
        let before = doc.heads();
        let mut card = doc.customer()?;
        edit(&mut card)?;
        let now = now_millis();
        let changes = doc.update(&card, note, now)?;
        if !changes.is_empty() {
            let tx = self.conn.transaction()?;
            Self::persist(&tx, &doc, &card, Some((&stored, &before)), now)?;
            tx.commit()?;
        }
        Ok(changes)
    }

    /// The id a user meant: an exact id, a unique id prefix, an exact
    /// name, or else the one customer whose name, contact, phone or tax
    /// number contains `key`. When several contain it they are named.
    pub fn resolve_key(&self, key: &str) -> Result<String> {
        if db::doc_exists(&self.conn, key)? {
            return Ok(key.to_string());
        }
        let listed = |many: &[(String, String)]| {
            many.iter()
                .take(5)
                .map(|(i, n)| format!("{n}({i})"))
                .collect::<Vec<_>>()
                .join("、")
        };
        let found = db::find_ids(&self.conn, key)?;
        match found.as_slice() {
            [(id, _)] => return Ok(id.clone()),
            [] => {}
            many => {
                return Err(ClientError::Ambiguous {
                    key: key.to_string(),
                    candidates: listed(many),
                })
            }
        }
        let found: Vec<(String, String)> = match key.trim() {
            k if k.chars().count() >= 2 => db::search(&self.conn, k)?
                .into_iter()
                .map(|s| (s.id, s.name))
                .collect(),
            _ => Vec::new(),
        };
        match found.as_slice() {
            [] => Err(ClientError::NotFound(key.to_string())),
            [(id, _)] => Ok(id.clone()),
            many => Err(ClientError::Ambiguous {
                key: key.to_string(),
                candidates: format!(
                    "{}{}",
                    listed(many),
                    if many.len() > 5 {
                        format!(" 等 {} 位", many.len())
                    } else {
                        String::new()
                    }
                ),
            }),
        }
    }

    /// Every customer, by name in pinyin order.
    pub fn list(&self) -> Result<Vec<CustomerSummary>> {
        let mut rows = db::list(&self.conn)?;
        rows.sort_by_cached_key(|s| (crm_shared::pinyin::sort_key(&s.name), s.id.clone()));
        Ok(rows)
    }

    /// For each customer id, the shortest start of it that names only that
    /// customer here (at least 6 characters): what lists show, and what
    /// `resolve_key` accepts. Ids made a few milliseconds apart share their
    /// first dozen characters, so a fixed cut would not do.
    pub fn short_ids(&self) -> Result<HashMap<String, String>> {
        let ids = db::doc_ids(&self.conn)?;
        let common =
            |a: &str, b: &str| a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
        let mut out = HashMap::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let before = i.checked_sub(1).map_or(0, |j| common(&ids[j], id));
            let after = ids.get(i + 1).map_or(0, |n| common(n, id));
            let keep = (before.max(after) + 1).max(6);
            out.insert(id.clone(), id.chars().take(keep).collect());
        }
        Ok(out)
    }

    /// Customers whose name, contacts, phones, tax number or id contain `q`.
    pub fn search(&self, q: &str) -> Result<Vec<CustomerSummary>> {
        Ok(db::search(&self.conn, q.trim())?)
    }

    /// Customers with a follow-up due on or before `day`.
    pub fn followups_due(&self, day: crm_shared::day::Day) -> Result<Vec<CustomerSummary>> {
        Ok(db::followups_due(&self.conn, &day.to_string())?)
    }

    /// Who changed what, when and why, oldest first.
    pub fn history(&self, id: &str) -> Result<Vec<HistoryEntry>> {
        Ok(self.load(id)?.0.history())
    }

    /// The card of `id` and its open conflicts, from one read of its
    /// document.
    pub fn card_with_conflicts(&self, id: &str) -> Result<(Customer, Vec<Conflict>)> {
        let (doc, _) = self.load(id)?;
        Ok((doc.customer()?, doc.conflicts()))
    }

    /// Open conflicts of one customer.
    pub fn conflicts(&self, id: &str) -> Result<Vec<Conflict>> {
        Ok(self.load(id)?.0.conflicts())
    }

    /// Open conflicts of every customer.
    pub fn all_conflicts(&self) -> Result<Vec<(String, Conflict)>> {
        let mut out = Vec::new();
        for id in db::doc_ids(&self.conn)? {
            for c in self.conflicts(&id)? {
                out.push((id.clone(), c));
            }
        }
        Ok(out)
    }

    /// Settles a conflicting field on `value`, with a reason.
    pub fn resolve_conflict(
        &mut self,
        id: &str,
        path: &str,
        value: &serde_json::Value,
        reason: &str,
    ) -> Result<()> {
        let (mut doc, stored) = self.load(id)?;
        let before = doc.heads();
        let now = now_millis();
        doc.resolve(path, value, &self.note(Action::Resolve, Some(reason)), now)?;
        let card = doc.customer()?;
        let tx = self.conn.transaction()?;
        Self::persist(&tx, &doc, &card, Some((&stored, &before)), now)?;
        tx.commit()?;
        Ok(())
    }

    /// Every local card, for reports over a salesperson's own customers
    /// (a laptop holds a few hundred).
    pub fn cards(&self) -> Result<Vec<Customer>> {
        let mut out = Vec::new();
        for id in db::doc_ids(&self.conn)? {
            out.push(self.load(&id)?.0.card().clone());
        }
        Ok(out)
    }

    /// Computes the rules card and record days of every row that lacks
    /// them (rows the server sent are stored without reading the card);
    /// returns how many. Reports call it first, so it costs once.
    pub fn fill_derived(&mut self) -> Result<usize> {
        let ids = db::underived(&self.conn)?;
        if ids.is_empty() {
            return Ok(0);
        }
        let mut done = Vec::with_capacity(ids.len());
        for id in &ids {
            done.push((id, super::write::derived(&self.load(id)?.0)));
        }
        let tx = self.conn.transaction()?;
        for (id, (rules, days)) in &done {
            db::set_derived(&tx, id, rules, days)?;
        }
        tx.commit()?;
        Ok(done.len())
    }

    /// Every customer's card slimmed to what the business rules read
    /// (grading, warnings, reviews due): no document is loaded.
    pub fn rules_cards(&mut self) -> Result<Vec<Customer>> {
        self.fill_derived()?;
        db::rules_cards(&self.conn)?
            .iter()
            .map(|json| {
                serde_json::from_str(json)
                    .map_err(|e| crm_shared::Error::Corrupt(format!("规则数据无效:{e}")).into())
            })
            .collect()
    }

    /// The cards a daily report of `day` reads (records on that day, or a
    /// follow-up the day after), each with who entered it.
    pub fn cards_entered_on(
        &mut self,
        day: crm_shared::day::Day,
    ) -> Result<Vec<(Customer, Option<crm_shared::reports::Entered>)>> {
        self.fill_derived()?;
        let ids = db::active_on(&self.conn, &day.to_string(), &day.plus_days(1).to_string())?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let doc = self.load(&id)?.0;
            let entered = doc.entered();
            out.push((doc.card().clone(), entered));
        }
        Ok(out)
    }
}
