//! Sync stories with the real `crm-server` (plain HTTP on an ephemeral
//! loopback port, its own data directory) and real `crm` laptops, each in
//! its own directory: two salespeople, 张伟 (`zhang`) and 李娜 (`li`), and
//! the archive clerk 王芳 (`wang`). Nothing is mocked; crafted requests go
//! over real sockets (`common::http`) with tokens from `POST /api/v1/login`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::time::{Duration, Instant};

use common::http::{self, Request};
use common::server::TestServer;
use common::{texts, Laptop};
use crm_shared::codes::Role;
use crm_shared::note::Action;
use crm_shared::sync::{Blob, DocPush, SyncRequest};
use crm_shared::Customer;
use serde_json::{json, Value};

const PASSWORD: &str = "同步测试的密码 2024";

/// The server with its three users, and one logged-in laptop each.
struct Office {
    server: TestServer,
    zhang: Laptop,
    li: Laptop,
    wang: Laptop,
}

impl Office {
    fn open() -> Office {
        Office::open_with(&[])
    }

    /// With extra `serve` flags (plain HTTP always).
    fn open_with(extra: &[&str]) -> Office {
        let server = TestServer::start_plain_with(extra);
        server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
        server.add_user_named("li", "李娜", Role::Salesperson, PASSWORD);
        server.add_user_named("wang", "王芳", Role::Clerk, PASSWORD);
        let laptop = |user: &str| {
            let laptop = Laptop::init(user);
            laptop.login(&server, user, PASSWORD);
            laptop
        };
        Office {
            zhang: laptop("zhang"),
            li: laptop("li"),
            wang: laptop("wang"),
            server,
        }
    }

    /// A fresh bearer token for `login` (a new device, via the API).
    fn token(&self, login: &str) -> String {
        self.server.api_login(login, PASSWORD)
    }

    /// `GET path` with `token`.
    fn get(&self, path: &str, token: &str) -> http::Answer {
        http::get(&self.server.url, path, Some(token))
    }

    /// The server's view of a customer (`GET /api/v1/customers/{id}`):
    /// `{customer, history, conflicts}`; demands success.
    fn server_card(&self, token: &str, id: &str) -> Value {
        self.get(&format!("/api/v1/customers/{id}"), token)
            .ok_json()
    }

    /// `GET /api/v1/conflicts`; demands success.
    fn server_conflicts(&self, token: &str) -> Value {
        self.get("/api/v1/conflicts", token).ok_json()
    }

    /// `POST /api/v1/sync` with `req`, as the holder of `token`.
    fn post_sync(&self, token: &str, req: &SyncRequest) -> http::Answer {
        http::post_json(&self.server.url, "/api/v1/sync", Some(token), req)
    }
}

// ---- small CLI helpers ----

fn add(laptop: &Laptop, id: &str, name: &str, extra: &[&str]) {
    let mut args = vec!["add", "--id", id, "--name", name];
    args.extend_from_slice(extra);
    laptop.ok(&args);
}

/// `crm visit ID --notes NOTES`; returns the new visit's key, as printed
/// ("已记录拜访(KEY),下次跟进:…").
fn visit(laptop: &Laptop, id: &str, notes: &str) -> String {
    let out = laptop.ok(&["visit", id, "--notes", notes]);
    let start = out
        .find('(')
        .unwrap_or_else(|| panic!("no visit key in {out:?}"))
        + '('.len_utf8();
    let end = start + out[start..].find(')').expect("closing parenthesis");
    out[start..end].to_string()
}

fn edit(laptop: &Laptop, id: &str, set: &str, reason: &str) {
    laptop.ok(&["edit", id, "--set", set, "--reason", reason]);
}

/// `crm list --json`, by id.
fn list(laptop: &Laptop) -> BTreeMap<String, Value> {
    laptop
        .json(&["list"])
        .as_array()
        .expect("list --json is an array")
        .iter()
        .map(|row| (row["id"].as_str().unwrap().to_string(), row.clone()))
        .collect()
}

fn ids(laptop: &Laptop) -> BTreeSet<String> {
    list(laptop).into_keys().collect()
}

/// `crm show ID --json`.
fn card(laptop: &Laptop, id: &str) -> Value {
    laptop.json(&["show", id])
}

/// A card without what `show --json` derives from it (to compare with the
/// server's `customer`).
fn bare(card: &Value) -> Value {
    let mut c = card.clone();
    let m = c.as_object_mut().expect("a card is an object");
    for derived in ["next_followup", "current_intent", "conflicts"] {
        m.remove(derived);
    }
    c
}

/// The value at a dotted path of a card.
fn at<'v>(card: &'v Value, path: &str) -> &'v Value {
    path.split('.').fold(card, |v, part| &v[part])
}

fn activity_keys(card: &Value) -> BTreeSet<String> {
    card["activities"]
        .as_object()
        .expect("activities is a map")
        .keys()
        .cloned()
        .collect()
}

fn count(report: &Value, key: &str) -> u64 {
    report[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in sync report {report}"))
}

/// `(value, author)` pairs of a conflict entry, order ignored.
fn conflict_values(conflict: &Value) -> BTreeSet<(String, String)> {
    conflict["values"]
        .as_array()
        .expect("values is an array")
        .iter()
        .map(|v| {
            (
                v["value"].as_str().unwrap_or_default().to_string(),
                v["by"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Whether a history (`history --json` or the server's) has an entry by
/// `by` with `action` whose reason contains `reason` and which set `path`
/// to `new` (as text).
fn history_has(
    history: &Value,
    by: &str,
    action: &str,
    reason: &str,
    path: &str,
    new: &str,
) -> bool {
    history
        .as_array()
        .expect("history is an array")
        .iter()
        .any(|h| {
            h["by"] == by
                && h["action"] == action
                && h["reason"].as_str().is_some_and(|r| r.contains(reason))
                && h["fields"]
                    .as_array()
                    .is_some_and(|fs| fs.iter().any(|f| f["path"] == path && f["new"] == new))
        })
}

// ---- 1. offline edits, every sync order ----

/// What one customer must look like everywhere.
#[derive(Debug, Default)]
struct Expected {
    owner: String,
    visits: BTreeSet<String>,
    fields: BTreeMap<&'static str, String>,
}

/// Who may see a customer owned by `owner`.
fn sees(laptop: &str, owner: &str) -> bool {
    laptop == "wang" || laptop == owner
}

fn check_everywhere(
    office: &Office,
    model: &BTreeMap<String, Expected>,
    cards_of: &[String],
    label: &str,
) {
    let laptops = [
        ("zhang", &office.zhang),
        ("li", &office.li),
        ("wang", &office.wang),
    ];
    for (name, laptop) in laptops {
        let rows = list(laptop);
        let want: BTreeSet<&String> = model
            .iter()
            .filter(|(_, e)| sees(name, &e.owner))
            .map(|(id, _)| id)
            .collect();
        let have: BTreeSet<&String> = rows.keys().collect();
        assert_eq!(have, want, "{label}: the customers on {name}'s laptop");
        for (id, row) in &rows {
            let e = &model[id];
            assert_eq!(row["salesperson"], e.owner.as_str(), "{label}: {name}/{id}");
            assert_eq!(
                row["activities"],
                e.visits.len(),
                "{label}: visits of {id} on {name}'s laptop (none lost, none twice)"
            );
        }
    }
    for id in cards_of {
        let e = &model[id];
        let cards: Vec<(&str, Value)> = laptops
            .iter()
            .filter(|(name, _)| sees(name, &e.owner))
            .map(|(name, laptop)| (*name, card(laptop, id)))
            .collect();
        let (first, reference) = &cards[0];
        for (name, c) in &cards[1..] {
            assert_eq!(
                c, reference,
                "{label}: {id} differs between {first} and {name}"
            );
        }
        assert_eq!(
            activity_keys(reference),
            e.visits,
            "{label}: visits of {id}"
        );
        for (path, value) in &e.fields {
            assert_eq!(at(reference, path), value.as_str(), "{label}: {id} {path}");
        }
        assert_eq!(
            reference["conflicts"],
            json!([]),
            "{label}: {id} has no conflicts"
        );
    }
}

#[test]
fn offline_edits_by_two_salespeople_and_a_clerk_meet_in_every_sync_order() {
    let office = Office::open();
    let mut model: BTreeMap<String, Expected> = BTreeMap::new();

    // Before going offline: 张伟's customer A and 李娜's customer B are on
    // the server and on the clerk's laptop.
    add(
        &office.zhang,
        "c-a",
        "上海甲机械有限公司",
        &["--region", "华东"],
    );
    add(
        &office.li,
        "c-b",
        "广州乙贸易有限公司",
        &["--region", "华南"],
    );
    for laptop in [&office.zhang, &office.li, &office.wang] {
        laptop.sync();
    }
    for (id, owner) in [("c-a", "zhang"), ("c-b", "li")] {
        model.insert(
            id.into(),
            Expected {
                owner: owner.into(),
                ..Default::default()
            },
        );
    }
    check_everywhere(&office, &model, &["c-a".into(), "c-b".into()], "before");

    let laptops = [&office.zhang, &office.li, &office.wang];
    let names = ["zhang", "li", "wang"];
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for (round, order) in orders.iter().enumerate() {
        let r = round + 1;
        let label = format!(
            "round {r} (sync order {})",
            order.map(|i| names[i]).join(" → ")
        );
        let new = |id: String, owner: &str, model: &mut BTreeMap<String, Expected>| {
            model.insert(
                id,
                Expected {
                    owner: owner.into(),
                    ..Default::default()
                },
            );
        };

        // Everyone works offline.
        let z_new = format!("c-z{r}");
        add(
            &office.zhang,
            &z_new,
            &format!("张伟第{r}批新客户有限公司"),
            &[],
        );
        new(z_new.clone(), "zhang", &mut model);
        let v = visit(
            &office.zhang,
            "c-a",
            &format!("第{r}轮:张伟上门拜访,客户询价"),
        );
        model.get_mut("c-a").unwrap().visits.insert(v);
        let website = format!("https://z{r}.jia-jixie.cn");
        edit(
            &office.zhang,
            "c-a",
            &format!("company.website={website}"),
            &format!("第{r}轮:客户更换网站"),
        );
        model
            .get_mut("c-a")
            .unwrap()
            .fields
            .insert("company.website", website);

        let l_new = format!("c-l{r}");
        add(
            &office.li,
            &l_new,
            &format!("李娜第{r}批新客户有限公司"),
            &[],
        );
        new(l_new.clone(), "li", &mut model);
        let v = visit(&office.li, "c-b", &format!("第{r}轮:李娜电话回访"));
        model.get_mut("c-b").unwrap().visits.insert(v);
        let products = format!("第{r}代包装材料");
        edit(
            &office.li,
            "c-b",
            &format!("company.products={products}"),
            &format!("第{r}轮:产品线调整"),
        );
        model
            .get_mut("c-b")
            .unwrap()
            .fields
            .insert("company.products", products);

        // The clerk enters a customer for 李娜, visits both customers and
        // edits other fields of them than the salespeople did.
        let w_new = format!("c-w{r}");
        add(
            &office.wang,
            &w_new,
            &format!("王芳第{r}批转交客户有限公司"),
            &["--set", "salesperson=li"],
        );
        new(w_new.clone(), "li", &mut model);
        for id in ["c-a", "c-b"] {
            let v = visit(&office.wang, id, &format!("第{r}轮:王芳陪同拜访 {id}"));
            model.get_mut(id).unwrap().visits.insert(v);
        }
        let remarks = format!("第{r}轮:王芳核对档案");
        edit(
            &office.wang,
            "c-a",
            &format!("remarks={remarks}"),
            "档案年度核对",
        );
        model
            .get_mut("c-a")
            .unwrap()
            .fields
            .insert("remarks", remarks);
        let address = format!("广州市天河区体育西路 {r} 号");
        edit(
            &office.wang,
            "c-b",
            &format!("company.address={address}"),
            "工商信息核对",
        );
        model
            .get_mut("c-b")
            .unwrap()
            .fields
            .insert("company.address", address);

        // Two passes in this order: every push happens in the first, so
        // after the second everyone has everything.
        let changed_docs = [2, 2, 3];
        for &i in order {
            let report = laptops[i].sync();
            assert_eq!(
                count(&report, "sent"),
                changed_docs[i],
                "{label}: {} sends exactly the customers changed offline: {report}",
                names[i]
            );
            assert_eq!(report["reverted"], json!([]), "{label}: {report}");
        }
        for &i in order {
            let report = laptops[i].sync();
            assert_eq!(count(&report, "sent"), 0, "{label}: {report}");
            assert_eq!(report["conflicts"], json!([]), "{label}: {report}");
        }
        check_everywhere(
            &office,
            &model,
            &["c-a".into(), "c-b".into(), z_new, l_new, w_new],
            &label,
        );
        // 李娜 never holds 张伟's customers (and vice versa).
        assert!(
            ids(&office.li).iter().all(|id| model[id].owner == "li"),
            "{label}"
        );
    }

    // Every customer, compared in full on every laptop that sees it, and
    // against the server's own copy.
    let all: Vec<String> = model.keys().cloned().collect();
    check_everywhere(&office, &model, &all, "after all rounds");
    let token = office.token("wang");
    for id in &all {
        let viewer = if model[id].owner == "zhang" {
            &office.zhang
        } else {
            &office.li
        };
        let server = office.server_card(&token, id);
        assert_eq!(
            server["customer"],
            bare(&card(viewer, id)),
            "server copy of {id}"
        );
        assert_eq!(server["conflicts"], json!([]), "{id}");
    }
    assert_eq!(model["c-a"].visits.len(), 12);
    assert_eq!(model["c-b"].visits.len(), 12);
}

// ---- 2. same-field conflicts ----

/// 张伟 and 王芳 set `path` of customer `c-a` to different values offline,
/// then both sync twice; the conflict reaches both laptops.
fn make_conflict(office: &Office, path: &str, zhang_value: &str, wang_value: &str) {
    edit(
        &office.zhang,
        "c-a",
        &format!("{path}={zhang_value}"),
        "客户告知有变",
    );
    edit(
        &office.wang,
        "c-a",
        &format!("{path}={wang_value}"),
        "工商信息核对",
    );
    let z = office.zhang.sync();
    assert_eq!(
        z["conflicts"],
        json!([]),
        "the server had no rival value yet: {z}"
    );
    let w = office.wang.sync();
    assert_eq!(w["conflicts"], json!(["c-a"]), "{w}");
    let z = office.zhang.sync();
    assert_eq!(z["conflicts"], json!(["c-a"]), "{z}");
    // Syncing again changes nothing and keeps the conflict.
    for laptop in [&office.wang, &office.zhang] {
        let again = laptop.sync();
        assert_eq!(count(&again, "sent"), 0, "{again}");
        assert_eq!(count(&again, "received"), 0, "{again}");
    }
}

/// Checks that both laptops list exactly one conflict, on `path`, with both
/// values and authors, and show the same (winning) value.
fn check_conflict_listed(office: &Office, path: &str, want: &BTreeSet<(String, String)>) {
    let mut winners = Vec::new();
    for (name, laptop) in [("zhang", &office.zhang), ("wang", &office.wang)] {
        let listed = laptop.json(&["conflicts"]);
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 1, "{name}: {listed:?}");
        assert_eq!(listed[0]["customer"], "c-a", "{name}");
        assert_eq!(listed[0]["path"], path, "{name}");
        assert_eq!(&conflict_values(&listed[0]), want, "{name}");
        let shown = card(laptop, "c-a");
        let winner = listed[0]["values"][0]["value"].clone();
        assert_eq!(
            at(&shown, path),
            &winner,
            "{name}: the card shows the first value"
        );
        assert_eq!(shown["conflicts"].as_array().unwrap().len(), 1, "{name}");
        winners.push(winner);
    }
    assert_eq!(
        winners[0], winners[1],
        "the merged value is the same everywhere"
    );
}

fn expected_values(zhang: &str, wang: &str) -> BTreeSet<(String, String)> {
    [
        (zhang.to_string(), "zhang".to_string()),
        (wang.to_string(), "wang".to_string()),
    ]
    .into()
}

#[test]
fn a_same_field_conflict_is_listed_everywhere_and_resolved_on_the_clerks_laptop() {
    let office = Office::open();
    add(&office.zhang, "c-a", "上海甲机械有限公司", &[]);
    office.zhang.sync();
    office.wang.sync();

    let (z, w) = ("上海市浦东新区张江路 1 号", "上海市徐汇区漕溪北路 88 号");
    make_conflict(&office, "company.address", z, w);
    check_conflict_listed(&office, "company.address", &expected_values(z, w));

    // Head office sees it through the API; 李娜 (not her customer) does not.
    let clerk = office.token("wang");
    let listed = office.server_conflicts(&clerk);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], "c-a");
    assert_eq!(listed[0]["name"], "上海甲机械有限公司");
    let fields = listed[0]["conflicts"].as_array().unwrap();
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert_eq!(fields[0]["path"], "company.address");
    assert_eq!(conflict_values(&fields[0]), expected_values(z, w));
    assert_eq!(office.server_conflicts(&office.token("li")), json!([]));

    // A resolution needs a reason.
    let stderr = office.wang.fails(&["resolve", "c-a", "company.address", z]);
    assert!(stderr.contains("原因"), "{stderr}");
    assert_eq!(
        office.wang.json(&["conflicts"]).as_array().unwrap().len(),
        1
    );

    // The clerk keeps the value that lost the merge, so the card changes.
    let shown = shown_value(&office.wang, "company.address");
    let keep = if shown == z { w } else { z };
    let reason = "电话向客户确认新址";
    office.wang.ok(&[
        "resolve",
        "c-a",
        "company.address",
        keep,
        "--reason",
        reason,
    ]);
    assert_eq!(office.wang.json(&["conflicts"]), json!([]));
    let w_report = office.wang.sync();
    assert_eq!(count(&w_report, "sent"), 1, "{w_report}");
    let z_report = office.zhang.sync();
    assert_eq!(count(&z_report, "received"), 1, "{z_report}");
    assert_eq!(z_report["conflicts"], json!([]), "{z_report}");

    for (name, laptop) in [("zhang", &office.zhang), ("wang", &office.wang)] {
        assert_eq!(laptop.json(&["conflicts"]), json!([]), "{name}");
        let card = card(laptop, "c-a");
        assert_eq!(at(&card, "company.address"), keep, "{name}");
        assert_eq!(card["conflicts"], json!([]), "{name}");
        let history = laptop.json(&["history", "c-a"]);
        assert!(
            history_has(&history, "wang", "resolve", reason, "company.address", keep),
            "{name}: the resolution and its reason are in the history: {history:#}"
        );
        // Both original edits stay in the history too.
        assert!(history_has(
            &history,
            "zhang",
            "edit",
            "客户告知有变",
            "company.address",
            z
        ));
        assert!(history_has(
            &history,
            "wang",
            "edit",
            "工商信息核对",
            "company.address",
            w
        ));
    }
    assert_eq!(card(&office.zhang, "c-a"), card(&office.wang, "c-a"));
    assert_eq!(office.server_conflicts(&clerk), json!([]));
    let server = office.server_card(&clerk, "c-a");
    assert_eq!(server["conflicts"], json!([]));
    assert_eq!(server["customer"], bare(&card(&office.zhang, "c-a")));
    assert!(history_has(
        &server["history"],
        "wang",
        "resolve",
        reason,
        "company.address",
        keep
    ));
}

/// The value a laptop shows for `path` of `c-a` (the merge's winner).
fn shown_value(laptop: &Laptop, path: &str) -> String {
    at(&card(laptop, "c-a"), path).as_str().unwrap().to_string()
}

#[test]
fn resolving_a_conflict_in_favour_of_the_shown_value_names_the_field_in_the_history() {
    let office = Office::open();
    add(&office.zhang, "c-a", "上海甲机械有限公司", &[]);
    office.zhang.sync();
    office.wang.sync();
    make_conflict(&office, "company.address", "张江路 1 号", "漕溪北路 88 号");

    // Keeping the value already shown changes nothing visible, but it is
    // still a decision on that field and the history must say which.
    let shown = shown_value(&office.wang, "company.address");
    let reason = "现场核实,保留当前地址";
    office.wang.ok(&[
        "resolve",
        "c-a",
        "company.address",
        &shown,
        "--reason",
        reason,
    ]);
    assert_eq!(office.wang.json(&["conflicts"]), json!([]));
    let history = office.wang.json(&["history", "c-a"]);
    let entry = history
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["action"] == "resolve")
        .unwrap_or_else(|| panic!("no resolution in the history: {history:#}"));
    assert_eq!(entry["by"], "wang");
    assert_eq!(entry["reason"], reason);
    assert!(
        entry["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "company.address"),
        "the resolution's history entry does not say which field it settled: {entry:#}"
    );
}

#[test]
fn a_same_field_conflict_is_resolved_through_the_server_api_with_a_reason() {
    let office = Office::open();
    add(&office.zhang, "c-a", "上海甲机械有限公司", &[]);
    office.zhang.sync();
    office.wang.sync();

    let (z, w) = ("https://www.jia-jixie.cn", "https://jia-jixie.com.cn");
    make_conflict(&office, "company.website", z, w);
    check_conflict_listed(&office, "company.website", &expected_values(z, w));

    let clerk = office.token("wang");
    let resolve = |token: &str, body: Value| {
        http::post_json(
            &office.server.url,
            "/api/v1/customers/c-a/resolve",
            Some(token),
            &body,
        )
    };
    let before = office.server_card(&clerk, "c-a");

    // Without a reason: refused, nothing changes.
    resolve(
        &clerk,
        json!({"path": "company.website", "value": w, "reason": "  "}),
    )
    .expect_error(400, "bad_request");
    // 李娜 may not touch 张伟's customer: to her it does not exist.
    resolve(
        &office.token("li"),
        json!({"path": "company.website", "value": w, "reason": "我来定"}),
    )
    .expect_error(404, "not_found");
    assert_eq!(office.server_card(&clerk, "c-a"), before);

    // Head office settles on a third value, the one on the business licence.
    let settled = "https://www.jia-jixie.com";
    let reason = "以营业执照登记的网址为准";
    let answer = resolve(
        &clerk,
        json!({"path": "company.website", "value": settled, "reason": reason}),
    );
    assert_eq!(answer.ok_json(), json!({"ok": true}));
    assert_eq!(office.server_conflicts(&clerk), json!([]));
    let server = office.server_card(&clerk, "c-a");
    assert_eq!(at(&server["customer"], "company.website"), settled);
    assert_eq!(server["conflicts"], json!([]));
    assert!(history_has(
        &server["history"],
        "wang",
        "resolve",
        reason,
        "company.website",
        settled
    ));

    // Both laptops learn it at their next sync.
    for (name, laptop) in [("zhang", &office.zhang), ("wang", &office.wang)] {
        let report = laptop.sync();
        assert_eq!(count(&report, "received"), 1, "{name}: {report}");
        assert_eq!(report["conflicts"], json!([]), "{name}: {report}");
        assert_eq!(laptop.json(&["conflicts"]), json!([]), "{name}");
        let shown = card(laptop, "c-a");
        assert_eq!(at(&shown, "company.website"), settled, "{name}");
        assert_eq!(bare(&shown), server["customer"], "{name}");
        let history = laptop.json(&["history", "c-a"]);
        assert!(
            history_has(
                &history,
                "wang",
                "resolve",
                reason,
                "company.website",
                settled
            ),
            "{name}: {history:#}"
        );
    }
}

// ---- 3. access ----

/// A scratch store for `user` holding a copy of `id` taken from `source`,
/// for building requests the CLI would never send.
fn forge_store(user: &str, source: &Laptop, id: &str) -> (tempfile::TempDir, crm_client::Store) {
    let bytes = source.store().document_bytes(id).unwrap();
    let dir = tempfile::tempdir().unwrap();
    crm_tests::unlock(dir.path());
    let mut store = crm_client::Store::init(dir.path(), user, user).unwrap();
    store.merge(id, &bytes).unwrap();
    (dir, store)
}

fn push_of(store: &crm_client::Store) -> SyncRequest {
    let (push, more) = store.pending_pushes(usize::MAX).unwrap();
    assert!(!more);
    SyncRequest {
        push,
        ..Default::default()
    }
}

#[test]
fn a_salesperson_never_receives_nor_changes_another_salespersons_customer() {
    let office = Office::open();
    add(
        &office.zhang,
        "c-z",
        "张伟的大客户有限公司",
        &["--region", "华东"],
    );
    visit(&office.zhang, "c-z", "首次拜访,谈年度框架协议");
    office.zhang.sync();
    add(&office.li, "c-l", "李娜的客户有限公司", &[]);
    office.li.sync();
    office.wang.sync();
    assert_eq!(ids(&office.li), BTreeSet::from(["c-l".to_string()]));

    let clerk = office.token("wang");
    let li = office.token("li");
    let before = office.server_card(&clerk, "c-z");

    // Reading it directly is answered exactly as for a customer that does
    // not exist, so that ids cannot be probed.
    let theirs = office
        .get("/api/v1/customers/c-z", &li)
        .expect_error(404, "not_found");
    let missing = office
        .get("/api/v1/customers/c-nobody", &li)
        .expect_error(404, "not_found");
    assert_eq!(
        theirs.message.replace("c-z", "ID"),
        missing.message.replace("c-nobody", "ID")
    );

    // Pushing 张伟's own pending change with 李娜's token.
    edit(&office.zhang, "c-z", "remarks=张伟的离线备注", "补充备注");
    let zhangs_push = push_of(&office.zhang.store());
    assert_eq!(zhangs_push.push.len(), 1);
    let refused_alone = |answer: http::Answer, id: &str| {
        let body = answer.ok_json();
        assert_eq!(body["acked"], json!([]), "{body}");
        assert_eq!(body["refused"][0]["id"], id, "{body}");
        assert_eq!(body["refused"][0]["kind"], "forbidden", "{body}");
        body["refused"][0]["message"].as_str().unwrap().to_string()
    };
    refused_alone(office.post_sync(&li, &zhangs_push), "c-z");

    // A change signed by 李娜 herself, on a copy of 张伟's document.
    let (_dir, mut forged) = forge_store("li", &office.zhang, "c-z");
    let note = forged.note(Action::Edit, Some("顺手改一下"));
    forged
        .change("c-z", &note, |c| {
            c.remarks = "李娜改过这里".into();
            c.company.address = "李娜写的地址".into();
            Ok(())
        })
        .unwrap();
    let message = refused_alone(office.post_sync(&li, &push_of(&forged)), "c-z");
    assert!(message.contains("c-z"), "{message}");

    // A "new" customer of 李娜's making, assigned to 张伟.
    let dir = tempfile::tempdir().unwrap();
    crm_tests::unlock(dir.path());
    let mut fake = crm_client::Store::init(dir.path(), "li", "李娜").unwrap();
    fake.create(
        &Customer {
            id: "c-fake".into(),
            name: "冒名客户有限公司".into(),
            salesperson: "zhang".into(),
            ..Default::default()
        },
        true,
    )
    .unwrap();
    refused_alone(office.post_sync(&li, &push_of(&fake)), "c-fake");

    // A first-sync listing claiming to hold c-z gets nothing of it back.
    let listing = SyncRequest {
        have: Some(forged.have().unwrap()),
        ..Default::default()
    };
    let answer = office.post_sync(&li, &listing).ok_json();
    let sent: Vec<&Value> = answer["docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["id"])
        .collect();
    assert!(!sent.contains(&&json!("c-z")), "{sent:?}");
    assert_eq!(sent, vec![&json!("c-l")]);
    assert_eq!(answer["removed"], json!(["c-z"]));

    // Nothing changed on the server: same card, same history, no log entry.
    assert_eq!(office.server_card(&clerk, "c-z"), before);
    office
        .get("/api/v1/customers/c-fake", &clerk)
        .expect_error(404, "not_found");
    let w = office.wang.sync();
    assert_eq!(count(&w, "received"), 0, "{w}");
    let l = office.li.sync();
    assert_eq!(count(&l, "received"), 0, "{l}");
    assert_eq!(ids(&office.li), BTreeSet::from(["c-l".to_string()]));
    // 张伟's own change still goes through.
    let z = office.zhang.sync();
    assert_eq!(count(&z, "sent"), 1, "{z}");
    assert_eq!(
        at(&office.server_card(&clerk, "c-z")["customer"], "remarks"),
        "张伟的离线备注"
    );
}

/// The server merges the documents of one push on every core, a few at a
/// time: in a push of more customers than one such batch, a damaged one is
/// refused alone and the others are stored, and a customer sent twice in one
/// push keeps both parts, in order.
#[test]
fn a_damaged_customer_in_a_large_push_is_refused_alone_and_one_sent_twice_keeps_both_parts() {
    let office = Office::open();
    let ids: Vec<String> = (0..20).map(|i| format!("c-{i:02}")).collect();
    {
        let mut store = office.zhang.store();
        for id in &ids {
            let card = Customer {
                id: id.clone(),
                name: format!("批量客户{id}有限公司"),
                salesperson: "zhang".into(),
                ..Default::default()
            };
            store.create(&card, true).unwrap();
        }
    }
    office.zhang.sync();
    let zhang = office.token("zhang");
    let clerk = office.token("wang");
    let server = |id: &str| office.server_card(&clerk, id)["customer"].clone();

    let mut store = office.zhang.store();
    for id in &ids {
        let note = store.note(Action::Edit, Some("批量补充备注"));
        store
            .change(id, &note, |c| {
                c.remarks = format!("{id} 第一次备注");
                Ok(())
            })
            .unwrap();
    }
    let first = push_of(&store);
    assert_eq!(first.push.len(), 20);

    // The last document damaged: it alone is refused, by name, and nothing
    // of it is stored; the nineteen others are stored and acknowledged.
    let mut damaged = first.clone();
    damaged.push.last_mut().unwrap().data = Blob("这不是 automerge 文档".as_bytes().to_vec());
    let answer = office.post_sync(&zhang, &damaged).ok_json();
    assert_eq!(answer["refused"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["refused"][0]["id"], "c-19", "{answer}");
    assert_eq!(answer["refused"][0]["kind"], "invalid", "{answer}");
    assert_eq!(answer["acked"].as_array().unwrap().len(), 19, "{answer}");
    assert_eq!(at(&server("c-19"), "remarks"), "");
    for id in &ids[..19] {
        assert_eq!(
            at(&server(id), "remarks"),
            format!("{id} 第一次备注").as_str(),
            "{id}"
        );
    }

    // c-03 changed again; that change alone goes as a second entry of the
    // same push, after the first entry it builds on.
    let note = store.note(Action::Edit, Some("客户搬迁"));
    store
        .change("c-03", &note, |c| {
            c.company.address = "苏州市工业园区星湖街328号".into();
            Ok(())
        })
        .unwrap();
    let entry = |p: &SyncRequest| p.push.iter().find(|d| d.id == "c-03").unwrap().clone();
    let (was, now) = (entry(&first), entry(&push_of(&store)));
    let after = crm_shared::sync::heads_from_hex(&was.heads).unwrap();
    let bytes = store.document_bytes("c-03").unwrap();
    let second = DocPush {
        data: Blob(crm_shared::document::changes_after(&bytes, &after).unwrap()),
        ..now
    };
    assert_ne!(second.heads, was.heads);
    let mut twice = first.clone();
    twice.push.push(second);
    let answer = office.post_sync(&zhang, &twice).ok_json();
    assert_eq!(answer["need"], json!([]), "{answer}");
    let c03 = server("c-03");
    assert_eq!(at(&c03, "remarks"), "c-03 第一次备注");
    assert_eq!(at(&c03, "company.address"), "苏州市工业园区星湖街328号");
    for id in &ids {
        assert_eq!(
            at(&server(id), "remarks"),
            format!("{id} 第一次备注").as_str()
        );
    }
    drop(store);
    office.zhang.sync();
    assert_eq!(bare(&card(&office.zhang, "c-03")), bare(&c03));
}

/// The credit limit changes only through an approved credit-limit request:
/// neither a salesperson nor head office edits it, and a push that changes
/// it anyway is put back by the server.
#[test]
fn a_credit_limit_edit_is_refused_by_the_cli_and_undone_by_the_server() {
    let office = Office::open();
    // The limit the customer came with, from head office's import of the
    // archive it kept before.
    let file = office.server.data_dir.join("existing.jsonl");
    std::fs::write(
        &file,
        r#"{"id": "c-z", "name": "张伟的大客户有限公司", "credit_limit": 200000}"#,
    )
    .unwrap();
    let out = office.server.admin(
        &["import", file.to_str().unwrap(), "--salesperson", "zhang"],
        None,
    );
    assert!(out.status.success(), "{}", texts(&out).1);
    office.zhang.sync();
    office.wang.sync();
    assert_eq!(at(&card(&office.zhang, "c-z"), "credit.limit"), 200000);

    // The CLI refuses before anything is recorded, head office's too.
    for (laptop, set) in [
        (&office.zhang, "credit.limit=900000"),
        (&office.zhang, "信用额度=900000"),
        (&office.wang, "信用额度=300000"),
    ] {
        let stderr = laptop.fails(&["edit", "c-z", "--set", set, "--reason", "客户要求提额"]);
        assert!(stderr.contains("信用额度变更申请"), "{stderr}");
        assert_eq!(laptop.json(&["pending"]), json!([]));
    }
    assert_eq!(at(&card(&office.zhang, "c-z"), "credit.limit"), 200000);

    // Forced through the library, bypassing the CLI's check.
    let reason = "绕过命令行强行提额";
    {
        let mut store = office.zhang.store();
        let note = store.note(Action::Edit, Some(reason));
        let changes = store
            .change("c-z", &note, |c| {
                c.credit.limit = Some(900_000);
                Ok(())
            })
            .unwrap();
        assert_eq!(changes.len(), 1);
    }
    assert_eq!(at(&card(&office.zhang, "c-z"), "credit.limit"), 900000);

    let report = office.zhang.sync();
    let reverted = report["reverted"].as_array().unwrap();
    assert_eq!(reverted.len(), 1, "{report}");
    let message = reverted[0].as_str().unwrap();
    assert!(
        message.contains("c-z") && message.contains("credit.limit"),
        "{message}"
    );
    assert_eq!(office.zhang.json(&["pending"]), json!([]));

    // The original value, on the server and back on the laptop.
    let clerk = office.token("wang");
    let server = office.server_card(&clerk, "c-z");
    assert_eq!(at(&server["customer"], "credit.limit"), 200000);
    assert_eq!(at(&card(&office.zhang, "c-z"), "credit.limit"), 200000);
    office.wang.sync();
    assert_eq!(at(&card(&office.wang, "c-z"), "credit.limit"), 200000);

    // History keeps both: the attempt and the server's correction.
    for (whose, history) in [
        ("server", server["history"].clone()),
        ("zhang", office.zhang.json(&["history", "c-z"])),
        ("wang", office.wang.json(&["history", "c-z"])),
    ] {
        assert!(
            history_has(&history, "zhang", "edit", reason, "credit.limit", "900000"),
            "{whose}: the attempt: {history:#}"
        );
        assert!(
            history_has(
                &history,
                "system",
                "edit",
                "zhang",
                "credit.limit",
                "200000"
            ),
            "{whose}: the server's correction: {history:#}"
        );
    }
}

// ---- 4. reassignment ----

/// 业务员 set on head office's laptop is checked as the console checks it:
/// a salesperson's name becomes their login, and a name no salesperson has
/// is put back, so no customer ends up seen by nobody.
#[test]
fn a_salesperson_typed_on_a_clerks_laptop_must_name_a_salesperson() {
    let office = Office::open();
    add(&office.zhang, "c-s", "张伟负责的客户", &[]);
    office.zhang.sync();
    office.wang.sync();

    edit(&office.wang, "c-s", "业务员=张三", "改派给新同事");
    let report = office.wang.sync();
    let reverted = report["reverted"].as_array().unwrap();
    assert_eq!(reverted.len(), 1, "{report}");
    let message = reverted[0].as_str().unwrap();
    assert!(
        message.contains("张三") && message.contains("zhang"),
        "{message}"
    );
    let clerk = office.token("wang");
    assert_eq!(
        office.server_card(&clerk, "c-s")["customer"]["salesperson"],
        "zhang"
    );
    office.wang.sync();
    assert_eq!(card(&office.wang, "c-s")["salesperson"], "zhang");

    // A name that is a salesperson's is stored as their login.
    edit(&office.wang, "c-s", "业务员=李娜", "改派给李娜");
    office.wang.sync();
    assert_eq!(
        office.server_card(&clerk, "c-s")["customer"]["salesperson"],
        "li"
    );
    office.li.sync();
    assert!(ids(&office.li).contains("c-s"));
    office.zhang.sync();
    assert!(!ids(&office.zhang).contains("c-s"));
}

#[test]
fn a_reassigned_customer_moves_to_the_new_salesperson_without_losing_offline_work() {
    let office = Office::open();
    add(
        &office.zhang,
        "c-move",
        "将转给李娜的客户有限公司",
        &["--contact", "周经理", "--mobile", "13912345678"],
    );
    add(&office.zhang, "c-keep", "张伟留下的客户有限公司", &[]);
    office.zhang.sync();
    office.wang.sync();
    office.li.sync();
    assert!(ids(&office.li).is_empty());

    // 张伟 visits it offline, not knowing head office is moving it.
    let offline_visit = visit(&office.zhang, "c-move", "交接前最后一次拜访,客户同意续约");

    edit(
        &office.wang,
        "c-move",
        "salesperson=li",
        "区域调整,转给李娜负责",
    );
    let w = office.wang.sync();
    assert_eq!(count(&w, "sent"), 1, "{w}");

    let l = office.li.sync();
    assert_eq!(count(&l, "received"), 1, "{l}");
    assert_eq!(ids(&office.li), BTreeSet::from(["c-move".to_string()]));
    assert_eq!(card(&office.li, "c-move")["salesperson"], "li");

    // 张伟's next sync delivers his visit, then takes the customer away.
    let z = office.zhang.sync();
    assert_eq!(count(&z, "sent"), 1, "{z}");
    assert_eq!(count(&z, "removed"), 1, "{z}");
    assert_eq!(count(&z, "kept_unsent"), 0, "{z}");
    assert_eq!(ids(&office.zhang), BTreeSet::from(["c-keep".to_string()]));
    assert_eq!(office.zhang.json(&["pending"]), json!([]));
    assert_eq!(
        z["removed_names"],
        json!(["将转给李娜的客户有限公司"]),
        "{z}"
    );
    // Gone from the disk, not only from the list.
    assert_not_on_disk(
        &office.zhang,
        &[
            "将转给李娜的客户有限公司",
            "周经理",
            "13912345678",
            "交接前最后一次拜访",
        ],
    );
    // The file is encrypted, so the bytes prove little on their own: the
    // customer kept is not in them either. Inside, nothing of the removed
    // customer is left in a free page or in the WAL.
    assert!(!raw_store_contains(&office.zhang, "张伟留下的客户有限公司"));
    assert_eq!(
        card(&office.zhang, "c-keep")["name"],
        "张伟留下的客户有限公司"
    );
    assert_no_free_pages_nor_wal(&office.zhang);

    // The visit reached the server and 李娜.
    let l = office.li.sync();
    assert_eq!(count(&l, "received"), 1, "{l}");
    let lis = card(&office.li, "c-move");
    assert!(
        activity_keys(&lis).contains(&offline_visit),
        "张伟's offline visit must not be lost: {lis:#}"
    );
    assert_eq!(lis["activities"][&offline_visit]["by"], "zhang");
    office.wang.sync();
    assert_eq!(card(&office.wang, "c-move"), lis);
    let clerk = office.token("wang");
    assert_eq!(office.server_card(&clerk, "c-move")["customer"], bare(&lis));

    // It stays away from 张伟, and now belongs to 李娜 in every way.
    let z = office.zhang.sync();
    assert_eq!((count(&z, "received"), count(&z, "removed")), (0, 0), "{z}");
    assert_eq!(ids(&office.zhang), BTreeSet::from(["c-keep".to_string()]));
    let zhang = office.token("zhang");
    office
        .get("/api/v1/customers/c-move", &zhang)
        .expect_error(404, "not_found");
    visit(&office.li, "c-move", "李娜接手后首次拜访");
    let l = office.li.sync();
    assert_eq!(count(&l, "sent"), 1, "{l}");
    assert_eq!(l["reverted"], json!([]), "{l}");
}

/// Whether any file of the laptop's data directory (the store, its WAL,
/// any journal) holds `text`.
fn raw_store_contains(laptop: &Laptop, text: &str) -> bool {
    std::fs::read_dir(laptop.dir()).unwrap().any(|entry| {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        bytes.windows(text.len()).any(|w| w == text.as_bytes())
    })
}

/// What a removal leaves inside the (decrypted) store: no free page that
/// could still hold a removed customer's rows, and an empty WAL.
fn assert_no_free_pages_nor_wal(laptop: &Laptop) {
    crm_tests::unlock(laptop.dir());
    let key = crm_client::key::remembered(laptop.dir()).unwrap();
    let conn = rusqlite::Connection::open(laptop.dir().join("crm.sqlite3")).unwrap();
    conn.execute_batch(&format!("PRAGMA key = {};", key.pragma()))
        .unwrap();
    let free: i64 = conn
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .unwrap();
    assert_eq!(free, 0, "free pages left after a removal");
    drop(conn);
    let wal = laptop.dir().join("crm.sqlite3-wal");
    let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(len, 0, "the WAL still holds pages");
}

fn assert_not_on_disk(laptop: &Laptop, texts: &[&str]) {
    for t in texts {
        assert!(
            !raw_store_contains(laptop, t),
            "{t} is still in the laptop's files"
        );
    }
}

// ---- 5. revoked device ----

#[test]
fn a_revoked_laptop_is_refused_and_wiped_at_its_next_sync() {
    let office = Office::open();
    add(
        &office.zhang,
        "c-1",
        "第一家客户有限公司",
        &["--contact", "吴总", "--mobile", "13700001234"],
    );
    add(&office.zhang, "c-2", "第二家客户有限公司", &[]);
    office.zhang.sync();
    add(&office.zhang, "c-3", "尚未同步的客户有限公司", &[]);
    visit(&office.zhang, "c-2", "拜访记录:客户资金紧张");
    let old_token = crm_client::session::current(&office.zhang.store())
        .unwrap()
        .expect("logged in")
        .token;

    let devices = office.server.admin(&["device", "list", "--json"], None);
    let devices: Value = serde_json::from_slice(&devices.stdout).unwrap();
    let zhangs: Vec<&Value> = devices
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["login"] == "zhang")
        .collect();
    assert_eq!(zhangs.len(), 1, "{devices:#}");
    let id = zhangs[0]["id"].as_str().unwrap();
    let out = office.server.admin(&["device", "revoke", id], None);
    assert!(out.status.success(), "{}", texts(&out).1);

    let stderr = office.zhang.fails(&["sync"]);
    assert!(stderr.contains("此设备已被管理员停用"), "{stderr}");
    assert!(stderr.contains("已删除本机 3 位客户的数据"), "{stderr}");
    // The store and its key are gone: no copy of the file opens again.
    let left: Vec<String> = std::fs::read_dir(office.zhang.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("crm."))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let stderr = office.zhang.fails(&["show", "c-1"]);
    assert!(stderr.contains("crm init"), "{stderr}");
    // Gone from the disk, not only from the list.
    assert_not_on_disk(
        &office.zhang,
        &[
            "第一家客户有限公司",
            "第二家客户有限公司",
            "尚未同步的客户有限公司",
            "吴总",
            "13700001234",
            "客户资金紧张",
        ],
    );
    // The session went with the data.
    let stderr = office.zhang.fails(&["sync"]);
    assert!(stderr.contains("crm init"), "{stderr}");
    http::get(&office.server.url, "/api/v1/whoami", Some(&old_token))
        .expect_error(401, "device_revoked");

    // The server keeps what was synced; others are unaffected.
    let w = office.wang.sync();
    assert_eq!(count(&w, "received"), 2, "{w}");
    assert_eq!(
        ids(&office.wang),
        BTreeSet::from(["c-1".to_string(), "c-2".to_string()])
    );
    office.li.sync();
}

/// A salesperson's import file that carries 等级 and 信用额度 (only head
/// office sets them): the import leaves them out and says so once, and the
/// next sync has nothing to put back.
#[test]
fn a_salespersons_import_leaves_out_grade_and_credit_limit_and_says_so_once() {
    let office = Office::open();
    let file = office.zhang.dir().join("带等级.jsonl");
    let lines: String = (0..3)
        .map(|i| {
            format!(
                "{}\n",
                json!({"id": format!("g{i}"), "name": format!("嘉兴客户{i}"), "grade": "A", "credit_limit": 500000})
            )
        })
        .chain(std::iter::once(format!(
            "{}\n",
            json!({"id": "g3", "name": "嘉兴客户3", "region": "华东"})
        )))
        .collect();
    std::fs::write(&file, lines).unwrap();
    let out = office.zhang.ok(&["import", file.to_str().unwrap()]);
    let notes: Vec<&str> = out.lines().filter(|l| l.contains("已忽略")).collect();
    assert_eq!(notes.len(), 1, "{out}");
    assert!(
        notes[0].contains("3 行") && notes[0].contains("等级") && notes[0].contains("信用额度"),
        "{out}"
    );
    assert!(out.contains("新建 4 位"), "{out}");
    let g0 = card(&office.zhang, "g0");
    assert_eq!(
        (&g0["grade"], &g0["credit"]["limit"]),
        (&Value::Null, &Value::Null)
    );
    let report = office.zhang.sync();
    assert_eq!(report["reverted"], json!([]), "{report}");
    assert_eq!(report["sent"], 4, "{report}");
}

// ---- 6. kill -9 mid-sync ----

/// A deterministic customer file shaped like `shared/bench/gen_customers.py`
/// (without grade and credit limit, which a salesperson may not set).
/// With `extra`, every customer gets one more visit, `v{i}-extra`, and is
/// otherwise the same.
fn write_customers(path: &std::path::Path, customers: usize, visits: usize, extra: bool) {
    const WORDS: &[char] = &[
        '客', '户', '反', '馈', '良', '好', '下', '次', '跟', '进', '新', '品', '价', '格', '偏',
        '高', '需', '要', '申', '请', '折', '扣', '库', '存', '充', '足', '竞', '争', '对', '手',
        '促', '销', '回', '款', '及', '时', '老', '板', '出', '差', '采', '购', '经', '理', '变',
        '更', '订', '单', '增', '加', '质', '量', '投', '诉', '已', '处', '理', '样', '品', '试',
    ];
    const REGIONS: &[&str] = &["华东", "华南", "华北", "西南"];
    let mut state: u64 = 42;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut text = |n: usize| -> String {
        (0..n)
            .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
            .collect()
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..customers {
        let mut line = json!({
            "id": format!("c{i:06}"),
            "name": format!("{}有限公司{i}", text(4)),
            "status": "active",
            "region": REGIONS[i % 4],
            "contacts": (0..2).map(|k| json!({
                "name": text(3),
                "title": text(4),
                "mobile": format!("138{:08}", (i * 7 + k) % 100_000_000),
            })).collect::<Vec<_>>(),
            "visits": (0..visits).map(|k| json!({
                "id": format!("v{i}-{k}"),
                "at": 1_700_000_000_000_i64 + k as i64 * 86_400_000,
                "kind": "visit",
                "notes": text(40),
            })).collect::<Vec<_>>(),
        });
        if extra {
            line["visits"].as_array_mut().unwrap().push(json!({
                "id": format!("v{i}-extra"),
                "at": 1_800_000_000_000_i64,
                "kind": "call",
                "notes": format!("总部补录的电话回访 {i}"),
            }));
        }
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
}

/// Whether a TCP connection to or from loopback `port` is established
/// (Linux `/proc/net/tcp`); `None` where that cannot be seen.
fn connection_open(port: u16) -> Option<bool> {
    let mut seen_any = false;
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(table) = std::fs::read_to_string(file) else {
            continue;
        };
        seen_any = true;
        let port_of = |addr: &str| {
            addr.rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok())
        };
        for line in table.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() > 3
                && cols[3] == "01"
                && (port_of(cols[1]) == Some(port) || port_of(cols[2]) == Some(port))
            {
                return Some(true);
            }
        }
    }
    seen_any.then_some(false)
}

/// Waits until `child` has a connection open to the server (or has ended).
fn wait_for_request(port: u16, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match connection_open(port) {
            Some(true) => return,
            None => {
                // Cannot watch sockets here: give it a moment instead.
                std::thread::sleep(Duration::from_millis(500));
                return;
            }
            Some(false) => {}
        }
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// When to kill the server during a sync.
enum Cut<'a> {
    /// This long after the laptop's request reached the server.
    After(Duration),
    /// As soon as this says so (polled), e.g. once the push is stored.
    When(&'a dyn Fn() -> bool),
}

/// Runs `crm sync` on `laptop`, kills the server (`kill -9`) at `cut`, and
/// restarts it on the same data directory and port. Returns `None` if the
/// sync finished first, else its stderr.
fn sync_killed(server: &mut TestServer, laptop: &Laptop, cut: Cut) -> Option<String> {
    let mut child = laptop.spawn(&["sync", "--json"]);
    wait_for_request(server.port(), &mut child);
    match cut {
        Cut::After(delay) => std::thread::sleep(delay),
        Cut::When(ready) => {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !ready() && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
    server.kill();
    let out = child.wait_with_output().unwrap();
    server.restart();
    let (_, stderr) = texts(&out);
    if out.status.success() {
        return None;
    }
    assert_eq!(
        out.status.code(),
        Some(1),
        "a cut sync fails cleanly, it does not crash: {stderr}"
    );
    assert!(
        stderr.contains("连接中断") || stderr.contains("无法连接"),
        "{stderr}"
    );
    // One line a salesperson reads: what happened, that nothing is lost,
    // what to do; no library's words, no links to its documentation.
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("已保存") && stderr.contains("crm sync"),
        "{stderr}"
    );
    for internal in [
        "hyper",
        "reqwest",
        "http://docs",
        "https://",
        "error:",
        "os error",
    ] {
        assert!(!stderr.contains(internal), "{stderr}");
    }
    Some(stderr)
}

/// Size of the data set: `CRM_TEST_KILL_SIZE=300x50` (customers × visits)
/// for a multi-MB first sync; the default keeps debug builds quick.
fn kill_test_size() -> (usize, usize) {
    std::env::var("CRM_TEST_KILL_SIZE")
        .ok()
        .and_then(|s| {
            let (c, v) = s.split_once('x')?;
            Some((c.parse().ok()?, v.parse().ok()?))
        })
        .unwrap_or((60, 30))
}

#[test]
fn a_sync_cut_by_kill_9_of_the_server_completes_after_restart_with_nothing_lost_or_doubled() {
    let (customers, visits) = kill_test_size();
    let t0 = Instant::now();
    let phase = |what: &str| eprintln!("[{:>6.1} s] {what}", t0.elapsed().as_secs_f64());
    let mut office = Office::open();
    phase("office open");
    let file = office.zhang.dir().join("customers.jsonl");
    write_customers(&file, customers, visits, false);
    let imported = office.zhang.json(&["import", file.to_str().unwrap()]);
    assert_eq!(imported["created"], customers, "{imported}");
    phase("imported");
    let clerk = office.token("wang");
    let url = office.server.url.clone();
    let status =
        |id: &str| http::get(&url, &format!("/api/v1/customers/{id}"), Some(&clerk)).status;
    let first = "c000000".to_string();
    let last = format!("c{:06}", customers - 1);

    // Kill the server while 张伟's first sync is under way: right after it
    // connects, a little later, and the moment his push is stored (before
    // the answer reaches him, if the timing allows). Stop once a sync wins
    // the race.
    let stored = || status(&last) == 200;
    let cuts: [(&str, Cut); 4] = [
        ("0 ms after connecting", Cut::After(Duration::ZERO)),
        (
            "300 ms after connecting",
            Cut::After(Duration::from_millis(300)),
        ),
        ("once the push is stored", Cut::When(&stored)),
        ("1 s after connecting", Cut::After(Duration::from_secs(1))),
    ];
    let mut outcomes = Vec::new();
    let mut interrupted = 0;
    for (what, cut) in cuts {
        let outcome = sync_killed(&mut office.server, &office.zhang, cut);
        // One push is one transaction: all of it is on the server or none.
        let (a, b) = (status(&first), status(&last));
        assert!(
            (a == 200 && b == 200) || (a == 404 && b == 404),
            "{what}: a push cut by kill -9 is stored whole or not at all ({a}, {b})"
        );
        let Some(stderr) = outcome else {
            outcomes.push(format!("{what}: the sync finished first"));
            break;
        };
        if stderr.contains("连接中断") {
            interrupted += 1;
        }
        outcomes.push(format!(
            "{what}: {} (server holds the push: {})",
            stderr.trim(),
            a == 200
        ));
    }
    eprintln!(
        "kill -9 during 张伟's first sync:\n  {}",
        outcomes.join("\n  ")
    );
    assert!(
        interrupted >= 1,
        "no kill landed while a sync was under way: {outcomes:#?}"
    );

    phase("ladder done");
    // Syncing again completes.
    let mut tries = 0;
    loop {
        tries += 1;
        let out = office.zhang.run(&["sync", "--json"], None);
        if out.status.success() {
            break;
        }
        assert!(
            tries < 3,
            "sync after restart keeps failing: {}",
            texts(&out).1
        );
    }
    assert_eq!(office.zhang.json(&["pending"]), json!([]));

    phase("zhang synced");
    // The clerk, offline, enters a customer for 张伟; his first sync is cut
    // the moment that push is stored, then completes.
    add(
        &office.wang,
        "c-w",
        "王芳新建的客户有限公司",
        &["--set", "salesperson=zhang"],
    );
    let w_visit = visit(&office.wang, "c-w", "王芳代为登记的拜访");
    let w_stored = || status("c-w") == 200;
    let clerk_cut = sync_killed(&mut office.server, &office.wang, Cut::When(&w_stored));
    eprintln!("kill -9 during 王芳's first sync, once her push is stored: {clerk_cut:?}");
    assert_eq!(status("c-w"), 200);
    let report = office.wang.sync();
    assert!(count(&report, "sent") <= 1, "{report}");
    let z = office.zhang.sync();
    assert_eq!(count(&z, "received"), 1, "{z}");

    phase("clerk phase done");
    // Head office adds a call to every one of 张伟's customers on the server
    // while he logs a visit offline. His next sync is cut the moment his
    // visit is stored: the server is then still writing the answer (the
    // calls he lacks), which he never gets.
    let more = office.zhang.dir().join("calls.jsonl");
    write_customers(&more, customers, visits, true);
    let out = office.server.admin(
        &[
            "import",
            more.to_str().unwrap(),
            "--salesperson",
            "zhang",
            "--as",
            "wang",
        ],
        None,
    );
    assert!(out.status.success(), "server import: {}", texts(&out).1);
    phase("server import done");
    let z_visit = visit(&office.zhang, &first, "断网前记下的拜访");
    let has_visit = || {
        let answer = http::get(&url, &format!("/api/v1/customers/{first}"), Some(&clerk));
        answer.status == 200
            && answer.json()["customer"]["activities"]
                .get(&z_visit)
                .is_some()
    };
    let late_cut = sync_killed(&mut office.server, &office.zhang, Cut::When(&has_visit));
    eprintln!("kill -9 once 张伟's visit is stored, before his answer: {late_cut:?}");
    assert!(has_visit(), "the stored push survives kill -9");
    phase("late cut done");
    // If the cut came first, nothing of that answer was stored: all of it
    // comes now (and the visit is sent again, harmlessly).
    let z = office.zhang.sync();
    let missed = if late_cut.is_some() { customers } else { 0 };
    assert_eq!(count(&z, "received"), missed as u64, "{z}");
    assert!(count(&z, "sent") <= 1, "{z}");
    let w = office.wang.sync();
    assert_eq!(count(&w, "received"), customers as u64, "{w}");

    phase("all synced");
    // Exactly every customer, each with exactly its visits, on both laptops.
    for (name, laptop) in [("wang", &office.wang), ("zhang", &office.zhang)] {
        let rows = list(laptop);
        assert_eq!(rows.len(), customers + 1, "{name}");
        for i in 0..customers {
            let id = format!("c{i:06}");
            let row = rows.get(&id).unwrap_or_else(|| panic!("{name} lacks {id}"));
            let want = visits + 1 + usize::from(id == first);
            assert_eq!(row["activities"], want, "{name}: visits of {id}");
            assert_eq!(row["salesperson"], "zhang", "{name}: {id}");
        }
        let c_w = card(laptop, "c-w");
        assert_eq!(
            activity_keys(&c_w),
            BTreeSet::from([w_visit.clone()]),
            "{name}"
        );
        let c0 = card(laptop, &first);
        assert!(activity_keys(&c0).contains(&z_visit), "{name}");
        assert!(activity_keys(&c0).contains("v0-extra"), "{name}");
    }
    for id in [&first, &last, &"c-w".to_string()] {
        let server = office.server_card(&clerk, id)["customer"].clone();
        assert_eq!(bare(&card(&office.wang, id)), server, "{id}");
        assert_eq!(bare(&card(&office.zhang, id)), server, "{id}");
    }
    // Nothing is left over: another round moves nothing.
    for laptop in [&office.zhang, &office.wang] {
        let again = laptop.sync();
        assert_eq!(
            (count(&again, "sent"), count(&again, "received")),
            (0, 0),
            "{again}"
        );
    }
    assert_eq!(office.zhang.json(&["pending"]), json!([]));
    assert_eq!(office.wang.json(&["pending"]), json!([]));
}

// ---- 7. bad request bodies ----

/// A sync request body the server must refuse, and how.
struct BadBody {
    what: &'static str,
    body: Vec<u8>,
    content_type: Option<&'static str>,
    chunked: bool,
    status: u16,
    code: &'static str,
}

#[test]
fn garbage_truncated_and_oversized_sync_bodies_get_4xx_and_change_nothing() {
    let office = Office::open_with(&["--body-limit-mib", "1"]);
    add(&office.zhang, "c-x", "华北丙物流有限公司", &[]);
    office.zhang.sync();
    office.wang.sync();
    // A conflict on the server, so that its conflict list is not trivially empty.
    edit(&office.zhang, "c-x", "remarks=张伟的备注", "补充");
    edit(&office.wang, "c-x", "remarks=王芳的备注", "核对");
    office.zhang.sync();
    office.wang.sync();
    office.zhang.sync();

    let clerk = office.token("wang");
    let zhang = office.token("zhang");
    let conflicts_before = office.server_conflicts(&clerk);
    assert_eq!(conflicts_before.as_array().unwrap().len(), 1);
    let card_before = office.server_card(&clerk, "c-x");

    // A real pending push of 张伟's, to cut up and to disguise.
    edit(&office.zhang, "c-x", "industry=物流", "补充行业");
    let real = push_of(&office.zhang.store());
    let real_json = serde_json::to_vec(&real).unwrap();
    let doc = office.zhang.store().document_bytes("c-x").unwrap();
    let with = |id: &str, heads: Vec<String>, data: Vec<u8>| SyncRequest {
        push: vec![DocPush {
            id: id.into(),
            heads,
            data: Blob(data),
            hand_over: false,
        }],
        ..Default::default()
    };
    let json_of = |r: &SyncRequest| serde_json::to_vec(r).unwrap();
    let not_automerge = "这不是 automerge 文档".as_bytes().to_vec();
    let changes = &real.push[0].data.0;
    let cut_changes = changes[..changes.len() - 7].to_vec();
    // 2 MiB of valid JSON, over the 1 MiB limit.
    let huge = json_of(&with("c-x", vec![], vec![7u8; 1_600_000]));
    assert!(huge.len() > 2 << 20, "{}", huge.len());

    let bad = |what: &'static str, body: Vec<u8>| BadBody {
        what,
        body,
        content_type: Some("application/json"),
        chunked: false,
        status: 400,
        code: "bad_request",
    };
    let unsupported = |what, body, content_type| BadBody {
        content_type,
        status: 415,
        code: "unsupported_media_type",
        ..bad(what, body)
    };
    let too_large = |what, chunked| BadBody {
        chunked,
        status: 413,
        code: "payload_too_large",
        ..bad(what, huge.clone())
    };
    // A well-formed request whose one document is bad: that document is
    // refused by name (the others of a push would be stored).
    let refused = |what, body| BadBody {
        status: 200,
        code: "invalid",
        ..bad(what, body)
    };
    let cases = [
        bad("garbage bytes", b"\x00\x9f\x92\x96 not json {{{".to_vec()),
        bad("an empty body", Vec::new()),
        bad("truncated JSON", real_json[..real_json.len() / 2].to_vec()),
        bad(
            "JSON of the wrong shape",
            br#"{"push": "c-x", "cursor": -1}"#.to_vec(),
        ),
        bad(
            "invalid base64",
            serde_json::to_vec(
                &json!({"push": [{"id": "c-x", "heads": [], "data": "@@ 不是 base64 @@"}]}),
            )
            .unwrap(),
        ),
        refused(
            "data that is not automerge (existing customer)",
            json_of(&with("c-x", vec![], not_automerge.clone())),
        ),
        refused(
            "data that is not automerge (new customer)",
            json_of(&with("c-new", vec![], not_automerge.clone())),
        ),
        refused(
            "automerge changes cut short",
            json_of(&with("c-x", real.push[0].heads.clone(), cut_changes)),
        ),
        refused(
            "another customer's document",
            json_of(&with("c-other", vec![], doc.clone())),
        ),
        refused(
            "heads that are not hashes",
            json_of(&with("c-x", vec!["zz".into()], doc.clone())),
        ),
        refused(
            "an invalid customer id",
            json_of(&with("../c-x", vec![], doc.clone())),
        ),
        unsupported(
            "valid JSON sent as text",
            real_json.clone(),
            Some("text/plain"),
        ),
        unsupported("valid JSON without a content type", real_json.clone(), None),
        too_large("2 MiB with a Content-Length", false),
        too_large("2 MiB chunked", true),
    ];
    // Every case is tried and checked before any failure is reported.
    let mut wrong = Vec::new();
    for case in &cases {
        let answer = http::send(
            &office.server.url,
            &Request {
                method: "POST",
                path: "/api/v1/sync",
                token: Some(&zhang),
                content_type: case.content_type,
                body: &case.body,
                chunked: case.chunked,
            },
        );
        let as_expected = if case.status == 200 {
            let body: Option<crm_shared::sync::SyncResponse> =
                serde_json::from_slice(&answer.body).ok();
            answer.status == 200
                && body.as_ref().is_some_and(|b| {
                    b.acked.is_empty()
                        && b.refused.len() == 1
                        && serde_json::to_value(b.refused[0].kind).unwrap() == case.code
                        && !b.refused[0].message.trim().is_empty()
                })
        } else {
            let body: Option<crm_shared::api::ErrorBody> =
                serde_json::from_slice(&answer.body).ok();
            answer.status == case.status
                && body
                    .as_ref()
                    .is_some_and(|b| b.error == case.code && !b.message.trim().is_empty())
        };
        if !as_expected {
            wrong.push(format!(
                "{}: expected HTTP {} {}, got HTTP {} {}",
                case.what,
                case.status,
                case.code,
                answer.status,
                answer.text()
            ));
        }
    }

    if !wrong.is_empty() {
        eprintln!("wrong answers to bad bodies:\n  {}", wrong.join("\n  "));
    }
    // Nothing changed: same conflicts, same card, no new customers, and a
    // normal sync receives nothing.
    assert_eq!(office.server_conflicts(&clerk), conflicts_before);
    assert_eq!(office.server_card(&clerk, "c-x"), card_before);
    for id in ["c-new", "c-other"] {
        office
            .get(&format!("/api/v1/customers/{id}"), &clerk)
            .expect_error(404, "not_found");
    }
    let w = office.wang.sync();
    assert_eq!((count(&w, "sent"), count(&w, "received")), (0, 0), "{w}");
    // The server still works: 张伟's real change goes through afterwards.
    let z = office.zhang.sync();
    assert_eq!(count(&z, "sent"), 1, "{z}");
    assert_eq!(
        at(&office.server_card(&clerk, "c-x")["customer"], "industry"),
        "物流"
    );
    assert!(
        wrong.is_empty(),
        "bad bodies must get a 4xx ErrorBody, bad documents a refusal:\n  {}",
        wrong.join("\n  ")
    );
}

/// 张伟 and the clerk 王芳 each record many visits to one customer while
/// apart. When 张伟 syncs after 王芳, the server sends him the whole
/// document (smaller than 王芳's changes one by one); his own visits are
/// already on the server, so his copy is replaced, and all three copies end
/// identical with every visit.
#[test]
fn a_customer_edited_heavily_on_two_laptops_converges_through_the_whole_document() {
    let office = Office::open();
    add(&office.zhang, "c-hot", "宁波热点机电有限公司", &[]);
    office.zhang.sync();
    office.wang.sync();
    let many = |laptop: &Laptop, who: &str, n: usize| {
        let mut store = laptop.store();
        for k in 0..n {
            let note = store.note(Action::Activity, None);
            store
                .change("c-hot", &note, |c| {
                    c.activities.insert(
                        format!("{who}-{k}"),
                        crm_shared::customer::Activity {
                            at: 1_800_000_000_000 + k as i64,
                            by: who.into(),
                            notes: format!("{who}第{k}次拜访:洽谈补货和回款安排"),
                            ..Default::default()
                        },
                    );
                    Ok(())
                })
                .unwrap();
        }
    };
    many(&office.zhang, "zhang", 100);
    many(&office.wang, "wang", 100);
    office.wang.sync();
    let wang_changes = {
        let store = office.wang.store();
        let doc = crm_shared::CustomerDoc::load(
            &store.document_bytes("c-hot").unwrap(),
            crm_shared::ActorId::random(),
        )
        .unwrap();
        doc.changes_since(&[])
            .iter()
            .filter(|(_, n)| n.as_ref().is_some_and(|n| n.by == "wang"))
            .count()
    };
    assert_eq!(wang_changes, 100);
    let report = office.zhang.sync();
    office.wang.sync();
    let want: BTreeSet<String> = (0..100)
        .flat_map(|k| [format!("zhang-{k}"), format!("wang-{k}")])
        .collect();
    let z = card(&office.zhang, "c-hot");
    let w = card(&office.wang, "c-hot");
    assert_eq!(activity_keys(&z), want);
    assert_eq!(bare(&z), bare(&w));
    let server = office.server_card(&office.token("wang"), "c-hot");
    assert_eq!(activity_keys(&server["customer"]), want);
    // 100 changes of 王芳's, each with its dependency hash and its note,
    // weigh more than this whole answer did: the document came whole.
    let received = report["bytes_received"].as_u64().unwrap();
    assert!(
        received < 100 * 100,
        "the whole document should travel, got {received} bytes: {report}"
    );
    assert_eq!(office.zhang.store().pending_count().unwrap(), 0);
}
