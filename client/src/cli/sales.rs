//! `crm sale`: sales records, the basis of a customer's grade.

use clap::Subcommand;

use crm_shared::day::Day;

use super::common::{print_json, today, JsonFlag};
use crate::error::Result;
use crate::record;
use crate::store::Store;

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
            let id = store.resolve_key(&customer)?;
            let key = record::sale(
                store,
                &id,
                record::NewSale {
                    amount,
                    product,
                    quantity,
                    day: day.unwrap_or_else(today),
                    due,
                },
            )?;
            println!("已记录销售({key}):{amount} 元");
        }
        SaleCommand::Paid { customer, sale, on } => {
            let id = store.resolve_key(&customer)?;
            let on = on.unwrap_or_else(today);
            record::sale_paid(store, &id, &sale, on)?;
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
