//! `crm-server import FILE`: a JSON Lines file (the laptops' import format)
//! straight into the server's store, through the real binary on a real
//! data directory.

mod common;

use common::TestServer;
use crm_server::caller::Caller;
use crm_shared::codes::Role;
use crm_shared::day::Day;
use crm_shared::Customer;

fn clerk() -> Caller {
    Caller {
        login: "wang".into(),
        role: Role::Clerk,
        device_id: "test".into(),
    }
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The customers on file: (id, name, salesperson), by id.
async fn on_file(srv: &TestServer) -> Vec<(String, String, String)> {
    let mut rows: Vec<_> = crm_server::archive::list(&srv.db, clerk(), Default::default(), 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.name, r.salesperson))
        .collect();
    rows.sort();
    rows
}

/// Writes `lines` to a file in a fresh directory; returns both.
fn file(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path.to_str().unwrap().to_string())
}

#[tokio::test]
async fn a_file_saved_by_notepad_imports_and_an_array_line_is_explained() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", "业务员的密码1")
        .await;
    let (_d, path) = file(
        "notepad.jsonl",
        "\u{feff}{\"id\":\"c1\",\"name\":\"温州鹿城鞋业\"}\r\n{\"id\":\"c2\",\"name\":\"台州黄岩模具\"}\r\n",
    );
    let out = srv.cli(&["import", &path, "--salesperson", "zhang"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("新建 2 位"), "{}", stdout(&out));
    assert_eq!(on_file(&srv).await.len(), 2);

    let (_d, path) = file(
        "array.jsonl",
        "{\"id\":\"c3\",\"name\":\"丽水青田石雕\"}\n[{\"id\":\"c4\",\"name\":\"衢州化工\"}]\n",
    );
    let out = srv.cli(&["import", &path, "--salesperson", "zhang"], None);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("第 2 行") && err.contains("不是数组") && !err.contains("sequence"),
        "{err}"
    );
    assert_eq!(on_file(&srv).await.len(), 2, "nothing imported");
}

/// The daily report's 新客户 are the customers the salesperson entered:
/// 300 customers head office imported for them that day are not their
/// day's work.
#[tokio::test]
async fn customers_imported_for_a_salesperson_are_not_their_new_customers() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", "业务员的密码1")
        .await;
    let lines: String = (0..5)
        .map(|i| format!("{{\"id\":\"h{i}\",\"name\":\"总部导入客户{i}\"}}\n"))
        .collect();
    let (_d, path) = file("h.jsonl", &lines);
    let out = srv.cli(
        &["import", &path, "--salesperson", "zhang", "--as", "wang"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let now = crm_server::clock::now_ms();
    let own = Customer {
        id: "z1".into(),
        name: "张伟新建的客户".into(),
        salesperson: "zhang".into(),
        entered_at: now,
        ..Default::default()
    };
    srv.push_cards("zhang", "业务员的密码1", &[own]).await;
    let day = Day::from_millis_local(now);
    let r = crm_server::rules::daily(&srv.db, clerk(), Some("zhang".into()), day)
        .await
        .unwrap();
    assert_eq!(r.new_customers, 1, "{r:?}");
}

/// A file holding one id twice imports one customer; the report says the
/// second line went into the first one's customer, and both lines are in
/// its history.
#[tokio::test]
async fn an_id_twice_in_one_file_is_one_customer_with_both_lines_in_history() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", "业务员的密码1")
        .await;
    let (_d, path) = file(
        "twice.jsonl",
        concat!(
            "{\"id\":\"c1\",\"name\":\"上海甲公司\"}\n",
            "{\"id\":\"c1\",\"name\":\"上海甲贸易有限公司\"}\n",
        ),
    );
    let out = srv.cli(&["import", &path, "--salesperson", "zhang"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("新建 1 位"), "{text}");
    assert!(
        text.contains("第 2 行") && text.contains("第 1 行"),
        "{text}"
    );
    assert_eq!(on_file(&srv).await.len(), 1);
    let card = crm_server::archive::card(&srv.db, clerk(), "c1".into())
        .await
        .unwrap();
    assert_eq!(card.customer.name, "上海甲贸易有限公司");
    let names: Vec<String> = card
        .history
        .iter()
        .flat_map(|h| h.fields.iter())
        .filter(|f| f.path == "name")
        .filter_map(|f| f.new.clone())
        .collect();
    assert_eq!(names, ["上海甲公司", "上海甲贸易有限公司"]);
}

/// 业务员 in a JSON Lines file, or --salesperson, is a salesperson's login or
/// name and is stored as the login; anything else is refused, naming the
/// line or the flag, and nothing is imported.
#[tokio::test]
async fn the_salesperson_of_an_import_must_be_a_salesperson() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", "业务员的密码1")
        .await;
    let (_d, named) = file(
        "named.jsonl",
        "{\"id\":\"c1\",\"name\":\"温州鹿城鞋业\",\"salesperson\":\"张伟\"}\n{\"id\":\"c2\",\"name\":\"台州黄岩模具\",\"salesperson\":\"张三\"}\n",
    );
    let out = srv.cli(&["import", &named], None);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("第 2 行") && err.contains("张三"), "{err}");
    assert!(on_file(&srv).await.is_empty());

    let (_d, plain) = file("plain.jsonl", "{\"id\":\"c1\",\"name\":\"温州鹿城鞋业\"}\n");
    let out = srv.cli(&["import", &plain, "--salesperson", "nobody"], None);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--salesperson") && err.contains("nobody"),
        "{err}"
    );
    assert!(on_file(&srv).await.is_empty());

    let out = srv.cli(&["import", &plain, "--salesperson", "张伟"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(on_file(&srv).await[0].2, "zhang");
}

/// Importing ids that belong to one salesperson with --salesperson another
/// leaves them where they are and says how many it would move; only
/// --reassign moves them. A line's own salesperson follows the same rule.
#[tokio::test]
async fn an_import_moves_existing_customers_only_with_reassign() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", "业务员的密码1")
        .await;
    srv.add_user("li", Role::Salesperson, "李娜", "业务员的密码2")
        .await;
    let lines = |suffix: &str, n: usize| -> String {
        (1..=n)
            .map(|i| format!("{{\"id\":\"c{i}\",\"name\":\"宁波客户{i}{suffix}\"}}\n"))
            .collect()
    };
    let (_d, first) = file("first.jsonl", &lines("", 3));
    let out = srv.cli(&["import", &first, "--salesperson", "zhang"], None);
    assert!(out.status.success(), "{}", stderr(&out));

    let (_d, second) = file("second.jsonl", &lines("(新)", 4));
    let out = srv.cli(&["import", &second, "--salesperson", "li"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("新建 1 位") && text.contains("更新 3 位"),
        "{text}"
    );
    assert!(
        text.contains("3 位") && text.contains("未改派") && text.contains("--reassign"),
        "{text}"
    );
    let owners: Vec<(String, String)> = on_file(&srv)
        .await
        .into_iter()
        .map(|(id, _, s)| (id, s))
        .collect();
    assert_eq!(
        owners,
        [
            ("c1", "zhang"),
            ("c2", "zhang"),
            ("c3", "zhang"),
            ("c4", "li")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(
        on_file(&srv).await[0].1.ends_with("(新)"),
        "the rest is updated"
    );

    // A line naming another salesperson, without the flag: kept too.
    let (_d, own) = file(
        "own.jsonl",
        "{\"id\":\"c4\",\"name\":\"宁波客户4(新)\",\"salesperson\":\"zhang\"}\n",
    );
    let out = srv.cli(&["import", &own], None);
    assert!(
        out.status.success() && stdout(&out).contains("未改派"),
        "{}",
        stdout(&out)
    );
    assert_eq!(on_file(&srv).await[3].2, "li");

    let out = srv.cli(
        &["import", &second, "--salesperson", "li", "--reassign"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("改派 3 位"), "{}", stdout(&out));
    assert!(on_file(&srv).await.iter().all(|(_, _, s)| s == "li"));
}

/// The JSON Lines import: a new customer may come with its former limit;
/// a line that changes the limit of a customer on file is refused, naming
/// the customer, and nothing is imported.
#[tokio::test]
async fn an_import_never_changes_the_limit_of_a_customer_on_file() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", "业务员的密码1")
        .await;
    let (_d, path) = file(
        "new.jsonl",
        "{\"id\":\"c1\",\"name\":\"温州鹿城鞋业\",\"credit_limit\":2000}\n",
    );
    let out = srv.cli(&["import", &path, "--salesperson", "zhang"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let limit = || async {
        crm_server::archive::card(&srv.db, clerk(), "c1".into())
            .await
            .unwrap()
            .customer
            .credit
            .limit
    };
    assert_eq!(limit().await, Some(2000));
    let (_d, path) = file(
        "raise.jsonl",
        "{\"id\":\"c2\",\"name\":\"台州黄岩模具\"}\n{\"id\":\"c1\",\"name\":\"温州鹿城鞋业\",\"credit_limit\":900000}\n",
    );
    let out = srv.cli(&["import", &path, "--salesperson", "zhang"], None);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("c1") && err.contains("信用额度变更申请"),
        "{err}"
    );
    assert_eq!(limit().await, Some(2000));
}
