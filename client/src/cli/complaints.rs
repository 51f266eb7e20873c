//! `crm complaint`: customer complaints, their handling and the satisfaction
//! check.

use clap::Subcommand;

use super::common::{invalid, print_json, JsonFlag};
use crate::clock::now_millis;
use crate::error::Result;
use crate::record;
use crate::store::Store;
use crm_shared::codes::ComplaintStep;
use crm_shared::complaint::StepInput;

/// `crm complaint …`
#[derive(Debug, Subcommand)]
pub enum ComplaintCommand {
    /// 登记投诉(性质由总部初步判断)
    Add {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 投诉内容
        #[arg(long)]
        description: String,
        /// 收到投诉的时间 "YYYY-MM-DD HH:MM"(默认现在)
        #[arg(long)]
        at: Option<String>,
        /// (总部的步骤,业务员不能填写)
        #[arg(long, hide = true)]
        category: Option<String>,
    },
    /// 办理业务员的步骤:与客户协商、按方案执行、客户满意度(依次办理;
    /// 初步判断、处理方案、经理意见、诉讼和结案由总部在控制台办理)
    Update {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 投诉编号(见 crm show)
        complaint: String,
        /// 与客户协商:客户是否同意处理方案(是 / 否)
        #[arg(long)]
        agreed: Option<String>,
        /// 与客户协商的情况
        #[arg(long)]
        negotiation: Option<String>,
        /// 按方案执行的情况
        #[arg(long)]
        execution: Option<String>,
        /// 客户是否满意:是 / 否
        #[arg(long)]
        satisfied: Option<String>,
        /// (总部的步骤,业务员不能办理)
        #[arg(long, hide = true)]
        category: Option<String>,
        /// (总部的步骤,业务员不能办理)
        #[arg(long, hide = true)]
        investigation: Option<String>,
        /// (总部的步骤,业务员不能办理)
        #[arg(long, hide = true)]
        remedy: Option<String>,
        /// (总部的步骤,业务员不能办理)
        #[arg(long, hide = true)]
        close: bool,
    },
    /// 本机客户的月度客诉统计
    Stats(JsonFlag),
}

fn yes_no(field: &str, s: &str) -> Result<bool> {
    match s.trim() {
        "yes" | "y" | "是" | "满意" | "同意" | "true" => Ok(true),
        "no" | "n" | "否" | "不满意" | "不同意" | "false" => Ok(false),
        other => Err(invalid(field, format!("“{other}”应为 yes/no(是/否)"))),
    }
}

/// The refusal of a head-office step asked for on the laptop.
fn head_office_step(what: &str) -> crate::error::ClientError {
    invalid(
        what,
        "投诉的初步判断(性质)、处理方案、经理意见、诉讼和结案由总部(档案管理员或经理)在控制台办理",
    )
}

/// Runs `crm complaint …`.
pub fn complaint(store: &mut Store, cmd: ComplaintCommand) -> Result<()> {
    match cmd {
        ComplaintCommand::Add {
            customer,
            description,
            at,
            category,
        } => {
            if category.is_some() {
                return Err(head_office_step("category"));
            }
            let at = match at {
                Some(s) => super::common::parse_at(&s)?,
                None => now_millis(),
            };
            let id = store.resolve_key(&customer)?;
            let key = record::complaint(store, &id, &description, at)?;
            println!("已登记投诉({key})");
        }
        ComplaintCommand::Update {
            customer,
            complaint,
            agreed,
            negotiation,
            execution,
            satisfied,
            category,
            investigation,
            remedy,
            close,
        } => {
            if category.is_some() || investigation.is_some() || remedy.is_some() || close {
                return Err(head_office_step("complaint"));
            }
            let id = store.resolve_key(&customer)?;
            let mut steps = Vec::new();
            if agreed.is_some() || negotiation.is_some() {
                let agreed = match agreed.as_deref() {
                    Some(a) => Some(yes_no("agreed", a)?),
                    None => None,
                };
                let input = StepInput {
                    agreed,
                    negotiation: negotiation.unwrap_or_default(),
                    ..Default::default()
                };
                steps.push((ComplaintStep::Negotiated, input));
            }
            if let Some(execution) = execution {
                let input = StepInput {
                    execution,
                    ..Default::default()
                };
                steps.push((ComplaintStep::Executed, input));
            }
            if let Some(s) = satisfied {
                let input = StepInput {
                    satisfied: Some(yes_no("satisfied", &s)?),
                    ..Default::default()
                };
                steps.push((ComplaintStep::Satisfaction, input));
            }
            if steps.is_empty() {
                return Err(invalid(
                    "complaint",
                    "请写明办理哪一步:--agreed/--negotiation、--execution 或 --satisfied",
                ));
            }
            for (step, input) in &steps {
                record::complaint_step(store, &id, &complaint, *step, input)?;
                println!("已办理投诉 {complaint}:{}", step.label());
            }
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
