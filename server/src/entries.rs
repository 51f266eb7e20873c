//! Records head office adds to a card in the console, besides correcting
//! its fields: a contact, and a visit or phone call with the follow-up it
//! plans. Each is one change with its own action in the history, stored
//! like every head-office change ([`archive::commit_change`]).

use crm_shared::codes::{ActivityKind, Intent};
use crm_shared::customer::{Activity, Contact};
use crm_shared::day::Day;
use crm_shared::note::{Action, ChangeNote};
use crm_shared::Customer;

use crate::archive::{commit_change, load_visible, may_write};
use crate::caller::{Caller, ServiceError};
use crate::db::documents as docs;
use crate::db::Db;

/// How far ahead of the server's clock a contact may be dated: a clerk's
/// watch a little fast is fine, a visit next week is a typing mistake.
const AHEAD_MS: i64 = 10 * 60 * 1000;

/// A visit, call or other contact head office logs.
#[derive(Debug, Clone)]
pub struct NewActivity {
    /// How the customer was contacted.
    pub kind: ActivityKind,
    /// When, in milliseconds since the epoch.
    pub at: i64,
    /// What was said and what came of it.
    pub notes: String,
    /// The intent level judged now; `None` keeps the current one.
    pub intent: Option<Intent>,
    /// The next follow-up; `None` takes it from the company's cadence.
    pub next: Option<Day>,
}

/// Adds `contact` to customer `id`; returns its key.
pub async fn add_contact(
    db: &Db,
    caller: Caller,
    id: String,
    contact: Contact,
    now: i64,
) -> Result<String, ServiceError> {
    may_write(&caller)?;
    if contact.name.trim().is_empty() {
        return Err(ServiceError::BadRequest("请填写联系人姓名".into()));
    }
    db.write_with(move |tx| {
        let key = format!("k-{}", &uuid::Uuid::now_v7().simple().to_string()[..20]);
        let mut contact = contact;
        contact.name = contact.name.trim().to_string();
        change(tx, &caller, &id, Action::Contact, now, |c| {
            c.contacts.insert(key.clone(), contact);
        })?;
        Ok(key)
    })
    .await
}

/// Logs activity `a` on customer `id`, with the next follow-up it names or,
/// failing that, the one the cadence gives its intent level. Returns the
/// follow-up planned (none when the intent level plans none).
pub async fn log_activity(
    db: &Db,
    caller: Caller,
    id: String,
    a: NewActivity,
    now: i64,
) -> Result<Option<Day>, ServiceError> {
    may_write(&caller)?;
    if a.notes.trim().is_empty() {
        return Err(ServiceError::BadRequest("请写下这次联系的内容".into()));
    }
    if a.at > now + AHEAD_MS {
        return Err(ServiceError::BadRequest(
            "联系时间晚于现在,请检查日期".into(),
        ));
    }
    let contacted = Day::from_millis_local(a.at);
    if a.next.is_some_and(|n| n < contacted) {
        return Err(ServiceError::BadRequest(
            "下次跟进日期早于这次联系的日期".into(),
        ));
    }
    db.write_with(move |tx| {
        let cadence = docs::settings(tx)?.settings.cadence;
        let mut next = None;
        let key = uuid::Uuid::now_v7().simple().to_string();
        change(tx, &caller, &id, Action::Activity, now, |c| {
            let intent = a.intent.or_else(|| c.current_intent());
            next = a
                .next
                .or_else(|| intent.and_then(|i| cadence.next_after(contacted, i)));
            c.activities.insert(
                key,
                Activity {
                    at: a.at,
                    kind: a.kind,
                    by: caller.login.clone(),
                    notes: a.notes.trim().to_string(),
                    intent,
                    next_followup: next,
                },
            );
        })?;
        Ok(next)
    })
    .await
}

/// Applies `f` to customer `id`'s card as one change by `caller`, checked
/// by the card's rules, inside the writer's transaction `tx`.
fn change(
    tx: &rusqlite::Transaction,
    caller: &Caller,
    id: &str,
    action: Action,
    now: i64,
    f: impl FnOnce(&mut Customer),
) -> Result<(), ServiceError> {
    let (mut doc, stored) = load_visible(tx, caller, id)?;
    let mut card = doc.card().clone();
    f(&mut card);
    crm_shared::validate::customer_input(Some(doc.card()), &card)
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
    let note = crate::seal::sealed(tx, id, ChangeNote::new(&caller.login, action), now)?;
    doc.update(&card, &note, now)
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
    commit_change(tx, id, &doc, &stored, caller, now)
}
