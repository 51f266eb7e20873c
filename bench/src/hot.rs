//! `hot-customer`: ten replicas of one customer (the same salesperson on
//! ten devices) each make 500 changes offline, then all sync at once and
//! once more to receive the others' work. Figures: how long merging took,
//! and whether every replica ended identical to the server.

use std::time::Instant;

use anyhow::{bail, Result};
use serde_json::json;

use crm_shared::customer::Activity;
use crm_shared::note::Action;

use crate::server::{self, Server};
use crate::{import, ms, storm_round, Laptop};

/// `replicas` devices × `edits` offline changes each to one customer.
pub fn run(replicas: usize, edits: usize) -> Result<()> {
    let data = tempfile::tempdir()?;
    server::add_user(data.path(), "zhang", "salesperson")?;
    import(data.path(), "hot-", "zhang", 1, 20, 7)?;
    let srv = Server::start(data.path())?;
    let mut laps = (0..replicas)
        .map(|_| Laptop::new(&srv, "zhang"))
        .collect::<Result<Vec<_>>>()?;
    for lap in &mut laps {
        lap.sync()?;
    }
    let id = laps[0].store.list()?[0].id.clone();

    // Offline: half visits, half edits of two card fields (the same fields on
    // every replica, so the merge has real concurrent edits to settle).
    let t = Instant::now();
    std::thread::scope(|s| {
        for (r, lap) in laps.iter_mut().enumerate() {
            let id = &id;
            s.spawn(move || -> Result<()> {
                for k in 0..edits {
                    if k % 2 == 0 {
                        let note = lap.store.note(Action::Activity, None);
                        lap.store.change(id, &note, |c| {
                            c.activities.insert(
                                format!("r{r}-v{k}"),
                                Activity {
                                    at: 1_800_000_000_000 + k as i64,
                                    by: "zhang".into(),
                                    notes: format!("第{r}台设备第{k}次拜访:洽谈补货"),
                                    ..Default::default()
                                },
                            );
                            Ok(())
                        })?;
                    } else {
                        let note = lap.store.note(Action::Edit, Some("现场更新"));
                        lap.store.change(id, &note, |c| {
                            if k % 4 == 1 {
                                c.remarks = format!("设备{r}备注{k}");
                            } else {
                                c.company.address = format!("宁波市鄞州区{r}号楼{k}室");
                            }
                            Ok(())
                        })?;
                    }
                }
                Ok(())
            });
        }
    });
    let offline = t.elapsed();

    let t = Instant::now();
    let (push, _) = storm_round(
        &srv,
        &mut laps,
        "hot-customer-push",
        "all replicas push at once",
    )?;
    let pushed = t.elapsed();
    let t = Instant::now();
    let (pull, _) = storm_round(
        &srv,
        &mut laps,
        "hot-customer-pull",
        "all replicas receive the others' work",
    )?;
    let pulled = t.elapsed();

    // Identical everywhere: every replica's card equals the first's, and
    // each has every replica's visits.
    let first = serde_json::to_value(laps[0].store.get(&id)?)?;
    let mut identical = true;
    for lap in &laps[1..] {
        identical &= serde_json::to_value(lap.store.get(&id)?)? == first;
    }
    let visits = first["activities"]
        .as_object()
        .map(|m| m.len())
        .unwrap_or(0);
    let expected = 20 + replicas * edits.div_ceil(2);
    if visits != expected {
        bail!("合并后拜访记录 {visits} 条,应为 {expected} 条");
    }
    println!(
        "{}",
        json!({"scenario": "hot-customer", "replicas": replicas, "edits_each": edits,
            "offline_edits_s": offline.as_secs_f64(),
            "merge_ms": ms(pushed + pulled), "push_round_ms": ms(pushed), "pull_round_ms": ms(pulled),
            "push_errors": push["errors"], "pull_errors": pull["errors"],
            "push_p99_ms": push["p99_ms"], "pull_p99_ms": pull["p99_ms"],
            "push_server_cpu_s": push["server_cpu_s"], "pull_server_cpu_s": pull["server_cpu_s"],
            "bytes_up": push["bytes_up"], "bytes_down": pull["bytes_down"],
            "visits_after": visits, "identical_everywhere": identical,
            "server_peak_rss_mb": srv.peak_rss_mb()})
    );
    Ok(())
}
