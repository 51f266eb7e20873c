//! A customer's card: every archive field and record, its history, and
//! what may be done from it: correcting fields with a reason, settling
//! conflicts, marking a review, and (in `records`) adding a contact,
//! editing one, logging a visit or call. Also the list of open conflicts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;

use crm_shared::access;
use crm_shared::codes::Tier;
use crm_shared::day::Moment;
use crm_shared::diff::text_at;
use crm_shared::document::Conflict;
use crm_shared::labels::{label_of, FIELDS};
use crm_shared::story;
use crm_shared::Customer;

use super::layout::{csrf, flash, page, when, yuan};
use super::people::People;
use super::records::{self, Refused};
use super::{done, ConsoleError, Fields, Query, SignedIn};
use crate::archive;
use crate::caller::ServiceError;
use crate::entries;
use crate::state::AppState;

/// Details of a history entry shown before the rest fold away.
const HISTORY_SHOWN: usize = 5;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}", get(card))
        .route("/customers/{id}/edit", post(edit))
        .route("/customers/{id}/resolve", post(resolve))
        .route("/customers/{id}/review", post(review))
        .route("/customers/{id}/contacts", post(add_contact))
        .route("/customers/{id}/activities", post(log_activity))
        .route("/conflicts", get(conflicts))
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    #[serde(default)]
    done: String,
}

fn done_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "edit" => "已保存修改",
        "create" => "已新建客户",
        "resolve" => "冲突已解决",
        "review" => "已记录审查",
        "contact" => "已保存联系人",
        "activity" => "已记录,下次跟进已排定",
        _ => return None,
    })
}

/// Every single-value field of the card with its Chinese label and value.
fn field_rows(c: &Customer) -> Vec<(&'static str, &'static str, String)> {
    let json = serde_json::to_value(c).expect("a card serialises");
    FIELDS
        .iter()
        .map(|(path, label)| {
            let mut v = &json;
            for part in path.split('.') {
                v = &v[part];
            }
            let text = match (coded(c, path), v) {
                (Some(label), _) => label,
                (None, serde_json::Value::Null) => String::new(),
                (None, serde_json::Value::String(s)) => s.clone(),
                (None, serde_json::Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(";"),
                (None, other) => other.to_string(),
            };
            (*path, *label, text)
        })
        .collect()
}

/// A coded field as people read it: its Chinese label, not the stored code.
fn coded(c: &Customer, path: &str) -> Option<String> {
    fn label<T: std::fmt::Display>(v: Option<T>) -> String {
        v.map(|v| v.to_string()).unwrap_or_default()
    }
    Some(match path {
        "status" => c.status.to_string(),
        "grade" => label(c.grade),
        "tier" => label(c.tier),
        "kind" => label(c.kind),
        "nature" => label(c.nature),
        "intent" => label(c.intent),
        "company.bank_rating" => label(c.company.bank_rating),
        _ => return None,
    })
}

async fn card(
    s: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(d): Query<Done>,
) -> Result<Markup, ConsoleError> {
    card_page(&s, &state, &id, &d.done, None).await
}

/// The card of customer `id`, with the message for what was `just_done`,
/// or with a form on it `refused` and kept as typed.
async fn card_page(
    s: &SignedIn,
    state: &AppState,
    id: &str,
    just_done: &str,
    refused: Option<&Refused>,
) -> Result<Markup, ConsoleError> {
    let view = archive::card(&state.db, s.caller(), id.to_string()).await?;
    let c = &view.customer;
    let settings = state.db.settings().await?.settings;
    // The history names people, not logins.
    let people = People::load(state).await?;
    let names = |login: &str| people.known(login);
    let stories = story::tell_all(&view.history, c, &names);
    let edits = s.head_office();
    // As `rules::review` allows: head office, or the customer's own salesperson.
    let reviews = edits || s.role == crm_shared::codes::Role::Salesperson;
    Ok(page(
        s,
        "customers",
        &c.name,
        html! {
            (flash(done_message(just_done)))
            @if !view.conflicts.is_empty() {
                div.error { ("此客户有未解决的冲突,见下方“冲突”。") }
            }
            h2 { ("档案") }
            div.card #card {
                div { span { ("编号") } (c.id) }
                @for (path, label, text) in field_rows(c) {
                    @if path == "entered_at" {
                        div { span { (label) } (Moment::Date.show(c.entered_at).unwrap_or_default()) }
                    } @else if path == "salesperson" {
                        div { span { (label) } (people.name(&c.salesperson)) }
                    } @else {
                        div { span { (label) } (text) }
                    }
                }
            }
            h2 { ("联系人") }
            table #contacts { thead { tr {
                    @if edits { th { } }
                    th { ("姓名") } th { ("部门/职务") } th { ("手机") } th { ("电话") }
                    th { ("传真") } th { ("邮箱") } th { ("微信") } th { ("决策影响力") }
                    th { ("重要日期") } th { ("喜好") } th { ("接受邮寄") } th { ("接受短信") }
                    th { ("主要联系人") }
                } }
                tbody { @for (key, k) in &c.contacts { tr {
                    @if edits { td { a href={ "/console/customers/" (c.id) "/contacts/" (key) } { ("修改") } } }
                    td { (k.name) } td { (k.department) " " (k.title) } td { (k.mobile) } td { (k.phone) } td { (k.fax) } td { (k.email) } td { (k.wechat) }
                    td { (k.influence) } td { (k.important_dates) } td { (k.preferences) }
                    td { (yes_no(k.accepts_mail)) } td { (yes_no(k.accepts_sms)) }
                    td { @if k.primary { "✓" } }
                } } } }
            @if edits {
                details #contact-box open[Refused::of(refused, "contact").is_some()] {
                    summary { ("添加联系人") }
                    (records::add_contact_form(s, &c.id, refused))
                }
            }
            h2 { ("拜访与活动") " (" (c.activities.len()) ")" }
            table { thead { tr { th { ("时间") } th { ("类型") } th { ("记录人") } th { ("内容") } th { ("意向") } th { ("下次跟进") } } }
                tbody { @for a in sorted_activities(c) { tr {
                    td { (when(Some(a.at))) } td { (a.kind.label()) } td { (people.name(&a.by)) } td { (a.notes) }
                    td { @if let Some(i) = a.intent { (i.label()) } } td { @if let Some(n) = a.next_followup { (n.to_string()) } }
                } } } }
            @if edits {
                details #activity open[Refused::of(refused, "activity").is_some()] {
                    summary { ("记录拜访、电话与下次跟进") }
                    (records::activity_form(s, &c.id, refused, crate::clock::now_ms()))
                }
            }
            h2 { ("销售记录") }
            table { thead { tr { th { ("日期") } th { ("产品") } th { ("数量") } th { ("金额(元)") } th { ("应付日") } th { ("付款日") } } }
                tbody { @for x in c.sales.values() { tr {
                    td { @if let Some(d) = x.day { (d.to_string()) } } td { (x.product) } td.num { (x.quantity) } td.num { (yuan(Some(x.amount))) }
                    td { @if let Some(d) = x.due { (d.to_string()) } } td { @if let Some(d) = x.paid_on { (d.to_string()) } @else { span.tag.bad { ("未付") } } }
                } } } }
            h2 #complaints { ("投诉") " (" (c.complaints.len()) ")" }
            table.cards { thead { tr { th { ("登记时间") } th { ("内容") } th { ("性质") } th { ("当前步骤") } } }
                tbody { @for (key, k) in newest_first(&c.complaints) { tr {
                    td data-label="登记时间" { a href={ "/console/customers/" (c.id) "/complaints/" (key) } { (when(Some(k.at))) } }
                    td data-label="内容" { (k.description) }
                    td data-label="性质" { (k.category.map_or("未判断", |x| x.label())) }
                    td data-label="当前步骤" { (crm_shared::complaint::stage_label(k)) }
                } } } }
            @if edits {
                details #complaint-box open[Refused::of(refused, "complaint").is_some()] {
                    summary { ("登记投诉") }
                    (super::complaints::register_form(s, &c.id, refused))
                }
            }
            h2 { ("违约记录") " (" (c.violations.len()) ")" }
            table #violations { thead { tr { th { ("时间") } th { ("类型") } th { ("描述") } } }
                tbody { @for v in by_time(&c.violations, |v| v.at) { tr {
                    td { (when(Some(v.at))) } td { (v.kind) } td { (v.description) }
                } } } }
            h2 { ("评价") " (" (c.evaluations.len()) ")" }
            table #evaluations { thead { tr { th { ("时间") } th { ("评价人") } th { ("评价内容") } } }
                tbody { @for e in by_time(&c.evaluations, |e| e.at) { tr {
                    td { (when(Some(e.at))) } td { (people.name(&e.by)) } td { (e.text) }
                } } } }
            h2 { ("信用额度申请") }
            table { thead { tr { th { ("申请时间") } th { ("申请人") } th { ("原额度") } th { ("拟变更额度") } th { ("理由") } th { ("状态") } } }
                tbody { @for r in c.credit_requests.values() { tr {
                    td { (when(Some(r.at))) } td { (people.name(&r.by)) } td.num { (yuan(r.current)) } td.num { (yuan(Some(r.proposed))) } td { (r.reason) }
                    td { (crm_shared::credit::status(r, &settings.credit_chain).label()) }
                } } } }
            h2 { ("定期审查") }
            table { thead { tr { th { ("时间") } th { ("审查人") } th { ("类别") } th { ("意见") } } }
                tbody { @for r in c.reviews.values() { tr {
                    td { (when(Some(r.at))) } td { (people.name(&r.by)) } td { @if let Some(t) = r.tier { (t.label()) } } td { (r.notes) }
                } } } }
            @if !c.major_changes.is_empty() {
                h2 { ("重大变化") }
                ul { @for m in c.major_changes.values() { li { (when(Some(m.at))) " " (m.description) @if m.cleared { " (" ("已处理") ")" } } } }
            }
            @if !view.conflicts.is_empty() {
                h2 #conflicts { ("冲突") }
                @for k in &view.conflicts { (conflict_form(s, &people, &c.id, k)) }
            }
            @if edits {
                h2 { ("修改档案") }
                form #edit method="post" action={ "/console/customers/" (c.id) "/edit" } {
                    (csrf(s))
                    div.filters {
                        @for i in 0..3 {
                            label { ("字段")
                                select name="field" {
                                    option value="" { "—" }
                                    @for (path, label) in FIELDS.iter().filter(|(p, _)| access::may_change(s.role, p)) {
                                        option value=(path) selected[i == 0 && *path == "company.address"] { (label) }
                                    }
                                }
                            }
                            label { ("新值") input name="value"; }
                        }
                    }
                    p.muted { ("日期写作 2026-01-01,时间写作 2026-01-01 09:30。") }
                    label { ("修改原因(必填)") input name="reason" required size="60"; }
                    p { button type="submit" { ("保存修改") } }
                }
            }
            @if reviews {
                h2 { ("标记为已审查") }
                form #review method="post" action={ "/console/customers/" (c.id) "/review" } {
                    (csrf(s))
                    div.filters {
                        label { ("客户类别")
                            select name="tier" { option value="" { "—" } @for t in Tier::ALL { option value=(t.code()) { (t.label()) } } } }
                        label { ("意见") input name="notes" size="40"; }
                        button type="submit" { ("记录审查") }
                    }
                }
            }
            h2 #history { ("修改历史") }
            table { thead { tr { th { ("时间") } th { ("修改人") } th { ("内容") } th { ("原因") } } }
                tbody { @for h in stories.iter().rev() { tr {
                    td { (when(Some(h.at))) } td { (h.who) }
                    td {
                        div { (h.headline) }
                        @for d in h.details.iter().take(HISTORY_SHOWN) { div.muted { (d) } }
                        @if h.details.len() > HISTORY_SHOWN {
                            details {
                                summary { ("另有 ") (h.details.len() - HISTORY_SHOWN) (" 项") }
                                @for d in &h.details[HISTORY_SHOWN..] { div.muted { (d) } }
                            }
                        }
                    }
                    td { (h.reason.clone().unwrap_or_default()) }
                } } } }
        },
    ))
}

fn yes_no(v: bool) -> &'static str {
    if v {
        "是"
    } else {
        "否"
    }
}

/// A record collection newest first.
fn by_time<T>(m: &std::collections::BTreeMap<String, T>, at: impl Fn(&T) -> i64) -> Vec<&T> {
    let mut v: Vec<&T> = m.values().collect();
    v.sort_by_key(|x| std::cmp::Reverse(at(x)));
    v
}

fn newest_first(
    m: &std::collections::BTreeMap<String, crm_shared::customer::Complaint>,
) -> Vec<(&String, &crm_shared::customer::Complaint)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_by_key(|(_, k)| std::cmp::Reverse(k.at));
    v
}

fn sorted_activities(c: &Customer) -> Vec<&crm_shared::customer::Activity> {
    let mut v: Vec<_> = c.activities.values().collect();
    v.sort_by_key(|a| std::cmp::Reverse(a.at));
    v
}

fn conflict_form(s: &SignedIn, people: &People, id: &str, k: &Conflict) -> Markup {
    html! {
        form.conflict method="post" action={ "/console/customers/" (id) "/resolve" } {
            (csrf(s))
            input type="hidden" name="path" value=(k.path);
            p { b { (label_of(&k.path)) } }
            @for (i, v) in k.values.iter().enumerate() {
                label { span {
                    input type="radio" name="value" value=(v.value.to_string()) checked[i == 0];
                    " " (text_at(&k.path, &v.value).unwrap_or_default())
                    span.muted { " — " (v.by.as_deref().map(|b| people.name(b)).unwrap_or_default()) " " (when(v.at)) }
                } }
            }
            label { ("原因(必填)") input name="reason" required size="50"; }
            button type="submit" { ("采用所选值") }
        }
    }
}

async fn edit(
    s: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let sets: Vec<(String, String)> = f
        .all("field")
        .into_iter()
        .zip(f.all("value"))
        .filter(|(k, _)| !k.trim().is_empty())
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect();
    archive::edit(
        &state.db,
        s.caller(),
        id.clone(),
        sets,
        f.text("reason"),
        crate::clock::now_ms(),
    )
    .await?;
    Ok(done(&format!("/console/customers/{id}?done=edit#history")))
}

async fn resolve(
    s: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let reason = f.text("reason");
    if reason.is_empty() {
        return Err(ConsoleError(crate::error::AppError::BadRequest(
            "解决冲突必须说明原因".into(),
        )));
    }
    let value: serde_json::Value = serde_json::from_str(f.get("value").unwrap_or_default())
        .map_err(|_| {
            ConsoleError(crate::error::AppError::BadRequest(
                "请选择要保留的值".into(),
            ))
        })?;
    archive::resolve(
        &state.db,
        s.caller(),
        id.clone(),
        f.text("path"),
        value,
        reason,
        crate::clock::now_ms(),
    )
    .await?;
    Ok(done(&format!(
        "/console/customers/{id}?done=resolve#history"
    )))
}

async fn review(
    s: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let tier = super::optional::<Tier>(&f.text("tier"))
        .map_err(|e| ConsoleError(crate::error::AppError::BadRequest(e)))?;
    crate::rules::review(
        &state.db,
        s.caller(),
        id.clone(),
        crm_shared::api::ReviewRequest {
            tier,
            notes: f.text("notes"),
        },
        crate::clock::now_ms(),
    )
    .await?;
    Ok(done(&format!("/console/customers/{id}?done=review")))
}

async fn conflicts(s: SignedIn, State(state): State<AppState>) -> Result<Markup, ConsoleError> {
    let all = archive::conflicts(&state.db, s.caller()).await?;
    let people = People::load(&state).await?;
    Ok(page(
        &s,
        "conflicts",
        "未解决的冲突",
        html! {
            @if all.is_empty() { p.muted { ("没有未解决的冲突") } }
            @for c in &all {
                h2 { a href={ "/console/customers/" (c.id) } { (c.name) } }
                @for k in &c.conflicts { (conflict_form(&s, &people, &c.id, k)) }
            }
        },
    ))
}

/// Shows the card again with form `form` refused for `message`, as typed.
async fn refuse(
    s: &SignedIn,
    state: &AppState,
    id: &str,
    form: &'static str,
    message: String,
    typed: Fields,
) -> Result<Response, ConsoleError> {
    let refused = Refused::new(form, message, typed);
    let page = card_page(s, state, id, "", Some(&refused)).await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

/// The card again with form `form` refused as typed, for a write refused
/// as bad input; any other failure is the page's error.
pub(super) async fn refused_form(
    s: &SignedIn,
    state: &AppState,
    id: &str,
    form: &'static str,
    e: ServiceError,
    typed: Fields,
) -> Result<Response, ConsoleError> {
    match e {
        ServiceError::BadRequest(m) => refuse(s, state, id, form, m, typed).await,
        e => Err(e.into()),
    }
}

/// What a card form's write leads to: the card at the form's `anchor`
/// with the message for `form` done, or the card again with the form
/// refused as typed.
async fn answer<T>(
    s: &SignedIn,
    state: &AppState,
    id: &str,
    (form, anchor): (&'static str, &str),
    written: Result<T, ServiceError>,
    typed: Fields,
) -> Result<Response, ConsoleError> {
    match written {
        Ok(_) => Ok(done(&format!(
            "/console/customers/{id}?done={form}#{anchor}"
        ))),
        Err(e) => refused_form(s, state, id, form, e, typed).await,
    }
}

async fn add_contact(
    s: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let contact = records::contact_of(&f);
    let added = entries::add_contact(
        &state.db,
        s.caller(),
        id.clone(),
        contact,
        crate::clock::now_ms(),
    )
    .await;
    answer(&s, &state, &id, ("contact", "contacts"), added, f).await
}

async fn log_activity(
    s: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let activity = match records::activity_of(&f) {
        Ok(a) => a,
        Err(m) => return refuse(&s, &state, &id, "activity", m, f).await,
    };
    let logged = entries::log_activity(
        &state.db,
        s.caller(),
        id.clone(),
        activity,
        crate::clock::now_ms(),
    )
    .await;
    answer(&s, &state, &id, ("activity", "activity"), logged, f).await
}
