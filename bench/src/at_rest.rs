//! `at-rest`: what encrypting the laptop's store costs. The same work on a
//! plain store and on an encrypted one (SQLCipher, raw key), alternating
//! in one run so both see the same machine: the laptop's import of N × M
//! from a JSON Lines file, the customer list, one visit, a fresh laptop's
//! first sync of N × M from the server, and a day's push. Figures are the
//! median over the rounds (list and visit: the median of 20 each round).
//! Apart: the once-per-process cost of opening the key (Argon2id).

use std::time::Instant;

use anyhow::Result;
use serde_json::json;

use super::{day_of_work, gen, import, ms, new_store, percentile, server, visit, Laptop, Server};

/// Reads one figure of a round.
type Figure = fn(&Round) -> f64;

/// The figures of one round on one kind of store (ms).
#[derive(Default, Clone)]
struct Round {
    import: f64,
    list: f64,
    visit: f64,
    fresh: f64,
    day_push: f64,
}

pub fn run(customers: usize, visits: usize, rounds: usize) -> Result<()> {
    let data = tempfile::tempdir()?;
    server::add_user(data.path(), "zhang", "salesperson")?;
    import(data.path(), "c", "zhang", customers, visits, 42)?;
    let srv = Server::start(data.path())?;
    let file = data.path().join("laptop-import.jsonl");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        gen::write(&mut out, "l", customers, visits, 7)?;
    }
    let mut plain = Vec::new();
    let mut encrypted = Vec::new();
    for r in 0..rounds {
        // Alternate which goes first, so neither always gets a warm cache.
        for enc in [r % 2 == 1, r % 2 == 0] {
            let round = one_round(&srv, &file, enc)?;
            match enc {
                true => encrypted.push(round),
                false => plain.push(round),
            }
        }
    }
    let median = |rounds: &[Round], f: Figure| {
        let mut v: Vec<f64> = rounds.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        percentile(&v, 0.5)
    };
    let figures: [(&str, Figure); 5] = [
        ("import", |r| r.import),
        ("list", |r| r.list),
        ("visit", |r| r.visit),
        ("fresh-laptop", |r| r.fresh),
        ("day-push", |r| r.day_push),
    ];
    // What opening the key costs once per process (each `crm` command,
    // each launch of the app): one Argon2id derivation. A passphrase this
    // process has not seen makes it derive afresh.
    let mut unlocks = Vec::new();
    for k in 0..5 {
        let dir = tempfile::tempdir()?;
        let t = Instant::now();
        crm_client::key::create(dir.path(), &format!("基准测试的另一个密码{k}"))?;
        unlocks.push(ms(t.elapsed()));
    }
    unlocks.sort_by(f64::total_cmp);
    println!(
        "{}",
        json!({"scenario": "at-rest", "step": "unlock-once-per-process", "encrypted_ms": percentile(&unlocks, 0.5)})
    );
    for (name, f) in figures {
        let (p, e) = (median(&plain, f), median(&encrypted, f));
        println!(
            "{}",
            json!({"scenario": "at-rest", "step": name, "customers": customers, "visits_each": visits,
                   "rounds": rounds, "plain_ms": p, "encrypted_ms": e,
                   "cost_pct": ((e / p - 1.0) * 1000.0).round() / 10.0})
        );
    }
    Ok(())
}

fn one_round(srv: &Server, file: &std::path::Path, encrypted: bool) -> Result<Round> {
    let mut round = Round::default();

    // The laptop's own import, then list and visit on what it imported.
    let dir = tempfile::tempdir()?;
    let mut store = new_store(dir.path(), "zhang", encrypted)?;
    let t = Instant::now();
    crm_client::import::run(&mut store, file, false, |_| {})?;
    round.import = ms(t.elapsed());
    let mut lists = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        std::hint::black_box(store.list()?);
        lists.push(ms(t.elapsed()));
    }
    lists.sort_by(f64::total_cmp);
    round.list = percentile(&lists, 0.5);
    let ids: Vec<String> = store.list()?.into_iter().map(|s| s.id).take(20).collect();
    let mut visits = Vec::new();
    for (k, id) in ids.iter().enumerate() {
        let t = Instant::now();
        visit(
            &mut store,
            id,
            format!("bench-{k}"),
            "拜访采购经理,谈下季度订单",
        )?;
        visits.push(ms(t.elapsed()));
    }
    visits.sort_by(f64::total_cmp);
    round.visit = percentile(&visits, 0.5);
    drop(store);

    // A fresh laptop's first sync, then a day's push.
    let mut lap = Laptop::new_as(srv, "zhang", encrypted)?;
    round.fresh = ms(lap.sync()?.0);
    day_of_work(&mut lap.store)?;
    round.day_push = ms(lap.sync()?.0);
    Ok(round)
}
