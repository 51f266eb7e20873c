//! The business rules over HTTP: settings, credit-limit requests and
//! decisions, grades, warnings, reports, follow-ups and reviews. Handlers
//! only parse and delegate to `crate::rules`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crm_shared::api::{CreditRequestView, DecideRequest, GradeApplied, ReviewRequest};
use crm_shared::day::Day;
use crm_shared::grading::GradeRow;
use crm_shared::reports::{ComplaintMonth, DailyReport, ReviewDue};
use crm_shared::settings::Settings;
use crm_shared::sync::VersionedSettings;
use crm_shared::warnings::Warning;

use crate::auth::Auth;
use crate::caller::Caller;
use crate::clock;
use crate::error::AppError;
use crate::extract::{Json, Query, StrictJson};
use crate::rules;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(settings).put(set_settings))
        .route("/credit-requests", get(credit_requests))
        .route("/credit-requests/{customer}/{request}/decide", post(decide))
        .route("/grades", get(grades))
        .route("/grades/apply", post(apply_grades))
        .route("/warnings", get(warnings))
        .route("/reports/complaints", get(complaints))
        .route("/reports/daily", get(daily))
        .route("/followups", get(followups))
        .route("/reviews/due", get(reviews_due))
        .route("/customers/{id}/review", post(review))
}

/// Query parameters the report routes share.
#[derive(Debug, Default, Deserialize)]
struct Filter {
    salesperson: Option<String>,
    day: Option<String>,
    waiting_for_me: Option<bool>,
    /// Grade table and warnings: only customers of this region.
    region: Option<String>,
    /// Grade table: only this assessed grade.
    grade: Option<String>,
    /// Warnings: only this rule.
    rule: Option<String>,
    /// Grade table and warnings: rows to skip, and at most how many to send.
    offset: Option<usize>,
    limit: Option<usize>,
}

impl Filter {
    /// The `day` parameter, today if absent.
    fn day(&self) -> Result<Day, AppError> {
        match self.day.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            None => Ok(Day::from_millis_local(clock::now_ms())),
            Some(d) => d.parse().map_err(|e: crm_shared::day::BadDay| {
                AppError::BadRequest(format!("参数 day:{e}"))
            }),
        }
    }

    /// A page of a rule report whose kind (grade, rule) is `kind`.
    fn report<K: std::str::FromStr>(
        &self,
        name: &str,
        kind: Option<&str>,
    ) -> Result<rules::ReportQuery<K>, AppError>
    where
        K::Err: std::fmt::Display,
    {
        let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
            None => None,
            Some(k) => Some(
                k.parse()
                    .map_err(|e: K::Err| AppError::BadRequest(format!("参数 {name}:{e}")))?,
            ),
        };
        Ok(rules::ReportQuery {
            salesperson: self.salesperson.clone(),
            region: self.region.clone().filter(|r| !r.trim().is_empty()),
            kind,
            day: self.day()?,
            offset: self.offset.unwrap_or(0),
            limit: self.limit,
        })
    }
}

async fn settings(
    auth: Auth,
    State(s): State<AppState>,
) -> Result<Json<VersionedSettings>, AppError> {
    Ok(Json(rules::settings(&s.db, &Caller::from(&auth)).await?))
}

async fn set_settings(
    auth: Auth,
    State(s): State<AppState>,
    StrictJson(body): StrictJson<Settings>,
) -> Result<Json<VersionedSettings>, AppError> {
    Ok(Json(
        rules::set_settings(&s.db, &Caller::from(&auth), body).await?,
    ))
}

async fn credit_requests(
    auth: Auth,
    State(s): State<AppState>,
    Query(f): Query<Filter>,
) -> Result<Json<Vec<CreditRequestView>>, AppError> {
    let waiting_for = if f.waiting_for_me.unwrap_or(false) {
        Some(
            auth.position
                .ok_or_else(|| AppError::BadRequest("您没有审批职位,没有等您审批的申请".into()))?,
        )
    } else {
        None
    };
    Ok(Json(
        rules::credit_requests(&s.db, Caller::from(&auth), waiting_for).await?,
    ))
}

async fn decide(
    auth: Auth,
    State(s): State<AppState>,
    Path((customer, request)): Path<(String, String)>,
    StrictJson(body): StrictJson<DecideRequest>,
) -> Result<Json<CreditRequestView>, AppError> {
    Ok(Json(
        rules::decide(
            &s.db,
            Caller::from(&auth),
            auth.position,
            customer,
            request,
            body,
            clock::now_ms(),
        )
        .await?,
    ))
}

async fn grades(
    auth: Auth,
    State(s): State<AppState>,
    Query(f): Query<Filter>,
) -> Result<Json<Vec<GradeRow>>, AppError> {
    let q = f.report("grade", f.grade.as_deref())?;
    Ok(Json(
        rules::grade_page(&s.db, Caller::from(&auth), q).await?.rows,
    ))
}

/// Body of `POST /api/v1/grades/apply`.
#[derive(Debug, Default, Deserialize)]
struct Apply {
    #[serde(default)]
    day: Option<String>,
}

async fn apply_grades(
    auth: Auth,
    State(s): State<AppState>,
    StrictJson(body): StrictJson<Apply>,
) -> Result<Json<GradeApplied>, AppError> {
    let day = Filter {
        day: body.day,
        ..Default::default()
    }
    .day()?;
    Ok(Json(
        rules::apply_grades(&s.db, Caller::from(&auth), day, clock::now_ms()).await?,
    ))
}

async fn warnings(
    auth: Auth,
    State(s): State<AppState>,
    Query(f): Query<Filter>,
) -> Result<Json<Vec<Warning>>, AppError> {
    let q = f.report("rule", f.rule.as_deref())?;
    Ok(Json(
        rules::warning_page(&s.db, Caller::from(&auth), q)
            .await?
            .rows,
    ))
}

async fn complaints(
    auth: Auth,
    State(s): State<AppState>,
    Query(f): Query<Filter>,
) -> Result<Json<Vec<ComplaintMonth>>, AppError> {
    Ok(Json(
        rules::complaint_stats(&s.db, Caller::from(&auth), f.salesperson).await?,
    ))
}

async fn daily(
    auth: Auth,
    State(s): State<AppState>,
    Query(f): Query<Filter>,
) -> Result<Json<DailyReport>, AppError> {
    let day = f.day()?;
    let who = f.salesperson.filter(|s| !s.trim().is_empty());
    Ok(Json(
        rules::daily(&s.db, Caller::from(&auth), who, day).await?,
    ))
}

/// A follow-up due, with whose it is.
#[derive(Debug, serde::Serialize)]
struct DueView {
    salesperson: String,
    #[serde(flatten)]
    planned: crm_shared::reports::Planned,
}

async fn followups(
    auth: Auth,
    State(s): State<AppState>,
    Query(f): Query<Filter>,
) -> Result<Json<Vec<serde_json::Value>>, AppError> {
    let q = rules::ReportQuery {
        salesperson: f.salesperson.clone(),
        region: None,
        kind: None,
        day: f.day()?,
        offset: f.offset.unwrap_or(0),
        limit: f.limit,
    };
    let page = rules::followups_page(&s.db, Caller::from(&auth), q).await?;
    Ok(Json(
        page.rows
            .into_iter()
            .map(|(salesperson, planned)| {
                serde_json::to_value(DueView {
                    salesperson,
                    planned,
                })
                .expect("serialises")
            })
            .collect(),
    ))
}

async fn reviews_due(
    auth: Auth,
    State(s): State<AppState>,
    Query(f): Query<Filter>,
) -> Result<Json<Vec<ReviewDue>>, AppError> {
    let day = f.day()?;
    Ok(Json(
        rules::review_due(&s.db, Caller::from(&auth), f.salesperson, day).await?,
    ))
}

async fn review(
    auth: Auth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    StrictJson(body): StrictJson<ReviewRequest>,
) -> Result<Json<serde_json::Value>, AppError> {
    rules::review(&s.db, Caller::from(&auth), id, body, clock::now_ms()).await?;
    Ok(Json(serde_json::json!({"ok": true})))
}
