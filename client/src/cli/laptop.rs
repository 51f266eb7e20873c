//! `crm init`, `crm status`, `crm rebuild-index`: the laptop's store itself.

use std::path::Path;

use clap::Args;
use serde_json::json;

use super::common::{print_json, JsonFlag};
use crate::error::Result;
use crate::render;
use crate::session;
use crate::store::Store;

/// `crm init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// 使用这台电脑的业务员的登录名
    #[arg(long)]
    pub user: String,
    /// 显示的姓名(默认同登录名)
    #[arg(long)]
    pub name: Option<String>,
}

/// Runs `crm init`: creates the store for one user.
pub fn init(dir: &Path, args: InitArgs) -> Result<()> {
    let InitArgs { user, name } = args;
    let display = name.unwrap_or_else(|| user.clone());
    let store = Store::init(dir, &user, &display)?;
    println!(
        "已初始化本机资料库:{}(用户 {})",
        Store::file(dir).display(),
        store.profile().user
    );
    if crate::key::wrapping(dir) == Some(crate::key::Wrapping::Keychain) {
        println!("本机资料的密钥保存在系统钥匙串中,登录电脑后打开无需密码");
    }
    Ok(())
}

/// Runs `crm status`: who, where, the server, what waits to be synced.
pub fn status(dir: &Path, j: JsonFlag) -> Result<()> {
    let store = Store::open(dir)?;
    let (customers, bytes) = store.stats()?;
    let p = store.profile();
    let server = session::current(&store)?.map(|s| s.server_url);
    let last_sync = store.last_sync_at()?;
    let waiting = store.pending_count()?;
    let aside = store.aside()?.len();
    let lock = crate::lock::state(&store)?;
    let kept = crate::key::wrapping(dir).unwrap_or_default();
    if j.json {
        print_json(&json!({
            "user": p.user, "display_name": p.display_name,
            "customers": customers, "document_bytes": bytes,
            "store": Store::file(dir), "server": server,
            "last_sync_at": last_sync, "pending": waiting, "set_aside": aside,
            "offline_lock": lock, "key_kept_by": kept,
        }));
    } else {
        println!("用户:{}({})", p.display_name, p.user);
        println!("资料库:{}", Store::file(dir).display());
        println!("密钥保管:{}", kept.label());
        println!("客户:{customers} 位,文档 {:.1} MB", bytes as f64 / 1e6);
        match &server {
            Some(url) => println!("服务器:{url}"),
            None => println!("服务器:尚未登录(crm login)"),
        }
        match last_sync {
            Some(at) => println!("上次同步成功:{}", render::time(at)),
            None => println!("上次同步成功:从未同步"),
        }
        println!("待同步:{waiting} 位客户的修改");
        if aside > 0 {
            println!("被搁置:{aside} 位客户(crm aside 查看)");
        }
        if let Some(line) = crate::lock::describe(lock) {
            println!("{line}");
        }
    }
    Ok(())
}

/// Runs `crm rebuild-index`: rebuilds the list and search rows from the documents.
pub fn rebuild_index(dir: &Path) -> Result<()> {
    let mut store = Store::open(dir)?;
    let n = store.rebuild_projection()?;
    println!("已重建 {n} 位客户的查询索引");
    Ok(())
}
