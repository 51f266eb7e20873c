//! The administrator sets up accounts with `crm-server user …` and
//! `crm-server device …` on the data directory.

mod common;

use common::{run_cli, TestServer};
use crm_shared::api::LoginResponse;
use reqwest::StatusCode;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn admin_adds_a_salesperson_who_then_logs_in() {
    let server = TestServer::plain().await;
    let out = server.cli(
        &[
            "user",
            "add",
            "zhangsan",
            "--role",
            "业务员",
            "--name",
            "张三",
            "--password-stdin",
        ],
        Some("张三的密码12345\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("已添加用户 zhangsan(张三,业务员)"));
    assert!(!stdout(&out).contains("张三的密码12345"));

    let login: LoginResponse = server
        .login("zhangsan", "张三的密码12345")
        .await
        .json()
        .await
        .unwrap();

    let list = server.cli(&["user", "list", "--json"], None);
    let users: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(users[0]["login"], "zhangsan");
    assert_eq!(users[0]["role"], "salesperson");
    assert!(
        !stdout(&list).contains("argon2"),
        "hash leaked: {}",
        stdout(&list)
    );

    let human = server.cli(&["user", "list"], None);
    assert!(stdout(&human).contains("张三") && stdout(&human).contains("业务员"));

    let devices = server.cli(&["device", "list", "--json"], None);
    let devices: serde_json::Value = serde_json::from_slice(&devices.stdout).unwrap();
    assert_eq!(devices[0]["id"], login.device_id.as_str());
    assert_eq!(devices[0]["login"], "zhangsan");
    assert!(devices[0]["revoked_at"].is_null());
    server.stop().await;
}

#[test]
fn password_from_the_environment_and_role_by_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crm-server"))
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["user", "add", "lisi", "--role", "clerk", "--name", "李四"])
        .env("CRM_PASSWORD", "内勤的密码12345")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("档案管理员"));
}

#[test]
fn mistakes_give_one_line_errors_and_a_failing_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let add = |login: &str, password: &str| {
        run_cli(
            dir.path(),
            &[
                "user",
                "add",
                login,
                "--role",
                "manager",
                "--name",
                "王经理",
                "--password-stdin",
            ],
            Some(password),
        )
    };
    assert!(add("wang", "经理的密码12345\n").status.success());

    let again = add("WANG", "经理的密码12345\n");
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        stderr(&again).trim().lines().count(),
        1,
        "{}",
        stderr(&again)
    );
    assert!(stderr(&again).contains("已存在"));

    let short = add("zhao", "短\n");
    assert_eq!(short.status.code(), Some(1));
    assert!(stderr(&short).contains("至少"));

    let no_password = run_cli(
        dir.path(),
        &["user", "add", "qian", "--role", "clerk", "--name", "钱"],
        None,
    );
    assert_eq!(no_password.status.code(), Some(1));
    assert!(stderr(&no_password).contains("CRM_PASSWORD"));

    let bad_role = run_cli(
        dir.path(),
        &[
            "user",
            "add",
            "sun",
            "--role",
            "boss",
            "--name",
            "孙",
            "--password-stdin",
        ],
        Some("密码密码密码密码\n"),
    );
    assert_eq!(bad_role.status.code(), Some(2));
    assert!(
        stderr(&bad_role).contains("业务员"),
        "{}",
        stderr(&bad_role)
    );

    let no_device = run_cli(
        dir.path(),
        &["device", "revoke", "0193a6c2-0000-7000-8000-000000000000"],
        None,
    );
    assert_eq!(no_device.status.code(), Some(1));
    assert!(stderr(&no_device).contains("没有编号为"));

    let no_user = run_cli(dir.path(), &["user", "disable", "nobody"], None);
    assert_eq!(no_user.status.code(), Some(1));
}

#[tokio::test]
async fn the_binary_serves_plain_http_only_when_told() {
    // Start the real binary on an ephemeral port and stop it with SIGTERM.
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_crm-server"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0", "--insecure-plain-http"])
        .env("CRM_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    {
        use std::io::BufRead;
        let stdout = child.stdout.as_mut().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut first)
            .unwrap();
    }
    let url = first[first.find("http://").expect("address printed")..]
        .trim()
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    common::crypto();
    let status = reqwest::get(format!("{url}/status")).await.unwrap();
    assert_eq!(status.status(), StatusCode::OK);

    #[cfg(unix)]
    {
        let pid = child.id().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let exit = child.wait().unwrap();
        assert!(exit.success(), "graceful stop exits 0: {exit:?}");
    }
    #[cfg(not(unix))]
    {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

/// An admin command on a directory holding no server database (a typo in
/// --data-dir) says where it looked, in one line, and creates nothing;
/// only `user add` creates a new database (the first account of a new
/// server).
#[test]
fn admin_commands_refuse_a_data_directory_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("crm-dta");
    let jsonl = dir.path().join("c.jsonl");
    std::fs::write(&jsonl, "{\"id\":\"c1\",\"name\":\"温州鹿城鞋业\"}\n").unwrap();
    let csv = dir.path().join("c.csv");
    std::fs::write(&csv, "客户名称\n温州鹿城鞋业\n").unwrap();
    let xlsx = dir.path().join("out.xlsx");
    let settings = dir.path().join("settings.json");
    std::fs::write(&settings, "{}").unwrap();
    let commands: [&[&str]; 9] = [
        &["user", "list"],
        &["user", "passwd", "zhang", "--password-stdin"],
        &["user", "disable", "zhang"],
        &["device", "list"],
        &["settings", "show"],
        &["settings", "set", settings.to_str().unwrap()],
        &["import", jsonl.to_str().unwrap()],
        &["sheet", csv.to_str().unwrap(), "--dry-run"],
        &["export", "customers", "--out", xlsx.to_str().unwrap()],
    ];
    let shown = typo.display().to_string();
    for exists in [false, true] {
        if exists {
            std::fs::create_dir(&typo).unwrap();
        }
        for args in commands {
            let out = run_cli(&typo, args, Some("新的密码 12345678\n"));
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
            assert!(
                err.contains(&shown)
                    && err.contains("没有服务器数据库")
                    && err.contains("user add"),
                "{args:?}: {err}"
            );
            if exists {
                let left: Vec<_> = std::fs::read_dir(&typo).unwrap().collect();
                assert!(left.is_empty(), "{args:?} wrote into {shown}: {left:?}");
            } else {
                assert!(!typo.exists(), "{args:?} created {shown}");
            }
        }
    }
    assert!(!xlsx.exists());
    let out = run_cli(
        &typo,
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
        Some("张伟的密码 12345678\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run_cli(&typo, &["user", "list"], None);
    assert!(
        out.status.success() && stdout(&out).contains("张伟"),
        "{}",
        stderr(&out)
    );
}
