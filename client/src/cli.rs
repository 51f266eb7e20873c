//! The `crm` command line: argument definitions and what each command does.
//! Human output goes through [`crate::render`]; every read command also has
//! `--json` for scripts.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crm_shared::codes::{ActivityKind, Grade, Intent, Status};
use crm_shared::customer::{Activity, Contact, Customer};
use crm_shared::day::Day;
use crm_shared::note::Action;
use crm_shared::{edit, labels, Error as DomainError};

use crate::cli_rules as rules;
use crate::error::{Result, StoreError};
use crate::net::{NetError, Trust};
use crate::render;
use crate::session;
use crate::store::{now_millis, Store};

/// 客户档案 — offline customer archive for field sales.
#[derive(Debug, Parser)]
#[command(name = "crm", version, about = "客户档案(离线可用)— 业务员命令行")]
pub struct Cli {
    /// Data directory holding the local store.
    #[arg(long, global = true, env = "CRM_HOME", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 初始化本机资料库 (set up the local profile)
    Init {
        /// Login of the salesperson using this laptop.
        #[arg(long)]
        user: String,
        /// Name shown to people (defaults to the login).
        #[arg(long)]
        name: Option<String>,
    },
    /// 本机状态 (profile and store size)
    Status(JsonFlag),
    /// 新建客户 (create a customer)
    Add(AddArgs),
    /// 修改客户档案,须说明原因 (edit archive fields; --reason required)
    Edit {
        /// Customer id, id prefix or exact name.
        customer: String,
        /// FIELD=VALUE; FIELD is a path such as credit.limit or a Chinese label such as 信用额度.
        #[arg(long = "set", value_name = "FIELD=VALUE", required = true)]
        set: Vec<String>,
        /// Why the record changes (required).
        #[arg(long)]
        reason: Option<String>,
    },
    /// 查看客户档案 (show a customer's card)
    Show {
        customer: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// 客户列表 (list customers)
    List(ListArgs),
    /// 搜索客户:名称、联系人、电话、税号 (search name, contact, phone, tax number)
    Search {
        text: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// 联系人 (contacts)
    #[command(subcommand)]
    Contact(ContactCommand),
    /// 记录拜访/活动 (log a visit or other activity)
    Visit(VisitArgs),
    /// 今日及逾期跟进 (follow-ups due today or overdue)
    Followups {
        /// Day to list for (default today), YYYY-MM-DD.
        #[arg(long)]
        date: Option<Day>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// 修改历史:时间、人、字段、原因 (who changed what, when and why)
    History {
        customer: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// 未解决的冲突 (fields edited concurrently with different values)
    Conflicts {
        /// Only this customer.
        customer: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// 解决冲突:选定字段的值并说明原因 (settle a conflict)
    Resolve {
        customer: String,
        /// Field path or Chinese label.
        field: String,
        /// The value to keep.
        value: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// 从 JSON Lines 文件导入客户 (import customers)
    Import {
        file: PathBuf,
        /// Also move customers already here to the salesperson a line names
        /// (by default they keep theirs).
        #[arg(long)]
        reassign: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// 从文档重建查询索引 (rebuild list/search tables from the documents)
    RebuildIndex,
    /// 登录同步服务器 (sign in to the server; pins its certificate)
    Login(LoginArgs),
    /// 退出登录:删除本机保存的服务器令牌 (forget the server session)
    Logout,
    /// 与服务器同步 (send local changes, receive others')
    Sync(JsonFlag),
    /// 待同步的修改 (customers with changes not yet on the server)
    Pending(JsonFlag),
    /// 今日工作:到期及逾期跟进、明日计划、预警数 (today's work)
    Today(rules::TodayArgs),
    /// 销售记录 (sales: the inputs of grading)
    #[command(subcommand)]
    Sale(rules::SaleCommand),
    /// 信用额度变更申请 (credit-limit requests)
    #[command(subcommand)]
    Credit(rules::CreditCommand),
    /// 客户投诉 (complaints)
    #[command(subcommand)]
    Complaint(rules::ComplaintCommand),
    /// 定期审查 (periodic review)
    #[command(subcommand)]
    Review(rules::ReviewCommand),
    /// 客户重大变化 (major changes at a customer)
    #[command(subcommand)]
    Flag(rules::FlagCommand),
    /// 报表:销售活动日报表 (reports)
    #[command(subcommand)]
    Report(rules::ReportCommand),
    /// 预警 (early warnings on this laptop's customers)
    Warnings(JsonFlag),
    /// 客户等级管理汇总表预览 (grade table preview)
    Grades(JsonFlag),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Server address, e.g. https://10.0.0.5:8443.
    #[arg(long, value_name = "URL")]
    server: String,
    /// Login name; must be this store's user.
    #[arg(long)]
    user: String,
    /// SHA-256 fingerprint of the server's certificate, as crm-server printed it.
    #[arg(long, value_name = "HEX", conflicts_with = "ca_file")]
    fingerprint: Option<String>,
    /// PEM file of the CA (or server) certificate to trust instead of a fingerprint.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Read the password from one line of standard input (else CRM_PASSWORD, else a prompt).
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Company name (客户名称).
    #[arg(long)]
    name: String,
    /// Id; generated if absent.
    #[arg(long)]
    id: Option<String>,
    #[arg(long)]
    region: Option<String>,
    #[arg(long)]
    grade: Option<Grade>,
    #[arg(long)]
    status: Option<Status>,
    #[arg(long)]
    credit_limit: Option<i64>,
    #[arg(long)]
    industry: Option<String>,
    /// Intent level for a prospect (O/H/A/B/C/lost).
    #[arg(long)]
    intent: Option<Intent>,
    /// Main contact's name.
    #[arg(long)]
    contact: Option<String>,
    /// Main contact's mobile.
    #[arg(long)]
    mobile: Option<String>,
    #[arg(long)]
    tax_no: Option<String>,
    /// Any other field, FIELD=VALUE (repeatable).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    set: Vec<String>,
    /// Create even if a customer with the same name, phone or tax number exists.
    #[arg(long)]
    allow_duplicate: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    region: Option<String>,
    #[arg(long)]
    status: Option<Status>,
    #[arg(long)]
    grade: Option<Grade>,
    #[arg(long)]
    salesperson: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
}

#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// 新增联系人 (add a contact)
    Add {
        customer: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        title: String,
        #[arg(long, default_value = "")]
        department: String,
        #[arg(long, default_value = "")]
        mobile: String,
        #[arg(long, default_value = "")]
        phone: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long, default_value = "")]
        wechat: String,
        /// Make this the main contact.
        #[arg(long)]
        primary: bool,
    },
}

#[derive(Debug, Args)]
pub struct VisitArgs {
    customer: String,
    /// What happened.
    #[arg(long)]
    notes: String,
    /// visit, call, mail, event, survey, gift, message, meeting.
    #[arg(long, default_value = "visit")]
    kind: ActivityKind,
    /// Intent level judged after this contact; the current level if absent.
    #[arg(long)]
    intent: Option<Intent>,
    /// Next follow-up (YYYY-MM-DD); from the cadence of the intent level if absent.
    #[arg(long)]
    next: Option<Day>,
    /// When it happened: "YYYY-MM-DD HH:MM" or YYYY-MM-DD (default now).
    #[arg(long)]
    at: Option<String>,
}

fn data_dir(cli: &Cli) -> PathBuf {
    cli.data_dir.clone().unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".crm")
    })
}

fn new_entry_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

pub(crate) fn parse_at(s: &str) -> Result<i64> {
    use chrono::{Local, NaiveDate, NaiveDateTime, TimeZone};
    let t = s.trim();
    let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(9, 0, 0))
        });
    naive
        .and_then(|n| Local.from_local_datetime(&n).single())
        .map(|d| d.timestamp_millis())
        .ok_or_else(|| {
            DomainError::invalid("--at", format!("“{s}”不是有效时间,应为 YYYY-MM-DD HH:MM")).into()
        })
}

/// Applies FIELD=VALUE pairs to a card.
fn apply_sets(card: &mut Customer, sets: &[String]) -> Result<()> {
    for s in sets {
        let (field, value) = s
            .split_once('=')
            .ok_or_else(|| DomainError::invalid(s.as_str(), "应写成 字段=值"))?;
        let path = labels::path_of(field);
        if path == "id" {
            return Err(DomainError::invalid("id", "客户编号不能修改").into());
        }
        *card = edit::set_text(card, path, value)?;
    }
    Ok(())
}

/// How `crm login` trusts the server: http needs nothing, https needs a
/// fingerprint or a CA file.
fn login_trust(l: &LoginArgs) -> Result<Trust> {
    let https = l.server.trim().starts_with("https://");
    Ok(match (&l.fingerprint, &l.ca_file) {
        (Some(fp), _) => Trust::fingerprint(fp)?,
        (None, Some(path)) => Trust::ca_file(path)?,
        (None, None) if https => return Err(NetError::NoTrust.into()),
        (None, None) => Trust::PlainHttp,
    })
}

/// The login password: one line of stdin, else `CRM_PASSWORD`, else a
/// prompt without echo.
fn read_password(from_stdin: bool) -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else if let Ok(value) = std::env::var("CRM_PASSWORD") {
        value
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password("密码:")?
    } else {
        return Err(StoreError::NoPassword);
    };
    if password.is_empty() {
        return Err(StoreError::NoPassword);
    }
    Ok(password)
}

/// Refuses changes the logged-in role may not make (the server would undo
/// them anyway; better to say so before anything is recorded).
fn check_allowed(store: &Store, before: &Customer, after: &Customer) -> Result<()> {
    let Some(s) = session::current(store)? else {
        return Ok(());
    };
    let changes = crm_shared::diff::customers(before, after);
    if let Some(c) = crm_shared::access::forbidden(s.role, &changes).first() {
        return Err(DomainError::invalid(
            c.path.as_str(),
            format!(
                "{}无权修改“{}”,请联系档案管理员",
                s.role.label(),
                labels::label_of(&c.path)
            ),
        )
        .into());
    }
    Ok(())
}

fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<()> {
    let dir = data_dir(&cli);
    match cli.command {
        Command::Init { user, name } => {
            let display = name.unwrap_or_else(|| user.clone());
            let store = Store::init(&dir, &user, &display)?;
            println!(
                "已初始化本机资料库:{}(用户 {})",
                Store::file(&dir).display(),
                store.profile().user
            );
        }
        Command::Status(j) => {
            let store = Store::open(&dir)?;
            let (customers, bytes) = store.stats()?;
            let p = store.profile();
            if j.json {
                print_json(
                    &json!({"user": p.user, "display_name": p.display_name, "customers": customers, "document_bytes": bytes, "store": Store::file(&dir)}),
                );
            } else {
                println!("用户:{}({})", p.display_name, p.user);
                println!("资料库:{}", Store::file(&dir).display());
                println!("客户:{customers} 位,文档 {:.1} MB", bytes as f64 / 1e6);
            }
        }
        Command::Add(a) => {
            let mut store = Store::open(&dir)?;
            let user = store.profile().user.clone();
            let mut c = Customer {
                id: a
                    .id
                    .unwrap_or_else(|| format!("c-{}", &new_entry_id()[..20])),
                name: a.name,
                salesperson: user,
                region: a.region.unwrap_or_default(),
                status: a.status.unwrap_or_default(),
                entered_at: now_millis(),
                grade: a.grade,
                industry: a.industry.unwrap_or_default(),
                intent: a.intent,
                ..Default::default()
            };
            c.credit.limit = a.credit_limit;
            c.billing.tax_no = a.tax_no.unwrap_or_default();
            if a.contact.is_some() || a.mobile.is_some() {
                c.contacts.insert(
                    "k1".into(),
                    Contact {
                        name: a.contact.unwrap_or_default(),
                        mobile: a.mobile.unwrap_or_default(),
                        primary: true,
                        ..Default::default()
                    },
                );
            }
            apply_sets(&mut c, &a.set)?;
            let blank = Customer {
                id: c.id.clone(),
                salesperson: c.salesperson.clone(),
                ..Default::default()
            };
            check_allowed(&store, &blank, &c)?;
            store.create(&c, a.allow_duplicate)?;
            println!("已新建客户 {} {}", c.id, c.name);
        }
        Command::Edit {
            customer,
            set,
            reason,
        } => {
            let mut store = Store::open(&dir)?;
            let id = store.resolve_key(&customer)?;
            let note = store.note(Action::Edit, reason.as_deref());
            let before = store.get(&id)?;
            let mut after = before.clone();
            apply_sets(&mut after, &set)?;
            check_allowed(&store, &before, &after)?;
            let changes = store.change(&id, &note, |c| apply_sets(c, &set))?;
            if changes.is_empty() {
                println!("没有变化,未保存。");
            } else {
                println!("已保存 {id} 的修改:");
                render::field_changes(&changes);
            }
        }
        Command::Show { customer, json } => {
            let store = Store::open(&dir)?;
            let id = store.resolve_key(&customer)?;
            let c = store.get(&id)?;
            let conflicts = store.conflicts(&id)?;
            if json.json {
                let mut v = serde_json::to_value(&c).expect("serialisable");
                v["next_followup"] = json!(c.next_followup());
                v["current_intent"] = json!(c.current_intent());
                v["conflicts"] = json!(conflicts);
                print_json(&v);
            } else {
                render::card(&c, &conflicts);
            }
        }
        Command::List(l) => {
            let store = Store::open(&dir)?;
            let rows: Vec<_> = store
                .list()?
                .into_iter()
                .filter(|s| l.region.as_ref().is_none_or(|r| &s.region == r))
                .filter(|s| l.status.is_none_or(|x| s.status == x))
                .filter(|s| l.grade.is_none_or(|g| s.grade == Some(g)))
                .filter(|s| l.salesperson.as_ref().is_none_or(|p| &s.salesperson == p))
                .collect();
            if l.json.json {
                print_json(&rows);
            } else {
                render::summaries(&rows);
            }
        }
        Command::Search { text, json } => {
            let store = Store::open(&dir)?;
            let rows = store.search(&text)?;
            if json.json {
                print_json(&rows);
            } else {
                render::summaries(&rows);
            }
        }
        Command::Contact(ContactCommand::Add {
            customer,
            name,
            title,
            department,
            mobile,
            phone,
            email,
            wechat,
            primary,
        }) => {
            let mut store = Store::open(&dir)?;
            let id = store.resolve_key(&customer)?;
            let note = store.note(Action::Contact, None);
            let key = format!("k-{}", &new_entry_id()[..20]);
            let contact = Contact {
                name,
                title,
                department,
                mobile,
                phone,
                email,
                wechat,
                primary,
                ..Default::default()
            };
            store.change(&id, &note, |c| {
                c.contacts.insert(key.clone(), contact);
                Ok(())
            })?;
            println!("已为 {id} 新增联系人({key})");
        }
        Command::Visit(v) => {
            let mut store = Store::open(&dir)?;
            let cadence = store.settings()?.cadence;
            let id = store.resolve_key(&v.customer)?;
            let at = match &v.at {
                Some(s) => parse_at(s)?,
                None => now_millis(),
            };
            let note = store.note(Action::Activity, None);
            let user = store.profile().user.clone();
            let key = new_entry_id();
            let mut next = None;
            store.change(&id, &note, |c| {
                let intent = v.intent.or_else(|| c.current_intent());
                next = v.next.or_else(|| {
                    intent.and_then(|i| cadence.next_after(Day::from_millis_local(at), i))
                });
                c.activities.insert(
                    key.clone(),
                    Activity {
                        at,
                        kind: v.kind,
                        by: user,
                        notes: v.notes,
                        intent,
                        next_followup: next,
                    },
                );
                Ok(())
            })?;
            match next {
                Some(d) => println!("已记录{}({key}),下次跟进:{d}", v.kind),
                None => println!("已记录{}({key})", v.kind),
            }
        }
        Command::Today(a) => rules::today_cmd(&Store::open(&dir)?, a)?,
        Command::Sale(c) => rules::sale(&mut Store::open(&dir)?, c)?,
        Command::Credit(c) => rules::credit(&mut Store::open(&dir)?, c)?,
        Command::Complaint(c) => rules::complaint(&mut Store::open(&dir)?, c)?,
        Command::Review(c) => rules::review(&mut Store::open(&dir)?, c)?,
        Command::Flag(c) => rules::flag(&mut Store::open(&dir)?, c)?,
        Command::Report(c) => rules::report(&Store::open(&dir)?, c)?,
        Command::Warnings(j) => rules::warnings_cmd(&Store::open(&dir)?, j)?,
        Command::Grades(j) => rules::grades_cmd(&Store::open(&dir)?, j)?,
        Command::Followups { date, json } => {
            let store = Store::open(&dir)?;
            let day = date.unwrap_or_else(|| Day(chrono::Local::now().date_naive()));
            let rows = store.followups_due(day)?;
            if json.json {
                let out: Vec<_> = rows
                    .iter()
                    .map(|s| {
                        let due = s.next_followup.expect("due rows have a date");
                        json!({"customer": s, "due": due, "overdue_days": due.days_until(day)})
                    })
                    .collect();
                print_json(&out);
            } else {
                render::followups(&rows, day);
            }
        }
        Command::History { customer, json } => {
            let store = Store::open(&dir)?;
            let id = store.resolve_key(&customer)?;
            let h = store.history(&id)?;
            if json.json {
                print_json(&h);
            } else {
                render::history(&h);
            }
        }
        Command::Conflicts { customer, json } => {
            let store = Store::open(&dir)?;
            let list = match customer {
                Some(k) => {
                    let id = store.resolve_key(&k)?;
                    store
                        .conflicts(&id)?
                        .into_iter()
                        .map(|c| (id.clone(), c))
                        .collect()
                }
                None => store.all_conflicts()?,
            };
            if json.json {
                let out: Vec<_> = list
                    .iter()
                    .map(|(id, c)| json!({"customer": id, "path": c.path, "values": c.values}))
                    .collect();
                print_json(&out);
            } else {
                render::conflicts(&list);
            }
        }
        Command::Resolve {
            customer,
            field,
            value,
            reason,
        } => {
            let mut store = Store::open(&dir)?;
            let id = store.resolve_key(&customer)?;
            let reason = reason.ok_or(DomainError::ReasonRequired)?;
            let path = labels::path_of(&field).to_string();
            // Type the value the way `edit --set` does, then take that field's JSON.
            let current = store.get(&id)?;
            let card = edit::set_text(&current, &path, &value)?;
            if let Some(s) = session::current(&store)? {
                if !crm_shared::access::may_change(s.role, &path) {
                    return Err(DomainError::invalid(
                        path.as_str(),
                        format!("{}无权修改此字段,请联系档案管理员", s.role.label()),
                    )
                    .into());
                }
            }
            let mut v = serde_json::to_value(&card).expect("serialisable");
            for part in path.split('.') {
                v = v.get(part).cloned().unwrap_or_default();
            }
            store.resolve_conflict(&id, &path, &v, &reason)?;
            println!(
                "已解决 {id} 的 {} 冲突,保留值:{value}",
                labels::label_of(&path)
            );
        }
        Command::Import {
            file,
            reassign,
            json,
        } => {
            let mut store = Store::open(&dir)?;
            let report = render::with_import_progress(&file, |saved| {
                crate::import::run(&mut store, &file, reassign, saved)
            })?;
            if json.json {
                print_json(&report);
            } else {
                println!(
                    "导入完成:新建 {} 位,更新 {} 位,未变 {} 位",
                    report.created, report.updated, report.unchanged
                );
                if !report.merged.is_empty() {
                    println!("{}", crm_shared::import::merged_note(&report.merged));
                }
                if let Some(l) = &report.left_out {
                    println!("{}", l.note());
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
            }
        }
        Command::RebuildIndex => {
            let mut store = Store::open(&dir)?;
            let n = store.rebuild_projection()?;
            println!("已重建 {n} 位客户的查询索引");
        }
        Command::Login(l) => {
            let mut store = Store::open(&dir)?;
            let trust = login_trust(&l)?;
            let password = read_password(l.password_stdin)?;
            let s = session::login(
                &mut store,
                &l.server,
                trust,
                &l.user,
                &password,
                &session::device_name(),
            )?;
            println!(
                "已登录 {},用户 {}({})",
                s.server_url, s.display_name, s.role
            );
        }
        Command::Sync(j) => {
            let mut store = Store::open(&dir)?;
            let s = session::require(&store)?;
            let client = s.client()?;
            let term = std::io::stderr().is_terminal() && !j.json;
            let bar = term.then(|| {
                let b = indicatif::ProgressBar::new_spinner();
                b.set_message(format!("正在与 {} 同步…", s.server_url));
                b.enable_steady_tick(std::time::Duration::from_millis(120));
                b
            });
            let result = crate::sync::run(
                &mut store,
                |req| Ok(client.post("/api/v1/sync", Some(s.bearer()), req)?),
                |r| {
                    if let Some(b) = &bar {
                        b.set_message(format!(
                            "已发送 {} 位,已接收 {} 位客户…",
                            r.sent, r.received
                        ));
                    }
                },
            );
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            let mut report = match result {
                Err(StoreError::Net(NetError::DeviceRevoked)) => {
                    // The device lost its right to the data: remove it.
                    let n = store.wipe_customers()?;
                    session::forget(&mut store)?;
                    return Err(StoreError::DeviceWiped(n));
                }
                other => other?,
            };
            (report.bytes_sent, report.bytes_received) = client.traffic();
            if j.json {
                print_json(&report);
            } else {
                println!(
                    "同步完成:发送 {} 位客户的修改,接收 {} 位,移除 {} 位,冲突 {} 位({} 次请求)",
                    report.sent,
                    report.received,
                    report.removed,
                    report.conflicts.len(),
                    report.requests
                );
                for r in &report.reverted {
                    println!("  已被服务器撤销:{r}");
                }
                if !report.conflicts.is_empty() {
                    println!(
                        "  有冲突的客户:{};用 crm conflicts 查看",
                        report.conflicts.join("、")
                    );
                }
                if report.kept_unsent > 0 {
                    println!(
                        "  {} 位已转给他人的客户还有未发送的修改,暂时保留",
                        report.kept_unsent
                    );
                }
                if report.awaiting_backup > 0 {
                    println!(
                        "  {} 位客户的修改服务器已收到,但尚未写入备份机;仍标记为未同步,下次同步时再次发送",
                        report.awaiting_backup
                    );
                }
            }
        }
        Command::Pending(j) => {
            let store = Store::open(&dir)?;
            let rows = store.pending_summaries()?;
            if j.json {
                print_json(&rows);
            } else if rows.is_empty() {
                println!("没有待同步的修改。");
            } else {
                println!("{} 位客户有待同步的修改:", rows.len());
                render::summaries(&rows);
            }
        }
        Command::Logout => {
            let mut store = Store::open(&dir)?;
            if session::forget(&mut store)? {
                println!("已退出登录(本机客户数据保留)");
            } else {
                println!("本机尚未登录服务器");
            }
        }
    }
    Ok(())
}
