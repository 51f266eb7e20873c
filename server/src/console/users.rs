//! Administration for administrators: accounts (add, disable or enable,
//! reset a password, role and approval position), revoking a laptop, and
//! the company settings. Each action is the command line's own
//! (`crate::admin`, `crate::rules::set_settings`), audited as the
//! administrator who did it, from their address.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};

use crm_shared::codes::{Position, Role};
use crm_shared::settings::Settings;

use super::layout::{csrf, flash, page, when};
use super::{done_saying, ConsoleError, Fields, Notice, Query, SignedIn};
use crate::admin;
use crate::error::AppError;
use crate::extract::ClientAddress;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(users).post(add))
        .route("/users/{login}/state", post(set_state))
        .route("/users/{login}/password", post(reset_password))
        .route("/users/{login}/role", post(set_role))
        .route("/devices/{id}/revoke", post(revoke))
        .route("/settings", get(settings_page).post(save_settings))
}

fn refusal(e: admin::AdminError) -> ConsoleError {
    use admin::AdminError as E;
    ConsoleError(match e {
        E::NoSuchUser(_) | E::NoSuchDevice(_) => AppError::NotFound(e.to_string()),
        E::UserExists(_) => AppError::Conflict(e.to_string()),
        E::Invalid(m) => AppError::BadRequest(m),
        other => AppError::internal(other),
    })
}

fn role_options(current: Option<Role>) -> Markup {
    html! {
        @for r in Role::ALL {
            option value=(r.code()) selected[current == Some(*r)] { (r.label()) }
        }
    }
}

fn position_options(current: Option<Position>) -> Markup {
    html! {
        option value="" selected[current.is_none()] { ("无") }
        @for p in Position::ALL {
            option value=(p.code()) selected[current == Some(*p)] { (p.label()) }
        }
    }
}

fn enc(login: &str) -> String {
    form_urlencoded::byte_serialize(login.as_bytes()).collect()
}

async fn users(
    s: SignedIn,
    State(state): State<AppState>,
    Query(n): Query<Notice>,
) -> Result<Markup, ConsoleError> {
    s.admin_only()?;
    let notice = n.text(&s);
    users_view(&state, &s, notice, None).await
}

/// The accounts page; `refused`: why the last form was refused and what
/// was typed into it (the add form comes back as typed).
async fn users_view(
    state: &AppState,
    s: &SignedIn,
    notice: Option<&str>,
    refused: Option<(&str, &Fields)>,
) -> Result<Markup, ConsoleError> {
    let users = state.db.users().await?;
    let typed = |key: &str| refused.map(|(_, f)| f.text(key)).unwrap_or_default();
    let typed_role = refused.and_then(|(_, f)| f.text("role").parse::<Role>().ok());
    let typed_position = refused.and_then(|(_, f)| f.text("position").parse::<Position>().ok());
    Ok(page(
        s,
        "users",
        "用户管理",
        html! {
            // The notice is a line this server wrote; shown as text.
            (flash(notice))
            @if let Some((why, _)) = refused { div.error role="alert" { (why) } }
            table.cards #users {
                thead { tr {
                    th { ("登录名") } th { ("姓名") } th { ("角色与审批职位") }
                    th { ("状态") } th { ("启用 / 停用") } th { ("重设密码") }
                } }
                tbody { @for u in &users { tr {
                    td.title { (u.login) } td data-label=("姓名") { (u.display_name) }
                    td data-label=("角色") { form.inline method="post" action={ "/console/users/" (enc(&u.login)) "/role" } {
                        (csrf(s))
                        select name="role" aria-label="角色" { (role_options(Some(u.role))) }
                        select name="position" aria-label="审批职位" { (position_options(u.position)) }
                        button type="submit" { ("保存") }
                    } }
                    td data-label=("状态") {
                        @if u.disabled { span.tag.bad { ("已停用") } }
                        @else if u.must_change_password { ("须在登录时改密码") }
                        @else { ("正常") }
                        " " span.muted { ("建于 ") (when(Some(u.created_at))) }
                    }
                    td data-label=("启用/停用") { form.inline method="post" action={ "/console/users/" (enc(&u.login)) "/state" } {
                        (csrf(s))
                        @if u.disabled {
                            input type="hidden" name="disabled" value="0";
                            button type="submit" { ("启用") }
                        } @else {
                            input type="hidden" name="disabled" value="1";
                            button type="submit" { ("停用") }
                        }
                    } }
                    td data-label=("重设密码") { form.inline method="post" action={ "/console/users/" (enc(&u.login)) "/password" } {
                        (csrf(s))
                        input name="password" type="password" autocomplete="new-password"
                            placeholder="临时密码(至少 10 个字符)" required aria-label="临时密码";
                        button type="submit" { ("重设") }
                    } }
                } } }
            }
            h2 { ("添加用户") }
            form.edit #add-user method="post" action="/console/users" {
                (csrf(s))
                label { ("登录名") input name="login" value=(typed("login")) required; }
                label { ("姓名") input name="name" value=(typed("name")) required; }
                label { ("角色") select name="role" { (role_options(typed_role.or(Some(Role::Salesperson)))) } }
                label { ("审批职位") select name="position" { (position_options(typed_position)) } }
                label { ("临时密码(至少 10 个字符;本人首次登录时须改为自己的密码)")
                    input name="password" type="password" autocomplete="new-password" required; }
                button type="submit" { ("添加") }
            }
        },
    ))
}

/// After an account form: back to the page with what was done, or the
/// page again with why not (in the error's own status).
async fn answer(
    state: &AppState,
    s: &SignedIn,
    f: &Fields,
    result: Result<String, ConsoleError>,
) -> Result<Response, ConsoleError> {
    match result {
        Ok(line) => Ok(done_saying(s, "/console/users", &line)),
        Err(ConsoleError(e)) => {
            let (status, _) = e.parts();
            if status.is_server_error() {
                return Err(ConsoleError(e));
            }
            let why = e.to_string();
            let body = users_view(state, s, None, Some((&why, f))).await?;
            Ok((status, body).into_response())
        }
    }
}

fn role_of(f: &Fields) -> Result<Role, ConsoleError> {
    f.text("role")
        .parse::<Role>()
        .map_err(|e| ConsoleError(AppError::BadRequest(e.to_string())))
}

fn position_of(f: &Fields) -> Result<Option<Position>, ConsoleError> {
    super::optional::<Position>(&f.text("position"))
        .map_err(|e| ConsoleError(AppError::BadRequest(e)))
}

async fn add(
    s: SignedIn,
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    s.admin_only()?;
    let who = s.actor(peer);
    let db = &state.db;
    let result = async {
        let (role, position) = (role_of(&f)?, position_of(&f)?);
        let login = f.text("login");
        let password = f.get("password").unwrap_or_default().to_string();
        crate::credentials::check_new_password(login.trim(), &password)
            .map_err(|m| ConsoleError(AppError::BadRequest(m)))?;
        let account = admin::NewAccount {
            login,
            display_name: f.text("name"),
            role,
            position,
            password,
            must_change_password: true,
        };
        admin::user_add(db, &who, account).await.map_err(refusal)
    }
    .await;
    answer(&state, &s, &f, result).await
}

async fn set_state(
    s: SignedIn,
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Path(login): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    s.admin_only()?;
    let who = s.actor(peer);
    let db = &state.db;
    let result = async {
        let disabled = match f.text("disabled").as_str() {
            "1" => true,
            "0" => false,
            other => {
                return Err(ConsoleError(AppError::BadRequest(format!(
                    "“{other}”不是启用或停用"
                ))))
            }
        };
        if disabled && login == s.login {
            return Err(ConsoleError(AppError::BadRequest(
                "不能停用自己正在使用的账号".into(),
            )));
        }
        admin::user_set_disabled(db, &who, &login, disabled)
            .await
            .map_err(refusal)
    }
    .await;
    answer(&state, &s, &f, result).await
}

async fn reset_password(
    s: SignedIn,
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Path(login): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    s.admin_only()?;
    let who = s.actor(peer);
    let db = &state.db;
    let result = async {
        let password = f.get("password").unwrap_or_default().to_string();
        crate::credentials::check_new_password(login.trim(), &password)
            .map_err(|m| ConsoleError(AppError::BadRequest(m)))?;
        admin::user_passwd(db, &who, &login, password, None)
            .await
            .map_err(refusal)
    }
    .await;
    answer(&state, &s, &f, result).await
}

async fn set_role(
    s: SignedIn,
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Path(login): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    s.admin_only()?;
    let who = s.actor(peer);
    let db = &state.db;
    let result = async {
        let (role, position) = (role_of(&f)?, position_of(&f)?);
        if login == s.login && role != Role::Admin {
            return Err(ConsoleError(AppError::BadRequest(
                "不能取消自己的管理员角色:请让另一位管理员来做".into(),
            )));
        }
        let position_code = position.map_or("", |p| p.code()).to_string();
        let role = admin::user_set_role(db, &who, &login, role)
            .await
            .map_err(refusal)?;
        let position = admin::user_set_position(db, &who, &login, &position_code)
            .await
            .map_err(refusal)?;
        Ok(format!("{role};{position}"))
    }
    .await;
    answer(&state, &s, &f, result).await
}

async fn revoke(
    s: SignedIn,
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    s.admin_only()?;
    let who = s.actor(peer);
    let db = &state.db;
    let line = admin::device_revoke(db, &who, &id).await.map_err(refusal)?;
    Ok(done_saying(&s, "/console/devices", &line))
}

/// The settings form's fields as text, from saved settings.
fn fields_of(s: &Settings) -> Vec<(String, String)> {
    let g = &s.grading;
    let mut v: Vec<(String, String)> = vec![
        ("review_days".into(), s.review_days.to_string()),
        ("churn_days".into(), s.churn_days.to_string()),
        (
            "offline_lock_days".into(),
            s.offline_lock_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ),
        ("cadence_h".into(), s.cadence.h.to_string()),
        ("cadence_a".into(), s.cadence.a.to_string()),
        ("cadence_b".into(), s.cadence.b.to_string()),
        ("cadence_c".into(), s.cadence.c.to_string()),
        ("period_months".into(), g.period_months.to_string()),
        ("sales_weight".into(), g.sales_weight.to_string()),
        ("credit_weight".into(), g.credit_weight.to_string()),
        (
            "credit_chain".into(),
            s.credit_chain
                .iter()
                .map(|p| p.label())
                .collect::<Vec<_>>()
                .join(","),
        ),
    ];
    for grade in GRADES {
        let x = grade.parse::<crm_shared::codes::Grade>().expect("a grade");
        v.push((format!("band_{grade}"), g.bands.get(x).to_string()));
        v.push((
            format!("coefficient_{grade}"),
            g.coefficients.get(x).to_string(),
        ));
    }
    v
}

const GRADES: [&str; 5] = ["A", "B", "C", "D", "E"];

/// The settings form holding `values` (the saved settings, or what was
/// typed when refused).
fn settings_form(si: &SignedIn, values: &[(String, String)]) -> Markup {
    let v = |key: &str| {
        values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, x)| x.clone())
            .unwrap_or_default()
    };
    html! {
        form.edit #settings method="post" action="/console/settings" {
            (csrf(si))
            h2 { ("审查与预警") }
            label { ("审查周期(天)") input name="review_days" value=(v("review_days")); }
            label { ("流失预警(无订单且无拜访的天数)") input name="churn_days" value=(v("churn_days")); }
            label { ("离线锁定(天,空 = 不锁定)") input name="offline_lock_days" value=(v("offline_lock_days")); }
            h2 { ("跟进周期(按意向等级,天)") }
            @for (level, label) in [("h", "H 级"), ("a", "A 级"), ("b", "B 级"), ("c", "C 级")] {
                label { (label) input name={ "cadence_" (level) } value=(v(&format!("cadence_{level}"))); }
            }
            h2 { ("客户等级评估") }
            label { ("评估期(月)") input name="period_months" value=(v("period_months")); }
            label { ("销售权重") input name="sales_weight" value=(v("sales_weight")); }
            label { ("信用权重") input name="credit_weight" value=(v("credit_weight")); }
            @for grade in GRADES {
                label { (grade) ("级最低分") input name={ "band_" (grade) } value=(v(&format!("band_{grade}"))); }
                label { (grade) ("级系数") input name={ "coefficient_" (grade) } value=(v(&format!("coefficient_{grade}"))); }
            }
            h2 { ("信用额度审批链") }
            p.muted { ("按审批顺序填写职位,用逗号分隔,例如:") (Position::ALL.iter().map(|p| p.label()).collect::<Vec<_>>().join(",")) }
            label { ("审批链") input name="credit_chain" value=(v("credit_chain")); }
            button type="submit" { ("保存设置") }
        }
    }
}

async fn settings_page(
    s: SignedIn,
    State(state): State<AppState>,
    Query(n): Query<Notice>,
) -> Result<Markup, ConsoleError> {
    s.admin_only()?;
    let current = state.db.settings().await?;
    Ok(page(
        &s,
        "settings",
        "公司设置",
        html! {
            (flash(n.text(&s)))
            p.muted { ("第 ") (current.version) (" 版。保存后笔记本在下次同步时生效;预警与等级表立即按新设置计算。") }
            (settings_form(&s, &fields_of(&current.settings)))
        },
    ))
}

/// The settings as typed over `base`: each field that is not a number
/// (or a known position) is named in the refusal.
fn typed(f: &Fields, base: &Settings) -> Result<Settings, String> {
    fn num<T: std::str::FromStr>(f: &Fields, key: &str, label: &str) -> Result<T, String> {
        let v = f.text(key);
        v.trim()
            .parse()
            .map_err(|_| format!("{label}:“{v}”不是数字"))
    }
    let mut s = base.clone();
    s.review_days = num(f, "review_days", "审查周期")?;
    s.churn_days = num(f, "churn_days", "流失预警天数")?;
    s.offline_lock_days = match f.text("offline_lock_days").trim() {
        "" => None,
        _ => Some(num(f, "offline_lock_days", "离线锁定天数")?),
    };
    s.cadence.h = num(f, "cadence_h", "H 级跟进周期")?;
    s.cadence.a = num(f, "cadence_a", "A 级跟进周期")?;
    s.cadence.b = num(f, "cadence_b", "B 级跟进周期")?;
    s.cadence.c = num(f, "cadence_c", "C 级跟进周期")?;
    let g = &mut s.grading;
    g.period_months = num(f, "period_months", "评估期")?;
    g.sales_weight = num(f, "sales_weight", "销售权重")?;
    g.credit_weight = num(f, "credit_weight", "信用权重")?;
    for (grade, band, coefficient) in [
        ("A", &mut g.bands.a, &mut g.coefficients.a),
        ("B", &mut g.bands.b, &mut g.coefficients.b),
        ("C", &mut g.bands.c, &mut g.coefficients.c),
        ("D", &mut g.bands.d, &mut g.coefficients.d),
        ("E", &mut g.bands.e, &mut g.coefficients.e),
    ] {
        *band = num(f, &format!("band_{grade}"), &format!("{grade}级最低分"))?;
        *coefficient = num(
            f,
            &format!("coefficient_{grade}"),
            &format!("{grade}级系数"),
        )?;
    }
    s.credit_chain = f
        .text("credit_chain")
        .split([',', ',', '、', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<Position>().map_err(|e| format!("审批链:{e}")))
        .collect::<Result<_, _>>()?;
    Ok(s)
}

async fn save_settings(
    s: SignedIn,
    State(state): State<AppState>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    s.admin_only()?;
    let base = state.db.settings().await?.settings;
    // Refused: the form comes back as typed, with the reason.
    let as_typed: Vec<(String, String)> = fields_of(&base)
        .into_iter()
        .map(|(k, _)| {
            let x = f.text(&k);
            (k, x)
        })
        .collect();
    let refused = |why: String| {
        let body = page(
            &s,
            "settings",
            "公司设置",
            html! {
                div.error role="alert" { (why) }
                (settings_form(&s, &as_typed))
            },
        );
        (axum::http::StatusCode::BAD_REQUEST, body).into_response()
    };
    let settings = match typed(&f, &base) {
        Ok(x) => x,
        Err(why) => return Ok(refused(why)),
    };
    match crate::rules::set_settings(&state.db, &s.caller(), settings).await {
        Ok(v) => Ok(done_saying(
            &s,
            "/console/settings",
            &format!("已保存公司设置(第 {} 版)", v.version),
        )),
        Err(crate::caller::ServiceError::BadRequest(why)) => Ok(refused(why)),
        Err(e) => Err(e.into()),
    }
}
