//! Helpers for driving the real `crm` binary against a throw-away data
//! directory: run a command, demand success or a clean failure, read JSON.

#![allow(dead_code)] // each test file uses a different part

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// The `crm` binary built by cargo for these tests.
pub const CRM: &str = env!("CARGO_BIN_EXE_crm");

/// The passphrase of every test laptop's store key (`CRM_PASSPHRASE`).
pub const PASSPHRASE: &str = "命令行测试的本机数据密码";

/// A `crm` command using `dir` as its data directory (through `CRM_HOME`, as
/// a salesperson's shell profile would set it).
pub fn command(dir: &Path) -> Command {
    let mut c = Command::new(CRM);
    c.env("CRM_HOME", dir)
        .env("CRM_PASSPHRASE", PASSPHRASE)
        .env_remove("RUST_BACKTRACE");
    c
}

/// Runs `crm ARGS` on `dir` and returns what it did.
pub fn crm(dir: &Path, args: &[&str]) -> Output {
    command(dir).args(args).output().expect("crm runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `crm ARGS`, demands exit 0, returns stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = crm(dir, args);
    assert!(
        out.status.success(),
        "crm {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs a read command with `--json` appended, demands success, parses stdout.
pub fn ok_json(dir: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = ok(dir, &all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("crm {all:?}: not JSON ({e}): {out}"))
}

/// Runs `crm ARGS`, demands it fails with exit `code` and nothing on
/// stdout, and returns stderr.
pub fn fails_with(dir: &Path, code: i32, args: &[&str]) -> String {
    let out = crm(dir, args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(code),
        "crm {args:?} should exit {code}:\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stdout.trim().is_empty(),
        "crm {args:?} failed but printed on stdout: {stdout}"
    );
    stderr
}

/// Runs `crm ARGS`, demands the failure a salesperson should see: exit 1,
/// exactly one line on stderr, in Chinese, mentioning every one of `needles`.
/// Returns that line.
pub fn fails(dir: &Path, args: &[&str], needles: &[&str]) -> String {
    let stderr = fails_with(dir, 1, args);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "crm {args:?}: expected one error line, got: {stderr}"
    );
    let line = lines[0];
    assert!(
        line.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "crm {args:?}: error is not in Chinese: {line}"
    );
    for n in needles {
        assert!(
            line.contains(n),
            "crm {args:?}: error should mention “{n}”: {line}"
        );
    }
    line.to_string()
}

/// A fresh data directory with a profile for `user`.
pub fn init(user: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    ok(dir.path(), &["init", "--user", user]);
    dir
}

/// Ids of `crm list --json`, in list order.
pub fn list_ids(dir: &Path) -> Vec<String> {
    ok_json(dir, &["list"])
        .as_array()
        .expect("list is an array")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}

/// Number of visits/activities on a customer's card, from `crm show --json`.
pub fn visit_count(dir: &Path, customer: &str) -> usize {
    ok_json(dir, &["show", customer])["activities"]
        .as_object()
        .expect("activities is a map")
        .len()
}

/// A deterministic import file in the format of
/// `shared/bench/gen_customers.py`, without the credit limit a laptop may
/// not set: one customer per line with `{"id",
/// "name", "grade", "status", "region", "contacts": [{"name",
/// "title", "mobile"}], "visits": [{"id", "at", "kind", "notes"}]}`.
///
/// Customer `i` has id `c{i:06}` and `visits(i)` visits `v{i}-{k}`.
pub struct Generated {
    /// Customer ids in file order.
    pub ids: Vec<String>,
    /// Visits of each customer, in file order.
    pub visits: Vec<usize>,
}

/// Writes `customers` lines to `path`; customer `i` gets `visits(i)` visits.
pub fn generate(path: &Path, customers: usize, visits: impl Fn(usize) -> usize) -> Generated {
    use std::io::Write;
    const WORDS: &str = "客户反馈良好下次跟进新品价格偏高需要申请折扣库存充足竞争对手促销回款及时老板出差采购经理变更订单增加质量投诉已处理样品试用满意计划下月拜访展会邀请签订合同";
    const REGIONS: [&str; 4] = ["华东", "华南", "华北", "西南"];
    let words: Vec<char> = WORDS.chars().collect();
    // xorshift64*: deterministic, no dependency.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    };
    let text = |k: usize, next: &mut dyn FnMut(u64) -> u64| -> String {
        (0..k)
            .map(|_| words[next(words.len() as u64) as usize])
            .collect()
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create file"));
    let mut generated = Generated {
        ids: Vec::new(),
        visits: Vec::new(),
    };
    for i in 0..customers {
        let id = format!("c{i:06}");
        let n = visits(i);
        let contacts: Vec<Value> = (0..2)
            .map(|_| {
                serde_json::json!({
                    "name": text(3, &mut next),
                    "title": text(4, &mut next),
                    "mobile": format!("138{:08}", next(100_000_000)),
                })
            })
            .collect();
        let visit_list: Vec<Value> = (0..n)
            .map(|k| {
                serde_json::json!({
                    "id": format!("v{i}-{k}"),
                    "at": 1_700_000_000_000_i64 + k as i64 * 86_400_000,
                    "kind": "visit",
                    "notes": text(40, &mut next),
                })
            })
            .collect();
        let grade = ["A", "B", "C", "D", "E"][next(5) as usize];
        let line = serde_json::json!({
            "id": id,
            "name": format!("{}有限公司{i}", text(4, &mut next)),
            "grade": grade,
            "status": "active",
            "region": REGIONS[i % 4],
            "contacts": contacts,
            "visits": visit_list,
        });
        writeln!(out, "{line}").expect("write line");
        generated.ids.push(id);
        generated.visits.push(n);
    }
    out.flush().expect("flush");
    generated
}
