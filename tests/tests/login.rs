//! `crm login` / `crm logout` against the real `crm-server` binary over
//! HTTPS with its self-signed certificate on a loopback port.

mod common;

use common::server::TestServer;
use common::{texts, Laptop};
use crm_shared::codes::Role;

const PASSWORD: &str = "correct horse battery";

fn server_with_zhangsan() -> TestServer {
    let server = TestServer::start();
    server.add_user_named("zhangsan", "张三", Role::Salesperson, PASSWORD);
    server
}

fn login(laptop: &Laptop, url: &str, trust: &[&str], password: &str) -> std::process::Output {
    let mut args = vec!["login", "--server", url, "--user", "zhangsan"];
    args.extend_from_slice(trust);
    args.push("--password-stdin");
    laptop.run(&args, Some(&format!("{password}\n")))
}

/// What `crm logout` says tells whether a session was saved.
fn is_logged_in(laptop: &Laptop) -> bool {
    let out = laptop.ok(&["logout"]);
    out.contains("已退出登录")
}

#[test]
fn login_with_the_printed_fingerprint_succeeds() {
    let server = server_with_zhangsan();
    assert_eq!(server.fingerprint.len(), 64, "{}", server.fingerprint);
    let laptop = Laptop::init("zhangsan");

    let out = login(
        &laptop,
        &server.url,
        &["--fingerprint", &server.fingerprint],
        PASSWORD,
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!("已登录 {},用户 张三(业务员)", server.url)
    );

    // The server registered the device under this laptop's name.
    let devices = server.admin(&["device", "list", "--json"], None);
    let devices: serde_json::Value = serde_json::from_slice(&devices.stdout).unwrap();
    assert_eq!(devices.as_array().unwrap().len(), 1, "{devices}");

    // The fingerprint is accepted with colons and in upper case too.
    let colons = server
        .fingerprint
        .as_bytes()
        .chunks(2)
        .map(|p| std::str::from_utf8(p).unwrap().to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":");
    let out = login(&laptop, &server.url, &["--fingerprint", &colons], PASSWORD);
    assert!(out.status.success(), "{}", texts(&out).1);

    // Nothing secret is printed.
    assert!(!stdout.contains(PASSWORD));

    assert!(is_logged_in(&laptop));
    assert_eq!(laptop.ok(&["logout"]).trim(), "本机尚未登录服务器");
}

#[test]
fn login_with_the_ca_file_succeeds() {
    let server = server_with_zhangsan();
    let laptop = Laptop::init("zhangsan");
    let cert = server.cert_path();
    let out = login(
        &laptop,
        &server.url,
        &["--ca-file", cert.to_str().unwrap()],
        PASSWORD,
    );
    assert!(out.status.success(), "{}", texts(&out).1);
    assert!(is_logged_in(&laptop));
}

#[test]
fn a_wrong_fingerprint_is_refused_and_nothing_is_saved() {
    let server = server_with_zhangsan();
    let laptop = Laptop::init("zhangsan");
    // Same length, one digit different: another certificate.
    let mut wrong = server.fingerprint.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();

    let out = login(&laptop, &server.url, &["--fingerprint", &wrong], PASSWORD);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("服务器证书与登录时确认的指纹不符,可能不是同一台服务器"),
        "{stderr}"
    );
    // Both fingerprints are named, so the user can compare them.
    let actual = server.fingerprint[..2].to_ascii_uppercase();
    assert!(stderr.contains(&format!("实际为 {actual}:")), "{stderr}");
    assert!(!stderr.contains(PASSWORD));
    assert!(!is_logged_in(&laptop));

    // The password never reached the impostor: the server saw no login.
    let devices = server.admin(&["device", "list", "--json"], None);
    let devices: serde_json::Value = serde_json::from_slice(&devices.stdout).unwrap();
    assert_eq!(devices.as_array().unwrap().len(), 0, "{devices}");
}

#[test]
fn a_wrong_password_says_so() {
    let server = server_with_zhangsan();
    let laptop = Laptop::init("zhangsan");
    let out = login(
        &laptop,
        &server.url,
        &["--fingerprint", &server.fingerprint],
        "not the password",
    );
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim(), "错误:用户名或密码错误");
    assert!(!is_logged_in(&laptop));
}

#[test]
fn an_expired_password_says_so() {
    let server = server_with_zhangsan();
    let out = server.admin(
        &[
            "user",
            "passwd",
            "zhangsan",
            "--password-stdin",
            "--expires-in-days",
            "0",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(out.status.success(), "{}", texts(&out).1);
    let laptop = Laptop::init("zhangsan");
    let out = login(
        &laptop,
        &server.url,
        &["--fingerprint", &server.fingerprint],
        PASSWORD,
    );
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("密码已过期"), "{stderr}");
}

#[test]
fn a_stopped_server_is_reported_as_offline() {
    let mut server = server_with_zhangsan();
    let (url, fingerprint) = (server.url.clone(), server.fingerprint.clone());
    server.kill();
    let laptop = Laptop::init("zhangsan");
    let out = login(&laptop, &url, &["--fingerprint", &fingerprint], PASSWORD);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("无法连接服务器 {url}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("离线时数据已保存在本机,联网后再同步"),
        "{stderr}"
    );
}

#[test]
fn https_without_a_fingerprint_asks_for_it() {
    let server = server_with_zhangsan();
    let laptop = Laptop::init("zhangsan");
    let out = login(&laptop, &server.url, &[], PASSWORD);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--fingerprint"), "{stderr}");
    assert!(stderr.contains("指纹"), "{stderr}");
}

#[test]
fn another_users_login_is_refused() {
    let server = server_with_zhangsan();
    server.add_user("lisi", Role::Salesperson, PASSWORD);
    let laptop = Laptop::init("zhangsan");
    let out = laptop.run(
        &[
            "login",
            "--server",
            &server.url,
            "--user",
            "lisi",
            "--fingerprint",
            &server.fingerprint,
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("本机资料库属于用户 zhangsan,不能以 lisi 登录"),
        "{stderr}"
    );
}

#[test]
fn plain_http_needs_no_fingerprint() {
    let server = TestServer::start_plain();
    server.add_user("zhangsan", Role::Clerk, PASSWORD);
    assert!(server.url.starts_with("http://"), "{}", server.url);
    let laptop = Laptop::init("zhangsan");
    let out = login(&laptop, &server.url, &[], PASSWORD);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("(档案管理员)"), "{stdout}");
}

/// An administrator resets the password: `crm login` asks for a new one
/// (here the second line of standard input) and signs in with it; the
/// salesperson later changes it again with `crm password`.
#[test]
fn a_reset_password_is_replaced_at_login_and_changed_later() {
    let server = server_with_zhangsan();
    let out = server.admin(
        &["user", "passwd", "zhangsan", "--password-stdin"],
        Some("管理员给的临时密码一次\n"),
    );
    assert!(out.status.success(), "{}", texts(&out).1);
    let laptop = Laptop::init("zhangsan");
    let trust = ["--fingerprint", server.fingerprint.as_str()];
    let mut args = vec!["login", "--server", &server.url, "--user", "zhangsan"];
    args.extend_from_slice(&trust);
    args.push("--password-stdin");
    // Without a new password the login says what to do.
    let out = laptop.run(&args, Some("管理员给的临时密码一次\n"));
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("新密码"), "{stderr}");
    // A weak one is refused with the rule.
    let out = laptop.run(&args, Some("管理员给的临时密码一次\n12345678\n"));
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("至少 10"), "{stderr}");
    let out = laptop.run(
        &args,
        Some("管理员给的临时密码一次\n只有张三知道的新密码\n"),
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("已设置新密码") && stdout.contains("已登录"),
        "{stdout}"
    );

    let out = laptop.run(
        &["password", "--password-stdin"],
        Some("只有张三知道的新密码\n第二个只有我知道的密码\n"),
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("已修改"), "{stdout}");
    assert!(
        login(&laptop, &server.url, &trust, "第二个只有我知道的密码")
            .status
            .success()
    );
    assert_eq!(
        login(&laptop, &server.url, &trust, "只有张三知道的新密码")
            .status
            .code(),
        Some(1)
    );
}
