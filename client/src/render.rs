//! Human output of the CLI: tables and cards in Chinese, times in local time.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use comfy_table::{presets::UTF8_BORDERS_ONLY, ContentArrangement, Table};

use crm_shared::customer::{Customer, Millis};
use crm_shared::day::{Day, Moment};
use crm_shared::diff::{text_at, FieldChange};
use crm_shared::document::Conflict;
use crm_shared::labels::label_of;
use crm_shared::story::Story;
use crm_shared::summary::CustomerSummary;

use crate::error::Result;

/// A moment as people read it, in local time.
pub fn time(ms: Millis) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "—".into())
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

/// An id as lists show it: its shortest unique start, with "…" when cut.
fn short_id(id: &str, short_ids: &std::collections::HashMap<String, String>) -> String {
    match short_ids.get(id) {
        Some(s) if s.len() < id.len() => format!("{s}…"),
        _ => id.to_string(),
    }
}

/// A list of customers; ids shortened to what still names each one.
pub fn summaries(rows: &[CustomerSummary], short_ids: &std::collections::HashMap<String, String>) {
    if rows.is_empty() {
        println!("没有找到客户。");
        return;
    }
    let mut t = table(&[
        "编号",
        "客户名称",
        "区域",
        "等级",
        "状态",
        "业务员",
        "联系人",
        "电话",
        "下次跟进",
    ]);
    for s in rows {
        t.add_row(vec![
            short_id(&s.id, short_ids),
            s.name.clone(),
            s.region.clone(),
            opt(s.grade.map(|g| g.code())),
            s.status.label().to_string(),
            s.salesperson.clone(),
            opt(s.contact.clone()),
            opt(s.phone.clone()),
            opt(s.next_followup),
        ]);
    }
    println!("{t}");
    println!("共 {} 位客户", rows.len());
}

/// Follow-ups due on or before `day`.
pub fn followups(rows: &[CustomerSummary], day: Day) {
    if rows.is_empty() {
        println!("{day} 没有到期的跟进。");
        return;
    }
    let mut t = table(&[
        "应跟进日",
        "状况",
        "客户名称",
        "意向",
        "联系人",
        "电话",
        "上次联系",
    ]);
    for s in rows {
        let due = s.next_followup.expect("due rows have a date");
        let late = due.days_until(day);
        t.add_row(vec![
            due.to_string(),
            if late > 0 {
                format!("逾期 {late} 天")
            } else {
                "今日".into()
            },
            s.name.clone(),
            opt(s.intent.map(|i| i.label())),
            opt(s.contact.clone()),
            opt(s.phone.clone()),
            opt(s.last_activity_at.map(time)),
        ]);
    }
    println!("{t}");
}

/// Field changes, old → new.
pub fn field_changes(changes: &[FieldChange]) {
    const SHOWN: usize = 12;
    for c in changes.iter().take(SHOWN) {
        let label = label_of(&c.path);
        match (&c.old, &c.new) {
            (None, Some(n)) if c.is_new_entry() => println!("  + {label}:{}", short(n)),
            (old, new) => println!(
                "  {label}:{} → {}",
                old.as_deref().map(short).unwrap_or_else(|| "(空)".into()),
                new.as_deref().map(short).unwrap_or_else(|| "(空)".into())
            ),
        }
    }
    if changes.len() > SHOWN {
        println!("  …另有 {} 项(--json 查看全部)", changes.len() - SHOWN);
    }
}

fn short(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() > MAX {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    } else {
        s.to_string()
    }
}

/// A customer's history, as told in business language: when, who, what
/// (and why), then each further fact indented.
pub fn history(stories: &[Story]) {
    const SHOWN: usize = 20;
    for s in stories {
        println!(
            "{}  {}  {}{}",
            time(s.at),
            s.who,
            s.headline,
            s.reason
                .as_deref()
                .map(|r| format!("  (原因:{r})"))
                .unwrap_or_default()
        );
        for d in s.details.iter().take(SHOWN) {
            println!("    {d}");
        }
        if s.details.len() > SHOWN {
            println!("    …另有 {} 项", s.details.len() - SHOWN);
        }
    }
}

/// Open conflicts.
pub fn conflicts(list: &[(String, Conflict)]) {
    if list.is_empty() {
        println!("没有未解决的冲突。");
        return;
    }
    for (id, c) in list {
        println!("{id}  {}({}):", label_of(&c.path), c.path);
        for (i, v) in c.values.iter().enumerate() {
            println!(
                "  {} {}  —  {} {}",
                if i == 0 { "当前" } else { "另一" },
                text_at(&c.path, &v.value).unwrap_or_else(|| "(空)".into()),
                v.by.as_deref().unwrap_or("(未知)"),
                opt(v.at.map(time))
            );
        }
    }
    println!("用 crm resolve <客户> <字段> <值> --reason <原因> 选定保留的值。");
}

/// The whole card.
pub fn card(c: &Customer, open_conflicts: &[Conflict]) {
    println!("{}  {}", c.id, c.name);
    let line = |k: &str, v: String| {
        if !v.is_empty() && v != "—" {
            println!("  {k}:{v}");
        }
    };
    line("业务员", c.salesperson.clone());
    line("区域", c.region.clone());
    line("状态", c.status.label().into());
    line(
        "建档时间",
        Moment::Date.show(c.entered_at).unwrap_or_default(),
    );
    line("有效期", opt(c.valid_until));
    line("等级", opt(c.grade.map(|g| g.code())));
    line("评分", opt(c.score));
    line("类别", opt(c.tier.map(|t| t.label())));
    line("客户类型", opt(c.kind.map(|t| t.label())));
    line("企业性质", opt(c.nature.map(|t| t.label())));
    line("行业", c.industry.clone());
    line("意向等级", opt(c.current_intent().map(|i| i.label())));
    line("下次跟进", opt(c.next_followup()));
    line("备注", c.remarks.clone());
    let v = serde_json::to_value(c).expect("serialisable");
    for (section, title) in [
        ("company", "企业信息"),
        ("business", "经营状况"),
        ("billing", "开票信息"),
        ("credit", "信用"),
    ] {
        let mut rows = Vec::new();
        if let Some(obj) = v[section].as_object() {
            for (k, val) in obj {
                let shown = match val {
                    serde_json::Value::Null => continue,
                    serde_json::Value::String(s) if s.is_empty() => continue,
                    serde_json::Value::Object(m) if m.is_empty() => continue,
                    // Competitors: name → how the customer rates them.
                    serde_json::Value::Object(m) => m
                        .iter()
                        .map(|(k, v)| format!("{k}({})", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join("、"),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                rows.push(format!("  {}:{shown}", label_of(&format!("{section}.{k}"))));
            }
        }
        if !rows.is_empty() {
            println!("{title}");
            rows.iter().for_each(|r| println!("{r}"));
        }
    }
    if !c.contacts.is_empty() {
        // The number is what `crm contact edit` takes besides the name.
        let mut t = table(&[
            "序号",
            "联系人",
            "部门",
            "职务",
            "手机",
            "电话",
            "邮箱",
            "微信",
        ]);
        for (i, k) in c.contacts.values().enumerate() {
            let name = if k.primary {
                format!("{}(主)", k.name)
            } else {
                k.name.clone()
            };
            t.add_row(vec![
                (i + 1).to_string(),
                name,
                k.department.clone(),
                k.title.clone(),
                k.mobile.clone(),
                k.phone.clone(),
                k.email.clone(),
                k.wechat.clone(),
            ]);
        }
        println!("{t}");
    }
    if !c.activities.is_empty() {
        let mut acts: Vec<_> = c.activities.values().collect();
        acts.sort_by_key(|a| std::cmp::Reverse(a.at));
        println!("最近活动(共 {} 条):", acts.len());
        for a in acts.iter().take(10) {
            println!(
                "  {}  {}  {}  {}",
                time(a.at),
                a.kind.label(),
                a.by,
                short(&a.notes)
            );
        }
    }
    if !c.complaints.is_empty() {
        println!("投诉(共 {} 条):", c.complaints.len());
        for (key, k) in &c.complaints {
            println!(
                "  {key}  {}  {}  {}",
                time(k.at),
                crm_shared::complaint::stage_label(k),
                short(&k.description)
            );
        }
    }
    if !open_conflicts.is_empty() {
        println!(
            "⚠ 有 {} 个字段存在冲突,运行 crm conflicts {} 查看",
            open_conflicts.len(),
            c.id
        );
    }
}

fn count_lines(file: &Path) -> Result<u64> {
    let f = std::fs::File::open(file).map_err(|source| crate::ClientError::File {
        path: file.to_path_buf(),
        source,
    })?;
    let mut n = 0;
    for l in std::io::BufReader::with_capacity(1 << 20, f).split(b'\n') {
        if !l?.iter().all(u8::is_ascii_whitespace) {
            n += 1;
        }
    }
    Ok(n)
}

/// Runs an import with a progress bar on a terminal, or one line per
/// committed batch (`已保存 N/总数`) on stderr otherwise, so that a log shows
/// exactly how far an interrupted import got.
pub fn with_import_progress<T>(
    file: &Path,
    run: impl FnOnce(&mut dyn FnMut(usize)) -> Result<T>,
) -> Result<T> {
    let total = count_lines(file)?;
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} 导入 [{bar:40}] {pos}/{len} 位客户 {per_sec} 剩余 {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        let out = run(&mut |saved| bar.set_position(saved as u64));
        bar.finish_and_clear();
        out
    } else {
        run(&mut |saved| eprintln!("已保存 {saved}/{total}"))
    }
}

/// A customer as people know it: its name (and id), or the id alone when
/// this laptop does not hold the card.
pub fn customer_label(store: &crate::store::Store, id: &str) -> String {
    match store.get(id) {
        Ok(c) => format!("{}({id})", c.name),
        Err(_) => id.to_string(),
    }
}

/// `crm aside`: customers set aside by sync, why, and what happens next.
pub fn aside(rows: &[crate::aside::Aside]) {
    if rows.is_empty() {
        println!("没有被搁置的客户。");
        return;
    }
    println!("{} 位客户被搁置:", rows.len());
    for r in rows {
        let name = r.name.as_deref().unwrap_or("(本机没有此客户的档案)");
        println!("  {name}({})", r.id);
        println!("    原因:{}", r.message);
        println!("    处理:{}", r.next_step);
    }
}
