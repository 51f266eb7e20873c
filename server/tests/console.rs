//! The head-office console over HTTP on loopback, as a browser would use
//! it but without one: the session cookie's flags, every form refused
//! without its CSRF token, pages that stay in bounds whatever the query
//! says, the card showing every record, a salesperson's view limited to
//! their own customers, and dry-run uploads that never lock anyone out.
//! (`tests/tests/console.rs` drives a real Chromium through the same pages.)

mod common;

use common::TestServer;
use crm_server::caller::Caller;
use crm_server::credentials::hash_password;
use crm_server::db::NewUser;
use crm_shared::codes::{CustomerKind, Nature, Position, Role, Tier};
use crm_shared::customer::{Contact, CreditRequest, Evaluation, Sale, Violation};
use crm_shared::note::{Action, ChangeNote};
use crm_shared::Customer;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::StatusCode;

const PASSWORD: &str = "控制台的测试密码一二";

/// A server with 王芳 (clerk), 刘经理 (manager, first approver), 张伟 and
/// 李娜 (salespeople) and 管理员, and a customer of each salesperson pushed
/// from their laptops: 张伟's in 华东 with every kind of record, 李娜's in 华南.
struct Office {
    srv: TestServer,
    /// Follows no redirect, so a test sees the 303 and its cookie.
    http: reqwest::Client,
    /// 张伟's laptop copy of his customer, to change "offline".
    tea: crm_shared::CustomerDoc,
}

/// A signed-in console session.
struct Console<'a> {
    office: &'a Office,
    cookie: String,
    csrf: String,
}

fn tea() -> Customer {
    let mut c = Customer {
        id: "c-tea".into(),
        name: "杭州西湖龙井茶业有限公司".into(),
        salesperson: "zhang".into(),
        region: "华东".into(),
        entered_at: 1_780_000_000_000,
        tier: Some(Tier::Important),
        kind: Some(CustomerKind::Factory),
        nature: Some(Nature::StateOwned),
        ..Default::default()
    };
    c.contacts.insert(
        "k1".into(),
        Contact {
            name: "周经理".into(),
            primary: true,
            mobile: "13800000001".into(),
            fax: "0571-87650001".into(),
            influence: "采购最终拍板".into(),
            important_dates: "生日 3 月 8 日".into(),
            preferences: "喜欢喝明前龙井".into(),
            accepts_mail: true,
            accepts_sms: false,
            ..Default::default()
        },
    );
    c.violations.insert(
        "v1".into(),
        Violation {
            at: 1_780_000_000_000,
            kind: "逾期付款".into(),
            description: "第三季度货款拖欠四十天".into(),
        },
    );
    c.evaluations.insert(
        "e1".into(),
        Evaluation {
            at: 1_780_000_000_000,
            by: "zhang".into(),
            text: "回款慢但订单稳定".into(),
        },
    );
    c.sales.insert(
        "s1".into(),
        Sale {
            day: Some("2026-09-10".parse().unwrap()),
            product: "龙井茶".into(),
            quantity: 10.0,
            amount: 90_000,
            due: Some("2026-09-30".parse().unwrap()),
            paid_on: Some("2026-09-20".parse().unwrap()),
            by: "zhang".into(),
        },
    );
    c.credit_requests.insert(
        "cr1".into(),
        CreditRequest {
            at: 1_780_000_000_000,
            by: "zhang".into(),
            current: None,
            proposed: 800_000,
            reason: "春茶上市备货".into(),
            decisions: Default::default(),
        },
    );
    c
}

fn seafood() -> Customer {
    Customer {
        id: "c-li".into(),
        name: "深圳李记海产".into(),
        salesperson: "li".into(),
        region: "华南".into(),
        entered_at: 1_780_000_000_000,
        ..Default::default()
    }
}

fn clerk() -> Caller {
    Caller {
        login: "wang".into(),
        role: Role::Clerk,
        device_id: "test".into(),
    }
}

impl Office {
    async fn open() -> Office {
        let srv = TestServer::plain().await;
        for (login, name, role, position) in [
            ("wang", "王芳", Role::Clerk, None),
            ("m1", "刘经理", Role::Manager, Some(Position::SalesManager)),
            ("zhang", "张伟", Role::Salesperson, None),
            ("li", "李娜", Role::Salesperson, None),
            ("root", "管理员", Role::Admin, None),
        ] {
            srv.db
                .insert_user(NewUser {
                    login: login.into(),
                    display_name: name.into(),
                    role,
                    password_hash: hash_password(PASSWORD.into()).await.unwrap(),
                    password_expires_at: None,
                    position,
                    must_change_password: false,
                })
                .await
                .unwrap();
        }
        let tea = srv.push_cards("zhang", PASSWORD, &[tea()]).await.remove(0);
        srv.push_cards("li", PASSWORD, &[seafood()]).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Office { srv, http, tea }
    }

    /// Signs in through the login form; returns the raw Set-Cookie too.
    async fn sign_in(&self, login: &str) -> (Console<'_>, String) {
        let body = form(&[("login", login), ("password", PASSWORD)]);
        let r = self
            .http
            .post(self.srv.url("/console/login"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign in {login}");
        let set = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
        let cookie = set.split(';').next().unwrap().to_string();
        let mut c = Console {
            office: self,
            cookie,
            csrf: String::new(),
        };
        // The form token is on every page with a form; the header's sign-out is one.
        let page = c.get("/console/customers").await;
        assert_eq!(page.0, StatusCode::OK, "{}", page.1);
        c.csrf = between(&page.1, "name=\"_csrf\" value=\"", "\"").to_string();
        assert_eq!(c.csrf.len(), 64, "{}", page.1);
        (c, set)
    }

    async fn card(&self, id: &str) -> serde_json::Value {
        let v = crm_server::archive::card(&self.srv.db, clerk(), id.into())
            .await
            .unwrap();
        serde_json::to_value(&v).unwrap()
    }
}

impl Console<'_> {
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .office
            .http
            .get(self.office.srv.url(path))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// POSTs a form; the CSRF token only if `fields` holds one.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let r = self
            .office
            .http
            .post(self.office.srv.url(path))
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(fields))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// Uploads a CSV to the import form; `token` is sent as `_csrf` if given.
    async fn upload(&self, name: &str, csv: &str, token: Option<&str>) -> (StatusCode, String) {
        let boundary = "----crm-console-test-boundary";
        let mut body = Vec::new();
        if let Some(t) = token {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{t}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(csv.as_bytes());
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let r = self
            .office
            .http
            .post(self.office.srv.url("/console/import"))
            .header(COOKIE, &self.cookie)
            .header(
                CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    let mut f = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        f.append_pair(k, v);
    }
    f.finish()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in {text}"))
        + start.len();
    let len = text[from..].find(end).unwrap();
    &text[from..from + len]
}

/// The id in the import plan's commit form.
fn upload_id(plan: &str) -> String {
    between(plan, "action=\"/console/import/", "/commit\"").to_string()
}

#[tokio::test]
async fn the_session_cookie_is_locked_down_and_every_form_needs_its_token() {
    let mut o = Office::open().await;

    // A real conflict to settle: 张伟 changes the address offline while the
    // clerk corrects it at head office.
    crm_server::archive::edit(
        &o.srv.db,
        clerk(),
        "c-tea".into(),
        vec![("company.address".into(), "杭州市西湖区龙井路 1 号".into())],
        "客户来函".into(),
        crm_server::clock::now_ms(),
    )
    .await
    .unwrap();
    let mut moved = o.tea.card().clone();
    moved.company.address = "杭州市上城区河坊街 8 号".into();
    o.tea
        .update(
            &moved,
            &ChangeNote::new("zhang", Action::Edit).with_reason(Some("客户搬迁")),
            1_780_000_100_000,
        )
        .unwrap();
    o.srv
        .push_docs("zhang", PASSWORD, std::slice::from_ref(&o.tea))
        .await;
    let (wang, set_cookie) = o.sign_in("wang").await;
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/console"] {
        assert!(set_cookie.contains(flag), "{flag} missing: {set_cookie}");
    }
    let (m1, _) = o.sign_in("m1").await;
    let before = o.card("c-tea").await;
    assert_eq!(before["conflicts"].as_array().unwrap().len(), 1, "{before}");
    let chosen = serde_json::json!("杭州市上城区河坊街 8 号").to_string();

    // An upload planned properly, to try committing without the token.
    let csv = "客户名称,联系人,电话\n温州鹿城鞋业,林经理,0577-88880000\n";
    let (status, plan) = wang.upload("new.csv", csv, Some(&wang.csrf)).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let id = upload_id(&plan);

    for bad in [None, Some("0".repeat(64))] {
        let token: Vec<(&str, &str)> = bad.iter().map(|t| ("_csrf", t.as_str())).collect();
        let with = |fields: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
            fields
                .iter()
                .copied()
                .chain(token.iter().copied())
                .collect()
        };
        let tried = [
            ("/console/logout".to_string(), with(&[]), &wang),
            (
                "/console/customers/c-tea/edit".into(),
                with(&[("field", "name"), ("value", "篡改的名称"), ("reason", "无")]),
                &wang,
            ),
            (
                "/console/customers/c-tea/resolve".into(),
                [
                    ("path", "company.address"),
                    ("value", chosen.as_str()),
                    ("reason", "电话确认"),
                ]
                .into_iter()
                .chain(token.iter().copied())
                .collect(),
                &wang,
            ),
            (
                "/console/customers/c-tea/review".into(),
                with(&[("tier", "important"), ("notes", "核对")]),
                &wang,
            ),
            (
                "/console/credit/c-tea/cr1".into(),
                with(&[("approve", "true"), ("comment", "同意")]),
                &m1,
            ),
            (
                "/console/grades/apply".into(),
                with(&[("day", "2026-11-15")]),
                &wang,
            ),
            (format!("/console/import/{id}/commit"), with(&[]), &wang),
        ];
        for (path, fields, who) in tried {
            let (status, page) = who.post(&path, &fields).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path} {bad:?}: {page}");
            assert!(page.contains("CSRF"), "{path}: {page}");
        }
        let (status, page) = wang.upload("other.csv", csv, bad.as_deref()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "upload {bad:?}: {page}");
    }

    // Nothing changed: the card and its history, the customers on file,
    // both sessions still signed in, the planned upload still waiting.
    assert_eq!(o.card("c-tea").await, before);
    let all = crm_server::archive::list(&o.srv.db, clerk(), Default::default(), 0, 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    for who in [&wang, &m1] {
        assert_eq!(who.get("/console/customers").await.0, StatusCode::OK);
    }

    // With the token each form works, which is what makes the refusals above mean something.
    let (status, page) = wang
        .post(
            "/console/customers/c-tea/resolve",
            &[
                ("_csrf", &wang.csrf),
                ("path", "company.address"),
                ("value", &chosen),
                ("reason", "电话确认"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let (status, page) = wang
        .post(
            &format!("/console/import/{id}/commit"),
            &[("_csrf", &wang.csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("新建 1"), "{page}");
    let (status, _) = wang.post("/console/logout", &[("_csrf", &wang.csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = wang.get("/console/customers").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed out");
}

#[tokio::test]
async fn a_salesperson_sees_only_their_own_regions_and_pages_stay_in_bounds() {
    let o = Office::open().await;
    let (zhang, _) = o.sign_in("zhang").await;
    let (status, page) = zhang.get("/console/customers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("华东"), "{page}");
    assert!(
        !page.contains("华南"),
        "another's region in the menu: {page}"
    );
    let (wang, _) = o.sign_in("wang").await;
    let (_, page) = wang.get("/console/customers").await;
    assert!(page.contains("华东") && page.contains("华南"), "{page}");

    for page in [
        "200000000000000000",
        "20000001",
        "99999999999999999999999",
        "-1",
        "二",
    ] {
        let (status, body) = wang.get(&format!("/console/customers?page={page}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "page={page}: {body}");
    }
    let (status, body) = wang.get("/console/customers?page=1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("没有符合条件的客户"), "{body}");
}

#[tokio::test]
async fn far_off_days_on_console_pages_are_refused_with_400() {
    let o = Office::open().await;
    let (wang, _) = o.sign_in("wang").await;
    for day in [
        "%2B262142-12-31",
        "-262143-01-01",
        "%2B262143-12-31",
        "1899-12-31",
    ] {
        for page in [
            "daily?salesperson=zhang&",
            "grades?",
            "warnings?",
            "followups?",
        ] {
            let (status, body) = wang.get(&format!("/console/{page}day={day}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{page}{day}: {body}");
            assert!(body.contains("日期") || body.contains("有效日期"), "{body}");
        }
        let day = day.replace("%2B", "+");
        let (status, body) = wang
            .post(
                "/console/grades/apply",
                &[("_csrf", &wang.csrf), ("day", &day)],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "apply {day}: {body}");
    }
    assert_eq!(
        o.card("c-tea").await["customer"]["grade"],
        serde_json::Value::Null
    );
}

#[tokio::test]
async fn the_card_shows_records_and_every_contact_field() {
    let o = Office::open().await;
    let (wang, _) = o.sign_in("wang").await;
    let (status, page) = wang.get("/console/customers/c-tea").await;
    assert_eq!(status, StatusCode::OK);
    let contacts = between(&page, "id=\"contacts\"", "</table>");
    for text in [
        "传真",
        "0571-87650001",
        "决策影响力",
        "采购最终拍板",
        "重要日期",
        "生日 3 月 8 日",
        "喜好",
        "喜欢喝明前龙井",
        "接受邮寄",
        "接受短信",
    ] {
        assert!(
            contacts.contains(text),
            "{text} not among the contacts: {contacts}"
        );
    }
    // Mail yes, SMS no, in that order.
    let cells = contacts.rsplit("<tr>").next().unwrap();
    let (yes, no) = (cells.find("<td>是</td>"), cells.find("<td>否</td>"));
    assert!(yes.is_some() && yes < no, "{cells}");
    // Coded fields read as their Chinese labels, not as stored codes.
    let card = between(&page, "id=\"card\"", "<h2>");
    for (label, code) in [
        ("活跃", "active"),
        ("重要", "important"),
        ("工厂", "factory"),
        ("国有", "state_owned"),
    ] {
        assert!(card.contains(label), "{label} not on the card: {card}");
        assert!(!card.contains(code), "{code} on the card: {card}");
    }
    let violations = between(&page, "id=\"violations\"", "</table>");
    assert!(
        violations.contains("逾期付款") && violations.contains("第三季度货款拖欠四十天"),
        "{violations}"
    );
    let evaluations = between(&page, "id=\"evaluations\"", "</table>");
    assert!(
        evaluations.contains("张伟") && evaluations.contains("回款慢但订单稳定"),
        "{evaluations}"
    );
}

/// The card's history is told in business language: people by name, what
/// happened in a sentence, records named rather than numbered, and a long
/// list of details folded away.
#[tokio::test]
async fn the_history_names_people_and_records_not_logins_and_ids() {
    let o = Office::open().await;
    let (wang, _) = o.sign_in("wang").await;
    let (status, page) = wang
        .post(
            "/console/customers/c-tea/edit",
            &[
                ("_csrf", &wang.csrf),
                ("field", "salesperson"),
                ("value", "li"),
                ("reason", "片区调整"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let (status, page) = wang.get("/console/customers/c-tea").await;
    assert_eq!(status, StatusCode::OK);
    let history = between(&page, "id=\"history\"", "</table>");
    for text in [
        "<td>张伟</td>",
        "新建客户 杭州西湖龙井茶业有限公司",
        "新增联系人 周经理,主要联系人,手机 13800000001",
        "申请信用额度 800,000 元(原无额度)",
        "<td>王芳</td>",
        "业务员 张伟 → 李娜",
        "片区调整",
        "<summary>另有 ",
    ] {
        assert!(
            history.contains(text),
            "{text} not in the history: {history}"
        );
    }
    let text: String = history
        .split('<')
        .map(|part| part.split_once('>').map_or(part, |(_, after)| after))
        .collect::<Vec<_>>()
        .join(" ");
    for raw in [
        "zhang",
        " li ",
        "cr1",
        "k1",
        "=",
        "true",
        "false",
        "important",
    ] {
        assert!(!text.contains(raw), "{raw} in the history: {text}");
    }
}

#[tokio::test]
async fn a_salesperson_reviews_their_own_customers_and_no_one_elses() {
    let o = Office::open().await;
    let api = |login: &'static str| {
        let srv = &o.srv;
        async move {
            let r = srv.login(login, PASSWORD).await;
            r.json::<crm_shared::api::LoginResponse>()
                .await
                .unwrap()
                .token
        }
    };
    let review = |token: String, id: &'static str| {
        let srv = &o.srv;
        async move {
            srv.client
                .post(srv.url(&format!("/api/v1/customers/{id}/review")))
                .bearer_auth(token)
                .json(&serde_json::json!({"tier": "important", "notes": "走访核对"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let zhang = api("zhang").await;
    assert_eq!(review(zhang.clone(), "c-tea").await, StatusCode::OK);
    // Another's customer is answered as one that does not exist.
    assert_eq!(review(zhang, "c-li").await, StatusCode::NOT_FOUND);
    assert_eq!(
        review(api("root").await, "c-tea").await,
        StatusCode::FORBIDDEN
    );
    let card = o.card("c-tea").await;
    assert_eq!(card["customer"]["tier"], "important");
    let reviews = card["customer"]["reviews"].as_object().unwrap();
    assert_eq!(reviews.len(), 1);
    assert!(reviews.values().all(|r| r["by"] == "zhang"));
    assert!(o.card("c-li").await["customer"]["reviews"]
        .as_object()
        .unwrap()
        .is_empty());

    // The console offers 张伟 the same, on his own card.
    let (z, _) = o.sign_in("zhang").await;
    let (_, page) = z.get("/console/customers/c-tea").await;
    assert!(page.contains("id=\"review\""), "{page}");
    assert!(!page.contains("id=\"edit\""), "editing stays head office's");
    let (status, _) = z
        .post(
            "/console/customers/c-tea/review",
            &[("_csrf", &z.csrf), ("notes", "第二次核对")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = z
        .post("/console/customers/c-li/review", &[("_csrf", &z.csrf)])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let card = o.card("c-tea").await;
    assert_eq!(card["customer"]["reviews"].as_object().unwrap().len(), 2);
}

#[tokio::test]
async fn the_daily_report_page_lets_head_office_pick_a_salesperson() {
    let o = Office::open().await;
    let (wang, _) = o.sign_in("wang").await;
    let (status, page) = wang.get("/console/daily").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let list = between(&page, "id=\"salespeople\"", "</ul>");
    assert!(list.contains("张伟") && list.contains("李娜"), "{list}");
    assert!(!list.contains("王芳"), "only salespeople: {list}");
    assert!(page.contains("<option value=\"zhang\""), "{page}");
    let (status, page) = wang.get("/console/daily?salesperson=zhang").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"daily\""), "{page}");
    assert!(page.contains("<option value=\"zhang\" selected"), "{page}");
    // Blank counts as not chosen: the picker again, not an error.
    let (status, page) = wang.get("/console/daily?salesperson=+").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"salespeople\""), "{page}");
    // A salesperson gets their own day straight away.
    let (zhang, _) = o.sign_in("zhang").await;
    let (status, page) = zhang.get("/console/daily").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<b>张伟</b>"), "people by name: {page}");
}

#[tokio::test]
async fn many_dry_runs_never_lock_anyone_out() {
    let o = Office::open().await;
    let (wang, _) = o.sign_in("wang").await;
    let (m1, _) = o.sign_in("m1").await;
    let csv = |n: usize| format!("客户名称,联系人,电话\n试运行客户{n},林经理,1380000{n:04}\n");
    let mut ids = Vec::new();
    for n in 0..40 {
        let (status, plan) = wang
            .upload(&format!("{n}.csv"), &csv(n), Some(&wang.csrf))
            .await;
        assert_eq!(status, StatusCode::OK, "upload {n}: {plan}");
        ids.push(upload_id(&plan));
    }
    let (status, plan) = m1.upload("m1.csv", &csv(99), Some(&m1.csrf)).await;
    assert_eq!(status, StatusCode::OK, "another person: {plan}");
    let m1_id = upload_id(&plan);

    // 王芳's oldest plan made way for her newer ones, and says so.
    let (status, page) = wang
        .post(
            &format!("/console/import/{}/commit", ids[0]),
            &[("_csrf", &wang.csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
    assert!(page.contains("重新上传"), "{page}");
    let (status, page) = wang
        .post(
            &format!("/console/import/{}/commit", ids[39]),
            &[("_csrf", &wang.csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // A plan is its uploader's alone.
    let (status, _) = wang
        .post(
            &format!("/console/import/{m1_id}/commit"),
            &[("_csrf", &wang.csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, page) = m1
        .post(
            &format!("/console/import/{m1_id}/commit"),
            &[("_csrf", &m1.csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut names: Vec<String> =
        crm_server::archive::list(&o.srv.db, clerk(), Default::default(), 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .filter(|n| n.starts_with("试运行"))
            .collect();
    names.sort();
    assert_eq!(names, ["试运行客户39", "试运行客户99"]);
}

#[tokio::test]
async fn a_console_session_left_unused_for_eight_hours_is_ended() {
    let o = Office::open().await;
    let (wang, _) = o.sign_in("wang").await;
    let console_device = || async {
        o.srv
            .db
            .devices()
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.login == "wang")
            .expect("the console session is a device")
    };
    // Using it writes the time down.
    let device = console_device().await;
    assert!(device.last_seen_at.is_some(), "{device:?}");
    assert!(device.revoked_at.is_none());

    // Used just under the limit ago: still signed in.
    let now = crm_server::clock::now_ms();
    let limit = crm_server::console::IDLE_LIMIT_MS;
    o.srv
        .db
        .touch_device(device.id, now - limit + 60_000)
        .await
        .unwrap();
    assert_eq!(wang.get("/console/customers").await.0, StatusCode::OK);

    // Left for longer than the limit: back to the sign-in page, for good.
    o.srv
        .db
        .touch_device(device.id, now - limit - 60_000)
        .await
        .unwrap();
    let (status, _) = wang.get("/console/customers").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(console_device().await.revoked_at.is_some());
    o.srv.db.touch_device(device.id, now).await.unwrap();
    assert_eq!(
        wang.get("/console/customers").await.0,
        StatusCode::SEE_OTHER,
        "a revoked session stays ended"
    );
    // Signing in again works.
    let (again, _) = o.sign_in("wang").await;
    assert_eq!(again.get("/console/customers").await.0, StatusCode::OK);
}

/// The credit limit is not among the fields the console's edit form
/// offers, and a form that names it anyway (by path or label) is refused
/// with the way it does change: an approved credit-limit request.
#[tokio::test]
async fn head_office_cannot_edit_the_credit_limit_in_the_console() {
    let o = Office::open().await;
    let before = o.card("c-tea").await;
    for who in ["wang", "m1"] {
        let (c, _) = o.sign_in(who).await;
        let (_, page) = c.get("/console/customers/c-tea").await;
        let form = between(&page, "id=\"edit\"", "</form>");
        assert!(!form.contains("credit.limit"), "{form}");
        assert!(form.contains("company.address"), "{form}");
        for field in ["credit.limit", "信用额度"] {
            let (status, page) = c
                .post(
                    "/console/customers/c-tea/edit",
                    &[
                        ("_csrf", &c.csrf),
                        ("field", field),
                        ("value", "500000"),
                        ("reason", "客户要求提额"),
                    ],
                )
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} {field}");
            assert!(page.contains("信用额度变更申请"), "{page}");
        }
    }
    assert_eq!(o.card("c-tea").await["customer"], before["customer"]);
}

/// 建档时间 is shown as a date on the card and in its history, and the edit
/// form takes a date; no epoch milliseconds anywhere on the page.
#[tokio::test]
async fn the_card_shows_and_takes_dates_as_dates() {
    let o = Office::open().await;
    let (wang, _) = o.sign_in("wang").await;
    let (status, page) = wang
        .post(
            "/console/customers/c-tea/edit",
            &[
                ("_csrf", &wang.csrf),
                ("field", "entered_at"),
                ("value", "2026-01-01"),
                ("reason", "补录建档日期"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let midnight = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(chrono::Local)
        .unwrap()
        .timestamp_millis();
    assert_eq!(o.card("c-tea").await["customer"]["entered_at"], midnight);
    let (status, page) = wang.get("/console/customers/c-tea").await;
    assert_eq!(status, StatusCode::OK);
    let card = between(&page, "id=\"card\"", "</div></div>");
    assert!(card.contains("建档时间</span>2026-01-01<"), "{card}");
    let history = between(&page, "id=\"history\"", "</table>");
    assert!(history.contains("→ 2026-01-01"), "{history}");
    let page = page.replace(&wang.csrf, "");
    let longest = page
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest < 13, "epoch milliseconds on the page: {page}");
}

/// Head office reassigning a customer types the salesperson's login or
/// name; anyone else is refused with a 4xx and the card is unchanged.
#[tokio::test]
async fn the_salesperson_is_set_by_login_or_name_and_must_exist() {
    let o = Office::open().await;
    let (wang, _) = o.sign_in("wang").await;
    let before = o.card("c-tea").await;
    for bad in ["张三", "nobody", "王芳"] {
        let (status, page) = wang
            .post(
                "/console/customers/c-tea/edit",
                &[
                    ("_csrf", &wang.csrf),
                    ("field", "salesperson"),
                    ("value", bad),
                    ("reason", "改派"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {page}");
        assert!(page.contains(bad) && page.contains("业务员"), "{page}");
    }
    assert_eq!(o.card("c-tea").await, before);
    let (status, page) = wang
        .post(
            "/console/customers/c-tea/edit",
            &[
                ("_csrf", &wang.csrf),
                ("field", "业务员"),
                ("value", "李娜"),
                ("reason", "改派"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(o.card("c-tea").await["customer"]["salesperson"], "li");
}

/// The console's import preview lists customers on file whose row names
/// another salesperson; they stay with theirs unless the box to move them
/// is ticked when importing.
#[tokio::test]
async fn the_import_page_moves_customers_only_when_ticked() {
    let o = Office::open().await;
    let (wang, _) = o.sign_in("wang").await;
    let csv = "客户编号,客户名称,业务员,区域\nc-tea,杭州西湖龙井茶业有限公司,李娜,浙江\n";
    let (status, plan) = wang.upload("move.csv", csv, Some(&wang.csrf)).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert!(
        plan.contains("id=\"moves\"") && plan.contains("name=\"reassign\""),
        "{plan}"
    );
    let id = upload_id(&plan);
    let (status, page) = wang
        .post(
            &format!("/console/import/{id}/commit"),
            &[("_csrf", &wang.csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let card = o.card("c-tea").await;
    assert_eq!(card["customer"]["salesperson"], "zhang");
    assert_eq!(card["customer"]["region"], "浙江");

    let (_, plan) = wang.upload("move.csv", csv, Some(&wang.csrf)).await;
    let id = upload_id(&plan);
    let (status, page) = wang
        .post(
            &format!("/console/import/{id}/commit"),
            &[("_csrf", &wang.csrf), ("reassign", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(o.card("c-tea").await["customer"]["salesperson"], "li");
}

#[tokio::test]
async fn the_console_is_reached_at_its_addresses_and_returns_to_the_page_asked_for() {
    let office = Office::open().await;
    let get = |path: &'static str| {
        let office = &office;
        async move { office.http.get(office.srv.url(path)).send().await.unwrap() }
    };
    // The server's own address and the console's, with or without a slash.
    for path in ["/", "/console", "/console/"] {
        let r = get(path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers()["location"], "/console/home", "{path}");
    }
    // A page asked for before signing in is where the sign-in lands.
    let r = get("/console/customers/c-tea?tab=history").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        to,
        "/console/login?next=%2Fconsole%2Fcustomers%2Fc-tea%3Ftab%3Dhistory"
    );
    let page = office
        .http
        .get(office.srv.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let next = between(&page, "name=\"next\" value=\"", "\"").to_string();
    assert_eq!(next, "/console/customers/c-tea?tab=history");
    let sign_in = |next: String| {
        let office = &office;
        async move {
            office
                .http
                .post(office.srv.url("/console/login"))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form(&[
                    ("login", "wang"),
                    ("password", PASSWORD),
                    ("next", &next),
                ]))
                .send()
                .await
                .unwrap()
        }
    };
    let r = sign_in(next).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/console/customers/c-tea?tab=history"
    );
    // Never to another site.
    for evil in [
        "https://evil.example/",
        "//evil.example/console/",
        "/console/\\\\evil",
    ] {
        let r = sign_in(evil.to_string()).await;
        assert_eq!(r.headers()["location"], "/console/home", "{evil}");
    }
    // An unknown console page is a console page, not JSON.
    let (c, _) = office.sign_in("wang").await;
    let r = office
        .http
        .get(office.srv.url("/console/no-such-page"))
        .header(COOKIE, &c.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("没有这个页面"));
}

#[tokio::test]
async fn the_grading_run_shows_what_it_changes_and_writes_only_when_confirmed() {
    let o = Office::open().await;
    let (wang, _) = o.sign_in("wang").await;
    let (status, page) = wang.get("/console/grades?day=2026-11-15").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !page.contains("action=\"/console/grades/apply\""),
        "the table page writes nothing in one click: {page}"
    );
    assert!(
        page.contains("action=\"/console/grades/confirm\""),
        "{page}"
    );

    let (status, page) = wang.get("/console/grades/confirm?day=2026-11-15").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let changes = between(&page, "id=\"grade-changes\"", "</table>");
    assert!(changes.contains("杭州西湖龙井茶业有限公司"), "{changes}");
    assert!(
        changes.contains("未定级") && changes.contains('级'),
        "{changes}"
    );
    assert!(page.contains("action=\"/console/grades/apply\""), "{page}");
    assert_eq!(
        o.card("c-tea").await["customer"]["grade"],
        serde_json::Value::Null,
        "looking writes nothing"
    );

    let (zhang, _) = o.sign_in("zhang").await;
    let (status, _) = zhang.get("/console/grades/confirm?day=2026-11-15").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, page) = wang
        .post(
            "/console/grades/apply",
            &[("_csrf", &wang.csrf), ("day", "2026-11-15")],
        )
        .await;
    assert!(
        status.is_success() || status.is_redirection(),
        "{status}: {page}"
    );
    assert_ne!(
        o.card("c-tea").await["customer"]["grade"],
        serde_json::Value::Null,
        "confirmed, the grade is written"
    );
}

#[tokio::test]
async fn people_are_shown_by_name_in_lists_filters_approvals_and_devices() {
    let o = Office::open().await;
    let (wang, _) = o.sign_in("wang").await;
    let (status, page) = wang.get("/console/customers").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let table = between(&page, "id=\"customers\"", "</table>");
    assert!(table.contains(">张伟</td>"), "{table}");
    assert!(!table.contains(">zhang</td>"), "{table}");
    assert!(
        page.contains("<option value=\"zhang\">张伟</option>"),
        "the filter offers names: {page}"
    );
    for (path, table) in [
        ("/console/grades?day=2026-11-15", "id=\"grades\""),
        ("/console/credit", "id=\"all-requests\""),
        ("/console/devices", "id=\"devices\""),
    ] {
        let (status, page) = wang.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        let rows = between(&page, table, "</table>");
        assert!(rows.contains("张伟"), "{path}: {rows}");
        assert!(!rows.contains("<td>zhang</td>"), "{path}: {rows}");
    }
    // The follow-up report is paged; a page past the end is empty, one
    // no archive could reach is refused.
    let (status, page) = wang.get("/console/followups?page=3").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("第 4 / "), "{page}");
    let (status, page) = wang.get("/console/followups?page=99999999999999999").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    for path in ["/console/grades", "/console/warnings", "/console/followups"] {
        let (_, page) = wang.get(&format!("{path}?salesperson=zhang")).await;
        assert!(
            page.contains("<option value=\"zhang\" selected>张伟</option>"),
            "{path}: the 业务员 filter is a picker of names: {page}"
        );
    }
}

#[tokio::test]
async fn the_customer_list_counts_its_pages_and_sorts_by_pinyin_and_its_columns() {
    let o = Office::open().await;
    let named = |id: &str, name: &str| Customer {
        id: id.into(),
        name: name.into(),
        salesperson: "zhang".into(),
        region: "华东".into(),
        entered_at: 1_780_000_000_000,
        ..Default::default()
    };
    // By code point 北 (U+5317) comes before 安 (U+5B89); by pinyin, an
    // before bei before hang.
    let mut cards = vec![
        named("c-bei", "北京朝阳商行"),
        named("c-an", "安徽合肥贸易公司"),
    ];
    for n in 0..48 {
        cards.push(named(&format!("c-z{n:02}"), &format!("中山五金{n:02}号")));
    }
    o.srv.push_cards("zhang", PASSWORD, &cards).await;
    let names = |page: &str| -> Vec<String> {
        let table = between(page, "<tbody>", "</tbody>");
        table
            .split("<tr>")
            .skip(1)
            .map(|row| {
                let cell = between(row, "href=\"/console/customers/", "</a>");
                cell.split_once("\">").unwrap().1.to_string()
            })
            .collect()
    };

    let (wang, _) = o.sign_in("wang").await;
    let (status, page) = wang.get("/console/customers").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // 50 of zhang's, the tea company (also his) and li's: 52, two pages.
    assert!(page.contains("共 52 位客户,第 1 / 2 页"), "{page}");
    let first = names(&page);
    assert_eq!(first.len(), 50);
    assert_eq!(
        first[..3],
        [
            "安徽合肥贸易公司",
            "北京朝阳商行",
            "杭州西湖龙井茶业有限公司"
        ],
        "pinyin order"
    );
    let (_, second) = wang.get("/console/customers?page=1").await;
    assert!(second.contains("第 2 / 2 页"), "{second}");
    assert_eq!(names(&second).len(), 2);

    // The heading sorts the other way round, and says so.
    assert!(
        page.contains("href=\"/console/customers?dir=desc\">客户名称 ▲</a>"),
        "{page}"
    );
    let (_, desc) = wang.get("/console/customers?dir=desc").await;
    assert_eq!(names(&desc)[0], "中山五金47号", "{desc}");
    assert!(desc.contains("客户名称 ▼"), "{desc}");

    // Filters and order travel together in the URL, and the count follows
    // the filter.
    let (_, filtered) = wang
        .get("/console/customers?salesperson=li&sort=credit&dir=desc")
        .await;
    assert!(filtered.contains("共 1 位客户,第 1 / 1 页"), "{filtered}");
    assert_eq!(names(&filtered), ["深圳李记海产"]);
    assert!(filtered.contains("信用额度 ▼"), "{filtered}");
    // Its export is the filtered list, not the whole archive.
    let link = "/console/export/customers.csv?salesperson=li&amp;sort=credit&amp;dir=desc";
    assert!(filtered.contains(link), "{filtered}");
    let (status, csv) = wang.get(&link.replace("&amp;", "&")).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(csv.contains("深圳李记海产"), "{csv}");
    assert!(!csv.contains("杭州西湖龙井"), "{csv}");
    let (status, _) = wang.get("/console/export/customers.csv?sort=price").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for sort in ["grade", "followup", "activity"] {
        let (status, p) = wang.get(&format!("/console/customers?sort={sort}")).await;
        assert_eq!(status, StatusCode::OK, "{sort}: {p}");
        assert_eq!(names(&p).len(), 50, "{sort}");
    }

    // A salesperson counts only their own.
    let (zhang, _) = o.sign_in("zhang").await;
    let (_, own) = zhang.get("/console/customers").await;
    assert!(own.contains("共 51 位客户,第 1 / 2 页"), "{own}");

    // Nonsense in the URL is named, not ignored.
    for (path, says) in [
        ("/console/customers?sort=price", "无法按“price”排序"),
        ("/console/customers?dir=up", "排序方向“up”无效"),
    ] {
        let (status, p) = wang.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {p}");
        assert!(p.contains(says), "{path}: {p}");
    }
}

#[tokio::test]
async fn head_office_reassigns_and_exports_ticked_customers_all_or_nothing() {
    let o = Office::open().await;
    let (wang, _) = o.sign_in("wang").await;
    let (_, page) = wang.get("/console/customers?sort=grade").await;
    assert!(
        page.contains("action=\"/console/customers/bulk\""),
        "{page}"
    );
    assert!(page.contains("name=\"id\" value=\"c-tea\""), "{page}");
    let token = wang.csrf.clone();
    let owner = |card: serde_json::Value| {
        card["customer"]["salesperson"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let fields = |extra: &[(&'static str, &'static str)]| {
        let mut f = vec![("_csrf", token.as_str()), ("list_sort", "grade")];
        f.extend_from_slice(extra);
        f
    };

    // No reason: refused, with the page as it was, the tick and the choice kept.
    let (status, refused) = wang
        .post(
            "/console/customers/bulk",
            &fields(&[("id", "c-tea"), ("to", "li"), ("do", "reassign")]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused.contains("修改档案必须说明原因"), "{refused}");
    assert!(refused.contains("value=\"c-tea\" checked"), "{refused}");
    assert!(
        refused.contains("<option value=\"li\" selected>李娜</option>"),
        "{refused}"
    );
    assert!(refused.contains("等级 ▲"), "the same order: {refused}");
    assert_eq!(owner(o.card("c-tea").await), "zhang");

    // One customer that cannot be given: none is.
    let (status, _) = wang
        .post(
            "/console/customers/bulk",
            &fields(&[
                ("id", "c-tea"),
                ("id", "c-nope"),
                ("to", "li"),
                ("reason", "区域调整"),
                ("do", "reassign"),
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(owner(o.card("c-tea").await), "zhang");

    // Nothing ticked, or nobody to give them to: said so.
    for (extra, says) in [
        (
            vec![("to", "li"), ("reason", "x"), ("do", "reassign")],
            "请先勾选客户",
        ),
        (
            vec![
                ("id", "c-tea"),
                ("to", "nobody"),
                ("reason", "x"),
                ("do", "reassign"),
            ],
            "业务员",
        ),
    ] {
        let (status, p) = wang.post("/console/customers/bulk", &fields(&extra)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{p}");
        assert!(p.contains(says), "{says}: {p}");
    }

    // With a reason: given, and the list says how many.
    let (status, moved) = wang
        .post(
            "/console/customers/bulk",
            &fields(&[
                ("id", "c-tea"),
                ("id", "c-li"),
                ("to", "李娜"),
                ("reason", "区域调整"),
                ("do", "reassign"),
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{moved}");
    assert_eq!(owner(o.card("c-tea").await), "li");
    let (_, after) = wang
        .get("/console/customers?sort=grade&done=reassign&moved=1")
        .await;
    assert!(after.contains("已改派 1 位客户"), "{after}");

    // Export of the ticked rows only.
    let r = o
        .http
        .post(o.srv.url("/console/customers/bulk"))
        .header(COOKIE, &wang.cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&fields(&[("id", "c-li"), ("do", "export")])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("customers.xlsx"));
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an xlsx file");

    // A salesperson has no bulk actions.
    let (zhang, _) = o.sign_in("zhang").await;
    let (_, own) = zhang.get("/console/customers").await;
    assert!(!own.contains("value=\"reassign\""), "{own}");
    assert!(!own.contains("type=\"checkbox\""), "{own}");
    let (status, _) = zhang
        .post(
            "/console/customers/bulk",
            &[
                ("_csrf", zhang.csrf.as_str()),
                ("id", "c-li"),
                ("to", "zhang"),
                ("reason", "想要"),
                ("do", "reassign"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn head_office_enters_a_customer_checked_for_duplicates_with_the_form_kept() {
    let o = Office::open().await;
    let (wang, _) = o.sign_in("wang").await;
    let (status, form_page) = wang.get("/console/customers/new").await;
    assert_eq!(status, StatusCode::OK, "{form_page}");
    assert!(
        form_page.contains("<option value=\"zhang\">张伟</option>"),
        "{form_page}"
    );
    let token = wang.csrf.clone();
    let post = |fields: Vec<(&'static str, &'static str)>| {
        let mut f = vec![("_csrf", token.as_str())];
        f.extend(fields);
        f
    };

    // Nobody to give it to: refused, with what was typed kept.
    let (status, refused) = wang
        .post(
            "/console/customers/new",
            &post(vec![
                ("name", "宁波新客户贸易公司"),
                ("region", "华东"),
                ("salesperson", ""),
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused.contains("业务员"), "{refused}");
    assert!(
        refused.contains("value=\"宁波新客户贸易公司\""),
        "{refused}"
    );
    assert!(refused.contains("value=\"华东\""), "{refused}");

    // The same name, or the same mobile, as a customer on file: listed
    // first, created only once confirmed.
    let (status, refused) = wang
        .post(
            "/console/customers/new",
            &post(vec![
                ("name", "西湖茶叶新公司"),
                ("salesperson", "zhang"),
                ("mobile", "13800000001"),
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused.contains("请同时填写联系人姓名"), "{refused}");
    for (name, contact, mobile, on) in [
        ("杭州西湖龙井茶业有限公司", "", "", "名称"),
        ("西湖茶叶新公司", "孙经理", "13800000001", "电话"),
    ] {
        let (status, similar) = wang
            .post(
                "/console/customers/new",
                &post(vec![
                    ("name", name),
                    ("salesperson", "zhang"),
                    ("contact", contact),
                    ("mobile", mobile),
                ]),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{similar}");
        let listed = between(&similar, "id=\"duplicates\"", "</div>");
        assert!(listed.contains(on), "{listed}");
        assert!(listed.contains("/console/customers/c-tea"), "{listed}");
        assert!(similar.contains("name=\"anyway\""), "{similar}");
        assert!(similar.contains(&format!("value=\"{name}\"")), "{similar}");
    }
    let (status, _) = wang
        .post(
            "/console/customers/new",
            &post(vec![
                ("name", "杭州西湖龙井茶业有限公司"),
                ("salesperson", "zhang"),
                ("region", "华东"),
                ("contact", "吴经理"),
                ("mobile", "13600000009"),
                ("anyway", "1"),
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // A new name goes straight in, to the card.
    let r = o
        .http
        .post(o.srv.url("/console/customers/new"))
        .header(COOKIE, &wang.cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&post(vec![
            ("name", "温州新开五金店"),
            ("salesperson", "li"),
            ("tax_no", "91330300MA2ABCDE1X"),
        ])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("?done=create"), "{to}");
    let (_, card) = wang.get(&to).await;
    assert!(card.contains("已新建客户"), "{card}");
    assert!(card.contains("温州新开五金店"), "{card}");
    let (_, list) = wang.get("/console/customers?salesperson=li").await;
    assert!(list.contains("温州新开五金店"), "{list}");
    let (_, all) = wang.get("/console/customers").await;
    assert!(all.contains("共 4 位客户"), "{all}");

    // Not a salesperson's door.
    let (zhang, _) = o.sign_in("zhang").await;
    let (status, _) = zhang.get("/console/customers/new").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = zhang
        .post(
            "/console/customers/new",
            &[
                ("_csrf", zhang.csrf.as_str()),
                ("name", "自己的客户"),
                ("salesperson", "zhang"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
