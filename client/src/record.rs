//! What a salesperson records, as operations on the store: the one place
//! each is checked and written, whether it was typed on the command line
//! (`cli/`) or in the app (`app/`). Nothing here prints.

use crm_shared::codes::{ActivityKind, ComplaintStep, Intent, Role, Tier};
use crm_shared::complaint;
use crm_shared::customer::{Activity, Contact, CreditRequest, MajorChange, Review, Sale};
use crm_shared::day::Day;
use crm_shared::diff::FieldChange;
use crm_shared::note::{Action, ChangeNote};
use crm_shared::{edit, Customer, Error as DomainError};

use crate::clock::now_millis;
use crate::error::{ClientError, Result};
use crate::session;
use crate::store::Store;

/// A new entry id, unique and ordered by time.
pub fn new_entry_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// A short entry id with a prefix that says what it is (`s`, `cr` …).
pub fn entry_id(prefix: &str) -> String {
    format!("{prefix}{}", &new_entry_id()[..20])
}

/// A new customer id.
pub fn customer_id() -> String {
    format!("c-{}", &new_entry_id()[..20])
}

/// A refusal naming the field and what is wrong with it.
pub fn invalid(field: &str, message: impl Into<String>) -> ClientError {
    DomainError::invalid(field, message).into()
}

/// A visit, call or other contact to record.
#[derive(Debug, Clone)]
pub struct Visit {
    /// How the customer was contacted.
    pub kind: ActivityKind,
    /// What was said and what came of it.
    pub notes: String,
    /// The intent level judged now; `None` keeps the current one.
    pub intent: Option<Intent>,
    /// The next follow-up; `None` takes it from the cadence.
    pub next: Option<Day>,
    /// When it happened.
    pub at: i64,
}

/// The next follow-up the cadence gives a contact at `at` with `intent`
/// (or, without one, the customer's current intent).
pub fn next_followup(
    store: &Store,
    card: &Customer,
    intent: Option<Intent>,
    at: i64,
) -> Result<Option<Day>> {
    let cadence = store.settings()?.cadence;
    Ok(intent
        .or_else(|| card.current_intent())
        .and_then(|i| cadence.next_after(Day::from_millis_local(at), i)))
}

/// Records a visit on customer `id`. Returns the entry's key and the next
/// follow-up it scheduled.
pub fn visit(store: &mut Store, id: &str, v: Visit) -> Result<(String, Option<Day>)> {
    if v.notes.trim().is_empty() {
        return Err(invalid("notes", "请写下这次联系的内容"));
    }
    let cadence = store.settings()?.cadence;
    let note = store.note(Action::Activity, None);
    let user = store.profile().user.clone();
    let key = new_entry_id();
    let mut next = None;
    store.change(id, &note, |c| {
        let intent = v.intent.or_else(|| c.current_intent());
        next = v
            .next
            .or_else(|| intent.and_then(|i| cadence.next_after(Day::from_millis_local(v.at), i)));
        c.activities.insert(
            key.clone(),
            Activity {
                at: v.at,
                kind: v.kind,
                by: user,
                notes: v.notes.trim().to_string(),
                intent,
                next_followup: next,
            },
        );
        Ok(())
    })?;
    Ok((key, next))
}

/// Asks head office to change customer `id`'s credit limit to `limit`.
/// Returns the request's key and the limit it starts from.
pub fn credit_request(
    store: &mut Store,
    id: &str,
    limit: i64,
    reason: &str,
) -> Result<(String, Option<i64>)> {
    if reason.trim().is_empty() {
        return Err(invalid("reason", "申请变更信用额度必须说明理由"));
    }
    if limit < 0 {
        return Err(invalid("limit", "信用额度不能为负数"));
    }
    let current = store.get(id)?.credit.limit;
    if current == Some(limit) {
        return Err(invalid(
            "limit",
            format!("拟变更额度与现有额度相同({limit} 元)"),
        ));
    }
    let key = entry_id("cr");
    let by = store.profile().user.clone();
    let note = store.note(Action::CreditRequest, Some(reason.trim()));
    store.change(id, &note, |c| {
        c.credit_requests.insert(
            key.clone(),
            CreditRequest {
                at: now_millis(),
                by,
                current,
                proposed: limit,
                reason: reason.trim().to_string(),
                decisions: Default::default(),
            },
        );
        Ok(())
    })?;
    Ok((key, current))
}

/// Who takes complaint steps on this laptop: the signed-in user, a
/// salesperson until the first sign-in says otherwise. Approval positions
/// live at head office, so none is known here.
fn complaint_handler(store: &Store) -> Result<(String, Role)> {
    let role = signed_in_role(store)?.unwrap_or(Role::Salesperson);
    Ok((store.profile().user.clone(), role))
}

fn step_refused(e: complaint::StepError) -> ClientError {
    invalid("complaint", e.to_string())
}

/// Registers a complaint on customer `id`; returns its key. Whether it is a
/// quality issue is head office's first step (初步判断), not registration's.
pub fn complaint(store: &mut Store, id: &str, description: &str, at: i64) -> Result<String> {
    let (login, role) = complaint_handler(store)?;
    let by = complaint::Handler {
        login: &login,
        role,
        position: None,
    };
    let k = complaint::register(description, &by, at).map_err(step_refused)?;
    let key = entry_id("q");
    let note = store.note(Action::Complaint, None);
    store.change(id, &note, |c| {
        c.complaints.insert(key.clone(), k);
        Ok(())
    })?;
    Ok(key)
}

/// Takes `step` of complaint `key` on customer `id` with what `input`
/// says, if it is the step the case waits for and this user's to take.
pub fn complaint_step(
    store: &mut Store,
    id: &str,
    key: &str,
    step: ComplaintStep,
    input: &complaint::StepInput,
) -> Result<()> {
    let (login, role) = complaint_handler(store)?;
    let by = complaint::Handler {
        login: &login,
        role,
        position: None,
    };
    let note = store.note(Action::Complaint, Some(step.label()));
    store.change(id, &note, |c| {
        let k = c
            .complaints
            .get_mut(key)
            .ok_or_else(|| invalid("complaint", format!("没有编号为 {key} 的投诉")))?;
        complaint::take(k, step, input, &by, now_millis()).map_err(step_refused)
    })?;
    Ok(())
}

/// Marks customer `id` reviewed, optionally setting its tier.
pub fn review(store: &mut Store, id: &str, tier: Option<Tier>, notes: &str) -> Result<()> {
    let by = store.profile().user.clone();
    let reason = match tier {
        Some(t) => format!("定期审查,客户类别:{}", t.label()),
        None => "定期审查".to_string(),
    };
    let note = store.note(Action::Review, Some(&reason));
    store.change(id, &note, |c| {
        c.reviews.insert(
            entry_id("r"),
            Review {
                at: now_millis(),
                by,
                tier,
                notes: notes.trim().to_string(),
            },
        );
        if tier.is_some() {
            c.tier = tier;
        }
        Ok(())
    })?;
    Ok(())
}

/// Flags a major change at customer `id`; returns its key.
pub fn flag(store: &mut Store, id: &str, description: &str) -> Result<String> {
    if description.trim().is_empty() {
        return Err(invalid("description", "请说明发生了什么变化"));
    }
    let key = entry_id("m");
    let by = store.profile().user.clone();
    let note = store.note(Action::Flag, None);
    store.change(id, &note, |c| {
        c.major_changes.insert(
            key.clone(),
            MajorChange {
                at: now_millis(),
                by,
                description: description.trim().to_string(),
                cleared: false,
            },
        );
        Ok(())
    })?;
    Ok(key)
}

/// Marks major change `key` of customer `id` as dealt with.
pub fn clear_flag(store: &mut Store, id: &str, key: &str) -> Result<()> {
    let note = store.note(Action::Flag, Some("重大变化已处理"));
    store.change(id, &note, |c| {
        let m = c
            .major_changes
            .get_mut(key)
            .ok_or_else(|| invalid("flag", format!("没有编号为 {key} 的重大变化")))?;
        m.cleared = true;
        Ok(())
    })?;
    Ok(())
}

/// A sale to record.
#[derive(Debug, Clone)]
pub struct NewSale {
    /// Amount in yuan.
    pub amount: i64,
    /// What was sold.
    pub product: String,
    /// How many.
    pub quantity: f64,
    /// The day of the sale.
    pub day: Day,
    /// When payment is due.
    pub due: Option<Day>,
}

/// Records a sale on customer `id` (the grading rule reads sales); returns
/// its key.
pub fn sale(store: &mut Store, id: &str, s: NewSale) -> Result<String> {
    if s.amount <= 0 {
        return Err(invalid("amount", "销售金额应大于 0"));
    }
    if !s.quantity.is_finite() || s.quantity < 0.0 {
        return Err(invalid("quantity", "数量不能为负数"));
    }
    if s.due.is_some_and(|d| d < s.day) {
        return Err(invalid("due", "应付款日不能早于销售日"));
    }
    let key = entry_id("s");
    let by = store.profile().user.clone();
    let note = store.note(Action::Sale, None);
    store.change(id, &note, |c| {
        c.sales.insert(
            key.clone(),
            Sale {
                day: Some(s.day),
                product: s.product.trim().to_string(),
                quantity: s.quantity,
                amount: s.amount,
                due: s.due,
                paid_on: None,
                by,
            },
        );
        Ok(())
    })?;
    Ok(key)
}

/// Records that sale `key` of customer `id` was paid on `on`.
pub fn sale_paid(store: &mut Store, id: &str, key: &str, on: Day) -> Result<()> {
    let note = store.note(Action::Sale, Some("登记付款"));
    store.change(id, &note, |c| {
        let s = c
            .sales
            .get_mut(key)
            .ok_or_else(|| invalid("sale", format!("没有编号为 {key} 的销售记录")))?;
        if s.paid_on.is_some() {
            return Err(invalid("sale", "这笔销售已登记付款"));
        }
        s.paid_on = Some(on);
        Ok(())
    })?;
    Ok(())
}

/// Adds a contact to customer `id`; returns its key.
pub fn add_contact(store: &mut Store, id: &str, contact: Contact) -> Result<String> {
    if contact.name.trim().is_empty() {
        return Err(invalid("name", "请填写联系人姓名"));
    }
    let note = store.note(Action::Contact, None);
    let key = format!("k-{}", &new_entry_id()[..20]);
    store.change(id, &note, |c| {
        c.contacts.insert(key.clone(), contact);
        Ok(())
    })?;
    Ok(key)
}

/// Applies `字段=值` pairs to customer `id` as one change with `note`,
/// refusing before anything is stored what the signed-in role may not
/// change (the server would undo it anyway). Returns what changed.
pub fn edit(
    store: &mut Store,
    id: &str,
    note: &ChangeNote,
    sets: &[String],
) -> Result<Vec<FieldChange>> {
    let role = signed_in_role(store)?;
    store.change(id, note, |card| {
        let before = card.clone();
        apply_sets(card, sets)?;
        check_allowed(role, &before, card)
    })
}

/// Applies `字段=值` pairs (paths or Chinese names) to a card.
pub fn apply_sets(card: &mut Customer, sets: &[String]) -> Result<()> {
    for s in sets {
        let (field, value) = s
            .split_once('=')
            .ok_or_else(|| DomainError::invalid(s.as_str(), "应写成 字段=值"))?;
        let path = edit::path_for(card, field)?;
        if path == "id" {
            return Err(DomainError::invalid("id", "客户编号不能修改").into());
        }
        *card = edit::set_text(card, &path, value)?;
    }
    Ok(())
}

/// The role the saved sign-in holds; `None` before the first login.
pub fn signed_in_role(store: &Store) -> Result<Option<Role>> {
    Ok(session::current(store)?.map(|s| s.role))
}

/// Refuses changes `role` may not make. Before the first login the role is
/// not known yet; what nobody may change by an edit is refused all the same.
pub fn check_allowed(role: Option<Role>, before: &Customer, after: &Customer) -> Result<()> {
    let changes = crm_shared::diff::customers(before, after);
    let refused = match role {
        Some(role) => crm_shared::access::forbidden(role, &changes)
            .into_iter()
            .next(),
        None => changes
            .iter()
            .find(|c| crm_shared::access::BY_RULE_ONLY.contains(&c.path.as_str())),
    };
    match refused {
        Some(c) => Err(DomainError::invalid(
            c.path.as_str(),
            crm_shared::access::why_not(role.unwrap_or(Role::Salesperson), &c.path),
        )
        .into()),
        None => Ok(()),
    }
}
