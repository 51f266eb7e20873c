//! Clashes between two people's edits: `crm conflicts` lists them, `crm
//! resolve` keeps one value with a reason.

use std::path::Path;

use clap::Args;
use serde_json::json;

use crm_shared::{edit, labels, Error as DomainError};

use super::common::{print_json, JsonFlag};
use crate::error::Result;
use crate::render;
use crate::session;
use crate::store::Store;

/// `crm conflicts`
#[derive(Debug, Args)]
pub struct ConflictsArgs {
    /// 只看此客户
    pub customer: Option<String>,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `crm resolve`
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// 客户编号、编号开头或名称
    pub customer: String,
    /// 字段路径或中文名
    pub field: String,
    /// 保留的值
    pub value: String,
    /// 为什么保留这个值(必填)
    #[arg(long)]
    pub reason: Option<String>,
}

/// Runs `crm conflicts`.
pub fn list(dir: &Path, args: ConflictsArgs) -> Result<()> {
    let ConflictsArgs { customer, json } = args;
    let store = Store::open(dir)?;
    let list = match customer {
        Some(k) => {
            let id = store.resolve_key(&k)?;
            store
                .conflicts(&id)?
                .into_iter()
                .map(|c| (id.clone(), c))
                .collect()
        }
        None => store.all_conflicts()?,
    };
    if json.json {
        let out: Vec<_> = list
            .iter()
            .map(|(id, c)| json!({"customer": id, "path": c.path, "values": c.values}))
            .collect();
        print_json(&out);
    } else {
        render::conflicts(&list);
    }
    Ok(())
}

/// Runs `crm resolve`.
pub fn resolve(dir: &Path, args: ResolveArgs) -> Result<()> {
    let ResolveArgs {
        customer,
        field,
        value,
        reason,
    } = args;
    let mut store = Store::open(dir)?;
    let id = store.resolve_key(&customer)?;
    let reason = reason.ok_or(DomainError::ReasonRequired)?;
    let path = labels::path_of(&field).to_string();
    // Type the value the way `edit --set` does, then take that field's JSON.
    let current = store.get(&id)?;
    let card = edit::set_text(&current, &path, &value)?;
    if let Some(s) = session::current(&store)? {
        if !crm_shared::access::may_change(s.role, &path) {
            return Err(DomainError::invalid(
                path.as_str(),
                crm_shared::access::why_not(s.role, &path),
            )
            .into());
        }
    }
    let mut v = serde_json::to_value(&card).expect("serialisable");
    for part in path.split('.') {
        v = v.get(part).cloned().unwrap_or_default();
    }
    store.resolve_conflict(&id, &path, &v, &reason)?;
    println!(
        "已解决 {id} 的 {} 冲突,保留值:{value}",
        labels::label_of(&path)
    );
    Ok(())
}
