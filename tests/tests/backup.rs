//! Backup stories with real processes on loopback: a `crm-server`, a
//! `crm-backup` node in its own directory (following as a child process that
//! the test kills), real `crm` laptops, and a TCP relay the test cuts to play
//! a network outage between the backup and the server.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::backup::{run_in, server_status, wait_backup_even, BackupNode, NetCut};
use common::server::TestServer;
use common::{texts, Laptop};
use crm_client::net::{Client, NetError, Trust};
use crm_shared::codes::Role;
use serde_json::{json, Value};

const PASSWORD: &str = "备份测试的密码 2024";

/// `crm login` over HTTPS, pinning the server's certificate.
fn login(laptop: &Laptop, server: &TestServer, user: &str) {
    let mut args = vec![
        "login",
        "--server",
        &server.url,
        "--user",
        user,
        "--password-stdin",
    ];
    if !server.fingerprint.is_empty() {
        args.extend(["--fingerprint", &server.fingerprint]);
    }
    let out = laptop.run(&args, Some(&format!("{PASSWORD}\n")));
    let (o, e) = texts(&out);
    assert!(out.status.success(), "crm login as {user}: {o}{e}");
}

fn laptop(server: &TestServer, user: &str) -> Laptop {
    let l = Laptop::init(user);
    login(&l, server, user);
    l
}

fn add(laptop: &Laptop, id: &str, name: &str) {
    laptop.ok(&["add", "--id", id, "--name", name, "--region", "华东"]);
}

fn card_text(laptop: &Laptop, id: &str) -> String {
    laptop.json(&["show", id]).to_string()
}

fn pending(laptop: &Laptop) -> usize {
    laptop
        .json(&["pending"])
        .as_array()
        .expect("pending --json is a list")
        .len()
}

/// A file's or directory's permission bits, in octal ("600").
fn mode(path: &Path) -> String {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    format!("{:o}", meta.permissions().mode() & 0o777)
}

/// `path` with `suffix` appended to its name (`-wal`, `-shm`).
fn beside(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    p.into()
}

/// Local time now, as `--at` takes it, with a short pause on either side
/// so that what the test did before and after it falls on its sides.
fn moment() -> String {
    std::thread::sleep(Duration::from_millis(50));
    let t = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    std::thread::sleep(Duration::from_millis(50));
    t
}

/// `crm-server --data-dir DIR ARGS` printing JSON, on a stopped server's
/// data directory (e.g. a restored one).
fn admin_json(dir: &Path, args: &[&str]) -> Value {
    let out = common::server::admin(dir, args, None);
    let (stdout, stderr) = texts(&out);
    assert!(
        out.status.success(),
        "crm-server {args:?}: {stdout}{stderr}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

/// The logins of a data directory's users.
fn logins(dir: &Path) -> Vec<String> {
    let users = admin_json(dir, &["user", "list", "--json"]);
    let list = users.as_array().expect("a list of users");
    list.iter()
        .map(|u| u["login"].as_str().unwrap().to_string())
        .collect()
}

/// How many devices `login` has in a data directory.
fn devices_of(dir: &Path, login: &str) -> usize {
    let devices = admin_json(dir, &["device", "list", "--json"]);
    let list = devices.as_array().expect("a list of devices");
    list.iter().filter(|d| d["login"] == login).count()
}

/// The company settings' churn days in a data directory.
fn churn_days(dir: &Path) -> u64 {
    admin_json(dir, &["settings", "show"])["settings"]["churn_days"]
        .as_u64()
        .expect("settings show lists churn_days")
}

/// A value of a server database's `meta` table.
fn server_meta(data_dir: &Path, key: &str) -> String {
    let conn = rusqlite::Connection::open(data_dir.join("crm-server.sqlite3")).unwrap();
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .unwrap_or_else(|e| panic!("meta {key}: {e}"))
}

/// Flips one byte in the middle of document `id` as stored in the backup
/// file `file` (whose WAL must be folded in); returns the file as it was.
fn damage_document(file: &Path, id: &str) -> Vec<u8> {
    let data: Vec<u8> = {
        let conn = rusqlite::Connection::open(file).unwrap();
        conn.query_row("SELECT data FROM docs WHERE id = ?1", [id], |r| r.get(0))
            .unwrap()
    };
    let original = std::fs::read(file).unwrap();
    let at = original
        .windows(data.len())
        .position(|w| w == data)
        .expect("the document's bytes are stored in one piece");
    let mut damaged = original.clone();
    damaged[at + data.len() / 2] ^= 0x5a;
    std::fs::write(file, &damaged).unwrap();
    original
}

/// A pseudo-random pause (0–`max_ms`), printed so a failing run can be read.
fn jitter(what: &str, max_ms: u64) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let ms = nanos % (max_ms + 1);
    eprintln!("{what} after {ms} ms");
    std::thread::sleep(Duration::from_millis(ms));
}

#[test]
fn the_backup_follows_continuously_through_kill_9_of_either_side_and_a_network_cut() {
    let mut server = TestServer::start();
    server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    server.add_user_named("bk", "赵备份", Role::BackupOperator, PASSWORD);
    let relay = NetCut::new(server.url.trim_start_matches("https://"));
    let mut node = BackupNode::init(
        &format!("https://{}", relay.addr),
        &server.fingerprint,
        "bk",
        PASSWORD,
    );
    let zhang = laptop(&server, "zhang");
    for i in 0..5 {
        add(&zhang, &format!("c{i}"), &format!("杭州客户{i}"));
    }
    zhang.sync();
    node.start();

    // Write load: visits and syncs for as long as the test breaks things.
    // A sync may fail while the server is down; the visit stays on the laptop.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                zhang.ok(&[
                    "visit",
                    &format!("c{}", n % 5),
                    "--notes",
                    &format!("第 {n} 次拜访"),
                ]);
                let _ = zhang.run(&["sync"], None);
                n += 1;
            }
            (zhang, n)
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    jitter("kill -9 of the backup", 700);
    node.kill();
    std::thread::sleep(Duration::from_millis(500));
    node.start();
    jitter("kill -9 of the server", 1500);
    server.restart();
    jitter("network cut", 1000);
    relay.cut();
    std::thread::sleep(Duration::from_secs(3));
    relay.heal();
    jitter("kill -9 of the backup again", 1500);
    node.kill();
    node.start();
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::SeqCst);
    let (zhang, visits) = writer.join().unwrap();
    assert!(visits >= 5, "the load ran ({visits} visits)");

    // Everything the laptop recorded reaches the server, and everything the
    // server acknowledged reaches the backup.
    zhang.sync();
    assert_eq!(pending(&zhang), 0, "the laptop has nothing unsent");
    let lag = wait_backup_even(&server, Duration::from_secs(60));
    assert!(
        node.log().contains("备份暂停"),
        "the cut was noticed and retried: {}",
        node.log()
    );
    let status = node.json(&["status"]);
    assert_eq!(status["position"]["after"], lag["head"], "{status}");
    assert_eq!(status["server_view"]["behind_changes"], 0, "{status}");
    let report = node.json(&["verify"]);
    assert!(
        report["damaged"].as_object().unwrap().is_empty(),
        "{report}"
    );
    assert_eq!(report["file_damage"], Value::Null);
    let server_view = &report["server"];
    assert_eq!(server_view["server_documents"], 5, "{report}");
    for key in ["missing", "different", "extra"] {
        assert_eq!(server_view[key], json!([]), "{key}: {report}");
    }
    assert_eq!(report["upto"], lag["head"]);
    // Every visit is in the backup: restore it and count them.
    let restored = tempfile::tempdir().unwrap();
    node.ok(
        &[
            "restore",
            "--to",
            restored.path().join("srv").to_str().unwrap(),
        ],
        None,
    );
    let copy = TestServer::start_in(&restored.path().join("srv"), &[]);
    let clerk_check = laptop(&copy, "zhang");
    clerk_check.sync();
    let mut found = 0;
    for i in 0..5 {
        let card = clerk_check.json(&["show", &format!("c{i}")]);
        found += card["activities"].as_object().map_or(0, |a| a.len());
    }
    assert_eq!(
        found, visits,
        "every recorded visit is in the restored backup"
    );
}

#[test]
fn verify_names_a_damaged_document_and_a_truncated_file_and_restore_refuses_both() {
    let server = TestServer::start_plain();
    server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    server.add_user_named("bk", "赵备份", Role::BackupOperator, PASSWORD);
    let zhang = laptop(&server, "zhang");
    add(&zhang, "c1", "温州甲公司");
    add(&zhang, "c2", "温州乙公司");
    zhang.ok(&["visit", "c1", "--notes", &"详细的拜访记录。".repeat(40)]);
    zhang.sync();
    let node = BackupNode::for_server(&server, "bk", PASSWORD);
    node.catch_up();
    let clean = node.json(&["verify"]);
    assert!(clean["damaged"].as_object().unwrap().is_empty(), "{clean}");
    assert_eq!(clean["server"]["missing"], json!([]));

    // Flip one byte in the middle of c1's stored document, in the file.
    let file = node.file();
    assert!(
        !file.with_extension("sqlite3-wal").exists()
            || std::fs::metadata(file.with_extension("sqlite3-wal"))
                .unwrap()
                .len()
                == 0
    );
    let original = damage_document(&file, "c1");

    let out = node.run(&["verify"], None);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "verify fails: {stdout}{stderr}");
    assert!(
        stdout.contains("c1") && stdout.contains("校验值不符") && !stdout.contains("c2:"),
        "verify names the damaged document and only it: {stdout}"
    );
    let target = tempfile::tempdir().unwrap();
    let out = node.run(&["restore", "--to", target.path().to_str().unwrap()], None);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("备份已损坏") && stderr.contains("c1"),
        "{stderr}"
    );
    assert!(
        !target.path().join("crm-server.sqlite3").exists(),
        "nothing damaged is restored"
    );

    // A truncated file.
    std::fs::write(&file, &original[..original.len() / 2]).unwrap();
    let out = node.run(&["verify"], None);
    let (stdout, stderr) = texts(&out);
    assert_ne!(
        out.status.code(),
        Some(0),
        "a truncated file fails: {stdout}{stderr}"
    );
    assert!(
        stdout.contains("损坏") || stderr.contains("损坏") || stderr.contains("malformed"),
        "the message says the file is damaged: {stdout}{stderr}"
    );
    let out = node.run(&["restore", "--to", target.path().to_str().unwrap()], None);
    assert_ne!(out.status.code(), Some(0));
    assert!(!target.path().join("crm-server.sqlite3").exists());
}

#[test]
fn a_restored_server_gets_back_from_laptops_what_the_backup_lacked() {
    // HTTPS: the restored server must present the certificate laptops pinned.
    let server = TestServer::start();
    server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    server.add_user_named("wang", "王芳", Role::Clerk, PASSWORD);
    server.add_user_named("bk", "赵备份", Role::BackupOperator, PASSWORD);
    let zhang = laptop(&server, "zhang");
    add(&zhang, "c1", "宁波甲公司");
    add(&zhang, "c2", "宁波乙公司");
    zhang.sync();
    let node = BackupNode::for_server(&server, "bk", PASSWORD);
    node.catch_up();

    std::thread::sleep(Duration::from_millis(50));
    let before_a = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    std::thread::sleep(Duration::from_millis(50));
    zhang.ok(&["visit", "c1", "--notes", "拜访甲:备份机有"]);
    zhang.sync();
    node.catch_up();
    // The backup falls behind this laptop: it never sees visit B.
    zhang.ok(&["visit", "c2", "--notes", "拜访乙:只在笔记本和旧服务器上"]);
    zhang.sync();

    // To a point in time: before visit A.
    let pit = tempfile::tempdir().unwrap();
    node.ok(
        &[
            "restore",
            "--to",
            pit.path().to_str().unwrap(),
            "--at",
            &before_a,
        ],
        None,
    );
    {
        let then = TestServer::start_in(pit.path(), &[]);
        assert_eq!(
            then.fingerprint, server.fingerprint,
            "the certificate is restored"
        );
        let wang = laptop(&then, "wang");
        wang.sync();
        assert!(
            !card_text(&wang, "c1").contains("拜访甲"),
            "visit A came later"
        );
        assert!(card_text(&wang, "c2").contains("宁波乙公司"));
    }

    // To the latest state, in place of the lost server (same address).
    let latest = tempfile::tempdir().unwrap();
    node.ok(&["restore", "--to", latest.path().to_str().unwrap()], None);
    let address = server.url.trim_start_matches("https://").to_string();
    let old_fingerprint = server.fingerprint.clone();
    drop(server);
    let restored = TestServer::start_in_at(latest.path(), &address, &[]);
    assert_eq!(restored.fingerprint, old_fingerprint);
    let wang = laptop(&restored, "wang");
    wang.sync();
    assert!(card_text(&wang, "c1").contains("拜访甲"));
    assert!(
        !card_text(&wang, "c2").contains("拜访乙"),
        "the backup did not have visit B"
    );

    // 张伟's laptop syncs as it always did and brings visit B back.
    zhang.sync();
    assert_eq!(pending(&zhang), 0);
    wang.sync();
    assert!(card_text(&wang, "c2").contains("拜访乙"), "visit B is back");
    assert!(card_text(&wang, "c1").contains("拜访甲"));

    // The backup node follows the restored server into a new copy and
    // keeps the old one.
    node.catch_up();
    let kept: Vec<_> = std::fs::read_dir(node.dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("crm-backup.") && n.ends_with(".sqlite3") && n != "crm-backup.sqlite3"
        })
        .collect();
    assert_eq!(kept.len(), 1, "the old copy is kept: {kept:?}");
    assert_eq!(mode(&node.dir().join(&kept[0])), "600", "{kept:?}");
    let report = node.json(&["verify"]);
    assert_eq!(report["server"]["missing"], json!([]), "{report}");
    assert_eq!(report["server"]["server_documents"], 2);
}

#[test]
fn a_backup_operator_cannot_read_customers_and_nobody_else_can_pull_backups() {
    let server = TestServer::start_plain();
    server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    server.add_user_named("bk", "赵备份", Role::BackupOperator, PASSWORD);
    let zhang = laptop(&server, "zhang");
    add(&zhang, "c1", "绍兴甲公司");
    zhang.sync();
    let client = Client::new(&server.url, &Trust::PlainHttp).unwrap();
    let bk = server.api_login("bk", PASSWORD);
    let sales = server.api_login("zhang", PASSWORD);

    let refused = |r: Result<Value, NetError>| match r {
        Err(NetError::Forbidden(m)) => m,
        other => panic!("expected 403, got {other:?}"),
    };
    refused(client.get("/api/v1/customers/c1", Some(&bk)));
    refused(client.get("/api/v1/conflicts", Some(&bk)));
    refused(client.post("/api/v1/sync", Some(&bk), &json!({})));
    let m = refused(client.post("/api/v1/backup/pull", Some(&sales), &json!({"after": 0})));
    assert!(m.contains("备份管理员"), "{m}");
    refused(client.post("/api/v1/backup/summary", Some(&sales), &json!({"upto": 0})));
    match client.post::<_, Value>(
        "/api/v1/backup/summary",
        Some(&bk),
        &json!({"upto": 0, "list": [300]}),
    ) {
        Err(NetError::Rejected {
            status: 400,
            message,
            ..
        }) => assert!(message.contains("300"), "{message}"),
        other => panic!("a bad bucket is a 400: {other:?}"),
    }
    match client.post::<_, Value>("/api/v1/backup/pull", Some(&bk), &json!({"after": "x"})) {
        Err(NetError::Rejected { status, .. }) => assert!((400..500).contains(&status)),
        other => panic!("a malformed pull is a 4xx: {other:?}"),
    }
    // The operator's own pull works.
    let pulled: Value = client
        .post("/api/v1/backup/pull", Some(&bk), &json!({"after": 0}))
        .unwrap();
    assert_eq!(pulled["entries"].as_array().unwrap().len(), 1);

    // A salesperson's account cannot become a backup node.
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::server::backup_bin())
        .arg("--dir")
        .arg(dir.path())
        .args([
            "init",
            "--server",
            &server.url,
            "--user",
            "zhang",
            "--insecure-plain-http",
        ])
        .env("CRM_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("备份管理员"), "{stderr}");
}

#[test]
fn in_zero_loss_mode_a_push_stays_unsent_until_the_backup_holds_it() {
    let server = TestServer::start_plain_with(&["--zero-loss-backup"]);
    server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    server.add_user_named("bk", "赵备份", Role::BackupOperator, PASSWORD);
    let mut node = BackupNode::for_server(&server, "bk", PASSWORD);
    let zhang = laptop(&server, "zhang");
    add(&zhang, "c1", "嘉兴甲公司");

    // No backup is following: the server stores the push but does not
    // acknowledge it.
    let report = zhang.sync();
    assert_eq!(report["awaiting_backup"], 1, "{report}");
    assert_eq!(pending(&zhang), 1, "still marked unsent on the laptop");
    let text = zhang.ok(&["sync"]);
    assert!(text.contains("尚未写入备份机"), "{text}");

    node.start();
    wait_backup_even(&server, Duration::from_secs(30));
    let report = zhang.sync();
    assert_eq!(report["awaiting_backup"], 0, "{report}");
    assert_eq!(pending(&zhang), 0);
    let status = server_status(&server);
    assert_eq!(status["backup"]["zero_loss"], true, "{status}");
}

#[test]
fn a_backup_whose_disk_refuses_writes_keeps_what_it_has_and_catches_up_afterwards() {
    let server = TestServer::start_plain();
    server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    server.add_user_named("bk", "赵备份", Role::BackupOperator, PASSWORD);
    let zhang = laptop(&server, "zhang");
    add(&zhang, "c1", "湖州甲公司");
    zhang.sync();
    let mut node = BackupNode::for_server(&server, "bk", PASSWORD);
    node.catch_up();
    let held = node.json(&["status"])["position"]["after"].clone();

    // The disk is "full": no file may grow past what the backup has now.
    let size = std::fs::metadata(node.file()).unwrap().len();
    node.start_limited(Some(size));
    for i in 0..5 {
        zhang.ok(&[
            "visit",
            "c1",
            "--notes",
            &format!("磁盘满时的拜访 {i}:{}", "记录".repeat(400)),
        ]);
        add(&zhang, &format!("d{i}"), &format!("湖州客户{i}"));
    }
    let report = zhang.sync();
    assert_eq!(
        pending(&zhang),
        0,
        "the server serves laptops regardless: {report}"
    );
    std::thread::sleep(Duration::from_secs(2));
    let status = server_status(&server);
    assert!(
        status["backup"]["behind_changes"].as_u64().unwrap() > 0,
        "the lag shows on the server: {status}"
    );
    assert!(node.log().contains("备份暂停"), "{}", node.log());
    node.kill();
    let offline = node.json(&["verify", "--offline"]);
    assert!(
        offline["damaged"].as_object().unwrap().is_empty(),
        "{offline}"
    );
    assert_eq!(offline["file_damage"], Value::Null, "{offline}");
    assert_eq!(
        offline["upto"], held,
        "the failed writes left the old position"
    );

    // Space again: it catches up by itself.
    node.start();
    wait_backup_even(&server, Duration::from_secs(30));
    let report = node.json(&["verify"]);
    assert_eq!(report["server"]["server_documents"], 6, "{report}");
    assert_eq!(report["server"]["missing"], json!([]), "{report}");
    assert_eq!(report["server"]["different"], json!([]), "{report}");
}

#[test]
fn the_backup_directory_and_every_file_of_it_are_readable_by_their_owner_only() {
    // The backup holds the server's TLS key and every password hash.
    let server = TestServer::start_plain();
    server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    server.add_user_named("bk", "赵备份", Role::BackupOperator, PASSWORD);
    let zhang = laptop(&server, "zhang");
    add(&zhang, "c1", "台州甲公司");
    zhang.sync();
    let mut node = BackupNode::for_server(&server, "bk", PASSWORD);
    assert_eq!(mode(node.dir()), "700", "the directory init created");
    assert_eq!(mode(&node.file()), "600", "the database init created");

    // While following, SQLite's own files beside the database.
    node.start();
    zhang.ok(&["visit", "c1", "--notes", "跟进中"]);
    zhang.sync();
    wait_backup_even(&server, Duration::from_secs(30));
    for suffix in ["-wal", "-shm"] {
        let f = beside(&node.file(), suffix);
        assert!(f.exists(), "{} exists while following", f.display());
        assert_eq!(mode(&f), "600", "{}", f.display());
    }
    node.kill();

    // A file left world-readable (by an earlier version) is closed at the
    // next run.
    std::fs::set_permissions(node.file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    node.catch_up();
    assert_eq!(mode(&node.file()), "600");

    // A restored server directory is private too, even in a directory the
    // operator made with the usual mode.
    let target = node.scratch().join("restored");
    std::fs::create_dir(&target).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
    node.ok(&["restore", "--to", target.to_str().unwrap()], None);
    assert_eq!(mode(&target.join("crm-server.sqlite3")), "600");
    let fresh = node.scratch().join("new").join("restored");
    node.ok(&["restore", "--to", fresh.to_str().unwrap()], None);
    assert_eq!(mode(&fresh), "700");
    assert_eq!(mode(&fresh.join("crm-server.sqlite3")), "600");
}

#[test]
fn restore_to_latest_takes_every_record_held_and_to_a_time_the_records_of_then() {
    let server = TestServer::start_plain();
    server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    server.add_user_named("bk", "赵备份", Role::BackupOperator, PASSWORD);
    let zhang = laptop(&server, "zhang");
    add(&zhang, "c1", "丽水甲公司");
    zhang.sync();
    let node = BackupNode::for_server(&server, "bk", PASSWORD);
    node.catch_up();

    // That was the last customer change. Only records change after it: a
    // salesperson is added, her laptop signs in, the settings change.
    let before_li = moment();
    server.add_user_named("li", "李娜", Role::Salesperson, PASSWORD);
    node.catch_up();
    let before_login = moment();
    let li = laptop(&server, "li");
    node.catch_up();
    let before_settings = moment();
    let settings = node.scratch().join("settings.json");
    std::fs::write(&settings, r#"{"churn_days": 45}"#).unwrap();
    let out = server.admin(&["settings", "set", settings.to_str().unwrap()], None);
    assert!(out.status.success(), "{:?}", texts(&out));
    node.catch_up();

    // A point in time: everything as it was then.
    let restore_at = |when: &str, name: &str| {
        let to = node.scratch().join(name);
        node.ok(
            &["restore", "--to", to.to_str().unwrap(), "--at", when],
            None,
        );
        to
    };
    let then = restore_at(&before_li, "before-li");
    assert_eq!(logins(&then), ["bk", "zhang"]);
    let then = restore_at(&before_login, "before-login");
    assert_eq!(logins(&then), ["bk", "li", "zhang"]);
    assert_eq!(devices_of(&then, "li"), 0, "her laptop signed in later");
    let then = restore_at(&before_settings, "before-settings");
    assert_eq!(devices_of(&then, "li"), 1);
    assert_eq!(churn_days(&then), 90, "the settings changed later");

    // The latest: everything the backup holds, not the records as of the
    // last customer change.
    let latest = node.scratch().join("latest");
    node.ok(&["restore", "--to", latest.to_str().unwrap()], None);
    assert_eq!(logins(&latest), ["bk", "li", "zhang"]);
    assert_eq!(devices_of(&latest, "li"), 1);
    assert_eq!(churn_days(&latest), 45);
    let lost_actor = server_meta(&server.data_dir, "actor");
    assert_ne!(server_meta(&latest, "actor"), lost_actor);
    assert_eq!(
        server_meta(&latest, "former_actors"),
        json!([lost_actor]).to_string()
    );

    // In place of the lost server, her laptop syncs without signing in again.
    let address = server.url.trim_start_matches("http://").to_string();
    drop(server);
    let _restored = TestServer::start_in_at(&latest, &address, &["--insecure-plain-http"]);
    add(&li, "l1", "丽水乙公司");
    let report = li.sync();
    assert_eq!(pending(&li), 0, "{report}");
}

#[test]
fn a_restore_to_before_the_backup_began_is_refused_naming_the_earliest_time() {
    let server = TestServer::start_plain();
    server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    server.add_user_named("bk", "赵备份", Role::BackupOperator, PASSWORD);
    let zhang = laptop(&server, "zhang");
    add(&zhang, "c1", "衢州甲公司");
    zhang.sync();
    let before_backup = moment();
    add(&zhang, "c2", "衢州乙公司");
    zhang.sync();
    // The backup begins here: it has the whole log, but the users, devices
    // and settings only as of now.
    let node = BackupNode::for_server(&server, "bk", PASSWORD);
    node.catch_up();

    let target = node.scratch().join("early");
    let to = target.to_str().unwrap();
    let refused = |args: &[&str]| {
        let out = node.run(args, None);
        let (stdout, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains("最早"), "names the earliest time: {stderr}");
        assert!(!target.exists(), "nothing is left behind");
        stderr
    };
    let stderr = refused(&["restore", "--to", to, "--at", &before_backup]);
    refused(&["restore", "--to", to, "--at-seq", "1"]);

    // The time it names is one the backup can give.
    let earliest = stderr
        .split("--at \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a time to pass to --at: {stderr}"));
    let report = node.json(&["restore", "--to", to, "--at", earliest]);
    assert_eq!(report["customers"], 2, "{report}");
    assert_eq!(logins(&target), ["bk", "zhang"]);
}

#[test]
fn a_damaged_customer_can_be_skipped_and_comes_back_from_its_salespersons_laptop() {
    let server = TestServer::start_plain();
    server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    server.add_user_named("wang", "王芳", Role::Clerk, PASSWORD);
    server.add_user_named("bk", "赵备份", Role::BackupOperator, PASSWORD);
    let zhang = laptop(&server, "zhang");
    add(&zhang, "c1", "金华甲公司");
    add(&zhang, "c2", "金华乙公司");
    zhang.ok(&["visit", "c1", "--notes", &"详细的拜访记录。".repeat(40)]);
    zhang.sync();
    let node = BackupNode::for_server(&server, "bk", PASSWORD);
    node.catch_up();
    damage_document(&node.file(), "c1");

    // Refused: nothing is left behind, neither a directory restore made…
    let made = node.scratch().join("new").join("srv");
    let out = node.run(&["restore", "--to", made.to_str().unwrap()], None);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("c1") && stderr.contains("--skip-damaged"),
        "{stderr}"
    );
    assert!(!node.scratch().join("new").exists(), "no directory is left");
    // …nor anything in one the operator had, which stays as it was.
    let had = node.scratch().join("had");
    std::fs::create_dir(&had).unwrap();
    std::fs::set_permissions(&had, std::fs::Permissions::from_mode(0o750)).unwrap();
    let out = node.run(&["restore", "--to", had.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1), "{:?}", texts(&out));
    assert_eq!(std::fs::read_dir(&had).unwrap().count(), 0, "left empty");
    assert_eq!(mode(&had), "750");

    // Everything else, naming the skipped customer and its salesperson.
    let report = node.json(&["restore", "--to", had.to_str().unwrap(), "--skip-damaged"]);
    assert_eq!(report["customers"], 1, "{report}");
    assert_eq!(report["skipped"][0]["id"], "c1", "{report}");
    assert_eq!(report["skipped"][0]["salesperson"], "zhang", "{report}");
    let text = node.ok(
        &["restore", "--to", made.to_str().unwrap(), "--skip-damaged"],
        None,
    );
    assert!(
        text.contains("c1") && text.contains("张伟") && text.contains("同步"),
        "{text}"
    );

    // In place of the lost server: the customer is missing until its
    // salesperson's laptop syncs, which sends it back.
    let address = server.url.trim_start_matches("http://").to_string();
    drop(server);
    let restored = TestServer::start_in_at(&made, &address, &["--insecure-plain-http"]);
    let client = Client::new(&restored.url, &Trust::PlainHttp).unwrap();
    let wang = restored.api_login("wang", PASSWORD);
    let c1 = |token: &str| client.get::<Value>("/api/v1/customers/c1", Some(token));
    assert!(c1(&wang).is_err(), "skipped by the restore");
    zhang.sync();
    assert_eq!(pending(&zhang), 0);
    let back = c1(&wang).expect("c1 is back on the server").to_string();
    assert!(
        back.contains("金华甲公司") && back.contains("详细的拜访记录"),
        "{back}"
    );
    let c2: Value = client
        .get("/api/v1/customers/c2", Some(&wang))
        .expect("c2 was restored");
    assert!(c2.to_string().contains("金华乙公司"));
}

#[test]
fn sigterm_or_ctrl_c_stops_the_node_cleanly_and_a_copy_of_its_file_is_checked_offline() {
    let server = TestServer::start_plain();
    server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    server.add_user_named("bk", "赵备份", Role::BackupOperator, PASSWORD);
    // Through a relay that counts connections, to see --offline make none.
    let relay = NetCut::new(server.url.trim_start_matches("http://"));
    let mut node = BackupNode::init(&format!("http://{}", relay.addr), "", "bk", PASSWORD);
    let zhang = laptop(&server, "zhang");
    for (round, signal) in [(1u64, libc::SIGTERM), (2, libc::SIGINT)] {
        add(&zhang, &format!("c{round}"), &format!("舟山客户{round}"));
        zhang.ok(&["visit", &format!("c{round}"), "--notes", "停机前的拜访"]);
        zhang.sync();
        node.start();
        let head = wait_backup_even(&server, Duration::from_secs(30))["head"].clone();
        let status = node.stop_with(signal);
        assert!(
            status.success(),
            "signal {signal}: {status:?}\n{}",
            node.log()
        );
        assert!(
            !beside(&node.file(), "-wal").exists(),
            "signal {signal}: the WAL is folded into the file and removed"
        );

        // The file alone, copied elsewhere, is the whole backup.
        let copy = node.scratch().join(format!("copy{round}"));
        std::fs::create_dir(&copy).unwrap();
        std::fs::copy(node.file(), copy.join("crm-backup.sqlite3")).unwrap();
        let connections = relay.connections();
        let offline = |args: &[&str]| -> Value {
            let out = run_in(&copy, args, None);
            let (stdout, stderr) = texts(&out);
            assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
        };
        let status = offline(&["status", "--offline", "--json"]);
        assert_eq!(status["position"]["after"], head, "{status}");
        assert_eq!(status["documents"], round, "{status}");
        let report = offline(&["verify", "--offline", "--json"]);
        assert_eq!(report["upto"], head, "{report}");
        assert_eq!(report["documents"], round, "{report}");
        assert!(
            report["damaged"].as_object().unwrap().is_empty(),
            "{report}"
        );
        assert_eq!(report["file_damage"], Value::Null, "{report}");
        let text = node.ok(&["status", "--offline"], None);
        assert!(
            text.contains("--offline"),
            "says the server was not asked: {text}"
        );
        assert_eq!(
            relay.connections(),
            connections,
            "--offline never contacts the server"
        );
    }
}

/// The field test's story: the backup stops following; head office marks
/// customer X reviewed (a change the server writes as itself); laptop A
/// syncs and holds it; the server is lost and restored from the backup,
/// which lacks that change; head office reviews X again; A syncs. The
/// restored server writes as a new actor, so its second change cannot
/// pass for the first: both reviews are everywhere, and nothing is stuck.
#[test]
fn head_office_changes_the_backup_lacked_survive_a_restore_without_a_clash() {
    let server = TestServer::start_plain();
    server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    server.add_user_named("wang", "王芳", Role::Clerk, PASSWORD);
    server.add_user_named("bk", "赵备份", Role::BackupOperator, PASSWORD);
    let a = laptop(&server, "zhang");
    add(&a, "c-x", "嘉兴南湖电子有限公司");
    a.sync();
    let node = BackupNode::for_server(&server, "bk", PASSWORD);
    node.catch_up();
    // From here on the backup does not follow.

    let review = |server: &TestServer, notes: &str, tier: &str| {
        let token = server.api_login("wang", PASSWORD);
        common::http::post_json(
            &server.url,
            "/api/v1/customers/c-x/review",
            Some(&token),
            &json!({"tier": tier, "notes": notes}),
        )
        .ok_json();
    };
    review(&server, "第一次审查:资料齐全", "important");
    a.sync();
    assert!(card_text(&a, "c-x").contains("第一次审查"));

    let latest = tempfile::tempdir().unwrap();
    node.ok(&["restore", "--to", latest.path().to_str().unwrap()], None);
    let address = server.url.trim_start_matches("http://").to_string();
    drop(server);
    let restored = TestServer::start_in_at(latest.path(), &address, &["--insecure-plain-http"]);
    review(&restored, "第二次审查:地址已核实", "special");

    let report = a.sync();
    assert_eq!(report["set_aside"], json!([]), "{report}");
    assert_eq!(a.sync()["set_aside"], json!([]));
    assert_eq!(pending(&a), 0);
    let notes = |card: &Value| -> Vec<String> {
        let mut v: Vec<String> = card["reviews"]
            .as_object()
            .unwrap()
            .values()
            .map(|r| r["notes"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let both = ["第一次审查:资料齐全", "第二次审查:地址已核实"];
    assert_eq!(notes(&a.json(&["show", "c-x"])), both, "on the laptop");
    let clerk = laptop(&restored, "wang");
    clerk.sync();
    assert_eq!(notes(&clerk.json(&["show", "c-x"])), both, "on the server");
    // Both were head office's; the laptop that handed the first one back
    // is named as its sender, not as its author.
    let history = clerk.json(&["history", "c-x"]);
    let reviewers: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["action"] == "review")
        .map(|h| h["by"].as_str().unwrap())
        .collect();
    assert_eq!(reviewers, ["wang", "wang"], "{history}");
}

/// The audit of access is backed up like the other records: after a
/// restore, the restored server still tells who signed in, who failed,
/// and what an administrator did.
#[test]
fn the_audit_of_access_is_backed_up_and_restored() {
    let server = TestServer::start_plain();
    server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    server.add_user_named("bk", "赵备份", Role::BackupOperator, PASSWORD);
    let zhang = laptop(&server, "zhang");
    add(&zhang, "c1", "宁波甲公司");
    zhang.sync();
    let node = BackupNode::for_server(&server, "bk", PASSWORD);
    node.catch_up();
    // After the first pull, more happens at the doors, and only there.
    let wrong = zhang.run(
        &[
            "login",
            "--server",
            &server.url,
            "--user",
            "zhang",
            "--password-stdin",
        ],
        Some("不是这个密码的密码\n"),
    );
    assert_eq!(wrong.status.code(), Some(1));
    let out = server.admin(&["user", "disable", "zhang"], None);
    assert!(out.status.success());
    node.catch_up();

    let restored = tempfile::tempdir().unwrap();
    node.ok(
        &["restore", "--to", restored.path().to_str().unwrap()],
        None,
    );
    let out = common::server::admin(
        restored.path(),
        &["audit", "--format", "json", "--limit", "1000"],
        None,
    );
    let audit: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let has = |kind: &str, login: &str| {
        audit
            .iter()
            .any(|e| e["kind"] == kind && e["login"] == login)
    };
    assert!(has("sign_in", "zhang"), "{audit:?}");
    assert!(has("sign_in", "bk"), "{audit:?}");
    assert!(has("sign_in_failed", "zhang"), "{audit:?}");
    assert!(has("user_disabled", "zhang"), "{audit:?}");
    assert!(!serde_json::to_string(&audit)
        .unwrap()
        .contains("不是这个密码"));
}
