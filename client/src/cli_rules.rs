//! The business-rule commands of `crm`: sales, credit-limit requests,
//! complaints, reviews, major changes, and the salesperson's own views
//! (today's work, daily report, warnings, grade preview). Everything works
//! offline on the laptop's own customers with the company settings last
//! received from the server; what only head office may decide (credit
//! decisions, grades) is shown, never written, here.

use clap::{Args, Subcommand};
use serde_json::json;

use crm_shared::codes::{ComplaintCategory, Tier};
use crm_shared::customer::{Complaint, CreditRequest, MajorChange, Review, Sale};
use crm_shared::day::Day;
use crm_shared::note::Action;
use crm_shared::{credit, grading, reports, warnings, Error};

use crate::cli::JsonFlag;
use crate::clock::now_millis;
use crate::store::Store;
use crate::Result;

fn today() -> Day {
    Day(chrono::Local::now().date_naive())
}

fn invalid(field: &str, message: impl Into<String>) -> crate::StoreError {
    Error::invalid(field, message).into()
}

fn entry_id(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::now_v7().simple().to_string()[..20]
    )
}

fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
}

/// `crm sale …`
#[derive(Debug, Subcommand)]
pub enum SaleCommand {
    /// 记录一笔销售
    Add {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 金额(元)
        #[arg(long)]
        amount: i64,
        /// 产品
        #[arg(long, default_value = "")]
        product: String,
        /// 数量
        #[arg(long, default_value_t = 1.0)]
        quantity: f64,
        /// 销售日期 YYYY-MM-DD(默认今天)
        #[arg(long)]
        day: Option<Day>,
        /// 赊销的应付款日 YYYY-MM-DD
        #[arg(long)]
        due: Option<Day>,
    },
    /// 登记付款
    Paid {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 销售记录编号(见 crm sale list)
        sale: String,
        /// 付款日期 YYYY-MM-DD(默认今天)
        #[arg(long)]
        on: Option<Day>,
    },
    /// 某客户的销售记录
    List {
        /// 客户编号、编号开头或名称
        customer: String,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// `crm credit …`
#[derive(Debug, Subcommand)]
pub enum CreditCommand {
    /// 申请变更信用额度(离线可用,同步后由总部审批)
    Request {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 拟变更的信用额度(元)
        #[arg(long)]
        limit: i64,
        /// 申请理由(必填)
        #[arg(long)]
        reason: Option<String>,
    },
    /// 信用额度申请及审批进度
    List {
        /// 只看此客户
        customer: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// `crm complaint …`
#[derive(Debug, Subcommand)]
pub enum ComplaintCommand {
    /// 登记投诉
    Add {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 投诉内容
        #[arg(long)]
        description: String,
        /// 性质:quality 质量问题、non_quality 非质量问题
        #[arg(long)]
        category: Option<ComplaintCategory>,
        /// 收到投诉的时间 "YYYY-MM-DD HH:MM"(默认现在)
        #[arg(long)]
        at: Option<String>,
    },
    /// 处理投诉:调查、方案、执行、客户是否满意
    Update {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 投诉编号(见 crm show)
        complaint: String,
        /// 性质:quality 质量问题、non_quality 非质量问题
        #[arg(long)]
        category: Option<ComplaintCategory>,
        /// 调查情况
        #[arg(long)]
        investigation: Option<String>,
        /// 处理方案
        #[arg(long)]
        remedy: Option<String>,
        /// 执行情况
        #[arg(long)]
        execution: Option<String>,
        /// 客户是否满意:是 / 否
        #[arg(long)]
        satisfied: Option<String>,
        /// 结案
        #[arg(long)]
        close: bool,
    },
    /// 本机客户的月度客诉统计
    Stats(JsonFlag),
}

/// `crm review …`
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// 标记档案已审查,可同时设定客户类别
    Mark {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 客户类别:important 重要、special 特殊、general 一般
        #[arg(long)]
        tier: Option<Tier>,
        /// 审查意见
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// 到期未审查的档案
    Due(JsonFlag),
}

/// `crm flag …`
#[derive(Debug, Subcommand)]
pub enum FlagCommand {
    /// 登记客户重大变化(管理层、股权、破产重组……)
    Add {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 发生了什么变化
        #[arg(long)]
        description: String,
    },
    /// 重大变化已处理
    Clear {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 重大变化的编号(见 crm show)
        flag: String,
    },
}

/// `crm report …`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// 销售活动日报表
    Daily {
        /// 哪一天 YYYY-MM-DD(默认今天)
        #[arg(long)]
        day: Option<Day>,
        /// 业务员登录名(默认本机用户)
        #[arg(long)]
        user: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// `crm today`
#[derive(Debug, Args)]
pub struct TodayArgs {
    /// 哪一天 YYYY-MM-DD(默认今天)
    #[arg(long, alias = "date")]
    pub day: Option<Day>,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// Runs `crm sale …`.
pub fn sale(store: &mut Store, cmd: SaleCommand) -> Result<()> {
    match cmd {
        SaleCommand::Add {
            customer,
            amount,
            product,
            quantity,
            day,
            due,
        } => {
            if amount <= 0 {
                return Err(invalid("amount", "销售金额应大于 0"));
            }
            if !quantity.is_finite() || quantity < 0.0 {
                return Err(invalid("quantity", "数量不能为负数"));
            }
            let day = day.unwrap_or_else(today);
            if due.is_some_and(|d| d < day) {
                return Err(invalid("due", "应付款日不能早于销售日"));
            }
            let id = store.resolve_key(&customer)?;
            let key = entry_id("s");
            let by = store.profile().user.clone();
            let note = store.note(Action::Sale, None);
            store.change(&id, &note, |c| {
                c.sales.insert(
                    key.clone(),
                    Sale {
                        day: Some(day),
                        product,
                        quantity,
                        amount,
                        due,
                        paid_on: None,
                        by,
                    },
                );
                Ok(())
            })?;
            println!("已记录销售({key}):{amount} 元");
        }
        SaleCommand::Paid { customer, sale, on } => {
            let id = store.resolve_key(&customer)?;
            let on = on.unwrap_or_else(today);
            let note = store.note(Action::Sale, Some("登记付款"));
            store.change(&id, &note, |c| {
                let s = c
                    .sales
                    .get_mut(&sale)
                    .ok_or_else(|| invalid("sale", format!("没有编号为 {sale} 的销售记录")))?;
                if s.paid_on.is_some() {
                    return Err(invalid("sale", format!("销售 {sale} 已登记付款")));
                }
                s.paid_on = Some(on);
                Ok(())
            })?;
            println!("已登记付款:{sale}({on})");
        }
        SaleCommand::List { customer, json } => {
            let id = store.resolve_key(&customer)?;
            let c = store.get(&id)?;
            if json.json {
                print_json(&c.sales);
            } else {
                for (k, s) in &c.sales {
                    println!(
                        "{k}  {}  {} ×{}  {} 元  {}",
                        s.day.map(|d| d.to_string()).unwrap_or_default(),
                        s.product,
                        s.quantity,
                        s.amount,
                        match (s.due, s.paid_on) {
                            (_, Some(p)) => format!("已付 {p}"),
                            (Some(d), None) => format!("未付,{d} 到期"),
                            (None, None) => "未付".into(),
                        }
                    );
                }
            }
        }
    }
    Ok(())
}

/// Runs `crm credit …`.
pub fn credit(store: &mut Store, cmd: CreditCommand) -> Result<()> {
    match cmd {
        CreditCommand::Request {
            customer,
            limit,
            reason,
        } => {
            let reason = reason.unwrap_or_default();
            if reason.trim().is_empty() {
                return Err(invalid("reason", "申请变更信用额度必须说明理由(--reason)"));
            }
            if limit < 0 {
                return Err(invalid("limit", "信用额度不能为负数"));
            }
            let id = store.resolve_key(&customer)?;
            let current = store.get(&id)?.credit.limit;
            if current == Some(limit) {
                return Err(invalid(
                    "limit",
                    format!("拟变更额度与现有额度相同({limit} 元)"),
                ));
            }
            let key = entry_id("cr");
            let by = store.profile().user.clone();
            let note = store.note(Action::CreditRequest, Some(reason.trim()));
            store.change(&id, &note, |c| {
                c.credit_requests.insert(
                    key.clone(),
                    CreditRequest {
                        at: now_millis(),
                        by,
                        current,
                        proposed: limit,
                        reason: reason.trim().to_string(),
                        decisions: Default::default(),
                    },
                );
                Ok(())
            })?;
            let chain = store.settings()?.credit_chain;
            println!(
                "已提交信用额度申请({key}):{} → {limit} 元,同步后{}",
                current.map_or("无".into(), |c| format!("{c} 元")),
                credit::CreditStatus::Pending(chain[0]).label()
            );
        }
        CreditCommand::List { customer, json } => {
            let chain = store.settings()?.credit_chain;
            let cards = match customer {
                Some(k) => vec![store.get(&store.resolve_key(&k)?)?],
                None => store.cards()?,
            };
            let mut out = Vec::new();
            for c in &cards {
                for (k, r) in &c.credit_requests {
                    out.push((c, k, r, credit::status(r, &chain)));
                }
            }
            if json.json {
                let v: Vec<_> = out
                    .iter()
                    .map(|(c, k, r, s)| json!({"customer": c.id, "name": c.name, "request_id": k, "request": r, "status": s, "status_label": s.label()}))
                    .collect();
                print_json(&v);
            } else {
                if out.is_empty() {
                    println!("没有信用额度申请");
                }
                for (c, k, r, s) in out {
                    println!(
                        "{} {}  {k}:{} → {} 元  {}",
                        c.id,
                        c.name,
                        r.current.map_or("无".into(), |x| x.to_string()),
                        r.proposed,
                        s.label()
                    );
                    for p in &chain {
                        if let Some(d) = r.decisions.get(p.code()) {
                            println!(
                                "    {}:{} {}{}",
                                p.label(),
                                if d.approved { "批准" } else { "驳回" },
                                d.by,
                                if d.comment.is_empty() {
                                    String::new()
                                } else {
                                    format!("「{}」", d.comment)
                                }
                            );
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn yes_no(s: &str) -> Result<bool> {
    match s.trim() {
        "yes" | "y" | "是" | "满意" | "true" => Ok(true),
        "no" | "n" | "否" | "不满意" | "false" => Ok(false),
        other => Err(invalid("satisfied", format!("“{other}”应为 yes/no(是/否)"))),
    }
}

/// Runs `crm complaint …`.
pub fn complaint(store: &mut Store, cmd: ComplaintCommand) -> Result<()> {
    match cmd {
        ComplaintCommand::Add {
            customer,
            description,
            category,
            at,
        } => {
            if description.trim().is_empty() {
                return Err(invalid("description", "投诉内容不能为空"));
            }
            let at = match at {
                Some(s) => crate::cli::parse_at(&s)?,
                None => now_millis(),
            };
            let id = store.resolve_key(&customer)?;
            let key = entry_id("q");
            let by = store.profile().user.clone();
            let note = store.note(Action::Complaint, None);
            store.change(&id, &note, |c| {
                c.complaints.insert(
                    key.clone(),
                    Complaint {
                        at,
                        by,
                        description: description.trim().to_string(),
                        category,
                        ..Default::default()
                    },
                );
                Ok(())
            })?;
            println!("已登记投诉({key})");
        }
        ComplaintCommand::Update {
            customer,
            complaint,
            category,
            investigation,
            remedy,
            execution,
            satisfied,
            close,
        } => {
            let satisfied = satisfied.as_deref().map(yes_no).transpose()?;
            let id = store.resolve_key(&customer)?;
            let note = store.note(Action::Complaint, Some("处理投诉"));
            store.change(&id, &note, |c| {
                let k = c.complaints.get_mut(&complaint).ok_or_else(|| {
                    invalid("complaint", format!("没有编号为 {complaint} 的投诉"))
                })?;
                if category.is_some() {
                    k.category = category;
                }
                for (slot, v) in [
                    (&mut k.investigation, &investigation),
                    (&mut k.remedy, &remedy),
                    (&mut k.execution, &execution),
                ] {
                    if let Some(v) = v {
                        *slot = v.trim().to_string();
                    }
                }
                if satisfied.is_some() {
                    k.satisfied = satisfied;
                }
                if close {
                    if k.satisfied.is_none() {
                        return Err(invalid(
                            "satisfied",
                            "结案须注明客户是否满意(--satisfied yes/no)",
                        ));
                    }
                    k.closed_at = Some(now_millis());
                }
                Ok(())
            })?;
            println!("已更新投诉 {complaint}");
        }
        ComplaintCommand::Stats(j) => {
            let cards = store.cards()?;
            let stats = reports::complaint_stats(&cards);
            if j.json {
                print_json(&stats);
            } else {
                println!("月份     总数 质量 非质量 未判定 满意 不满意 处理中");
                for m in stats {
                    println!(
                        "{}  {:>4} {:>4} {:>6} {:>6} {:>4} {:>6} {:>6}",
                        m.month,
                        m.total,
                        m.quality,
                        m.non_quality,
                        m.unclassified,
                        m.satisfied,
                        m.unsatisfied,
                        m.open
                    );
                }
            }
        }
    }
    Ok(())
}

/// Runs `crm review …`.
pub fn review(store: &mut Store, cmd: ReviewCommand) -> Result<()> {
    match cmd {
        ReviewCommand::Mark {
            customer,
            tier,
            notes,
        } => {
            let id = store.resolve_key(&customer)?;
            let by = store.profile().user.clone();
            let reason = match tier {
                Some(t) => format!("定期审查,客户类别:{}", t.label()),
                None => "定期审查".to_string(),
            };
            let note = store.note(Action::Review, Some(&reason));
            store.change(&id, &note, |c| {
                c.reviews.insert(
                    entry_id("r"),
                    Review {
                        at: now_millis(),
                        by,
                        tier,
                        notes: notes.trim().to_string(),
                    },
                );
                if tier.is_some() {
                    c.tier = tier;
                }
                Ok(())
            })?;
            println!("已记录审查:{id}");
        }
        ReviewCommand::Due(j) => {
            let days = store.settings()?.review_days;
            let due = reports::review_due(&store.cards()?, days, today());
            if j.json {
                print_json(&due);
            } else {
                if due.is_empty() {
                    println!("没有到期未审查的档案(审查周期 {days} 天)");
                }
                for d in due {
                    println!("{} {}  {} 天未审查", d.customer, d.name, d.days);
                }
            }
        }
    }
    Ok(())
}

/// Runs `crm flag …`.
pub fn flag(store: &mut Store, cmd: FlagCommand) -> Result<()> {
    match cmd {
        FlagCommand::Add {
            customer,
            description,
        } => {
            if description.trim().is_empty() {
                return Err(invalid("description", "请说明发生了什么变化"));
            }
            let id = store.resolve_key(&customer)?;
            let key = entry_id("m");
            let by = store.profile().user.clone();
            let note = store.note(Action::Flag, None);
            store.change(&id, &note, |c| {
                c.major_changes.insert(
                    key.clone(),
                    MajorChange {
                        at: now_millis(),
                        by,
                        description: description.trim().to_string(),
                        cleared: false,
                    },
                );
                Ok(())
            })?;
            println!("已登记重大变化({key})");
        }
        FlagCommand::Clear { customer, flag } => {
            let id = store.resolve_key(&customer)?;
            let note = store.note(Action::Flag, Some("重大变化已处理"));
            store.change(&id, &note, |c| {
                let m = c
                    .major_changes
                    .get_mut(&flag)
                    .ok_or_else(|| invalid("flag", format!("没有编号为 {flag} 的重大变化")))?;
                m.cleared = true;
                Ok(())
            })?;
            println!("已处理重大变化 {flag}");
        }
    }
    Ok(())
}

/// Runs `crm today`: follow-ups due and overdue, tomorrow's plan, warnings.
pub fn today_cmd(store: &Store, a: TodayArgs) -> Result<()> {
    let day = a.day.unwrap_or_else(today);
    let cards = store.cards()?;
    let settings = store.settings()?;
    let due = reports::due_followups(&cards, day);
    let tomorrow = reports::due_followups(&cards, day.plus_days(1))
        .into_iter()
        .filter(|p| p.day == day.plus_days(1))
        .collect::<Vec<_>>();
    let warnings: Vec<_> = cards
        .iter()
        .flat_map(|c| warnings::check(c, &settings, day))
        .collect();
    if a.json.json {
        print_json(
            &json!({"day": day, "due": due, "tomorrow": tomorrow, "warnings": warnings.len()}),
        );
        return Ok(());
    }
    println!("{day} 待跟进 {} 位:", due.len());
    for p in &due {
        let late = if p.overdue_days > 0 {
            format!("逾期 {} 天", p.overdue_days)
        } else {
            "今日".into()
        };
        println!(
            "  {}  {}  {}  {}",
            p.name,
            late,
            p.intent.map(|i| i.label()).unwrap_or_default(),
            who_to_call(p)
        );
    }
    println!("明日计划 {} 位:", tomorrow.len());
    for p in &tomorrow {
        println!("  {}  {}", p.name, who_to_call(p));
    }
    println!("预警 {} 条(crm warnings 查看)", warnings.len());
    Ok(())
}

/// Whom to call about a planned follow-up, and the number.
fn who_to_call(p: &reports::Planned) -> String {
    match (&p.contact, &p.phone) {
        (Some(c), Some(n)) => format!("{c} {n}"),
        (None, Some(n)) => n.clone(),
        (Some(c), None) => format!("{c}(无电话)"),
        (None, None) => "(无联系人)".into(),
    }
}

/// Runs `crm report …`.
pub fn report(store: &Store, cmd: ReportCommand) -> Result<()> {
    match cmd {
        ReportCommand::Daily { day, user, json } => {
            let day = day.unwrap_or_else(today);
            let user = user.unwrap_or_else(|| store.profile().user.clone());
            let cards = store.cards_entered()?;
            let r = reports::daily(cards.iter().map(|(c, e)| (c, e.as_ref())), &user, day);
            if json.json {
                print_json(&r);
                return Ok(());
            }
            println!("销售活动日报表  {user}  {day}");
            println!(
                "新客户 {},销售额 {} 元,投诉 {}",
                r.new_customers, r.sales_amount, r.complaints
            );
            for a in &r.activities {
                println!(
                    "  {}  {}  {}  {}{}",
                    chrono::DateTime::from_timestamp_millis(a.at)
                        .map(|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string())
                        .unwrap_or_default(),
                    a.name,
                    a.kind.label(),
                    a.notes,
                    a.intent
                        .map(|i| format!("(意向 {})", i.code()))
                        .unwrap_or_default()
                );
            }
            println!("明日工作计划:");
            for p in &r.tomorrow {
                println!("  {} {}", p.customer, p.name);
            }
        }
    }
    Ok(())
}

/// Runs `crm warnings`.
pub fn warnings_cmd(store: &Store, j: JsonFlag) -> Result<()> {
    let settings = store.settings()?;
    let day = today();
    let all: Vec<_> = store
        .cards()?
        .iter()
        .flat_map(|c| warnings::check(c, &settings, day))
        .collect();
    if j.json {
        print_json(&all);
    } else {
        if all.is_empty() {
            println!("没有预警");
        }
        for w in all {
            println!(
                "{} {}  【{}】{}",
                w.customer,
                w.name,
                w.rule.label(),
                w.figure
            );
        }
    }
    Ok(())
}

/// Runs `crm grades`: the grade table of the local customers (a preview;
/// head office writes grades).
pub fn grades_cmd(store: &Store, j: JsonFlag) -> Result<()> {
    let s = store.settings()?;
    let rows: Vec<_> = store
        .cards()?
        .iter()
        .map(|c| grading::GradeRow::of(c, &s.grading, today()))
        .collect();
    if j.json {
        print_json(&rows);
    } else {
        println!("客户等级管理汇总表(预览,由总部定级)");
        for (i, r) in rows.iter().enumerate() {
            println!(
                "{:>3} {}  评分 {}  系数 {}  月均 {} 元  履约率 {}  等级 {}  额度 {}  {}",
                i + 1,
                r.name,
                r.score.map(|x| x.to_string()).unwrap_or("-".into()),
                r.coefficient.map(|x| x.to_string()).unwrap_or("-".into()),
                r.monthly_average
                    .map(|x| format!("{x:.0}"))
                    .unwrap_or("-".into()),
                r.on_time_rate
                    .map(|x| format!("{x:.1}%"))
                    .unwrap_or("-".into()),
                r.grade.map(|g| g.code()).unwrap_or("-"),
                r.credit_limit.map(|x| x.to_string()).unwrap_or("-".into()),
                r.remarks
            );
        }
    }
    Ok(())
}
