//! `crm flag`: major changes at a customer (设备、股权、经营 …) that head
//! office must know about.

use clap::Subcommand;

use crate::error::Result;
use crate::record;
use crate::store::Store;

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
            let id = store.resolve_key(&customer)?;
            let key = record::flag(store, &id, &description)?;
            println!("已登记重大变化({key})");
        }
        FlagCommand::Clear { customer, flag } => {
            let id = store.resolve_key(&customer)?;
            record::clear_flag(store, &id, &flag)?;
            println!("已处理重大变化 {flag}");
        }
    }
    Ok(())
}
