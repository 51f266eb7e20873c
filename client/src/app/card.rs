//! The card: every archive field, contacts, visits and activities, sales,
//! complaints, credit requests with every decision, reviews, major changes,
//! open conflicts; and every form that records something on it. A refused
//! form comes back with what was typed and what is wrong above it.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};

use crm_shared::codes::{ActivityKind, ComplaintStep, Intent, Position, Role, Tier};
use crm_shared::complaint;
use crm_shared::customer::{Contact, Customer};
use crm_shared::document::Conflict;
use crm_shared::labels::label_of;
use crm_web::format::{date, grade, when, yuan};
use crm_web::parts::flash;

use super::form::{Posted, Refused};
use super::view::{back, failure, page, token, Done};
use super::{App, Shared};
use crate::clock::now_millis;
use crate::error::{ClientError, Result};
use crate::record;
use crate::store::Store;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/customers/{id}", get(show))
        .route("/customers/{id}/visit", get(visit_page).post(visit))
        .route("/customers/{id}/contact", post(add_contact))
        .route("/customers/{id}/credit", post(credit))
        .route("/customers/{id}/complaint", post(complaint))
        .route("/customers/{id}/complaints/{key}", post(handle_complaint))
        .route("/customers/{id}/sale", post(sale))
        .route("/customers/{id}/sales/{key}/paid", post(sale_paid))
        .route("/customers/{id}/review", post(review))
        .route("/customers/{id}/flag", post(flag))
        .route("/customers/{id}/flags/{key}/clear", post(clear_flag))
        .route("/customers/{id}/resolve", post(resolve))
        .route("/customers/{id}/history", get(history))
}

fn open(app: &App) -> Result<super::warm::Held<'_>> {
    app.store()?.ok_or(ClientError::NotInitialised)
}

async fn show(
    State(app): State<Shared>,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    render(&app, &id, done.ok.as_deref(), None)
}

/// The card page, with `refused` shown on its form.
fn render(app: &App, id: &str, ok: Option<&str>, refused: Option<&Refused>) -> Response {
    let inner = || -> Result<Response> {
        let store = open(app)?;
        let (card, conflicts) = store.card_with_conflicts(id)?;
        let body = card_body(app, &store, &card, &conflicts, ok, refused)?;
        Ok(page(app, &store, "customers", &card.name, body).into_response())
    };
    inner().unwrap_or_else(|e| match e {
        ClientError::NotFound(_) => back("/customers", "本机没有这位客户(可能已转给其他业务员)"),
        e => failure(&e),
    })
}

/// What was typed into `name` on `form`, if `refused` is that form's.
fn typed<'a>(refused: Option<&'a Refused>, form: &str, name: &str) -> &'a str {
    Refused::value(refused, form, name).unwrap_or_default()
}

/// The refusal message, above the form it belongs to.
fn refusal(refused: Option<&Refused>, form: &str) -> Markup {
    html! {
        @if let Some(r) = refused.filter(|r| r.form == form) {
            div.error role="alert" {
                @if let Some(f) = &r.field { b { (label_of(f)) } ":" }
                (r.message)
            }
        }
    }
}

fn card_body(
    app: &App,
    store: &Store,
    c: &Customer,
    conflicts: &[Conflict],
    ok: Option<&str>,
    refused: Option<&Refused>,
) -> Result<Markup> {
    let id = &c.id;
    let chain = store.settings()?.credit_chain;
    let me = store.profile();
    let names = |login: &str| (login == me.user).then(|| me.display_name.clone());
    let fields = crm_web::card::fields(c, &names);
    Ok(html! {
        (flash(ok))
        div.actions {
            a.button href={ "/customers/" (id) "/visit" } { "记录拜访/电话" }
            a.button.secondary href={ "/customers/" (id) "/edit" } { "修改档案" }
            a.button.secondary href={ "/customers/" (id) "/history" } { "修改历史" }
            span.tag { (c.status.label()) }
            @if c.grade.is_some() { span.tag { (grade(c.grade)) } }
            @if let Some(d) = c.next_followup() { span.tag { "下次跟进 " (d) } }
        }
        @if !conflicts.is_empty() {
            h2 #conflicts { "冲突 " (conflicts.len()) " 处:两处分别改成了不同的值,请选定保留哪一个" }
            (refusal(refused, "resolve"))
            @for (n, k) in conflicts.iter().enumerate() {
                form.stack method="post" action={ "/customers/" (id) "/resolve" } {
                    (token(app))
                    input type="hidden" name="path" value=(k.path);
                    b { (label_of(&k.path)) }
                    @for (i, v) in k.values.iter().enumerate() {
                        label { span {
                            input type="radio" name="choice" value=(i) required checked[i == 0];
                            " " (crm_shared::diff::text_at(&k.path, &v.value).unwrap_or_else(|| "(空)".into()))
                            span.muted { " — " (v.by.as_deref().map(|b| names(b).unwrap_or_else(|| b.to_string())).unwrap_or_default()) " " (when(v.at)) }
                        } }
                    }
                    label { "原因 *" input name="reason" required id={ "reason-" (n) }; }
                    button type="submit" { "选定" }
                }
            }
        }
        h2 { "档案" }
        div.card {
            @for (_, label, value) in &fields {
                @if !value.is_empty() { div { span { (label) } (value) } }
            }
            @for (name, view) in &c.business.competitors {
                div { span { "竞争对手" } (name) ":" (view) }
            }
        }
        h2 #contacts { "联系人 " (c.contacts.len()) }
        @if !c.contacts.is_empty() {
            table {
                thead { tr { th { "姓名" } th { "职务" } th.hide-narrow { "部门" } th { "手机" } th.hide-narrow { "电话" } th.hide-narrow { "邮箱" } th.hide-narrow { "微信" } th {} } }
                tbody { @for (key, k) in &c.contacts { tr {
                    td { (k.name) @if k.primary { " " span.tag { "主要" } } }
                    td { (k.title) }
                    td.hide-narrow { (k.department) }
                    td { @if !k.mobile.is_empty() { a href={ "tel:" (k.mobile) } { (k.mobile) } } }
                    td.hide-narrow { @if !k.phone.is_empty() { a href={ "tel:" (k.phone) } { (k.phone) } } }
                    td.hide-narrow { (k.email) }
                    td.hide-narrow { (k.wechat) }
                    td { a href={ "/customers/" (id) "/contacts/" (key) } { "修改" } }
                } } }
            }
        }
        details #new-contact open[refused.is_some_and(|r| r.form == "contact")] {
            summary { "新增联系人" }
            (refusal(refused, "contact"))
            form.stack method="post" action={ "/customers/" (id) "/contact" } {
                (token(app))
                div.row {
                    label { "姓名 *" input name="name" required value=(typed(refused, "contact", "name")); (Refused::beside(refused, "contact", "name")) }
                    label { "职务" input name="title" value=(typed(refused, "contact", "title")); }
                    label { "部门" input name="department" value=(typed(refused, "contact", "department")); }
                }
                div.row {
                    label { "手机" input name="mobile" type="tel" value=(typed(refused, "contact", "mobile")); (Refused::beside(refused, "contact", "mobile")) }
                    label { "电话" input name="phone" type="tel" value=(typed(refused, "contact", "phone")); }
                    label { "邮箱" input name="email" type="email" value=(typed(refused, "contact", "email")); }
                    label { "微信" input name="wechat" value=(typed(refused, "contact", "wechat")); }
                }
                label { span { input type="checkbox" name="primary"; " 主要联系人" } }
                button type="submit" { "添加联系人" }
            }
        }
        h2 #activities { "拜访与活动 " (c.activities.len()) }
        (visit_form(app, store, c, refused)?)
        @if !c.activities.is_empty() {
            table {
                thead { tr { th { "时间" } th { "方式" } th { "内容" } th { "意向" } th.hide-narrow { "下次跟进" } } }
                tbody { @for a in activities_newest_first(c) { tr {
                    td { (when(Some(a.at))) } td { (a.kind.label()) } td { (a.notes) }
                    td { (a.intent.map(|i| i.label()).unwrap_or_default()) }
                    td.hide-narrow { (a.next_followup.map(|d| d.to_string()).unwrap_or_default()) }
                } } }
            }
        }
        h2 #sales { "销售 " (c.sales.len()) }
        @if !c.sales.is_empty() {
            table {
                thead { tr { th { "日期" } th { "产品" } th.num { "数量" } th.num { "金额(元)" } th { "应付款日" } th { "付款" } } }
                tbody { @for (key, s) in &c.sales { tr {
                    td { (s.day.map(|d| d.to_string()).unwrap_or_default()) } td { (s.product) }
                    td.num { (s.quantity) } td.num { (yuan(Some(s.amount))) }
                    td { (s.due.map(|d| d.to_string()).unwrap_or_default()) }
                    td { @match s.paid_on {
                        Some(d) => { "已付 " (d) },
                        None => form.inline method="post" action={ "/customers/" (id) "/sales/" (key) "/paid" } {
                            (token(app)) "未付 " button.secondary type="submit" { "今日已付款" }
                        },
                    } }
                } } }
            }
        }
        details #sale-form open[refused.is_some_and(|r| r.form == "sale")] {
            summary { "记录销售" }
            (refusal(refused, "sale"))
            form.stack method="post" action={ "/customers/" (id) "/sale" } {
                (token(app))
                div.row {
                    label { "金额(元)*" input name="amount" required inputmode="numeric" value=(typed(refused, "sale", "amount")); (Refused::beside(refused, "sale", "amount")) }
                    label { "产品" input name="product" value=(typed(refused, "sale", "product")); }
                    label { "数量" input name="quantity" inputmode="decimal" value=(Some(typed(refused, "sale", "quantity")).filter(|s| !s.is_empty()).unwrap_or("1")); }
                }
                div.row {
                    label { "销售日期" input type="date" name="day" value=(typed(refused, "sale", "day")); }
                    label { "应付款日" input type="date" name="due" value=(typed(refused, "sale", "due")); }
                }
                button type="submit" { "记录销售" }
            }
        }
        h2 #credit { "信用额度 " @if let Some(l) = c.credit.limit { (yuan(Some(l))) " 元" } @else { "(未设定)" } }
        @if !c.credit_requests.is_empty() {
            table {
                thead { tr { th { "申请时间" } th.num { "原额度" } th.num { "拟变更为" } th { "理由" } th { "审批" } } }
                tbody { @for r in c.credit_requests.values() { tr {
                    td { (when(Some(r.at))) }
                    td.num { (yuan(r.current)) }
                    td.num { (yuan(Some(r.proposed))) }
                    td { (r.reason) }
                    td {
                        b { (crm_shared::credit::status(r, &chain).label()) }
                        @for p in &chain { @if let Some(d) = r.decisions.get(p.code()) {
                            div { (p.label()) ":" (if d.approved { "批准" } else { "驳回" }) " " (date(Some(d.at)))
                                @if !d.comment.is_empty() { "(" (d.comment) ")" } }
                        } }
                        @for (code, d) in &r.decisions { @if code.parse::<Position>().map_or(true, |p| !chain.contains(&p)) {
                            div { (if d.approved { "批准" } else { "驳回" }) " " (date(Some(d.at))) }
                        } }
                    }
                } } }
            }
        }
        details #credit-form open[refused.is_some_and(|r| r.form == "credit")] {
            summary { "申请变更信用额度(总部审批)" }
            (refusal(refused, "credit"))
            form.stack method="post" action={ "/customers/" (id) "/credit" } {
                (token(app))
                label { "拟变更为(元)*" input name="limit" required inputmode="numeric" value=(typed(refused, "credit", "limit")); (Refused::beside(refused, "credit", "limit")) }
                label { "理由 *" textarea name="reason" required { (typed(refused, "credit", "reason")) } (Refused::beside(refused, "credit", "reason")) }
                button type="submit" { "提交申请" }
            }
        }
        h2 #complaints { "投诉 " (c.complaints.len()) }
        (refusal(refused, "handle"))
        @for (key, q) in &c.complaints {
            @let next = complaint::next_step(q);
            div.card {
                div { span { "时间" } (when(Some(q.at))) }
                div { span { "内容" } (q.description) }
                div { span { "性质" } (q.category.map(|x| x.label()).unwrap_or("待判断")) }
                @if !q.investigation.is_empty() { div { span { "调查" } (q.investigation) } }
                @if !q.remedy.is_empty() { div { span { "处理方案" } (q.remedy) } }
                @if q.sample_returned.is_some() { div { span { "样品退回" } (yes_no(q.sample_returned)) } }
                @if !q.inspection.is_empty() { div { span { "检验结果" } (q.inspection) } }
                @if !q.responsible_department.is_empty() { div { span { "责任部门" } (q.responsible_department) } }
                @if !q.manager_opinion.is_empty() { div { span { "经理意见" } (q.manager_opinion) } }
                @if q.agreed.is_some() { div { span { "客户同意方案" } (yes_no(q.agreed)) } }
                @if !q.negotiation.is_empty() { div { span { "协商情况" } (q.negotiation) } }
                @if !q.execution.is_empty() { div { span { "执行情况" } (q.execution) } }
                @if !q.litigation.is_empty() { div { span { "诉讼情况" } (q.litigation) } }
                div { span { "客户满意" } (match q.satisfied { Some(true) => "满意", Some(false) => "不满意", None => "—" }) }
                div { span { "状态" } @if let Some(t) = q.closed_at { "已结案 " (date(Some(t))) } @else { (complaint::stage_label(q)) } }
                div { span { "处理经过" }
                    ol.steps { @for step in complaint::path(q) { @if complaint::taken(q, step) {
                        li { (step.label())
                            @if let Some(m) = q.steps.get(step.code()) { " · " (names(&m.by).unwrap_or_else(|| m.by.clone())) " " (when(Some(m.at))) } }
                    } } }
                }
            }
            @match next {
                Some(step) if complaint::may_take(step, Role::Salesperson, None) && step != ComplaintStep::Registered => {
                    details {
                        summary { "办理:" (step.label()) }
                        form.stack method="post" action={ "/customers/" (id) "/complaints/" (key) } {
                            (token(app))
                            input type="hidden" name="step" value=(step.code());
                            @match step {
                                ComplaintStep::Negotiated => {
                                    label { "客户是否同意处理方案 *" select name="agreed" required {
                                        option value="" { "—" }
                                        option value="yes" { "同意" }
                                        option value="no" { "不同意(转诉讼程序)" }
                                    } }
                                    label { "协商情况" textarea name="negotiation" {} }
                                }
                                ComplaintStep::Executed => {
                                    label { "执行情况 *" textarea name="execution" required {} }
                                }
                                _ => {
                                    label { "客户是否满意 *" select name="satisfied" required {
                                        option value="" { "—" }
                                        option value="yes" { "满意" }
                                        option value="no" { "不满意" }
                                    } }
                                }
                            }
                            button type="submit" { "保存" }
                        }
                    }
                }
                Some(step) => {
                    p.muted { "等待总部办理“" (step.label()) "”(" (complaint::owners(step)) ")" }
                }
                None => {}
            }
        }
        details #complaint-form open[refused.is_some_and(|r| r.form == "complaint")] {
            summary { "登记投诉" }
            (refusal(refused, "complaint"))
            form.stack method="post" action={ "/customers/" (id) "/complaint" } {
                (token(app))
                label { "投诉内容 *" textarea name="description" required { (typed(refused, "complaint", "description")) } }
                p.muted { "质量或非质量问题由总部初步判断。" }
                button type="submit" { "登记" }
            }
        }
        h2 #reviews { "定期审查 " (c.reviews.len()) }
        @if !c.reviews.is_empty() {
            table { tbody { @for r in c.reviews.values() { tr {
                td { (date(Some(r.at))) } td { (r.tier.map(|t| t.label()).unwrap_or_default()) } td { (r.notes) }
            } } } }
        }
        details #review-form open[refused.is_some_and(|r| r.form == "review")] {
            summary { "记录审查" }
            (refusal(refused, "review"))
            form.stack method="post" action={ "/customers/" (id) "/review" } {
                (token(app))
                label { "客户类别" select name="tier" { option value="" { "不变" }
                    @for t in Tier::ALL { option value=(t.code()) { (t.label()) } } } }
                label { "审查意见" input name="notes" value=(typed(refused, "review", "notes")); }
                button type="submit" { "记录审查" }
            }
        }
        h2 #changes { "重大变化 " (c.major_changes.len()) }
        @for (key, m) in &c.major_changes {
            div.card {
                div { span { (date(Some(m.at))) } (m.description) }
                div { @if m.cleared { span.tag.good { "已处理" } } @else {
                    form.inline method="post" action={ "/customers/" (id) "/flags/" (key) "/clear" } {
                        (token(app)) button.secondary type="submit" { "标记已处理" }
                    }
                } }
            }
        }
        details #flag-form open[refused.is_some_and(|r| r.form == "flag")] {
            summary { "登记重大变化" }
            (refusal(refused, "flag"))
            form.stack method="post" action={ "/customers/" (id) "/flag" } {
                (token(app))
                label { "发生了什么变化 *" textarea name="description" required { (typed(refused, "flag", "description")) } }
                button type="submit" { "登记" }
            }
        }
    })
}

fn activities_newest_first(c: &Customer) -> Vec<&crm_shared::customer::Activity> {
    let mut v: Vec<_> = c.activities.values().collect();
    v.sort_by_key(|a| std::cmp::Reverse(a.at));
    v
}

/// The quick record: kind, notes, intent; the next follow-up each intent
/// would give is shown before saving.
fn visit_form(app: &App, store: &Store, c: &Customer, refused: Option<&Refused>) -> Result<Markup> {
    let now = now_millis();
    let mut preview = Vec::new();
    for i in Intent::ALL {
        if let Some(d) = record::next_followup(store, c, Some(*i), now)? {
            preview.push(format!("{}:{d}", i.label()));
        }
    }
    let current = c.current_intent();
    let kind = typed(refused, "visit", "kind");
    let intent = typed(refused, "visit", "intent");
    Ok(html! {
        (refusal(refused, "visit"))
        form.stack #visit method="post" action={ "/customers/" (c.id) "/visit" } {
            (token(app))
            div.row {
                label { "方式" select name="kind" {
                    @for k in ActivityKind::ALL { option value=(k.code()) selected[kind == k.code()] { (k.label()) } }
                } }
                label { "意向等级" select name="intent" {
                    option value="" { "不变" @if let Some(i) = current { "(" (i.label()) ")" } }
                    @for i in Intent::ALL { option value=(i.code()) selected[intent == i.code()] { (i.label()) } }
                } }
            }
            label { "内容 *" textarea name="notes" required placeholder="谈了什么、结果如何" { (typed(refused, "visit", "notes")) } (Refused::beside(refused, "visit", "notes")) }
            p.muted #next-preview { "下次跟进按意向自动安排:" (preview.join(";")) }
            button type="submit" { "保存" }
        }
    })
}

async fn visit_page(State(app): State<Shared>, Path(id): Path<String>) -> Response {
    let inner = || -> Result<Response> {
        let store = open(&app)?;
        let card = store.get(&id)?;
        let body = html! {
            p { a href={ "/customers/" (id) } { "← " (card.name) } }
            (visit_form(&app, &store, &card, None)?)
        };
        Ok(page(
            &app,
            &store,
            "today",
            &format!("记录拜访:{}", card.name),
            body,
        )
        .into_response())
    };
    inner().unwrap_or_else(|e| failure(&e))
}

/// Runs `record` for a form posted to customer `id`'s card; back to the
/// card saying `ok`, or the card again with the form refused.
fn save(
    app: &App,
    id: &str,
    form: &'static str,
    posted: Posted,
    ok: &str,
    record: impl FnOnce(&mut Store, &Posted) -> Result<String>,
) -> Response {
    let result = open(app).and_then(|mut store| record(&mut store, &posted));
    match result {
        Ok(said) => {
            app.changed();
            let ok = if said.is_empty() {
                ok.to_string()
            } else {
                said
            };
            back(&format!("/customers/{id}"), &ok)
        }
        Err(e) => {
            let refused = Refused::new(form, posted, &e);
            render(app, id, None, Some(&refused))
        }
    }
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "是",
        Some(false) => "否",
        None => "—",
    }
}

fn parse<T: std::str::FromStr>(f: &Posted, name: &str, what: &str) -> Result<Option<T>> {
    f.opt(name)
        .map(|s| s.parse::<T>())
        .transpose()
        .map_err(|_| record::invalid(name, format!("{what}无效")))
}

async fn visit(State(app): State<Shared>, Path(id): Path<String>, form: Posted) -> Response {
    save(&app, &id.clone(), "visit", form, "", |store, f| {
        let kind = parse::<ActivityKind>(f, "kind", "方式")?.unwrap_or(ActivityKind::Visit);
        let (_, next) = record::visit(
            store,
            &id,
            record::Visit {
                kind,
                notes: f.get("notes").to_string(),
                intent: parse(f, "intent", "意向等级")?,
                next: None,
                at: now_millis(),
            },
        )?;
        Ok(match next {
            Some(d) => format!("已记录{},下次跟进 {d}", kind.label()),
            None => format!("已记录{}", kind.label()),
        })
    })
}

async fn add_contact(State(app): State<Shared>, Path(id): Path<String>, form: Posted) -> Response {
    save(
        &app,
        &id.clone(),
        "contact",
        form,
        "已新增联系人",
        |store, f| {
            let contact = Contact {
                name: f.get("name").to_string(),
                title: f.get("title").to_string(),
                department: f.get("department").to_string(),
                mobile: f.get("mobile").to_string(),
                phone: f.get("phone").to_string(),
                email: f.get("email").to_string(),
                wechat: f.get("wechat").to_string(),
                primary: f.ticked("primary"),
                ..Default::default()
            };
            record::add_contact(store, &id, contact)?;
            Ok(String::new())
        },
    )
}

async fn credit(State(app): State<Shared>, Path(id): Path<String>, form: Posted) -> Response {
    save(
        &app,
        &id.clone(),
        "credit",
        form,
        "已提交信用额度申请,同步后由总部审批",
        |store, f| {
            let text = f.get("limit").replace([',', ',', ' '], "");
            let limit: i64 = text
                .parse()
                .map_err(|_| record::invalid("limit", "请填写金额(整数,元)"))?;
            record::credit_request(store, &id, limit, f.get("reason"))?;
            Ok(String::new())
        },
    )
}

async fn complaint(State(app): State<Shared>, Path(id): Path<String>, form: Posted) -> Response {
    save(
        &app,
        &id.clone(),
        "complaint",
        form,
        "已登记投诉",
        |store, f| {
            record::complaint(store, &id, f.get("description"), now_millis())?;
            Ok(String::new())
        },
    )
}

async fn handle_complaint(
    State(app): State<Shared>,
    Path((id, key)): Path<(String, String)>,
    form: Posted,
) -> Response {
    save(
        &app,
        &id.clone(),
        "handle",
        form,
        "已保存投诉处理",
        |store, f| {
            let step = f
                .get("step")
                .parse::<ComplaintStep>()
                .map_err(|e| record::invalid("step", e.to_string()))?;
            let yes_no = |name: &str| match f.get(name) {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            };
            let input = complaint::StepInput {
                agreed: yes_no("agreed"),
                negotiation: f.get("negotiation").to_string(),
                execution: f.get("execution").to_string(),
                satisfied: yes_no("satisfied"),
                ..Default::default()
            };
            record::complaint_step(store, &id, &key, step, &input)?;
            Ok(String::new())
        },
    )
}

async fn sale(State(app): State<Shared>, Path(id): Path<String>, form: Posted) -> Response {
    save(
        &app,
        &id.clone(),
        "sale",
        form,
        "已记录销售",
        |store, f| {
            let amount: i64 = f
                .get("amount")
                .replace([',', ',', ' '], "")
                .parse()
                .map_err(|_| record::invalid("amount", "请填写金额(整数,元)"))?;
            let quantity: f64 = match f.opt("quantity") {
                Some(q) => q
                    .parse()
                    .map_err(|_| record::invalid("quantity", "数量应为数字"))?,
                None => 1.0,
            };
            record::sale(
                store,
                &id,
                record::NewSale {
                    amount,
                    product: f.get("product").to_string(),
                    quantity,
                    day: parse(f, "day", "销售日期")?.unwrap_or_else(crate::clock::today),
                    due: parse(f, "due", "应付款日")?,
                },
            )?;
            Ok(String::new())
        },
    )
}

async fn sale_paid(
    State(app): State<Shared>,
    Path((id, key)): Path<(String, String)>,
    form: Posted,
) -> Response {
    save(
        &app,
        &id.clone(),
        "sale",
        form,
        "已登记付款",
        |store, _| {
            record::sale_paid(store, &id, &key, crate::clock::today())?;
            Ok(String::new())
        },
    )
}

async fn review(State(app): State<Shared>, Path(id): Path<String>, form: Posted) -> Response {
    save(
        &app,
        &id.clone(),
        "review",
        form,
        "已记录审查",
        |store, f| {
            record::review(store, &id, parse(f, "tier", "客户类别")?, f.get("notes"))?;
            Ok(String::new())
        },
    )
}

async fn flag(State(app): State<Shared>, Path(id): Path<String>, form: Posted) -> Response {
    save(
        &app,
        &id.clone(),
        "flag",
        form,
        "已登记重大变化",
        |store, f| {
            record::flag(store, &id, f.get("description"))?;
            Ok(String::new())
        },
    )
}

async fn clear_flag(
    State(app): State<Shared>,
    Path((id, key)): Path<(String, String)>,
    form: Posted,
) -> Response {
    save(
        &app,
        &id.clone(),
        "flag",
        form,
        "重大变化已标记为已处理",
        |store, _| {
            record::clear_flag(store, &id, &key)?;
            Ok(String::new())
        },
    )
}

async fn resolve(State(app): State<Shared>, Path(id): Path<String>, form: Posted) -> Response {
    save(
        &app,
        &id.clone(),
        "resolve",
        form,
        "已解决冲突",
        |store, f| {
            let reason = f.get("reason");
            if reason.is_empty() {
                return Err(record::invalid("reason", "请说明选定这个值的原因"));
            }
            let path = f.get("path");
            let conflict = store
                .conflicts(&id)?
                .into_iter()
                .find(|k| k.path == path)
                .ok_or_else(|| record::invalid("path", "这处冲突已经解决(可能已在别处选定)"))?;
            let choice: usize = f
                .get("choice")
                .parse()
                .map_err(|_| record::invalid("choice", "请选定一个值"))?;
            let value = conflict
                .values
                .get(choice)
                .ok_or_else(|| record::invalid("choice", "请选定一个值"))?;
            store.resolve_conflict(&id, path, &value.value, reason)?;
            Ok(String::new())
        },
    )
}

async fn history(State(app): State<Shared>, Path(id): Path<String>) -> Response {
    let inner = || -> Result<Response> {
        let store = open(&app)?;
        let card = store.get(&id)?;
        let entries = store.history(&id)?;
        let me = store.profile().clone();
        let names = move |login: &str| (login == me.user).then(|| me.display_name.clone());
        let stories = crm_shared::story::tell_all(&entries, &card, &names);
        let body = html! {
            p { a href={ "/customers/" (id) } { "← " (card.name) } }
            p.muted { "共 " (stories.len()) " 次修改,最新的在前。" }
            (crm_web::parts::history(&stories, 5))
        };
        Ok(page(
            &app,
            &store,
            "customers",
            &format!("修改历史:{}", card.name),
            body,
        )
        .into_response())
    };
    inner().unwrap_or_else(|e| failure(&e))
}
