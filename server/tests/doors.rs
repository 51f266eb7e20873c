//! The server's doors, tried from outside: password guessing (delays, a
//! lock, an administrator's unlock, never a hint of which accounts exist,
//! never a lock-out of others), the browser protections on every page, the
//! audit of who got in, and the password rules. Time moves by the server's
//! injectable clock, never by waiting.

mod common;

use std::net::IpAddr;

use common::{assert_error, TestServer};
use crm_shared::codes::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

const RIGHT: &str = "窗外的梧桐树又绿了一年";

/// A client whose requests come from `address` (a loopback address).
fn client_from(address: &str) -> reqwest::Client {
    common::crypto();
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn login(
    srv: &TestServer,
    client: &reqwest::Client,
    login: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(srv.url("/api/v1/login"))
        .json(&json!({"login": login, "password": password, "device_name": "测试"}))
        .send()
        .await
        .unwrap()
}

fn retry_after(r: &reqwest::Response) -> i64 {
    r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Fifty wrong guesses at one account from one address: the first few are
/// merely refused, then each must wait longer than the last, and after ten
/// in a row the account locks; the right password is refused while it is
/// locked, with the same answer an unknown login gets. Another person's
/// sign-in to another account from elsewhere goes through all along; an
/// administrator lifts the lock; no password tried is written anywhere.
#[tokio::test]
async fn fifty_guesses_slow_down_lock_the_account_and_nobody_else() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", RIGHT)
        .await;
    srv.add_user("wang", Role::Clerk, "王芳", RIGHT).await;
    let attacker = client_from("127.0.0.2");
    let colleague = client_from("127.0.0.1");

    let mut waits = Vec::new();
    let mut guesses = 0;
    while guesses < 50 {
        let r = login(&srv, &attacker, "zhang", &format!("猜的密码第{guesses}次")).await;
        match r.status() {
            StatusCode::UNAUTHORIZED => guesses += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let secs = retry_after(&r);
                let e = assert_error(r, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
                assert!(e.message.contains("后再试"), "{e:?}");
                assert!(
                    !e.message.contains("zhang") && !e.message.contains("锁定"),
                    "{e:?}"
                );
                waits.push((guesses, secs));
                if guesses == 10 {
                    // Locked: the right password is refused too, and a
                    // colleague on another account signs in at once.
                    let right = login(&srv, &attacker, "zhang", RIGHT).await;
                    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
                    let ok = login(&srv, &colleague, "wang", RIGHT).await;
                    assert_eq!(ok.status(), StatusCode::OK, "another account, elsewhere");
                }
                srv.clock.advance(secs * 1000);
            }
            other => panic!("guess {guesses}: HTTP {other}"),
        }
    }
    // Free guesses first, then waits that grow, then the lock of 30 minutes.
    let before_lock: Vec<i64> = waits
        .iter()
        .filter(|(g, _)| *g < 10)
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(waits.first().map(|w| w.0), Some(5), "{waits:?}");
    assert!(before_lock.windows(2).all(|w| w[1] > w[0]), "{waits:?}");
    let lock = waits
        .iter()
        .filter(|(g, _)| *g == 10)
        .map(|w| w.1)
        .max()
        .unwrap();
    assert!((29 * 60..=30 * 60).contains(&lock), "{waits:?}");

    // An unknown login earns the very same answers: nothing tells which
    // accounts exist.
    for i in 0..10 {
        loop {
            let r = login(&srv, &attacker, "nobody", &format!("x{i}")).await;
            if r.status() != StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
                break;
            }
            srv.clock.advance(retry_after(&r) * 1000);
        }
    }
    let r = login(&srv, &colleague, "nobody", "anything at all").await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "locked like a real one"
    );

    // Locked now (the 50th guess locked it again): an administrator sees it
    // and lifts it; the right password then works at once.
    let r = login(&srv, &colleague, "zhang", RIGHT).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let out = srv.cli(&["user", "locked"], None);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("zhang") && listed.contains("nobody"),
        "{listed}"
    );
    let out = srv.cli(&["user", "unlock", "zhang"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = login(&srv, &colleague, "zhang", RIGHT).await;
    assert_eq!(r.status(), StatusCode::OK);

    // The audit names the failures, the lock and the unlock, and holds no
    // password that was tried.
    let out = srv.cli(
        &[
            "audit", "--user", "zhang", "--format", "json", "--limit", "1000",
        ],
        None,
    );
    let audit: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = audit.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "sign_in_failed").count(),
        50,
        "{kinds:?}"
    );
    for k in ["locked", "unlocked", "sign_in"] {
        assert!(kinds.contains(&k), "{k}: {kinds:?}");
    }
    assert!(audit
        .iter()
        .filter(|e| e["kind"] == "sign_in_failed")
        .all(|e| e["address"] == "127.0.0.2"));
    let all = srv.cli(&["audit", "--format", "csv", "--limit", "100000"], None);
    let text = String::from_utf8_lossy(&all.stdout);
    assert!(
        !text.contains("猜的密码") && !text.contains(RIGHT),
        "no password in the audit"
    );
    srv.stop().await;
}

/// Passwords: ten characters at least, none of the commonly guessed ones;
/// the holder changes theirs; an administrator's reset must be replaced
/// at the next sign-in, before the account can be used.
#[tokio::test]
async fn weak_passwords_are_refused_and_a_reset_must_be_changed_first() {
    let srv = TestServer::plain().await;
    for weak in ["短密码12", "1234567890", "qwertyuiop", "zhangwei2026!"] {
        let out = srv.cli(
            &[
                "user",
                "add",
                "zhangwei",
                "--role",
                "salesperson",
                "--name",
                "张伟",
                "--password-stdin",
            ],
            Some(&format!("{weak}\n")),
        );
        assert!(!out.status.success(), "{weak} accepted");
    }
    let out = srv.cli(
        &[
            "user",
            "add",
            "zhangwei",
            "--role",
            "salesperson",
            "--name",
            "张伟",
            "--password-stdin",
        ],
        Some(&format!("{RIGHT}\n")),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let client = client_from("127.0.0.1");
    let change = |current: &str, new: &str| {
        let (client, url) = (client.clone(), srv.url("/api/v1/password"));
        let body = json!({"login": "zhangwei", "current": current, "new": new});
        async move { client.post(url).json(&body).send().await.unwrap() }
    };
    let e = assert_error(
        change(RIGHT, "abc123456").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(e.message.contains("10"), "{e:?}");
    assert_eq!(
        change(RIGHT, "我家门前有两棵枣树呀").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        login(&srv, &client, "zhangwei", RIGHT).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&srv, &client, "zhangwei", "我家门前有两棵枣树呀")
            .await
            .status(),
        StatusCode::OK
    );

    // The reset: the administrator's password works only to choose a new one.
    let out = srv.cli(
        &["user", "passwd", "zhangwei", "--password-stdin"],
        Some("管理员给的临时密码一次\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = login(&srv, &client, "zhangwei", "管理员给的临时密码一次").await;
    assert_error(r, StatusCode::FORBIDDEN, "password_change_required").await;
    assert_eq!(
        change("管理员给的临时密码一次", "只有我自己知道的新密码")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        login(&srv, &client, "zhangwei", "只有我自己知道的新密码")
            .await
            .status(),
        StatusCode::OK
    );

    let out = srv.cli(&["audit", "--user", "zhangwei", "--format", "json"], None);
    let audit: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = audit.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in [
        "user_added",
        "password_changed",
        "password_reset",
        "sign_in",
    ] {
        assert!(kinds.contains(&k), "{k}: {kinds:?}");
    }
    let reset = audit
        .iter()
        .find(|e| e["kind"] == "password_reset")
        .unwrap();
    assert_eq!(reset["by_login"], "crm-server");
    srv.stop().await;
}

/// Signs in through the console's form; returns the session cookie.
async fn console_session(srv: &TestServer, client: &reqwest::Client, login: &str) -> String {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("login", login)
        .append_pair("password", RIGHT)
        .finish();
    let r = client
        .post(srv.url("/console/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "console sign-in as {login}"
    );
    let set = r.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

/// Every console page and file, signed in or not, the answers to its
/// forms (redirects and forms shown again), and the API: a policy
/// that loads nothing from elsewhere and forbids framing, HSTS over TLS,
/// nosniff, a strict referrer policy, and no-store wherever customer data
/// may be (everything but the stylesheet).
#[tokio::test]
async fn every_console_page_and_file_carries_the_browser_protections() {
    let srv = TestServer::https().await;
    srv.add_user("wang", Role::Clerk, "王芳", RIGHT).await;
    srv.add_user("root", Role::Admin, "管理员", RIGHT).await;
    srv.add_user("zhang", Role::Salesperson, "张伟", RIGHT)
        .await;
    srv.push_cards(
        "zhang",
        RIGHT,
        &[crm_shared::Customer {
            id: "c1".into(),
            name: "嘉兴南湖电子有限公司".into(),
            salesperson: "zhang".into(),
            ..Default::default()
        }],
    )
    .await;
    let client = common::browser_trusting(&std::fs::read(srv.data.tls_cert_path()).unwrap());
    let clerk = console_session(&srv, &client, "wang").await;
    let admin = console_session(&srv, &client, "root").await;
    let pages: &[(&str, Option<&str>)] = &[
        ("/", None),
        ("/console/login", None),
        ("/console/login?next=%2Fconsole%2Fgrades", None),
        ("/console/style.css", None),
        ("/console/", None),
        ("/console/lang?to=en", None),
        ("/console/no-such-page", None),
        ("/console/no-such-page", Some(&clerk)),
        ("/console/customers/no-such-customer", Some(&clerk)),
        ("/console/customers", Some(&clerk)),
        ("/console/customers/c1", Some(&clerk)),
        ("/console/conflicts", Some(&clerk)),
        ("/console/credit", Some(&clerk)),
        ("/console/grades", Some(&clerk)),
        ("/console/warnings", Some(&clerk)),
        ("/console/followups", Some(&clerk)),
        ("/console/daily?salesperson=zhang", Some(&clerk)),
        ("/console/complaints", Some(&clerk)),
        ("/console/import", Some(&clerk)),
        ("/console/devices", Some(&clerk)),
        ("/console/password", Some(&clerk)),
        ("/console/export/customers.xlsx", Some(&clerk)),
        ("/console/export/grades.csv", Some(&clerk)),
        ("/console/backup", Some(&admin)),
        ("/console/security", Some(&admin)),
        ("/console/security/export/csv", Some(&admin)),
        ("/status", None),
        ("/api/v1/whoami", None),
        ("/api/v1/no-such-route", None),
    ];
    let mut wrong = Vec::new();
    for (path, cookie) in pages {
        let mut req = client.get(srv.url(path));
        if let Some(c) = cookie {
            req = req.header("cookie", *c);
        }
        let r = req.send().await.unwrap();
        let cacheable = *path == "/console/style.css";
        missing_protections(&format!("GET {path}"), &r, true, cacheable, &mut wrong);
    }
    // Answers to forms: a sign-in (a redirect), refused ones shown again,
    // a signing out; and the API's refusal.
    let form = |fields: &[(&str, &str)]| -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish()
    };
    let token = csrf_on(&srv, &client, &clerk, "/console/password").await;
    let ending = console_session(&srv, &client, "wang").await;
    let ending_token = csrf_on(&srv, &client, &ending, "/console/customers").await;
    let posts: Vec<(&str, &str, Option<&str>, String, StatusCode)> = vec![
        (
            "/console/login",
            "signed in",
            None,
            form(&[("login", "wang"), ("password", RIGHT)]),
            StatusCode::SEE_OTHER,
        ),
        (
            "/console/login",
            "wrong password",
            None,
            form(&[("login", "wang"), ("password", "不是这个密码呀")]),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/console/password",
            "new passwords differ",
            Some(&clerk),
            form(&[
                ("_csrf", &token),
                ("current", RIGHT),
                ("new", "一个新的好密码啊"),
                ("again", "另一个新的好密码"),
            ]),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/console/password",
            "no form token",
            Some(&clerk),
            form(&[("current", RIGHT)]),
            StatusCode::FORBIDDEN,
        ),
        (
            "/console/logout",
            "signed out",
            Some(&ending),
            form(&[("_csrf", &ending_token)]),
            StatusCode::SEE_OTHER,
        ),
    ];
    for (path, what, cookie, body, status) in posts {
        let mut req = client
            .post(srv.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), status, "POST {path} ({what})");
        missing_protections(
            &format!("POST {path} ({what})"),
            &r,
            true,
            false,
            &mut wrong,
        );
    }
    let r = login(&srv, &client, "wang", "不是这个密码呀").await;
    missing_protections("POST /api/v1/login", &r, true, false, &mut wrong);
    assert!(
        wrong.is_empty(),
        "missing protections:\n  {}",
        wrong.join("\n  ")
    );
    srv.stop().await;
}

/// What `r` lacks of the browser protections, added to `wrong`: a policy
/// that loads nothing from elsewhere and forbids framing, nosniff, a
/// strict referrer policy, no-store unless `cacheable`, and HSTS exactly
/// when `tls`.
fn missing_protections(
    what: &str,
    r: &reqwest::Response,
    tls: bool,
    cacheable: bool,
    wrong: &mut Vec<String>,
) {
    let h = r.headers();
    let get = |name: &str| h.get(name).map(|v| v.to_str().unwrap().to_string());
    let csp = get("content-security-policy").unwrap_or_default();
    let mut check = |ok: bool, missing: &str| {
        if !ok {
            wrong.push(format!("{what} ({}): {missing}", r.status()));
        }
    };
    check(csp.contains("default-src 'self'"), "CSP default-src");
    check(
        csp.contains("frame-ancestors 'none'"),
        "CSP frame-ancestors",
    );
    check(!csp.contains("unsafe-inline"), "CSP without unsafe-inline");
    check(
        get("x-frame-options").as_deref() == Some("DENY"),
        "X-Frame-Options",
    );
    check(
        get("x-content-type-options").as_deref() == Some("nosniff"),
        "nosniff",
    );
    check(
        get("referrer-policy").as_deref() == Some("same-origin"),
        "Referrer-Policy",
    );
    let hsts = get("strict-transport-security");
    if tls {
        check(hsts.is_some_and(|v| v.contains("max-age=")), "HSTS");
    } else {
        check(hsts.is_none(), "no HSTS over plain HTTP");
    }
    let cache = get("cache-control").unwrap_or_default();
    if cacheable {
        check(cache.contains("max-age"), "stylesheet cacheable");
    } else {
        check(cache == "no-store", "Cache-Control: no-store");
    }
}

/// Over plain HTTP (`--insecure-plain-http`, for a test bench) the same
/// protections, but no HSTS: it would tell a browser to insist on an
/// HTTPS this server does not speak.
#[tokio::test]
async fn plain_http_answers_carry_the_protections_but_no_hsts() {
    let srv = TestServer::plain().await;
    let client = client_from("127.0.0.1");
    let mut wrong = Vec::new();
    for path in [
        "/",
        "/console/login",
        "/console/no-such-page",
        "/api/v1/whoami",
    ] {
        let r = client.get(srv.url(path)).send().await.unwrap();
        missing_protections(&format!("GET {path}"), &r, false, false, &mut wrong);
    }
    assert!(wrong.is_empty(), "{wrong:?}");
    srv.stop().await;
}

/// The audit of access after a day at the doors: a clerk signs in to the
/// console, someone fails to sign in, an administrator revokes a laptop
/// and exports customers; the administrator reads all of it in the console
/// and downloads it, and the download itself is recorded.
#[tokio::test]
async fn the_audit_tells_who_got_in_from_where_and_what_they_did() {
    let srv = TestServer::https().await;
    srv.add_user("wang", Role::Clerk, "王芳", RIGHT).await;
    srv.add_user("root", Role::Admin, "管理员", RIGHT).await;
    srv.add_user("zhang", Role::Salesperson, "张伟", RIGHT)
        .await;
    let client = common::browser_trusting(&std::fs::read(srv.data.tls_cert_path()).unwrap());
    let laptop = login(&srv, &client, "zhang", RIGHT).await;
    let device: Value = laptop.json().await.unwrap();
    let clerk = console_session(&srv, &client, "wang").await;
    let failed = login(&srv, &client, "wang", "不对的密码再试一次").await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    let out = srv.cli(
        &["device", "revoke", device["device_id"].as_str().unwrap()],
        None,
    );
    assert!(out.status.success());
    let export = client
        .get(srv.url("/console/export/customers.csv"))
        .header("cookie", &clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);

    let admin = console_session(&srv, &client, "root").await;
    let page = client
        .get(srv.url("/console/security"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for seen in [
        "登录",
        "登录失败",
        "停用设备",
        "导出",
        "客户列表",
        "127.0.0.1",
        "zhang",
        "wang",
    ] {
        assert!(page.contains(seen), "{seen} not on the audit page");
    }
    assert!(
        !page.contains("不对的密码"),
        "a password tried is never written"
    );
    // Filtered by person and kind, and exported.
    let csv = client
        .get(srv.url("/console/security/export/csv?user=wang&kind=sign_in_failed"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 2, "header and the one failure: {csv}");
    assert!(
        lines[1].contains("登录失败") && lines[1].contains("密码错误"),
        "{csv}"
    );
    // Not for a clerk.
    let r = client
        .get(srv.url("/console/security"))
        .header("cookie", &clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let out = srv.cli(&["audit", "--kind", "export", "--format", "json"], None);
    let exports: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        exports.len(),
        2,
        "the clerk's export and the admin's: {exports:?}"
    );
    srv.stop().await;
}

/// Wrong passwords for `who` from `client` until the account locks,
/// moving the clock on past every shorter wait; returns the lock's length
/// in seconds as the answer gives it.
async fn fail_until_locked(srv: &TestServer, client: &reqwest::Client, who: &str) -> i64 {
    for i in 0.. {
        let r = login(srv, client, who, &format!("还是猜错了{i}")).await;
        match r.status() {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS if retry_after(&r) > 20 * 60 => return retry_after(&r),
            StatusCode::TOO_MANY_REQUESTS => srv.clock.advance(retry_after(&r) * 1000),
            other => panic!("guess {i}: HTTP {other}"),
        }
    }
    unreachable!()
}

/// The kinds of `who`'s audit entries, oldest first.
fn audit_kinds(srv: &TestServer, who: &str) -> Vec<String> {
    let out = srv.cli(
        &[
            "audit", "--user", who, "--format", "json", "--limit", "1000",
        ],
        None,
    );
    let audit: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut kinds: Vec<String> = audit
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.reverse();
    kinds
}

/// A right password wipes the slate: typos now and then, each followed by
/// a good sign-in, never add up to a delay or a lock. And every lock is
/// written down when it starts: the first, the one the next failure starts
/// after it ran out, and one after an administrator's unlock.
#[tokio::test]
async fn a_right_password_forgives_typos_and_every_lock_is_audited() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", RIGHT)
        .await;
    let laptop = client_from("127.0.0.3");
    for round in 0..2 {
        for i in 0..4 {
            let r = login(&srv, &laptop, "zhang", &format!("打错了{round}-{i}")).await;
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "round {round}, typo {i}"
            );
        }
        let r = login(&srv, &laptop, "zhang", RIGHT).await;
        assert_eq!(r.status(), StatusCode::OK, "round {round}");
    }
    let r = login(&srv, &laptop, "zhang", "又打错了一次").await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "no delay after a success"
    );

    let first = fail_until_locked(&srv, &client_from("127.0.0.4"), "zhang").await;
    srv.clock.advance(first * 1000 + 1000);
    let guesser = client_from("127.0.0.5");
    let r = login(&srv, &guesser, "zhang", "锁定过后又猜一次").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = login(&srv, &guesser, "zhang", RIGHT).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "locked again");
    let out = srv.cli(&["user", "unlock", "zhang"], None);
    assert!(out.status.success());
    fail_until_locked(&srv, &client_from("127.0.0.6"), "zhang").await;

    let kinds = audit_kinds(&srv, "zhang");
    let locks = kinds.iter().filter(|k| *k == "locked").count();
    assert_eq!(locks, 3, "{kinds:?}");
    srv.stop().await;
}

/// Thirty wrong guesses sent at once at one account: each is counted
/// before its password is checked, so a burst gets no more checks than the
/// same guesses one after another. The first burst gets the free ones, each
/// burst after a wait one more, until the account locks; the rest are
/// answered 429 at once, without a check. The clock stands still, so how
/// fast the test runs does not matter.
#[tokio::test]
async fn a_burst_of_guesses_gets_no_more_checks_than_guesses_in_turn() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", RIGHT)
        .await;
    srv.clock.freeze();
    let attacker = client_from("127.0.0.7");
    let mut checked = Vec::new();
    for burst in 0..8 {
        let mut guesses = tokio::task::JoinSet::new();
        for i in 0..30 {
            let (client, url) = (attacker.clone(), srv.url("/api/v1/login"));
            let body = json!({"login": "zhang", "password": format!("一起猜{burst}-{i}"), "device_name": "测试"});
            guesses.spawn(async move { client.post(url).json(&body).send().await.unwrap() });
        }
        let (mut refused, mut wait) = (0, 0);
        for r in guesses.join_all().await {
            match r.status() {
                StatusCode::UNAUTHORIZED => refused += 1,
                StatusCode::TOO_MANY_REQUESTS => wait = wait.max(retry_after(&r)),
                other => panic!("burst {burst}: HTTP {other}"),
            }
        }
        checked.push(refused);
        if wait > 20 * 60 {
            break;
        }
        srv.clock.advance(wait * 1000);
    }
    // Five free guesses, then one after each wait: 1 s, 2 s, 4 s, 8 s, 16 s.
    assert_eq!(
        checked,
        [5, 1, 1, 1, 1, 1, 0],
        "passwords checked per burst"
    );
    let r = login(&srv, &client_from("127.0.0.1"), "zhang", RIGHT).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "locked");
    let kinds = audit_kinds(&srv, "zhang");
    let failed = kinds.iter().filter(|k| *k == "sign_in_failed").count();
    assert_eq!(failed, 10, "only checked guesses are failures: {kinds:?}");
    srv.stop().await;
}

/// The form token on a console page, as a browser would send it back.
async fn csrf_on(srv: &TestServer, client: &reqwest::Client, cookie: &str, path: &str) -> String {
    let page = client
        .get(srv.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = page.find("name=\"_csrf\" value=\"").expect("a form token") + 20;
    page[start..][..64].to_string()
}

/// Posts a console form with its token.
async fn post_form(
    srv: &TestServer,
    client: &reqwest::Client,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    client
        .post(srv.url(path))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A console session that ends is written down like a revoked laptop: one
/// signed out, one left unused past the limit and ended at its next use.
#[tokio::test]
async fn a_console_session_that_ends_is_in_the_audit() {
    let srv = TestServer::plain().await;
    srv.add_user("wang", Role::Clerk, "王芳", RIGHT).await;
    let browser = client_from("127.0.0.8");
    let first = console_session(&srv, &browser, "wang").await;
    let token = csrf_on(&srv, &browser, &first, "/console/customers").await;
    let r = post_form(
        &srv,
        &browser,
        &first,
        "/console/logout",
        &[("_csrf", &token)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let second = console_session(&srv, &browser, "wang").await;
    let r = browser
        .get(srv.url("/console/customers"))
        .header("cookie", &second)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    srv.clock
        .advance(crm_server::console::IDLE_LIMIT_MS + 60_000);
    let r = browser
        .get(srv.url("/console/customers"))
        .header("cookie", &second)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "ended for being idle");

    let out = srv.cli(
        &[
            "audit",
            "--user",
            "wang",
            "--kind",
            "device_revoked",
            "--format",
            "json",
        ],
        None,
    );
    let ended: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let details: Vec<&str> = ended
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(ended.len(), 2, "{ended:?}");
    assert!(
        details[0].contains("超时") && details[1].contains("退出"),
        "{details:?}"
    );
    assert!(ended
        .iter()
        .all(|e| e["address"] == "127.0.0.8" && e["device_id"].is_string()));
    srv.stop().await;
}

/// The console's sign-in form, refused too often: 429, the form again with
/// when to try, the login kept, and Retry-After; after that wait the right
/// password opens the console.
#[tokio::test]
async fn the_console_sign_in_form_says_when_to_try_again() {
    let srv = TestServer::plain().await;
    srv.add_user("wang", Role::Clerk, "王芳", RIGHT).await;
    srv.clock.freeze();
    let browser = client_from("127.0.0.9");
    let sign_in = |password: &str| {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("login", "wang")
            .append_pair("password", password)
            .finish();
        browser
            .post(srv.url("/console/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    for i in 0..5 {
        let r = sign_in(&format!("打错的密码{i}")).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "typo {i}");
    }
    let r = sign_in(RIGHT).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let secs = retry_after(&r);
    assert!(secs >= 1, "{secs}");
    let page = r.text().await.unwrap();
    assert!(page.contains("action=\"/console/login\""), "{page}");
    assert!(
        page.contains("后再试") && page.contains("value=\"wang\""),
        "{page}"
    );
    srv.clock.advance(secs * 1000);
    let r = sign_in(RIGHT).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    srv.stop().await;
}

/// The unlock button on the console's security page: an administrator's
/// lifts the lock (and is written down as theirs); a clerk's is refused
/// and the lock stays.
#[tokio::test]
async fn an_administrator_unlocks_from_the_console_and_a_clerk_cannot() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", RIGHT)
        .await;
    srv.add_user("wang", Role::Clerk, "王芳", RIGHT).await;
    srv.add_user("root", Role::Admin, "管理员", RIGHT).await;
    fail_until_locked(&srv, &client_from("127.0.0.10"), "zhang").await;
    let office = client_from("127.0.0.1");
    let clerk = console_session(&srv, &office, "wang").await;
    let admin = console_session(&srv, &office, "root").await;
    let page = office
        .get(srv.url("/console/security"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("action=\"/console/security/unlock/zhang\""),
        "the lock and its button are shown"
    );

    let token = csrf_on(&srv, &office, &clerk, "/console/customers").await;
    let unlock = "/console/security/unlock/zhang";
    let r = post_form(&srv, &office, &clerk, unlock, &[("_csrf", &token)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = login(&srv, &office, "zhang", RIGHT).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "still locked");

    let token = csrf_on(&srv, &office, &admin, "/console/security").await;
    let r = post_form(&srv, &office, &admin, unlock, &[("_csrf", &token)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The page it leads to says so; the same words without this session's
    // seal (a link from elsewhere) are not shown.
    let page = |path: String| {
        let office = &office;
        let admin = &admin;
        let url = srv.url(&path);
        async move {
            office
                .get(url)
                .header("cookie", admin)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(page(to).await.contains("已解除 zhang 的登录锁定"));
    let forged = "/console/security?ok=%E5%B7%B2%E8%A7%A3%E9%99%A4+li+%E7%9A%84%E7%99%BB%E5%BD%95%E9%94%81%E5%AE%9A&seal=0";
    assert!(!page(forged.to_string()).await.contains("已解除 li"));
    let r = login(&srv, &office, "zhang", RIGHT).await;
    assert_eq!(r.status(), StatusCode::OK, "unlocked");

    let out = srv.cli(
        &[
            "audit", "--user", "zhang", "--kind", "unlocked", "--format", "json",
        ],
        None,
    );
    let unlocked: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(unlocked.len(), 1, "{unlocked:?}");
    assert_eq!(unlocked[0]["by_login"], "root");
    assert_eq!(unlocked[0]["address"], "127.0.0.1");
    srv.stop().await;
}

/// `crm-server audit --since/--until` keeps the entries of those days (in
/// local time, both ends included), and refuses a day it cannot read.
#[tokio::test]
async fn the_audit_command_keeps_the_days_asked_for() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", RIGHT)
        .await;
    let laptop = client_from("127.0.0.11");
    let r = login(&srv, &laptop, "zhang", "三天前打错的").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    srv.clock.advance(3 * 24 * 60 * 60 * 1000);
    let r = login(&srv, &laptop, "zhang", "今天又打错了").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let entries = |extra: &[&str]| -> Vec<Value> {
        let mut args = vec!["audit", "--user", "zhang", "--format", "json"];
        args.extend_from_slice(extra);
        let out = srv.cli(&args, None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let all = entries(&[]);
    assert_eq!(all.len(), 2, "{all:?}");
    let day = |e: &Value| {
        chrono::DateTime::from_timestamp_millis(e["at"].as_i64().unwrap())
            .unwrap()
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d")
            .to_string()
    };
    let (later, earlier) = (day(&all[0]), day(&all[1]));
    let only = |found: Vec<Value>| -> Vec<String> { found.iter().map(day).collect() };
    assert_eq!(only(entries(&["--since", &later])), [later.as_str()]);
    assert_eq!(only(entries(&["--until", &earlier])), [earlier.as_str()]);
    assert_eq!(
        only(entries(&["--since", &earlier, "--until", &later])),
        [later.as_str(), earlier.as_str()]
    );
    let out = srv.cli(&["audit", "--since", "上周三"], None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--since"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    srv.stop().await;
}
