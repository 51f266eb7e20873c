//! The `crm` command line: argument definitions and what each command does.
//! Human output goes through [`crate::render`]; every read command also has
//! `--json` for scripts.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crm_shared::codes::{ActivityKind, Grade, Intent, Role, Status};
use crm_shared::customer::{Activity, Contact, Customer};
use crm_shared::day::Day;
use crm_shared::note::Action;
use crm_shared::{edit, labels, Error as DomainError};

use crate::cli_rules as rules;
use crate::clock::now_millis;
use crate::error::{Result, StoreError};
use crate::net::{NetError, Trust};
use crate::render;
use crate::session;
use crate::store::Store;

/// 客户档案 — 业务员的离线客户档案。
#[derive(Debug, Parser)]
#[command(name = "crm", version, about = "客户档案(离线可用)— 业务员命令行")]
pub struct Cli {
    /// 本机资料库所在目录(默认 ~/.crm;也可用环境变量 CRM_HOME 指定)
    #[arg(long, global = true, env = "CRM_HOME", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 初始化本机资料库(第一步,之后再 crm login)
    Init {
        /// 使用这台电脑的业务员的登录名
        #[arg(long)]
        user: String,
        /// 显示的姓名(默认同登录名)
        #[arg(long)]
        name: Option<String>,
    },
    /// 本机状态:用户、资料库、服务器、上次同步、待同步的修改
    Status(JsonFlag),
    /// 新建客户
    Add(AddArgs),
    /// 修改客户档案,须说明原因
    #[command(after_help = editable_fields())]
    Edit {
        /// 客户编号、编号开头、名称,或名称/联系人/电话中唯一匹配的一段
        customer: String,
        /// 字段=新值;字段写路径(如 company.address)或中文名(如 地址、手机)
        #[arg(long = "set", value_name = "字段=值", required = true)]
        set: Vec<String>,
        /// 修改原因(必填)
        #[arg(long)]
        reason: Option<String>,
    },
    /// 查看客户档案
    Show {
        /// 客户编号、编号开头、名称,或名称/联系人/电话中唯一匹配的一段
        customer: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// 客户列表
    List(ListArgs),
    /// 搜索客户:名称、联系人、电话、税号
    Search {
        /// 要找的文字:名称、联系人、电话或税号中的一段
        text: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// 联系人:新增、修改
    #[command(subcommand)]
    Contact(ContactCommand),
    /// 记录拜访/电话等活动,自动排下次跟进
    Visit(VisitArgs),
    /// 今日及逾期跟进
    Followups {
        /// 哪一天(默认今天),格式 YYYY-MM-DD
        #[arg(long)]
        date: Option<Day>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// 修改历史:时间、人、字段、原因
    History {
        /// 客户编号、编号开头或名称
        customer: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// 未解决的冲突(两人分别改成了不同的值)
    Conflicts {
        /// 只看此客户
        customer: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// 解决冲突:选定字段的值并说明原因
    Resolve {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 字段路径或中文名
        field: String,
        /// 保留的值
        value: String,
        /// 为什么保留这个值(必填)
        #[arg(long)]
        reason: Option<String>,
    },
    /// 从 JSON Lines 文件导入客户
    Import {
        /// JSON Lines 文件(每行一位客户)
        file: PathBuf,
        /// 已有客户也改派给文件中写的业务员(默认保持原业务员)
        #[arg(long)]
        reassign: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// 从客户档案重建列表和搜索索引
    RebuildIndex,
    /// 登录总部服务器(并记住它的证书)
    Login(LoginArgs),
    /// 修改密码(管理员重设密码后,也用它设置自己的新密码)
    Password(PasswordArgs),
    /// 退出登录:删除本机保存的服务器令牌(客户数据保留)
    Logout,
    /// 与服务器同步:发送本机的修改,接收总部和他人的修改
    Sync(JsonFlag),
    /// 有待同步修改的客户
    Pending(JsonFlag),
    /// 被搁置的客户:同步时暂时无法发送或保存的客户及原因
    Aside {
        #[command(subcommand)]
        action: Option<AsideCommand>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// 今日工作:到期及逾期跟进(附电话)、明日计划、预警数
    Today(rules::TodayArgs),
    /// 销售记录(客户评级的依据)
    #[command(subcommand)]
    Sale(rules::SaleCommand),
    /// 信用额度变更申请
    #[command(subcommand)]
    Credit(rules::CreditCommand),
    /// 客户投诉
    #[command(subcommand)]
    Complaint(rules::ComplaintCommand),
    /// 定期审查
    #[command(subcommand)]
    Review(rules::ReviewCommand),
    /// 客户重大变化
    #[command(subcommand)]
    Flag(rules::FlagCommand),
    /// 报表:销售活动日报表
    #[command(subcommand)]
    Report(rules::ReportCommand),
    /// 本机客户的预警
    Warnings(JsonFlag),
    /// 客户等级管理汇总表预览
    Grades(JsonFlag),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// 服务器地址,如 https://10.0.0.5:8443
    #[arg(long, value_name = "URL")]
    server: String,
    /// 登录名,须与 crm init 时的用户相同
    #[arg(long)]
    user: String,
    /// 服务器证书的 SHA-256 指纹(总部提供,crm-server 启动时显示)
    #[arg(long, value_name = "HEX", conflicts_with = "ca_file")]
    fingerprint: Option<String>,
    /// 不用指纹时,信任的 CA(或服务器)证书文件(PEM)
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// 从标准输入读一行作为密码(管理员重设密码后,第二行为新密码);否则用环境变量 CRM_PASSWORD,否则提示输入
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// 服务器地址(已登录时不用填)
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// 登录名(默认本机用户)
    #[arg(long)]
    user: Option<String>,
    /// 服务器证书的 SHA-256 指纹(未登录时与 --server 一起给出)
    #[arg(long, value_name = "HEX", conflicts_with = "ca_file")]
    fingerprint: Option<String>,
    /// 不用指纹时,信任的 CA(或服务器)证书文件(PEM)
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// 从标准输入读两行:现在的密码、新密码(否则用环境变量或提示输入)
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// 输出 JSON(供脚本使用)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// 客户名称
    #[arg(long)]
    name: String,
    /// 客户编号(不填则自动生成)
    #[arg(long)]
    id: Option<String>,
    /// 区域
    #[arg(long)]
    region: Option<String>,
    /// 客户等级 A–E(只有总部可设定)
    #[arg(long)]
    grade: Option<Grade>,
    /// 状态:active 活跃、inactive 非活跃、lost 丢失
    #[arg(long)]
    status: Option<Status>,
    /// 信用额度(只能通过信用额度变更申请设定,此处会被拒绝)
    #[arg(long, hide = true)]
    credit_limit: Option<i64>,
    /// 行业
    #[arg(long)]
    industry: Option<String>,
    /// 潜客意向等级(O/H/A/B/C/lost)
    #[arg(long)]
    intent: Option<Intent>,
    /// 主要联系人姓名
    #[arg(long)]
    contact: Option<String>,
    /// 主要联系人手机
    #[arg(long)]
    mobile: Option<String>,
    /// 税务登记号
    #[arg(long)]
    tax_no: Option<String>,
    /// 其他字段,字段=值(可多次使用;字段见 crm edit --help)
    #[arg(long = "set", value_name = "字段=值")]
    set: Vec<String>,
    /// 即使已有同名、同电话或同税号的客户也新建
    #[arg(long)]
    allow_duplicate: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// 只列出此区域的客户
    #[arg(long)]
    region: Option<String>,
    /// 只列出此状态的客户(活跃/非活跃/丢失)
    #[arg(long)]
    status: Option<Status>,
    /// 只列出此等级的客户(A–E)
    #[arg(long)]
    grade: Option<Grade>,
    /// 只列出此业务员(登录名)的客户
    #[arg(long)]
    salesperson: Option<String>,
    /// 排列顺序:name 按名称拼音,recent 最近联系在前,followup 下次跟进最早在前,grade 等级高在前
    #[arg(long, value_enum, default_value_t = ListOrder::Name)]
    sort: ListOrder,
    #[command(flatten)]
    json: JsonFlag,
}

/// How `crm list` orders customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListOrder {
    /// 按名称拼音
    Name,
    /// 最近联系在前
    Recent,
    /// 下次跟进最早在前
    Followup,
    /// 等级高在前
    Grade,
}

#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// 修改联系人:按姓名或 crm show 列出的序号指定,须说明原因
    Edit {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 联系人姓名,或 crm show 列出的序号(1、2、…)
        contact: String,
        /// 字段=新值;字段如 手机、电话、职务、部门、邮箱、微信、姓名
        #[arg(long = "set", value_name = "字段=值", required = true)]
        set: Vec<String>,
        /// 修改原因(必填)
        #[arg(long)]
        reason: Option<String>,
    },
    /// 新增联系人
    Add {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 姓名
        #[arg(long)]
        name: String,
        /// 职务
        #[arg(long, default_value = "")]
        title: String,
        /// 部门
        #[arg(long, default_value = "")]
        department: String,
        /// 手机
        #[arg(long, default_value = "")]
        mobile: String,
        /// 电话
        #[arg(long, default_value = "")]
        phone: String,
        /// 邮箱
        #[arg(long, default_value = "")]
        email: String,
        /// 微信
        #[arg(long, default_value = "")]
        wechat: String,
        /// 设为主要联系人
        #[arg(long)]
        primary: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AsideCommand {
    /// 重新同步被搁置的客户:取服务器的版本,重新记录本人的修改(他人署名的修改不保留)
    Retry {
        /// 客户编号、编号前缀或完整名称
        customer: String,
    },
}

#[derive(Debug, Args)]
pub struct VisitArgs {
    /// 客户编号、编号开头、名称,或名称/联系人/电话中唯一匹配的一段
    customer: String,
    /// 内容:谈了什么、结果如何
    #[arg(long)]
    notes: String,
    /// 方式(默认 visit):visit 拜访、call 电话、mail 寄送、event 活动、survey 调查、gift 礼品、message 短信、meeting 会议
    #[arg(long, default_value = "visit")]
    kind: ActivityKind,
    /// 本次联系后判断的意向等级(不填则沿用)
    #[arg(long)]
    intent: Option<Intent>,
    /// 下次跟进日期 YYYY-MM-DD(不填则按意向等级的跟进周期计算)
    #[arg(long)]
    next: Option<Day>,
    /// 发生时间 "YYYY-MM-DD HH:MM" 或 YYYY-MM-DD(默认现在)
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
        let path = edit::path_for(card, field)?;
        if path == "id" {
            return Err(DomainError::invalid("id", "客户编号不能修改").into());
        }
        *card = edit::set_text(card, &path, value)?;
    }
    Ok(())
}

/// The contact of `card` a person meant: its name, its number as `crm
/// show` lists it (1, 2, …), or its id.
fn contact_key(card: &Customer, which: &str) -> Result<String> {
    let which = which.trim();
    if card.contacts.contains_key(which) {
        return Ok(which.to_string());
    }
    if let Ok(n) = which.parse::<usize>() {
        if let Some(id) = n.checked_sub(1).and_then(|i| card.contacts.keys().nth(i)) {
            return Ok(id.clone());
        }
    }
    let named: Vec<(usize, &String)> = card
        .contacts
        .iter()
        .enumerate()
        .filter(|(_, (_, k))| k.name == which)
        .map(|(i, (id, _))| (i + 1, id))
        .collect();
    match named.as_slice() {
        [(_, id)] => Ok((*id).clone()),
        [] => Err(DomainError::invalid(
            "contact",
            format!(
                "{} 没有名为“{which}”的联系人;可写联系人姓名,或 crm show 列出的序号(1–{})",
                card.name,
                card.contacts.len()
            ),
        )
        .into()),
        many => Err(DomainError::invalid(
            "contact",
            format!(
                "{} 有 {} 位联系人叫“{which}”(序号 {});请写序号",
                card.name,
                many.len(),
                many.iter()
                    .map(|(n, _)| n.to_string())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        )
        .into()),
    }
}

/// What `crm edit --help` lists: every field with its Chinese label.
fn editable_fields() -> String {
    let mut out = String::from("可修改的字段(写路径或中文名均可):\n");
    for (path, label) in labels::FIELDS {
        if crm_shared::access::BY_RULE_ONLY.contains(path) {
            continue;
        }
        out.push_str(&format!("  {label:<8} {path}\n"));
    }
    out.push_str("主要联系人的字段也可直接写:");
    out.push_str(
        &labels::MAIN_CONTACT_ALIASES
            .iter()
            .map(|(a, _)| *a)
            .filter(|a| !a.contains('.'))
            .collect::<Vec<_>>()
            .join("、"),
    );
    out.push_str("\n其他联系人用 crm contact edit;竞争对手写 business.competitors.<名称>=<评价>;\n信用额度只能通过信用额度变更申请(crm credit request)修改。");
    out
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
    crate::net::password::read(from_stdin, "密码:")?.ok_or(StoreError::NoPassword)
}

/// A new password: the next line of stdin, else `CRM_NEW_PASSWORD`, else
/// typed twice without echo. The server checks it against its rule.
fn read_new_password(from_stdin: bool) -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else if let Ok(value) = std::env::var("CRM_NEW_PASSWORD") {
        value
    } else if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("新密码(至少 10 个字符,可用一句好记的话):")?;
        let again = rpassword::prompt_password("再输入一次新密码:")?;
        if first != again {
            return Err(DomainError::invalid("新密码", "两次输入的新密码不一致").into());
        }
        first
    } else {
        return Err(StoreError::NoNewPassword);
    };
    if password.is_empty() {
        return Err(StoreError::NoNewPassword);
    }
    Ok(password)
}

/// Refuses changes the logged-in role may not make (the server would undo
/// them anyway; better to say so before anything is recorded).
fn check_allowed(store: &Store, before: &Customer, after: &Customer) -> Result<()> {
    let session = session::current(store)?;
    let changes = crm_shared::diff::customers(before, after);
    let refused = match &session {
        Some(s) => crm_shared::access::forbidden(s.role, &changes)
            .into_iter()
            .next(),
        // Before the first login the role is not known yet; what nobody
        // may change by an edit is refused all the same.
        None => changes
            .iter()
            .find(|c| crm_shared::access::BY_RULE_ONLY.contains(&c.path.as_str())),
    };
    if let Some(c) = refused {
        let role = session.map_or(Role::Salesperson, |s| s.role);
        return Err(DomainError::invalid(
            c.path.as_str(),
            crm_shared::access::why_not(role, &c.path),
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
            let server = session::current(&store)?.map(|s| s.server_url);
            let last_sync = store.last_sync_at()?;
            let waiting = store.pending_count()?;
            let aside = store.aside()?.len();
            if j.json {
                print_json(&json!({
                    "user": p.user, "display_name": p.display_name,
                    "customers": customers, "document_bytes": bytes,
                    "store": Store::file(&dir), "server": server,
                    "last_sync_at": last_sync, "pending": waiting, "set_aside": aside,
                }));
            } else {
                println!("用户:{}({})", p.display_name, p.user);
                println!("资料库:{}", Store::file(&dir).display());
                println!("客户:{customers} 位,文档 {:.1} MB", bytes as f64 / 1e6);
                match &server {
                    Some(url) => println!("服务器:{url}"),
                    None => println!("服务器:尚未登录(crm login)"),
                }
                match last_sync {
                    Some(at) => println!("上次同步成功:{}", render::time(at)),
                    None => println!("上次同步成功:从未同步"),
                }
                println!("待同步:{waiting} 位客户的修改");
                if aside > 0 {
                    println!("被搁置:{aside} 位客户(crm aside 查看)");
                }
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
            let mut rows: Vec<_> = store
                .list()?
                .into_iter()
                .filter(|s| l.region.as_ref().is_none_or(|r| &s.region == r))
                .filter(|s| l.status.is_none_or(|x| s.status == x))
                .filter(|s| l.grade.is_none_or(|g| s.grade == Some(g)))
                .filter(|s| l.salesperson.as_ref().is_none_or(|p| &s.salesperson == p))
                .collect();
            // Stable sorts over the pinyin order: ties stay by name.
            match l.sort {
                ListOrder::Name => {}
                ListOrder::Recent => rows.sort_by_key(|s| std::cmp::Reverse(s.last_activity_at)),
                ListOrder::Followup => {
                    rows.sort_by_key(|s| (s.next_followup.is_none(), s.next_followup))
                }
                ListOrder::Grade => rows.sort_by_key(|s| (s.grade.is_none(), s.grade)),
            }
            if l.json.json {
                print_json(&rows);
            } else {
                render::summaries(&rows, &store.short_ids()?);
            }
        }
        Command::Search { text, json } => {
            let store = Store::open(&dir)?;
            let rows = store.search(&text)?;
            if json.json {
                print_json(&rows);
            } else {
                render::summaries(&rows, &store.short_ids()?);
            }
        }
        Command::Contact(ContactCommand::Edit {
            customer,
            contact,
            set,
            reason,
        }) => {
            let mut store = Store::open(&dir)?;
            let id = store.resolve_key(&customer)?;
            let before = store.get(&id)?;
            let key = contact_key(&before, &contact)?;
            let mut sets = Vec::with_capacity(set.len());
            for s in &set {
                let (field, value) = s
                    .split_once('=')
                    .ok_or_else(|| DomainError::invalid(s.as_str(), "应写成 字段=值"))?;
                let f = labels::contact_field(field).ok_or_else(|| {
                    DomainError::invalid(
                        field,
                        format!(
                            "联系人没有这个字段;可写:{}",
                            labels::CONTACT_FIELDS
                                .iter()
                                .map(|(_, l)| *l)
                                .collect::<Vec<_>>()
                                .join("、")
                        ),
                    )
                })?;
                sets.push(format!("contacts.{key}.{f}={value}"));
            }
            let mut after = before.clone();
            apply_sets(&mut after, &sets)?;
            check_allowed(&store, &before, &after)?;
            let note = store.note(Action::Edit, reason.as_deref());
            let changes = store.change(&id, &note, |c| apply_sets(c, &sets))?;
            if changes.is_empty() {
                println!("没有变化,未保存。");
            } else {
                println!(
                    "已保存 {} 的联系人 {} 的修改:",
                    before.name, before.contacts[&key].name
                );
                render::field_changes(&changes);
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
                        crm_shared::access::why_not(s.role, &path),
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
            let device = session::device_name();
            let first = session::login(
                &mut store,
                &l.server,
                trust.clone(),
                &l.user,
                &password,
                &device,
            );
            let s = match first {
                // An administrator reset the password: the holder chooses
                // a new one now, then signs in with it.
                Err(StoreError::Net(NetError::PasswordChangeRequired)) => {
                    eprintln!("管理员已重设你的密码,请设置只有你自己知道的新密码。");
                    let new = read_new_password(l.password_stdin)?;
                    session::change_password(&l.server, &trust, &l.user, &password, &new)?;
                    println!("已设置新密码");
                    session::login(&mut store, &l.server, trust, &l.user, &new, &device)?
                }
                other => other?,
            };
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
                if !report.removed_names.is_empty() {
                    println!(
                        "  已从本机移除(已转给其他业务员或不再由你负责):{}",
                        report.removed_names.join("、")
                    );
                }
                if report.rotated || !report.rebased.is_empty() {
                    println!(
                        "  本机资料库曾从旧副本恢复或被复制:已改用新的写入标识{}",
                        if report.rebased.is_empty() {
                            String::new()
                        } else {
                            format!(
                                ",并在服务器的版本上重新记录了 {} 位客户的修改,没有丢失",
                                report.rebased.len()
                            )
                        }
                    );
                }
                if report.dropped > 0 {
                    println!("  {} 项他人署名、服务器拒收的修改未保留", report.dropped);
                }
                if !report.set_aside.is_empty() {
                    println!(
                        "  {} 位客户暂时搁置(其他客户已正常同步),用 crm aside 查看:",
                        report.set_aside.len()
                    );
                    for (id, why) in &report.set_aside {
                        println!("    {}:{why}", render::customer_label(&store, id));
                    }
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
                render::summaries(&rows, &store.short_ids()?);
            }
        }
        Command::Aside { action, json } => {
            let mut store = Store::open(&dir)?;
            match action {
                Some(AsideCommand::Retry { customer }) => {
                    let id = match store.resolve_key(&customer) {
                        Ok(id) => id,
                        // A customer set aside before it was ever stored
                        // here is known by its id only.
                        Err(StoreError::NotFound(_)) => customer.clone(),
                        Err(e) => return Err(e),
                    };
                    store.retry_aside(&id)?;
                    println!("已安排 {id} 在下次 crm sync 时取服务器的版本并重新记录本人的修改");
                }
                None => {
                    let rows = store.aside()?;
                    if json.json {
                        print_json(&rows);
                    } else {
                        render::aside(&rows);
                    }
                }
            }
        }
        Command::Password(p) => {
            let store = Store::open(&dir)?;
            let saved = session::current(&store)?;
            let (server, trust, user) = match (&p.server, saved) {
                (Some(server), _) => {
                    let args = LoginArgs {
                        server: server.clone(),
                        user: p
                            .user
                            .clone()
                            .unwrap_or_else(|| store.profile().user.clone()),
                        fingerprint: p.fingerprint.clone(),
                        ca_file: p.ca_file.clone(),
                        password_stdin: p.password_stdin,
                    };
                    (server.clone(), login_trust(&args)?, args.user)
                }
                (None, Some(s)) => (s.server_url.clone(), s.trust.clone(), s.login.clone()),
                (None, None) => return Err(StoreError::NotLoggedIn),
            };
            let current = read_password(p.password_stdin)?;
            let new = read_new_password(p.password_stdin)?;
            session::change_password(&server, &trust, &user, &current, &new)?;
            println!("已修改 {user} 在 {server} 的密码");
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
