//! Report pages: the grade summary table (with head office's grading run),
//! warnings, follow-ups due by salesperson, the daily activity report and
//! monthly complaint statistics. Each comes from `crate::rules`, which also
//! decides whose customers the signed-in person may see.

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;

use crm_shared::codes::{Grade, WarningRule};
use crm_shared::day::Day;

use super::layout::{csrf, flash, page, when, yuan};
use super::people::People;
use super::{done, ConsoleError, Fields, Query, SignedIn};
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
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Q {
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
    /// 预警, 等级汇总: only customers of this region.
    #[serde(default)]
    region: String,
}

/// Rows per page of the follow-up, warning and grade reports.
const REPORT_PAGE: usize = 100;
/// The furthest a page may start (SQLite's OFFSET is an i64).
const MAX_OFFSET: usize = 1_000_000_000;

impl Q {
    fn salesperson(&self) -> Option<String> {
        Some(self.salesperson.trim().to_string()).filter(|s| !s.is_empty())
    }

    fn region(&self) -> Option<String> {
        Some(self.region.trim().to_string()).filter(|s| !s.is_empty())
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
            ("region", self.region.trim()),
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

    /// The export `file` (e.g. `grades.xlsx`) of this report as filtered:
    /// of page `page` only, or of every row.
    fn export_href(&self, file: &str, page: Option<usize>) -> String {
        let all = self.href(&format!("/console/export/{file}"), 0, None);
        match page {
            None => all.trim_end_matches('?').to_string(),
            Some(p) if all.ends_with('?') => format!("{all}page={p}"),
            Some(p) => format!("{all}&page={p}"),
        }
    }

    /// The rows of report kind `K` (its code in `kind`) this address asks
    /// for: page `page` of them, or every row.
    fn query<K: std::str::FromStr<Err = crm_shared::codes::UnknownCode>>(
        &self,
        kind: &str,
        page: Option<usize>,
    ) -> Result<rules::ReportQuery<K>, ConsoleError> {
        let kind = super::optional::<K>(kind).map_err(|e| ConsoleError(AppError::BadRequest(e)))?;
        let (offset, limit) = self.window(page)?;
        Ok(rules::ReportQuery {
            salesperson: self.salesperson(),
            region: self.region(),
            kind,
            day: self.day()?,
            offset,
            limit,
        })
    }

    /// The due and overdue follow-ups this address asks for: page `page`
    /// of them, or every one.
    pub(super) fn followups(
        &self,
        page: Option<usize>,
    ) -> Result<rules::ReportQuery<()>, ConsoleError> {
        let (offset, limit) = self.window(page)?;
        Ok(rules::ReportQuery {
            salesperson: self.salesperson(),
            region: None,
            kind: None,
            day: self.day()?,
            offset,
            limit,
        })
    }

    /// Rows to skip and to show for page `page`, or for every row; a
    /// refusal for a page no report could reach.
    fn window(&self, page: Option<usize>) -> Result<(usize, Option<usize>), ConsoleError> {
        let Some(p) = page else {
            return Ok((0, None));
        };
        let offset = p
            .checked_mul(REPORT_PAGE)
            .filter(|o| *o <= MAX_OFFSET)
            .ok_or_else(|| ConsoleError(AppError::BadRequest("页码太大".into())))?;
        Ok((offset, Some(REPORT_PAGE)))
    }

    /// The grade table's rows this address asks for (see [`Q::query`]).
    pub(super) fn grades(
        &self,
        page: Option<usize>,
    ) -> Result<rules::ReportQuery<Grade>, ConsoleError> {
        self.query(&self.grade, page)
    }

    /// The warnings this address asks for (see [`Q::query`]).
    pub(super) fn warnings(
        &self,
        page: Option<usize>,
    ) -> Result<rules::ReportQuery<WarningRule>, ConsoleError> {
        self.query(&self.rule, page)
    }

    fn day(&self) -> Result<Day, ConsoleError> {
        match self.day.trim() {
            "" => Ok(Day::from_millis_local(crate::clock::now_ms())),
            d => d.parse().map_err(|e: crm_shared::day::BadDay| {
                ConsoleError(AppError::BadRequest(e.to_string()))
            }),
        }
    }
}

/// A report's exports, as filtered: of the page shown, and of every row.
fn export_links(q: &Q, stem: &str) -> Markup {
    let file = |ext: &str| format!("{stem}.{ext}");
    html! {
        p.exports {
            ("导出本页:")
            a href=(q.export_href(&file("xlsx"), Some(q.page))) { ("Excel") } " · "
            a href=(q.export_href(&file("csv"), Some(q.page))) { ("CSV") }
            ("  导出全部(按当前筛选):")
            a href=(q.export_href(&file("xlsx"), None)) { ("Excel") } " · "
            a href=(q.export_href(&file("csv"), None)) { ("CSV") }
        }
    }
}

/// The regions on file (a salesperson: among their own customers), for
/// the reports that filter by region.
async fn regions(s: &SignedIn, state: &AppState) -> Result<Vec<String>, ConsoleError> {
    let own = (!crm_shared::access::sees_all(s.role)).then(|| s.login.clone());
    let (regions, _) = state
        .db
        .read_with(move |conn| {
            Ok::<_, crate::db::DbError>(crate::db::documents::facets(conn, own.as_deref())?)
        })
        .await?;
    Ok(regions)
}

/// The report's filters; `regions` empty: no region filter.
#[allow(clippy::too_many_arguments)]
fn filter_form(
    s: &SignedIn,
    people: &People,
    action: &str,
    q: &Q,
    with_day: bool,
    day: Day,
    regions: &[String],
) -> Markup {
    let current = q.salesperson.trim();
    let region = q.region.trim();
    html! {
        form.filters method="get" action=(action) {
            @if s.role != crm_shared::codes::Role::Salesperson {
                label { ("业务员")
                    select name="salesperson" {
                        option value="" { ("全部") }
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
            @if !regions.is_empty() {
                label { ("区域")
                    select name="region" {
                        option value="" { ("全部") }
                        @for r in regions { option value=(r) selected[r == region] { (r) } }
                        @if !region.is_empty() && !regions.iter().any(|r| r == region) {
                            option value=(region) selected { (region) }
                        }
                    }
                }
            }
            // The rule or grade chosen below the form stays chosen.
            @if !q.rule.trim().is_empty() { input type="hidden" name="rule" value=(q.rule.trim()); }
            @if !q.grade.trim().is_empty() { input type="hidden" name="grade" value=(q.grade.trim()); }
            @if with_day { label { ("日期") input name="day" type="date" value=(day.to_string()); } }
            button type="submit" { ("查询") }
        }
    }
}

/// Previous / next links around "共 N 条,第 x / y 页" for a report of
/// `total` rows on `path`, with the count in an element of id `id`.
fn pager(q: &Q, path: &str, total: usize, what: &str, id: &str) -> Markup {
    let pages = total.div_ceil(REPORT_PAGE).max(1);
    html! {
        div.pager {
            @if q.page > 0 { a href=(q.href(path, q.page - 1, None)) { ("上一页") } }
            span.muted id=(id) {
                ("共 ") (total) " " (what) (",第 ") (q.page + 1) " / " (pages) (" 页")
            }
            @if q.page + 1 < pages { a href=(q.href(path, q.page + 1, None)) { ("下一页") } }
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
    let query = q.grades(Some(q.page))?;
    let (day, offset, grade) = (query.day, query.offset, query.kind);
    let found = rules::grade_page(&state.db, s.caller(), query).await?;
    let people = People::load(&state).await?;
    let regions = regions(&s, &state).await?;
    let ok = (q.done == "apply").then_some("已按评分规则更新等级");
    let per_grade: Vec<(Grade, u64)> = found
        .per_kind
        .iter()
        .filter_map(|(g, n)| g.map(|g| (g, *n)))
        .collect();
    let shown = found.total(grade.as_ref()) as usize;
    let path = "/console/grades";
    Ok(page(
        &s,
        "grades",
        "客户等级管理汇总表",
        html! {
            (flash(ok))
            (filter_form(&s, &people, "/console/grades", &q, true, day, &regions))
            (export_links(&q, "grades"))
            @if s.head_office() {
                form method="get" action="/console/grades/confirm" {
                    input type="hidden" name="day" value=(day.to_string());
                    button type="submit" { ("按评分更新档案等级…") }
                }
            }
            p #by-grade { ("按评定等级:")
                a href=(q.href(path, 0, Some(("grade", "")))) { ("全部") " (" (found.total(None)) ")" }
                @for (g, n) in &per_grade {
                    " · "
                    @if grade == Some(*g) { strong { (g.label()) " (" (n) ")" } }
                    @else { a href=(q.href(path, 0, Some(("grade", g.code())))) { (g.label()) " (" (n) ")" } }
                }
            }
            table.cards #grades {
                thead { tr {
                    th { "No" } th { ("客户名称") } th { ("业务员") }
                    th { ("客户等级评分") } th { ("等级系数") } th { ("月均销售额(元)") }
                    th { ("信用履约率") } th { ("客户等级") } th { ("信用额度(元)") } th { ("备注") }
                } }
                tbody { @for (i, r) in found.rows.iter().enumerate() { tr {
                    td data-label="No" { (offset + i + 1) }
                    td.title { a href={ "/console/customers/" (r.id) } { (r.name) } }
                    td data-label=("业务员") { (people.name(&r.salesperson)) }
                    td.num data-label=("客户等级评分") { @if let Some(x) = r.score { (x) } }
                    td.num data-label=("等级系数") { @if let Some(x) = r.coefficient { (x) } }
                    td.num data-label=("月均销售额(元)") { (yuan(r.monthly_average.map(|x| x.round() as i64))) }
                    td.num data-label=("信用履约率") { (pct(r.on_time_rate)) }
                    td data-label=("客户等级") { @if let Some(g) = r.grade { (g.label()) } }
                    td.num data-label=("信用额度(元)") { (yuan(r.credit_limit)) }
                    td data-label=("备注") { (r.remarks) }
                } } }
            }
            (pager(&q, path, shown, "位客户", "grade-count"))
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
    if !s.head_office() {
        return Err(ConsoleError(AppError::Forbidden(
            "只有档案管理员或经理可以评定等级".into(),
        )));
    }
    let day = q.day()?;
    let query = rules::ReportQuery::everything(None, day);
    let rows = rules::grade_page(&state.db, s.caller(), query).await?.rows;
    let people = People::load(&state).await?;
    let moved: Vec<_> = rows
        .iter()
        .filter(|r| r.grade.is_some() && r.grade != r.card_grade)
        .collect();
    let assessed = rows.iter().filter(|r| r.grade.is_some()).count();
    Ok(page(
        &s,
        "grades",
        "按评分更新档案等级:确认",
        html! {
            p {
                ("评定日期 ") (day.to_string()) (":")
                ("共 ") (assessed) (" 位客户有评分,其中 ") strong { (moved.len()) }
                (" 位的档案等级将改变(如下);评分也写入档案。每项修改记入修改历史。")
            }
            @if moved.is_empty() {
                p.muted { ("没有客户的等级会改变。") }
            } @else {
                table #grade-changes {
                    thead { tr {
                        th { ("客户名称") } th { ("业务员") }
                        th { ("现等级") } th { ("按评分") } th.num { ("评分") }
                    } }
                    tbody { @for r in &moved { tr {
                        td { a href={ "/console/customers/" (r.id) } { (r.name) } } td { (people.name(&r.salesperson)) }
                        td { @match r.card_grade { Some(g) => (g.label()), None => ("未定级") } }
                        td { @if let Some(g) = r.grade { strong { (g.label()) } } }
                        td.num { @if let Some(x) = r.score { (x) } }
                    } } }
                }
            }
            form method="post" action="/console/grades/apply" {
                (csrf(&s))
                input type="hidden" name="day" value=(day.to_string());
                button type="submit" { ("确认更新") }
                " " a href={ "/console/grades?day=" (day.to_string()) } { ("取消") }
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
    let day = q.day()?;
    rules::apply_grades(&state.db, s.caller(), day, crate::clock::now_ms()).await?;
    Ok(done("/console/grades?done=apply"))
}

async fn warnings(
    s: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<Q>,
) -> Result<Markup, ConsoleError> {
    let query = q.warnings(Some(q.page))?;
    let (day, rule) = (query.day, query.kind);
    let found = rules::warning_page(&state.db, s.caller(), query).await?;
    let people = People::load(&state).await?;
    let regions = regions(&s, &state).await?;
    // In the rules' own order, not their codes'.
    let per_rule: Vec<(WarningRule, u64)> = WarningRule::ALL
        .iter()
        .filter_map(|r| {
            let n = found.total(Some(r));
            (n > 0).then_some((*r, n))
        })
        .collect();
    let shown = found.total(rule.as_ref()) as usize;
    let path = "/console/warnings";
    Ok(page(
        &s,
        "warnings",
        "预警",
        html! {
            (filter_form(&s, &people, path, &q, true, day, &regions))
            p #by-rule { ("按规则:")
                a href=(q.href(path, 0, Some(("rule", "")))) { ("全部") " (" (found.total(None)) ")" }
                @for (r, n) in &per_rule {
                    " · "
                    @if rule == Some(*r) { strong { (r.label()) " (" (n) ")" } }
                    @else { a href=(q.href(path, 0, Some(("rule", r.code())))) { (r.label()) " (" (n) ")" } }
                }
            }
            (export_links(&q, "warnings"))
            table.cards #warnings {
                thead { tr { th { ("客户") } th { ("业务员") } th { ("规则") } th { ("指标") } } }
                tbody { @for w in &found.rows { tr {
                    td.title { a href={ "/console/customers/" (w.customer) } { (w.name) } }
                    td data-label=("业务员") { (people.name(&w.salesperson)) }
                    td data-label=("规则") { span.tag.bad { (w.rule.label()) } }
                    td data-label=("指标") { (w.figure) }
                } } }
            }
            @if found.rows.is_empty() { p.muted { ("没有预警") } }
            (pager(&q, path, shown, "条预警", "warning-count"))
        },
    ))
}

async fn followups(
    s: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<Q>,
) -> Result<Markup, ConsoleError> {
    let query = q.followups(Some(q.page))?;
    let day = query.day;
    let due = rules::followups_page(&state.db, s.caller(), query).await?;
    let people = People::load(&state).await?;
    Ok(page(
        &s,
        "followups",
        "到期及逾期跟进",
        html! {
            (filter_form(&s, &people, "/console/followups", &q, true, day, &[]))
            (export_links(&q, "followups"))
            @if due.by_salesperson.len() > 1 {
                p #by-salesperson { ("按业务员:")
                    @for (i, (who, n)) in due.by_salesperson.iter().enumerate() {
                        @if i > 0 { " · " }
                        a href=(q.href("/console/followups", 0, Some(("salesperson", who.as_str())))) { (people.name(who)) } " (" (n) ")"
                    }
                }
            }
            @if due.rows.is_empty() { p.muted { ("没有到期的跟进") } } @else {
                table.cards #followups { thead { tr {
                        th { ("客户") } th { ("业务员") } th { ("计划日期") }
                        th { ("逾期天数") } th { ("意向等级") } th { ("联系人") } th { ("电话") }
                    } }
                    tbody { @for (who, p) in &due.rows { tr {
                        td.title { a href={ "/console/customers/" (p.customer) } { (p.name) } }
                        td data-label=("业务员") { (people.name(who)) }
                        td data-label=("计划日期") { (p.day.to_string()) }
                        td.num data-label=("逾期天数") { @if p.overdue_days > 0 { span.tag.bad { (p.overdue_days) } } @else { "0" } }
                        td data-label=("意向等级") { @if let Some(i) = p.intent { (i.label()) } }
                        td data-label=("联系人") { (p.contact.clone().unwrap_or_default()) }
                        td data-label=("电话") { @if let Some(ph) = &p.phone { a href={ "tel:" (ph) } { (ph) } } }
                    } } } }
            }
            (pager(&q, "/console/followups", due.total as usize, "位客户到期或逾期", "followup-count"))
        },
    ))
}

async fn daily(
    s: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<Q>,
) -> Result<Markup, ConsoleError> {
    let day = q.day()?;
    let title = "销售活动日报表";
    // The report is one salesperson's day: head office picks whose, rather
    // than being shown its own (empty) day.
    let who = match (q.salesperson(), s.head_office()) {
        (Some(w), _) => w,
        (None, false) => s.login.clone(),
        (None, true) => {
            let people = People::load(&state).await?;
            let people = people.salespeople();
            return Ok(page(
                &s,
                "daily",
                title,
                html! {
                    (daily_picker(people, "", day))
                    p.muted #pick { ("请选择业务员:") }
                    ul #salespeople { @for (login, name) in people.iter() {
                        li { a href={ "/console/daily?salesperson=" (login) "&day=" (day.to_string()) } { (name) } }
                    } }
                    @if people.is_empty() { p.muted { ("还没有业务员账号") } }
                },
            ));
        }
    };
    let r = rules::daily(&state.db, s.caller(), Some(who.clone()), day).await?;
    let people = People::load(&state).await?;
    let picker = if s.head_office() {
        daily_picker(people.salespeople(), &who, day)
    } else {
        filter_form(&s, &people, "/console/daily", &Q::default(), true, day, &[])
    };
    Ok(page(
        &s,
        "daily",
        title,
        html! {
            (picker)
            p { b { (people.name(&who)) } " · " (day.to_string()) " · "
                ("新客户 ") (r.new_customers) " · "
                ("销售额 ") (yuan(Some(r.sales_amount))) (" 元") " · "
                ("投诉 ") (r.complaints) }
            p { @for (k, n) in &r.by_kind { span.tag { (k) " " (n) } " " } }
            h2 { ("当日工作") }
            table #daily {
                thead { tr { th { ("时间") } th { ("客户") } th { ("类型") } th { ("内容") } th { ("意向") } th { ("下次跟进") } } }
                tbody { @for a in &r.activities { tr {
                    td { (when(Some(a.at))) } td { a href={ "/console/customers/" (a.customer) } { (a.name) } } td { (a.kind.label()) } td { (a.notes) }
                    td { @if let Some(i) = a.intent { (i.label()) } } td { @if let Some(n) = a.next_followup { (n.to_string()) } }
                } } }
            }
            h2 { ("明日工作计划") }
            ul { @for p in &r.tomorrow { li { a href={ "/console/customers/" (p.customer) } { (p.name) } @if let Some(i) = p.intent { " (" (i.label()) ")" } } } }
            @if r.tomorrow.is_empty() { p.muted { ("无") } }
        },
    ))
}

fn daily_picker(people: &[(String, String)], current: &str, day: Day) -> Markup {
    html! {
        form.filters method="get" action="/console/daily" {
            label { ("业务员")
                select name="salesperson" {
                    option value="" { "—" }
                    @for (login, name) in people {
                        option value=(login) selected[login == current] { (name) }
                    }
                }
            }
            label { ("日期") input name="day" type="date" value=(day.to_string()); }
            button type="submit" { ("查询") }
        }
    }
}
