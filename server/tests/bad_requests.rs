//! Broken, hostile or unlucky requests get a clear 4xx, change nothing, and
//! never see the server's insides.

mod common;

use common::{assert_error, device_count, TestServer};
use crm_server::config::Limits;
use crm_shared::codes::Role;
use reqwest::StatusCode;

async fn post_login_body(server: &TestServer, body: &'static str) -> reqwest::Response {
    server
        .client
        .post(server.url("/api/v1/login"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn garbage_and_truncated_json_get_400_and_nothing_is_stored() {
    let server = TestServer::plain().await;
    server
        .add_user("zhangsan", Role::Salesperson, "张三", "业务员的密码1")
        .await;

    for body in [
        "not json at all",
        r#"{"login":"zhangsan","password":"业务员的密码1","device_na"#,
        r#"{"login":"zhangsan","password":"业务员的密码1"}"#,
        r#"{"login":"zhangsan","password":12,"device_name":"笔记本"}"#,
        "",
        "\u{0}\u{1}\u{2}",
    ] {
        let error = assert_error(
            post_login_body(&server, body).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        assert!(error.message.contains("请求体"), "{error:?}");
    }
    let empty_name = post_login_body(
        &server,
        r#"{"login":"zhangsan","password":"业务员的密码1","device_name":"  "}"#,
    )
    .await;
    assert_error(empty_name, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(device_count(&server.db).await, 0);
    server.stop().await;
}

#[tokio::test]
async fn json_without_its_content_type_gets_415() {
    let server = TestServer::plain().await;
    let response = server
        .client
        .post(server.url("/api/v1/login"))
        .body(r#"{"login":"a","password":"b","device_name":"c"}"#)
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn oversized_body_gets_413_and_nothing_is_stored() {
    let server = TestServer::plain_with(Limits {
        body_limit: 1024,
        ..Limits::default()
    })
    .await;
    server
        .add_user("zhangsan", Role::Salesperson, "张三", "业务员的密码1")
        .await;
    let huge_name = "笔".repeat(2000);
    let response = server
        .client
        .post(server.url("/api/v1/login"))
        .json(&serde_json::json!({
            "login": "zhangsan",
            "password": "业务员的密码1",
            "device_name": huge_name,
        }))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(device_count(&server.db).await, 0);
    server.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_json() {
    let server = TestServer::plain().await;
    let missing = server
        .client
        .get(server.url("/api/v1/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert_error(missing, StatusCode::NOT_FOUND, "not_found").await;
    let wrong_method = server
        .client
        .get(server.url("/api/v1/login"))
        .send()
        .await
        .unwrap();
    assert_error(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_fault_inside_the_server_is_a_bare_500() {
    let server = TestServer::plain().await;
    // A row this program cannot read: a role code from some future version.
    let conn = rusqlite::Connection::open(server.data.db_path()).unwrap();
    conn.execute(
        "INSERT INTO users (login, display_name, role, password_hash, created_at)
         VALUES ('future', '未来', 'regional_director', 'x', 0)",
        [],
    )
    .unwrap();
    drop(conn);

    let body = assert_error(
        server.login("future", "whatever-password").await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
    )
    .await;
    assert_eq!(body.message, "内部错误");
    assert!(!body.message.contains("regional_director"));
    server.stop().await;
}

#[tokio::test]
async fn report_queries_naming_no_one_or_far_off_days_get_400() {
    let server = TestServer::plain().await;
    for (login, role) in [
        ("wang", Role::Clerk),
        ("m1", Role::Manager),
        ("zhang", Role::Salesperson),
    ] {
        server.add_user(login, role, login, "报表测试的密码1").await;
    }
    let token = |login: &'static str| {
        let server = &server;
        async move {
            let r = server.login(login, "报表测试的密码1").await;
            r.json::<crm_shared::api::LoginResponse>()
                .await
                .unwrap()
                .token
        }
    };
    let get = |path: String, token: String| {
        let server = &server;
        async move {
            server
                .client
                .get(server.url(&path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let (wang, m1, zhang) = (token("wang").await, token("m1").await, token("zhang").await);

    // The daily report is one person's day: head office must say whose.
    for t in [&wang, &m1] {
        for q in ["?salesperson=", "?salesperson=%20%20", ""] {
            let e = assert_error(
                get(format!("/api/v1/reports/daily{q}"), t.clone()).await,
                StatusCode::BAD_REQUEST,
                "bad_request",
            )
            .await;
            assert!(e.message.contains("业务员"), "{e:?}");
        }
    }
    // A salesperson leaving it blank gets their own.
    let r = get("/api/v1/reports/daily?salesperson=".into(), zhang.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["salesperson"], "zhang");

    // Days no one means, and days beyond any calendar, name the problem.
    for day in [
        "%2B262142-12-31",
        "-262143-01-01",
        "%2B262143-12-31",
        "-262144-01-01",
        "1899-12-31",
        "10000-01-01",
    ] {
        for path in [
            "/api/v1/reports/daily?salesperson=zhang&",
            "/api/v1/grades?",
            "/api/v1/warnings?",
            "/api/v1/followups?",
            "/api/v1/reviews/due?",
        ] {
            let e = assert_error(
                get(format!("{path}day={day}"), wang.clone()).await,
                StatusCode::BAD_REQUEST,
                "bad_request",
            )
            .await;
            assert!(e.message.contains("日期"), "{path}{day}: {e:?}");
        }
        let apply = server
            .client
            .post(server.url("/api/v1/grades/apply"))
            .bearer_auth(&wang)
            .json(&serde_json::json!({"day": day.replace("%2B", "+")}))
            .send()
            .await
            .unwrap();
        assert_error(apply, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    server.stop().await;
}

/// Every endpoint head office or an integrator calls reads its body
/// strictly: an unknown field (a typo, or junk such as `{"id":"x"}`) or a
/// missing one gets a 400 naming it, and nothing is stored. Fuzzing once
/// created reviews with no tier from `{"id":"x"}`.
#[tokio::test]
async fn every_body_with_unknown_or_missing_fields_gets_400_and_stores_nothing() {
    let server = TestServer::plain().await;
    server
        .add_user("zhang", Role::Salesperson, "张伟", "严格校验的密码1")
        .await;
    server
        .add_user("wang", Role::Clerk, "王芳", "严格校验的密码1")
        .await;
    server
        .add_user("root", Role::Admin, "管理员", "严格校验的密码1")
        .await;
    let card = crm_shared::Customer {
        id: "c1".into(),
        name: "上海华东机电有限公司".into(),
        salesperson: "zhang".into(),
        ..Default::default()
    };
    server
        .push_cards("zhang", "严格校验的密码1", std::slice::from_ref(&card))
        .await;
    let token = |login: &'static str| {
        let server = &server;
        async move {
            let r = server.login(login, "严格校验的密码1").await;
            r.json::<crm_shared::api::LoginResponse>()
                .await
                .unwrap()
                .token
        }
    };
    let (wang, root) = (token("wang").await, token("root").await);
    let card_of = || async {
        server
            .client
            .get(server.url("/api/v1/customers/c1"))
            .bearer_auth(&wang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let settings_of = || async {
        server
            .client
            .get(server.url("/api/v1/settings"))
            .bearer_auth(&wang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let (card_before, settings_before) = (card_of().await, settings_of().await);
    let devices_before = device_count(&server.db).await;
    let mut settings: serde_json::Value = serde_json::from_str(&settings_before).unwrap();
    settings = settings["settings"].clone();
    settings["grading"]["weights_typo"] = serde_json::json!(1);

    let cases: Vec<(&str, &str, &str, serde_json::Value, &str)> = vec![
        (
            "POST",
            "/api/v1/customers/c1/review",
            &wang,
            serde_json::json!({"id": "x"}),
            "id",
        ),
        (
            "POST",
            "/api/v1/customers/c1/review",
            &wang,
            serde_json::json!({"tier": "special", "note": "拼错的字段"}),
            "note",
        ),
        (
            "POST",
            "/api/v1/customers/c1/resolve",
            &wang,
            serde_json::json!({"path": "remarks", "value": "x", "reason": "核对", "force": true}),
            "force",
        ),
        (
            "POST",
            "/api/v1/customers/c1/resolve",
            &wang,
            serde_json::json!({"path": "remarks", "value": "x"}),
            "reason",
        ),
        (
            "POST",
            "/api/v1/credit-requests/c1/cr1/decide",
            &wang,
            serde_json::json!({"approve": true, "limit": 1}),
            "limit",
        ),
        (
            "POST",
            "/api/v1/credit-requests/c1/cr1/decide",
            &wang,
            serde_json::json!({"comment": "同意"}),
            "approve",
        ),
        (
            "POST",
            "/api/v1/grades/apply",
            &wang,
            serde_json::json!({"dya": "2026-01-01"}),
            "dya",
        ),
        ("PUT", "/api/v1/settings", &root, settings, "weights_typo"),
        (
            "POST",
            "/api/v1/login",
            "",
            serde_json::json!({"login": "zhang", "password": "严格校验的密码1", "device_name": "笔记本", "remember": true}),
            "remember",
        ),
        (
            "POST",
            "/api/v1/password",
            "",
            serde_json::json!({"login": "zhang", "current": "严格校验的密码1", "new": "全新的一个长密码2", "confirm": "全新的一个长密码2"}),
            "confirm",
        ),
        (
            "POST",
            "/api/v1/password",
            "",
            serde_json::json!({"login": "zhang", "current": "严格校验的密码1"}),
            "new",
        ),
    ];
    for (method, path, token, body, field) in cases {
        let mut req = match method {
            "PUT" => server.client.put(server.url(path)),
            _ => server.client.post(server.url(path)),
        };
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        let e = assert_error(
            req.json(&body).send().await.unwrap(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        assert!(e.message.contains(field), "{path} {body}: {e:?}");
    }
    assert_eq!(card_of().await, card_before, "no review, no resolution");
    assert_eq!(settings_of().await, settings_before);
    assert_eq!(device_count(&server.db).await, devices_before, "no login");
    assert_eq!(
        server.login("zhang", "严格校验的密码1").await.status(),
        StatusCode::OK,
        "the password is unchanged"
    );
    server.stop().await;
}

/// `GET /api/v1/customers`: a page of the caller's customers for an
/// integrator, a salesperson's own only, with a clear 400 for a bad page.
#[tokio::test]
async fn customers_are_listed_a_page_at_a_time_and_only_ones_own() {
    let server = TestServer::plain().await;
    for (login, role) in [
        ("zhang", Role::Salesperson),
        ("li", Role::Salesperson),
        ("wang", Role::Clerk),
    ] {
        server.add_user(login, role, login, "列表测试的密码1").await;
    }
    let cards = |who: &str, n: usize| -> Vec<crm_shared::Customer> {
        (0..n)
            .map(|i| crm_shared::Customer {
                id: format!("{who}-{i:02}"),
                name: format!("{who} 的第{i:02}家客户有限公司"),
                salesperson: who.into(),
                ..Default::default()
            })
            .collect()
    };
    server
        .push_cards("zhang", "列表测试的密码1", &cards("zhang", 5))
        .await;
    server
        .push_cards("li", "列表测试的密码1", &cards("li", 2))
        .await;
    let token = |login: &'static str| {
        let server = &server;
        async move {
            let r = server.login(login, "列表测试的密码1").await;
            r.json::<crm_shared::api::LoginResponse>()
                .await
                .unwrap()
                .token
        }
    };
    let get = |path: &'static str, token: String| {
        let server = &server;
        async move {
            server
                .client
                .get(server.url(path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let (zhang, wang) = (token("zhang").await, token("wang").await);
    let page: serde_json::Value = get("/api/v1/customers?limit=3", zhang.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["customers"].as_array().unwrap().len(), 3, "{page}");
    assert_eq!(page["more"], true);
    let rest: serde_json::Value = get("/api/v1/customers?limit=3&offset=3", zhang.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["customers"].as_array().unwrap().len(), 2, "{rest}");
    assert_eq!(rest["more"], false);
    // A salesperson asking for another's sees only their own all the same.
    let own: serde_json::Value = get("/api/v1/customers?salesperson=li", zhang.clone())
        .await
        .json()
        .await
        .unwrap();
    assert!(
        own["customers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["salesperson"] == "zhang"),
        "{own}"
    );
    let all: serde_json::Value = get("/api/v1/customers", wang.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["customers"].as_array().unwrap().len(), 7, "{all}");
    for path in [
        "/api/v1/customers?limit=0",
        "/api/v1/customers?limit=100000",
        "/api/v1/customers?offset=-1",
        "/api/v1/customers?page=2",
    ] {
        let e = assert_error(
            get(path, wang.clone()).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        assert!(!e.message.is_ascii(), "{path}: {e:?}");
    }
    // A wrong query string names the parameter, in Chinese, on every list.
    for (path, named) in [
        (
            "/api/v1/customers?offset=abc",
            "查询参数 offset 的值不对:应为非负整数",
        ),
        (
            "/api/v1/warnings?limit=x",
            "查询参数 limit 的值不对:应为非负整数",
        ),
        (
            "/api/v1/grades?offset=99999999999999999999999",
            "查询参数 offset 的值不对:数字太大",
        ),
        (
            "/api/v1/followups?limit=1&limit=2",
            "查询参数 limit 出现了不止一次",
        ),
    ] {
        let e = assert_error(
            get(path, wang.clone()).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        assert_eq!(e.message, named, "{path}");
    }
    server.stop().await;
}
