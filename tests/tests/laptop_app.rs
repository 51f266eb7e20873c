//! The salesperson's app (`crm ui`) in a real browser: headless Chromium
//! through chromedriver against the real `crm` binary serving its own store,
//! syncing with a real `crm-server` over HTTPS on loopback.
//!
//! One salesperson's day: first sign-in (the certificate's fingerprint
//! shown and confirmed), sync, the server stopped, a visit, a card edit and
//! a new customer recorded offline, the server back and the changes sent by
//! the automatic sync, a clerk's concurrent edit resolved in the app, a
//! credit request whose decision appears after sync. Screenshots of every
//! page at 1280×800, and of 今日, the list and the card at 375×800, go to
//! `test-artifacts/laptop-screenshots/` (emptied at each run).
//!
//! The local app's doors are tried without a browser: a wrong Host, no
//! token, a cross-origin POST and a POST without the form token are each
//! refused with 403 and change nothing.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::browser::Browser;
use common::server::TestServer;
use common::{Laptop, CRM};
use crm_shared::codes::Role;
use serde_json::json;

const PASSWORD: &str = "应用测试密码-2026";

/// `crm ui --no-open` on its own data directory; killed on drop.
struct App {
    child: Child,
    /// The address it printed, with its launch token.
    url: String,
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// Its data directory.
    dir: std::path::PathBuf,
    _owned: Option<tempfile::TempDir>,
}

impl App {
    fn start() -> App {
        App::start_in(tempfile::tempdir().unwrap())
    }

    /// On a laptop already set up as `zhang` (no server yet).
    fn start_set_up() -> App {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(CRM)
            .arg("--data-dir")
            .arg(dir.path())
            .args(["init", "--user", "zhang"])
            .env_remove("CRM_HOME")
            .env("CRM_PASSPHRASE", crm_tests::PASSPHRASE)
            .output()
            .unwrap();
        assert!(out.status.success());
        App::start_in(dir)
    }

    fn start_in(dir: tempfile::TempDir) -> App {
        let mut app = App::start_in_existing(dir.path());
        app._owned = Some(dir);
        app
    }

    /// On a data directory someone else keeps.
    fn start_in_existing(dir: &std::path::Path) -> App {
        App::start_asking(dir, false)
    }

    /// With `ask`, as a salesperson starts it: without `CRM_PASSPHRASE`,
    /// so the app asks for the passphrase on its page.
    fn start_asking(dir: &std::path::Path, ask: bool) -> App {
        let mut command = Command::new(CRM);
        if ask {
            command.env_remove("CRM_PASSPHRASE");
        } else {
            command.env("CRM_PASSPHRASE", crm_tests::PASSPHRASE);
        }
        let mut child = command
            .arg("--data-dir")
            .arg(dir)
            .args(["ui", "--no-open"])
            .env_remove("CRM_HOME")
            // Sync every few seconds, and retry that often while offline.
            .env("CRM_SYNC_EVERY", "3")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start crm ui");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // Keep reading (and dropping) what it prints, as a terminal would.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let url = line
            .find("http://")
            .map(|i| line[i..].trim().to_string())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let base = url.split("/?").next().unwrap().to_string();
        App {
            child,
            url,
            base,
            dir: dir.to_path_buf(),
            _owned: None,
        }
    }

    /// The cookie header the launch token is traded for, ready to send.
    fn cookie(&self) -> String {
        let authority = self.base.strip_prefix("http://").unwrap();
        let token = self.url.split("t=").nth(1).unwrap();
        let (_, answer) = self.raw("GET", &format!("/?t={token}"), authority, "", "");
        let cookie = answer
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .and_then(|c| c.split(';').next())
            .expect("a cookie");
        format!("Cookie: {cookie}\r\n")
    }

    /// A raw HTTP request to the app, `Host` as given; the status and body.
    fn raw(&self, method: &str, path: &str, host: &str, extra: &str, body: &str) -> (u16, String) {
        let authority = self.base.strip_prefix("http://").unwrap();
        let mut s = TcpStream::connect(authority).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        // A refusal may close the connection before the body was read: the
        // reset that follows the answer is expected.
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) if !raw.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => {
                    break
                }
                Err(e) => panic!("{method} {path}: {e}"),
            }
        }
        let answer = String::from_utf8_lossy(&raw).into_owned();
        let status = answer[9..12].parse().unwrap();
        (status, answer)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server with the people of this day: 张伟 (salesperson), 王芳
/// (clerk), and the four managers of the credit chain.
fn server() -> TestServer {
    let srv = TestServer::start();
    srv.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    srv.add_user_named("wang", "王芳", Role::Clerk, PASSWORD);
    for (login, name, position) in [
        ("m1", "刘经理", "sales_manager"),
        ("m2", "陈副总", "sales_vp"),
        ("m3", "赵总经理", "sales_gm"),
        ("m4", "孙集团总", "group_gm"),
    ] {
        srv.add_user_named(login, name, Role::Manager, PASSWORD);
        let out = srv.admin(&["user", "position", login, position], None);
        assert!(out.status.success());
    }
    // 张伟's customer, from head office's archive.
    let file = srv.data_dir.join("archive.jsonl");
    std::fs::write(
        &file,
        r#"{"id":"c-hd","name":"上海华东机电","region":"华东","contacts":[{"name":"李建国","mobile":"13912345678"}]}"#,
    )
    .unwrap();
    let out = srv.admin(
        &["import", file.to_str().unwrap(), "--salesperson", "zhang"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    srv
}

/// A head-office login through the API over the pinned certificate.
fn api(srv: &TestServer, login: &str) -> (crm_client::net::Client, String) {
    let trust = crm_client::net::Trust::fingerprint(&srv.fingerprint).unwrap();
    let client = crm_client::net::Client::new(&srv.url, &trust).unwrap();
    let r: crm_shared::api::LoginResponse = client
        .post(
            "/api/v1/login",
            None,
            &crm_shared::api::LoginRequest {
                login: login.into(),
                password: PASSWORD.into(),
                device_name: format!("{login} 的浏览器"),
            },
        )
        .unwrap();
    (client, r.token)
}

/// `login`'s laptop, signed in with the pinned fingerprint.
fn signed_in(srv: &TestServer, login: &str) -> Laptop {
    let laptop = Laptop::init(login);
    let out = laptop.run(
        &[
            "login",
            "--server",
            &srv.url,
            "--user",
            login,
            "--fingerprint",
            &srv.fingerprint,
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(out.status.success(), "{}", common::texts(&out).1);
    laptop
}

/// Reloads `path` until its text contains `want` (the app syncs on its
/// own; this waits for it, it does not time it).
async fn until(b: &Browser, path: &str, want: &str) -> String {
    let start = Instant::now();
    loop {
        b.go(path).await;
        let body = b.body().await;
        if body.contains(want) {
            return body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "{path} never showed “{want}”:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_salespersons_day_in_the_app() {
    let mut srv = server();
    let app = App::start();
    let b = Browser::open(&app.base, "laptop-screenshots", 1280, 800).await;

    // First run: the address, the fingerprint to compare, the sign-in.
    b.client.goto(&app.url).await.unwrap();
    assert!(b.body().await.contains("连接总部服务器"));
    b.shot("01-setup").await;
    b.fill("input[name=url]", &srv.url).await;
    b.click("form.login button[type=submit]").await;
    let shown = b.text("#fingerprint").await;
    assert_eq!(
        shown.replace(':', "").to_lowercase(),
        srv.fingerprint,
        "the fingerprint shown is the server's"
    );
    b.shot("02-fingerprint").await;
    b.fill("input[name=login]", "zhang").await;
    b.fill("input[name=password]", PASSWORD).await;
    b.check("input[name=confirmed]").await;
    b.click("form.login button[type=submit]").await;
    assert!(b.text("h1").await.contains("今日"));

    // The first sync brings head office's customer.
    let body = until(&b, "/customers", "上海华东机电").await;
    assert!(body.contains("李建国"));
    // Pinyin initials and full pinyin find it.
    for q in ["shhd", "shanghai"] {
        b.go(&format!("/customers?q={q}")).await;
        assert!(b.body().await.contains("上海华东机电"), "search {q}");
    }
    b.go("/customers").await;
    b.shot("03-customers").await;

    // The server goes away: everything still works, offline.
    srv.kill();
    b.go("/customers/c-hd/visit").await;
    b.fill("textarea[name=notes]", "拜访采购经理,谈下季度订单")
        .await;
    b.client
        .find(fantoccini::Locator::Css(
            "select[name=intent] option[value=H]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.click("#visit button[type=submit]").await;
    let card = b.body().await;
    assert!(card.contains("已记录拜访"), "{card}");
    assert!(card.contains("下次跟进"), "{card}");
    assert!(card.contains("拜访采购经理"));

    // A sale, the input of grading.
    b.go("/customers/c-hd").await;
    b.check("#sale-form summary").await;
    b.fill("input[name=amount]", "86,000").await;
    b.fill("input[name=product]", "电机").await;
    b.click("form.stack[action$=sale] button[type=submit]")
        .await;
    let card = b.body().await;
    assert!(
        card.contains("已记录销售") && card.contains("86,000"),
        "{card}"
    );

    // A card edit with its reason; the region is also what the clerk will
    // change at the same time, so the two edits clash.
    b.go("/customers/c-hd/edit").await;
    b.fill("input[name=region]", "华南").await;
    b.fill("input[name=reason]", "客户迁到广州").await;
    b.shot("05-edit").await;
    b.click("form.stack button[type=submit]").await;
    assert!(b.body().await.contains("已保存修改"));

    // A refused form keeps what was typed and says what is wrong.
    b.go("/customers/new").await;
    b.fill("input[name=name]", "上海华东机电").await;
    b.fill("input[name=contact]", "王强").await;
    b.click("form.stack button[type=submit]").await;
    let refused = b.body().await;
    assert!(refused.contains("相似的客户"), "{refused}");
    assert_eq!(
        b.client
            .find(fantoccini::Locator::Css("input[name=contact]"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("王强")
    );
    b.fill("input[name=name]", "杭州西湖电子").await;
    b.click("form.stack button[type=submit]").await;
    assert!(b.body().await.contains("已新建客户"));
    b.shot("06-new-customer-card").await;

    let status = until(&b, "/today", "离线").await;
    assert!(status.contains("待发送:2"), "{status}");
    b.shot("07-today-offline").await;

    // The server comes back and, before the laptop's next sync, the clerk
    // changes the same field.
    srv.restart();
    let wang = signed_in(&srv, "wang");
    wang.sync();
    wang.ok(&[
        "edit",
        "c-hd",
        "--set",
        "region=华北",
        "--reason",
        "总部核对地址",
    ]);
    wang.sync();

    // The automatic sync sends everything and brings the clash.
    until(&b, "/today", "待发送:0").await;
    let card = until(&b, "/customers/c-hd", "冲突").await;
    assert!(card.contains("华南") && card.contains("华北"), "{card}");
    // The salesperson's own value is signed with their name, not a login.
    assert!(card.contains("华南 — 张伟"), "{card}");
    b.shot("08-conflict").await;
    b.fill("input[name=reason]", "客户确已迁到广州").await;
    b.click("form.stack[action$=resolve] button[type=submit]")
        .await;
    assert!(b.body().await.contains("已解决冲突"));

    // The visit and the new customer are on the server.
    wang.sync();
    let visit = wang.json(&["show", "c-hd"]);
    assert!(
        visit.to_string().contains("拜访采购经理"),
        "the offline visit reached the server: {visit}"
    );
    assert!(wang.ok(&["list"]).contains("杭州西湖电子"));

    // A credit request, decided at head office along the chain.
    b.go("/customers/c-hd").await;
    b.check("#credit-form summary").await;
    b.fill("input[name=limit]", "800,000").await;
    b.fill("textarea[name=reason]", "订单增长,需提高额度").await;
    b.click("form.stack[action$=credit] button[type=submit]")
        .await;
    assert!(b.body().await.contains("已提交信用额度申请"));
    until(&b, "/today", "待发送:0").await;
    wang.sync();
    let card = wang.json(&["show", "c-hd"]);
    let key = card["credit_requests"]
        .as_object()
        .and_then(|m| m.keys().next().cloned())
        .expect("the request reached head office");
    // crm-net's client blocks on its own runtime: not on this one's.
    tokio::task::block_in_place(|| {
        for m in ["m1", "m2", "m3", "m4"] {
            let (client, token) = api(&srv, m);
            let _: serde_json::Value = client
                .post(
                    &format!("/api/v1/credit-requests/c-hd/{key}/decide"),
                    Some(&token),
                    &json!({"approve": true, "comment": "同意"}),
                )
                .unwrap_or_else(|e| panic!("{m} decides: {e}"));
        }
    });
    b.go("/sync").await;
    b.click("#sync-now").await;
    let news = until(&b, "/sync", "已批准").await;
    assert!(news.contains("800,000"), "{news}");
    b.shot("09-sync").await;
    b.go("/customers/c-hd").await;
    assert!(b.body().await.contains("批准"));

    // A complaint: registered in the app, judged and planned at head
    // office, then the salesperson's own steps in the app, in order.
    b.check("#complaint-form summary").await;
    b.fill(
        "#complaint-form textarea[name=description]",
        "电机外壳运输中碰裂",
    )
    .await;
    b.click("form.stack[action$=complaint] button[type=submit]")
        .await;
    let card = b.body().await;
    assert!(card.contains("已登记投诉"), "{card}");
    assert!(card.contains("等待总部办理“初步判断”"), "{card}");
    until(&b, "/today", "待发送:0").await;
    wang.sync();
    let complaints = wang.json(&["show", "c-hd"])["complaints"].clone();
    let key = complaints
        .as_object()
        .and_then(|m| m.keys().next().cloned())
        .expect("the complaint reached head office");
    tokio::task::block_in_place(|| {
        let steps = format!("/api/v1/customers/c-hd/complaints/{key}/steps");
        for (login, step, input) in [
            ("wang", "judged", json!({"category": "non_quality"})),
            ("wang", "plan", json!({"remedy": "补发外壳"})),
            ("m1", "opinion", json!({"opinion": "同意补发"})),
        ] {
            let (client, token) = api(&srv, login);
            let _: serde_json::Value = client
                .post(&steps, Some(&token), &json!({"step": step, "input": input}))
                .unwrap_or_else(|e| panic!("{login} takes {step}: {e}"));
        }
    });
    b.go("/sync").await;
    b.click("#sync-now").await;
    until(&b, "/customers/c-hd", "办理:与客户协商").await;
    b.check("#complaints ~ details summary").await;
    b.choose("select[name=agreed]", "yes").await;
    b.fill("textarea[name=negotiation]", "客户同意补发外壳")
        .await;
    b.click("form.stack[action*='/complaints/'] button[type=submit]")
        .await;
    assert!(b.body().await.contains("已保存投诉处理"));
    b.check("#complaints ~ details summary").await;
    b.fill("textarea[name=execution]", "外壳已补发").await;
    b.click("form.stack[action*='/complaints/'] button[type=submit]")
        .await;
    b.check("#complaints ~ details summary").await;
    b.choose("select[name=satisfied]", "yes").await;
    b.click("form.stack[action*='/complaints/'] button[type=submit]")
        .await;
    let card = b.body().await;
    assert!(card.contains("等待总部办理“结案”"), "{card}");
    assert!(card.contains("外壳已补发"), "{card}");
    b.client
        .execute(
            "document.getElementById('complaints').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    b.shot("09b-complaint").await;

    // Every page at 1280×800, then the three a phone-sized window must
    // serve at 375×800.
    for (name, path) in [
        ("10-today", "/today"),
        ("11-customers", "/customers"),
        ("12-card", "/customers/c-hd"),
        ("13-history", "/customers/c-hd/history"),
        ("14-visit", "/customers/c-hd/visit"),
        ("15-daily", "/reports/daily"),
        ("16-grades", "/reports/grades"),
        ("17-warnings", "/reports/warnings"),
        ("18-new", "/customers/new"),
    ] {
        b.go(path).await;
        b.shot(name).await;
    }
    let history = {
        b.go("/customers/c-hd/history").await;
        b.body().await
    };
    assert!(history.contains("张伟"), "{history}");
    assert!(
        !history.contains("c-hd"),
        "no ids in the history: {history}"
    );
    b.client.set_window_size(375, 800).await.unwrap();
    for (name, path) in [
        ("20-narrow-today", "/today"),
        ("21-narrow-customers", "/customers"),
        ("22-narrow-card", "/customers/c-hd"),
    ] {
        b.go(path).await;
        b.shot(name).await;
    }

    // Head office revokes the laptop: its next sync removes the customers
    // from it and the app says why.
    let listed = srv.admin(&["device", "list", "--json"], None);
    let devices: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let device = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["login"] == "zhang" && d["revoked_at"].is_null())
        .and_then(|d| d["id"].as_str())
        .expect("the app's device")
        .to_string();
    assert!(srv
        .admin(&["device", "revoke", &device], None)
        .status
        .success());
    b.go("/sync").await;
    b.click("#sync-now").await;
    let said = until(&b, "/sync", "已被总部停用").await;
    assert!(said.contains("已全部删除"), "{said}");
    b.shot("23-narrow-revoked").await;
    // The store and its key are gone; every page leads to signing in.
    b.go("/customers").await;
    let body = b.body().await;
    assert!(
        body.contains("已被总部停用") && !body.contains("上海华东机电"),
        "{body}"
    );
    let left: Vec<String> = std::fs::read_dir(&app.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("crm.sqlite3") || n == "crm.key")
        .collect();
    assert!(left.is_empty(), "{left:?}");
    b.close().await;
    drop(app);
}

/// The store is encrypted: started as a salesperson starts it (no
/// `CRM_PASSPHRASE`), the app shows nothing but its unlock page until the
/// passphrase is typed; a wrong one is refused and changes nothing.
#[test]
fn the_app_opens_the_store_only_with_its_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["init", "--user", "zhang"][..],
        &["add", "--id", "c-hd", "--name", "上海华东机电有限公司"][..],
    ] {
        let out = Command::new(CRM)
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env_remove("CRM_HOME")
            .env("CRM_PASSPHRASE", crm_tests::PASSPHRASE)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::texts(&out).1);
    }
    let app = App::start_asking(dir.path(), true);
    let authority = app.base.strip_prefix("http://").unwrap().to_string();
    let with_cookie = app.cookie();
    let own = format!("{with_cookie}Origin: http://{authority}\r\n");

    let (status, page) = app.raw("GET", "/customers", &authority, &with_cookie, "");
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("本机数据密码") && !page.contains("上海华东机电"));
    let form = page
        .split("name=\"_form\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("form token")
        .to_string();
    let before = std::fs::read(dir.path().join("crm.sqlite3")).unwrap();
    let wrong = format!("_form={form}&passphrase=not-the-passphrase");
    let (status, page) = app.raw("POST", "/unlock", &authority, &own, &wrong);
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("本机数据密码不对"), "{page}");
    assert!(!page.contains("上海华东机电"));
    assert_eq!(
        std::fs::read(dir.path().join("crm.sqlite3")).unwrap(),
        before
    );

    let right: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("_form", &form)
        .append_pair("passphrase", crm_tests::PASSPHRASE)
        .finish();
    let (status, answer) = app.raw("POST", "/unlock", &authority, &own, &right);
    assert_eq!(status, 303, "{answer}");
    let (status, page) = app.raw("GET", "/customers", &authority, &with_cookie, "");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("上海华东机电"), "{page}");
}

/// The part of a page inside `<main>`: what the page says, without the
/// sync status line around it.
fn main_part(answer: &str) -> &str {
    let start = answer.find("<main>").expect("a page");
    let end = answer.find("</main>").expect("a whole page");
    &answer[start..end]
}

/// Reloads `path` until it is built from the figures the app computes in
/// the background (the app does so after each change; this waits for it,
/// it does not time it); what it then says.
fn precomputed(app: &App, path: &str) -> String {
    let authority = app.base.strip_prefix("http://").unwrap();
    let cookie = app.cookie();
    let start = Instant::now();
    loop {
        let (status, answer) = app.raw("GET", path, authority, &cookie, "");
        assert_eq!(status, 200, "{answer}");
        if answer.contains("x-crm-figures: precomputed") {
            return main_part(&answer).to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "{path} was never built from the background figures"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// 日报 and 等级预览 are built from figures computed in the background
/// after each change: right after a visit or a sale they show it (the
/// figures from before it are not used), and once computed anew they say
/// the same as what the page computed for itself.
#[test]
fn the_reports_show_a_change_at_once_and_the_same_once_precomputed() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["init", "--user", "zhang"][..],
        &["add", "--id", "c-hd", "--name", "上海华东机电有限公司"][..],
        &["add", "--id", "c-xh", "--name", "杭州西湖电子"][..],
    ] {
        let out = Command::new(CRM)
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env_remove("CRM_HOME")
            .env("CRM_PASSPHRASE", crm_tests::PASSPHRASE)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::texts(&out).1);
    }
    let app = App::start_in(dir);
    let authority = app.base.strip_prefix("http://").unwrap().to_string();
    let with_cookie = app.cookie();
    let own = format!("{with_cookie}Origin: http://{authority}\r\n");
    let (_, page) = app.raw("GET", "/customers/new", &authority, &with_cookie, "");
    let form = page
        .split("name=\"_form\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("form token")
        .to_string();
    let post = |path: &str, fields: &[(&str, &str)]| {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("_form", &form)
            .extend_pairs(fields)
            .finish();
        let (status, answer) = app.raw("POST", path, &authority, &own, &body);
        assert_eq!(status, 303, "{answer}");
    };
    let at_once = |path: &str| {
        let (status, answer) = app.raw("GET", path, &authority, &with_cookie, "");
        assert_eq!(status, 200, "{answer}");
        main_part(&answer).to_string()
    };

    // A visit, with the figures from before it computed and in use.
    let notes = "电话确认下周到厂参观";
    assert!(!precomputed(&app, "/reports/daily").contains(notes));
    post(
        "/customers/c-hd/visit",
        &[("kind", "call"), ("intent", "A"), ("notes", notes)],
    );
    let daily = at_once("/reports/daily");
    assert!(daily.contains(notes), "{daily}");
    assert!(daily.contains("当日活动 1 次"), "{daily}");
    assert_eq!(precomputed(&app, "/reports/daily"), daily);

    // A visit recorded by the `crm` command beside the app, which the app
    // is not told of: the store says it was written.
    let other = "命令行记录的回访";
    let out = Command::new(CRM)
        .arg("--data-dir")
        .arg(&app.dir)
        .args(["visit", "c-xh", "--notes", other])
        .env_remove("CRM_HOME")
        .env("CRM_PASSPHRASE", crm_tests::PASSPHRASE)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::texts(&out).1);
    let daily = at_once("/reports/daily");
    assert!(daily.contains(other), "{daily}");
    assert_eq!(precomputed(&app, "/reports/daily"), daily);

    // A sale: what the grade preview reads.
    let before = precomputed(&app, "/reports/grades");
    post(
        "/customers/c-hd/sale",
        &[("amount", "86,000"), ("product", "电机")],
    );
    let grades = at_once("/reports/grades");
    assert_ne!(grades, before, "the sale is not in the grade preview");
    assert_eq!(precomputed(&app, "/reports/grades"), grades);
    // The daily report of that day counts it too.
    assert!(at_once("/reports/daily").contains("销售额 86,000 元"));
}

#[test]
fn the_app_refuses_other_hosts_other_sites_and_strangers() {
    let app = App::start_set_up();
    let authority = app.base.strip_prefix("http://").unwrap().to_string();
    let port = authority.rsplit(':').next().unwrap();

    // The launch token is traded for the cookie.
    let token = app.url.split("t=").nth(1).unwrap().to_string();
    let (status, answer) = app.raw("GET", &format!("/?t={token}"), &authority, "", "");
    assert_eq!(status, 303, "{answer}");
    let cookie = answer
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a cookie")
        .to_string();
    assert!(answer.to_lowercase().contains("httponly"));
    assert!(answer.contains("SameSite=Strict"));
    let with_cookie = format!("Cookie: {cookie}\r\n");
    let (status, page) = app.raw("GET", "/customers/new", &authority, &with_cookie, "");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("frame-ancestors 'none'"));
    let form = page
        .split("name=\"_form\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("form token")
        .to_string();
    let new = format!("_form={form}&name=%E6%B5%8B%E8%AF%95%E5%AE%A2%E6%88%B7");

    // A page under another host name (DNS rebinding): refused.
    let (status, _) = app.raw(
        "GET",
        "/today",
        &format!("evil.example:{port}"),
        &with_cookie,
        "",
    );
    assert_eq!(status, 403);
    // No cookie: refused, and the launch token is not given away.
    let (status, body) = app.raw("GET", "/today", &authority, "", "");
    assert_eq!(status, 403);
    assert!(!body.contains(&token));
    // A POST from another site's page: refused.
    let foreign = format!("{with_cookie}Origin: http://evil.example\r\n");
    let (status, _) = app.raw("POST", "/customers/new", &authority, &foreign, &new);
    assert_eq!(status, 403);
    // A POST from this origin without the form token: refused.
    let own = format!("{with_cookie}Origin: http://{authority}\r\n");
    let (status, _) = app.raw(
        "POST",
        "/customers/new",
        &authority,
        &own,
        "name=%E6%B5%8B%E8%AF%95",
    );
    assert_eq!(status, 403);
    // Nothing was stored by any of them.
    let count = || {
        crm_tests::unlock(&app.dir);
        crm_client::Store::open(&app.dir)
            .unwrap()
            .list()
            .unwrap()
            .len()
    };
    assert_eq!(count(), 0, "a refused request stored a customer");

    // The same POST done right is accepted.
    let (status, answer) = app.raw("POST", "/customers/new", &authority, &own, &new);
    assert_eq!(status, 303, "{answer}");
    assert_eq!(count(), 1);

    // A second `crm ui` on the same laptop opens the running one.
    let second = Command::new(CRM)
        .arg("--data-dir")
        .arg(&app.dir)
        .args(["ui", "--no-open"])
        .env_remove("CRM_HOME")
        .env("CRM_PASSPHRASE", crm_tests::PASSPHRASE)
        .output()
        .unwrap();
    assert!(second.status.success());
    let said = String::from_utf8_lossy(&second.stdout);
    assert!(said.contains("已在运行"), "{said}");
    assert!(said.contains(&app.url), "{said}");
}

#[test]
fn the_offline_lock_engages_after_the_days_set_and_a_sync_lifts_it() {
    let mut srv = server();
    let settings = srv.data_dir.join("settings.json");
    std::fs::write(&settings, r#"{"offline_lock_days": 30}"#).unwrap();
    assert!(srv
        .admin(&["settings", "set", settings.to_str().unwrap()], None)
        .status
        .success());

    let zhang = signed_in(&srv, "zhang");
    zhang.sync();
    assert!(zhang.ok(&["status"]).contains("30 天内须与服务器同步"));

    // The laptop's last sync moved 31 days into the past: what the lock
    // sees after a month without a connection.
    let month_ago = chrono::Utc::now().timestamp_millis() - 31 * 86_400_000;
    {
        crm_tests::unlock(zhang.dir());
        let key = crm_client::key::remembered(zhang.dir()).unwrap();
        let conn = rusqlite::Connection::open(zhang.dir().join("crm.sqlite3")).unwrap();
        conn.execute_batch(&format!("PRAGMA key = {};", key.pragma()))
            .unwrap();
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'sync.at'",
            [month_ago.to_string()],
        )
        .unwrap();
    }
    let refused = zhang.fails(&["list"]);
    assert!(
        refused.contains("已锁定") && refused.contains("31 天"),
        "{refused}"
    );
    let refused = zhang.fails(&["visit", "c-hd", "--notes", "锁定时记录"]);
    assert!(refused.contains("已锁定"), "{refused}");
    assert!(zhang.ok(&["status"]).contains("已锁定"));

    // The app shows the lock instead of the customers, and keeps 同步.
    // The server is away, as it would be a month into a trip, so the
    // app's own sync at launch does not lift the lock under the test.
    srv.kill();
    let app = App::start_in_existing(zhang.dir());
    let authority = app.base.strip_prefix("http://").unwrap().to_string();
    let with_cookie = app.cookie();
    let (status, page) = app.raw("GET", "/customers/c-hd", &authority, &with_cookie, "");
    assert_eq!(status, 423, "{page}");
    assert!(page.contains("已锁定") && !page.contains("李建国"));
    let (status, _) = app.raw("GET", "/sync", &authority, &with_cookie, "");
    assert_eq!(status, 200);
    drop(app);

    // One sync lifts it; nothing recorded before was lost.
    srv.restart();
    zhang.sync();
    let shown = zhang.ok(&["show", "c-hd"]);
    assert!(shown.contains("李建国"), "{shown}");
    assert!(!zhang.ok(&["status"]).contains("已锁定"));
}
