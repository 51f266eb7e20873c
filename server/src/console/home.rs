//! 工作台, the page head office starts from: what needs attention today,
//! each count a link to the list behind it, and how the archive stands
//! (customers and credit by grade) as charts. Every figure comes from the
//! list rows and their indexes or from small tables, never from reading
//! the documents, so the page stays fast at any archive size.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use crm_shared::codes::{Grade, Role, WarningRule};
use crm_shared::day::Day;

use super::approvals::waiting_for;
use super::charts::{bars, weekly, Bar};
use super::layout::{page, yuan};
use super::people::People;
use super::{ConsoleError, SignedIn, CONSOLE_DEVICE};
use crate::archive;
use crate::db::documents::{self, Overview};
use crate::rules;
use crate::state::AppState;

/// A laptop not heard from for this many days is listed as needing a sync.
const STALE_DAYS: i64 = 7;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/home", get(home))
}

async fn home(s: SignedIn, State(state): State<AppState>) -> Result<Response, ConsoleError> {
    // Administrators and backup operators read no customers: their work
    // starts on their own pages.
    match s.role {
        Role::Admin => return Ok(Redirect::to("/console/security").into_response()),
        Role::BackupOperator => return Ok(Redirect::to("/console/backup").into_response()),
        _ => {}
    }
    let caller = s.caller();
    archive::may_read(&caller)?;
    let now = crate::clock::now_ms();
    let today = Day::from_millis_local(now);
    let mine = (!crm_shared::access::sees_all(s.role)).then(|| s.login.clone());
    let day = today.to_string();
    let figures: Overview = state
        .db
        .read_with(move |conn| {
            Ok::<_, crate::db::DbError>(documents::overview(conn, mine.as_deref(), &day)?)
        })
        .await?;
    // Only an approver has requests waiting: nobody else's page reads them.
    let waiting = if s.role == Role::Manager && s.position.is_some() {
        let requests = rules::credit_requests(&state.db, caller, None).await?;
        waiting_for(&s, &requests).len()
    } else {
        0
    };
    let stale = if s.head_office() {
        let devices = state.db.devices().await?;
        devices
            .iter()
            .filter(|d| d.revoked_at.is_none() && d.name != CONSOLE_DEVICE)
            .filter(|d| now - d.last_seen_at.unwrap_or(d.created_at) > STALE_DAYS * DAY_MS)
            .count()
    } else {
        0
    };
    // Counts only: the warning rows kept per customer, no card read.
    let warned = rules::warning_page(
        &state.db,
        s.caller(),
        rules::ReportQuery {
            salesperson: None,
            region: None,
            kind: None,
            day: today,
            offset: 0,
            limit: Some(0),
        },
    )
    .await?
    .per_kind;
    // The last twelve months that had complaints, from the complaint rows.
    let mut complaints = rules::complaint_stats(&state.db, s.caller(), None).await?;
    let keep = complaints.len().saturating_sub(12);
    complaints.drain(..keep);
    let visits = rules::visits_per_week(&state.db, s.caller(), WEEKS, today).await?;
    let people = People::load(&state).await?;
    let attention = Attention {
        waiting,
        stale,
        warned,
        complaints,
        visits,
    };
    Ok(page(
        &s,
        "home",
        "工作台",
        body(&s, &figures, &people, &attention, today),
    )
    .into_response())
}

/// What 工作台 counts besides the list rows' figures.
struct Attention {
    /// Credit requests waiting for this approver.
    waiting: usize,
    /// Laptops not heard from for [`STALE_DAYS`].
    stale: usize,
    /// Warnings raised today, per rule.
    warned: Vec<(Option<WarningRule>, u64)>,
    /// Complaints registered per month, the last twelve months that had any.
    complaints: Vec<crm_shared::reports::ComplaintMonth>,
    /// Visits per week of the last [`WEEKS`]: (Monday, login, how many).
    visits: Vec<(String, String, u64)>,
}

/// Weeks in 工作台's visits chart.
const WEEKS: u32 = 8;

/// The visits chart's rows: one per person who logged a visit, in pinyin
/// order of their names, a count per week of the `WEEKS` up to `today`'s
/// (labelled by their Mondays, `MM-DD`).
fn visit_rows(
    a: &Attention,
    people: &People,
    today: Day,
) -> (Vec<String>, Vec<(String, Vec<u64>)>) {
    let mondays: Vec<Day> = (0..WEEKS)
        .rev()
        .map(|k| today.week_start().plus_days(-7 * i64::from(k)))
        .collect();
    let mut by: std::collections::BTreeMap<&str, Vec<u64>> = std::collections::BTreeMap::new();
    for (week, login, n) in &a.visits {
        if let Some(j) = mondays.iter().position(|m| m.to_string() == *week) {
            by.entry(login.as_str())
                .or_insert_with(|| vec![0; mondays.len()])[j] += n;
        }
    }
    let mut rows: Vec<(String, Vec<u64>)> = by
        .into_iter()
        .map(|(login, counts)| (people.name(login), counts))
        .collect();
    rows.sort_by_cached_key(|(name, _)| crm_shared::pinyin::sort_key(name));
    let labels = mondays
        .iter()
        .map(|m| m.0.format("%m-%d").to_string())
        .collect();
    (labels, rows)
}

fn body(s: &SignedIn, f: &Overview, people: &People, a: &Attention, today: Day) -> Markup {
    let overdue: u64 = f.overdue.iter().map(|(_, n)| n).sum();
    let warned = |rule: WarningRule| {
        a.warned
            .iter()
            .filter(|(r, _)| *r == Some(rule))
            .map(|(_, n)| n)
            .sum::<u64>()
    };
    let by_rule: Vec<Bar> = WarningRule::ALL
        .iter()
        .map(|r| (r, warned(*r)))
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| Bar {
            label: r.label().to_string(),
            value: n as f64,
            shown: format!("{n} {}", "条"),
            href: Some(format!("/console/warnings?rule={}", r.code())),
        })
        .collect();
    let grade_label = |code: &Option<String>| match code.as_deref().map(str::parse::<Grade>) {
        Some(Ok(g)) => g.label().to_string(),
        Some(Err(_)) => code.clone().unwrap_or_default(),
        None => "未评级".to_string(),
    };
    // One bar per grade, sized and written by `size`.
    let grade_bars = |size: &dyn Fn(u64, i64) -> (f64, String)| -> Vec<Bar> {
        f.by_grade
            .iter()
            .map(|(g, n, sum)| {
                let (value, shown) = size(*n, *sum);
                Bar {
                    label: grade_label(g),
                    value,
                    shown,
                    href: g.as_ref().map(|g| format!("/console/customers?grade={g}")),
                }
            })
            .collect()
    };
    let by_count = grade_bars(&|n, _| (n as f64, format!("{n} {}", "位")));
    let by_credit = grade_bars(&|_, sum| (sum as f64, format!("{} {}", yuan(Some(sum)), "元")));
    let by_person: Vec<Bar> = f
        .overdue
        .iter()
        .map(|(login, n)| Bar {
            label: people.name(login),
            value: *n as f64,
            shown: format!("{n} {}", "位"),
            // A login may hold any printable character: encoded, not pasted.
            href: Some(format!(
                "/console/followups?{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("salesperson", login)
                    .finish()
            )),
        })
        .collect();
    let by_month: Vec<Bar> = a
        .complaints
        .iter()
        .map(|m| Bar {
            label: m.month.clone(),
            value: f64::from(m.total),
            shown: format!("{} {}(未结 {})", m.total, "件", m.open),
            href: Some("/console/complaints".into()),
        })
        .collect();
    html! {
        p.muted { (today.to_string()) " · " ("档案共 ") (f.customers) (" 位客户") }
        h2 { ("今天需要处理") }
        ul.tiles #attention {
            @if s.role == Role::Manager && s.position.is_some() {
                li { a href="/console/credit" { b { (a.waiting) } span { ("待我审批的信用额度申请") } } }
            }
            li { a href="/console/conflicts" { b { (f.conflicted) } span { ("位客户有未解决的冲突") } } }
            li { a href="/console/followups" { b { (overdue) } span { ("位客户跟进已逾期") } } }
            li { a href="/console/followups" { b { (f.due_today) } span { ("位客户今天到期跟进") } } }
            @if s.head_office() {
                li { a href="/console/devices" { b { (a.stale) } span { ("台笔记本超过 7 天未同步") } } }
            }
            li { a href="/console/warnings?rule=review_overdue" { b { (warned(WarningRule::ReviewOverdue)) } span { ("位客户到期未审查") } } }
            li { a href="/console/warnings" { b { (a.warned.iter().map(|(_, n)| n).sum::<u64>()) } span { ("条预警") } } }
            li { a href="/console/grades" { span { ("等级汇总") } } }
        }
        div.charts {
            (bars("客户等级分布", &by_count, "还没有客户"))
            (bars("信用额度按等级(授信敞口)", &by_credit, "还没有授信"))
            (bars("逾期跟进(按业务员)", &by_person, "没有逾期的跟进"))
            (bars("预警(按规则)", &by_rule, "今天没有预警"))
            (bars("客户投诉(按登记月份)", &by_month, "还没有投诉"))
            @let (weeks, rows) = visit_rows(a, people, today);
            (weekly(&format!("拜访次数(近 {WEEKS} 周,按业务员)"), &weeks, &rows, "近几周没有拜访"))
        }
    }
}
