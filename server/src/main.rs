//! The `crm-server` binary: parses flags and calls the library.
//!
//! Exit codes: 0 success (also when stdout is a closed pipe), 1 an error
//! (printed once, on one line, with its causes), 2 bad usage (from clap).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, CommandFactory, Parser, Subcommand};
use crm_server::backup::BackupHub;
use crm_server::config::{self, DataDir, Limits, ServerConfig, TlsMode};
use crm_server::{admin, telemetry, AppState, Db, TlsConfig};
use crm_shared::codes::{Position, Role};

/// 客户档案同步服务器(crm-server)。不带子命令时等同于 `crm-server serve`。
#[derive(Parser)]
#[command(name = "crm-server", version)]
struct Cli {
    /// 数据目录(数据库、自动生成的证书);默认 ./crm-data,或环境变量 CRM_DATA_DIR
    #[arg(long, global = true, env = "CRM_DATA_DIR", default_value = config::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,

    #[command(flatten)]
    serve: ServeArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// 启动服务器(默认)
    Serve(ServeArgs),
    /// 管理用户
    #[command(subcommand)]
    User(UserCommand),
    /// 管理设备(笔记本)
    #[command(subcommand)]
    Device(DeviceCommand),
    /// 访问审计:登录、锁定、设备、账号、导入导出的记录
    Audit {
        /// 只看与此登录名有关的记录
        #[arg(long)]
        user: Option<String>,
        /// 只看这一类:sign_in 登录、sign_in_failed 登录失败、locked 锁定、unlocked 解锁、
        /// device_revoked 停用设备、user_added 新建账号、role_changed 职位变更、
        /// user_disabled 停用启用、password_changed 修改密码、password_reset 重设密码、
        /// export 导出、import 导入
        #[arg(long)]
        kind: Option<String>,
        /// 从这一天起(YYYY-MM-DD)
        #[arg(long)]
        since: Option<String>,
        /// 到这一天为止(含,YYYY-MM-DD)
        #[arg(long)]
        until: Option<String>,
        /// 最多列出多少条(最新的在前);默认 200
        #[arg(long, default_value_t = 200)]
        limit: usize,
        /// 输出格式:table 表格(默认)、json、csv
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// 从 JSON Lines 文件导入客户(与笔记本 crm import 格式相同)
    Import {
        /// JSON Lines 文件(每行一位客户)
        file: PathBuf,
        /// 导入的客户都分给此业务员(登录名或姓名)
        #[arg(long)]
        salesperson: Option<String>,
        /// 记为导入者的登录名;默认 admin
        #[arg(long = "as", default_value = "admin")]
        by: String,
        /// 已有客户也改派给文件或 --salesperson 所填的业务员(默认保留原业务员)
        #[arg(long)]
        reassign: bool,
    },
    /// 公司设置:评分规则、跟进间隔、审查周期、流失天数、信用额度审批链
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// 从 Excel(.xlsx)或 CSV 表格导入客户(含联系人);先试运行再导入
    Sheet {
        /// 表格文件(.xlsx 或 .csv)
        file: PathBuf,
        /// 只显示将新建、更新的客户和疑似重复,不写入
        #[arg(long)]
        dry_run: bool,
        /// 记为导入者的登录名,默认 admin;未指定业务员的客户也分给此人
        #[arg(long = "as", default_value = "admin")]
        by: String,
        /// 疑似重复的行全部新建(默认跳过)
        #[arg(long, conflicts_with = "create_rows")]
        create_duplicates: bool,
        /// 这一行虽疑似重复也新建(行号同试运行所列,可重复指定:--create-row 3 --create-row 5)
        #[arg(long = "create-row", value_name = "行号")]
        create_rows: Vec<usize>,
        /// 已有客户也改派给表格所填的业务员(默认保留原业务员,只更新其他字段)
        #[arg(long)]
        reassign: bool,
        /// 输出 JSON
        #[arg(long)]
        json: bool,
    },
    /// 导出为 Excel(.xlsx)或 CSV:customers 客户列表、grades 等级汇总表、warnings 预警、complaints 客诉统计
    Export {
        /// customers、grades、warnings 或 complaints
        kind: String,
        /// 输出文件;扩展名决定格式(.xlsx 或 .csv)
        #[arg(long)]
        out: PathBuf,
        /// 只导出这个业务员的客户
        #[arg(long)]
        salesperson: Option<String>,
    },
}

#[derive(Subcommand)]
enum SettingsCommand {
    /// 显示当前设置(JSON)
    Show,
    /// 从 JSON 文件替换设置(未写的项取默认值);笔记本下次同步时收到
    Set {
        /// JSON 文件
        file: PathBuf,
    },
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// 监听地址;默认 127.0.0.1:8443,或环境变量 CRM_LISTEN
    #[arg(long, env = "CRM_LISTEN", default_value = config::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// 正式证书链(PEM);不给则使用数据目录中的自签名证书
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// 正式证书的私钥(PEM)
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// 不加密,使用明文 HTTP(仅供测试)
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    insecure_plain_http: bool,
    /// 请求体上限(MiB);默认 32,或环境变量 CRM_BODY_LIMIT_MIB
    #[arg(long, env = "CRM_BODY_LIMIT_MIB", default_value_t = 32)]
    body_limit_mib: usize,
    /// 同时服务的最大连接数;默认 1024,或环境变量 CRM_MAX_CONNECTIONS
    #[arg(long, env = "CRM_MAX_CONNECTIONS", default_value_t = config::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// 零丢失模式:笔记本的修改写入备份机后才确认同步完成(或环境变量 CRM_ZERO_LOSS_BACKUP=true)
    #[arg(long, env = "CRM_ZERO_LOSS_BACKUP")]
    zero_loss_backup: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// 添加用户
    Add {
        /// 登录名
        login: String,
        /// 角色:salesperson/业务员、clerk/档案管理员、manager/经理、admin/系统管理员、backup_operator/备份管理员
        #[arg(long)]
        role: Role,
        /// 姓名
        #[arg(long)]
        name: String,
        /// 审批职位:sales_manager/销售管理部经理、sales_vp/销售副总、sales_gm/销售总经理、group_gm/集团总经理
        #[arg(long)]
        position: Option<Position>,
        /// 从标准输入读一行作为密码(否则用环境变量 CRM_PASSWORD 或提示输入)
        #[arg(long)]
        password_stdin: bool,
    },
    /// 设置或清除审批职位
    Position {
        /// 登录名
        login: String,
        /// 职位代码或名称;"none" 清除
        position: String,
    },
    /// 列出用户
    List {
        /// 输出 JSON
        #[arg(long)]
        json: bool,
    },
    /// 重设密码
    Passwd {
        /// 登录名
        login: String,
        /// 从标准输入读一行作为密码(否则用环境变量 CRM_PASSWORD 或提示输入)
        #[arg(long)]
        password_stdin: bool,
        /// 密码在多少天后过期(不给则不过期)
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// 停用用户:不能登录,其设备的请求被拒绝
    Disable {
        /// 登录名
        login: String,
    },
    /// 重新启用用户
    Enable {
        /// 登录名
        login: String,
    },
    /// 解除登录失败造成的锁定
    Unlock {
        /// 登录名
        login: String,
    },
    /// 列出因登录失败而锁定的登录名
    Locked,
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// 列出设备
    List {
        /// 输出 JSON
        #[arg(long)]
        json: bool,
    },
    /// 停用设备:其令牌立即失效,下次同步时清除本机客户数据
    Revoke {
        /// 设备编号(见 device list)
        device_id: String,
    },
}

fn main() -> ExitCode {
    // Each login hashes with argon2 in a 19 MiB buffer on a blocking thread.
    // glibc raises its mmap threshold after the first such buffer is freed,
    // after which every thread's arena keeps ~19 MiB for good (measured: 295
    // MB resident after 20 logins). A fixed threshold returns them to the OS.
    #[cfg(target_os = "linux")]
    // SAFETY: called before any other thread exists; only tunes malloc.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
    let cli = match crm_usage::args::<Cli>(Cli::command()) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::Error::from(e)),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("错误:{e:#}");
    ExitCode::FAILURE
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let data_dir = DataDir::new(cli.data_dir);
    match cli.command {
        None => serve(data_dir, cli.serve).await,
        Some(Command::Serve(args)) => serve(data_dir, args).await,
        Some(Command::User(cmd)) => {
            telemetry::init("warn");
            // The first account of a new server creates its database; every
            // other command needs one there already.
            let db = match &cmd {
                UserCommand::Add { .. } => open_db(&data_dir).await?,
                _ => admin::open_existing(&data_dir).await?,
            };
            let out = &mut std::io::stdout().lock();
            let cli = crm_server::audit::Actor::command_line();
            match cmd {
                UserCommand::Add {
                    login,
                    role,
                    name,
                    position,
                    password_stdin,
                } => {
                    let password = admin::read_new_password(&login, password_stdin)?;
                    let account = admin::NewAccount {
                        login,
                        display_name: name,
                        role,
                        position,
                        password,
                        must_change_password: false,
                    };
                    let line = admin::user_add(&db, &cli, account).await?;
                    writeln!(out, "{line}")?;
                }
                UserCommand::Position { login, position } => {
                    writeln!(
                        out,
                        "{}",
                        admin::user_set_position(&db, &cli, &login, &position).await?
                    )?;
                }
                UserCommand::List { json } => admin::user_list(&db, out, json).await?,
                UserCommand::Passwd {
                    login,
                    password_stdin,
                    expires_in_days,
                } => {
                    let password = admin::read_new_password(&login, password_stdin)?;
                    writeln!(
                        out,
                        "{}",
                        admin::user_passwd(&db, &cli, &login, password, expires_in_days).await?
                    )?;
                }
                UserCommand::Disable { login } => {
                    writeln!(
                        out,
                        "{}",
                        admin::user_set_disabled(&db, &cli, &login, true).await?
                    )?;
                }
                UserCommand::Enable { login } => {
                    writeln!(
                        out,
                        "{}",
                        admin::user_set_disabled(&db, &cli, &login, false).await?
                    )?;
                }
                UserCommand::Unlock { login } => admin::user_unlock(&db, out, &login).await?,
                UserCommand::Locked => admin::user_locked(&db, out).await?,
            }
            Ok(out.flush()?)
        }
        Some(Command::Audit {
            user,
            kind,
            since,
            until,
            limit,
            format,
        }) => {
            telemetry::init("warn");
            let db = admin::open_existing(&data_dir).await?;
            let out = &mut std::io::stdout().lock();
            let query = admin::AuditQuery {
                user,
                kind,
                since,
                until,
                limit,
                format,
            };
            admin::audit(&db, out, query).await?;
            Ok(out.flush()?)
        }
        Some(Command::Import {
            file,
            salesperson,
            by,
            reassign,
        }) => {
            telemetry::init("warn");
            import(&data_dir, &file, salesperson.as_deref(), &by, reassign).await
        }
        Some(Command::Settings(cmd)) => {
            telemetry::init("warn");
            let db = admin::open_existing(&data_dir).await?;
            let out = &mut std::io::stdout().lock();
            match cmd {
                SettingsCommand::Show => admin::settings_show(&db, out).await?,
                SettingsCommand::Set { file } => admin::settings_set(&db, out, &file).await?,
            }
            Ok(out.flush()?)
        }
        Some(Command::Sheet {
            file,
            dry_run,
            by,
            create_duplicates,
            create_rows,
            reassign,
            json,
        }) => {
            telemetry::init("warn");
            let db = admin::open_existing(&data_dir).await?;
            let out = &mut std::io::stdout().lock();
            let duplicates = if create_duplicates {
                admin::Duplicates::CreateAll
            } else {
                admin::Duplicates::Create(create_rows)
            };
            admin::sheet_import(&db, out, &file, &by, dry_run, duplicates, reassign, json).await?;
            Ok(out.flush()?)
        }
        Some(Command::Export {
            kind,
            out: file,
            salesperson,
        }) => {
            telemetry::init("warn");
            let db = admin::open_existing(&data_dir).await?;
            let out = &mut std::io::stdout().lock();
            admin::export(&db, out, &kind, &file, salesperson).await?;
            Ok(out.flush()?)
        }
        Some(Command::Device(cmd)) => {
            telemetry::init("warn");
            let db = admin::open_existing(&data_dir).await?;
            let out = &mut std::io::stdout().lock();
            match cmd {
                DeviceCommand::List { json } => admin::device_list(&db, out, json).await?,
                DeviceCommand::Revoke { device_id } => {
                    let cli = crm_server::audit::Actor::command_line();
                    writeln!(
                        out,
                        "{}",
                        admin::device_revoke(&db, &cli, &device_id).await?
                    )?;
                }
            }
            Ok(out.flush()?)
        }
    }
}

async fn import(
    data_dir: &DataDir,
    file: &std::path::Path,
    salesperson: Option<&str>,
    by: &str,
    reassign: bool,
) -> anyhow::Result<()> {
    let db = admin::open_existing(data_dir).await?;
    let quiet = !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let report = crm_server::archive::import(&db, file, by, salesperson, reassign, |done| {
        if !quiet {
            eprint!("\r已导入 {done} 位客户");
        }
    })
    .await?;
    if !quiet {
        eprintln!();
    }
    let detail = format!(
        "{}:新建 {},更新 {},改派 {}(记为 {by})",
        file.display(),
        report.created,
        report.updated,
        report.reassigned
    );
    admin::audited(
        &db,
        &crm_server::audit::Actor::command_line(),
        crm_server::audit::Kind::Import,
        "crm-server",
        detail,
    )
    .await;
    println!(
        "导入完成:新建 {} 位,更新 {} 位,未变 {} 位",
        report.created, report.updated, report.unchanged
    );
    if !report.merged.is_empty() {
        println!("{}", crm_shared::import::merged_note(&report.merged));
    }
    if report.reassigned > 0 {
        println!("已改派 {} 位已有客户的业务员", report.reassigned);
    }
    if report.not_reassigned > 0 {
        println!(
            "{} 位已有客户属于其他业务员,未改派(其他内容照常导入);如需改派,加 --reassign",
            report.not_reassigned
        );
    }
    Ok(())
}

async fn open_db(data_dir: &DataDir) -> anyhow::Result<Db> {
    data_dir
        .create()
        .with_context(|| format!("无法创建数据目录 {}", data_dir.path().display()))?;
    Ok(Db::open(&data_dir.db_path()).await?)
}

async fn serve(data_dir: DataDir, args: ServeArgs) -> anyhow::Result<()> {
    telemetry::init("info");
    let config = ServerConfig {
        data_dir,
        listen: args.listen,
        tls: match (args.insecure_plain_http, args.tls_cert, args.tls_key) {
            (true, _, _) => TlsMode::PlainHttp,
            (false, Some(cert), Some(key)) => TlsMode::Files { cert, key },
            _ => TlsMode::SelfSigned,
        },
        limits: Limits {
            body_limit: args.body_limit_mib.saturating_mul(1024 * 1024),
            max_connections: args.max_connections,
        },
    };

    let db = open_db(&config.data_dir).await?;
    let filled = crm_server::rules::backfill(&db)
        .await
        .map_err(|e| anyhow::anyhow!("无法补全客户规则数据:{e}"))?;
    if filled > 0 {
        tracing::info!(customers = filled, "已为旧数据补全规则视图");
    }
    let tls = match &config.tls {
        TlsMode::PlainHttp => None,
        TlsMode::SelfSigned => Some(TlsConfig::self_signed(&config.data_dir)?),
        TlsMode::Files { cert, key } => Some(TlsConfig::from_pem_files(cert, key)?),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("无法监听 {}", config.listen))?;
    let addr = listener.local_addr()?;
    match &tls {
        Some(tls) => {
            println!("客户档案同步服务器已启动:https://{addr}");
            println!("证书 SHA-256 指纹:{}", tls.fingerprint());
            if config.tls == TlsMode::SelfSigned {
                println!(
                    "(自签名证书:{};笔记本登录时核对此指纹)",
                    config.data_dir.tls_cert_path().display()
                );
            }
        }
        None => {
            println!("客户档案同步服务器已启动:http://{addr}");
            println!("警告:未加密(--insecure-plain-http),仅供测试");
        }
    }
    std::io::stdout().flush()?;
    // A restored server must present the same certificate, or every laptop
    // that pinned it would refuse it: the generated one goes to the backup.
    let mut files = Vec::new();
    if config.tls == TlsMode::SelfSigned {
        for path in [
            config.data_dir.tls_cert_path(),
            config.data_dir.tls_key_path(),
        ] {
            let name = path
                .strip_prefix(config.data_dir.path())
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            let bytes =
                std::fs::read(&path).with_context(|| format!("无法读取 {}", path.display()))?;
            files.push((name, bytes));
        }
    }
    if args.zero_loss_backup {
        println!("零丢失模式:修改写入备份机后才向笔记本确认");
    }
    let state =
        AppState::new(db, config.limits).with_backup(BackupHub::new(args.zero_loss_backup, files));
    crm_server::serve(listener, state, tls, crm_server::serve::shutdown_signal()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_help_text_is_chinese() {
        let wrong = crm_usage::untranslated(&mut crm_usage::localize(Cli::command()));
        assert!(wrong.is_empty(), "not Chinese:\n  {}", wrong.join("\n  "));
    }
}
