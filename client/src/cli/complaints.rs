//! `crm complaint`: customer complaints, their handling and the satisfaction
//! check.

use clap::Subcommand;

use crm_shared::note::Action;

use super::common::{entry_id, invalid, print_json, JsonFlag};
use crate::clock::now_millis;
use crate::error::Result;
use crate::store::Store;
use crm_shared::codes::ComplaintCategory;
use crm_shared::customer::Complaint;

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
            if description.trim().is_empty() {
                return Err(invalid("description", "投诉内容不能为空"));
            }
            let at = match at {
                Some(s) => super::common::parse_at(&s)?,
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
