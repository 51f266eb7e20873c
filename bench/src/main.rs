//! `crm-bench`: measures the product the way it runs — a real `crm-server`
//! process (release build, HTTPS, loopback) and laptops driven through the
//! client library, each with its own store. Every scenario prints one JSON
//! line of figures. Build first:
//!
//!     cargo build --release -p crm-server -p crm-bench
//!     target/release/crm-bench all
//!
//! No figure here is asserted anywhere; BENCHMARKS.md records them.

mod app;
mod at_rest;
mod backup;
mod gen;
mod head;
mod hot;
mod server;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Parser, Subcommand};
use serde_json::json;

use crm_client::net::{Client, Trust};
use crm_client::session::{self, Session};
use crm_client::Store;
use crm_shared::customer::Activity;
use crm_shared::note::Action;

use server::Server;

/// The passphrase of every benchmark laptop's store key.
pub const BENCH_PASSPHRASE: &str = "基准测试的本机数据密码";

#[derive(Parser)]
#[command(name = "crm-bench", about = "客户档案基准测试")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// fresh-laptop, day-push and noop, in that order (they share a laptop).
    Laptop {
        #[arg(long, default_value_t = 500)]
        customers: usize,
        #[arg(long, default_value_t = 100)]
        visits: usize,
    },
    /// What encrypting the laptop's store costs: import, list, visit,
    /// fresh-laptop and day-push on a plain and an encrypted store,
    /// alternating.
    AtRest {
        #[arg(long, default_value_t = 500)]
        customers: usize,
        #[arg(long, default_value_t = 100)]
        visits: usize,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// N laptops with their own customers all sync at once.
    Storm {
        #[arg(long, default_value_t = 200)]
        laptops: usize,
        #[arg(long, default_value_t = 200)]
        customers: usize,
        #[arg(long, default_value_t = 20)]
        visits: usize,
    },
    /// backup-lag: N laptops sync without pause, without and then with a
    /// backup node following; lag p50/p99 and server throughput both ways.
    BackupLag {
        #[arg(long, default_value_t = 50)]
        laptops: usize,
        #[arg(long, default_value_t = 200)]
        customers: usize,
        #[arg(long, default_value_t = 20)]
        visits: usize,
        /// Length of each of the two rounds.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// backup-scale: first catch-up, verify and restore of a large archive.
    BackupScale {
        #[arg(long, default_value_t = 100_000)]
        customers: usize,
        #[arg(long, default_value_t = 20)]
        visits: usize,
    },
    /// hot-customer: replicas of one customer each make offline edits, then all sync.
    HotCustomer {
        #[arg(long, default_value_t = 10)]
        replicas: usize,
        #[arg(long, default_value_t = 500)]
        edits: usize,
    },
    /// head-office: 100,000 customers; build time, RSS, console search and report latency, a storm.
    HeadOffice {
        #[arg(long, default_value_t = 100_000)]
        customers: usize,
        #[arg(long, default_value_t = 20)]
        visits: usize,
        /// Laptops in the storm (each a salesperson with 200 customers).
        #[arg(long, default_value_t = 50)]
        laptops: usize,
    },
    /// laptop-app: `crm ui` on a laptop with N customers × M visits; page
    /// latency, search as you type, logging a visit, launch, idle memory.
    LaptopApp {
        #[arg(long, default_value_t = 2_000)]
        customers: usize,
        #[arg(long, default_value_t = 100)]
        visits: usize,
        /// Requests per page measured.
        #[arg(long, default_value_t = 100)]
        rounds: usize,
    },
    /// Every scenario with its defaults.
    All,
}

/// A laptop: its own store, logged in to the server.
struct Laptop {
    _dir: tempfile::TempDir,
    store: Store,
    session: Session,
    client: Client,
    /// Time the last sync spent in its HTTP exchanges (request sent →
    /// response parsed), as opposed to the laptop's own work around them.
    last_exchange: Duration,
}

impl Laptop {
    fn new(srv: &Server, login: &str) -> Result<Laptop> {
        Laptop::new_as(srv, login, true)
    }

    /// With `encrypted` false, on an unencrypted store (to measure what
    /// encryption costs; see `at_rest`).
    fn new_as(srv: &Server, login: &str, encrypted: bool) -> Result<Laptop> {
        let dir = tempfile::tempdir()?;
        let mut store = new_store(dir.path(), login, encrypted)?;
        let session = session::login(
            &mut store,
            &srv.url,
            Trust::fingerprint(&srv.fingerprint)?,
            login,
            server::PASSWORD,
            "bench",
        )?;
        let client = session.client()?;
        Ok(Laptop {
            _dir: dir,
            store,
            session,
            client,
            last_exchange: Duration::ZERO,
        })
    }

    /// One `crm sync`; returns (wall time, bytes up, bytes down, requests).
    fn sync(&mut self) -> Result<(Duration, u64, u64, usize)> {
        let (up0, down0) = self.client.traffic();
        let (client, token) = (&self.client, self.session.bearer().to_string());
        let t = Instant::now();
        let mut in_exchange = Duration::ZERO;
        let report = crm_client::sync::run(
            &mut self.store,
            |req| {
                let t = Instant::now();
                let r = client.post("/api/v1/sync", Some(&token), req);
                in_exchange += t.elapsed();
                Ok(r?)
            },
            |_| {},
        )?;
        if std::env::var_os("CRM_BENCH_DEBUG").is_some() {
            eprintln!("exchange {:?} of {:?}", in_exchange, t.elapsed());
        }
        let took = t.elapsed();
        self.last_exchange = in_exchange;
        let (up, down) = client.traffic();
        Ok((took, up - up0, down - down0, report.requests))
    }
}

/// A laptop store in `dir` for `login`, encrypted as in the product or not.
fn new_store(dir: &Path, login: &str, encrypted: bool) -> Result<Store> {
    Ok(match encrypted {
        true => {
            crm_client::key::create(dir, BENCH_PASSPHRASE)?;
            Store::init(dir, login, login)?
        }
        false => Store::init_unencrypted_for_benchmark(dir, login, login)?,
    })
}

/// Records a visit by zhang on customer `id` under `key`.
fn visit(store: &mut Store, id: &str, key: String, notes: &str) -> Result<()> {
    let note = store.note(Action::Activity, None);
    store.change(id, &note, |c| {
        c.activities.insert(
            key,
            Activity {
                at: 1_800_000_000_000,
                by: "zhang".into(),
                notes: notes.into(),
                ..Default::default()
            },
        );
        Ok(())
    })?;
    Ok(())
}

/// A day's work offline on `store`: 20 visits and 5 edits of the card.
fn day_of_work(store: &mut Store) -> Result<()> {
    let ids: Vec<String> = store.list()?.into_iter().map(|s| s.id).take(25).collect();
    for (k, id) in ids.iter().enumerate() {
        if k < 20 {
            visit(
                store,
                id,
                format!("day-{k}"),
                "拜访采购经理,客户反馈良好,计划下月签订合同",
            )?;
        } else {
            let note = store.note(Action::Edit, Some("客户搬迁"));
            store.change(id, &note, |c| {
                c.company.address = format!("上海市浦东新区张江路{k}号");
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn import(
    data: &Path,
    prefix: &str,
    salesperson: &str,
    customers: usize,
    visits: usize,
    seed: u64,
) -> Result<()> {
    let file = data.join(format!("{prefix}.jsonl"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
    gen::write(&mut out, prefix, customers, visits, seed)?;
    drop(out);
    server::admin(
        data,
        &[
            "import",
            file.to_str().unwrap(),
            "--salesperson",
            salesperson,
        ],
        None,
    )?;
    std::fs::remove_file(file)?;
    Ok(())
}

fn laptop(customers: usize, visits: usize) -> Result<()> {
    let data = tempfile::tempdir()?;
    server::add_user(data.path(), "zhang", "salesperson")?;
    import(data.path(), "c", "zhang", customers, visits, 42)?;
    let srv = Server::start(data.path())?;
    let mut lap = Laptop::new(&srv, "zhang")?;

    let (t, up, down, req) = lap.sync()?;
    let (n, store_bytes) = lap.store.stats()?;
    println!(
        "{}",
        json!({"scenario": "fresh-laptop", "customers": n, "visits_each": visits, "wall_ms": ms(t),
               "bytes_up": up, "bytes_down": down, "requests": req, "laptop_document_bytes": store_bytes})
    );

    day_of_work(&mut lap.store)?;
    let (t, up, down, req) = lap.sync()?;
    println!(
        "{}",
        json!({"scenario": "day-push", "visits": 20, "edits": 5, "wall_ms": ms(t), "bytes_up": up, "bytes_down": down, "requests": req})
    );

    let (t, up, down, req) = lap.sync()?;
    println!(
        "{}",
        json!({"scenario": "noop", "wall_ms": ms(t), "bytes_up": up, "bytes_down": down, "requests": req,
               "server_rss_mb": srv.rss_mb()})
    );
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Adds salespeople `s000`… each with `customers` × `visits` of their own;
/// returns their logins.
fn salespeople(data: &Path, n: usize, customers: usize, visits: usize) -> Result<Vec<String>> {
    let logins: Vec<String> = (0..n).map(|i| format!("s{i:03}")).collect();
    for (i, l) in logins.iter().enumerate() {
        server::add_user(data, l, "salesperson")?;
        import(data, &format!("{l}-"), l, customers, visits, i as u64 + 1)?;
    }
    Ok(logins)
}

fn storm(laptops: usize, customers: usize, visits: usize) -> Result<()> {
    let data = tempfile::tempdir()?;
    let t = Instant::now();
    let logins = salespeople(data.path(), laptops, customers, visits)?;
    let setup = t.elapsed();
    let srv = Server::start(data.path())?;
    let mut laps = logins
        .iter()
        .map(|l| Laptop::new(&srv, l))
        .collect::<Result<Vec<_>>>()?;
    let idle_rss = srv.rss_mb();
    let mut line = first_sync_storm(&srv, &mut laps, "storm")?;
    line["customers_each"] = json!(customers);
    line["visits_each"] = json!(visits);
    line["server_idle_rss_mb"] = json!(idle_rss);
    line["setup_s"] = json!(setup.as_secs_f64());
    println!("{line}");

    // The same first sync with every laptop's own work on these two cores
    // too, all at once: what this machine does, not what a laptop waits.
    let mut fresh = logins
        .iter()
        .map(|l| Laptop::new(&srv, l))
        .collect::<Result<Vec<_>>>()?;
    let (line, _) = storm_round(
        &srv,
        &mut fresh,
        "storm-shared-cpu",
        "first sync of every laptop at once, every laptop's own work on the server's two cores as well",
    )?;
    println!("{line}");
    drop(fresh);

    // The morning after: every laptop logged 5 visits offline, all sync at once.
    for (i, lap) in laps.iter_mut().enumerate() {
        let ids: Vec<String> = lap
            .store
            .list()?
            .into_iter()
            .map(|s| s.id)
            .take(5)
            .collect();
        for (k, id) in ids.iter().enumerate() {
            let note = lap.store.note(Action::Activity, None);
            let by = lap.store.profile().user.clone();
            lap.store.change(id, &note, |c| {
                c.activities.insert(
                    format!("m{i}-{k}"),
                    Activity {
                        at: 1_800_000_000_000,
                        by,
                        notes: "早上拜访,客户反馈良好".into(),
                        ..Default::default()
                    },
                );
                Ok(())
            })?;
        }
    }
    let (line, _) = storm_round(
        &srv,
        &mut laps,
        "storm-day-push",
        "already-synced laptops each push 5 visits at once",
    )?;
    println!("{line}");
    Ok(())
}

/// Customers held by all the laptops together.
fn customers_on(laps: &[Laptop]) -> usize {
    laps.iter()
        .map(|l| l.store.stats().map(|s| s.0).unwrap_or(0))
        .sum()
}

/// Every laptop's first sync at once, timed as real laptops live it. The
/// requests all reach the server at once, and each laptop's exchange (request
/// sent → answer parsed) is timed under that load. Then each laptop's own
/// work on its answer (checking that every document loads with the announced
/// heads, storing them) runs with the machine to itself, one laptop after
/// another, as each real laptop does it on its own CPU. A laptop's end to end
/// is its work before the request, its exchanges and its own work.
///
/// Why not all at once: here 200 laptops would share the server's two cores,
/// and their own work (about 25 ms of CPU each) would queue behind each
/// other's: the figure would be this machine's queue, not what a salesperson
/// waits. `storm-shared-cpu` reports that figure too.
fn first_sync_storm(srv: &Server, laps: &mut [Laptop], name: &str) -> Result<serde_json::Value> {
    struct Timed {
        end_to_end: Duration,
        /// From the start to this laptop's first answer parsed.
        answered: Duration,
        exchange: Duration,
        own: Duration,
        requests: usize,
        down: u64,
    }
    let barrier = std::sync::Barrier::new(laps.len());
    // Held by the one laptop doing its own work.
    let turn = std::sync::Mutex::new(());
    let cpu0 = srv.cpu_s();
    let results: Vec<std::result::Result<Timed, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = laps
            .iter_mut()
            .map(|lap| {
                let (barrier, turn) = (&barrier, &turn);
                s.spawn(move || {
                    let (client, token) = (&lap.client, lap.session.bearer().to_string());
                    let (_, down0) = client.traffic();
                    let mut exchange = Duration::ZERO;
                    let mut exchange_alone = Duration::ZERO;
                    let mut before = None;
                    let mut alone: Option<(std::sync::MutexGuard<()>, Instant)> = None;
                    let mut requests = 0;
                    barrier.wait();
                    let t0 = Instant::now();
                    let run = crm_client::sync::run(
                        &mut lap.store,
                        |req| {
                            before.get_or_insert_with(|| t0.elapsed());
                            let t = Instant::now();
                            let r = client.post("/api/v1/sync", Some(&token), req);
                            exchange += t.elapsed();
                            requests += 1;
                            if alone.is_none() {
                                barrier.wait();
                                let guard = turn.lock().unwrap_or_else(|e| e.into_inner());
                                alone = Some((guard, Instant::now()));
                            } else {
                                exchange_alone += t.elapsed();
                            }
                            Ok(r?)
                        },
                        |_| {},
                    );
                    let own = alone
                        .take()
                        .map(|(_guard, from)| from.elapsed().saturating_sub(exchange_alone));
                    let Some(own) = own else {
                        // Never reached the server: let the others go on.
                        barrier.wait();
                        return Err(run.err().map_or("no request".into(), |e| e.to_string()));
                    };
                    run.map_err(|e| e.to_string())?;
                    let before = before.unwrap_or_default();
                    Ok(Timed {
                        end_to_end: before + exchange + own,
                        answered: before + exchange - exchange_alone,
                        exchange,
                        own,
                        requests,
                        down: client.traffic().1 - down0,
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("panic".into())))
            .collect()
    });
    let server_cpu = srv.cpu_s() - cpu0;
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let ok: Vec<&Timed> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let sorted = |f: fn(&Timed) -> Duration| {
        let mut v: Vec<f64> = ok.iter().map(|t| ms(f(t))).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v
    };
    let (e2e, exch, own) = (
        sorted(|t| t.end_to_end),
        sorted(|t| t.exchange),
        sorted(|t| t.own),
    );
    let exchange_wall = ok.iter().map(|t| t.answered).max().unwrap_or_default();
    Ok(json!({"scenario": name, "laptops": laps.len(),
        "kind": "first sync of every laptop at once; each laptop's own work timed alone, as on its own CPU",
        "p50_ms": percentile(&e2e, 0.5), "p99_ms": percentile(&e2e, 0.99), "max_ms": e2e.last().copied().unwrap_or(0.0),
        "exchange_p50_ms": percentile(&exch, 0.5), "exchange_p99_ms": percentile(&exch, 0.99),
        "own_work_p50_ms": percentile(&own, 0.5), "own_work_p99_ms": percentile(&own, 0.99),
        "exchange_wall_s": exchange_wall.as_secs_f64(),
        "syncs_per_s": laps.len() as f64 / exchange_wall.as_secs_f64(),
        "requests": ok.iter().map(|t| t.requests).sum::<usize>(),
        "errors": errors.len(), "first_error": errors.first(),
        "bytes_down": ok.iter().map(|t| t.down).sum::<u64>(), "customers_on_laptops": customers_on(laps),
        "server_cpu_s": server_cpu, "server_peak_rss_mb": srv.peak_rss_mb()}))
}

/// All laptops sync at once; returns the figures as JSON.
fn storm_round(
    srv: &Server,
    laps: &mut [Laptop],
    name: &str,
    kind: &str,
) -> Result<(serde_json::Value, Vec<f64>)> {
    let barrier = std::sync::Barrier::new(laps.len());
    let cpu0 = srv.cpu_s();
    let t = Instant::now();
    let results: Vec<std::result::Result<(Duration, u64, u64), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = laps
            .iter_mut()
            .map(|lap| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    lap.sync()
                        .map(|r| (r.0, r.1, r.2))
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("panic".into())))
            .collect()
    });
    let wall = t.elapsed();
    let server_cpu = srv.cpu_s() - cpu0;
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let mut lat: Vec<f64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|d| ms(d.0))
        .collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    let up: u64 = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|d| d.1)
        .sum();
    let down: u64 = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|d| d.2)
        .sum();
    let mut exchange: Vec<f64> = laps.iter().map(|l| ms(l.last_exchange)).collect();
    exchange.sort_by(|a, b| a.total_cmp(b));
    let line = json!({"scenario": name, "kind": kind, "laptops": laps.len(),
        "wall_s": wall.as_secs_f64(), "syncs_per_s": laps.len() as f64 / wall.as_secs_f64(),
        "p50_ms": percentile(&lat, 0.5), "p99_ms": percentile(&lat, 0.99), "max_ms": lat.last().copied().unwrap_or(0.0),
        "exchange_p50_ms": percentile(&exchange, 0.5), "exchange_p99_ms": percentile(&exchange, 0.99),
        "errors": errors.len(), "first_error": errors.first(),
        "bytes_up": up, "bytes_down": down, "customers_on_laptops": customers_on(laps),
        "server_cpu_s": server_cpu, "server_peak_rss_mb": srv.peak_rss_mb()});
    Ok((line, lat))
}

fn main() -> Result<()> {
    match Cli::parse().scenario {
        Scenario::Laptop { customers, visits } => laptop(customers, visits),
        Scenario::Storm {
            laptops,
            customers,
            visits,
        } => storm(laptops, customers, visits),
        Scenario::AtRest {
            customers,
            visits,
            rounds,
        } => at_rest::run(customers, visits, rounds),
        Scenario::BackupLag {
            laptops,
            customers,
            visits,
            seconds,
        } => backup::lag(laptops, customers, visits, seconds),
        Scenario::BackupScale { customers, visits } => backup::scale(customers, visits),
        Scenario::HotCustomer { replicas, edits } => hot::run(replicas, edits),
        Scenario::LaptopApp {
            customers,
            visits,
            rounds,
        } => app::run(customers, visits, rounds),
        Scenario::HeadOffice {
            customers,
            visits,
            laptops,
        } => head::run(customers, visits, laptops),
        Scenario::All => {
            laptop(500, 100)?;
            at_rest::run(500, 100, 3)?;
            storm(200, 200, 20)?;
            hot::run(10, 500)?;
            app::run(2_000, 100, 100)?;
            head::run(100_000, 20, 50)?;
            backup::lag(50, 200, 20, 30)?;
            backup::scale(100_000, 20)
        }
    }
}
