//! `crm complaint`: customer complaints, their handling and the satisfaction
//! check.

use clap::Subcommand;

use super::common::{invalid, print_json, JsonFlag};
use crate::clock::now_millis;
use crate::error::Result;
use crate::record;
use crate::store::Store;
use crm_shared::codes::ComplaintCategory;

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
            let at = match at {
                Some(s) => super::common::parse_at(&s)?,
                None => now_millis(),
            };
            let id = store.resolve_key(&customer)?;
            let key = record::complaint(store, &id, &description, category, at)?;
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
            record::handle_complaint(
                store,
                &id,
                &complaint,
                record::Handling {
                    category,
                    investigation,
                    remedy,
                    execution,
                    satisfied,
                    close,
                },
            )?;
            println!("已更新投诉 {complaint}");
        }
        ComplaintCommand::Stats(j) => {
            let cards = store.rules_cards()?;
            let stats = crm_shared::reports::complaint_stats(&cards);
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
