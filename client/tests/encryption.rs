//! A lost laptop leaks nothing: the store file, its WAL and any journal
//! hold no customer's name, phone or visit note; the right passphrase opens
//! it, a wrong one changes nothing; a plain store of the previous version is
//! encrypted in place with every customer and its history kept.

mod cli_common;

use std::collections::BTreeMap;
use std::path::Path;

use cli_common::{command, fails, init, ok, ok_json, PASSPHRASE};

const NAMES: &[&str] = &["苏州金鸡湖精密机械有限公司", "无锡太湖纺织有限公司"];
const PHONES: &[&str] = &["13951234567", "13862345678"];
const NOTES: &[&str] = &["与采购部王经理谈续约细节", "对方要求下月再报一次价"];

/// Every file in `dir` but the key, by name, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

fn assert_nothing_readable(dir: &Path) {
    for (name, bytes) in files(dir) {
        for text in NAMES.iter().chain(PHONES).chain(NOTES) {
            assert!(!holds(&bytes, text), "{name} holds “{text}” in the clear");
        }
    }
}

/// A laptop with two customers imported and a visit on each.
fn laptop_with_customers() -> tempfile::TempDir {
    let dir = init("zhang");
    let file = dir.path().join("import-source.jsonl");
    let lines: Vec<String> = (0..2)
        .map(|i| {
            serde_json::json!({
                "id": format!("c{i}"),
                "name": NAMES[i],
                "contacts": [{"name": "王经理", "mobile": PHONES[i]}],
            })
            .to_string()
        })
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    ok(dir.path(), &["import", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    for (i, note) in NOTES.iter().enumerate() {
        ok(dir.path(), &["visit", &format!("c{i}"), "--notes", note]);
    }
    dir
}

#[test]
fn the_store_on_disk_holds_no_name_phone_or_visit_note() {
    let dir = laptop_with_customers();
    let names: Vec<String> = files(dir.path()).into_keys().collect();
    assert!(names.contains(&"crm.key".to_string()), "{names:?}");
    assert_nothing_readable(dir.path());
    // And yet the salesperson reads everything.
    let card = ok_json(dir.path(), &["show", "c0"]);
    assert_eq!(card["name"], NAMES[0]);
    let list = ok(dir.path(), &["list"]);
    assert!(list.contains(NAMES[1]), "{list}");
}

#[test]
fn a_wrong_or_missing_passphrase_gets_one_line_and_changes_nothing() {
    let dir = laptop_with_customers();
    let before = files(dir.path());

    let out = command(dir.path())
        .env("CRM_PASSPHRASE", "不是这个密码啊")
        .args(["visit", "c0", "--notes", "不该记下"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("本机数据密码不对"), "{stderr}");

    let out = command(dir.path())
        .env_remove("CRM_PASSPHRASE")
        .args(["list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CRM_PASSPHRASE"), "{stderr}");

    assert_eq!(files(dir.path()), before, "nothing on disk changed");
    fails(dir.path(), &["show", "c9"], &["找不到客户"]);
}

/// The previous version's store: the same schema, written in the clear.
fn decrypt_to_plain(dir: &Path) {
    let store = dir.join("crm.sqlite3");
    let plain = dir.join("plain.sqlite3");
    {
        crm_client::key::open(dir, PASSPHRASE).unwrap();
        let key = crm_client::key::remembered(dir).unwrap();
        let conn = rusqlite::Connection::open(&store).unwrap();
        conn.execute_batch(&format!("PRAGMA key = {};", key_pragma(&key)))
            .unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        conn.execute(
            "ATTACH DATABASE ?1 AS plain KEY ''",
            [plain.to_str().unwrap()],
        )
        .unwrap();
        conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
            .unwrap();
        conn.execute_batch(&format!(
            "PRAGMA plain.user_version = {version}; DETACH DATABASE plain;"
        ))
        .unwrap();
    }
    for extra in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("crm.sqlite3{extra}")));
    }
    std::fs::rename(&plain, &store).unwrap();
    crm_client::key::destroy(dir).unwrap();
}

fn key_pragma(key: &crm_client::key::StoreKey) -> String {
    key.pragma()
}

#[test]
fn a_plain_store_is_encrypted_in_place_with_nothing_lost() {
    let dir = laptop_with_customers();
    let history_before = ok_json(dir.path(), &["history", "c0"]);
    decrypt_to_plain(dir.path());
    let raw = std::fs::read(dir.path().join("crm.sqlite3")).unwrap();
    assert!(raw.starts_with(b"SQLite format 3\0"));
    assert!(holds(&raw, NAMES[0]), "the old store is readable as it was");
    assert!(!dir.path().join("crm.key").exists());

    // The first command of the new version encrypts it.
    let list = ok_json(dir.path(), &["list"]);
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert!(dir.path().join("crm.key").exists());
    assert_nothing_readable(dir.path());
    let left: Vec<String> = files(dir.path()).into_keys().collect();
    assert!(
        left.iter()
            .all(|n| n == "crm.key" || n.starts_with("crm.sqlite3")),
        "{left:?}"
    );
    assert!(!left.iter().any(|n| n.ends_with(".plain")), "{left:?}");
    assert_eq!(ok_json(dir.path(), &["history", "c0"]), history_before);
    let card = ok_json(dir.path(), &["show", "c1"]);
    assert_eq!(card["name"], NAMES[1]);
    // It goes on working: a new visit is kept.
    ok(dir.path(), &["visit", "c1", "--notes", "加密之后的拜访"]);
    assert_nothing_readable(dir.path());
}

/// `crm init` where nothing can ask for a new passphrase (a script with no
/// terminal, no keychain, no `CRM_PASSPHRASE`): one line saying how to give
/// one, and no data directory left behind.
#[test]
fn an_init_with_no_way_to_set_a_passphrase_says_how_and_leaves_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("crm");
    let out = command(&dir)
        .env_remove("CRM_PASSPHRASE")
        // No session bus: no keychain to keep the key in.
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .stdin(std::process::Stdio::null())
        .args(["init", "--user", "zhang"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("设置本机数据密码"), "{stderr}");
    assert!(stderr.contains("CRM_PASSPHRASE"), "{stderr}");
    assert!(
        !stderr.contains("已加密"),
        "nothing is encrypted yet: {stderr}"
    );
    assert!(!dir.exists(), "a refused init leaves no directory");
}
