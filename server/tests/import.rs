//! `crm-server import FILE`: a JSON Lines file (the laptops' import format)
//! straight into the server's store, through the real binary on a real
//! data directory.

mod common;

use common::TestServer;
use crm_server::sync::Caller;
use crm_shared::codes::Role;

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
