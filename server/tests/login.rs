//! A salesperson's laptop signs in, and the server says who it is — or why not.

mod common;

use common::{assert_error, TestServer};
use crm_shared::api::{LoginResponse, ServerStatus, WhoAmI};
use crm_shared::codes::Role;
use reqwest::StatusCode;

#[tokio::test]
async fn salesperson_logs_in_and_the_token_identifies_the_laptop() {
    let server = TestServer::plain().await;
    server
        .add_user("zhangsan", Role::Salesperson, "张三", "业务员的密码1")
        .await;

    let response = server.login("zhangsan", "业务员的密码1").await;
    assert_eq!(response.status(), StatusCode::OK);
    let login: LoginResponse = response.json().await.unwrap();
    assert_eq!(login.login, "zhangsan");
    assert_eq!(login.display_name, "张三");
    assert_eq!(login.role, Role::Salesperson);
    assert_eq!(login.token.len(), 43, "32 bytes, base64url");

    let me: WhoAmI = server.whoami(&login.token).await.json().await.unwrap();
    assert_eq!(
        me,
        WhoAmI {
            login: "zhangsan".into(),
            display_name: "张三".into(),
            role: Role::Salesperson,
            device_id: login.device_id.clone(),
            position: None,
        }
    );

    // The server keeps the device but not the token itself.
    let devices = server.db.devices().await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].id.to_string(), login.device_id);
    assert_eq!(devices[0].name, "zhangsan的笔记本");
    let db_bytes = std::fs::read(server.data.db_path()).unwrap();
    let wal =
        std::fs::read(server.data.db_path().with_extension("sqlite3-wal")).unwrap_or_default();
    for bytes in [&db_bytes, &wal] {
        assert!(
            !bytes
                .windows(login.token.len())
                .any(|w| w == login.token.as_bytes()),
            "token stored in clear"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn login_names_are_case_insensitive_and_each_login_is_a_new_device() {
    let server = TestServer::plain().await;
    server
        .add_user("lisi", Role::Clerk, "李四", "内勤的密码12")
        .await;
    let a: LoginResponse = server
        .login("LiSi", "内勤的密码12")
        .await
        .json()
        .await
        .unwrap();
    let b: LoginResponse = server
        .login("lisi", "内勤的密码12")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a.login, "lisi");
    assert_ne!(a.device_id, b.device_id);
    assert_ne!(a.token, b.token);
    server.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let server = TestServer::plain().await;
    server
        .add_user("zhangsan", Role::Salesperson, "张三", "业务员的密码1")
        .await;

    let wrong = assert_error(
        server.login("zhangsan", "猜的密码").await,
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
    )
    .await;
    let unknown = assert_error(
        server.login("wangwu", "猜的密码").await,
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
    )
    .await;
    assert_eq!(wrong, unknown);
    assert_eq!(common::device_count(&server.db).await, 0);
    server.stop().await;
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused() {
    let server = TestServer::plain().await;
    let no_token = server
        .client
        .get(server.url("/api/v1/whoami"))
        .send()
        .await
        .unwrap();
    assert_error(no_token, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_error(
        server.whoami("not-a-token").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn revoked_laptop_is_refused_but_the_users_other_laptop_still_works() {
    let server = TestServer::plain().await;
    server
        .add_user("zhangsan", Role::Salesperson, "张三", "业务员的密码1")
        .await;
    let stolen: LoginResponse = server
        .login("zhangsan", "业务员的密码1")
        .await
        .json()
        .await
        .unwrap();
    let other: LoginResponse = server
        .login("zhangsan", "业务员的密码1")
        .await
        .json()
        .await
        .unwrap();

    // The administrator revokes the stolen laptop with the CLI while the server runs.
    let out = server.cli(&["device", "revoke", &stolen.device_id], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("已停用设备"));

    assert_error(
        server.whoami(&stolen.token).await,
        StatusCode::UNAUTHORIZED,
        "device_revoked",
    )
    .await;
    assert_eq!(server.whoami(&other.token).await.status(), StatusCode::OK);

    let status: ServerStatus = server
        .client
        .get(server.url("/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((status.users, status.devices), (1, 1));
    server.stop().await;
}

#[tokio::test]
async fn expired_password_is_refused_at_login_until_the_admin_resets_it() {
    let server = TestServer::plain().await;
    server
        .add_user("zhangsan", Role::Salesperson, "张三", "业务员的密码1")
        .await;

    let out = server.cli(
        &[
            "user",
            "passwd",
            "zhangsan",
            "--password-stdin",
            "--expires-in-days",
            "0",
        ],
        Some("临时密码123456\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert_error(
        server.login("zhangsan", "临时密码123456").await,
        StatusCode::UNAUTHORIZED,
        "password_expired",
    )
    .await;
    // A wrong password still says only "wrong", not "expired".
    assert_error(
        server.login("zhangsan", "业务员的密码1").await,
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
    )
    .await;
    assert_eq!(common::device_count(&server.db).await, 0);

    let out = server.cli(
        &[
            "user",
            "passwd",
            "zhangsan",
            "--password-stdin",
            "--expires-in-days",
            "90",
        ],
        Some("新的密码123456\n"),
    );
    assert!(out.status.success());
    // A password an administrator set is the holder's only once changed.
    assert_error(
        server.login("zhangsan", "新的密码123456").await,
        StatusCode::FORBIDDEN,
        "password_change_required",
    )
    .await;
    let changed = server
        .client
        .post(server.url("/api/v1/password"))
        .json(&serde_json::json!({"login": "zhangsan", "current": "新的密码123456", "new": "只有张三知道的新密码"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(
        server
            .login("zhangsan", "只有张三知道的新密码")
            .await
            .status(),
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test]
async fn disabled_user_can_neither_log_in_nor_use_an_existing_device() {
    let server = TestServer::plain().await;
    server
        .add_user("zhangsan", Role::Salesperson, "张三", "业务员的密码1")
        .await;
    let login: LoginResponse = server
        .login("zhangsan", "业务员的密码1")
        .await
        .json()
        .await
        .unwrap();

    let out = server.cli(&["user", "disable", "zhangsan"], None);
    assert!(out.status.success());

    assert_error(
        server.login("zhangsan", "业务员的密码1").await,
        StatusCode::FORBIDDEN,
        "user_disabled",
    )
    .await;
    assert_error(
        server.whoami(&login.token).await,
        StatusCode::FORBIDDEN,
        "user_disabled",
    )
    .await;

    assert!(server
        .cli(&["user", "enable", "zhangsan"], None)
        .status
        .success());
    assert_eq!(server.whoami(&login.token).await.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn status_shows_version_and_counts_only() {
    let server = TestServer::plain().await;
    server
        .add_user("admin", Role::Admin, "管理员", "管理员的密码1")
        .await;
    let response = server
        .client
        .get(server.url("/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["backup", "devices", "users", "version"], "{body}");
    assert_eq!(
        body["backup"],
        serde_json::Value::Null,
        "no backup node pulled yet"
    );
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["users"], 1);
    assert_eq!(body["devices"], 0);
    server.stop().await;
}
