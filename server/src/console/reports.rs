//! Report pages: the grade summary table (with head office's grading run),
//! warnings, follow-ups due by salesperson, the daily activity report and
//! monthly complaint statistics. Each comes from `crate::rules`, which also
//! decides whose customers the signed-in person may see.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;

use crm_shared::codes::{Grade, WarningRule};
use crm_shared::day::Day;

use super::layout::{csrf, flash, page, when, yuan};
use super::people::People;
use super::{done, ConsoleError, Fields, InLang, SignedIn};
use crate::error::AppError;
use crate::rules;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/grades", get(grades))
        .route("/grades/confirm", get(confirm))
        .route("/grades/apply", post(apply))
        .route("/warnings", get(warnings))
        .route("/followups", get(followups))
        .route("/daily", get(daily))
        .route("/complaints", get(complaints))
}

#[derive(Debug, Default, Deserialize)]
struct Q {
    #[serde(default)]
    salesperson: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    done: String,
    /// Page of a paginated report, from 0.
    #[serde(default)]
    page: usize,
    /// 预警: only this rule (its code).
    #[serde(default)]
    rule: String,
    /// 等级汇总: only customers the score puts in this grade (its code).
    #[serde(default)]
    grade: String,
}

/// Rows per page of the follow-up, warning and grade reports.
const REPORT_PAGE: usize = 100;
/// The furthest a page may start (SQLite's OFFSET is an i64).
const MAX_OFFSET: usize = 1_000_000_000;

impl Q {
    fn salesperson(&self) -> Option<String> {
        Some(self.salesperson.trim().to_string()).filter(|s| !s.is_empty())
    }

    /// This report's address on `path` at `page`, keeping its filters,
    /// with `set` (a filter and its value, "" for none) changed.
    fn href(&self, path: &str, page: usize, set: Option<(&str, &str)>) -> String {
        let mut u = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("salesperson", self.salesperson.trim()),
            ("day", self.day.trim()),
            ("rule", self.rule.trim()),
            ("grade", self.grade.trim()),
        ] {
            let v = match set {
                Some((key, value)) if key == k => value,
                _ => v,
            };
            if !v.is_empty() {
                u.append_pair(k, v);
            }
        }
        if page > 0 {
            u.append_pair("page", &page.to_string());
        }
        format!("{path}?{}", u.finish())
    }

    /// Where page `self.page` of `total` rows starts, or a refusal for a
    /// page no report could reach.
    fn offset(&self, l: super::Lang) -> Result<usize, ConsoleError> {
        self.page
            .checked_mul(REPORT_PAGE)
            .filter(|o| *o <= MAX_OFFSET)
            .ok_or_else(|| ConsoleError(AppError::BadRequest("页码太大".into()), l))
    }

    fn day(&self, s: &SignedIn) -> Result<Day, ConsoleError> {
        match self.day.trim() {
            "" => Ok(Day::from_millis_local(crate::clock::now_ms())),
            d => d.parse().map_err(|e: crm_shared::day::BadDay| {
                ConsoleError(AppError::BadRequest(e.to_string()), s.lang)
            }),
        }
    }
}

fn filter_form(
    s: &SignedIn,
    people: &People,
    action: &str,
    q: &Q,
    with_day: bool,
    day: Day,
) -> Markup {
    let l = s.lang;
    let current = q.salesperson.trim();
    html! {
        form.filters method="get" action=(action) {
            @if s.role != crm_shared::codes::Role::Salesperson {
                label { (l.t("业务员", "Salesperson"))
                    select name="salesperson" {
                        option value="" { (l.t("全部", "All")) }
                        @for (login, name) in people.salespeople() {
                            option value=(login) selected[login == current] { (name) }
                        }
                        // A login given in the address that is no salesperson's
                        // stays chosen, so the page says what it filtered by.
                        @if !current.is_empty() && !people.salespeople().iter().any(|(x, _)| x == current) {
                            option value=(current) selected { (people.name(current)) }
                        }
                    }
                }
            }
            @if with_day { label { (l.t("日期", "Day")) input name="day" type="date" value=(day.to_string()); } }
            button type="submit" { (l.t("查询", "Show")) }
        }
    }
}

/// Previous / next links around "共 N 条,第 x / y 页" for a report of
/// `total` rows on `path`, with the count in an element of id `id`.
fn pager(l: super::Lang, q: &Q, path: &str, total: usize, what: &str, id: &str) -> Markup {
    let pages = total.div_ceil(REPORT_PAGE).max(1);
    html! {
        div.pager {
            @if q.page > 0 { a href=(q.href(path, q.page - 1, None)) { (l.t("上一页", "Previous")) } }
            span.muted id=(id) {
                (l.t("共 ", "")) (total) " " (what) (l.t(",第 ", ", page ")) (q.page + 1) " / " (pages) (l.t(" 页", ""))
            }
            @if q.page + 1 < pages { a href=(q.href(path, q.page + 1, None)) { (l.t("下一页", "Next")) } }
        }
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}%")).unwrap_or_default()
}

async fn grades(
    s: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<Q>,
) -> Result<Markup, ConsoleError> {
    let l = s.lang;
    let day = q.day(&s)?;
    let offset = q.offset(l)?;
    let grade =
        super::optional::<Grade>(&q.grade).map_err(|e| ConsoleError(AppError::BadRequest(e), l))?;
    let all = rules::grade_table(&state.db, s.caller(), q.salesperson(), day)
        .await
        .lang(l)?;
    let people = People::load(&state).await.lang(l)?;
    let ok =
        (q.done == "apply").then(|| l.t("已按评分规则更新等级", "Grades updated from the scores"));
    let per_grade: Vec<(Grade, usize)> = Grade::ALL
        .iter()
        .map(|g| (*g, all.iter().filter(|r| r.grade == Some(*g)).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let rows: Vec<(usize, _)> = all
        .iter()
        .enumerate()
        .filter(|(_, r)| grade.is_none_or(|g| r.grade == Some(g)))
        .collect();
    let path = "/console/grades";
    Ok(page(
        &s,
        "grades",
        l.t("客户等级管理汇总表", "Grade summary table"),
        html! {
            (flash(ok))
            (filter_form(&s, &people, "/console/grades", &q, true, day))
            p {
                a href="/console/export/grades.xlsx" { (l.t("导出 Excel", "Export .xlsx")) } " · " a href="/console/export/grades.csv" { "CSV" }
            }
            @if s.head_office() {
                form method="get" action="/console/grades/confirm" {
                    input type="hidden" name="day" value=(day.to_string());
                    button type="submit" { (l.t("按评分更新档案等级…", "Write assessed grades to the cards…")) }
                }
            }
            p #by-grade { (l.t("按评定等级:", "By assessed grade: "))
                a href=(q.href(path, 0, Some(("grade", "")))) { (l.t("全部", "All")) " (" (all.len()) ")" }
                @for (g, n) in &per_grade {
                    " · "
                    @if grade == Some(*g) { strong { (g.label()) " (" (n) ")" } }
                    @else { a href=(q.href(path, 0, Some(("grade", g.code())))) { (g.label()) " (" (n) ")" } }
                }
            }
            table #grades {
                thead { tr {
                    th { "No" } th { (l.t("客户名称", "Customer")) } th { (l.t("业务员", "Salesperson")) }
                    th { (l.t("客户等级评分", "Score")) } th { (l.t("等级系数", "Coefficient")) } th { (l.t("月均销售额(元)", "Monthly avg. sales")) }
                    th { (l.t("信用履约率", "On-time rate")) } th { (l.t("客户等级", "Grade")) } th { (l.t("信用额度(元)", "Credit limit")) } th { (l.t("备注", "Remarks")) }
                } }
                tbody { @for (i, r) in rows.iter().skip(offset).take(REPORT_PAGE) { tr {
                    td { (i + 1) } td { a href={ "/console/customers/" (r.id) } { (r.name) } } td { (people.name(&r.salesperson)) }
                    td.num { @if let Some(x) = r.score { (x) } } td.num { @if let Some(x) = r.coefficient { (x) } }
                    td.num { (yuan(r.monthly_average.map(|x| x.round() as i64))) } td.num { (pct(r.on_time_rate)) }
                    td { @if let Some(g) = r.grade { (g.label()) } } td.num { (yuan(r.credit_limit)) } td { (r.remarks) }
                } } }
            }
            (pager(l, &q, path, rows.len(), l.t("位客户", "customers"), "grade-count"))
        },
    ))
}

/// What the grading run would change, before anything is written: every
/// card whose grade the score moves, over all of head office's customers,
/// and one button that writes it.
async fn confirm(
    s: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<Q>,
) -> Result<Markup, ConsoleError> {
    let l = s.lang;
    if !s.head_office() {
        return Err(ConsoleError(
            AppError::Forbidden("只有档案管理员或经理可以评定等级".into()),
            l,
        ));
    }
    let day = q.day(&s)?;
    let rows = rules::grade_table(&state.db, s.caller(), None, day)
        .await
        .lang(l)?;
    let people = People::load(&state).await.lang(l)?;
    let moved: Vec<_> = rows
        .iter()
        .filter(|r| r.grade.is_some() && r.grade != r.card_grade)
        .collect();
    let assessed = rows.iter().filter(|r| r.grade.is_some()).count();
    Ok(page(
        &s,
        "grades",
        l.t("按评分更新档案等级:确认", "Write assessed grades: confirm"),
        html! {
            p {
                (l.t("评定日期 ", "As of ")) (day.to_string()) (l.t(":", ": "))
                (l.t("共 ", "")) (assessed) (l.t(" 位客户有评分,其中 ", " customers scored; ")) strong { (moved.len()) }
                (l.t(" 位的档案等级将改变(如下);评分也写入档案。每项修改记入修改历史。", " change grade (below); scores are written too. Each change is kept in the history."))
            }
            @if moved.is_empty() {
                p.muted { (l.t("没有客户的等级会改变。", "No grade changes.")) }
            } @else {
                table #grade-changes {
                    thead { tr {
                        th { (l.t("客户名称", "Customer")) } th { (l.t("业务员", "Salesperson")) }
                        th { (l.t("现等级", "Grade now")) } th { (l.t("按评分", "Assessed")) } th.num { (l.t("评分", "Score")) }
                    } }
                    tbody { @for r in &moved { tr {
                        td { a href={ "/console/customers/" (r.id) } { (r.name) } } td { (people.name(&r.salesperson)) }
                        td { @match r.card_grade { Some(g) => (g.label()), None => (l.t("未定级", "none")) } }
                        td { @if let Some(g) = r.grade { strong { (g.label()) } } }
                        td.num { @if let Some(x) = r.score { (x) } }
                    } } }
                }
            }
            form method="post" action="/console/grades/apply" {
                (csrf(&s))
                input type="hidden" name="day" value=(day.to_string());
                button type="submit" { (l.t("确认更新", "Write them")) }
                " " a href={ "/console/grades?day=" (day.to_string()) } { (l.t("取消", "Cancel")) }
            }
        },
    ))
}

async fn apply(
    s: SignedIn,
    State(state): State<AppState>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let q = Q {
        day: f.text("day"),
        ..Default::default()
    };
    let day = q.day(&s)?;
    rules::apply_grades(&state.db, s.caller(), day, crate::clock::now_ms())
        .await
        .lang(s.lang)?;
    Ok(done("/console/grades?done=apply"))
}

async fn warnings(
    s: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<Q>,
) -> Result<Markup, ConsoleError> {
    let l = s.lang;
    let day = q.day(&s)?;
    let offset = q.offset(l)?;
    let rule = super::optional::<WarningRule>(&q.rule)
        .map_err(|e| ConsoleError(AppError::BadRequest(e), l))?;
    let all = rules::warnings(&state.db, s.caller(), q.salesperson(), day)
        .await
        .lang(l)?;
    let people = People::load(&state).await.lang(l)?;
    let per_rule: Vec<(WarningRule, usize)> = WarningRule::ALL
        .iter()
        .map(|r| (*r, all.iter().filter(|w| w.rule == *r).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let rows: Vec<_> = all
        .iter()
        .filter(|w| rule.is_none_or(|r| w.rule == r))
        .collect();
    let path = "/console/warnings";
    Ok(page(
        &s,
        "warnings",
        l.t("预警", "Early warnings"),
        html! {
            (filter_form(&s, &people, path, &q, true, day))
            p #by-rule { (l.t("按规则:", "By rule: "))
                a href=(q.href(path, 0, Some(("rule", "")))) { (l.t("全部", "All")) " (" (all.len()) ")" }
                @for (r, n) in &per_rule {
                    " · "
                    @if rule == Some(*r) { strong { (r.label()) " (" (n) ")" } }
                    @else { a href=(q.href(path, 0, Some(("rule", r.code())))) { (r.label()) " (" (n) ")" } }
                }
            }
            p { a href="/console/export/warnings.xlsx" { (l.t("导出 Excel", "Export .xlsx")) } " · " a href="/console/export/warnings.csv" { "CSV" } }
            table.cards #warnings {
                thead { tr { th { (l.t("客户", "Customer")) } th { (l.t("业务员", "Salesperson")) } th { (l.t("规则", "Rule")) } th { (l.t("指标", "Figure")) } } }
                tbody { @for w in rows.iter().skip(offset).take(REPORT_PAGE) { tr {
                    td.title { a href={ "/console/customers/" (w.customer) } { (w.name) } }
                    td data-label=(l.t("业务员", "Salesperson")) { (people.name(&w.salesperson)) }
                    td data-label=(l.t("规则", "Rule")) { span.tag.bad { (w.rule.label()) } }
                    td data-label=(l.t("指标", "Figure")) { (w.figure) }
                } } }
            }
            @if rows.is_empty() { p.muted { (l.t("没有预警", "No warnings")) } }
            (pager(l, &q, path, rows.len(), l.t("条预警", "warnings"), "warning-count"))
        },
    ))
}

async fn followups(
    s: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<Q>,
) -> Result<Markup, ConsoleError> {
    let l = s.lang;
    let day = q.day(&s)?;
    let offset = q.offset(l)?;
    let due = rules::followups_page(
        &state.db,
        s.caller(),
        q.salesperson(),
        day,
        offset,
        REPORT_PAGE,
    )
    .await
    .lang(l)?;
    let people = People::load(&state).await.lang(l)?;
    Ok(page(
        &s,
        "followups",
        l.t("到期及逾期跟进", "Follow-ups due and overdue"),
        html! {
            (filter_form(&s, &people, "/console/followups", &q, true, day))
            @if due.by_salesperson.len() > 1 {
                p #by-salesperson { (l.t("按业务员:", "By salesperson: "))
                    @for (i, (who, n)) in due.by_salesperson.iter().enumerate() {
                        @if i > 0 { " · " }
                        a href=(q.href("/console/followups", 0, Some(("salesperson", who.as_str())))) { (people.name(who)) } " (" (n) ")"
                    }
                }
            }
            @if due.rows.is_empty() { p.muted { (l.t("没有到期的跟进", "Nothing due")) } } @else {
                table.cards #followups { thead { tr {
                        th { (l.t("客户", "Customer")) } th { (l.t("业务员", "Salesperson")) } th { (l.t("计划日期", "Planned")) }
                        th { (l.t("逾期天数", "Days overdue")) } th { (l.t("意向等级", "Intent")) } th { (l.t("联系人", "Contact")) } th { (l.t("电话", "Phone")) }
                    } }
                    tbody { @for (who, p) in &due.rows { tr {
                        td.title { a href={ "/console/customers/" (p.customer) } { (p.name) } }
                        td data-label=(l.t("业务员", "Salesperson")) { (people.name(who)) }
                        td data-label=(l.t("计划日期", "Planned")) { (p.day.to_string()) }
                        td.num data-label=(l.t("逾期天数", "Days overdue")) { @if p.overdue_days > 0 { span.tag.bad { (p.overdue_days) } } @else { "0" } }
                        td data-label=(l.t("意向等级", "Intent")) { @if let Some(i) = p.intent { (i.label()) } }
                        td data-label=(l.t("联系人", "Contact")) { (p.contact.clone().unwrap_or_default()) }
                        td data-label=(l.t("电话", "Phone")) { @if let Some(ph) = &p.phone { a href={ "tel:" (ph) } { (ph) } } }
                    } } } }
            }
            (pager(l, &q, "/console/followups", due.total as usize, l.t("位客户到期或逾期", "customers due or overdue"), "followup-count"))
        },
    ))
}

async fn daily(
    s: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<Q>,
) -> Result<Markup, ConsoleError> {
    let l = s.lang;
    let day = q.day(&s)?;
    let title = l.t("销售活动日报表", "Daily activity report");
    // The report is one salesperson's day: head office picks whose, rather
    // than being shown its own (empty) day.
    let who = match (q.salesperson(), s.head_office()) {
        (Some(w), _) => w,
        (None, false) => s.login.clone(),
        (None, true) => {
            let people = People::load(&state).await.lang(l)?;
            let people = people.salespeople();
            return Ok(page(
                &s,
                "daily",
                title,
                html! {
                    (daily_picker(&s, people, "", day))
                    p.muted #pick { (l.t("请选择业务员:", "Choose a salesperson: ")) }
                    ul #salespeople { @for (login, name) in people.iter() {
                        li { a href={ "/console/daily?salesperson=" (login) "&day=" (day.to_string()) } { (name) } }
                    } }
                    @if people.is_empty() { p.muted { (l.t("还没有业务员账号", "No salesperson accounts yet")) } }
                },
            ));
        }
    };
    let r = rules::daily(&state.db, s.caller(), Some(who.clone()), day)
        .await
        .lang(l)?;
    let people = People::load(&state).await.lang(l)?;
    let picker = if s.head_office() {
        daily_picker(&s, people.salespeople(), &who, day)
    } else {
        filter_form(&s, &people, "/console/daily", &Q::default(), true, day)
    };
    Ok(page(
        &s,
        "daily",
        title,
        html! {
            (picker)
            p { b { (people.name(&who)) } " · " (day.to_string()) " · "
                (l.t("新客户 ", "new customers ")) (r.new_customers) " · "
                (l.t("销售额 ", "sales ")) (yuan(Some(r.sales_amount))) (l.t(" 元", " yuan")) " · "
                (l.t("投诉 ", "complaints ")) (r.complaints) }
            p { @for (k, n) in &r.by_kind { span.tag { (k) " " (n) } " " } }
            h2 { (l.t("当日工作", "The day's work")) }
            table #daily {
                thead { tr { th { (l.t("时间", "When")) } th { (l.t("客户", "Customer")) } th { (l.t("类型", "Kind")) } th { (l.t("内容", "Notes")) } th { (l.t("意向", "Intent")) } th { (l.t("下次跟进", "Next")) } } }
                tbody { @for a in &r.activities { tr {
                    td { (when(Some(a.at))) } td { a href={ "/console/customers/" (a.customer) } { (a.name) } } td { (a.kind.label()) } td { (a.notes) }
                    td { @if let Some(i) = a.intent { (i.label()) } } td { @if let Some(n) = a.next_followup { (n.to_string()) } }
                } } }
            }
            h2 { (l.t("明日工作计划", "Tomorrow's plan")) }
            ul { @for p in &r.tomorrow { li { a href={ "/console/customers/" (p.customer) } { (p.name) } @if let Some(i) = p.intent { " (" (i.label()) ")" } } } }
            @if r.tomorrow.is_empty() { p.muted { (l.t("无", "None")) } }
        },
    ))
}

fn daily_picker(s: &SignedIn, people: &[(String, String)], current: &str, day: Day) -> Markup {
    let l = s.lang;
    html! {
        form.filters method="get" action="/console/daily" {
            label { (l.t("业务员", "Salesperson"))
                select name="salesperson" {
                    option value="" { "—" }
                    @for (login, name) in people {
                        option value=(login) selected[login == current] { (name) }
                    }
                }
            }
            label { (l.t("日期", "Day")) input name="day" type="date" value=(day.to_string()); }
            button type="submit" { (l.t("查询", "Show")) }
        }
    }
}

async fn complaints(
    s: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<Q>,
) -> Result<Markup, ConsoleError> {
    let l = s.lang;
    let rows = rules::complaint_stats(&state.db, s.caller(), q.salesperson())
        .await
        .lang(l)?;
    let people = People::load(&state).await.lang(l)?;
    Ok(page(
        &s,
        "complaints",
        l.t("月度客诉统计", "Monthly complaint statistics"),
        html! {
            (filter_form(&s, &people, "/console/complaints", &q, false, Day::from_millis_local(0)))
            p { a href="/console/export/complaints.xlsx" { (l.t("导出 Excel", "Export .xlsx")) } " · " a href="/console/export/complaints.csv" { "CSV" } }
            table #complaints {
                thead { tr { th { (l.t("月份", "Month")) } th { (l.t("投诉总数", "Total")) } th { (l.t("质量问题", "Quality")) } th { (l.t("非质量问题", "Non-quality")) }
                    th { (l.t("未判定", "Unclassified")) } th { (l.t("客户满意", "Satisfied")) } th { (l.t("客户不满意", "Not satisfied")) } th { (l.t("处理中", "Open")) } } }
                tbody { @for m in &rows { tr {
                    td { (m.month) } td.num { (m.total) } td.num { (m.quality) } td.num { (m.non_quality) }
                    td.num { (m.unclassified) } td.num { (m.satisfied) } td.num { (m.unsatisfied) } td.num { (m.open) }
                } } }
            }
        },
    ))
}
