//! `crm visit`: a visit, call or other contact, with the next follow-up
//! scheduled by the intent's cadence.

use std::path::Path;

use clap::Args;

use crm_shared::codes::{ActivityKind, Intent};
use crm_shared::day::Day;

use super::common::parse_at;
use crate::clock::now_millis;
use crate::error::Result;
use crate::record;
use crate::store::Store;

/// `crm visit`
#[derive(Debug, Args)]
pub struct VisitArgs {
    /// 客户编号、编号开头、名称,或名称/联系人/电话中唯一匹配的一段
    customer: String,
    /// 内容:谈了什么、结果如何
    #[arg(long)]
    notes: String,
    /// 方式(默认 visit):visit 拜访、call 电话、mail 寄送、event 活动、survey 调查、gift 礼品、message 短信、meeting 会议
    #[arg(long, default_value = "visit")]
    kind: ActivityKind,
    /// 本次联系后判断的意向等级(不填则沿用)
    #[arg(long)]
    intent: Option<Intent>,
    /// 下次跟进日期 YYYY-MM-DD(不填则按意向等级的跟进周期计算)
    #[arg(long)]
    next: Option<Day>,
    /// 发生时间 "YYYY-MM-DD HH:MM" 或 YYYY-MM-DD(默认现在)
    #[arg(long)]
    at: Option<String>,
}

/// Runs `crm visit`.
pub fn visit(dir: &Path, v: VisitArgs) -> Result<()> {
    let mut store = Store::open(dir)?;
    let id = store.resolve_key(&v.customer)?;
    let at = match &v.at {
        Some(s) => parse_at(s)?,
        None => now_millis(),
    };
    let kind = v.kind;
    let (key, next) = record::visit(
        &mut store,
        &id,
        record::Visit {
            kind,
            notes: v.notes,
            intent: v.intent,
            next: v.next,
            at,
        },
    )?;
    match next {
        Some(d) => println!("已记录{kind}({key}),下次跟进:{d}"),
        None => println!("已记录{kind}({key})"),
    }
    Ok(())
}
