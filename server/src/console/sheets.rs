//! Import from Excel/CSV (upload → plan with duplicates → confirm) and the
//! export downloads. The uploaded file waits in memory between the plan and
//! the confirmation, for its uploader only (`crate::state::Uploads`).

use axum::extract::{Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};

use crm_shared::day::Day;

use super::layout::{csrf, page};
use super::{ConsoleError, Fields, InLang, SignedIn};
use crate::audit::{self, Actor, Kind as AuditKind};
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
        Err(ConsoleError(
            AppError::Forbidden("只有档案管理员或经理可以导入客户".into()),
            s.lang,
        ))
    }
}

async fn form(s: SignedIn) -> Result<Markup, ConsoleError> {
    head_office(&s)?;
    let l = s.lang;
    Ok(page(
        &s,
        "import",
        l.t(
            "从 Excel / CSV 导入客户",
            "Import customers from Excel / CSV",
        ),
        html! {
            p { (l.t("第一行为表头,可用常见中文表头:客户名称、联系人、电话/手机、地址、区域、业务员、税号、信用额度、等级、备注……先试运行,确认后再导入。",
                     "First row is the header; usual Chinese headers work (客户名称, 联系人, 电话, 地址, …). A dry run comes first.")) }
            form #upload method="post" action="/console/import" enctype="multipart/form-data" {
                (csrf(&s))
                input type="file" name="file" accept=".xlsx,.csv" required;
                " "
                button type="submit" { (l.t("试运行", "Dry run")) }
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
    let l = s.lang;
    let bad = |m: String| ConsoleError(AppError::BadRequest(m), l);
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
    let format = Format::of(&name).lang(l)?;
    let t = table::read(&bytes, format).lang(l)?;
    // Planned as imported without the box ticked; the rows that would
    // move are listed for the person to decide.
    let plan = import::plan(&state.db, t, name.clone(), s.login.clone(), false)
        .await
        .lang(l)?;
    let id = state.uploads.put(Upload {
        login: s.login.clone(),
        file_name: name,
        bytes,
        at: crate::clock::now_ms(),
    });
    Ok(page(
        &s,
        "import",
        l.t(
            "导入预览(试运行,尚未写入)",
            "Import preview (dry run, nothing written)",
        ),
        html! {
            p #summary {
                (plan.file_name) ":"
                (l.t("新建 ", "create ")) b { (plan.creates()) } ","
                (l.t("更新 ", "update ")) b { (plan.updates()) } ","
                (l.t("疑似重复 ", "possible duplicates ")) b { (plan.duplicates()) } ","
                (l.t("错误 ", "errors ")) b { (plan.errors.len()) }
            }
            @if !plan.unknown_headers.is_empty() {
                p.muted { (l.t("未识别的表头(该列忽略):", "Headers not understood (ignored): ")) (plan.unknown_headers.join("、")) }
            }
            @if !plan.errors.is_empty() {
                div.error #errors {
                    p { (l.t("以下行有错误,修改表格后重新上传;有错误时不会导入任何数据。", "Fix these rows and upload again; nothing is imported while any row is wrong.")) }
                    ul { @for (line, e) in &plan.errors { li { (l.t("第 ", "Row ")) (line) (l.t(" 行:", ": ")) (e) } } }
                }
            }
            form #commit method="post" action={ "/console/import/" (id) "/commit" } {
                (csrf(&s))
                table #plan {
                    thead { tr { th { (l.t("行", "Row")) } th { (l.t("客户名称", "Name")) } th { (l.t("操作", "Action")) } th { (l.t("疑似重复(请决定)", "Possible duplicates (decide)")) } } }
                    tbody { @for r in &plan.rows { tr {
                        td { (r.line) } td { (r.name) }
                        td { @match &r.action {
                            import::RowAction::Create => (l.t("新建", "create")),
                            import::RowAction::Update { changes } => {
                                (l.t("更新:", "update: "))
                                @for c in changes.iter().take(6) { div { (crm_shared::labels::label_of(&c.path)) ":" (c.old.clone().unwrap_or_default()) " → " (c.new.clone().unwrap_or_default()) } }
                            },
                            import::RowAction::Unchanged => (l.t("无变化", "unchanged")),
                        } }
                        td { @if !r.duplicates.is_empty() {
                            @for d in &r.duplicates { div.dup { span.tag.bad { (d.on) (l.t("相同", " matches")) } " " (d.name) " (" (d.customer) ")" } }
                            label { span { input type="checkbox" name="create" value=(r.line); " " (l.t("仍然新建", "create anyway")) } }
                        } }
                    } } }
                }
                @if plan.moves() > 0 {
                    div #moves {
                        p { (plan.moves()) (l.t(" 位已有客户属于其他业务员,表格所填的业务员与现有的不同:", " customers on file belong to another salesperson than the sheet names:")) }
                        ul { @for r in &plan.rows { @if let Some(m) = &r.moves {
                            li { (l.t("第 ", "Row ")) (r.line) (l.t(" 行 ", " ")) (r.name) " (" (r.id) "):" (m.from) " → " (m.to) }
                        } } }
                        label { span {
                            input type="checkbox" name="reassign" value="1";
                            " " (l.t("改派这些客户的业务员(不勾选则保留原业务员,只更新其他字段)", "Move these customers to the salesperson the sheet names (unticked: keep their salesperson, update the rest)"))
                        } }
                    }
                }
                @if plan.errors.is_empty() {
                    p { button type="submit" { (l.t("确认导入(疑似重复未勾选的跳过)", "Import (unticked duplicates are skipped)")) } }
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
    let l = s.lang;
    let up = state
        .uploads
        .get(&upload, &s.login, crate::clock::now_ms())
        .ok_or_else(|| {
            ConsoleError(
                AppError::NotFound(
                    "找不到这次上传:已过期、已导入,或您之后又上传了多个文件,请重新上传".into(),
                ),
                l,
            )
        })?;
    let create: Vec<usize> = f
        .all("create")
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    let t = table::read(&up.bytes, Format::of(&up.file_name).lang(l)?).lang(l)?;
    let (_, outcome) = import::commit(
        &state.db,
        t,
        up.file_name.clone(),
        s.login.clone(),
        create,
        false,
        f.get("reassign").is_some(),
    )
    .await
    .lang(l)?;
    state.uploads.remove(&upload);
    let actor = Actor {
        login: Some(s.login.clone()),
        address: peer.map(|a| a.to_string()),
    };
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
    state.db.record_access(event).await.lang(l)?;
    Ok(page(
        &s,
        "import",
        l.t("导入完成", "Import done"),
        html! {
            div.ok #outcome {
                (up.file_name) ":" (l.t("新建 ", "created ")) (outcome.created) ","
                (l.t("更新 ", "updated ")) (outcome.updated) ","
                (l.t("无变化 ", "unchanged ")) (outcome.unchanged) ","
                (l.t("跳过疑似重复 ", "duplicates skipped ")) (outcome.skipped_duplicates)
                @if outcome.reassigned > 0 { "," (l.t("改派 ", "moved ")) (outcome.reassigned) }
                @if outcome.not_reassigned > 0 { "," (l.t("未改派 ", "not moved ")) (outcome.not_reassigned) }
            }
            p { a href="/console/customers" { (l.t("查看客户列表", "Customer list")) } }
        },
    ))
}

async fn download(
    s: SignedIn,
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    Path(file): Path<String>,
    Query(list): Query<super::customers::ListQuery>,
) -> Result<Response, ConsoleError> {
    let l = s.lang;
    let (stem, _) = file
        .rsplit_once('.')
        .ok_or_else(|| ConsoleError(AppError::NotFound("没有这个导出".into()), l))?;
    let kind = export::Kind::parse(stem)
        .ok_or_else(|| ConsoleError(AppError::NotFound("没有这个导出".into()), l))?;
    let format = Format::of(&file).lang(l)?;
    let day = Day::from_millis_local(crate::clock::now_ms());
    // The customer list goes out as filtered and ordered on the page.
    let t = match kind {
        export::Kind::Customers => {
            list.check(l)?;
            export::customers(&state.db, s.caller(), list.filter()).await
        }
        _ => export::table(&state.db, s.caller(), kind, None, day).await,
    }
    .lang(l)?;
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
    let l = s.lang;
    let day = Day::from_millis_local(crate::clock::now_ms());
    let bytes = table::write(&t, format, title).lang(l)?;
    let actor = Actor {
        login: Some(s.login.clone()),
        address: peer.map(|a| a.to_string()),
    };
    let detail = format!("{title}({} 行)", t.rows.len());
    let event = audit::event(
        AuditKind::Export,
        &s.login,
        &actor,
        state.clock.now(),
        detail,
    );
    state.db.record_access(event).await.lang(l)?;
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
