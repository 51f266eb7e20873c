//! The `crm` command line as a salesperson uses it, run as the real binary
//! on a throw-away data directory per test: a working day (客户、拜访、跟进、
//! 搜索), the full archive card, history with author and reason, bad input
//! that changes nothing, re-importing a file, and kill -9 during an import.

mod cli_common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use serde_json::{json, Value};

use cli_common::{crm, fails, fails_with, generate, init, list_ids, ok, ok_json, visit_count};

/// 上海华联 with a contact, a tax number, a monthly purchasing power and one visit: the
/// customer most stories below start from.
fn archive_with_hualian() -> tempfile::TempDir {
    let home = init("zhangsan");
    let dir = home.path();
    ok(
        dir,
        &[
            "add",
            "--id",
            "c1",
            "--name",
            "上海华联贸易有限公司",
            "--region",
            "华东",
            "--grade",
            "B",
            "--contact",
            "王经理",
            "--mobile",
            "13812345678",
            "--tax-no",
            "91310000MA1FL0XX1",
            "--set",
            "月采购力=500000",
        ],
    );
    ok(
        dir,
        &[
            "visit",
            "c1",
            "--notes",
            "初次拜访,王经理对新品感兴趣",
            "--intent",
            "H",
            "--at",
            "2026-03-02",
        ],
    );
    home
}

/// Everything a salesperson can see of the archive: the list, c1's card and
/// c1's history. Equal snapshots before and after a command mean it changed
/// nothing.
fn snapshot(dir: &Path) -> Value {
    json!({
        "list": ok_json(dir, &["list"]),
        "show": ok_json(dir, &["show", "c1"]),
        "history": ok_json(dir, &["history", "c1"]),
    })
}

fn assert_unchanged(dir: &Path, before: &Value, after_what: &str) {
    assert_eq!(
        &snapshot(dir),
        before,
        "the store changed after a failed `{after_what}`"
    );
}

/// Customer ids of a `crm followups --json` answer.
fn due_ids(rows: &Value) -> Vec<&str> {
    rows.as_array()
        .expect("an array")
        .iter()
        .map(|r| r["customer"]["id"].as_str().unwrap())
        .collect()
}

/// 业务员张三的一天:建档、新建客户、拜访(意向 H → 两天后跟进)、查看到期跟进、
/// 改约下次跟进、按名称/手机/税号/联系人搜索、客户列表。
#[test]
fn a_salespersons_day() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();

    let out = ok(dir, &["init", "--user", "zhangsan", "--name", "张三"]);
    assert!(
        out.contains("已初始化") && out.contains("zhangsan"),
        "{out}"
    );

    let out = ok(
        dir,
        &[
            "add",
            "--id",
            "c1",
            "--name",
            "上海华联贸易有限公司",
            "--region",
            "华东",
            "--grade",
            "B",
            "--contact",
            "王经理",
            "--mobile",
            "13812345678",
            "--tax-no",
            "91310000MA1FL0XX1",
        ],
    );
    assert_eq!(out.trim(), "已新建客户 c1 上海华联贸易有限公司");
    ok(
        dir,
        &[
            "add",
            "--id",
            "c2",
            "--name",
            "广州白云五金厂",
            "--region",
            "华南",
            "--contact",
            "陈小姐",
            "--mobile",
            "13987654321",
            "--tax-no",
            "91440101MA5CQ2Y77",
        ],
    );
    // Without --id the customer gets a generated one.
    let out = ok(dir, &["add", "--name", "成都天府商贸有限公司"]);
    let generated = out
        .trim()
        .strip_prefix("已新建客户 ")
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();

    // A second contact at 华联, the accountant.
    ok(
        dir,
        &[
            "contact",
            "add",
            "c1",
            "--name",
            "李会计",
            "--department",
            "财务部",
            "--mobile",
            "13700001111",
            "--email",
            "li@hualian.example",
        ],
    );

    // A visit judged H (hot): next follow-up two days later.
    let out = ok(
        dir,
        &[
            "visit",
            "c1",
            "--notes",
            "初次拜访,王经理对新品感兴趣",
            "--intent",
            "H",
            "--at",
            "2026-03-02",
        ],
    );
    assert!(out.contains("下次跟进:2026-03-04"), "{out}");
    let card = ok_json(dir, &["show", "c1"]);
    assert_eq!(card["next_followup"], "2026-03-04");
    assert_eq!(card["current_intent"], "H");
    let visit = card["activities"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(visit["by"], "zhangsan");
    assert_eq!(visit["kind"], "visit");
    assert_eq!(visit["notes"], "初次拜访,王经理对新品感兴趣");

    // Due on the 4th, not yet on the 3rd, two days overdue on the 6th.
    let due = ok_json(dir, &["followups", "--date", "2026-03-04"]);
    assert_eq!(due_ids(&due), ["c1"], "{due}");
    assert_eq!(due[0]["due"], "2026-03-04");
    assert_eq!(due[0]["overdue_days"], 0);
    assert_eq!(due[0]["customer"]["name"], "上海华联贸易有限公司");
    let not_yet = ok_json(dir, &["followups", "--date", "2026-03-03"]);
    assert_eq!(not_yet, json!([]));
    let late = ok_json(dir, &["followups", "--date", "2026-03-06"]);
    assert_eq!(late[0]["overdue_days"], 2, "{late}");
    let table = ok(dir, &["today", "--date", "2026-03-06"]);
    assert!(
        table.contains("上海华联贸易有限公司") && table.contains("逾期 2 天"),
        "{table}"
    );

    // A phone call the next day (customer named by its exact name) agrees
    // on a meeting in April: the given date overrides the cadence.
    let out = ok(
        dir,
        &[
            "visit",
            "上海华联贸易有限公司",
            "--kind",
            "call",
            "--notes",
            "电话确认报价,约四月初面谈",
            "--at",
            "2026-03-03 15:30",
            "--next",
            "2026-04-01",
        ],
    );
    assert!(out.contains("下次跟进:2026-04-01"), "{out}");
    let card = ok_json(dir, &["show", "c1"]);
    assert_eq!(card["next_followup"], "2026-04-01");
    assert_eq!(card["activities"].as_object().unwrap().len(), 2);
    assert_eq!(
        ok_json(dir, &["followups", "--date", "2026-03-04"]),
        json!([])
    );
    assert_eq!(
        due_ids(&ok_json(dir, &["followups", "--date", "2026-04-01"])),
        ["c1"]
    );

    // Search by a fragment of the name, of a mobile, by tax number and by
    // the second contact's name.
    let search = |q: &str| {
        ok_json(dir, &["search", q])
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(search("华联"), ["c1"]);
    assert_eq!(search("1234567"), ["c1"]);
    assert_eq!(search("91310000MA1FL0XX1"), ["c1"]);
    assert_eq!(search("MA5CQ2"), ["c2"]);
    assert_eq!(search("李会计"), ["c1"]);
    assert_eq!(search("白云"), ["c2"]);
    assert!(search("北京").is_empty());
    let table = ok(dir, &["search", "华联"]);
    assert!(table.contains("上海华联贸易有限公司"), "{table}");

    // The list has all three, with 华联's row up to date.
    let list = ok_json(dir, &["list"]);
    let rows: BTreeMap<&str, &Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r))
        .collect();
    assert_eq!(
        rows.keys().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from(["c1", "c2", generated.as_str()])
    );
    let c1 = rows["c1"];
    assert_eq!(c1["name"], "上海华联贸易有限公司");
    assert_eq!(c1["region"], "华东");
    assert_eq!(c1["grade"], "B");
    assert_eq!(c1["salesperson"], "zhangsan");
    assert_eq!(c1["contact"], "王经理");
    assert_eq!(c1["phone"], "13812345678");
    assert_eq!(c1["activities"], 2);
    assert_eq!(c1["next_followup"], "2026-04-01");
    let filtered = ok_json(dir, &["list", "--region", "华南"]);
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    assert_eq!(filtered[0]["id"], "c2");
    let table = ok(dir, &["list"]);
    assert!(
        table.contains("广州白云五金厂") && table.contains("共 3 位客户"),
        "{table}"
    );
}

/// 档案表每一部分的字段(企业信息、经营状况、开票信息、信用、分类、有效期、备注、
/// 竞争对手),用路径或中文字段名(如 月采购力=800000)设置,`show --json` 原样读回。
#[test]
fn every_section_of_the_card_set_on_add_reads_back_from_show() {
    let home = init("zhangsan");
    let dir = home.path();
    let remarks = "老客户,春节前回款 🧧\n只接受增值税专用发票";
    ok(
        dir,
        &[
            "add",
            "--id",
            "hl-001",
            "--name",
            "上海华联贸易有限公司",
            "--industry",
            "日用百货",
            "--status",
            "活跃",
            "--tax-no",
            "91310000MA1FL0XX1",
            "--set",
            "company.address=上海市浦东新区张江路 88 号",
            "--set",
            "法人代表=李国强",
            "--set",
            "company.bank_rating=AAA",
            "--set",
            "注册资本=10000000",
            "--set",
            "business.annual_sales=12000000",
            "--set",
            "月采购力=800000",
            "--set",
            "business.competitors.华为=价格高,服务好",
            "--set",
            "business.competitors.本地小厂=便宜但质量差",
            "--set",
            "billing.account_no=6222 0210 0100 1234",
            "--set",
            "开户银行=工商银行张江支行",
            "--set",
            "credit.on_time_rate=97.5",
            "--set",
            "欠款=0",
            "--set",
            "tier=重要",
            "--set",
            "nature=state_owned",
            "--set",
            "客户类型=工厂",
            "--set",
            "score=88",
            "--set",
            "intent=A",
            "--set",
            "valid_until=2027-12-31",
            "--set",
            &format!("remarks={remarks}"),
        ],
    );

    let c = ok_json(dir, &["show", "hl-001"]);
    assert_eq!(c["id"], "hl-001");
    assert_eq!(c["name"], "上海华联贸易有限公司");
    assert_eq!(c["salesperson"], "zhangsan");
    assert_eq!(c["industry"], "日用百货");
    assert_eq!(c["status"], "active");
    assert_eq!(c["company"]["address"], "上海市浦东新区张江路 88 号");
    assert_eq!(c["company"]["legal_rep"], "李国强");
    assert_eq!(c["company"]["bank_rating"], "AAA");
    assert_eq!(c["company"]["registered_capital"], 10_000_000);
    assert_eq!(c["business"]["annual_sales"], 12_000_000);
    assert_eq!(c["business"]["monthly_purchasing_power"], 800_000);
    assert_eq!(
        c["business"]["competitors"],
        json!({"华为": "价格高,服务好", "本地小厂": "便宜但质量差"})
    );
    assert_eq!(c["billing"]["tax_no"], "91310000MA1FL0XX1");
    assert_eq!(c["billing"]["account_no"], "6222 0210 0100 1234");
    assert_eq!(c["billing"]["bank"], "工商银行张江支行");
    assert_eq!(c["credit"]["limit"], Value::Null);
    assert_eq!(c["credit"]["on_time_rate"], 97.5);
    assert_eq!(c["credit"]["arrears"], 0);
    assert_eq!(c["tier"], "important");
    assert_eq!(c["nature"], "state_owned");
    assert_eq!(c["kind"], "factory");
    assert_eq!(c["score"], 88.0);
    assert_eq!(c["intent"], "A");
    assert_eq!(c["current_intent"], "A");
    assert_eq!(c["valid_until"], "2027-12-31");
    assert_eq!(c["remarks"], remarks);

    // The card reads in Chinese for people too.
    let card = ok(dir, &["show", "hl-001"]);
    for expected in [
        "月采购力:800000",
        "地址:上海市浦东新区张江路 88 号",
        "类别:重要",
        "企业性质:国有",
        "客户类型:工厂",
        "华为",
        "价格高,服务好",
    ] {
        assert!(card.contains(expected), "missing “{expected}” in:\n{card}");
    }

    // Editing with a Chinese label reaches the same field.
    ok(
        dir,
        &[
            "edit",
            "hl-001",
            "--set",
            "年销售额=15000000",
            "--set",
            "business.competitors.华为=已退出",
            "--reason",
            "年度复核",
        ],
    );
    let c = ok_json(dir, &["show", "hl-001"]);
    assert_eq!(c["business"]["annual_sales"], 15_000_000);
    assert_eq!(c["business"]["competitors"]["华为"], "已退出");
}

/// 修改历史:谁、何时、哪个字段由什么改成什么、为什么;记录拜访不需要原因。
#[test]
fn history_shows_who_changed_which_field_and_why() {
    let home = archive_with_hualian();
    let dir = home.path();

    let out = ok(
        dir,
        &[
            "edit",
            "c1",
            "--set",
            "business.monthly_purchasing_power=300000",
            "--reason",
            "年度复核",
        ],
    );
    assert!(out.contains("月采购力:500000 → 300000"), "{out}");

    let history = ok_json(dir, &["history", "c1"]);
    let entries = history.as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "activity", "edit"], "{history}");
    assert!(entries.iter().all(|e| e["by"] == "zhangsan"), "{history}");

    let edit = &entries[2];
    assert_eq!(edit["reason"], "年度复核");
    assert_eq!(
        edit["fields"],
        json!([{"path": "business.monthly_purchasing_power", "old": "500000", "new": "300000"}])
    );

    let visit = &entries[1];
    assert_eq!(visit["reason"], Value::Null);
    let fields = visit["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 1, "{visit}");
    assert!(
        fields[0]["path"]
            .as_str()
            .unwrap()
            .starts_with("activities."),
        "{visit}"
    );

    // A Chinese label names the same field in the history.
    ok(
        dir,
        &[
            "edit",
            "c1",
            "--set",
            "月采购力=350000",
            "--reason",
            "补充担保",
        ],
    );
    let history = ok_json(dir, &["history", "c1"]);
    let last = history.as_array().unwrap().last().unwrap();
    assert_eq!(last["reason"], "补充担保");
    assert_eq!(
        last["fields"],
        json!([{"path": "business.monthly_purchasing_power", "old": "300000", "new": "350000"}])
    );

    // Setting a value it already has records nothing.
    let out = ok(
        dir,
        &[
            "edit",
            "c1",
            "--set",
            "business.monthly_purchasing_power=350000",
            "--reason",
            "再确认",
        ],
    );
    assert!(out.contains("没有变化"), "{out}");
    assert_eq!(ok_json(dir, &["history", "c1"]), history);

    // And for people, in business language: who, what, why; labels, dates
    // and money as people write them, no ids.
    let text = ok(dir, &["history", "c1"]);
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{text}"))
    };
    assert!(
        line("新建客户 上海华联贸易有限公司").contains("zhangsan"),
        "{text}"
    );
    assert!(
        text.contains("    新增联系人 王经理,主要联系人,手机 13812345678"),
        "{text}"
    );
    assert!(text.contains("    月采购力:500,000 元"), "{text}");
    let edit = line("月采购力 500,000 元 → 300,000 元");
    assert!(
        edit.contains("zhangsan") && edit.contains("(原因:年度复核)"),
        "{text}"
    );
    assert!(
        line("新增拜访 2026-03-02 09:00 初次拜访,王经理对新品感兴趣").contains("zhangsan"),
        "{text}"
    );
    let visit_id = entries[1]["fields"][0]["path"].as_str().unwrap();
    let visit_id = visit_id.trim_start_matches("activities.");
    for raw in [visit_id, "=", "activities", "monthly_purchasing_power"] {
        assert!(!text.contains(raw), "{raw:?} in\n{text}");
    }

    // With a name on the profile, the laptop's own user is named.
    ok(dir, &["init", "--user", "zhangsan", "--name", "张三"]);
    let text = ok(dir, &["history", "c1"]);
    assert!(text.contains("  张三  新建客户"), "{text}");
    assert!(!text.contains("zhangsan"), "{text}");
}

/// 找不到的客户:查看、修改、记录拜访、查历史、加联系人都报“找不到客户”,什么也不改。
#[test]
fn an_unknown_customer_is_named_and_nothing_changes() {
    let home = archive_with_hualian();
    let dir = home.path();
    let before = snapshot(dir);
    for args in [
        &["show", "nosuch"][..],
        &[
            "edit",
            "nosuch",
            "--set",
            "月采购力=1",
            "--reason",
            "年度复核",
        ],
        &["visit", "nosuch", "--notes", "拜访"],
        &["history", "nosuch"],
        &["contact", "add", "nosuch", "--name", "赵六"],
    ] {
        fails(dir, args, &["找不到客户", "nosuch"]);
        assert_unchanged(dir, &before, &args.join(" "));
    }
}

/// 修改档案不写原因(或原因为空白)会被拒绝,月采购力不变。
#[test]
fn an_archive_edit_without_a_reason_is_refused() {
    let home = archive_with_hualian();
    let dir = home.path();
    let before = snapshot(dir);
    for args in [
        &["edit", "c1", "--set", "月采购力=1"][..],
        &["edit", "c1", "--set", "月采购力=1", "--reason", ""],
        &["edit", "c1", "--set", "月采购力=1", "--reason", "  "],
    ] {
        fails(dir, args, &["原因", "--reason"]);
        assert_unchanged(dir, &before, &args.join(" "));
    }
    assert_eq!(
        ok_json(dir, &["show", "c1"])["business"]["monthly_purchasing_power"],
        500_000
    );
}

/// 无效的等级、状态、字段名、负数额度、非数字金额、无效时间:错误写明字段和原因,
/// 一条命令里有一个值不对,其他值也不保存。
#[test]
fn invalid_values_are_refused_with_the_field_named() {
    let home = archive_with_hualian();
    let dir = home.path();
    let before = snapshot(dir);
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["edit", "c1", "--set", "grade=Z", "--reason", "复核"],
            &["等级", "Z", "客户等级"],
        ),
        (
            &["edit", "c1", "--set", "status=unknown", "--reason", "复核"],
            &["状态", "unknown", "客户状态"],
        ),
        (
            &[
                "edit",
                "c1",
                "--set",
                "company.adress=x",
                "--reason",
                "复核",
            ],
            &["没有字段", "company.adress"],
        ),
        (
            &["edit", "c1", "--set", "月采购力=-5", "--reason", "复核"],
            &["月采购力", "负数"],
        ),
        (
            &["edit", "c1", "--set", "月采购力=很多", "--reason", "复核"],
            &["月采购力", "整数"],
        ),
        (
            // Only an approved credit-limit request changes the limit.
            &["edit", "c1", "--set", "信用额度=900000", "--reason", "复核"],
            &["信用额度", "信用额度变更申请"],
        ),
        (
            &[
                "edit",
                "c1",
                "--set",
                "credit.on_time_rate=120",
                "--reason",
                "复核",
            ],
            &["按期信用履约率", "100"],
        ),
        (
            // The first value is fine, the second is not: neither is saved.
            &[
                "edit",
                "c1",
                "--set",
                "月采购力=1",
                "--set",
                "grade=Z",
                "--reason",
                "复核",
            ],
            &["等级", "客户等级"],
        ),
        (
            &["add", "--name", "杭州新客户有限公司", "--set", "grade=Z"],
            &["等级", "客户等级"],
        ),
        (
            &[
                "add",
                "--name",
                "杭州新客户有限公司",
                "--credit-limit=500000",
            ],
            &["信用额度", "信用额度变更申请"],
        ),
        (
            &[
                "add",
                "--name",
                "杭州新客户有限公司",
                "--set",
                "status=unknown",
            ],
            &["状态", "客户状态"],
        ),
        (
            &["visit", "c1", "--notes", "拜访", "--at", "昨天下午"],
            &["--at", "昨天下午"],
        ),
    ];
    for (args, needles) in cases {
        fails(dir, args, needles);
        assert_unchanged(dir, &before, &args.join(" "));
    }
    assert_eq!(
        ok_json(dir, &["show", "c1"])["business"]["monthly_purchasing_power"],
        500_000
    );
    assert_eq!(ok_json(dir, &["show", "c1"])["grade"], "B");
}

/// 新建一个同名(或同手机、同税号)的客户会提示可能重复,加 --allow-duplicate 才建。
#[test]
fn a_possible_duplicate_needs_allow_duplicate() {
    let home = archive_with_hualian();
    let dir = home.path();
    let before = snapshot(dir);
    for args in [
        &["add", "--name", "上海华联贸易有限公司"][..],
        &[
            "add",
            "--name",
            "华联贸易(上海)",
            "--contact",
            "王总",
            "--mobile",
            "13812345678",
        ],
        &["add", "--name", "华联商贸", "--tax-no", "91310000MA1FL0XX1"],
    ] {
        fails(dir, args, &["重复", "c1", "--allow-duplicate"]);
        assert_unchanged(dir, &before, &args.join(" "));
    }
    // An id that is taken is refused even with --allow-duplicate.
    let args = [
        "add",
        "--id",
        "c1",
        "--name",
        "另一家公司",
        "--allow-duplicate",
    ];
    fails(dir, &args, &["c1", "已存在"]);
    assert_unchanged(dir, &before, &args.join(" "));

    // Confirmed as a different company (a branch with the same name).
    ok(
        dir,
        &[
            "add",
            "--id",
            "c1-sz",
            "--name",
            "上海华联贸易有限公司",
            "--region",
            "华南",
            "--allow-duplicate",
        ],
    );
    assert_eq!(list_ids(dir), ["c1", "c1-sz"]);
}

/// 导入文件第 3 行 JSON 损坏、或某行等级无效:报出行号,第 1–2 行的客户也一个不存。
#[test]
fn a_bad_import_line_is_named_and_nothing_is_imported() {
    let home = archive_with_hualian();
    let dir = home.path();
    let files = tempfile::tempdir().unwrap();
    let good = files.path().join("good.jsonl");
    generate(&good, 3, |_| 2);
    let good_lines: Vec<String> = std::fs::read_to_string(&good)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let before = snapshot(dir);

    // Line 3 is cut off in the middle.
    let broken = files.path().join("broken.jsonl");
    let cut: String = good_lines[2].chars().take(60).collect();
    std::fs::write(
        &broken,
        format!("{}\n{}\n{cut}\n", good_lines[0], good_lines[1]),
    )
    .unwrap();
    let err = fails(
        dir,
        &["import", broken.to_str().unwrap()],
        &["第 3 行", "JSON", "未导入"],
    );
    assert!(
        !err.contains("第 1 行") && !err.contains("第 2 行"),
        "{err}"
    );
    assert_unchanged(dir, &before, "import broken.jsonl");
    fails(dir, &["show", "c000000"], &["找不到客户"]);

    // Line 2 has a grade that does not exist.
    let bad_grade = files.path().join("bad-grade.jsonl");
    let mut line2: Value = serde_json::from_str(&good_lines[1]).unwrap();
    line2["grade"] = json!("Z");
    std::fs::write(
        &bad_grade,
        format!("{}\n{line2}\n{}\n", good_lines[0], good_lines[2]),
    )
    .unwrap();
    fails(
        dir,
        &["import", bad_grade.to_str().unwrap()],
        &["第 2 行", "客户等级", "未导入"],
    );
    assert_unchanged(dir, &before, "import bad-grade.jsonl");

    // Line 1's contact has words for a mobile (valid JSON, invalid card).
    let negative = files.path().join("negative.jsonl");
    let mut line1: Value = serde_json::from_str(&good_lines[0]).unwrap();
    line1["contacts"][0]["mobile"] = json!("请问前台");
    std::fs::write(&negative, format!("{line1}\n{}\n", good_lines[1])).unwrap();
    fails(
        dir,
        &["import", negative.to_str().unwrap()],
        &["第 1 行", "电话号码", "未导入"],
    );
    assert_unchanged(dir, &before, "import negative.jsonl");

    // The good file imports fine afterwards.
    ok(dir, &["import", good.to_str().unwrap()]);
    assert_eq!(list_ids(dir).len(), 4);
}

/// 还没有 `crm init` 的电脑上,任何命令都提示先运行 crm init,并且不留下资料库。
#[test]
fn commands_before_init_say_to_run_crm_init() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let file = dir.join("customers.jsonl");
    generate(&file, 1, |_| 1);
    let file = file.to_str().unwrap();
    for args in [
        &["list"][..],
        &["status"],
        &["show", "c1"],
        &["add", "--name", "上海华联贸易有限公司"],
        &["visit", "c1", "--notes", "拜访"],
        &["followups", "--date", "2026-03-04"],
        &["import", file],
    ] {
        fails(dir, args, &["尚未初始化", "crm init"]);
    }
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["customers.jsonl"], "nothing but the import file");

    // The same through --data-dir, on a directory that does not exist yet.
    let elsewhere = dir.join("not-yet");
    let out = std::process::Command::new(cli_common::CRM)
        .arg("--data-dir")
        .arg(&elsewhere)
        .arg("list")
        .env_remove("CRM_HOME")
        .env("CRM_PASSPHRASE", cli_common::PASSPHRASE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("crm init"));
    assert!(!elsewhere.exists());
}

/// 一台电脑的资料库属于 zhangsan,不能再初始化给 lisi;zhangsan 再 init 一次无害。
#[test]
fn a_store_cannot_be_taken_over_by_another_user() {
    let home = archive_with_hualian();
    let dir = home.path();
    let before = snapshot(dir);
    fails(dir, &["init", "--user", "lisi"], &["zhangsan"]);
    assert_unchanged(dir, &before, "init --user lisi");
    ok(dir, &["init", "--user", "zhangsan"]);
    assert_unchanged(dir, &before, "init --user zhangsan (again)");
}

/// 命令行本身写错(缺少必填参数、参数值格式不对)退出码为 2,资料不变。
#[test]
fn a_wrong_command_line_exits_2_and_changes_nothing() {
    let home = archive_with_hualian();
    let dir = home.path();
    let before = snapshot(dir);
    for args in [
        &["add"][..],
        &["add", "--region", "华东"],
        &["edit", "c1", "--reason", "复核"],
        &["visit", "c1"],
        &["init"],
        &["contact", "add", "c1"],
        &["add", "--name", "杭州新客户有限公司", "--grade", "Z"],
        &["followups", "--date", "2026-13-01"],
        &["no-such-command"],
    ] {
        let stderr = fails_with(dir, 2, args);
        assert!(!stderr.trim().is_empty(), "{args:?}: no message");
        assert_unchanged(dir, &before, &args.join(" "));
    }
}

/// 同一个导入文件导两次:第二次新建 0 位,客户和拜访都不重复;本机记的拜访保留。
#[test]
fn importing_the_same_file_twice_duplicates_nothing() {
    let home = init("zhangsan");
    let dir = home.path();
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("华东客户.jsonl");
    let file = generate(&path, 12, |i| 1 + i % 4);
    let path = path.to_str().unwrap();

    let out = crm(dir, &["import", path, "--json"]);
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report,
        json!({"created": 12, "updated": 0, "unchanged": 0, "merged": [], "left_out": null,
               "reassigned": 0, "not_reassigned": 0})
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("已保存 12/12"),
        "{out:?}"
    );

    // Between the two imports the salesperson logs a visit of their own.
    ok(
        dir,
        &[
            "visit",
            "c000000",
            "--notes",
            "送样品",
            "--at",
            "2026-03-02",
        ],
    );
    let histories: Vec<Value> = file
        .ids
        .iter()
        .map(|id| ok_json(dir, &["history", id]))
        .collect();

    let out = ok(dir, &["import", path]);
    assert!(
        out.contains("导入完成:新建 0 位,更新 0 位,未变 12 位"),
        "{out}"
    );
    assert_eq!(list_ids(dir).len(), 12);
    let ids: BTreeSet<String> = list_ids(dir).into_iter().collect();
    assert_eq!(ids, file.ids.iter().cloned().collect());
    for (i, id) in file.ids.iter().enumerate() {
        let own = usize::from(i == 0);
        assert_eq!(visit_count(dir, id), file.visits[i] + own, "{id}");
        assert_eq!(
            ok_json(dir, &["history", id]),
            histories[i],
            "{id}: an unchanged import recorded a change"
        );
    }
    let first = ok_json(dir, &["show", "c000000"]);
    assert!(
        first["activities"]
            .as_object()
            .unwrap()
            .values()
            .any(|a| a["notes"] == "送样品"),
        "the salesperson's own visit was lost"
    );
}

/// 导入大文件时 kill -9:进度里报告“已保存 N”的前 N 位客户全部在、拜访一条不少;
/// 列表能用、索引能重建;再导一次补齐其余客户,谁都不重复。
#[test]
fn kill_9_during_import_loses_no_reported_customer() {
    use std::os::unix::process::ExitStatusExt;

    const CUSTOMERS: usize = 800;
    const KILL_AFTER: usize = 200;
    let home = init("zhangsan");
    let dir = home.path();
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("customers.jsonl");
    let file = generate(&path, CUSTOMERS, |i| 2 + i % 7);
    let expected: BTreeMap<&str, usize> = file
        .ids
        .iter()
        .map(String::as_str)
        .zip(file.visits.iter().copied())
        .collect();

    let mut child = cli_common::command(dir)
        .arg("import")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut progress = Vec::new();
    let mut saved = 0;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        progress.push(line.clone());
        let n = line
            .strip_prefix("已保存 ")
            .and_then(|rest| rest.split_once('/'))
            .map(|(n, total)| {
                assert_eq!(total, CUSTOMERS.to_string(), "{line}");
                n.parse::<usize>().unwrap()
            });
        if let Some(n) = n {
            saved = n;
            if n >= KILL_AFTER {
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9), // SIGKILL
        "the import ended by itself ({status}) before it was killed; if it \
         succeeded, make the file bigger. Its stderr: {progress:?}"
    );
    assert!(
        (KILL_AFTER..CUSTOMERS).contains(&saved),
        "killed after {saved}; progress: {progress:?}"
    );

    // The list works, holds at least the reported customers, and only whole ones.
    let list = ok_json(dir, &["list"]);
    let present: BTreeMap<String, u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["activities"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(present.len() >= saved, "{} < {saved}", present.len());
    eprintln!(
        "killed after 已保存 {saved}/{CUSTOMERS}; {} customers in the store",
        present.len()
    );
    for (id, visits) in &present {
        assert_eq!(
            Some(*visits as usize),
            expected.get(id.as_str()).copied(),
            "{id}: partly imported or unknown"
        );
    }

    // Every one of the first `saved` customers of the file, read from its
    // document, is there with all its visits.
    let reported: Vec<(usize, &String)> = file.ids.iter().enumerate().take(saved).collect();
    let visits = &file.visits;
    std::thread::scope(|s| {
        for chunk in reported.chunks(saved.div_ceil(4)) {
            s.spawn(move || {
                for (i, id) in chunk {
                    assert_eq!(visit_count(dir, id), visits[*i], "{id}");
                }
            });
        }
    });

    // The query tables rebuilt from the documents say the same.
    let out = ok(dir, &["rebuild-index"]);
    assert!(
        out.contains(&format!("已重建 {} 位客户", present.len())),
        "{out}"
    );
    assert_eq!(ok_json(dir, &["list"]), list);

    // Run the import again to the end: the rest arrives, nothing doubles.
    let out = crm(dir, &["import", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report,
        json!({
            "created": CUSTOMERS - present.len(),
            "updated": 0,
            "unchanged": present.len(),
            "merged": [],
            "left_out": null,
            "reassigned": 0,
            "not_reassigned": 0,
        })
    );
    let list = ok_json(dir, &["list"]);
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), CUSTOMERS);
    let mut seen = BTreeSet::new();
    for r in rows {
        let id = r["id"].as_str().unwrap();
        assert!(seen.insert(id), "{id} listed twice");
        assert_eq!(
            r["activities"].as_u64().unwrap() as usize,
            expected[id],
            "{id}"
        );
    }
    for i in [0, saved - 1, saved, present.len(), CUSTOMERS - 1] {
        let id = &file.ids[i];
        assert_eq!(visit_count(dir, id), file.visits[i], "{id}");
    }
}

/// `crm list | head -1`: the reader goes away after one line. crm ends
/// quietly with 0, like any Unix tool, and says nothing on stderr.
#[test]
fn output_to_a_closed_pipe_ends_quietly_with_0() {
    let home = init("zhangsan");
    let dir = home.path();
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("many.jsonl");
    // Far more output than a pipe holds, so that writing meets the hang-up.
    generate(&path, 2000, |_| 1);
    ok(dir, &["import", path.to_str().unwrap()]);
    for args in [&["list"][..], &["list", "--json"]] {
        let mut child = cli_common::command(dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", out.status);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}

/// Every command's --help reads in Chinese: clap's own headings and flags
/// included, and every option says what it is for.
#[test]
fn every_help_text_is_chinese() {
    let wrong = crm_usage::untranslated(&mut crm_client::usage::command());
    assert!(wrong.is_empty(), "not Chinese:\n  {}", wrong.join("\n  "));

    // A wrong command line is told in Chinese too, with exit code 2.
    let home = init("zhangsan");
    let err = fails_with(home.path(), 2, &["lisst"]);
    assert!(
        err.contains("没有“lisst”这个命令") && err.contains("list"),
        "{err}"
    );
    let err = fails_with(home.path(), 2, &["sale", "add", "c1", "--amount", "很多"]);
    assert!(
        err.contains("--amount") && err.contains("应为数字"),
        "{err}"
    );
}

/// How a salesperson names customers: part of a name, a phone, the start
/// of an id as the list shows it; the list in pinyin order or by latest
/// contact; a contact's phone changed by the contact's name or number, or
/// through the card's own labels; today's follow-ups with whom to call.
#[test]
fn customers_are_found_and_edited_the_way_a_salesperson_names_them() {
    let home = init("zhangsan");
    let dir = home.path();
    for (name, contact, mobile) in [
        ("张家港钢铁有限公司", "周工", "13900000001"),
        ("上海华东机电有限公司", "李经理", "13800001111"),
        ("上海华东物流有限公司", "钱总", "13700002222"),
        ("阿拉善盐化有限公司", "孙主任", "13600003333"),
    ] {
        ok(
            dir,
            &[
                "add",
                "--name",
                name,
                "--contact",
                contact,
                "--mobile",
                mobile,
            ],
        );
    }
    let names = |rows: &Value| -> Vec<String> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&ok_json(dir, &["list"])),
        [
            "阿拉善盐化有限公司",
            "上海华东机电有限公司",
            "上海华东物流有限公司",
            "张家港钢铁有限公司"
        ],
        "pinyin order"
    );

    // Part of a name, a phone or a contact finds the one customer it names.
    let show = |key: &str| {
        ok_json(dir, &["show", key])["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(show("机电"), "上海华东机电有限公司");
    assert_eq!(show("13700002222"), "上海华东物流有限公司");
    assert_eq!(show("周工"), "张家港钢铁有限公司");
    // Several: each is named, with what to type instead.
    let err = fails(
        dir,
        &["show", "上海华东"],
        &["上海华东机电有限公司", "上海华东物流有限公司"],
    );
    assert!(err.contains("编号"), "{err}");
    fails(
        dir,
        &["show", "不存在的公司"],
        &["找不到客户", "crm search"],
    );

    // Ids created a few milliseconds apart share their first dozen
    // characters: the list shows each one's shortest unique start, which
    // names it.
    let ids = list_ids(dir);
    let table = ok(dir, &["list"]);
    for id in &ids {
        let shown = table
            .split_whitespace()
            .find(|w| w.ends_with('…') && id.starts_with(w.trim_end_matches('…')))
            .unwrap_or_else(|| panic!("{id} not shortened in:\n{table}"));
        let prefix = shown.trim_end_matches('…');
        assert!(prefix.len() < id.len());
        assert_eq!(&ok_json(dir, &["show", prefix])["id"], id);
    }

    // The main contact's phone through the card's labels, and any contact
    // by name or by its number in `crm show`.
    ok(
        dir,
        &[
            "edit",
            "机电",
            "--set",
            "手机=13811112222",
            "--reason",
            "客户换号",
        ],
    );
    ok(
        dir,
        &[
            "edit",
            "机电",
            "--set",
            "company.phone=021-50001234",
            "--reason",
            "补充总机",
        ],
    );
    let main_phone = |card: &serde_json::Value| -> Vec<String> {
        card["contacts"]
            .as_object()
            .unwrap()
            .values()
            .filter(|k| k["name"] == "李经理")
            .map(|k| k["phone"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        main_phone(&ok_json(dir, &["show", "机电"])),
        ["021-50001234"]
    );
    ok(
        dir,
        &[
            "edit",
            "机电",
            "--set",
            "电话=021-50009999",
            "--reason",
            "总机换号",
        ],
    );
    assert_eq!(
        main_phone(&ok_json(dir, &["show", "机电"])),
        ["021-50009999"]
    );
    ok(
        dir,
        &[
            "contact",
            "add",
            "机电",
            "--name",
            "王工",
            "--title",
            "技术主管",
        ],
    );
    ok(
        dir,
        &[
            "contact",
            "edit",
            "机电",
            "王工",
            "--set",
            "手机=13922223333",
            "--reason",
            "补充",
        ],
    );
    let card = ok_json(dir, &["show", "机电"]);
    let contacts: Vec<(&str, &str, &str)> = card["contacts"]
        .as_object()
        .unwrap()
        .values()
        .map(|k| {
            (
                k["name"].as_str().unwrap(),
                k["mobile"].as_str().unwrap(),
                k["phone"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        contacts.contains(&("李经理", "13811112222", "021-50009999")),
        "{contacts:?}"
    );
    assert!(
        contacts.contains(&("王工", "13922223333", "")),
        "{contacts:?}"
    );
    let text = ok(dir, &["show", "机电"]);
    assert!(text.contains("序号"), "{text}");
    ok(
        dir,
        &[
            "contact",
            "edit",
            "机电",
            "2",
            "--set",
            "职务=总工程师",
            "--reason",
            "升职",
        ],
    );
    fails(
        dir,
        &[
            "contact",
            "edit",
            "机电",
            "赵六",
            "--set",
            "手机=13900001111",
            "--reason",
            "x",
        ],
        &["赵六", "序号"],
    );
    fails(
        dir,
        &[
            "contact",
            "edit",
            "机电",
            "王工",
            "--set",
            "手机=13900001111",
        ],
        &["原因"],
    );
    let help = ok(dir, &["edit", "--help"]);
    for field in [
        "地址",
        "company.address",
        "手机",
        "开户银行",
        "crm contact edit",
    ] {
        assert!(help.contains(field), "edit --help lacks {field}:\n{help}");
    }

    // Latest contact first, and today's follow-ups with whom to call.
    ok(
        dir,
        &[
            "visit",
            "物流",
            "--notes",
            "电话回访",
            "--intent",
            "H",
            "--at",
            "2020-01-01",
        ],
    );
    assert_eq!(
        names(&ok_json(dir, &["list", "--sort", "recent"]))[0],
        "上海华东物流有限公司"
    );
    let today = ok(dir, &["today"]);
    assert!(today.contains("钱总 13700002222"), "{today}");
}

/// 手机、电话写成字母或汉字会被拒绝,并指出是哪一个字段;带分机号的写法可用。
#[test]
fn phone_numbers_must_look_like_phone_numbers() {
    let home = archive_with_hualian();
    let dir = home.path();
    let before = snapshot(dir);
    fails(
        dir,
        &[
            "add",
            "--name",
            "杭州新客户有限公司",
            "--contact",
            "赵经理",
            "--mobile",
            "1380000abcd",
        ],
        &["手机", "电话号码"],
    );
    fails(
        dir,
        &[
            "edit",
            "c1",
            "--set",
            "contacts.k1.mobile=请问前台",
            "--reason",
            "更新",
        ],
        &["联系人 手机", "电话号码"],
    );
    fails(
        dir,
        &[
            "contact",
            "add",
            "c1",
            "--name",
            "钱会计",
            "--phone",
            "前台转",
        ],
        &["电话", "电话号码"],
    );
    assert_unchanged(dir, &before, "bad phone numbers");
    ok(
        dir,
        &[
            "edit",
            "c1",
            "--set",
            "contacts.k1.phone=021-55556666 转 123",
            "--reason",
            "补充分机",
        ],
    );
    assert_eq!(
        ok_json(dir, &["show", "c1"])["contacts"]["k1"]["phone"],
        "021-55556666 转 123"
    );
}

/// 记事本另存的导入文件(开头有 UTF-8 BOM、行尾 CRLF)照常导入;某行写成数组时,
/// 报出行号并用业务员看得懂的话说明,什么也不导入。
#[test]
fn an_import_file_from_notepad_imports_and_an_array_line_is_explained() {
    let home = init("zhangsan");
    let dir = home.path();
    let files = tempfile::tempdir().unwrap();
    let plain = files.path().join("plain.jsonl");
    generate(&plain, 3, |_| 1);
    let lines: Vec<String> = std::fs::read_to_string(&plain)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();

    let notepad = files.path().join("记事本.jsonl");
    std::fs::write(&notepad, format!("\u{feff}{}\r\n", lines.join("\r\n"))).unwrap();
    let out = ok(dir, &["import", notepad.to_str().unwrap()]);
    assert!(out.contains("新建 3 位"), "{out}");
    let ids: BTreeSet<String> = list_ids(dir).into_iter().collect();
    assert_eq!(
        ids,
        BTreeSet::from(["c000000", "c000001", "c000002"].map(String::from))
    );

    let before = ok_json(dir, &["list"]);
    let array = files.path().join("array.jsonl");
    std::fs::write(
        &array,
        format!("\u{feff}{}\n{}\n[{}]\n", lines[0], lines[1], lines[2]),
    )
    .unwrap();
    let err = fails(
        dir,
        &["import", array.to_str().unwrap()],
        &["第 3 行", "应为一个客户的 JSON 对象", "不是数组", "未导入"],
    );
    assert!(
        !err.contains("sequence") && !err.contains("struct"),
        "{err}"
    );
    assert_eq!(ok_json(dir, &["list"]), before);
}

/// The longest run of digits in `text`: epoch milliseconds have 13, a
/// mobile number 11.
fn longest_digit_run(text: &str) -> usize {
    text.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// 建档时间等日期按日期显示和修改:crm edit --set 建档时间=2026-01-01 可用,
/// show 和 history 的文字输出里没有毫秒数;--json 仍给数字。
#[test]
fn dates_are_shown_and_typed_as_dates() {
    let home = archive_with_hualian();
    let dir = home.path();
    ok(
        dir,
        &[
            "edit",
            "c1",
            "--set",
            "建档时间=2026-01-01",
            "--reason",
            "补录建档日期",
        ],
    );
    let show = ok(dir, &["show", "c1"]);
    assert!(show.contains("建档时间:2026-01-01\n"), "{show}");
    let history = ok(dir, &["history", "c1"]);
    assert!(history.contains("→ 2026-01-01"), "{history}");
    assert!(
        history.contains("2026-03-02 09:00"),
        "the visit's time: {history}"
    );
    for text in [&show, &history] {
        assert!(
            longest_digit_run(text) < 13,
            "epoch milliseconds in:\n{text}"
        );
    }
    let midnight = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(chrono::Local)
        .unwrap()
        .timestamp_millis();
    assert_eq!(ok_json(dir, &["show", "c1"])["entered_at"], midnight);
    // A number is not a date a person types.
    let before = snapshot(dir);
    fails(
        dir,
        &[
            "edit",
            "c1",
            "--set",
            "建档时间=1767225600000",
            "--reason",
            "x",
        ],
        &["建档时间", "YYYY-MM-DD"],
    );
    assert_unchanged(dir, &before, "edit 建档时间=<milliseconds>");
}

/// 导入文件里同一编号出现两次:只有一位客户,报告说明哪一行并入了哪一行,
/// 两行的内容都在修改历史里;相隔超过一批(100 行)也一样。
#[test]
fn an_id_twice_in_one_import_file_is_one_customer_with_both_lines_in_history() {
    let home = init("zhangsan");
    let dir = home.path();
    let files = tempfile::tempdir().unwrap();
    let small = files.path().join("small.jsonl");
    std::fs::write(
        &small,
        concat!(
            "{\"id\":\"c1\",\"name\":\"上海甲公司\",\"region\":\"华东\"}\n",
            "{\"id\":\"c2\",\"name\":\"广州乙厂\"}\n",
            "{\"id\":\"c1\",\"name\":\"上海甲贸易有限公司\"}\n",
        ),
    )
    .unwrap();
    let report = ok_json(dir, &["import", small.to_str().unwrap()]);
    assert_eq!(report["created"], 2, "{report}");
    assert_eq!(
        report["merged"],
        json!([{"line": 3, "into": 1, "id": "c1"}])
    );
    let c1 = ok_json(dir, &["show", "c1"]);
    assert_eq!(
        (c1["name"].as_str(), c1["region"].as_str()),
        (Some("上海甲贸易有限公司"), Some("华东"))
    );
    let names: Vec<String> = ok_json(dir, &["history", "c1"])
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["fields"].as_array().unwrap().clone())
        .filter(|f| f["path"] == "name")
        .map(|f| f["new"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["上海甲公司", "上海甲贸易有限公司"]);

    // The repeat 120 lines further down, in another batch, and said in words.
    let other = init("zhangsan");
    let big = files.path().join("big.jsonl");
    generate(&big, 120, |_| 1);
    let mut text = std::fs::read_to_string(&big).unwrap();
    text.push_str("{\"id\":\"c000000\",\"name\":\"第一位客户的新名称\"}\n");
    std::fs::write(&big, text).unwrap();
    let out = ok(other.path(), &["import", big.to_str().unwrap()]);
    assert!(out.contains("新建 120 位"), "{out}");
    assert!(
        out.contains("第 121 行") && out.contains("第 1 行") && out.contains("c000000"),
        "{out}"
    );
    assert_eq!(list_ids(other.path()).len(), 120);
    assert_eq!(
        ok_json(other.path(), &["show", "c000000"])["name"],
        "第一位客户的新名称"
    );
    assert_eq!(
        ok_json(other.path(), &["history", "c000000"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// `crm import` keeps the salesperson of a customer already on this laptop
/// when a line names another, and says so; only --reassign moves it.
#[test]
fn an_import_moves_a_customer_on_file_only_with_reassign() {
    let home = init("zhangsan");
    let dir = home.path();
    let files = tempfile::tempdir().unwrap();
    let first = files.path().join("first.jsonl");
    std::fs::write(&first, "{\"id\":\"c1\",\"name\":\"上海甲公司\"}\n").unwrap();
    ok(dir, &["import", first.to_str().unwrap()]);
    let other = files.path().join("other.jsonl");
    std::fs::write(
        &other,
        "{\"id\":\"c1\",\"name\":\"上海甲贸易有限公司\",\"salesperson\":\"lisi\"}\n",
    )
    .unwrap();
    let out = ok(dir, &["import", other.to_str().unwrap()]);
    assert!(
        out.contains("1 位") && out.contains("未改派") && out.contains("--reassign"),
        "{out}"
    );
    let c1 = ok_json(dir, &["show", "c1"]);
    assert_eq!(
        (c1["salesperson"].as_str(), c1["name"].as_str()),
        (Some("zhangsan"), Some("上海甲贸易有限公司"))
    );
    let report = ok_json(dir, &["import", other.to_str().unwrap(), "--reassign"]);
    assert_eq!(report["reassigned"], 1, "{report}");
    assert_eq!(ok_json(dir, &["show", "c1"])["salesperson"], "lisi");
}

#[test]
fn a_store_from_before_pinyin_search_is_brought_up_to_date_on_open() {
    let dir = init("zhang");
    ok(
        dir.path(),
        &["add", "--name", "上海华东机电", "--contact", "李经理"],
    );
    ok(
        dir.path(),
        &[
            "visit",
            "上海华东机电",
            "--notes",
            "拜访采购经理",
            "--intent",
            "H",
        ],
    );
    // Make the store look as the previous version left it: no pinyin in
    // the search text, no rules card or record days in the rows.
    {
        let key = crm_client::key::open(dir.path(), cli_common::PASSPHRASE).unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("crm.sqlite3")).unwrap();
        conn.execute_batch(&format!("PRAGMA key = {};", key.pragma()))
            .unwrap();
        conn.execute_batch(
            "DELETE FROM meta WHERE key = 'search_version';
             UPDATE customers SET search = name;
             UPDATE customer_rules SET rules = NULL, days = NULL;",
        )
        .unwrap();
    }
    for q in ["shhd", "shanghai", "李经理"] {
        let found = ok_json(dir.path(), &["search", q]);
        assert_eq!(found.as_array().map(Vec::len), Some(1), "search {q}");
    }
    let report = ok_json(dir.path(), &["report", "daily"]);
    assert_eq!(report["activities"].as_array().map(Vec::len), Some(1));
    let grades = ok_json(dir.path(), &["grades"]);
    assert_eq!(grades.as_array().map(Vec::len), Some(1));
}
