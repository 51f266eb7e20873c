//! The business-rule commands of `crm`, offline on the laptop: sales feed
//! the grade preview and the arrears warning, a credit request waits for the
//! first approver, complaints count by month, a review clears its warning,
//! the daily report lists the day's visits, `today` lists what is overdue.

mod cli_common;

use std::path::Path;

use serde_json::Value;

use cli_common::{fails, init, ok, ok_json};

fn add(dir: &Path, id: &str, name: &str, extra: &[&str]) {
    let mut args = vec!["add", "--id", id, "--name", name];
    args.extend_from_slice(extra);
    ok(dir, &args);
}

/// The limit head office's approval chain gave `id`, as the laptop holds it
/// after a sync (no edit on the laptop may set it).
fn approved_limit(dir: &Path, id: &str, limit: i64) {
    crm_client::key::open(dir, cli_common::PASSPHRASE).unwrap();
    let mut store = crm_client::Store::open(dir).unwrap();
    let note = crm_shared::note::ChangeNote::new("system", crm_shared::note::Action::Decide)
        .with_reason(Some("信用额度申请已批准"));
    store
        .change(id, &note, |c| {
            c.credit.limit = Some(limit);
            Ok(())
        })
        .unwrap();
}

fn day_offset(days: i64) -> String {
    (chrono::Local::now().date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn rules_of(w: &Value, customer: &str) -> Vec<String> {
    w.as_array()
        .unwrap()
        .iter()
        .filter(|x| x["customer"] == customer)
        .map(|x| x["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_overdue_sale_raises_a_warning_that_payment_clears() {
    let home = init("zhang");
    let dir = home.path();
    add(dir, "c1", "绍兴柯桥纺织", &[]);
    approved_limit(dir, "c1", 10_000);
    let out = ok(
        dir,
        &[
            "sale",
            "add",
            "c1",
            "--amount",
            "12000",
            "--product",
            "涤纶面料",
            "--day",
            &day_offset(-40),
            "--due",
            &day_offset(-10),
        ],
    );
    let sale = out.split(['(', ')']).nth(1).unwrap().to_string();
    let w = ok_json(dir, &["warnings"]);
    assert_eq!(
        rules_of(&w, "c1"),
        ["overdue_arrears", "credit_exceeded"],
        "{w}"
    );
    let overdue = &w.as_array().unwrap()[0];
    assert!(
        overdue["figure"].as_str().unwrap().contains("12,000 元"),
        "{overdue}"
    );
    assert!(
        overdue["figure"].as_str().unwrap().contains("10 天"),
        "{overdue}"
    );

    ok(dir, &["sale", "paid", "c1", &sale]);
    assert!(rules_of(&ok_json(dir, &["warnings"]), "c1").is_empty());
    // Paying twice, or a sale that does not exist, is refused.
    fails(dir, &["sale", "paid", "c1", &sale], &["已登记付款"]);
    fails(dir, &["sale", "paid", "c1", "s-nope"], &["s-nope"]);
    fails(dir, &["sale", "add", "c1", "--amount", "0"], &["大于 0"]);
}

#[test]
fn grades_are_previewed_from_recorded_sales() {
    let home = init("zhang");
    let dir = home.path();
    add(dir, "c1", "嘉兴南湖电器", &[]);
    let month = |back: u32| {
        (chrono::Local::now().date_naive() - chrono::Months::new(back))
            .format("%Y-%m-%d")
            .to_string()
    };
    // Previous period 3 × 10,000, current period 3 × 10,000: flat sales, no credit.
    for b in [4, 5, 6] {
        ok(
            dir,
            &["sale", "add", "c1", "--amount", "10000", "--day", &month(b)],
        );
    }
    for b in [1, 2, 3] {
        ok(
            dir,
            &["sale", "add", "c1", "--amount", "10000", "--day", &month(b)],
        );
    }
    let g = ok_json(dir, &["grades"]);
    assert_eq!(g[0]["score"], 100.0, "{g}");
    assert_eq!(g[0]["grade"], "A");
    assert_eq!(g[0]["monthly_average"], 10000.0);
    assert_eq!(g[0]["suggested_limit"], 20000);
    // The preview does not write the grade: it is head office's.
    assert_eq!(ok_json(dir, &["show", "c1"])["grade"], Value::Null);
}

#[test]
fn a_credit_request_filed_offline_waits_for_the_first_approver() {
    let home = init("zhang");
    let dir = home.path();
    add(dir, "c1", "台州黄岩模具", &[]);
    approved_limit(dir, "c1", 200_000);
    fails(
        dir,
        &[
            "credit", "request", "c1", "--limit", "500000", "--reason", "  ",
        ],
        &["理由"],
    );
    fails(
        dir,
        &[
            "credit", "request", "c1", "--limit", "200000", "--reason", "x",
        ],
        &["相同"],
    );
    assert_eq!(ok_json(dir, &["credit", "list"]), serde_json::json!([]));
    let out = ok(
        dir,
        &[
            "credit",
            "request",
            "c1",
            "--limit",
            "500000",
            "--reason",
            "新签年度框架合同",
        ],
    );
    assert!(out.contains("待销售管理部经理审批"), "{out}");
    let list = ok_json(dir, &["credit", "list"]);
    assert_eq!(list[0]["status_label"], "待销售管理部经理审批");
    assert_eq!(list[0]["request"]["current"], 200000);
    assert_eq!(list[0]["request"]["proposed"], 500000);
    // The limit itself is unchanged until head office approves.
    assert_eq!(ok_json(dir, &["show", "c1"])["credit"]["limit"], 200000);
}

#[test]
fn complaints_count_by_month_and_the_laptop_takes_only_the_salespersons_steps() {
    let home = init("zhang");
    let dir = home.path();
    add(dir, "c1", "金华义乌小商品", &[]);
    let id = |out: String| out.split(['(', ')']).nth(1).unwrap().to_string();
    // Whether it is a quality issue is head office's first step.
    fails(
        dir,
        &[
            "complaint",
            "add",
            "c1",
            "--description",
            "包装破损",
            "--category",
            "quality",
        ],
        &["初步判断", "总部"],
    );
    let k1 = id(ok(
        dir,
        &[
            "complaint",
            "add",
            "c1",
            "--description",
            "包装破损",
            "--at",
            "2026-10-31 23:50",
        ],
    ));
    ok(
        dir,
        &[
            "complaint",
            "add",
            "c1",
            "--description",
            "送货延误",
            "--at",
            "2026-11-01 00:05",
        ],
    );
    fails(
        dir,
        &["complaint", "update", "c1", &k1, "--close"],
        &["结案", "总部"],
    );
    // The case waits for head office's judgement before the salesperson
    // talks the remedy over with the customer.
    fails(
        dir,
        &["complaint", "update", "c1", &k1, "--agreed", "是"],
        &["初步判断"],
    );
    let card = ok_json(dir, &["show", "c1"]);
    let k = &card["complaints"][&k1];
    assert_eq!(k["steps"]["registered"]["by"], "zhang");
    assert!(k["agreed"].is_null(), "a refused step changes nothing");
    let s = ok_json(dir, &["complaint", "stats"]);
    assert_eq!(s[0]["month"], "2026-10");
    assert_eq!(
        (s[0]["unclassified"].as_u64(), s[0]["open"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(s[1]["month"], "2026-11");
    assert_eq!(s[1]["total"].as_u64(), Some(1));
}

#[test]
fn a_review_clears_the_review_warning_and_sets_the_tier() {
    let home = init("zhang");
    let dir = home.path();
    add(
        dir,
        "c1",
        "湖州南浔木业",
        &["--set", "entered_at=2020-09-13"],
    );
    let due = ok_json(dir, &["review", "due"]);
    assert_eq!(due[0]["customer"], "c1", "{due}");
    assert!(rules_of(&ok_json(dir, &["warnings"]), "c1").contains(&"review_overdue".to_string()));
    ok(
        dir,
        &[
            "review",
            "mark",
            "c1",
            "--tier",
            "重要",
            "--notes",
            "资料已核对",
        ],
    );
    assert_eq!(ok_json(dir, &["review", "due"]), serde_json::json!([]));
    assert!(!rules_of(&ok_json(dir, &["warnings"]), "c1").contains(&"review_overdue".to_string()));
    assert_eq!(ok_json(dir, &["show", "c1"])["tier"], "important");
}

#[test]
fn the_daily_report_and_today_list_the_days_work() {
    let home = init("zhang");
    let dir = home.path();
    add(dir, "c1", "丽水青田石雕", &[]);
    add(dir, "c2", "衢州柯城化工", &[]);
    ok(
        dir,
        &["visit", "c1", "--notes", "拜访老板,谈新品", "--intent", "H"],
    );
    ok(
        dir,
        &[
            "visit",
            "c2",
            "--notes",
            "电话回访",
            "--kind",
            "call",
            "--at",
            &format!("{} 10:00", day_offset(-5)),
            "--next",
            &day_offset(-2),
        ],
    );
    let r = ok_json(dir, &["report", "daily"]);
    let notes: Vec<&str> = r["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["notes"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["拜访老板,谈新品"]);
    let t = ok_json(dir, &["today"]);
    assert_eq!(t["due"][0]["customer"], "c2");
    assert_eq!(t["due"][0]["overdue_days"], 2);
    let text = ok(dir, &["today"]);
    assert!(
        text.contains("衢州柯城化工") && text.contains("逾期 2 天"),
        "{text}"
    );
    // H: every 2 days, so c1 is planned for the day after tomorrow, not tomorrow.
    assert!(t["tomorrow"].as_array().unwrap().is_empty(), "{t}");
    ok(dir, &["flag", "add", "c1", "--description", "法人代表变更"]);
    assert!(rules_of(&ok_json(dir, &["warnings"]), "c1").contains(&"major_change".to_string()));
}

/// 日报的“新客户”只算业务员自己新建的客户:从文件导入的客户不算,哪怕是今天导入的。
#[test]
fn the_daily_report_counts_only_customers_the_salesperson_entered() {
    let home = init("zhang");
    let dir = home.path();
    add(dir, "c1", "丽水青田石雕", &[]);
    let file = dir.join("导入.jsonl");
    std::fs::write(
        &file,
        "{\"id\":\"i1\",\"name\":\"温州鹿城鞋业\"}\n{\"id\":\"i2\",\"name\":\"台州黄岩模具\"}\n{\"id\":\"i3\",\"name\":\"衢州柯城化工\"}\n",
    )
    .unwrap();
    ok(dir, &["import", file.to_str().unwrap()]);
    let r = ok_json(dir, &["report", "daily"]);
    assert_eq!(r["new_customers"], 1, "{r}");
    let text = ok(dir, &["report", "daily"]);
    assert!(text.contains("新客户 1"), "{text}");
}
