//! 客户投诉: the complaints as cases (a list filtered by status, step,
//! category, customer, salesperson and age, beside the monthly statistics),
//! one case's page with who took each step and when, and the form of the
//! step it waits for, shown to the roles that own it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;

use crm_shared::codes::{ComplaintCategory, ComplaintStep};
use crm_shared::complaint::{self, StepInput};
use crm_shared::customer::Complaint;

use super::layout::{csrf, flash, page, when};
use super::people::People;
use super::records::Refused;
use super::{done, ConsoleError, Fields, Query, SignedIn};
use crate::archive;
use crate::caller::ServiceError;
use crate::complaints::{self as cases, ListQuery};
use crate::db::complaints::ComplaintFilter;
use crate::rules;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/complaints", get(list))
        .route("/customers/{id}/complaints", post(register))
        .route(
            "/customers/{id}/complaints/{key}",
            get(case).post(take_step),
        )
}

/// Complaints per page of the list.
const PER_PAGE: u64 = 50;

#[derive(Debug, Default, Deserialize)]
struct PageQ {
    #[serde(default)]
    page: u64,
}

/// The list's address with filters `q` at `page`.
fn href(q: &ListQuery, page: u64) -> String {
    let mut u = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("status", &q.status),
        ("stage", &q.stage),
        ("category", &q.category),
        ("customer", &q.customer),
        ("salesperson", &q.salesperson),
        ("age", &q.age),
    ] {
        if !v.trim().is_empty() {
            u.append_pair(k, v.trim());
        }
    }
    if page > 0 {
        u.append_pair("page", &page.to_string());
    }
    format!("/console/complaints?{}", u.finish())
}

async fn list(
    s: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
    Query(p): Query<PageQ>,
) -> Result<Response, ConsoleError> {
    let now = crate::clock::now_ms();
    let people = People::load(&state).await?;
    let (filter, problem) = match q.filter(now) {
        Ok(f) => (f, None),
        Err(ServiceError::BadRequest(m)) => (ComplaintFilter::default(), Some(m)),
        Err(e) => return Err(e.into()),
    };
    let page_no = p.page.min(1_000_000);
    let (total, rows) = match &problem {
        Some(_) => (0, Vec::new()),
        None => cases::list(&state.db, s.caller(), filter, page_no * PER_PAGE, PER_PAGE).await?,
    };
    let stats = rules::complaint_stats(&state.db, s.caller(), filter_salesperson(&q)).await?;
    let pages = total.div_ceil(PER_PAGE).max(1);
    let body = html! {
        form.filters method="get" action="/console/complaints" #complaint-filters {
            label { ("状态")
                select name="status" {
                    option value="" { ("全部") }
                    option value="open" selected[q.status == "open"] { ("处理中") }
                    option value="closed" selected[q.status == "closed"] { ("已结案") }
                } }
            label { ("当前步骤")
                select name="stage" {
                    option value="" { ("全部") }
                    @for st in ComplaintStep::ALL.iter().filter(|x| **x != ComplaintStep::Registered) {
                        @if *st == ComplaintStep::Closed {
                            option value=(crate::db::complaints::CLOSED) selected[q.stage == crate::db::complaints::CLOSED] { ("已结案") }
                        } @else {
                            option value=(st.code()) selected[q.stage == st.code()] { "待" (st.label()) }
                        }
                    }
                } }
            label { ("性质")
                select name="category" {
                    option value="" { ("全部") }
                    @for c in ComplaintCategory::ALL { option value=(c.code()) selected[q.category == c.code()] { (c.label()) } }
                    option value="none" selected[q.category == "none"] { ("未判断") }
                } }
            label { ("客户") input name="customer" value=(q.customer) placeholder="客户名称"; }
            @if s.head_office() {
                label { ("业务员")
                    select name="salesperson" {
                        option value="" { ("全部") }
                        @for (login, name) in people.salespeople() {
                            option value=(login) selected[*login == q.salesperson] { (name) }
                        }
                    } }
            }
            label { ("处理中超过(天)") input name="age" value=(q.age) inputmode="numeric" size="4"; }
            button type="submit" { ("查询") }
        }
        @if let Some(m) = &problem { div.error role="alert" { (m) } }
        p.muted #complaint-count { "共 " (total) " 件投诉,第 " (page_no + 1) " / " (pages) " 页" }
        table.cards #complaint-list {
            thead { tr { th { ("登记时间") } th { ("客户") } th { ("业务员") } th { ("内容") }
                th { ("性质") } th { ("当前步骤") } th { ("已历时") } } }
            tbody { @for r in &rows { @let k = &r.complaint; tr {
                td data-label="登记时间" { a href={ "/console/customers/" (r.customer_id) "/complaints/" (r.key) } { (when(Some(k.at))) } }
                td data-label="客户" { a href={ "/console/customers/" (r.customer_id) } { (r.customer_name) } }
                td data-label="业务员" { (people.name(&r.salesperson)) }
                td data-label="内容" { (short(&k.description, 30)) }
                td data-label="性质" { (k.category.map_or("未判断", |c| c.label())) }
                td data-label="当前步骤" { (complaint::stage_label(k)) }
                td.num data-label="已历时" { (complaint::age_days(k, now)) " 天" }
            } } }
        }
        div.row {
            @if page_no > 0 { a href=(href(&q, page_no - 1)) { ("← 上一页") } }
            @if page_no + 1 < pages { a href=(href(&q, page_no + 1)) { ("下一页 →") } }
        }
        h2 { ("月度客诉统计") }
        p { a href="/console/export/complaints.xlsx" { ("导出 Excel") } " · " a href="/console/export/complaints.csv" { "CSV" } }
        table #complaints {
            thead { tr { th { ("月份") } th { ("投诉总数") } th { ("质量问题") } th { ("非质量问题") }
                th { ("未判定") } th { ("客户满意") } th { ("客户不满意") } th { ("处理中") } } }
            tbody { @for m in &stats { tr {
                td { (m.month) } td.num { (m.total) } td.num { (m.quality) } td.num { (m.non_quality) }
                td.num { (m.unclassified) } td.num { (m.satisfied) } td.num { (m.unsatisfied) } td.num { (m.open) }
            } } }
        }
    };
    let markup = page(&s, "complaints", "客户投诉", body);
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, markup).into_response())
}

fn filter_salesperson(q: &ListQuery) -> Option<String> {
    Some(q.salesperson.trim().to_string()).filter(|s| !s.is_empty())
}

/// The first `max` characters of `text`, with an ellipsis when cut.
fn short(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    #[serde(default)]
    done: String,
}

async fn case(
    s: SignedIn,
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
    Query(d): Query<Done>,
) -> Result<Markup, ConsoleError> {
    case_page(&s, &state, &id, &key, !d.done.is_empty(), None).await
}

fn yes_no(v: Option<bool>, yes: &'static str, no: &'static str) -> &'static str {
    match v {
        Some(true) => yes,
        Some(false) => no,
        None => "—",
    }
}

/// Complaint `key` of customer `id` with its steps, and the form of the
/// step it waits for when the signed-in person may take it (with what
/// was typed, when `refused`).
async fn case_page(
    s: &SignedIn,
    state: &AppState,
    id: &str,
    key: &str,
    just_done: bool,
    refused: Option<&Refused>,
) -> Result<Markup, ConsoleError> {
    let view = archive::card(&state.db, s.caller(), id.to_string()).await?;
    let c = &view.customer;
    let Some(k) = c.complaints.get(key) else {
        return Err(ServiceError::NotFound(format!("客户“{}”没有这件投诉", c.name)).into());
    };
    let people = People::load(state).await?;
    let next = complaint::next_step(k);
    let mine = next.filter(|st| s.head_office() && complaint::may_take(*st, s.role, s.position));
    Ok(page(
        s,
        "complaints",
        &format!("投诉:{}", short(&k.description, 20)),
        html! {
            (flash(just_done.then_some("已保存")))
            p { a href={ "/console/customers/" (id) } { "← " (c.name) } " · " a href="/console/complaints" { ("全部投诉") } }
            div.card #complaint {
                div { span { ("客户") } (c.name) }
                div { span { ("业务员") } (people.name(&c.salesperson)) }
                div { span { ("登记时间") } (when(Some(k.at))) }
                div { span { ("登记人") } (people.name(&k.by)) }
                div { span { ("投诉内容") } (k.description) }
                div { span { ("性质") } (k.category.map_or("未判断", |x| x.label())) }
                div { span { ("状态") } (complaint::stage_label(k)) }
                @if !k.investigation.is_empty() { div { span { ("调查情况") } (k.investigation) } }
                @if !k.remedy.is_empty() { div { span { ("处理方案") } (k.remedy) } }
                @if k.category == Some(ComplaintCategory::Quality) || k.sample_returned.is_some() {
                    div { span { ("样品退回") } (yes_no(k.sample_returned, "已退回", "未退回")) }
                    div { span { ("检验结果") } (k.inspection) }
                    div { span { ("责任部门") } (k.responsible_department) }
                }
                @if !k.manager_opinion.is_empty() { div { span { ("经理意见") } (k.manager_opinion) } }
                @if k.agreed.is_some() { div { span { ("协商结果") } (yes_no(k.agreed, "客户同意方案", "未达成一致")) } }
                @if !k.negotiation.is_empty() { div { span { ("协商情况") } (k.negotiation) } }
                @if !k.execution.is_empty() { div { span { ("执行情况") } (k.execution) } }
                @if !k.litigation.is_empty() { div { span { ("诉讼情况") } (k.litigation) } }
                @if k.satisfied.is_some() { div { span { ("客户满意度") } (yes_no(k.satisfied, "满意", "不满意")) } }
            }
            h2 { ("处理经过") }
            ol.steps #complaint-steps {
                @for st in complaint::path(k) {
                    li.done[complaint::taken(k, st)] {
                        strong { (st.label()) }
                        @if let Some(m) = k.steps.get(st.code()) {
                            " · " (people.name(&m.by)) " · " (when(Some(m.at)))
                        } @else if complaint::taken(k, st) {
                            " · 已完成"
                        } @else if Some(st) == next {
                            " · 待办理(" (complaint::owners(st)) ")"
                        }
                    }
                }
            }
            @match (next, mine) {
                (Some(st), Some(_)) => { (step_form(s, id, key, k, st, refused)) }
                (Some(st), None) => {
                    p.muted #complaint-waiting { "这一步“" (st.label()) "”由" (complaint::owners(st)) "办理。" }
                }
                (None, _) => {}
            }
        },
    ))
}

/// The form of `step` of complaint `key`.
fn step_form(
    s: &SignedIn,
    id: &str,
    key: &str,
    k: &Complaint,
    step: ComplaintStep,
    refused: Option<&Refused>,
) -> Markup {
    let r = Refused::of(refused, "step");
    let v = |name: &str| r.map(|r| r.value(name)).unwrap_or_default();
    let picked = |name: &str, value: &str| r.is_some_and(|r| r.value(name) == value);
    let quality = k.category == Some(ComplaintCategory::Quality);
    html! {
        h2 { "办理:" (step.label()) }
        form.stack method="post" action={ "/console/customers/" (id) "/complaints/" (key) } #complaint-step {
            (csrf(s))
            @if let Some(r) = r { div.error role="alert" { (r.message()) } }
            input type="hidden" name="step" value=(step.code());
            @match step {
                ComplaintStep::Judged => {
                    label { ("性质(必填)")
                        select name="category" required {
                            option value="" { ("—") }
                            @for c in ComplaintCategory::ALL { option value=(c.code()) selected[picked("category", c.code())] { (c.label()) } }
                        } }
                }
                ComplaintStep::Plan => {
                    label { ("调查情况") textarea name="investigation" rows="3" { (v("investigation")) } }
                    label { ("处理方案(必填)") textarea name="remedy" rows="3" required { (v("remedy")) } }
                    @if quality {
                        p.muted { ("质量问题按《客户投诉调查处理表》填写:") }
                        (yes_no_select("不良样品是否退回(必填)", "sample_returned", ("已退回", "未退回"), r))
                        label { ("检验结果(必填)") textarea name="inspection" rows="2" required { (v("inspection")) } }
                        label { ("责任部门(必填)") input name="responsible_department" value=(v("responsible_department")) required; }
                    }
                }
                ComplaintStep::Opinion => {
                    label { ("销售管理部经理意见(必填)") textarea name="opinion" rows="3" required { (v("opinion")) } }
                }
                ComplaintStep::Negotiated => {
                    (yes_no_select("客户是否同意处理方案(必填)", "agreed", ("同意,按方案执行", "不同意,转诉讼程序"), r))
                    label { ("协商情况") textarea name="negotiation" rows="3" { (v("negotiation")) } }
                }
                ComplaintStep::Executed => {
                    label { ("执行情况(必填)") textarea name="execution" rows="3" required { (v("execution")) } }
                }
                ComplaintStep::Litigation => {
                    label { ("诉讼情况(必填)") textarea name="litigation" rows="3" required { (v("litigation")) } }
                }
                ComplaintStep::Satisfaction => {
                    (yes_no_select("客户是否满意(必填)", "satisfied", ("满意", "不满意"), r))
                }
                ComplaintStep::Closed => {
                    p { ("确认各步骤已完成,结案后不能再修改。") }
                }
                ComplaintStep::Registered => {}
            }
            div.row { button type="submit" { @if step == ComplaintStep::Closed { ("结案") } @else { ("保存") } } }
        }
    }
}

/// A required yes/no choice `name` labelled `label`, its two answers worded
/// `(yes, no)`, with the answer of a refused form `r` kept.
fn yes_no_select(label: &str, name: &str, (yes, no): (&str, &str), r: Option<&Refused>) -> Markup {
    let was = r.map(|r| r.value(name)).unwrap_or_default();
    html! {
        label { (label)
            select name=(name) required {
                option value="" { ("—") }
                option value="yes" selected[was == "yes"] { (yes) }
                option value="no" selected[was == "no"] { (no) }
            } }
    }
}

fn yes_no_field(f: &Fields, name: &str) -> Option<bool> {
    match f.text(name).as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

async fn take_step(
    s: SignedIn,
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let parsed = f
        .text("step")
        .parse::<ComplaintStep>()
        .map_err(|e| e.to_string())
        .and_then(|step| {
            let category = super::optional::<ComplaintCategory>(&f.text("category"))?;
            Ok((step, category))
        });
    let written: Result<Complaint, ServiceError> = match parsed {
        Err(m) => Err(ServiceError::BadRequest(m)),
        Ok((step, category)) => {
            let input = StepInput {
                category,
                investigation: f.text("investigation"),
                remedy: f.text("remedy"),
                sample_returned: yes_no_field(&f, "sample_returned"),
                inspection: f.text("inspection"),
                responsible_department: f.text("responsible_department"),
                opinion: f.text("opinion"),
                agreed: yes_no_field(&f, "agreed"),
                negotiation: f.text("negotiation"),
                execution: f.text("execution"),
                litigation: f.text("litigation"),
                satisfied: yes_no_field(&f, "satisfied"),
            };
            cases::take_step(
                &state.db,
                s.caller(),
                s.position,
                (id.clone(), key.clone()),
                step,
                input,
                crate::clock::now_ms(),
            )
            .await
        }
    };
    match written {
        Ok(_) => Ok(done(&format!(
            "/console/customers/{id}/complaints/{key}?done=step"
        ))),
        Err(ServiceError::BadRequest(m)) => {
            let refused = Refused::new("step", m, f);
            let page = case_page(&s, &state, &id, &key, false, Some(&refused)).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The form registering a complaint on customer `id`, on the card.
pub(super) fn register_form(s: &SignedIn, id: &str, refused: Option<&Refused>) -> Markup {
    let r = Refused::of(refused, "complaint");
    html! {
        form.stack method="post" action={ "/console/customers/" (id) "/complaints" } #register-complaint {
            (csrf(s))
            @if let Some(r) = r { div.error role="alert" { (r.message()) } }
            label { ("投诉内容(必填)")
                textarea name="description" rows="3" required { (r.map(|r| r.value("description")).unwrap_or_default()) } }
            p.muted { ("登记后由档案管理员或经理初步判断质量或非质量问题。") }
            div.row { button type="submit" { ("登记投诉") } }
        }
    }
}

async fn register(
    s: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let registered = cases::register(
        &state.db,
        s.caller(),
        id.clone(),
        f.text("description"),
        crate::clock::now_ms(),
    )
    .await;
    match registered {
        Ok(key) => Ok(done(&format!(
            "/console/customers/{id}/complaints/{key}?done=registered"
        ))),
        Err(e) => super::card::refused_form(&s, &state, &id, "complaint", e, f).await,
    }
}
