//! Finding and reading customers, and adding new ones: `crm add`, `show`,
//! `list`, `search`, `followups`, `history`, `import`.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use crm_shared::codes::{Grade, Intent, Status};
use crm_shared::customer::{Contact, Customer};
use crm_shared::day::Day;

use super::common::{print_json, JsonFlag};
use crate::clock::now_millis;
use crate::error::Result;
use crate::record;
use crate::render;
use crate::store::Store;

/// `crm add`
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

/// `crm list`
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

/// `crm show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// 客户编号、编号开头、名称,或名称/联系人/电话中唯一匹配的一段
    pub customer: String,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `crm search`
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// 要找的文字:名称、联系人、电话或税号中的一段
    pub text: String,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `crm followups`
#[derive(Debug, Args)]
pub struct FollowupsArgs {
    /// 哪一天(默认今天),格式 YYYY-MM-DD
    #[arg(long)]
    pub date: Option<Day>,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `crm history`
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// 客户编号、编号开头或名称
    pub customer: String,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `crm import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// JSON Lines 文件(每行一位客户)
    pub file: PathBuf,
    /// 已有客户也改派给文件中写的业务员(默认保持原业务员)
    #[arg(long)]
    pub reassign: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// Runs `crm add`.
pub fn add(dir: &Path, a: AddArgs) -> Result<()> {
    let mut store = Store::open(dir)?;
    let user = store.profile().user.clone();
    let mut c = Customer {
        id: a.id.unwrap_or_else(record::customer_id),
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
    record::apply_sets(&mut c, &a.set)?;
    let blank = Customer {
        id: c.id.clone(),
        salesperson: c.salesperson.clone(),
        ..Default::default()
    };
    record::check_allowed(record::signed_in_role(&store)?, &blank, &c)?;
    store.create(&c, a.allow_duplicate)?;
    println!("已新建客户 {} {}", c.id, c.name);
    Ok(())
}

/// Runs `crm show`.
pub fn show(dir: &Path, args: ShowArgs) -> Result<()> {
    let ShowArgs { customer, json } = args;
    let store = Store::open(dir)?;
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
    Ok(())
}

/// Runs `crm list`.
pub fn list(dir: &Path, l: ListArgs) -> Result<()> {
    let store = Store::open(dir)?;
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
        ListOrder::Followup => rows.sort_by_key(|s| (s.next_followup.is_none(), s.next_followup)),
        ListOrder::Grade => rows.sort_by_key(|s| (s.grade.is_none(), s.grade)),
    }
    if l.json.json {
        print_json(&rows);
    } else {
        render::summaries(&rows, &store.short_ids()?);
    }
    Ok(())
}

/// Runs `crm search`.
pub fn search(dir: &Path, args: SearchArgs) -> Result<()> {
    let SearchArgs { text, json } = args;
    let store = Store::open(dir)?;
    let rows = store.search(&text)?;
    if json.json {
        print_json(&rows);
    } else {
        render::summaries(&rows, &store.short_ids()?);
    }
    Ok(())
}

/// Runs `crm followups`.
pub fn followups(dir: &Path, args: FollowupsArgs) -> Result<()> {
    let FollowupsArgs { date, json } = args;
    let store = Store::open(dir)?;
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
    Ok(())
}

/// Runs `crm history`.
pub fn history(dir: &Path, args: HistoryArgs) -> Result<()> {
    let HistoryArgs { customer, json } = args;
    let store = Store::open(dir)?;
    let id = store.resolve_key(&customer)?;
    let h = store.history(&id)?;
    if json.json {
        print_json(&h);
    } else {
        // This laptop knows one person's name: its own user's.
        let card = store.get(&id)?;
        let me = store.profile();
        let names = |login: &str| (login == me.user).then(|| me.display_name.clone());
        render::history(&crm_shared::story::tell_all(&h, &card, &names));
    }
    Ok(())
}

/// Runs `crm import`.
pub fn import(dir: &Path, args: ImportArgs) -> Result<()> {
    let ImportArgs {
        file,
        reassign,
        json,
    } = args;
    let mut store = Store::open(dir)?;
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
    Ok(())
}
