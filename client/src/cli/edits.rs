//! Changing a card: `crm edit` and `crm contact`, and the one place where
//! `字段=值` pairs are applied and checked against what the signed-in role
//! may change.

use std::path::Path;

use clap::{Args, Subcommand};

use crm_shared::customer::{Contact, Customer};
use crm_shared::note::Action;
use crm_shared::{labels, Error as DomainError};

use crate::error::Result;
use crate::record;
use crate::render;
use crate::store::Store;

/// `crm edit`
#[derive(Debug, Args)]
pub struct EditArgs {
    /// 客户编号、编号开头、名称,或名称/联系人/电话中唯一匹配的一段
    pub customer: String,
    /// 字段=新值;字段写路径(如 company.address)或中文名(如 地址、手机)
    #[arg(long = "set", value_name = "字段=值", required = true)]
    pub set: Vec<String>,
    /// 修改原因(必填)
    #[arg(long)]
    pub reason: Option<String>,
}

/// `crm contact …`
#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// 修改联系人:按姓名或 crm show 列出的序号指定,须说明原因
    Edit {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 联系人姓名,或 crm show 列出的序号(1、2、…)
        contact: String,
        /// 字段=新值;字段如 手机、电话、职务、部门、邮箱、微信、姓名
        #[arg(long = "set", value_name = "字段=值", required = true)]
        set: Vec<String>,
        /// 修改原因(必填)
        #[arg(long)]
        reason: Option<String>,
    },
    /// 新增联系人
    Add {
        /// 客户编号、编号开头或名称
        customer: String,
        /// 姓名
        #[arg(long)]
        name: String,
        /// 职务
        #[arg(long, default_value = "")]
        title: String,
        /// 部门
        #[arg(long, default_value = "")]
        department: String,
        /// 手机
        #[arg(long, default_value = "")]
        mobile: String,
        /// 电话
        #[arg(long, default_value = "")]
        phone: String,
        /// 邮箱
        #[arg(long, default_value = "")]
        email: String,
        /// 微信
        #[arg(long, default_value = "")]
        wechat: String,
        /// 设为主要联系人
        #[arg(long)]
        primary: bool,
    },
}

/// Runs `crm edit`.
pub fn edit(dir: &Path, args: EditArgs) -> Result<()> {
    let EditArgs {
        customer,
        set,
        reason,
    } = args;
    let mut store = Store::open(dir)?;
    let id = store.resolve_key(&customer)?;
    let note = store.note(Action::Edit, reason.as_deref());
    let changes = record::edit(&mut store, &id, &note, &set)?;
    if changes.is_empty() {
        println!("没有变化,未保存。");
    } else {
        println!("已保存 {id} 的修改:");
        render::field_changes(&changes);
    }
    Ok(())
}

/// Runs `crm contact …`.
pub fn contact(dir: &Path, cmd: ContactCommand) -> Result<()> {
    match cmd {
        ContactCommand::Edit {
            customer,
            contact,
            set,
            reason,
        } => {
            let mut store = Store::open(dir)?;
            let id = store.resolve_key(&customer)?;
            let before = store.get(&id)?;
            let key = contact_key(&before, &contact)?;
            let mut sets = Vec::with_capacity(set.len());
            for s in &set {
                let (field, value) = s
                    .split_once('=')
                    .ok_or_else(|| DomainError::invalid(s.as_str(), "应写成 字段=值"))?;
                let f = labels::contact_field(field).ok_or_else(|| {
                    DomainError::invalid(
                        field,
                        format!(
                            "联系人没有这个字段;可写:{}",
                            labels::CONTACT_FIELDS
                                .iter()
                                .map(|(_, l)| *l)
                                .collect::<Vec<_>>()
                                .join("、")
                        ),
                    )
                })?;
                sets.push(format!("contacts.{key}.{f}={value}"));
            }
            let note = store.note(Action::Edit, reason.as_deref());
            let changes = record::edit(&mut store, &id, &note, &sets)?;
            if changes.is_empty() {
                println!("没有变化,未保存。");
            } else {
                println!(
                    "已保存 {} 的联系人 {} 的修改:",
                    before.name, before.contacts[&key].name
                );
                render::field_changes(&changes);
            }
        }
        ContactCommand::Add {
            customer,
            name,
            title,
            department,
            mobile,
            phone,
            email,
            wechat,
            primary,
        } => {
            let mut store = Store::open(dir)?;
            let id = store.resolve_key(&customer)?;
            let contact = Contact {
                name,
                title,
                department,
                mobile,
                phone,
                email,
                wechat,
                primary,
                ..Default::default()
            };
            let key = record::add_contact(&mut store, &id, contact)?;
            println!("已为 {id} 新增联系人({key})");
        }
    }
    Ok(())
}

/// The contact of `card` a person meant: its name, its number as `crm
/// show` lists it (1, 2, …), or its id.
fn contact_key(card: &Customer, which: &str) -> Result<String> {
    let which = which.trim();
    if card.contacts.contains_key(which) {
        return Ok(which.to_string());
    }
    if let Ok(n) = which.parse::<usize>() {
        if let Some(id) = n.checked_sub(1).and_then(|i| card.contacts.keys().nth(i)) {
            return Ok(id.clone());
        }
    }
    let named: Vec<(usize, &String)> = card
        .contacts
        .iter()
        .enumerate()
        .filter(|(_, (_, k))| k.name == which)
        .map(|(i, (id, _))| (i + 1, id))
        .collect();
    match named.as_slice() {
        [(_, id)] => Ok((*id).clone()),
        [] => Err(DomainError::invalid(
            "contact",
            format!(
                "{} 没有名为“{which}”的联系人;可写联系人姓名,或 crm show 列出的序号(1–{})",
                card.name,
                card.contacts.len()
            ),
        )
        .into()),
        many => Err(DomainError::invalid(
            "contact",
            format!(
                "{} 有 {} 位联系人叫“{which}”(序号 {});请写序号",
                card.name,
                many.len(),
                many.iter()
                    .map(|(n, _)| n.to_string())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        )
        .into()),
    }
}

/// What `crm edit --help` lists: every field with its Chinese label.
pub(super) fn editable_fields() -> String {
    let mut out = String::from("可修改的字段(写路径或中文名均可):\n");
    for (path, label) in labels::FIELDS {
        if crm_shared::access::BY_RULE_ONLY.contains(path) {
            continue;
        }
        out.push_str(&format!("  {label:<8} {path}\n"));
    }
    out.push_str("主要联系人的字段也可直接写:");
    out.push_str(
        &labels::MAIN_CONTACT_ALIASES
            .iter()
            .map(|(a, _)| *a)
            .filter(|a| !a.contains('.'))
            .collect::<Vec<_>>()
            .join("、"),
    );
    out.push_str("\n其他联系人用 crm contact edit;竞争对手写 business.competitors.<名称>=<评价>;\n信用额度只能通过信用额度变更申请(crm credit request)修改。");
    out
}
