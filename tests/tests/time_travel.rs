//! Stores that went back in time: a laptop restored from an older copy of
//! its store, a disk cloned to a second laptop, and one customer whose data
//! the server refuses. In every story nothing typed is lost, sync never
//! stays stuck, and one bad customer never holds up the others. Real
//! `crm-server` (plain HTTP on loopback) and real `crm` laptops.

mod common;

use common::server::TestServer;
use common::Laptop;
use crm_shared::codes::Role;
use serde_json::Value;

const PASSWORD: &str = "回到过去的测试密码 2026";

struct Office {
    server: TestServer,
    clerk: String,
}

impl Office {
    fn open() -> Office {
        let server = TestServer::start_plain();
        server.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
        server.add_user_named("wang", "王芳", Role::Clerk, PASSWORD);
        let clerk = server.api_login("wang", PASSWORD);
        Office { server, clerk }
    }

    fn laptop(&self) -> Laptop {
        let laptop = Laptop::init("zhang");
        laptop.login(&self.server, "zhang", PASSWORD);
        laptop
    }

    /// The server's card of `id`.
    fn card(&self, id: &str) -> Value {
        common::http::get(
            &self.server.url,
            &format!("/api/v1/customers/{id}"),
            Some(&self.clerk),
        )
        .ok_json()["customer"]
            .clone()
    }
}

fn visit(laptop: &Laptop, id: &str, notes: &str) {
    laptop.ok(&["visit", id, "--notes", notes]);
}

/// The notes of every visit on a card, sorted.
fn notes(card: &Value) -> Vec<String> {
    let mut out: Vec<String> = card["activities"]
        .as_object()
        .map(|m| {
            m.values()
                .map(|a| a["notes"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn local_card(laptop: &Laptop, id: &str) -> Value {
    laptop.json(&["show", id])
}

fn count(report: &Value, key: &str) -> usize {
    match &report[key] {
        Value::Array(a) => a.len(),
        v => v.as_u64().unwrap_or_default() as usize,
    }
}

/// Syncs until a sync sends and receives nothing; demands it within a few.
fn sync_until_quiet(laptop: &Laptop) {
    for _ in 0..4 {
        let r = laptop.sync();
        if count(&r, "sent") == 0 && count(&r, "received") == 0 && count(&r, "set_aside") == 0 {
            return;
        }
    }
    panic!("sync did not settle: {:?}", laptop.sync());
}

/// The field test's story: copy the store aside, visit X and sync, put the
/// copy back, visit X and Y, sync. Every sync after succeeds, Y's visit
/// reaches the server, and X holds both of its visits everywhere.
#[test]
fn a_laptop_restored_from_an_older_copy_syncs_and_loses_nothing() {
    let office = Office::open();
    let laptop = office.laptop();
    laptop.ok(&["add", "--id", "c-x", "--name", "上海华东机电有限公司"]);
    laptop.ok(&["add", "--id", "c-y", "--name", "苏州新区精密模具厂"]);
    laptop.sync();
    let old_copy = laptop.copy();

    visit(&laptop, "c-x", "恢复前的拜访:谈年度框架协议");
    laptop.sync();

    laptop.restore_from(&old_copy);
    visit(&laptop, "c-x", "恢复后的拜访:客户要求报价");
    visit(&laptop, "c-y", "恢复后的拜访:首次上门");
    let report = laptop.sync();
    assert_eq!(count(&report, "set_aside"), 0, "{report}");
    assert_eq!(report["rebased"], serde_json::json!(["c-x"]), "{report}");
    assert_eq!(report["rotated"], true, "{report}");

    let x = notes(&office.card("c-x"));
    assert_eq!(
        x,
        ["恢复前的拜访:谈年度框架协议", "恢复后的拜访:客户要求报价"],
        "both visits of X are on the server"
    );
    assert_eq!(
        notes(&office.card("c-y")),
        ["恢复后的拜访:首次上门"],
        "Y's visit reached the server"
    );
    sync_until_quiet(&laptop);
    assert_eq!(notes(&local_card(&laptop, "c-x")), x, "and on the laptop");
    assert_eq!(laptop.json(&["pending"]), serde_json::json!([]));
    // The status says where it syncs, when it last did, and what waits.
    let status = laptop.json(&["status"]);
    assert_eq!(status["server"], office.server.url.as_str(), "{status}");
    assert!(status["last_sync_at"].as_i64().unwrap() > 0, "{status}");
    assert_eq!(status["pending"], 0, "{status}");
    let text = laptop.ok(&["status"]);
    assert!(
        text.contains("上次同步成功") && text.contains("待同步:0"),
        "{text}"
    );
    // And it goes on working: a later visit syncs as any other.
    visit(&laptop, "c-x", "之后的拜访");
    let report = laptop.sync();
    assert_eq!(count(&report, "sent"), 1, "{report}");
    assert_eq!(notes(&office.card("c-x")).len(), 3);
}

/// A disk cloned to a second laptop: both write under the same actor. The
/// second to sync is told to write under a fresh one, its clashing changes
/// are recorded again, and both laptops end with the same cards.
#[test]
fn two_laptops_with_one_cloned_store_both_keep_everything() {
    let office = Office::open();
    let first = office.laptop();
    first.ok(&["add", "--id", "c-x", "--name", "宁波港城物流有限公司"]);
    first.ok(&["add", "--id", "c-y", "--name", "杭州西湖茶业有限公司"]);
    first.sync();
    let second = first.copy();

    visit(&first, "c-x", "一号机:送样品");
    visit(&second, "c-x", "二号机:谈付款方式");
    visit(&second, "c-y", "二号机:回访");
    first.sync();
    let report = second.sync();
    assert_eq!(count(&report, "set_aside"), 0, "{report}");
    assert_eq!(report["rotated"], true, "{report}");

    // From now on the two write under different actors: no more clashes.
    visit(&first, "c-x", "一号机:第二次");
    visit(&second, "c-x", "二号机:第二次");
    for laptop in [&first, &second, &first] {
        let r = laptop.sync();
        assert_eq!(count(&r, "set_aside"), 0, "{r}");
    }
    let want = [
        "一号机:第二次",
        "一号机:送样品",
        "二号机:第二次",
        "二号机:谈付款方式",
    ];
    assert_eq!(notes(&office.card("c-x")), want);
    assert_eq!(notes(&local_card(&first, "c-x")), want);
    assert_eq!(notes(&local_card(&second, "c-x")), want);
    assert_eq!(notes(&office.card("c-y")), ["二号机:回访"]);
    assert_eq!(notes(&local_card(&first, "c-y")), ["二号机:回访"]);
    let actor = |l: &Laptop| l.store().profile().actor.clone();
    assert_ne!(actor(&first), actor(&second));
}

/// A change written into X's document by another automerge program (no
/// author note): the server rightly refuses X, but Y's visit still goes
/// through. `crm aside` shows X and why; `crm aside retry X` records the
/// salesperson's own changes again on the server's copy, without the
/// foreign one, and X syncs again.
/// A customer whose copy on the server is damaged (a bad disk sector)
/// never holds up the others of a pull: they arrive, and the damaged one is
/// set aside on the laptop by name, with its own data kept.
#[test]
fn a_customer_damaged_on_the_server_does_not_hold_up_the_others_of_a_pull() {
    let mut office = Office::open();
    let writer = office.laptop();
    writer.ok(&["add", "--id", "c-x", "--name", "无锡太湖纺织有限公司"]);
    writer.ok(&["add", "--id", "c-y", "--name", "常州龙城电器有限公司"]);
    writer.sync();
    let reader = office.laptop();
    reader.sync();
    visit(&writer, "c-x", "拜访甲");
    visit(&writer, "c-y", "拜访乙");
    writer.sync();

    office.server.kill();
    {
        let file = office.server.data_dir.join("crm-server.sqlite3");
        let conn = rusqlite::Connection::open(file).unwrap();
        let mut snapshot: Vec<u8> = conn
            .query_row("SELECT snapshot FROM documents WHERE id = 'c-x'", [], |r| {
                r.get(0)
            })
            .unwrap();
        let middle = snapshot.len() / 2;
        snapshot[middle] ^= 0x5a;
        conn.execute(
            "UPDATE documents SET snapshot = ?1 WHERE id = 'c-x'",
            [&snapshot],
        )
        .unwrap();
    }
    office.server.restart();

    let report = reader.sync();
    assert_eq!(notes(&local_card(&reader, "c-y")), ["拜访乙"], "{report}");
    let aside = reader.json(&["aside"]);
    assert_eq!(aside[0]["id"], "c-x", "{aside}");
    assert_eq!(aside[0]["name"], "无锡太湖纺织有限公司", "{aside}");
    let text = reader.ok(&["aside"]);
    assert!(text.contains("无锡太湖纺织有限公司"), "{text}");
    assert!(
        !text.contains("automerge") && !text.contains("Error"),
        "{text}"
    );
    // Its own copy stays as it was, and later syncs go on.
    assert_eq!(local_card(&reader, "c-x")["name"], "无锡太湖纺织有限公司");
    reader.sync();
}

#[test]
fn one_refused_customer_is_set_aside_and_the_others_sync() {
    let office = Office::open();
    let laptop = office.laptop();
    laptop.ok(&["add", "--id", "c-x", "--name", "无锡太湖纺织有限公司"]);
    laptop.ok(&["add", "--id", "c-y", "--name", "常州龙城电器有限公司"]);
    laptop.sync();

    visit(&laptop, "c-x", "本人的拜访");
    {
        // Another program edits X's document directly, signing nothing.
        let mut store = laptop.store();
        let bytes = store.document_bytes("c-x").unwrap();
        let mut doc = automerge::Automerge::load(&bytes).unwrap();
        let before = doc.get_heads();
        let mut tx = doc.transaction();
        automerge::transaction::Transactable::put(
            &mut tx,
            automerge::ROOT,
            "remarks",
            "外部程序写入",
        )
        .unwrap();
        tx.commit();
        store.merge("c-x", &doc.save_after(&before)).unwrap();
    }
    visit(&laptop, "c-y", "另一位客户的拜访");

    let report = laptop.sync();
    let aside = report["set_aside"].as_array().unwrap();
    assert_eq!(aside.len(), 1, "{report}");
    assert_eq!(aside[0][0], "c-x", "{report}");
    assert_eq!(
        notes(&office.card("c-y")),
        ["另一位客户的拜访"],
        "Y's visit reached the server"
    );
    assert!(notes(&office.card("c-x")).is_empty(), "nothing of X stored");
    // It stays aside: later syncs do not fail and do not resend it.
    let again = laptop.sync();
    assert_eq!(count(&again, "sent"), 0, "{again}");
    let listed = laptop.json(&["aside"]);
    assert_eq!(listed[0]["id"], "c-x", "{listed}");
    assert_eq!(listed[0]["name"], "无锡太湖纺织有限公司");
    assert!(
        listed[0]["message"].as_str().unwrap().contains("署名"),
        "{listed}"
    );
    let text = laptop.ok(&["aside"]);
    assert!(
        text.contains("无锡太湖纺织有限公司") && text.contains("crm aside retry"),
        "{text}"
    );

    laptop.ok(&["aside", "retry", "c-x"]);
    let report = laptop.sync();
    assert_eq!(count(&report, "dropped"), 1, "{report}");
    assert_eq!(notes(&office.card("c-x")), ["本人的拜访"]);
    assert_eq!(office.card("c-x")["remarks"], "");
    assert_eq!(laptop.json(&["aside"]), serde_json::json!([]));
    sync_until_quiet(&laptop);
    assert_eq!(local_card(&laptop, "c-x")["remarks"], "");
    assert_eq!(notes(&local_card(&laptop, "c-x")), ["本人的拜访"]);
}
