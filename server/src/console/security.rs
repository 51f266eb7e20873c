//! Passwords and the doors: changing one's own password (also the way
//! through a reset by an administrator, before any session exists), and for
//! administrators the locked logins and the audit of access, with export.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};

use crm_shared::api::PasswordChange;

use super::layout::{self, csrf, flash, page, when};
use super::{done, done_saying, ConsoleError, Fields, Notice, Query, SignedIn};
use crate::audit::{self, Kind};
use crate::auth::Attempt;
use crate::db::access::AccessFilter;
use crate::error::AppError;
use crate::extract::ClientAddress;
use crate::sheets::Format;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/password", get(password_page).post(change))
        .route("/password/first", post(first_change))
        .route("/security", get(security))
        .route("/security/unlock/{login}", post(unlock))
        .route("/security/export/{ext}", get(export))
}

fn attempt(state: &AppState, peer: Option<std::net::IpAddr>) -> Attempt {
    Attempt {
        address: peer,
        now: state.clock.now(),
    }
}

fn password_fields() -> Markup {
    html! {
        label { ("现在的密码") input name="current" type="password" required autocomplete="current-password"; }
        label { ("新密码(至少 10 个字符,可用一句好记的话)") input name="new" type="password" required autocomplete="new-password"; }
        label { ("再输入一次新密码") input name="again" type="password" required autocomplete="new-password"; }
    }
}

/// The form shown instead of a session when an administrator reset the
/// password: a new one must be chosen before anything else.
pub(super) fn first_password_form(login: &str, error: Option<&str>) -> Markup {
    layout::bare(
        "设置新密码",
        html! {
            form.login method="post" action="/console/password/first" {
                h1 { ("设置新密码") }
                p { ("管理员重设了你的密码。请设置只有你自己知道的新密码,然后用它登录。") }
                @if let Some(e) = error { div.error role="alert" { (e) } }
                label { ("登录名") input name="login" value=(login) required; }
                (password_fields())
                button type="submit" { ("保存新密码") }
            }
        },
    )
}

/// The new password twice, the same; the error is for people.
fn new_password(f: &Fields) -> Result<String, String> {
    let new = f.get("new").unwrap_or_default().to_string();
    if new != f.get("again").unwrap_or_default() {
        return Err("两次输入的新密码不一致".into());
    }
    Ok(new)
}

async fn first_change(
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Form(f): Form<Fields>,
) -> Response {
    let login = f.text("login");
    let refused = |status, message: &str| {
        (status, first_password_form(&login, Some(message))).into_response()
    };
    let new = match new_password(&f) {
        Ok(n) => n,
        Err(m) => return refused(axum::http::StatusCode::BAD_REQUEST, &m),
    };
    let change = PasswordChange {
        login: login.clone(),
        current: f.get("current").unwrap_or_default().to_string(),
        new,
    };
    match crate::auth::change_password(&state, &attempt(&state, peer), change).await {
        Ok(()) => done("/console/login?changed=true"),
        Err(e) => refused(e.parts().0, &e.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct Done {
    ok: Option<String>,
}

async fn password_page(s: SignedIn, Query(q): Query<Done>) -> Markup {
    let ok = q.ok.map(|_| "密码已修改");
    page(
        &s,
        "password",
        "修改密码",
        html! {
            (flash(ok))
            form #password method="post" action="/console/password" {
                (csrf(&s))
                (password_fields())
                p { button type="submit" { ("保存新密码") } }
            }
        },
    )
}

async fn change(
    s: SignedIn,
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let new = new_password(&f).map_err(|m| ConsoleError(AppError::BadRequest(m)))?;
    let change = PasswordChange {
        login: s.login.clone(),
        current: f.get("current").unwrap_or_default().to_string(),
        new,
    };
    crate::auth::change_password(&state, &attempt(&state, peer), change).await?;
    Ok(done("/console/password?ok=1"))
}

/// Filters of the audit, as the page's form and the export links carry them.
#[derive(Debug, Default, Clone, serde::Deserialize)]
struct AuditQuery {
    user: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

impl AuditQuery {
    fn filter(&self, limit: usize) -> Result<AccessFilter, AppError> {
        let day =
            |what: &str, text: &Option<String>, next: bool| -> Result<Option<i64>, AppError> {
                let Some(t) = text.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
                    return Ok(None);
                };
                let d: crm_shared::day::Day = t
                    .parse()
                    .map_err(|e| AppError::BadRequest(format!("{what}:{e}")))?;
                let d = if next { d.plus_days(1) } else { d };
                Ok(d.0
                    .and_hms_opt(0, 0, 0)
                    .and_then(|t| t.and_local_timezone(chrono::Local).earliest())
                    .map(|t| t.timestamp_millis()))
            };
        let kind = match self.kind.as_deref().filter(|k| !k.is_empty()) {
            None => None,
            Some(k) => Some(
                Kind::parse(k)
                    .ok_or_else(|| AppError::BadRequest(format!("没有“{k}”这类记录")))?
                    .code()
                    .to_string(),
            ),
        };
        Ok(AccessFilter {
            login: self.user.clone().filter(|u| !u.trim().is_empty()),
            kind,
            since: day("开始日期", &self.since, false)?,
            until: day("结束日期", &self.until, true)?,
            limit,
        })
    }

    fn link(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("user", &self.user),
            ("kind", &self.kind),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", urlencoding(v)));
            }
        }
        parts.join("&")
    }
}

/// Percent-encodes a query value or a path segment.
fn urlencoding(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// Entries one page shows at most.
const PAGE_ROWS: usize = 500;

async fn security(
    s: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<AuditQuery>,
    Query(n): Query<Notice>,
) -> Result<Markup, ConsoleError> {
    s.admin_only()?;
    let now = state.clock.now();
    let locked = state.db.locked_logins(now).await?;
    let events = state.db.access_log(q.filter(PAGE_ROWS)?).await?;
    let ok = n.text(&s);
    let link = q.link();
    let chosen = q.kind.clone().unwrap_or_default();
    let rows: Vec<[String; 6]> = events
        .iter()
        .map(|e| {
            [
                when(Some(e.at)),
                Kind::parse(&e.kind).map_or(e.kind.clone(), |k| k.label().to_string()),
                e.login.clone(),
                e.by_login.clone().unwrap_or_default(),
                e.address.clone().unwrap_or_default(),
                e.detail.clone(),
            ]
        })
        .collect();
    Ok(page(
        &s,
        "security",
        "登录与访问审计",
        html! {
            (flash(ok))
            h2 { ("被锁定的登录名") }
            @if locked.is_empty() {
                p.muted { ("没有被锁定的登录名。") }
            } @else {
                table #locked {
                    thead { tr { th { ("登录名") } th { ("连续失败") } th { ("锁定到") } th {} } }
                    tbody { @for x in &locked { tr {
                        td { (x.login) } td.num { (x.failures) } td { (when(Some(x.until))) }
                        td { form method="post" action={ "/console/security/unlock/" (urlencoding(&x.login)) } {
                            (csrf(&s)) button type="submit" { ("解除锁定") }
                        } }
                    } } }
                }
            }
            h2 { ("访问审计") }
            form.filters method="get" action="/console/security" {
                label { ("账号") input name="user" value=(q.user.clone().unwrap_or_default()); }
                label { ("事件")
                    select name="kind" {
                        option value="" { ("全部") }
                        @for k in Kind::ALL { option value=(k.code()) selected[chosen == k.code()] { (k.label()) } }
                    }
                }
                label { ("从") input name="since" type="date" value=(q.since.clone().unwrap_or_default()); }
                label { ("到") input name="until" type="date" value=(q.until.clone().unwrap_or_default()); }
                button type="submit" { ("筛选") }
            }
            p { ("导出") " "
                a href={ "/console/security/export/xlsx?" (link) } { "Excel" } " · "
                a href={ "/console/security/export/csv?" (link) } { "CSV" } }
            table #audit {
                thead { tr { th { ("时间") } th { ("事件") } th { ("账号") } th { ("操作人") } th { ("来源地址") } th { ("说明") } } }
                tbody { @for r in &rows { tr { @for c in r { td { (c) } } } } }
            }
            @if rows.len() == PAGE_ROWS { p.muted { ("只显示最新的 500 条;缩小筛选范围或导出全部。") } }
        },
    ))
}

async fn unlock(
    s: SignedIn,
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Path(login): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    s.admin_only()?;
    let actor = s.actor(peer);
    let event = audit::event(Kind::Unlocked, &login, &actor, state.clock.now(), "");
    state.db.clear_sign_in_failures(&login, Some(event)).await?;
    let said = format!("已解除 {login} 的登录锁定");
    Ok(done_saying(&s, "/console/security", &said))
}

async fn export(
    s: SignedIn,
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Path(ext): Path<String>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ConsoleError> {
    s.admin_only()?;
    let format = match ext.as_str() {
        "xlsx" => Format::Xlsx,
        "csv" => Format::Csv,
        _ => return Err(ConsoleError(AppError::NotFound("没有这种文件格式".into()))),
    };
    let events = state.db.access_log(q.filter(1_000_000)?).await?;
    let bytes = crate::sheets::table::write(
        &crate::sheets::export::access_log(&events),
        format,
        "访问审计",
    )
    .map_err(|e| ConsoleError(AppError::internal(e)))?;
    let actor = s.actor(peer);
    let detail = format!("访问审计 {} 条", events.len());
    let event = audit::event(Kind::Export, &s.login, &actor, state.clock.now(), detail);
    state.db.record_access(event).await?;
    let name = format!("访问审计.{ext}");
    Ok((
        [
            (header::CONTENT_TYPE, format.mime().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"audit.{ext}\"; filename*=UTF-8''{}",
                    urlencoding(&name)
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}
