//! `crm review`: periodic reviews of a customer, and which are due.

use clap::Subcommand;

use super::common::{print_json, today, JsonFlag};
use crate::error::Result;
use crate::record;
use crate::store::Store;
use crm_shared::codes::Tier;

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

/// Runs `crm review …`.
pub fn review(store: &mut Store, cmd: ReviewCommand) -> Result<()> {
    match cmd {
        ReviewCommand::Mark {
            customer,
            tier,
            notes,
        } => {
            let id = store.resolve_key(&customer)?;
            record::review(store, &id, tier, &notes)?;
            println!("已记录审查:{id}");
        }
        ReviewCommand::Due(j) => {
            let days = store.settings()?.review_days;
            let due = crm_shared::reports::review_due(&store.rules_cards()?, days, today());
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
