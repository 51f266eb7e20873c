//! Complaints as cases at head office: the list, registering one, and
//! taking a step of its handling (`crm_shared::complaint` decides which
//! step comes next and whose it is). Each step is one change of the card
//! by the person who took it, stored like every head-office change.

use serde::Deserialize;

use crm_shared::codes::{ComplaintCategory, ComplaintStep, Position};
use crm_shared::complaint::{self, Handler, StepInput};
use crm_shared::customer::Complaint;
use crm_shared::note::{Action, ChangeNote};

use crate::archive::{commit_change, load_visible, may_write};
use crate::caller::{Caller, ServiceError};
use crate::db::complaints::{self as rows, ComplaintFilter, ComplaintRow};
use crate::db::Db;

const DAY_MS: i64 = 86_400_000;

/// The list's filters as a page address or an API query gives them, as
/// typed; [`ListQuery::filter`] reads them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// "open", "closed" or "" for both.
    pub status: String,
    /// Waiting for this step (a step's code or label), or "closed".
    pub stage: String,
    /// A category's code or label, or "none" for not judged yet.
    pub category: String,
    /// Part of the customer's name.
    pub customer: String,
    /// The salesperson's login.
    pub salesperson: String,
    /// Open at least this many days.
    pub age: String,
}

fn given(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl ListQuery {
    /// The filter these say at `now`, or what is wrong with them.
    pub fn filter(&self, now: i64) -> Result<ComplaintFilter, ServiceError> {
        let bad = |e: String| ServiceError::BadRequest(e);
        let stage = given(&self.stage)
            .map(|s| match s.as_str() {
                rows::CLOSED => Ok(s),
                _ => s
                    .parse::<ComplaintStep>()
                    .map(|x| x.code().to_string())
                    .map_err(|e| e.to_string()),
            })
            .transpose()
            .map_err(bad)?;
        let category = given(&self.category)
            .map(|c| match c.as_str() {
                "none" => Ok(c),
                _ => c
                    .parse::<ComplaintCategory>()
                    .map(|x| x.code().to_string())
                    .map_err(|e| e.to_string()),
            })
            .transpose()
            .map_err(bad)?;
        let age = given(&self.age)
            .map(|a| a.parse::<u32>())
            .transpose()
            .map_err(|_| bad(format!("“{}”不是天数", self.age.trim())))?;
        let open = match self.status.trim() {
            "open" => Some(true),
            "closed" => Some(false),
            "" => None,
            other => {
                return Err(bad(format!(
                    "状态“{other}”无效,可选值:open(处理中)、closed(已结案)"
                )))
            }
        };
        Ok(ComplaintFilter {
            salesperson: given(&self.salesperson),
            // A case's age counts while it is open.
            open: if age.is_some() { Some(true) } else { open },
            stage,
            category,
            customer: given(&self.customer),
            registered_before: age.map(|d| now - i64::from(d) * DAY_MS),
        })
    }
}

/// A page of the complaints `filter` picks, in the caller's scope (a
/// salesperson sees only their own customers'), and how many there are.
pub async fn list(
    db: &Db,
    caller: Caller,
    filter: ComplaintFilter,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<ComplaintRow>), ServiceError> {
    let mut filter = filter;
    filter.salesperson = crate::rules::scope(&caller, filter.salesperson.take())?;
    db.read_with(move |conn| Ok(rows::page(conn, &filter, offset, limit)?))
        .await
}

fn refused(e: complaint::StepError) -> ServiceError {
    match e {
        complaint::StepError::NotYours { .. } => ServiceError::Forbidden(e.to_string()),
        _ => ServiceError::BadRequest(e.to_string()),
    }
}

/// Registers a complaint on customer `id` for head office (a customer who
/// called in); returns its key.
pub async fn register(
    db: &Db,
    caller: Caller,
    id: String,
    description: String,
    now: i64,
) -> Result<String, ServiceError> {
    may_write(&caller)?;
    let by = Handler {
        login: &caller.login,
        role: caller.role,
        position: None,
    };
    let k = complaint::register(&description, &by, now).map_err(refused)?;
    db.write_with(move |tx| {
        let key = format!("q{}", &uuid::Uuid::now_v7().simple().to_string()[..20]);
        let (mut doc, stored) = load_visible(tx, &caller, &id)?;
        let mut card = doc.card().clone();
        card.complaints.insert(key.clone(), k);
        let note = ChangeNote::new(&caller.login, Action::Complaint);
        let note = crate::seal::sealed(tx, &id, note, now)?;
        doc.update(&card, &note, now)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        commit_change(tx, &id, &doc, &stored, &caller, now)?;
        Ok(key)
    })
    .await
}

/// Takes `step` of complaint `key` on customer `id`, as `caller` holding
/// `position`, with what `input` says; returns the complaint after it.
pub async fn take_step(
    db: &Db,
    caller: Caller,
    position: Option<Position>,
    (id, key): (String, String),
    step: ComplaintStep,
    input: StepInput,
    now: i64,
) -> Result<Complaint, ServiceError> {
    may_write(&caller)?;
    db.write_with(move |tx| {
        let (mut doc, stored) = load_visible(tx, &caller, &id)?;
        let mut card = doc.card().clone();
        let Some(k) = card.complaints.get_mut(&key) else {
            return Err(ServiceError::NotFound(format!(
                "客户“{}”没有编号为 {key} 的投诉",
                card.name
            )));
        };
        let by = Handler {
            login: &caller.login,
            role: caller.role,
            position,
        };
        complaint::take(k, step, &input, &by, now).map_err(refused)?;
        let note = ChangeNote::new(&caller.login, Action::Complaint)
            .with_reason(Some(step.label().to_string()));
        let note = crate::seal::sealed(tx, &id, note, now)?;
        doc.update(&card, &note, now)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        commit_change(tx, &id, &doc, &stored, &caller, now)?;
        Ok(doc.card().complaints[&key].clone())
    })
    .await
}
