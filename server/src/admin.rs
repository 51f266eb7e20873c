//! The administrator's commands (`crm-server user …`, `crm-server device …`).
//!
//! They work on the data directory's database directly, so they also work
//! while the server is stopped; while it runs, SQLite's locking keeps both
//! safe. Output is Chinese for people, or JSON with `--json` (codes, not
//! labels; times in ms since the epoch). Passwords are read from one line of
//! standard input (`--password-stdin`), the `CRM_PASSWORD` variable, or a
//! prompt that does not echo, and are never printed.

use std::io::Write;

use crm_shared::codes::{Position, Role};
use crm_shared::settings::Settings;
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, Actor, Kind};
use crate::clock::{days_ms, local_minutes, now_ms};
use crate::config::DataDir;
use crate::credentials::{check_new_password, hash_password, CredentialError};
use crate::db::{Db, DbError, Device, NewUser, User};

/// Environment variable holding a password for `user add` / `user passwd`.
pub const PASSWORD_ENV: &str = "CRM_PASSWORD";

/// Why an admin command failed; the message is one line for people.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The login is taken.
    #[error("用户 {0} 已存在")]
    UserExists(String),
    /// No user with this login.
    #[error("没有用户 {0}")]
    NoSuchUser(String),
    /// No device with this id.
    #[error("没有编号为 {0} 的设备(用 crm-server device list 查看)")]
    NoSuchDevice(String),
    /// An argument is not acceptable; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// The data directory holds no server database.
    #[error(
        "数据目录 {} 中没有服务器数据库(找的是 {});请检查 --data-dir 或 CRM_DATA_DIR。新服务器请先用 crm-server user add 添加第一个用户",
        .dir.display(),
        .file.display()
    )]
    NoDatabase {
        /// The directory looked at.
        dir: std::path::PathBuf,
        /// The database file that is not there.
        file: std::path::PathBuf,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Hashing the password failed.
    #[error(transparent)]
    Hash(#[from] CredentialError),
    /// Reading input or writing output failed.
    #[error("读写失败:{0}")]
    Io(#[from] std::io::Error),
}

/// Opens the server database of `data_dir` for an admin command, which
/// works on an existing server: a directory without one (a typo in
/// --data-dir) is refused rather than given a new empty database. Only
/// `user add` and starting the server create one.
pub async fn open_existing(data_dir: &DataDir) -> Result<Db, AdminError> {
    let file = data_dir.db_path();
    if !file.is_file() {
        return Err(AdminError::NoDatabase {
            dir: data_dir.path().to_path_buf(),
            file,
        });
    }
    Ok(Db::open(&file).await?)
}

/// Gets a new password: from one stdin line, else `CRM_PASSWORD`, else a
/// prompt on the terminal (asked twice). Checks it against the rule for
/// `login`'s passwords.
pub fn read_new_password(login: &str, from_stdin: bool) -> Result<String, AdminError> {
    use crm_usage::password::{read_new, NewPassword};
    let password = match read_new(from_stdin, PASSWORD_ENV, "新密码:", "再输入一次:")? {
        NewPassword::Given(password) => password,
        NewPassword::Mismatch => return Err(AdminError::Invalid("两次输入的密码不一致".into())),
        NewPassword::Missing => {
            return Err(AdminError::Invalid(format!(
                "请用 --password-stdin(从标准输入读一行)或环境变量 {PASSWORD_ENV} 提供密码"
            )))
        }
    };
    check_new_password(login.trim(), &password).map_err(AdminError::Invalid)?;
    Ok(password)
}

/// An account to create, as typed (checked by [`user_add`]).
#[derive(Debug)]
pub struct NewAccount {
    /// Login.
    pub login: String,
    /// Name shown to people.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Approval position, if any.
    pub position: Option<Position>,
    /// The first password.
    pub password: String,
    /// Whether its holder must choose their own at first sign-in (an
    /// administrator typed this one in the console and has seen it).
    pub must_change_password: bool,
}

/// `user add`: creates an account.
pub async fn user_add(db: &Db, actor: &Actor, a: NewAccount) -> Result<String, AdminError> {
    let NewAccount {
        login,
        display_name,
        role,
        position,
        password,
        must_change_password,
    } = a;
    let login = check_login(&login)?;
    let display_name = display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        return Err(AdminError::Invalid(
            "姓名不能为空,且不超过 100 个字符".into(),
        ));
    }
    let password_hash = hash_password(password).await?;
    let new = NewUser {
        login: login.to_owned(),
        display_name: display_name.to_owned(),
        role,
        password_hash,
        password_expires_at: None,
        position,
        must_change_password,
    };
    match db.insert_user(new).await {
        Err(DbError::AlreadyExists) => Err(AdminError::UserExists(login.to_owned())),
        other => other.map_err(AdminError::from),
    }?;
    let detail = format!("{display_name},{}", role.label());
    audited(db, actor, Kind::UserAdded, login, detail).await;
    Ok(format!(
        "已添加用户 {login}({display_name},{})",
        role.label()
    ))
}

/// `user position`: sets (or with "none", clears) a user's approval position.
pub async fn user_set_position(
    db: &Db,
    actor: &Actor,
    login: &str,
    position: &str,
) -> Result<String, AdminError> {
    let position = match position.trim() {
        "none" | "无" | "" => None,
        p => Some(
            p.parse::<Position>()
                .map_err(|e| AdminError::Invalid(e.to_string()))?,
        ),
    };
    match db.set_position(login, position).await {
        Err(DbError::NotFound) => return Err(AdminError::NoSuchUser(login.to_owned())),
        other => other?,
    }
    let detail = match position {
        Some(p) => format!("审批职位:{}", p.label()),
        None => "清除审批职位".into(),
    };
    audited(db, actor, Kind::RoleChanged, login, detail).await;
    Ok(match position {
        Some(p) => format!("用户 {login} 的审批职位:{}", p.label()),
        None => format!("已清除用户 {login} 的审批职位"),
    })
}

/// Changes a user's role (the console's user administration); every
/// request checks the role afresh, so it holds from their next one.
pub async fn user_set_role(
    db: &Db,
    actor: &Actor,
    login: &str,
    role: Role,
) -> Result<String, AdminError> {
    match db.set_role(login, role).await {
        Err(DbError::NotFound) => return Err(AdminError::NoSuchUser(login.to_owned())),
        other => other?,
    }
    let detail = format!("角色改为{}", role.label());
    audited(db, actor, Kind::RoleChanged, login, detail).await;
    Ok(format!("用户 {login} 的角色已改为{}", role.label()))
}

/// `settings show`: the company settings as JSON.
pub async fn settings_show(db: &Db, out: &mut dyn Write) -> Result<(), AdminError> {
    let s = db.settings().await?;
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&s).expect("settings serialise")
    )?;
    Ok(())
}

/// `settings set FILE`: replaces the company settings after checking them.
pub async fn settings_set(
    db: &Db,
    out: &mut dyn Write,
    file: &std::path::Path,
) -> Result<(), AdminError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| AdminError::Invalid(format!("无法读取 {}:{e}", file.display())))?;
    let settings = Settings::from_json(&text).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let version = db.set_settings(settings).await?;
    writeln!(out, "已保存公司设置(第 {version} 版),笔记本下次同步时生效")?;
    Ok(())
}

/// What `sheet` does with rows that look like customers already on file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Duplicates {
    /// Create these rows (by the line numbers the plan lists); skip the rest.
    Create(Vec<usize>),
    /// Create every one (`--create-duplicates`).
    CreateAll,
}

/// `sheet FILE`: plans an import from a spreadsheet, prints the plan, and
/// unless `dry_run` imports it in one transaction. Customers on file keep
/// their salesperson unless `reassign`; the plan says how many would move.
#[allow(clippy::too_many_arguments)]
pub async fn sheet_import(
    db: &Db,
    out: &mut dyn Write,
    file: &std::path::Path,
    by: &str,
    dry_run: bool,
    duplicates: Duplicates,
    reassign: bool,
    json: bool,
) -> Result<(), AdminError> {
    use crate::sheets::{import, table, Format};
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let format = Format::of(&name).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let bytes = std::fs::read(file)
        .map_err(|e| AdminError::Invalid(format!("无法读取 {}:{e}", file.display())))?;
    let t = table::read(&bytes, format).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let invalid = |e: crate::caller::ServiceError| AdminError::Invalid(e.to_string());
    let plan = import::plan(db, t.clone(), name.clone(), by.to_owned(), reassign)
        .await
        .map_err(invalid)?;
    let (rows, all) = match duplicates {
        Duplicates::Create(rows) => (rows, false),
        Duplicates::CreateAll => (Vec::new(), true),
    };
    // A row number that names no duplicate is a typo; importing anyway
    // would skip the row the operator meant.
    let stray: Vec<String> = rows
        .iter()
        .filter(|n| {
            !plan
                .rows
                .iter()
                .any(|r| r.line == **n && !r.duplicates.is_empty())
        })
        .map(|n| n.to_string())
        .collect();
    if !stray.is_empty() {
        return Err(AdminError::Invalid(format!(
            "--create-row 所指的第 {} 行不是疑似重复的行,未导入任何数据;请按试运行列出的行号指定",
            stray.join("、")
        )));
    }
    let outcome = if dry_run || !plan.errors.is_empty() {
        None
    } else {
        Some(
            import::commit(db, t, name.clone(), by.to_owned(), rows, all, reassign)
                .await
                .map_err(invalid)?
                .1,
        )
    };
    if let Some(o) = &outcome {
        let detail = format!(
            "{name}:新建 {},更新 {},改派 {}(记为 {by})",
            o.created, o.updated, o.reassigned
        );
        audited(
            db,
            &Actor::command_line(),
            Kind::Import,
            "crm-server",
            detail,
        )
        .await;
    }
    if json {
        writeln!(
            out,
            "{}",
            serde_json::json!({"plan": plan, "imported": outcome})
        )?;
    } else {
        writeln!(
            out,
            "{}:新建 {} 个,更新 {} 个,疑似重复 {} 行,错误 {} 行",
            plan.file_name,
            plan.creates(),
            plan.updates(),
            plan.duplicates(),
            plan.errors.len()
        )?;
        if !plan.unknown_headers.is_empty() {
            writeln!(
                out,
                "未识别的表头(已忽略):{}",
                plan.unknown_headers.join("、")
            )?;
        }
        for (line, e) in &plan.errors {
            writeln!(out, "  第 {line} 行:{e}")?;
        }
        for r in plan.rows.iter().filter(|r| !r.duplicates.is_empty()) {
            let with: Vec<String> = r
                .duplicates
                .iter()
                .map(|d| format!("{}相同:{}({})", d.on, d.name, d.customer))
                .collect();
            writeln!(
                out,
                "  第 {} 行 {} 疑似重复:{}",
                r.line,
                r.name,
                with.join(";")
            )?;
        }
        if plan.moves() > 0 {
            if reassign {
                writeln!(
                    out,
                    "{} 位已有客户的业务员改为表格所填(--reassign):",
                    plan.moves()
                )?;
            } else {
                writeln!(
                    out,
                    "{} 位已有客户属于其他业务员,表格所填的业务员未改派(其他字段照常更新);要改派请加 --reassign:",
                    plan.moves()
                )?;
            }
            for r in &plan.rows {
                if let Some(m) = &r.moves {
                    writeln!(
                        out,
                        "  第 {} 行 {}({}):{} → {}",
                        r.line, r.name, r.id, m.from, m.to
                    )?;
                }
            }
        }
        if plan.duplicates() > 0 && outcome.is_none() && plan.errors.is_empty() {
            writeln!(
                out,
                "疑似重复的行默认跳过;要仍然新建某行,加 --create-row 行号(可多次),全部新建加 --create-duplicates"
            )?;
        }
        match outcome {
            Some(o) => writeln!(
                out,
                "已导入:新建 {},更新 {},未变 {},跳过疑似重复 {},改派 {},未改派 {}",
                o.created,
                o.updated,
                o.unchanged,
                o.skipped_duplicates,
                o.reassigned,
                o.not_reassigned
            )?,
            None if !plan.errors.is_empty() => writeln!(out, "有错误,未导入任何数据")?,
            None => writeln!(out, "试运行,未写入")?,
        }
    }
    if !plan.errors.is_empty() {
        return Err(AdminError::Invalid(format!(
            "表格有 {} 行错误,未导入",
            plan.errors.len()
        )));
    }
    Ok(())
}

/// `export KIND --out FILE`: writes an export as .xlsx or .csv.
pub async fn export(
    db: &Db,
    out: &mut dyn Write,
    kind: &str,
    file: &std::path::Path,
    salesperson: Option<String>,
) -> Result<(), AdminError> {
    use crate::sheets::{export, table, Format};
    let k = export::Kind::parse(kind).ok_or_else(|| {
        AdminError::Invalid(format!(
            "不能导出“{kind}”,可选:customers、grades、warnings、complaints、followups"
        ))
    })?;
    let format =
        Format::of(&file.to_string_lossy()).map_err(|e| AdminError::Invalid(e.to_string()))?;
    // The command line acts with head office's view of everything.
    let caller = crate::caller::Caller {
        login: "admin".into(),
        role: Role::Manager,
        device_id: "命令行".into(),
    };
    let day = crm_shared::day::Day::from_millis_local(now_ms());
    let t = export::table(db, caller, k, salesperson, day)
        .await
        .map_err(|e| AdminError::Invalid(e.to_string()))?;
    let bytes =
        table::write(&t, format, k.title()).map_err(|e| AdminError::Invalid(e.to_string()))?;
    std::fs::write(file, bytes)
        .map_err(|e| AdminError::Invalid(format!("无法写入 {}:{e}", file.display())))?;
    let detail = format!("{} {} 行 → {}", k.title(), t.rows.len(), file.display());
    audited(
        db,
        &Actor::command_line(),
        Kind::Export,
        "crm-server",
        detail,
    )
    .await;
    writeln!(
        out,
        "已导出{} {} 行到 {}",
        k.title(),
        t.rows.len(),
        file.display()
    )?;
    Ok(())
}

/// `user list`: every account, as a table or JSON.
pub async fn user_list(db: &Db, out: &mut dyn Write, json: bool) -> Result<(), AdminError> {
    let users = db.users().await?;
    let now = now_ms();
    if json {
        let rows: Vec<UserJson> = users.iter().map(|u| UserJson::new(u, now)).collect();
        serde_json::to_writer_pretty(&mut *out, &rows).map_err(std::io::Error::from)?;
        writeln!(out)?;
        return Ok(());
    }
    if users.is_empty() {
        writeln!(out, "还没有用户。用 crm-server user add 添加。")?;
        return Ok(());
    }
    let mut table = Table::new(["登录名", "姓名", "角色", "状态", "密码到期", "创建时间"]);
    for u in &users {
        table.row([
            u.login.clone(),
            u.display_name.clone(),
            u.role.label().to_owned(),
            user_state(u, now).to_owned(),
            u.password_expires_at
                .map_or_else(|| "不过期".to_owned(), local_minutes),
            local_minutes(u.created_at),
        ]);
    }
    table.write(out)?;
    Ok(())
}

/// `user passwd`: an administrator resets a password, expiring in
/// `expires_in_days` if given. The holder must choose a new one at their
/// next sign-in: the administrator has seen this one.
pub async fn user_passwd(
    db: &Db,
    actor: &Actor,
    login: &str,
    password: String,
    expires_in_days: Option<u32>,
) -> Result<String, AdminError> {
    let hash = hash_password(password).await?;
    let now = now_ms();
    let expires_at = expires_in_days.map(|days| now + days_ms(days));
    let event = audit::event(Kind::PasswordReset, login, actor, now, "");
    match db.set_password(login, hash, expires_at, true, event).await {
        Err(DbError::NotFound) => return Err(AdminError::NoSuchUser(login.to_owned())),
        other => other?,
    }
    Ok(match expires_at {
        Some(at) => format!(
            "已为 {login} 重设密码,于 {} 过期;下次登录时须改为自己的新密码",
            local_minutes(at)
        ),
        None => format!("已为 {login} 重设密码;下次登录时须改为自己的新密码"),
    })
}

/// `user unlock`: lifts the lock that failed sign-ins put on `login`.
pub async fn user_unlock(db: &Db, out: &mut dyn Write, login: &str) -> Result<(), AdminError> {
    let login = login.trim();
    let event = audit::event(Kind::Unlocked, login, &Actor::command_line(), now_ms(), "");
    if db.clear_sign_in_failures(login, Some(event)).await? {
        writeln!(out, "已解除 {login} 的登录锁定")?;
    } else {
        writeln!(out, "{login} 没有被锁定,也没有登录失败的记录")?;
    }
    Ok(())
}

/// `user locked`: logins locked now by failed sign-ins.
pub async fn user_locked(db: &Db, out: &mut dyn Write) -> Result<(), AdminError> {
    let now = now_ms();
    let locked = db.locked_logins(now).await?;
    if locked.is_empty() {
        writeln!(out, "没有被锁定的登录名。")?;
        return Ok(());
    }
    let mut table = Table::new(["登录名", "连续失败", "锁定到"]);
    for l in &locked {
        table.row([
            l.login.clone(),
            l.failures.to_string(),
            local_minutes(l.until),
        ]);
    }
    table.write(out)?;
    writeln!(out, "用 crm-server user unlock <登录名> 解除锁定。")?;
    Ok(())
}

/// `crm-server audit`: which entries, and how to print them.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    /// Only entries about (or by) this login.
    pub user: Option<String>,
    /// Only this kind (code or Chinese name).
    pub kind: Option<String>,
    /// From this day on (YYYY-MM-DD).
    pub since: Option<String>,
    /// Up to and including this day (YYYY-MM-DD).
    pub until: Option<String>,
    /// At most this many, newest first.
    pub limit: usize,
    /// `table`, `json` or `csv`.
    pub format: String,
}

/// `crm-server audit`: the audit of access, filtered.
pub async fn audit(db: &Db, out: &mut dyn Write, q: AuditQuery) -> Result<(), AdminError> {
    let day = |what: &str, text: &Option<String>, next: bool| -> Result<Option<i64>, AdminError> {
        let Some(t) = text.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let d: crm_shared::day::Day = t
            .parse()
            .map_err(|e| AdminError::Invalid(format!("--{what}:{e}")))?;
        let d = if next { d.plus_days(1) } else { d };
        Ok(d.0
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(chrono::Local).earliest())
            .map(|t| t.timestamp_millis()))
    };
    let kind = match q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(
            Kind::parse(k)
                .ok_or_else(|| {
                    AdminError::Invalid(format!(
                        "没有“{k}”这类记录;可选:{}",
                        Kind::ALL
                            .iter()
                            .map(|k| format!("{}({})", k.code(), k.label()))
                            .collect::<Vec<_>>()
                            .join("、")
                    ))
                })?
                .code()
                .to_string(),
        ),
    };
    let filter = crate::db::access::AccessFilter {
        login: q.user.filter(|u| !u.trim().is_empty()),
        kind,
        since: day("since", &q.since, false)?,
        until: day("until", &q.until, true)?,
        limit: q.limit.clamp(1, 100_000),
    };
    let events = db.access_log(filter).await?;
    match q.format.as_str() {
        "json" => {
            serde_json::to_writer_pretty(&mut *out, &events).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        "csv" => {
            let bytes = crate::sheets::table::write(
                &crate::sheets::export::access_log(&events),
                crate::sheets::Format::Csv,
                "访问审计",
            )
            .map_err(|e| AdminError::Invalid(e.to_string()))?;
            out.write_all(&bytes)?;
        }
        "table" => {
            if events.is_empty() {
                writeln!(out, "没有符合条件的记录。")?;
                return Ok(());
            }
            let t = crate::sheets::export::access_log(&events);
            let mut table =
                Table::new(["时间", "事件", "账号", "操作人", "来源地址", "设备", "说明"]);
            for row in &t.rows {
                let cell = |i: usize| row.get(i).map(|c| c.text()).unwrap_or_default();
                table.row([
                    cell(0),
                    cell(1),
                    cell(2),
                    cell(3),
                    cell(4),
                    cell(5),
                    cell(6),
                ]);
            }
            table.write(out)?;
        }
        other => {
            return Err(AdminError::Invalid(format!(
                "--format 应为 table、json 或 csv,不是“{other}”"
            )))
        }
    }
    Ok(())
}

/// Writes an audit entry for what `actor` (the server's own command line,
/// or an administrator in the console) did; a failure to write it is
/// logged, not a failure of the command.
pub async fn audited(db: &Db, actor: &Actor, kind: Kind, login: &str, detail: String) {
    let event = audit::event(kind, login, actor, now_ms(), detail);
    if let Err(e) = db.record_access(event).await {
        tracing::warn!(error = %e, "无法写入访问审计");
    }
}

/// `user disable` / `user enable`.
pub async fn user_set_disabled(
    db: &Db,
    actor: &Actor,
    login: &str,
    disabled: bool,
) -> Result<String, AdminError> {
    match db.set_disabled(login, disabled).await {
        Err(DbError::NotFound) => return Err(AdminError::NoSuchUser(login.to_owned())),
        other => other?,
    }
    let detail = if disabled { "停用" } else { "启用" };
    audited(db, actor, Kind::UserDisabled, login, detail.into()).await;
    Ok(if disabled {
        format!("已停用用户 {login}:不能再登录,其设备的请求将被拒绝")
    } else {
        format!("已启用用户 {login}")
    })
}

/// `device list`: every device, newest first, as a table or JSON.
pub async fn device_list(db: &Db, out: &mut dyn Write, json: bool) -> Result<(), AdminError> {
    let devices = db.devices().await?;
    if json {
        let rows: Vec<DeviceJson> = devices.iter().map(DeviceJson::from).collect();
        serde_json::to_writer_pretty(&mut *out, &rows).map_err(std::io::Error::from)?;
        writeln!(out)?;
        return Ok(());
    }
    if devices.is_empty() {
        writeln!(out, "还没有设备。笔记本用 crm login 登录后会出现在这里。")?;
        return Ok(());
    }
    let mut table = Table::new([
        "设备编号",
        "用户",
        "设备名称",
        "登录时间",
        "最近访问",
        "状态",
    ]);
    for d in &devices {
        table.row([
            d.id.to_string(),
            d.login.clone(),
            d.name.clone(),
            local_minutes(d.created_at),
            d.last_seen_at.map_or_else(|| "-".to_owned(), local_minutes),
            match d.revoked_at {
                Some(at) => format!("已停用({})", local_minutes(at)),
                None => "正常".to_owned(),
            },
        ]);
    }
    table.write(out)?;
    Ok(())
}

/// `device revoke`: the device's token stops working at once.
pub async fn device_revoke(db: &Db, actor: &Actor, id: &str) -> Result<String, AdminError> {
    let uuid: Uuid = id
        .trim()
        .parse()
        .map_err(|_| AdminError::Invalid(format!("“{id}”不是有效的设备编号")))?;
    let now = now_ms();
    let actor = actor.clone();
    let revoked = db.revoke_device(uuid, now, move |d| {
        let mut event = audit::event(Kind::DeviceRevoked, &d.login, &actor, now, d.name.clone());
        event.device_id = Some(d.id.to_string());
        event
    });
    let device = match revoked.await {
        Err(DbError::NotFound) => return Err(AdminError::NoSuchDevice(id.to_owned())),
        other => other?,
    };
    Ok(match device.revoked_at {
        Some(at) if at < now => format!(
            "设备 {}({},用户 {})早在 {} 已停用",
            device.id,
            device.name,
            device.login,
            local_minutes(at)
        ),
        _ => format!(
            "已停用设备 {}({},用户 {})。它下次同步时会被拒绝,并清除本机客户数据。",
            device.id, device.name, device.login
        ),
    })
}

fn check_login(login: &str) -> Result<&str, AdminError> {
    let login = login.trim();
    let bad = login.is_empty()
        || login.chars().count() > 64
        || login.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad {
        return Err(AdminError::Invalid(
            "登录名不能为空、不能含空格,且不超过 64 个字符".into(),
        ));
    }
    Ok(login)
}

fn user_state(user: &User, now: i64) -> &'static str {
    if user.disabled {
        "已停用"
    } else if user.password_expires_at.is_some_and(|at| at <= now) {
        "密码已过期"
    } else {
        "正常"
    }
}

#[derive(Serialize)]
struct UserJson<'a> {
    login: &'a str,
    display_name: &'a str,
    role: Role,
    disabled: bool,
    password_expires_at: Option<i64>,
    password_expired: bool,
    created_at: i64,
}

impl<'a> UserJson<'a> {
    fn new(u: &'a User, now: i64) -> Self {
        UserJson {
            login: &u.login,
            display_name: &u.display_name,
            role: u.role,
            disabled: u.disabled,
            password_expires_at: u.password_expires_at,
            password_expired: u.password_expires_at.is_some_and(|at| at <= now),
            created_at: u.created_at,
        }
    }
}

#[derive(Serialize)]
struct DeviceJson<'a> {
    id: String,
    login: &'a str,
    name: &'a str,
    created_at: i64,
    last_seen_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl<'a> From<&'a Device> for DeviceJson<'a> {
    fn from(d: &'a Device) -> Self {
        DeviceJson {
            id: d.id.to_string(),
            login: &d.login,
            name: &d.name,
            created_at: d.created_at,
            last_seen_at: d.last_seen_at,
            revoked_at: d.revoked_at,
        }
    }
}

/// A plain-text table whose columns line up with Chinese text (which takes
/// two terminal columns per character).
struct Table<const N: usize> {
    rows: Vec<[String; N]>,
}

impl<const N: usize> Table<N> {
    fn new(header: [&str; N]) -> Self {
        Table {
            rows: vec![header.map(str::to_owned)],
        }
    }

    fn row(&mut self, cells: [String; N]) {
        self.rows.push(cells);
    }

    fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut widths = [0usize; N];
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(display_width(cell));
            }
        }
        for row in &self.rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < N {
                    let pad = widths[i] - display_width(cell) + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Terminal columns of `s`: two for East Asian wide characters, one otherwise.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let wide = matches!(c as u32,
                0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
                | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6
                | 0x20000..=0x3FFFD);
            if wide {
                2
            } else {
                1
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_chinese_and_latin() {
        let mut t = Table::new(["登录名", "姓名"]);
        t.row(["zhangsan".into(), "张三".into()]);
        t.row(["li".into(), "李四".into()]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let cols: Vec<usize> = text
            .lines()
            .map(|l| {
                let i = l.rfind("  ").unwrap() + 2;
                display_width(&l[..i])
            })
            .collect();
        assert!(cols.windows(2).all(|w| w[0] == w[1]), "{text}");
    }

    #[test]
    fn logins_with_spaces_are_refused() {
        assert!(check_login("zhang san").is_err());
        assert!(check_login("").is_err());
        assert_eq!(check_login(" 张三 ").unwrap(), "张三");
    }
}
