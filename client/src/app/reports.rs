//! 报表: the daily activity report (printable), the grade preview (head
//! office sets grades; this shows what the rule gives on this laptop's
//! data), and this laptop's warnings.

use axum::extract::{Query, State};
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;
use serde::Deserialize;

use crm_shared::customer::Customer;
use crm_shared::day::Day;
use crm_shared::grading::GradeRow;
use crm_shared::reports::{self, DailyReport};
use crm_shared::settings::Grading;
use crm_web::format::{grade, when, yuan};

use super::view::{failure, page};
use super::Shared;
use crate::clock::today;
use crate::error::{ClientError, Result};
use crate::store::Store;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/reports/daily", get(daily))
        .route("/reports/grades", get(grades))
        .route("/reports/warnings", get(warnings))
}

/// Says whether a page was built from the figures computed in the
/// background or computed for the request (for tests and diagnosis).
const FIGURES: HeaderName = HeaderName::from_static("x-crm-figures");

fn source(precomputed: bool) -> [(HeaderName, &'static str); 1] {
    [(
        FIGURES,
        if precomputed {
            "precomputed"
        } else {
            "computed"
        },
    )]
}

/// The daily report of `day` for this laptop's user.
pub(super) fn daily_report(store: &mut Store, day: Day) -> Result<DailyReport> {
    let user = store.profile().user.clone();
    let cards = store.cards_entered_on(day)?;
    Ok(reports::daily(
        cards.iter().map(|(c, e)| (c, e.as_ref())),
        &user,
        day,
    ))
}

/// The grade preview's rows of `cards` (rules cards) as of `day`, in
/// pinyin order of the names.
pub(super) fn grade_rows(cards: &[Customer], g: &Grading, day: Day) -> Vec<GradeRow> {
    let mut rows: Vec<_> = cards.iter().map(|c| GradeRow::of(c, g, day)).collect();
    rows.sort_by_cached_key(|r| crm_shared::pinyin::sort_key(&r.name));
    rows
}

#[derive(Debug, Default, Deserialize)]
struct DayQuery {
    day: Option<String>,
}

async fn daily(State(app): State<Shared>, Query(q): Query<DayQuery>) -> Response {
    let inner = || -> Result<Response> {
        let mut store = app.store()?.ok_or(ClientError::NotInitialised)?;
        let day = match q.day.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => s
                .parse::<Day>()
                .map_err(|_| crate::record::invalid("day", format!("“{s}”不是日期(YYYY-MM-DD)")))?,
            None => today(),
        };
        let figures = app.derived.current();
        let user = &store.profile().user;
        let precomputed = figures
            .as_ref()
            .filter(|f| f.day == Some(day))
            .and_then(|f| f.daily.as_ref())
            .filter(|r| &r.salesperson == user);
        let computed;
        let r = match precomputed {
            Some(r) => r,
            None => {
                computed = daily_report(&mut store, day)?;
                &computed
            }
        };
        let body = html! {
            form.filters method="get" action="/reports/daily" {
                label { "日期" input type="date" name="day" value=(day); }
                button type="submit" { "查看" }
            }
            p { "业务员:" (store.profile().display_name) "  日期:" (day) }
            p { "新客户 " (r.new_customers) " 位,销售额 " (yuan(Some(r.sales_amount))) " 元,投诉 " (r.complaints) " 起" }
            h2 { "当日活动 " (r.activities.len()) " 次" }
            table {
                thead { tr { th { "时间" } th { "客户" } th { "方式" } th { "内容" } th { "意向" } } }
                tbody { @for a in &r.activities { tr {
                    td { (when(Some(a.at))) } td { (a.name) } td { (a.kind.label()) } td { (a.notes) }
                    td { (a.intent.map(|i| i.label()).unwrap_or_default()) }
                } } }
            }
            h2 { "明日工作计划 " (r.tomorrow.len()) " 位" }
            table { tbody { @for p in &r.tomorrow { tr {
                td { (p.name) } td { (p.contact.clone().unwrap_or_default()) } td { (p.phone.clone().unwrap_or_default()) }
            } } } }
            p.muted { "打印:用浏览器的打印功能(Ctrl+P),导航和按钮不会打印出来。" }
        };
        let page = page(&app, &store, "daily", "销售活动日报表", body);
        Ok((source(precomputed.is_some()), page).into_response())
    };
    inner().unwrap_or_else(|e| failure(&e))
}

async fn grades(State(app): State<Shared>) -> Response {
    let inner = || -> Result<Response> {
        let mut store = app.store()?.ok_or(ClientError::NotInitialised)?;
        let figures = app.derived.current();
        let computed;
        let rows = match &figures {
            Some(f) => &f.grades,
            None => {
                let grading = store.settings()?.grading;
                computed = grade_rows(&store.rules_cards()?, &grading, today());
                &computed
            }
        };
        let body = html! {
            p.muted { "按公司的评级规则,用本机资料预先计算;正式等级由总部评定。" }
            table {
                thead { tr { th { "客户" } th.num { "评分" } th.num { "系数" } th.num { "月均销售(元)" } th.num { "按期履约率" } th { "按规则" } th { "现等级" } th.num { "现信用额度" } th.num { "建议额度" } th { "说明" } } }
                tbody { @for r in rows { tr {
                    td { a href={ "/customers/" (r.id) } { (r.name) } }
                    td.num { (r.score.map(|x| format!("{x:.0}")).unwrap_or_default()) }
                    td.num { (r.coefficient.map(|x| x.to_string()).unwrap_or_default()) }
                    td.num { (yuan(r.monthly_average.map(|x| x.round() as i64))) }
                    td.num { (r.on_time_rate.map(|x| format!("{x:.1}%")).unwrap_or_default()) }
                    td { (grade(r.grade)) } td { (grade(r.card_grade)) }
                    td.num { (yuan(r.credit_limit)) } td.num { (yuan(r.suggested_limit)) }
                    td { (r.remarks) }
                } } }
            }
        };
        let page = page(&app, &store, "grades", "客户等级预览", body);
        Ok((source(figures.is_some()), page).into_response())
    };
    inner().unwrap_or_else(|e| failure(&e))
}

async fn warnings(State(app): State<Shared>) -> Response {
    let inner = || -> Result<Response> {
        let store = app.store()?.ok_or(ClientError::NotInitialised)?;
        let f = app.derived.figures();
        let body = html! {
            @if f.at == 0 { p.muted { "正在计算,请稍后刷新。" } }
            @else if f.warnings.is_empty() { p { "没有预警。" } }
            @else {
                table {
                    thead { tr { th { "客户" } th { "预警" } th { "情况" } } }
                    tbody { @for w in &f.warnings { tr {
                        td { a href={ "/customers/" (w.customer) } { (w.name) } }
                        td { span.tag.bad { (w.rule.label()) } }
                        td { (w.figure) }
                    } } }
                }
                p.muted { "按 " (when(Some(f.at))) " 的资料计算。" }
            }
        };
        Ok(page(&app, &store, "warnings", "本机预警", body).into_response())
    };
    inner().unwrap_or_else(|e| failure(&e))
}
