//! What every command shares: `--json`, printing JSON, new entry ids, today,
//! and reading a time typed on the command line.

use clap::Args;

use crm_shared::Error as DomainError;

use crate::error::Result;

/// `--json`
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// 输出 JSON(供脚本使用)
    #[arg(long)]
    pub json: bool,
}

/// Prints `v` as pretty JSON on stdout.
pub fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
}

pub use crate::clock::today;
pub use crate::record::invalid;

/// A time typed as "YYYY-MM-DD HH:MM" or YYYY-MM-DD (09:00), in this
/// laptop's time zone, as epoch milliseconds.
pub fn parse_at(s: &str) -> Result<i64> {
    use chrono::{Local, NaiveDate, NaiveDateTime, TimeZone};
    let t = s.trim();
    let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(9, 0, 0))
        });
    naive
        .and_then(|n| Local.from_local_datetime(&n).single())
        .map(|d| d.timestamp_millis())
        .ok_or_else(|| {
            DomainError::invalid("--at", format!("“{s}”不是有效时间,应为 YYYY-MM-DD HH:MM")).into()
        })
}
