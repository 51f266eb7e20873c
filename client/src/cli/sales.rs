//! `crm sale`: sales records, the basis of a customer's grade.

use clap::Subcommand;

use crm_shared::day::Day;
use crm_shared::note::Action;

use super::common::{entry_id, invalid, print_json, today, JsonFlag};
use crate::error::Result;
use crate::store::Store;
use crm_shared::customer::Sale;

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
