//! `crm flag`: major changes at a customer (设备、股权、经营 …) that head
//! office must know about.

use clap::Subcommand;

use crm_shared::note::Action;

use super::common::{entry_id, invalid};
use crate::clock::now_millis;
use crate::error::Result;
use crate::store::Store;
use crm_shared::customer::MajorChange;

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
