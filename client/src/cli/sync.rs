//! Syncing with the server: `crm sync`, what waits (`crm pending`), and
//! customers set aside (`crm aside`).

use std::io::IsTerminal;
use std::path::Path;

use clap::{Args, Subcommand};

use super::common::{print_json, JsonFlag};
use crate::error::{ClientError, Result};
use crate::net::NetError;
use crate::render;
use crate::session;
use crate::store::Store;

/// `crm aside …`
#[derive(Debug, Subcommand)]
pub enum AsideCommand {
    /// 重新同步被搁置的客户:取服务器的版本,重新记录本人的修改(他人署名的修改不保留)
    Retry {
        /// 客户编号、编号前缀或完整名称
        customer: String,
    },
}

/// `crm aside`
#[derive(Debug, Args)]
pub struct AsideArgs {
    #[command(subcommand)]
    pub action: Option<AsideCommand>,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// Runs `crm sync`.
pub fn sync(dir: &Path, j: JsonFlag) -> Result<()> {
    let mut store = Store::open(dir)?;
    let s = session::require(&store)?;
    let client = s.client()?;
    let term = std::io::stderr().is_terminal() && !j.json;
    let bar = term.then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_message(format!("正在与 {} 同步…", s.server_url));
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    });
    let result = crate::sync::run(
        &mut store,
        |req| Ok(client.post("/api/v1/sync", Some(s.bearer()), req)?),
        |r| {
            if let Some(b) = &bar {
                b.set_message(format!(
                    "已发送 {} 位,已接收 {} 位客户…",
                    r.sent, r.received
                ));
            }
        },
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut report = match result {
        Err(ClientError::Net(NetError::DeviceRevoked)) => {
            // The device lost its right to the data: remove it.
            let n = store.destroy(dir)?;
            return Err(ClientError::DeviceWiped(n));
        }
        other => other?,
    };
    (report.bytes_sent, report.bytes_received) = client.traffic();
    if j.json {
        print_json(&report);
    } else {
        println!(
            "同步完成:发送 {} 位客户的修改,接收 {} 位,移除 {} 位,冲突 {} 位({} 次请求)",
            report.sent,
            report.received,
            report.removed,
            report.conflicts.len(),
            report.requests
        );
        for r in &report.reverted {
            println!("  已被服务器撤销:{r}");
        }
        if !report.removed_names.is_empty() {
            println!(
                "  已从本机移除(已转给其他业务员或不再由你负责):{}",
                report.removed_names.join("、")
            );
        }
        if report.rotated || !report.rebased.is_empty() {
            println!(
                "  本机资料库曾从旧副本恢复或被复制:已改用新的写入标识{}",
                if report.rebased.is_empty() {
                    String::new()
                } else {
                    format!(
                        ",并在服务器的版本上重新记录了 {} 位客户的修改,没有丢失",
                        report.rebased.len()
                    )
                }
            );
        }
        if report.dropped > 0 {
            println!("  {} 项他人署名、服务器拒收的修改未保留", report.dropped);
        }
        if !report.set_aside.is_empty() {
            println!(
                "  {} 位客户暂时搁置(其他客户已正常同步),用 crm aside 查看:",
                report.set_aside.len()
            );
            for (id, why) in &report.set_aside {
                println!("    {}:{why}", render::customer_label(&store, id));
            }
        }
        if !report.conflicts.is_empty() {
            println!(
                "  有冲突的客户:{};用 crm conflicts 查看",
                report.conflicts.join("、")
            );
        }
        if report.kept_unsent > 0 {
            println!(
                "  {} 位已转给他人的客户还有未发送的修改,暂时保留",
                report.kept_unsent
            );
        }
        if report.awaiting_backup > 0 {
            println!(
                "  {} 位客户的修改服务器已收到,但尚未写入备份机;仍标记为未同步,下次同步时再次发送",
                report.awaiting_backup
            );
        }
    }
    Ok(())
}

/// Runs `crm pending`.
pub fn pending(dir: &Path, j: JsonFlag) -> Result<()> {
    let store = Store::open(dir)?;
    let rows = store.pending_summaries()?;
    if j.json {
        print_json(&rows);
    } else if rows.is_empty() {
        println!("没有待同步的修改。");
    } else {
        println!("{} 位客户有待同步的修改:", rows.len());
        render::summaries(&rows, &store.short_ids()?);
    }
    Ok(())
}

/// Runs `crm aside`.
pub fn aside(dir: &Path, args: AsideArgs) -> Result<()> {
    let AsideArgs { action, json } = args;
    let mut store = Store::open(dir)?;
    match action {
        Some(AsideCommand::Retry { customer }) => {
            let id = match store.resolve_key(&customer) {
                Ok(id) => id,
                // A customer set aside before it was ever stored
                // here is known by its id only.
                Err(ClientError::NotFound(_)) => customer.clone(),
                Err(e) => return Err(e),
            };
            store.retry_aside(&id)?;
            println!("已安排 {id} 在下次 crm sync 时取服务器的版本并重新记录本人的修改");
        }
        None => {
            let rows = store.aside()?;
            if json.json {
                print_json(&rows);
            } else {
                render::aside(&rows);
            }
        }
    }
    Ok(())
}
