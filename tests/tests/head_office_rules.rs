//! Business rules across laptop and head office, with the real `crm-server`
//! and real `crm` laptops: a credit-limit request filed offline and decided
//! along the approval chain, a forged decision put back, grading with its
//! audit note, warnings, settings reaching laptops, complaint statistics,
//! the daily report and the periodic review.
//!
//! Laptop-side records (sales, requests, complaints) are written through the
//! client library where the CLI has no command for them; everything else
//! goes through the CLI or HTTP on loopback.

mod common;

use common::http;
use common::server::TestServer;
use common::Laptop;
use crm_shared::codes::{ComplaintCategory, Role};
use crm_shared::customer::{Complaint, CreditRequest, Decision, Sale};
use crm_shared::note::Action;
use crm_shared::sync::SyncRequest;
use serde_json::{json, Value};

const PASSWORD: &str = "总部规则测试的密码一";

struct Office {
    server: TestServer,
    zhang: Laptop,
}

impl Office {
    /// 张伟 (salesperson, with a laptop), 王芳 (clerk), 管理员 (admin) and
    /// the four approvers of the default chain.
    fn open() -> Office {
        let server = TestServer::start_plain();
        server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
        server.add_user_named("wang", "王芳", Role::Clerk, PASSWORD);
        server.add_user_named("root", "管理员", Role::Admin, PASSWORD);
        for (login, position) in [
            ("m1", "sales_manager"),
            ("m2", "销售副总"),
            ("m3", "sales_gm"),
            ("m4", "group_gm"),
        ] {
            server.add_user_named(login, login, Role::Manager, PASSWORD);
            let out = server.admin(&["user", "position", login, position], None);
            assert!(out.status.success(), "{out:?}");
        }
        let zhang = Laptop::init("zhang");
        zhang.login(&server, "zhang", PASSWORD);
        Office { server, zhang }
    }

    fn token(&self, login: &str) -> String {
        self.server.api_login(login, PASSWORD)
    }

    fn get(&self, path: &str, token: &str) -> http::Answer {
        http::get(&self.server.url, path, Some(token))
    }

    fn post(&self, path: &str, token: &str, body: &Value) -> http::Answer {
        http::post_json(&self.server.url, path, Some(token), body)
    }

    fn decide(
        &self,
        token: &str,
        customer: &str,
        request: &str,
        approve: bool,
        comment: &str,
    ) -> http::Answer {
        self.post(
            &format!("/api/v1/credit-requests/{customer}/{request}/decide"),
            token,
            &json!({"approve": approve, "comment": comment}),
        )
    }
}

/// Files a credit request on the laptop, as `crm` would, offline.
fn file_request(laptop: &Laptop, customer: &str, id: &str, proposed: i64, reason: &str) {
    let mut store = laptop.store();
    let note = store.note(Action::CreditRequest, Some(reason));
    store
        .change(customer, &note, |c| {
            c.credit_requests.insert(
                id.into(),
                CreditRequest {
                    at: crm_client::clock::now_millis(),
                    by: "zhang".into(),
                    current: c.credit.limit,
                    proposed,
                    reason: reason.into(),
                    decisions: Default::default(),
                },
            );
            Ok(())
        })
        .unwrap();
}

fn status_of(office: &Office, token: &str, request: &str) -> Value {
    let all = office.get("/api/v1/credit-requests", token).ok_json();
    all.as_array()
        .unwrap()
        .iter()
        .find(|r| r["request_id"] == request)
        .unwrap_or_else(|| panic!("request {request} not listed: {all}"))["status"]
        .clone()
}

#[test]
fn a_request_filed_offline_is_decided_along_the_chain_and_the_laptop_sees_the_outcome() {
    let o = Office::open();
    o.zhang
        .ok(&["add", "--id", "c1", "--name", "杭州钱塘电子有限公司"]);
    // Offline: two requests, then one sync.
    file_request(&o.zhang, "c1", "cr1", 500_000, "旺季备货,月采购量翻倍");
    file_request(&o.zhang, "c1", "cr2", 900_000, "计划扩大合作");
    o.zhang.sync();

    let [m1, m2, m3, m4] = ["m1", "m2", "m3", "m4"].map(|m| o.token(m));
    assert_eq!(
        status_of(&o, &m1, "cr1"),
        json!({"state": "pending", "position": "sales_manager"})
    );

    // Out of turn: the VP cannot go first.
    let e = o
        .decide(&m2, "c1", "cr1", true, "")
        .expect_error(403, "forbidden");
    assert!(e.message.contains("待销售管理部经理审批"), "{}", e.message);
    // A clerk is no approver at all.
    let wang = o.token("wang");
    o.decide(&wang, "c1", "cr1", true, "")
        .expect_error(403, "forbidden");

    o.decide(&m1, "c1", "cr1", true, "同意").ok_json();
    o.decide(&m1, "c1", "cr2", true, "").ok_json();
    let waiting: Vec<String> = o
        .get("/api/v1/credit-requests?waiting_for_me=true", &m2)
        .ok_json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["request_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(waiting, ["cr1", "cr2"]);
    assert!(o
        .get("/api/v1/credit-requests?waiting_for_me=true", &m3)
        .ok_json()
        .as_array()
        .unwrap()
        .is_empty());

    // The VP rejects cr2: a rejection needs a comment, and it ends the chain.
    o.decide(&m2, "c1", "cr2", false, " ")
        .expect_error(400, "bad_request");
    let v = o
        .decide(&m2, "c1", "cr2", false, "额度过高,先按五十万执行")
        .ok_json();
    assert_eq!(
        v["status"],
        json!({"state": "rejected", "position": "sales_vp"})
    );
    let e = o
        .decide(&m3, "c1", "cr2", true, "")
        .expect_error(403, "forbidden");
    assert!(e.message.contains("已结束"), "{}", e.message);

    o.decide(&m2, "c1", "cr1", true, "").ok_json();
    o.decide(&m3, "c1", "cr1", true, "").ok_json();
    // Three of four approvals change nothing yet.
    let card = o.get("/api/v1/customers/c1", &wang).ok_json();
    assert_eq!(card["customer"]["credit"]["limit"], Value::Null);
    let v = o.decide(&m4, "c1", "cr1", true, "批准").ok_json();
    assert_eq!(v["status"], json!({"state": "approved"}));

    let card = o.get("/api/v1/customers/c1", &wang).ok_json();
    assert_eq!(card["customer"]["credit"]["limit"], 500_000);
    let last = card["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["by"], "m4", "{last}");
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .contains("信用额度改为 500000 元"),
        "{last}"
    );

    // The salesperson sees it all after the next sync.
    o.zhang.sync();
    let c = o.zhang.store().get("c1").unwrap();
    assert_eq!(c.credit.limit, Some(500_000));
    assert_eq!(c.credit_requests["cr1"].decisions.len(), 4);
    let d = &c.credit_requests["cr2"].decisions;
    assert_eq!(d.len(), 2);
    assert!(!d["sales_vp"].approved);
    assert_eq!(d["sales_vp"].by, "m2");
    assert_eq!(d["sales_vp"].comment, "额度过高,先按五十万执行");
}

#[test]
fn a_laptop_cannot_forge_or_undo_a_decision() {
    let o = Office::open();
    o.zhang
        .ok(&["add", "--id", "c1", "--name", "宁波北仑港务贸易"]);
    file_request(&o.zhang, "c1", "cr1", 300_000, "新签年度合同");
    o.zhang.sync();
    let m1 = o.token("m1");
    o.decide(&m1, "c1", "cr1", true, "同意").ok_json();
    o.zhang.sync();

    // The laptop forges the VP's approval and raises the amount.
    let mut store = o.zhang.store();
    let note = store.note(Action::Edit, Some("试图伪造"));
    store
        .change("c1", &note, |c| {
            let r = c.credit_requests.get_mut("cr1").unwrap();
            r.proposed = 3_000_000;
            r.decisions.insert(
                "sales_vp".into(),
                Decision {
                    approved: true,
                    by: "zhang".into(),
                    at: 1,
                    comment: String::new(),
                },
            );
            Ok(())
        })
        .unwrap();
    drop(store);
    let report = o.zhang.sync();
    assert!(
        report.to_string().contains("credit_requests.cr1"),
        "the sync report names the request put back: {report}"
    );
    let wang = o.token("wang");
    let server = o.get("/api/v1/customers/c1", &wang).ok_json();
    let r = &server["customer"]["credit_requests"]["cr1"];
    assert_eq!(r["proposed"], 300_000);
    assert_eq!(r["decisions"].as_object().unwrap().len(), 1);
    assert_eq!(
        status_of(&o, &wang, "cr1"),
        json!({"state": "pending", "position": "sales_vp"})
    );
    o.zhang.sync();
    let c = o.zhang.store().get("c1").unwrap();
    assert_eq!(c.credit_requests["cr1"].proposed, 300_000);
    assert!(!c.credit_requests["cr1"].decisions.contains_key("sales_vp"));
}

/// A sale on `day` (YYYY-MM-DD), with an optional due day.
fn sale(amount: i64, day: &str, due: Option<&str>) -> Sale {
    Sale {
        day: Some(day.parse().unwrap()),
        product: "工业传感器".into(),
        quantity: 10.0,
        amount,
        due: due.map(|d| d.parse().unwrap()),
        paid_on: None,
        by: "zhang".into(),
    }
}

#[test]
fn grading_warnings_and_settings_at_head_office() {
    let o = Office::open();
    o.zhang.ok(&["add", "--id", "c1", "--name", "苏州吴中精工"]);
    o.zhang.ok(&["add", "--id", "c2", "--name", "无锡滨湖纺织"]);
    let today = chrono::Local::now().date_naive();
    let months_ago = |n: u32| {
        (today - chrono::Months::new(n))
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut store = o.zhang.store();
    let note = store.note(Action::Sale, None);
    store
        .change("c1", &note, |c| {
            // Previous period 100,000 a month on average; current 50,000.
            c.sales
                .insert("s1".into(), sale(300_000, &months_ago(5), None));
            c.sales.insert(
                "s2".into(),
                sale(150_000, &months_ago(2), Some(&months_ago(1))),
            );
            Ok(())
        })
        .unwrap();
    drop(store);
    o.zhang.sync();

    let wang = o.token("wang");
    let rows = o.get("/api/v1/grades", &wang).ok_json();
    let c1 = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "c1")
        .unwrap()
        .clone();
    let c2 = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "c2")
        .unwrap()
        .clone();
    // Sales points 50, one credit sale overdue and unpaid: rate 0 → 25.0, E.
    assert_eq!(c1["score"], 25.0, "{c1}");
    assert_eq!(c1["grade"], "E");
    assert_eq!(c1["monthly_average"], 50_000.0);
    assert_eq!(c2["grade"], Value::Null);

    // Warnings: the overdue sale, with its amount.
    let w = o.get("/api/v1/warnings", &wang).ok_json();
    let overdue = w
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["customer"] == "c1" && x["rule"] == "overdue_arrears")
        .unwrap_or_else(|| panic!("no overdue warning: {w}"));
    assert!(overdue["figure"].as_str().unwrap().contains("150,000 元"));

    // Only head office applies grades; it writes them with the figures as the reason.
    let z = o.token("zhang");
    o.post("/api/v1/grades/apply", &z, &json!({}))
        .expect_error(403, "forbidden");
    let applied = o.post("/api/v1/grades/apply", &wang, &json!({})).ok_json();
    assert_eq!(applied["changed"], json!(["c1"]));
    assert_eq!(applied["not_graded"], 1);
    let card = o.get("/api/v1/customers/c1", &wang).ok_json();
    assert_eq!(card["customer"]["grade"], "E");
    let last = card["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["by"], "wang");
    assert!(
        last["reason"].as_str().unwrap().contains("评分 25"),
        "{last}"
    );
    // A second run finds nothing to change; the low grade is now a warning too.
    let again = o.post("/api/v1/grades/apply", &wang, &json!({})).ok_json();
    assert_eq!(again["changed"], json!([]));
    let w = o.get("/api/v1/warnings?salesperson=zhang", &wang).ok_json();
    assert!(w
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["rule"] == "low_grade"));
    // A salesperson sees only their own; asking for another's is refused.
    o.get("/api/v1/warnings?salesperson=li", &z)
        .expect_error(403, "forbidden");

    // Settings: bad ones are refused with the setting named, and nothing changes.
    let root = o.token("root");
    let e = http::send(
        &o.server.url,
        &http::Request {
            method: "PUT",
            ..http::Request::post(
                "/api/v1/settings",
                Some(&root),
                br#"{"grading": {"sales_weight": 0.9}}"#,
            )
        },
    )
    .expect_error(400, "bad_request");
    assert!(e.message.contains("权重"), "{}", e.message);
    assert_eq!(o.get("/api/v1/settings", &wang).ok_json()["version"], 0);
    let ok = http::send(
        &o.server.url,
        &http::Request {
            method: "PUT",
            ..http::Request::post("/api/v1/settings", Some(&root), br#"{"review_days": 30}"#)
        },
    )
    .ok_json();
    assert_eq!(ok["version"], 1);
    // A laptop that holds version 1 is not sent them again; one that holds none is.
    let sync = |v: Option<u64>| {
        http::post_json(
            &o.server.url,
            "/api/v1/sync",
            Some(&z),
            &SyncRequest {
                settings_version: v,
                ..Default::default()
            },
        )
        .ok_json()
    };
    assert_eq!(sync(None)["settings"]["settings"]["review_days"], 30);
    assert!(sync(Some(1)).get("settings").is_none());
    // The laptop stores them with its next sync and applies them offline.
    o.zhang.sync();
    let store = o.zhang.store();
    assert_eq!(store.settings().unwrap().review_days, 30);
    assert_eq!(store.versioned_settings().unwrap().unwrap().version, 1);
}

#[test]
fn complaint_statistics_daily_report_and_review() {
    let o = Office::open();
    o.zhang.ok(&["add", "--id", "c1", "--name", "温州鹿城鞋业"]);
    o.zhang.ok(&[
        "visit",
        "c1",
        "--notes",
        "拜访采购部,确认样品",
        "--intent",
        "H",
    ]);
    let at = |s: &str| {
        use chrono::TimeZone;
        chrono::Local
            .from_local_datetime(
                &chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
            )
            .unwrap()
            .timestamp_millis()
    };
    let mut store = o.zhang.store();
    let note = store.note(Action::Complaint, None);
    store
        .change("c1", &note, |c| {
            for (id, when) in [("k1", "2026-10-31 23:30"), ("k2", "2026-11-01 00:10")] {
                c.complaints.insert(
                    id.into(),
                    Complaint {
                        at: at(when),
                        by: "zhang".into(),
                        description: "鞋底开胶".into(),
                        ..Default::default()
                    },
                );
            }
            Ok(())
        })
        .unwrap();
    drop(store);
    o.zhang.sync();

    // Head office judges each (初步判断).
    let wang = o.token("wang");
    for (id, category) in [("k1", "quality"), ("k2", "non_quality")] {
        o.post(
            &format!("/api/v1/customers/c1/complaints/{id}/steps"),
            &wang,
            &json!({"step": "judged", "input": {"category": category}}),
        )
        .ok_json();
    }
    let stats = o.get("/api/v1/reports/complaints", &wang).ok_json();
    assert_eq!(stats[0]["month"], "2026-10");
    assert_eq!(stats[0]["quality"], 1);
    assert_eq!(stats[1]["month"], "2026-11");
    assert_eq!(stats[1]["non_quality"], 1);
    assert_eq!(stats[1]["open"], 1);

    // Today's daily report of 张伟 lists the visit; tomorrow's plan has the H-level follow-up
    // only if it is due tomorrow (H: every 2 days), so it is not there.
    let r = o
        .get("/api/v1/reports/daily?salesperson=zhang", &wang)
        .ok_json();
    assert_eq!(r["activities"][0]["notes"], "拜访采购部,确认样品");
    assert_eq!(r["activities"][0]["intent"], "H");
    o.get(
        "/api/v1/reports/daily?salesperson=zhang&day=2026-13-01",
        &wang,
    )
    .expect_error(400, "bad_request");

    // A new record has not been reviewed, but is not overdue either.
    let due = o.get("/api/v1/reviews/due", &wang).ok_json();
    assert!(due.as_array().unwrap().is_empty(), "{due}");
    let far = (chrono::Local::now().date_naive() + chrono::Days::new(90))
        .format("%Y-%m-%d")
        .to_string();
    let due = o
        .get(&format!("/api/v1/reviews/due?day={far}"), &wang)
        .ok_json();
    assert_eq!(due[0]["customer"], "c1");

    // The salesperson may review their own customer through the API, as
    // `crm review mark` then sync already allows; an administrator may not.
    let z = o.token("zhang");
    o.post(
        "/api/v1/customers/c1/review",
        &z,
        &json!({"tier": "special", "notes": "走访时核对"}),
    )
    .ok_json();
    let root = o.token("root");
    o.post("/api/v1/customers/c1/review", &root, &json!({}))
        .expect_error(403, "forbidden");
    o.post(
        "/api/v1/customers/c1/review",
        &wang,
        &json!({"tier": "重要", "notes": "资料已核对"}),
    )
    .ok_json();
    let card = o.get("/api/v1/customers/c1", &wang).ok_json();
    assert_eq!(card["customer"]["tier"], "important");
    let by: Vec<&str> = card["customer"]["reviews"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["by"].as_str().unwrap())
        .collect();
    assert!(by.contains(&"zhang") && by.contains(&"wang"), "{by:?}");
    let last = card["history"].as_array().unwrap().last().unwrap().clone();
    assert!(
        last["reason"].as_str().unwrap().contains("定期审查"),
        "{last}"
    );
    let soon = (chrono::Local::now().date_naive() + chrono::Days::new(59))
        .format("%Y-%m-%d")
        .to_string();
    let due = o
        .get(&format!("/api/v1/reviews/due?day={soon}"), &wang)
        .ok_json();
    assert!(due.as_array().unwrap().is_empty(), "{due}");
}

/// The grade table and the warnings read rows the server keeps per
/// customer; whatever the day, filter or page, they must say what the
/// rules say when run afresh over the cards themselves.
#[test]
fn report_pages_say_what_the_cards_say_on_any_day() {
    use crm_shared::customer::{Activity, Review};
    use crm_shared::day::Day;
    use crm_shared::grading::GradeRow;
    use crm_shared::settings::Settings;
    use crm_shared::{warnings, Customer};

    let o = Office::open();
    let names = [
        "苏州吴中精工",
        "无锡滨湖纺织",
        "安徽芜湖电机",
        "北京中关村仪表",
        "成都武侯汽配",
        "杭州西湖茶业",
    ];
    for (i, name) in names.iter().enumerate() {
        let region = if i % 2 == 0 { "华东" } else { "华北" };
        o.zhang.ok(&[
            "add",
            "--id",
            &format!("c{i}"),
            "--name",
            name,
            "--region",
            region,
        ]);
    }
    let today = Day(chrono::Local::now().date_naive());
    let ms = |d: Day| {
        use chrono::TimeZone;
        chrono::Local
            .from_local_datetime(&d.0.and_hms_opt(10, 0, 0).unwrap())
            .unwrap()
            .timestamp_millis()
    };
    let mut store = o.zhang.store();
    let note = store.note(Action::Sale, None);
    for i in 0..names.len() as i64 {
        store
            .change(&format!("c{i}"), &note, |c| {
                // Sales due at different days around today, some unpaid.
                for k in 0..i {
                    let day = today.plus_days(-30 * (k + 1));
                    let due = today.plus_days(10 * (k - i + 2));
                    c.sales.insert(
                        format!("s{k}"),
                        sale(10_000 * (k + 1), &day.to_string(), Some(&due.to_string())),
                    );
                }
                c.activities.insert(
                    "a1".into(),
                    Activity {
                        at: ms(today.plus_days(-20 * i)),
                        next_followup: Some(today.plus_days(7 - 5 * i)),
                        ..Default::default()
                    },
                );
                if i % 3 == 0 {
                    c.reviews.insert(
                        "r1".into(),
                        Review {
                            at: ms(today.plus_days(-50)),
                            ..Default::default()
                        },
                    );
                }
                Ok(())
            })
            .unwrap();
    }
    let note = store.note(Action::Contact, None);
    store
        .change("c5", &note, |c| {
            c.contacts.insert(
                "k1".into(),
                crm_shared::customer::Contact {
                    name: "钱经理".into(),
                    primary: true,
                    mobile: "13800138000".into(),
                    ..Default::default()
                },
            );
            Ok(())
        })
        .unwrap();
    // Complaints in two months, registered on the laptop; head office
    // judges and closes them in different ways below.
    let note = store.note(Action::Complaint, None);
    let mut handled = Vec::new();
    for (customer, i, days_ago, category, closed, satisfied) in [
        ("c1", 0, 3, None, false, None),
        (
            "c1",
            1,
            40,
            Some(ComplaintCategory::Quality),
            true,
            Some(true),
        ),
        (
            "c4",
            0,
            40,
            Some(ComplaintCategory::NonQuality),
            true,
            Some(false),
        ),
        ("c4", 1, 41, Some(ComplaintCategory::Quality), true, None),
    ] {
        store
            .change(customer, &note, |c| {
                c.complaints.insert(
                    format!("k{i}"),
                    Complaint {
                        at: ms(today.plus_days(-days_ago)),
                        by: "zhang".into(),
                        description: "包装破损".into(),
                        ..Default::default()
                    },
                );
                Ok(())
            })
            .unwrap();
        handled.push((customer, format!("k{i}"), category, closed, satisfied));
    }
    drop(store);
    o.zhang.sync();

    let wang = o.token("wang");
    for (customer, key, category, closed, satisfied) in handled {
        handle(&o, customer, &key, category, closed, satisfied);
    }
    // The follow-up list names whom to ring (c5's is overdue).
    let due = o.get("/api/v1/followups", &wang).ok_json();
    let c5 = due
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["customer"] == "c5")
        .unwrap_or_else(|| panic!("c5 not due: {due}"));
    assert_eq!(c5["contact"], "钱经理", "{c5}");
    assert_eq!(c5["phone"], "13800138000", "{c5}");
    let cards: Vec<Customer> = (0..names.len())
        .map(|i| {
            let v = o.get(&format!("/api/v1/customers/c{i}"), &wang).ok_json();
            serde_json::from_value(v["customer"].clone()).unwrap()
        })
        .collect();
    let rows = |v: Value| v.as_array().unwrap().clone();
    let check_all = |settings: &Settings| {
        for day in [
            today,
            today.plus_days(25),
            today.plus_days(95),
            today.plus_days(-40),
        ] {
            // Warnings: the same set as the rules run afresh on each card.
            let mut want: Vec<(String, String)> = cards
                .iter()
                .flat_map(|c| warnings::check(c, settings, day))
                .map(|w| (w.customer, w.figure))
                .collect();
            let got = rows(
                o.get(&format!("/api/v1/warnings?day={day}"), &wang)
                    .ok_json(),
            );
            let mut got_pairs: Vec<(String, String)> = got
                .iter()
                .map(|w| {
                    (
                        w["customer"].as_str().unwrap().into(),
                        w["figure"].as_str().unwrap().into(),
                    )
                })
                .collect();
            want.sort();
            got_pairs.sort();
            assert_eq!(got_pairs, want, "warnings on {day}");
            // Pages of two, and one rule, are slices of the whole.
            let mut paged = Vec::new();
            for offset in (0..got.len() + 2).step_by(2) {
                paged.extend(rows(
                    o.get(
                        &format!("/api/v1/warnings?day={day}&offset={offset}&limit=2"),
                        &wang,
                    )
                    .ok_json(),
                ));
            }
            assert_eq!(paged, got, "warnings on {day}, in pages");
            let overdue = rows(
                o.get(
                    &format!("/api/v1/warnings?day={day}&rule=followup_overdue"),
                    &wang,
                )
                .ok_json(),
            );
            let want: Vec<_> = got
                .iter()
                .filter(|w| w["rule"] == "followup_overdue")
                .cloned()
                .collect();
            assert_eq!(overdue, want, "overdue follow-ups on {day}");
            let east = rows(
                o.get(
                    &format!("/api/v1/warnings?day={day}&region=%E5%8D%8E%E4%B8%9C"),
                    &wang,
                )
                .ok_json(),
            );
            let want: Vec<_> = got
                .iter()
                .filter(|w| {
                    cards
                        .iter()
                        .any(|c| c.id == w["customer"].as_str().unwrap() && c.region == "华东")
                })
                .cloned()
                .collect();
            assert_eq!(east, want, "warnings in 华东 on {day}");
        }
        // Grades today (the rows kept) and on another day (assessed afresh).
        for day in [today, today.plus_days(40)] {
            let mut want: Vec<GradeRow> = cards
                .iter()
                .map(|c| GradeRow::of(c, &settings.grading, day))
                .collect();
            let mut got: Vec<GradeRow> = serde_json::from_value(
                o.get(&format!("/api/v1/grades?day={day}"), &wang).ok_json(),
            )
            .unwrap();
            want.sort_by(|a, b| a.id.cmp(&b.id));
            got.sort_by(|a, b| a.id.cmp(&b.id));
            assert_eq!(got, want, "grades on {day}");
            // One grade in one region: the same rows, filtered.
            let graded = want
                .iter()
                .find_map(|r| r.grade)
                .expect("some customer is graded");
            let mut got: Vec<GradeRow> = serde_json::from_value(
                o.get(
                    &format!(
                        "/api/v1/grades?day={day}&grade={}&region=%E5%8D%8E%E4%B8%9C",
                        graded.code()
                    ),
                    &wang,
                )
                .ok_json(),
            )
            .unwrap();
            got.sort_by(|a, b| a.id.cmp(&b.id));
            let want: Vec<GradeRow> = want
                .into_iter()
                .filter(|r| r.grade == Some(graded))
                .filter(|r| cards.iter().any(|c| c.id == r.id && c.region == "华东"))
                .collect();
            assert_eq!(got, want, "grade {graded:?} in 华东 on {day}");
        }
    };
    check_all(&Settings::default());

    // Monthly complaint statistics, from the rows kept, equal the rule's.
    let stats = o.get("/api/v1/reports/complaints", &wang).ok_json();
    let want = crm_shared::reports::complaint_stats(&cards);
    assert_eq!(stats, serde_json::to_value(&want).unwrap());
    assert_eq!(want.iter().map(|m| m.total).sum::<u32>(), 4);

    // By name in pinyin order: 安徽, 北京, 成都, 杭州, 苏州, 无锡.
    let order: Vec<String> = rows(o.get("/api/v1/grades", &wang).ok_json())
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        order,
        [
            "安徽芜湖电机",
            "北京中关村仪表",
            "成都武侯汽配",
            "杭州西湖茶业",
            "苏州吴中精工",
            "无锡滨湖纺织"
        ]
    );
    // A bad rule or grade is refused by name.
    let e = o
        .get("/api/v1/warnings?rule=nonsense", &wang)
        .expect_error(400, "bad_request");
    assert!(e.message.contains("rule"), "{}", e.message);
    o.get("/api/v1/grades?grade=Z", &wang)
        .expect_error(400, "bad_request");

    // New settings rewrite every customer's warnings at once.
    let root = o.token("root");
    http::send(
        &o.server.url,
        &http::Request {
            method: "PUT",
            ..http::Request::post(
                "/api/v1/settings",
                Some(&root),
                br#"{"churn_days": 15, "review_days": 10}"#,
            )
        },
    )
    .ok_json();
    let settings: Settings =
        serde_json::from_value(o.get("/api/v1/settings", &wang).ok_json()["settings"].clone())
            .unwrap();
    assert_eq!(settings.churn_days, 15);
    check_all(&settings);

    // A laptop's change reaches the warnings with its sync.
    let mut store = o.zhang.store();
    let note = store.note(Action::Activity, None);
    store
        .change("c2", &note, |c| {
            c.activities.insert(
                "a2".into(),
                Activity {
                    at: chrono::Utc::now().timestamp_millis(),
                    next_followup: Some(today.plus_days(30)),
                    ..Default::default()
                },
            );
            Ok(())
        })
        .unwrap();
    // And a payment, to the grade table (the row kept for today changes).
    let note = store.note(Action::Sale, Some("客户按期付款"));
    store
        .change("c3", &note, |c| {
            for s in c.sales.values_mut() {
                s.paid_on = s.due;
            }
            Ok(())
        })
        .unwrap();
    drop(store);
    let overdue = || {
        rows(
            o.get("/api/v1/warnings?rule=followup_overdue", &wang)
                .ok_json(),
        )
    };
    let c3 = || {
        let all: Vec<GradeRow> =
            serde_json::from_value(o.get("/api/v1/grades", &wang).ok_json()).unwrap();
        all.into_iter().find(|r| r.id == "c3").unwrap()
    };
    assert!(overdue().iter().any(|w| w["customer"] == "c2"));
    let before = c3();
    o.zhang.sync();
    assert!(
        overdue().iter().all(|w| w["customer"] != "c2"),
        "{:?}",
        overdue()
    );
    let card: Customer =
        serde_json::from_value(o.get("/api/v1/customers/c3", &wang).ok_json()["customer"].clone())
            .unwrap();
    let after = c3();
    assert_ne!(after, before);
    assert_eq!(after, GradeRow::of(&card, &settings.grading, today));
}

/// Head office takes complaint `key` of `customer` through its steps:
/// judged as `category` (if any), and, when `closed`, handled to the end
/// with the customer `satisfied` (none: not asked, only for the record).
fn handle(
    o: &Office,
    customer: &str,
    key: &str,
    category: Option<ComplaintCategory>,
    closed: bool,
    satisfied: Option<bool>,
) {
    let Some(category) = category else { return };
    let (wang, m1) = (o.token("wang"), o.token("m1"));
    let path = format!("/api/v1/customers/{customer}/complaints/{key}/steps");
    let mut steps = vec![(&wang, "judged", json!({"category": category.code()}))];
    if closed {
        steps.extend([
            (
                &wang,
                "plan",
                json!({"remedy": "补发", "inspection": "破损", "responsible_department": "物流部",
                       "sample_returned": false}),
            ),
            (&m1, "opinion", json!({"opinion": "同意"})),
            (&wang, "negotiated", json!({"agreed": true})),
            (&wang, "executed", json!({"execution": "已补发"})),
            (
                &wang,
                "satisfaction",
                json!({"satisfied": satisfied.unwrap_or(false)}),
            ),
            (&wang, "closed", json!({})),
        ]);
    }
    for (token, step, input) in steps {
        o.post(&path, token, &json!({"step": step, "input": input}))
            .ok_json();
    }
}

/// The key `crm complaint add` prints: `已登记投诉(KEY)`.
fn complaint_key(out: &str) -> String {
    out.split(['(', ')']).nth(1).unwrap().to_string()
}

#[test]
fn a_complaint_is_handled_step_by_step_and_a_laptop_cannot_take_head_offices_steps() {
    let o = Office::open();
    o.zhang
        .ok(&["add", "--id", "c1", "--name", "宁波北仑港务贸易"]);
    let key = complaint_key(&o.zhang.ok(&[
        "complaint",
        "add",
        "c1",
        "--description",
        "外箱破损,内件受潮",
    ]));
    o.zhang.sync();
    let (wang, m1, m2, zhang) = (
        o.token("wang"),
        o.token("m1"),
        o.token("m2"),
        o.token("zhang"),
    );
    let steps = format!("/api/v1/customers/c1/complaints/{key}/steps");
    let step = |token: &str, step: &str, input: Value| {
        o.post(&steps, token, &json!({"step": step, "input": input}))
    };

    // In the handbook's order, by the roles that own each step.
    let e = step(&wang, "plan", json!({"remedy": "补发"})).expect_error(400, "bad_request");
    assert!(e.message.contains("初步判断"), "{e:?}");
    step(&zhang, "judged", json!({"category": "quality"})).expect_error(403, "forbidden");
    step(&wang, "judged", json!({"category": "quality"})).ok_json();
    // A quality issue's plan carries the investigation form's fields.
    let e = step(&wang, "plan", json!({"remedy": "补发"})).expect_error(400, "bad_request");
    assert!(e.message.contains("检验结果"), "{e:?}");
    step(
        &wang,
        "plan",
        json!({"remedy": "补发", "inspection": "外箱受潮变形", "responsible_department": "物流部",
               "sample_returned": true}),
    )
    .ok_json();
    let waiting = o.get("/api/v1/complaints?stage=opinion", &wang).ok_json();
    assert_eq!(waiting.as_array().unwrap().len(), 1, "{waiting}");
    assert_eq!(waiting[0]["stage"], "待销售管理部经理签署意见");
    assert_eq!(waiting[0]["name"], "宁波北仑港务贸易");
    // Only the sales management manager signs the opinion.
    step(&wang, "opinion", json!({"opinion": "同意"})).expect_error(403, "forbidden");
    step(&m2, "opinion", json!({"opinion": "同意"})).expect_error(403, "forbidden");
    let k = step(&m1, "opinion", json!({"opinion": "同意补发"})).ok_json();
    assert_eq!(k["steps"]["opinion"]["by"], "m1");
    o.zhang.sync();

    // The laptop forges head office's plan while taking its own step.
    let mut store = o.zhang.store();
    let note = store.note(Action::Complaint, Some("试图伪造"));
    store
        .change("c1", &note, |c| {
            let k = c.complaints.get_mut(&key).unwrap();
            k.remedy = "全额退款".into();
            k.steps.get_mut("plan").unwrap().by = "zhang".into();
            Ok(())
        })
        .unwrap();
    drop(store);
    o.zhang.ok(&[
        "complaint",
        "update",
        "c1",
        &key,
        "--agreed",
        "是",
        "--negotiation",
        "客户同意补发",
    ]);
    let report = o.zhang.sync();
    assert!(
        report.to_string().contains(&format!("complaints.{key}")),
        "the sync report names the complaint put back: {report}"
    );
    let card = o.get("/api/v1/customers/c1", &wang).ok_json();
    let k = &card["customer"]["complaints"][&key];
    assert_eq!(k["remedy"], "补发");
    assert_eq!(k["steps"]["plan"]["by"], "wang");
    assert_eq!(k["agreed"], true, "the salesperson's own step is kept: {k}");
    assert_eq!(k["negotiation"], "客户同意补发");
    o.zhang.sync();
    assert_eq!(
        o.zhang.store().get("c1").unwrap().complaints[&key].remedy,
        "补发"
    );

    // The salesperson carries it out and asks the customer; the clerk closes.
    o.zhang.ok(&[
        "complaint",
        "update",
        "c1",
        &key,
        "--execution",
        "已补发",
        "--satisfied",
        "满意",
    ]);
    o.zhang.sync();
    step(&wang, "closed", json!({})).ok_json();
    let e = step(&wang, "closed", json!({})).expect_error(400, "bad_request");
    assert!(e.message.contains("已结案"), "{e:?}");
    let closed = o.get("/api/v1/complaints?status=closed", &wang).ok_json();
    assert_eq!(closed[0]["key"], key.as_str());
    assert_eq!(closed[0]["stage"], "已结案");
    let stats = o.get("/api/v1/reports/complaints", &wang).ok_json();
    assert_eq!(
        (stats[0]["quality"].as_u64(), stats[0]["satisfied"].as_u64()),
        (Some(1), Some(1))
    );

    // A salesperson registers on the laptop, not at head office; a bad
    // filter is named.
    o.post(
        "/api/v1/customers/c1/complaints",
        &zhang,
        &json!({"description": "再次投诉"}),
    )
    .expect_error(403, "forbidden");
    let e = o
        .get("/api/v1/complaints?stage=nonsense", &wang)
        .expect_error(400, "bad_request");
    assert!(e.message.contains("投诉处理步骤"), "{e:?}");
    let mine = o.get("/api/v1/complaints", &zhang).ok_json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
}
