//! Import from Excel/CSV (upload → plan with duplicates → confirm) and the
//! export downloads. The uploaded file waits in memory between the plan and
//! the confirmation, for its uploader only (`crate::state::Uploads`).

use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};

use crm_shared::day::Day;

use super::layout::{csrf, page};
use super::{ConsoleError, Fields, Query, SignedIn};
use crate::audit::{self, Kind as AuditKind};
use crate::error::AppError;
use crate::extract::ClientAddress;
use crate::sheets::{export, import, table, Format, Table};
use crate::state::{AppState, Upload};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/import", get(form).post(upload))
        .route("/import/{upload}/commit", post(commit))
        .route("/export/{file}", get(download))
}

fn head_office(s: &SignedIn) -> Result<(), ConsoleError> {
    if s.head_office() {
        Ok(())
    } else {
        Err(ConsoleError(AppError::Forbidden(
            "只有档案管理员或经理可以导入客户".into(),
        )))
    }
}

async fn form(s: SignedIn) -> Result<Markup, ConsoleError> {
    head_office(&s)?;
    Ok(page(
        &s,
        "import",
        "从 Excel / CSV 导入客户",
        html! {
            p { ("第一行为表头,可用常见中文表头:客户名称、联系人、电话/手机、地址、区域、业务员、税号、信用额度、等级、备注……先试运行,确认后再导入。") }
            form #upload method="post" action="/console/import" enctype="multipart/form-data" {
                (csrf(&s))
                input type="file" name="file" accept=".xlsx,.csv" required;
                " "
                button type="submit" { ("试运行") }
            }
        },
    ))
}

async fn upload(
    s: SignedIn,
    State(state): State<AppState>,
    mut mp: Multipart,
) -> Result<Markup, ConsoleError> {
    head_office(&s)?;
    let bad = |m: String| ConsoleError(AppError::BadRequest(m));
    let (mut token, mut file) = (None, None);
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| bad(format!("上传失败:{e}")))?
    {
        match field.name() {
            Some("_csrf") => token = Some(field.text().await.map_err(|e| bad(e.to_string()))?),
            Some("file") => {
                let name = field.file_name().unwrap_or("上传的文件").to_string();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| bad(format!("上传失败:{e}")))?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    s.check(&Fields(vec![("_csrf".into(), token.unwrap_or_default())]))?;
    let (name, bytes) = file.ok_or_else(|| bad("请选择要导入的文件".into()))?;
    let format = Format::of(&name)?;
    let t = table::read(&bytes, format)?;
    // Planned as imported without the box ticked; the rows that would
    // move are listed for the person to decide.
    let plan = import::plan(&state.db, t, name.clone(), s.login.clone(), false).await?;
    let id = state.uploads.put(Upload {
        login: s.login.clone(),
        file_name: name,
        bytes,
        at: crate::clock::now_ms(),
    });
    Ok(page(
        &s,
        "import",
        "导入预览(试运行,尚未写入)",
        html! {
            p #summary {
                (plan.file_name) ":"
                ("新建 ") b { (plan.creates()) } ","
                ("更新 ") b { (plan.updates()) } ","
                ("疑似重复 ") b { (plan.duplicates()) } ","
                ("错误 ") b { (plan.errors.len()) }
            }
            @if !plan.unknown_headers.is_empty() {
                p.muted { ("未识别的表头(该列忽略):") (plan.unknown_headers.join("、")) }
            }
            @if !plan.errors.is_empty() {
                div.error #errors {
                    p { ("以下行有错误,修改表格后重新上传;有错误时不会导入任何数据。") }
                    ul { @for (line, e) in &plan.errors { li { ("第 ") (line) (" 行:") (e) } } }
                }
            }
            form #commit method="post" action={ "/console/import/" (id) "/commit" } {
                (csrf(&s))
                table #plan {
                    thead { tr { th { ("行") } th { ("客户名称") } th { ("操作") } th { ("疑似重复(请决定)") } } }
                    tbody { @for r in &plan.rows { tr {
                        td { (r.line) } td { (r.name) }
                        td { @match &r.action {
                            import::RowAction::Create => ("新建"),
                            import::RowAction::Update { changes } => {
                                ("更新:")
                                @for c in changes.iter().take(6) { div { (crm_shared::labels::label_of(&c.path)) ":" (c.old.clone().unwrap_or_default()) " → " (c.new.clone().unwrap_or_default()) } }
                            },
                            import::RowAction::Unchanged => ("无变化"),
                        } }
                        td { @if !r.duplicates.is_empty() {
                            @for d in &r.duplicates { div.dup { span.tag.bad { (d.on) ("相同") } " " (d.name) " (" (d.customer) ")" } }
                            label { span { input type="checkbox" name="create" value=(r.line); " " ("仍然新建") } }
                        } }
                    } } }
                }
                @if plan.moves() > 0 {
                    div #moves {
                        p { (plan.moves()) (" 位已有客户属于其他业务员,表格所填的业务员与现有的不同:") }
                        ul { @for r in &plan.rows { @if let Some(m) = &r.moves {
                            li { ("第 ") (r.line) (" 行 ") (r.name) " (" (r.id) "):" (m.from) " → " (m.to) }
                        } } }
                        label { span {
                            input type="checkbox" name="reassign" value="1";
                            " " ("改派这些客户的业务员(不勾选则保留原业务员,只更新其他字段)")
                        } }
                    }
                }
                @if plan.errors.is_empty() {
                    p { button type="submit" { ("确认导入(疑似重复未勾选的跳过)") } }
                }
            }
        },
    ))
}

async fn commit(
    s: SignedIn,
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Path(upload): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Markup, ConsoleError> {
    s.check(&f)?;
    head_office(&s)?;
    let up = state
        .uploads
        .get(&upload, &s.login, crate::clock::now_ms())
        .ok_or_else(|| {
            ConsoleError(AppError::NotFound(
                "找不到这次上传:已过期、已导入,或您之后又上传了多个文件,请重新上传".into(),
            ))
        })?;
    let create: Vec<usize> = f
        .all("create")
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    let t = table::read(&up.bytes, Format::of(&up.file_name)?)?;
    let (_, outcome) = import::commit(
        &state.db,
        t,
        up.file_name.clone(),
        s.login.clone(),
        create,
        false,
        f.get("reassign").is_some(),
    )
    .await?;
    state.uploads.remove(&upload);
    let actor = s.actor(peer);
    let detail = format!(
        "{}:新建 {},更新 {},改派 {}",
        up.file_name, outcome.created, outcome.updated, outcome.reassigned
    );
    let event = audit::event(
        AuditKind::Import,
        &s.login,
        &actor,
        state.clock.now(),
        detail,
    );
    state.db.record_access(event).await?;
    Ok(page(
        &s,
        "import",
        "导入完成",
        html! {
            div.ok #outcome {
                (up.file_name) ":" ("新建 ") (outcome.created) ","
                ("更新 ") (outcome.updated) ","
                ("无变化 ") (outcome.unchanged) ","
                ("跳过疑似重复 ") (outcome.skipped_duplicates)
                @if outcome.reassigned > 0 { "," ("改派 ") (outcome.reassigned) }
                @if outcome.not_reassigned > 0 { "," ("未改派 ") (outcome.not_reassigned) }
            }
            p { a href="/console/customers" { ("查看客户列表") } }
        },
    ))
}

/// `page=N` on a report's export: only that page of it.
#[derive(Debug, Default, serde::Deserialize)]
struct OnlyPage {
    page: Option<usize>,
}

async fn download(
    s: SignedIn,
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Path(file): Path<String>,
    Query(list): Query<super::customers::ListQuery>,
    Query(report): Query<super::reports::Q>,
    Query(only): Query<OnlyPage>,
) -> Result<Response, ConsoleError> {
    let (stem, _) = file
        .rsplit_once('.')
        .ok_or_else(|| ConsoleError(AppError::NotFound("没有这个导出".into())))?;
    let kind = export::Kind::parse(stem)
        .ok_or_else(|| ConsoleError(AppError::NotFound("没有这个导出".into())))?;
    let format = Format::of(&file)?;
    let day = Day::from_millis_local(crate::clock::now_ms());
    // The customer list goes out as filtered and ordered on the page.
    let t = match kind {
        export::Kind::Customers => {
            list.check()?;
            export::customers(&state.db, s.caller(), list.filter()).await
        }
        // A report goes out as filtered on its page: that page, or all.
        export::Kind::Grades => {
            export::grades(&state.db, s.caller(), report.grades(only.page)?).await
        }
        export::Kind::Warnings => {
            export::warnings(&state.db, s.caller(), report.warnings(only.page)?).await
        }
        export::Kind::Followups => {
            export::followups(&state.db, s.caller(), report.followups(only.page)?).await
        }
        export::Kind::Complaints => export::table(&state.db, s.caller(), kind, None, day).await,
    }?;
    send(&state, &s, peer, t, format, (stem, kind.title())).await
}

/// Sends table `t` as a download named after `title` and today (`stem`
/// for programs that cannot read a Chinese file name), and records the
/// export in the access audit.
pub(super) async fn send(
    state: &AppState,
    s: &SignedIn,
    peer: Option<std::net::IpAddr>,
    t: Table,
    format: Format,
    (stem, title): (&str, &str),
) -> Result<Response, ConsoleError> {
    let day = Day::from_millis_local(crate::clock::now_ms());
    let bytes = table::write(&t, format, title)?;
    let actor = s.actor(peer);
    let detail = format!("{title}({} 行)", t.rows.len());
    let event = audit::event(
        AuditKind::Export,
        &s.login,
        &actor,
        state.clock.now(),
        detail,
    );
    state.db.record_access(event).await?;
    let ext = if format == Format::Xlsx {
        "xlsx"
    } else {
        "csv"
    };
    let name = format!("{title}-{day}.{ext}");
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    Ok((
        [
            (header::CONTENT_TYPE, format.mime().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{stem}.{ext}\"; filename*=UTF-8''{encoded}"),
            ),
        ],
        bytes,
    )
        .into_response())
}
