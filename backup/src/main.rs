//! The `crm-backup` binary: parses flags and calls the library.
//!
//! Exit codes: 0 success, 1 an error or a failed verification (printed on
//! one line), 2 bad usage (from clap).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use clap::{CommandFactory, Parser, Subcommand};
use crm_backup::follow::{self, Event};
use crm_backup::restore::{self, Point};
use crm_backup::store::Store;
use crm_backup::{link, verify};
use crm_net::Trust;
use crm_shared::api::ServerStatus;

/// 客户档案备份机(crm-backup):持续备份中心服务器,校验备份,从备份恢复。
#[derive(Parser)]
#[command(name = "crm-backup", version)]
struct Cli {
    /// 备份目录;默认 ./crm-backup,或环境变量 CRM_BACKUP_DIR
    #[arg(
        long,
        global = true,
        env = "CRM_BACKUP_DIR",
        default_value = "./crm-backup"
    )]
    dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// 用备份管理员账号登录服务器,保存连接
    Init {
        /// 服务器地址,如 https://crm.example.com:8443
        #[arg(long)]
        server: String,
        /// 备份管理员登录名
        #[arg(long)]
        user: String,
        /// 服务器证书 SHA-256 指纹(服务器启动时打印)
        #[arg(long, conflicts_with = "ca_file")]
        fingerprint: Option<String>,
        /// 信任的 CA 证书文件(PEM)
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// 使用明文 HTTP(仅供测试)
        #[arg(long, conflicts_with_all = ["fingerprint", "ca_file"])]
        insecure_plain_http: bool,
        /// 从标准输入读密码(否则用环境变量 CRM_PASSWORD 或提示输入)
        #[arg(long)]
        password_stdin: bool,
    },
    /// 持续备份,直到被停止(SIGTERM 或 Ctrl-C:完整关闭备份文件后退出)
    Run {
        /// 追上服务器后退出
        #[arg(long)]
        once: bool,
    },
    /// 备份进度与延迟(本机与服务器两边)
    Status {
        /// 不联系服务器,只看本机的备份文件(也可用于备份的副本)
        #[arg(long)]
        offline: bool,
        /// 输出 JSON
        #[arg(long)]
        json: bool,
    },
    /// 校验备份:文件结构、每份文档、与服务器比对
    Verify {
        /// 不联系服务器,只做本机检查(也可用于备份的副本)
        #[arg(long)]
        offline: bool,
        /// 输出 JSON
        #[arg(long)]
        json: bool,
    },
    /// 从备份生成服务器数据目录
    Restore {
        /// 新的服务器数据目录
        #[arg(long)]
        to: PathBuf,
        /// 恢复到这一时刻的状态,如 "2026-11-23 10:30:00"(本地时间)或 RFC 3339
        #[arg(long, conflicts_with = "at_seq")]
        at: Option<String>,
        /// 恢复到更新日志第 N 条之后的状态
        #[arg(long)]
        at_seq: Option<u64>,
        /// 跳过损坏的客户文档,恢复其余数据(列出跳过的客户及其业务员;业务员的笔记本下次同步时补回)
        #[arg(long)]
        skip_damaged: bool,
        /// 输出 JSON
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = match crm_usage::args::<Cli>(Cli::command()) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误:{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let dir = cli.dir;
    match cli.command {
        Command::Init {
            server,
            user,
            fingerprint,
            ca_file,
            insecure_plain_http,
            password_stdin,
        } => {
            let trust = match (fingerprint, ca_file, insecure_plain_http) {
                (Some(fp), _, _) => Trust::fingerprint(&fp)?,
                (None, Some(ca), _) => Trust::ca_file(&ca)?,
                (None, None, true) => Trust::PlainHttp,
                (None, None, false) => {
                    bail!("请用 --fingerprint 或 --ca-file 指定如何确认服务器身份")
                }
            };
            let password = read_password(password_stdin)?;
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "backup".into());
            let linked = link::login(&server, &trust, &user, password, &format!("备份机 {host}"))?;
            let store = Store::open(&dir)?;
            store.set_link(&linked)?;
            println!(
                "已连接服务器 {}(备份管理员 {});运行 crm-backup run 开始持续备份",
                linked.url, linked.login
            );
        }
        Command::Run { once } => {
            // kill -9 loses nothing either (every pull is stored in one
            // transaction), but leaves the WAL beside the file.
            let stop = stop_on_signals()?;
            let quiet = !std::io::stderr().is_terminal();
            follow::run(
                &dir,
                once,
                || stop.load(Ordering::SeqCst),
                |event| log_event(event, quiet),
            )?;
        }
        Command::Status { offline, json } => status(&dir, offline, json)?,
        Command::Verify { offline, json } => {
            let bar = progress("已校验 {pos}/{len} 份文档");
            let report = verify::verify(&dir, offline, show(&bar));
            bar.finish_and_clear();
            let report = report?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_verify(&report);
            }
            if !report.ok() {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Restore {
            to,
            at,
            at_seq,
            skip_damaged,
            json,
        } => {
            let point = match (at, at_seq) {
                (Some(t), _) => Point::Time(parse_time(&t)?),
                (None, Some(s)) => Point::Seq(s),
                (None, None) => Point::Latest,
            };
            let bar = progress("已恢复 {pos}/{len} 位客户");
            let report = restore::restore(&dir, &to, point, skip_damaged, show(&bar));
            bar.finish_and_clear();
            let report = report?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "已恢复到 {}:客户 {} 位,用户 {} 个,更新日志截至第 {} 条{}。",
                    report.data_dir.display(),
                    report.customers,
                    report.users,
                    report.upto,
                    report
                        .upto_at
                        .map(|at| format!("({})", local_time(at)))
                        .unwrap_or_default()
                );
                if !report.skipped.is_empty() {
                    println!(
                        "已跳过损坏的客户 {} 位;其业务员的笔记本下次同步时会自动补回:",
                        report.skipped.len()
                    );
                    for s in &report.skipped {
                        println!(
                            "  {}(业务员 {}):{}",
                            s.id,
                            if s.salesperson_name.is_empty() {
                                s.salesperson.clone()
                            } else {
                                format!("{} {}", s.salesperson_name, s.salesperson)
                            },
                            s.problem
                        );
                    }
                }
                println!(
                    "启动:crm-server --data-dir {}。笔记本下次同步时会自动补回备份之后的修改。",
                    report.data_dir.display()
                );
            }
        }
    }
    std::io::stdout().flush()?;
    Ok(ExitCode::SUCCESS)
}

/// A flag set by SIGTERM (how systemd and `kill` stop a service) or
/// Ctrl-C, so that `run` ends between two steps and closes its file
/// cleanly instead of dying with a WAL beside it.
fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let flag = stop.clone();
        // SAFETY: the action only stores to an atomic, which is
        // async-signal-safe.
        unsafe {
            signal_hook_registry::register(signal, move || flag.store(true, Ordering::SeqCst))
        }
        .context("无法接管停止信号")?;
    }
    Ok(stop)
}

fn log_event(event: &Event, quiet: bool) {
    let now = chrono::Local::now().format("%H:%M:%S");
    match event {
        Event::Stored {
            entries,
            docs,
            after,
            head,
        } => {
            if !quiet || after >= head {
                eprintln!("{now} 已备份 {entries} 条更新({docs} 份文档),位置 {after}/{head}");
            }
        }
        Event::Failed { message, retry_in } => {
            eprintln!(
                "{now} 备份暂停:{message};{} 秒后重试",
                retry_in.as_secs_f32()
            );
        }
        Event::NewEpoch { kept } => eprintln!(
            "{now} 服务器已从备份恢复或已更换(纪元改变);旧备份保存在 {},开始新的备份",
            kept.display()
        ),
        Event::CaughtUp { after } => eprintln!("{now} 已追上服务器,位置 {after}"),
        Event::Stopped { after } => {
            eprintln!("{now} 已停止,位置 {after};备份文件已完整关闭")
        }
    }
}

#[derive(serde::Serialize)]
struct StatusJson {
    dir: PathBuf,
    server: Option<String>,
    documents: u64,
    log_entries: u64,
    position: crm_backup::store::Position,
    behind_at_last_pull: u64,
    last_pull_ms_ago: Option<i64>,
    server_view: Option<crm_shared::api::BackupLag>,
    server_unreachable: Option<String>,
    /// The server was not asked (`--offline`).
    offline: bool,
}

fn status(dir: &Path, offline: bool, json: bool) -> anyhow::Result<()> {
    let store = Store::open_existing(dir)?;
    let pos = store.position()?;
    let (documents, log_entries) = store.counts()?;
    let link = store.link()?;
    let now = chrono::Utc::now().timestamp_millis();
    let (server_view, server_unreachable) = match &link {
        _ if offline => (None, None),
        Some(l) => match link::client(l).and_then(|c| c.get::<ServerStatus>("/status", None)) {
            Ok(s) => (s.backup, None),
            Err(e) => (None, Some(e.to_string())),
        },
        None => (None, Some("尚未 init".into())),
    };
    let s = StatusJson {
        dir: dir.to_path_buf(),
        server: link.map(|l| l.url),
        documents,
        log_entries,
        behind_at_last_pull: pos.head.saturating_sub(pos.after),
        last_pull_ms_ago: pos.last_pull_at.map(|t| now - t),
        position: pos,
        server_view,
        server_unreachable,
        offline,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    println!("备份目录:{}", s.dir.display());
    println!("服务器:{}", s.server.as_deref().unwrap_or("(未连接)"));
    println!("文档 {} 份,更新日志 {} 条", s.documents, s.log_entries);
    println!(
        "本机位置 {} / 上次拉取时服务器位置 {}(落后 {} 条){}",
        s.position.after,
        s.position.head,
        s.behind_at_last_pull,
        s.last_pull_ms_ago
            .map(|ms| format!(",上次拉取 {:.1} 秒前", ms as f64 / 1000.0))
            .unwrap_or_default()
    );
    match (&s.server_view, &s.server_unreachable) {
        _ if s.offline => println!("服务器所见:未联系服务器(--offline)"),
        (Some(v), _) => println!(
            "服务器所见:已确认 {} / {},落后 {} 条、{:.1} 秒{}",
            v.confirmed,
            v.head,
            v.behind_changes,
            v.behind_seconds,
            if v.zero_loss { "(零丢失模式)" } else { "" }
        ),
        (None, Some(e)) => println!("服务器所见:无法获取({e})"),
        (None, None) => println!("服务器所见:服务器启动以来备份机尚未拉取"),
    }
    Ok(())
}

fn print_verify(r: &verify::Report) {
    if let Some(d) = &r.file_damage {
        println!("备份文件结构损坏:{d}");
        println!("校验失败:请勿用此文件恢复。");
        return;
    }
    println!(
        "文档 {} 份,更新日志 {} 条,备份位置 {}",
        r.documents, r.log_entries, r.upto
    );
    if r.damaged.is_empty() {
        println!("每份文档:内容校验值、依赖、heads 与历史状态均完好");
    } else {
        println!("损坏的文档 {} 份:", r.damaged.len());
        for (id, p) in &r.damaged {
            println!("  {id}:{p}");
        }
    }
    for (seq, id) in &r.orphan_entries {
        println!("  日志第 {seq} 条指向缺失的客户文档 {id}");
    }
    for v in &r.damaged_records {
        println!("  用户与设备记录(版本 {v})已损坏");
    }
    match (&r.server, &r.server_skipped) {
        (Some(c), _) => {
            if c.missing.is_empty() && c.different.is_empty() && c.extra.is_empty() {
                println!(
                    "与服务器一致:截至位置 {},服务器 {} 份文档,heads 全部相同",
                    r.upto, c.server_documents
                );
            } else {
                for id in &c.missing {
                    println!("  服务器有、备份缺少:{id}");
                }
                for id in &c.different {
                    println!("  与服务器不同(heads 不符):{id}");
                }
                for id in &c.extra {
                    println!("  备份有、服务器没有:{id}");
                }
            }
        }
        (None, Some(why)) => println!("未与服务器比对:{why}"),
        (None, None) => {}
    }
    println!(
        "{}",
        if r.ok() {
            "校验通过。"
        } else {
            "校验失败。"
        }
    );
}

fn read_password(stdin: bool) -> anyhow::Result<String> {
    crm_usage::password::read(stdin, "密码:")
        .context("无法读取密码")?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "没有提供密码:请用 --password-stdin(从标准输入读一行)、环境变量 CRM_PASSWORD,或在终端中输入"
            )
        })
}

fn parse_time(text: &str) -> anyhow::Result<i64> {
    use chrono::{DateTime, Local, NaiveDateTime, TimeZone};
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, fmt) {
            if let Some(t) = Local.from_local_datetime(&naive).earliest() {
                return Ok(t.timestamp_millis());
            }
        }
    }
    bail!("无法识别时间 {text:?}:请写成 \"2026-11-23 10:30:00\" 或 RFC 3339")
}

fn local_time(ms: i64) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A counter on stderr while a person watches; drawn only on a terminal,
/// so logs and pipes get the final report alone.
fn progress(template: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Shows `done` of `total` on `bar`.
fn show(bar: &indicatif::ProgressBar) -> impl Fn(u64, u64) + '_ {
    |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    }
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
