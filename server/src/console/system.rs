//! Operations pages: each device's sync status (last sync, what it has not
//! received yet, revoked) and the backup node's lag.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use crm_shared::codes::Role;

use super::layout::{csrf, flash, page, when};
use super::people::People;
use super::{ConsoleError, Notice, Query, SignedIn, CONSOLE_DEVICE};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/devices", get(devices))
        .route("/backup", get(backup))
}

async fn devices(
    s: SignedIn,
    State(state): State<AppState>,
    Query(n): Query<Notice>,
) -> Result<Markup, ConsoleError> {
    s.only(&[Role::Admin, Role::Manager, Role::Clerk])?;
    let admin = s.role == Role::Admin;
    let devices = state.db.devices().await?;
    let syncs = state.syncs.lock().map(|m| m.clone()).unwrap_or_default();
    // What each device has not received: log entries after its cursor that
    // its user sees.
    let users = state.db.users().await?;
    let people = People::load(&state).await?;
    // Console sign-ins are one row per person, apart from the laptops: a
    // clerk signing in daily would otherwise bury them.
    let (browsers, laptops): (Vec<_>, Vec<_>) =
        devices.into_iter().partition(|d| d.name == CONSOLE_DEVICE);
    let mut rows = Vec::new();
    for d in laptops {
        let sync = syncs.get(&d.id).copied();
        let behind = match sync {
            Some(x) => {
                let all = users
                    .iter()
                    .find(|u| u.login == d.login)
                    .is_some_and(|u| crm_shared::access::sees_all(u.role));
                let login = d.login.clone();
                Some(
                    state
                        .db
                        .read_with(move |conn| {
                            Ok::<_, crate::db::DbError>(crate::db::documents::changed_count(
                                conn,
                                x.cursor as i64,
                                &login,
                                all,
                            )?)
                        })
                        .await?,
                )
            }
            None => None,
        };
        rows.push((d, sync, behind));
    }
    let sessions = console_sessions(&browsers);
    let who = |login: &str| {
        html! { (people.name(login)) @if people.name(login) != login { " " span.muted { (login) } } }
    };
    Ok(page(
        &s,
        "devices",
        "设备同步状态",
        html! {
            (flash(n.text(&s)))
            h2 { ("笔记本") }
            p.muted { ("“最近同步”与“待接收”自服务器本次启动起记录;“最近访问”为任何请求。") }
            table #devices {
                thead { tr { th { ("用户") } th { ("设备") } th { ("登录时间") } th { ("最近访问") }
                    th { ("最近同步") } th { ("本次上传") } th { ("待备份确认") } th { ("待接收的客户") } th { ("状态") }
                    @if admin { th { ("停用") } } } }
                tbody { @for (d, sync, behind) in &rows { tr {
                    td { (who(&d.login)) } td { (d.name) } td { (when(Some(d.created_at))) } td { (when(d.last_seen_at)) }
                    td { (when(sync.map(|x| x.at))) } td.num { @if let Some(x) = sync { (x.pushed) } }
                    td.num { @if let Some(x) = sync { (x.unconfirmed) } } td.num { @if let Some(b) = behind { (b) } }
                    td { @if d.revoked_at.is_some() { span.tag.bad { ("已停用") " " (when(d.revoked_at)) } } @else { ("正常") } }
                    // A lost laptop: its token stops at once, and its next
                    // sync wipes what it holds.
                    @if admin { td { @if d.revoked_at.is_none() {
                        form.inline method="post" action={ "/console/devices/" (d.id) "/revoke" } {
                            (csrf(&s)) button type="submit" { ("停用此设备") }
                        }
                    } } }
                } } }
            }
            @if rows.is_empty() { p.muted { ("还没有笔记本登录过") } }
            h2 { ("网页控制台登录") }
            table #console-sessions {
                thead { tr { th { ("用户") } th { ("最近登录") } th { ("最近访问") }
                    th { ("仍登录的会话") } th { ("登录次数") } } }
                tbody { @for x in &sessions { tr {
                    td { (who(&x.login)) } td { (when(Some(x.last_sign_in))) } td { (when(x.last_seen)) }
                    td.num { (x.open) } td.num { (x.sign_ins) }
                } } }
            }
        },
    ))
}

/// One person's console sign-ins.
struct Sessions {
    login: String,
    last_sign_in: i64,
    last_seen: Option<i64>,
    open: usize,
    sign_ins: usize,
}

/// The console sessions of `browsers`, one entry per person, the most
/// recently seen first.
fn console_sessions(browsers: &[crate::db::Device]) -> Vec<Sessions> {
    let mut by: std::collections::BTreeMap<&str, Sessions> = Default::default();
    for d in browsers {
        let x = by.entry(&d.login).or_insert_with(|| Sessions {
            login: d.login.clone(),
            last_sign_in: d.created_at,
            last_seen: None,
            open: 0,
            sign_ins: 0,
        });
        x.last_sign_in = x.last_sign_in.max(d.created_at);
        x.last_seen = x.last_seen.max(d.last_seen_at);
        x.open += usize::from(d.revoked_at.is_none());
        x.sign_ins += 1;
    }
    let mut v: Vec<Sessions> = by.into_values().collect();
    v.sort_by_key(|x| std::cmp::Reverse(x.last_seen.unwrap_or(x.last_sign_in)));
    v
}

async fn backup(s: SignedIn, State(state): State<AppState>) -> Result<Markup, ConsoleError> {
    s.only(&[Role::Admin, Role::Manager, Role::BackupOperator])?;
    let lag = state.backup.lag(&state.db, crate::clock::now_ms()).await?;
    Ok(page(
        &s,
        "backup",
        "备份状态",
        html! {
            @match &lag {
                None => p.error #backup { ("服务器启动以来还没有备份机连接。") },
                Some(b) => table #backup {
                    tr { th { ("服务器最新位置") } td.num { (b.head) } }
                    tr { th { ("备份机已确认") } td.num { (b.confirmed) } }
                    tr { th { ("落后(条)") } td.num { (b.behind_changes) } }
                    tr { th { ("落后(秒)") } td.num { (format!("{:.1}", b.behind_seconds)) } }
                    tr { th { ("最近联系") } td.num { (format!("{:.1}", b.last_contact_ms_ago as f64 / 1000.0)) (" 秒前") } }
                    tr { th { ("零丢失模式") } td { @if b.zero_loss { ("开启") } @else { ("关闭") } } }
                },
            }
        },
    ))
}
