//! Where `crm` keeps its store: `CRM_HOME` (or `--data-dir`) pointing at a
//! file, at another program's SQLite database or at the server's database
//! is refused in one line naming what is there, and nothing there changes.
//! `crm init` writes its tables only into an empty new file.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{server, texts, CRM};

fn crm_at(home: &Path, args: &[&str]) -> Output {
    Command::new(CRM)
        .env("CRM_HOME", home)
        .env("CRM_PASSPHRASE", crm_tests::PASSPHRASE)
        .env_remove("RUST_BACKTRACE")
        .args(args)
        .output()
        .expect("crm runs")
}

/// Runs `crm ARGS` with `CRM_HOME=home`; demands exit 1, nothing on
/// stdout and exactly one line on stderr mentioning each of `needles`.
fn refused(home: &Path, args: &[&str], needles: &[&str]) -> String {
    let out = crm_at(home, args);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "crm {args:?}: {stdout}{stderr}");
    assert!(stdout.trim().is_empty(), "crm {args:?}: {stdout}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "crm {args:?}: one line expected:\n{stderr}");
    for n in needles {
        assert!(
            lines[0].contains(n),
            "crm {args:?}: “{n}” not in {}",
            lines[0]
        );
    }
    lines[0].to_string()
}

/// Tables and indexes of an SQLite file, and its schema version.
fn schema(file: &Path) -> (Vec<String>, i64) {
    let conn = rusqlite::Connection::open(file).unwrap();
    let mut st = conn
        .prepare("SELECT type || ' ' || name FROM sqlite_master ORDER BY name")
        .unwrap();
    let names = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<String>, _>>()
        .unwrap();
    let version = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    (names, version)
}

#[test]
fn crm_home_pointing_at_a_file_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("备忘.txt");
    std::fs::write(&file, "周五前回访华联").unwrap();
    let shown = file.display().to_string();
    for args in [&["list"][..], &["status"], &["init", "--user", "zhang"]] {
        refused(&file, args, &[&shown, "普通文件", "不是目录"]);
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "周五前回访华联");
}

#[test]
fn another_programs_database_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.sqlite3");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT);
             INSERT INTO orders (item) VALUES ('电机');
             PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    let before = schema(&db);
    let shown = db.display().to_string();
    for args in [&["init", "--user", "zhang"][..], &["list"]] {
        refused(dir.path(), args, &[&shown, "其他程序的", "不是 crm 资料库"]);
        refused(&db, args, &[&shown, "其他程序的", "不是目录"]);
    }
    assert_eq!(
        schema(&db),
        before,
        "crm wrote into someone else's database"
    );
}

#[test]
fn crm_home_pointing_at_the_servers_database_is_refused() {
    let server_dir = tempfile::tempdir().unwrap();
    let out = server::admin(
        server_dir.path(),
        &[
            "user",
            "add",
            "zhang",
            "--role",
            "salesperson",
            "--name",
            "张伟",
            "--password-stdin",
        ],
        Some("服务器测试密码 2024\n"),
    );
    assert!(out.status.success(), "{}", texts(&out).1);
    let db = server_dir.path().join("crm-server.sqlite3");
    let before = schema(&db);
    for args in [&["init", "--user", "zhang"][..], &["list"]] {
        refused(&db, args, &["crm-server", "服务器"]);
    }
    // The same file under the laptop store's name.
    let laptop = tempfile::tempdir().unwrap();
    std::fs::copy(&db, laptop.path().join("crm.sqlite3")).unwrap();
    for args in [&["init", "--user", "zhang"][..], &["list"]] {
        refused(laptop.path(), args, &["crm-server", "服务器"]);
    }
    assert_eq!(schema(&db), before);
    assert_eq!(schema(&laptop.path().join("crm.sqlite3")), before);

    // An empty file is a new store, which then opens like any other.
    let fresh = tempfile::tempdir().unwrap();
    std::fs::write(fresh.path().join("crm.sqlite3"), b"").unwrap();
    let out = crm_at(fresh.path(), &["init", "--user", "zhang"]);
    assert!(out.status.success(), "{}", texts(&out).1);
    let out = crm_at(fresh.path(), &["list"]);
    assert!(out.status.success(), "{}", texts(&out).1);
}
