//! The salesperson's own views, offline: `crm today`, `crm report daily`,
//! `crm warnings`, `crm grades` (a preview: head office writes grades).

use clap::{Args, Subcommand};
use serde_json::json;

use crm_shared::day::Day;
use crm_shared::{grading, reports, warnings};

use super::common::{print_json, today as this_day, JsonFlag};
use crate::error::Result;
use crate::store::Store;

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

/// Runs `crm today`: follow-ups due and overdue, tomorrow's plan, warnings.
pub fn today(store: &Store, a: TodayArgs) -> Result<()> {
    let day = a.day.unwrap_or_else(this_day);
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
    if let Some(line) = crate::lock::describe(crate::lock::state(store)?) {
        println!("{line}");
    }
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
pub fn report(store: &mut Store, cmd: ReportCommand) -> Result<()> {
    match cmd {
        ReportCommand::Daily { day, user, json } => {
            let day = day.unwrap_or_else(this_day);
            let user = user.unwrap_or_else(|| store.profile().user.clone());
            let cards = store.cards_entered_on(day)?;
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
pub fn warnings(store: &mut Store, j: JsonFlag) -> Result<()> {
    let settings = store.settings()?;
    let day = this_day();
    let all: Vec<_> = store
        .rules_cards()?
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
pub fn grades(store: &mut Store, j: JsonFlag) -> Result<()> {
    let s = store.settings()?;
    let rows: Vec<_> = store
        .rules_cards()?
        .iter()
        .map(|c| grading::GradeRow::of(c, &s.grading, this_day()))
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
