//! Importing customers from a sheet: first a plan (what would be created,
//! what updated and how, which rows look like customers already on file,
//! which rows are wrong), then — after a person has looked — the commit, in
//! one transaction. 业务员 is a salesperson's login or name, stored as the
//! login (`salespeople::Salespeople`); anything else makes the row wrong. A row
//! with an id already on file updates that customer; any other row is a new
//! customer. A new row whose name, phone or tax
//! number matches a customer on file (or an earlier row) is a possible
//! duplicate and is skipped unless the person asked to create it anyway.

use std::collections::{BTreeSet, HashMap};

use rusqlite::Connection;
use serde::Serialize;

use crm_shared::codes::{Grade, Status, Tier};
use crm_shared::customer::Contact;
use crm_shared::diff::FieldChange;
use crm_shared::note::{Action, ChangeNote};
use crm_shared::{ActorId, Customer, CustomerDoc};

use super::columns::{self, Field};
use super::{SheetError, Table};
use crate::caller::ServiceError;
use crate::db::documents::{self as docs, Origin};
use crate::db::{Db, DbError, Projection};
use crate::salespeople::Salespeople;

/// What would happen to one row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum RowAction {
    /// A new customer.
    Create,
    /// An existing customer's fields change.
    Update {
        /// Field, old → new.
        changes: Vec<FieldChange>,
    },
    /// An existing customer already says all this.
    Unchanged,
}

pub use crate::archive::Duplicate;

/// A customer on file whose row names another salesperson.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    /// Its salesperson now (login).
    pub from: String,
    /// The one the row names (login).
    pub to: String,
    /// Whether this import moves it (only when asked to reassign).
    pub applied: bool,
}

/// One data row's plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRow {
    /// Row number in the sheet (the header is row 1).
    pub line: usize,
    /// Customer id (given or generated).
    pub id: String,
    /// Customer name.
    pub name: String,
    /// What would happen.
    #[serde(flatten)]
    pub action: RowAction,
    /// Possible duplicates (new rows only).
    pub duplicates: Vec<Duplicate>,
    /// For a customer on file whose row names another salesperson: the
    /// move, which happens only when asked (an import never reassigns a
    /// customer silently).
    pub moves: Option<Move>,
}

/// The whole plan for a sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportPlan {
    /// The file, as named by the person.
    pub file_name: String,
    /// Every data row.
    pub rows: Vec<PlannedRow>,
    /// Rows that cannot be imported: row number → why. Any makes the commit refuse.
    pub errors: Vec<(usize, String)>,
    /// Headers not understood (their columns are ignored).
    pub unknown_headers: Vec<String>,
}

impl ImportPlan {
    /// New customers without a possible duplicate.
    pub fn creates(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.action == RowAction::Create && r.duplicates.is_empty())
            .count()
    }

    /// Customers that would change.
    pub fn updates(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.action, RowAction::Update { .. }))
            .count()
    }

    /// Customers on file whose row names another salesperson.
    pub fn moves(&self) -> usize {
        self.rows.iter().filter(|r| r.moves.is_some()).count()
    }

    /// New rows that look like customers already on file.
    pub fn duplicates(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| !r.duplicates.is_empty())
            .count()
    }
}

/// What a commit wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    /// Customers created.
    pub created: usize,
    /// Customers updated.
    pub updated: usize,
    /// Rows that changed nothing.
    pub unchanged: usize,
    /// Possible duplicates left out.
    pub skipped_duplicates: usize,
    /// Customers on file moved to the salesperson their row names.
    pub reassigned: usize,
    /// Customers on file left with their salesperson although their row
    /// names another (not asked to reassign).
    pub not_reassigned: usize,
}

/// A row turned into a card, before it meets the store.
struct RowCard {
    line: usize,
    given_id: Option<String>,
    values: Vec<(Field, String)>,
}

fn rows_of(table: &Table) -> Result<(Vec<RowCard>, Vec<String>), SheetError> {
    let (fields, unknown) = columns::map(&table.headers)?;
    let rows = table
        .rows
        .iter()
        .enumerate()
        .map(|(i, cells)| {
            let mut values = Vec::new();
            let mut given_id = None;
            for (f, cell) in fields.iter().zip(cells) {
                let text = cell.text();
                match f {
                    Some(Field::Id) if !text.is_empty() => given_id = Some(text),
                    Some(f) if !text.is_empty() => values.push((*f, text)),
                    _ => {}
                }
            }
            RowCard {
                line: i + 2,
                given_id,
                values,
            }
        })
        .collect();
    Ok((rows, unknown))
}

/// Puts a row's values onto `card` (`existing`: a card on file, updated).
fn apply(
    card: &mut Customer,
    values: &[(Field, String)],
    by: &str,
    people: &Salespeople,
    existing: bool,
) -> Result<(), String> {
    let main_key = card
        .contacts
        .iter()
        .find(|(_, k)| k.primary)
        .or_else(|| card.contacts.iter().next())
        .map(|(k, _)| k.clone());
    let mut contact = main_key
        .as_ref()
        .map(|k| card.contacts[k].clone())
        .unwrap_or_else(|| Contact {
            primary: true,
            ..Default::default()
        });
    let mut touched_contact = false;
    for (f, v) in values {
        let v = v.clone();
        match f {
            Field::Id => {}
            Field::Name => card.name = v,
            Field::Salesperson => {
                card.salesperson = people.resolve(&v).map_err(|e| format!("业务员:{e}"))?
            }
            Field::Region => card.region = v,
            Field::Status => card.status = v.parse::<Status>().map_err(|e| e.to_string())?,
            Field::Grade => card.grade = Some(v.parse::<Grade>().map_err(|e| e.to_string())?),
            Field::Tier => card.tier = Some(v.parse::<Tier>().map_err(|e| e.to_string())?),
            Field::Industry => card.industry = v,
            Field::Address => card.company.address = v,
            Field::TaxNo => card.billing.tax_no = v,
            Field::Remarks => card.remarks = v,
            Field::CreditLimit => {
                let n: f64 = v
                    .replace([',', ','], "")
                    .parse()
                    .map_err(|_| format!("信用额度“{v}”不是数字"))?;
                if !(0.0..1e15).contains(&n) {
                    return Err(format!("信用额度“{v}”超出范围"));
                }
                let limit = Some(n.round() as i64);
                // A customer on file keeps the limit its approval chain
                // gave it; a new one may come with the one it had before.
                if existing && limit != card.credit.limit {
                    return Err(crate::archive::limit_by_rule_only(
                        &card.id,
                        card.credit.limit,
                        limit,
                    ));
                }
                card.credit.limit = limit;
            }
            Field::Contact => {
                contact.name = v;
                touched_contact = true;
            }
            Field::Title => {
                contact.title = v;
                touched_contact = true;
            }
            Field::Mobile => {
                contact.mobile = v;
                touched_contact = true;
            }
            Field::Phone => {
                contact.phone = v;
                touched_contact = true;
            }
            Field::Email => {
                contact.email = v;
                touched_contact = true;
            }
        }
    }
    if touched_contact {
        if contact.name.trim().is_empty() {
            return Err("有联系方式但没有联系人姓名".into());
        }
        card.contacts
            .insert(main_key.unwrap_or_else(|| "k1".into()), contact);
    }
    if card.salesperson.trim().is_empty() {
        card.salesperson = by.to_string();
    }
    Ok(())
}

/// Plans (and, with `commit`, performs) the import inside one connection;
/// `reassign`: move customers on file to the salesperson their row names.
#[allow(clippy::type_complexity)]
fn work(
    conn: &Connection,
    table: &Table,
    file_name: &str,
    by: &str,
    reassign: bool,
) -> Result<(ImportPlan, Vec<(PlannedRow, Customer, bool)>), ServiceError> {
    let (rows, unknown) = rows_of(table)?;
    let people = Salespeople::load(conn)?;
    let actor = ActorId::random();
    let mut plan = ImportPlan {
        file_name: file_name.to_string(),
        rows: Vec::new(),
        errors: Vec::new(),
        unknown_headers: unknown,
    };
    let mut cards = Vec::new();
    // Earlier rows, for duplicates inside the file: key → (line, name).
    let mut seen: HashMap<(&'static str, String), (usize, String)> = HashMap::new();
    let mut ids = BTreeSet::new();
    for r in rows {
        let existing = match &r.given_id {
            Some(id) => {
                if let Err(e) = crm_shared::validate::check_id("客户编号", id) {
                    plan.errors.push((r.line, e.to_string()));
                    continue;
                }
                match docs::load(conn, id)? {
                    Some(stored) => Some(
                        CustomerDoc::load(&stored.bytes, actor.clone())
                            .map_err(|e| DbError::Corrupt(format!("客户 {id}:{e}")))?
                            .card()
                            .clone(),
                    ),
                    None => None,
                }
            }
            None => None,
        };
        let id = r
            .given_id
            .clone()
            .unwrap_or_else(crate::archive::new_customer_id);
        if !ids.insert(id.clone()) {
            plan.errors
                .push((r.line, format!("客户编号 {id} 在表格中出现了不止一次")));
            continue;
        }
        let mut card = existing.clone().unwrap_or_else(|| Customer {
            id: id.clone(),
            ..Default::default()
        });
        let checked = apply(&mut card, &r.values, by, &people, existing.is_some()).and_then(|()| {
            crm_shared::validate::customer_input(existing.as_ref(), &card)
                .map_err(|e| e.to_string())
        });
        if let Err(e) = checked {
            plan.errors.push((r.line, e));
            continue;
        }
        let moves = existing
            .as_ref()
            .filter(|old| old.salesperson != card.salesperson)
            .map(|old| Move {
                from: old.salesperson.clone(),
                to: card.salesperson.clone(),
                applied: reassign,
            });
        if let (Some(old), false) = (&existing, reassign) {
            card.salesperson = old.salesperson.clone();
        }
        let action = match &existing {
            None => RowAction::Create,
            Some(old) => {
                let changes = crm_shared::diff::customers(old, &card);
                if changes.is_empty() {
                    RowAction::Unchanged
                } else {
                    RowAction::Update { changes }
                }
            }
        };
        let mut duplicates = Vec::new();
        if action == RowAction::Create {
            duplicates = crate::archive::duplicates_in(conn, &card)?;
            let keys = crate::archive::duplicate_keys(&card);
            for (on, value) in &keys {
                if let Some((line, name)) = seen.get(&(*on, value.clone())) {
                    duplicates.push(Duplicate {
                        on,
                        customer: format!("第 {line} 行"),
                        name: name.clone(),
                    });
                }
            }
            for k in keys {
                seen.entry(k).or_insert((r.line, card.name.clone()));
            }
        }
        let row = PlannedRow {
            line: r.line,
            id,
            name: card.name.clone(),
            action,
            duplicates,
            moves,
        };
        plan.rows.push(row.clone());
        cards.push((row, card, existing.is_some()));
    }
    Ok((plan, cards))
}

/// The plan for `table`: nothing is written.
pub async fn plan(
    db: &Db,
    table: Table,
    file_name: String,
    by: String,
    reassign: bool,
) -> Result<ImportPlan, ServiceError> {
    db.read_with(move |conn| Ok(work(conn, &table, &file_name, &by, reassign)?.0))
        .await
}

/// Imports `table` in one transaction, as `by`. Refuses (writing nothing)
/// if any row is wrong. Possible duplicates are skipped unless their row
/// number is in `create_anyway` (or `all_duplicates`). Customers on file
/// keep their salesperson unless `reassign`.
pub async fn commit(
    db: &Db,
    table: Table,
    file_name: String,
    by: String,
    create_anyway: Vec<usize>,
    all_duplicates: bool,
    reassign: bool,
) -> Result<(ImportPlan, ImportOutcome), ServiceError> {
    db.write_with(move |tx| {
        let (plan, cards) = work(tx, &table, &file_name, &by, reassign)?;
        if !plan.errors.is_empty() {
            return Err(SheetError::Rows(plan.errors.clone()).into());
        }
        let actor = ActorId::try_from(docs::meta(tx, "actor")?.as_str())
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
        let now = crate::clock::now_ms();
        let note =
            ChangeNote::new(&by, Action::Import).with_reason(Some(format!("导入 {file_name}")));
        let origin = Origin {
            login: &by,
            device_id: None,
            at: now,
        };
        let key = crate::seal::key(tx)?;
        let mut out = ImportOutcome::default();
        for (row, card, exists) in cards {
            match &row.moves {
                Some(m) if m.applied => out.reassigned += 1,
                Some(_) => out.not_reassigned += 1,
                None => {}
            }
            match row.action {
                RowAction::Unchanged => out.unchanged += 1,
                RowAction::Create => {
                    if !row.duplicates.is_empty()
                        && !all_duplicates
                        && !create_anyway.contains(&row.line)
                    {
                        out.skipped_duplicates += 1;
                        continue;
                    }
                    let note = crate::seal::seal_with(&key, &row.id, note.clone(), now);
                    let doc = CustomerDoc::create(&card, actor.clone(), &note, now)
                        .map_err(|e| ServiceError::BadRequest(format!("第 {} 行:{e}", row.line)))?;
                    docs::store(
                        tx,
                        &row.id,
                        &crm_shared::storage::Write::Snapshot(doc.save()),
                        &doc.heads(),
                        &Projection::of(doc.card(), 0),
                        &origin,
                    )?;
                    out.created += 1;
                }
                RowAction::Update { .. } => {
                    debug_assert!(exists);
                    let stored = docs::load(tx, &row.id)?
                        .ok_or_else(|| DbError::Corrupt(format!("客户 {} 不见了", row.id)))?;
                    let mut doc = CustomerDoc::load(&stored.bytes, actor.clone())
                        .map_err(|e| DbError::Corrupt(format!("客户 {}:{e}", row.id)))?;
                    let note = crate::seal::seal_with(&key, &row.id, note.clone(), now);
                    doc.update(&card, &note, now)
                        .map_err(|e| ServiceError::BadRequest(format!("第 {} 行:{e}", row.line)))?;
                    let caller = crate::caller::Caller {
                        login: by.clone(),
                        role: crm_shared::codes::Role::Clerk,
                        device_id: "导入".into(),
                    };
                    crate::archive::commit_change(tx, &row.id, &doc, &stored, &caller, now)?;
                    out.updated += 1;
                }
            }
        }
        Ok((plan, out))
    })
    .await
}
