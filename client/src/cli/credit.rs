//! `crm credit`: credit-limit change requests. The laptop requests; only
//! head office decides, so decisions are shown here, never written.

use clap::Subcommand;
use serde_json::json;

use super::common::{print_json, JsonFlag};
use crate::error::Result;
use crate::record;
use crate::store::Store;
use crm_shared::credit;

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

/// Runs `crm credit …`.
pub fn credit(store: &mut Store, cmd: CreditCommand) -> Result<()> {
    match cmd {
        CreditCommand::Request {
            customer,
            limit,
            reason,
        } => {
            let id = store.resolve_key(&customer)?;
            let (key, current) =
                record::credit_request(store, &id, limit, &reason.unwrap_or_default())?;
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
