//! The backup scenarios (issue 4): how far the backup node trails the
//! server while laptops sync without pause, what attaching it costs the
//! server, and how long verify and restore take on a large archive.
//!
//! The node is the real `crm-backup` release binary beside this one. On this
//! machine it shares the server's two cores, which a real backup machine
//! would not; the figures are therefore an upper bound on its cost.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::{json, Value};

use crm_client::net::{Client, Trust};
use crm_shared::api::ServerStatus;
use crm_shared::customer::Activity;
use crm_shared::note::Action;

use crate::server::{self, Server};
use crate::{import, ms, percentile, Laptop};

const OPERATOR: &str = "bk";
/// How often the lag sampler asks the server's `/status`.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// A `crm-backup` node in its own temporary directory.
struct Node {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// What one `crm-backup` command cost: wall time, peak RSS, its stdout.
struct Ran {
    wall: Duration,
    peak_rss_mb: f64,
    stdout: String,
}

fn bin() -> Result<PathBuf> {
    let p = std::env::current_exe()?.with_file_name("crm-backup");
    if !p.exists() {
        bail!(
            "找不到 {}:请先运行 cargo build --release -p crm-backup",
            p.display()
        );
    }
    Ok(p)
}

impl Node {
    fn init(srv: &Server) -> Result<Node> {
        let node = Node {
            dir: tempfile::tempdir()?,
            child: None,
        };
        node.cmd(
            &[
                "init",
                "--server",
                &srv.url,
                "--user",
                OPERATOR,
                "--fingerprint",
                &srv.fingerprint,
                "--password-stdin",
            ],
            Some(server::PASSWORD),
        )?;
        Ok(node)
    }

    /// Runs `crm-backup --dir DIR ARGS` to completion; fails on a non-zero exit.
    fn cmd(&self, args: &[&str], stdin: Option<&str>) -> Result<Ran> {
        use std::io::Write;
        let t = Instant::now();
        let mut child = Command::new(bin()?)
            .arg("--dir")
            .arg(self.dir.path())
            .args(args)
            .env("CRM_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(s) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{s}\n").as_bytes())?;
        }
        drop(child.stdin.take());
        let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
        let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
        let (ok, peak_kb) = wait_with_peak(&child)?;
        let wall = t.elapsed();
        let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
        if !ok {
            bail!("crm-backup {args:?} 失败:{stderr}{stdout}");
        }
        Ok(Ran {
            wall,
            peak_rss_mb: peak_kb as f64 / 1024.0,
            stdout,
        })
    }

    /// `crm-backup run` in the background, until dropped.
    fn start(&mut self) -> Result<()> {
        self.child = Some(
            Command::new(bin()?)
                .arg("--dir")
                .arg(self.dir.path())
                .arg("run")
                .env("CRM_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// CPU seconds the running node has used.
    fn cpu_s(&self) -> f64 {
        self.child
            .as_ref()
            .map(|c| server::cpu_s_of(c.id()))
            .unwrap_or(0.0)
    }

    fn file_mb(&self) -> f64 {
        dir_mb(self.dir.path())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits for `child` and returns (exit success, peak RSS in KB) from `wait4`,
/// which reports the child's own high-water mark, not the whole family's.
fn wait_with_peak(child: &Child) -> Result<(bool, i64)> {
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own unreaped child; both pointers are valid.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    if r < 0 {
        bail!("wait4: {}", std::io::Error::last_os_error());
    }
    Ok((
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        usage.ru_maxrss,
    ))
}

fn dir_mb(dir: &Path) -> f64 {
    let mut bytes = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if let Ok(m) = e.metadata() {
                bytes += if m.is_dir() { 0 } else { m.len() };
            }
        }
    }
    bytes as f64 / 1e6
}

fn status(client: &Client) -> Result<ServerStatus> {
    Ok(client.get("/status", None)?)
}

fn status_client(srv: &Server) -> Result<Client> {
    Ok(Client::new(
        &srv.url,
        &Trust::fingerprint(&srv.fingerprint)?,
    )?)
}

/// Polls `/status` until the server reports its backup even; returns how long it took.
fn wait_even(client: &Client, limit: Duration) -> Result<Duration> {
    let t = Instant::now();
    loop {
        if let Some(b) = status(client)?.backup {
            if b.confirmed >= b.head {
                return Ok(t.elapsed());
            }
        }
        if t.elapsed() > limit {
            bail!("备份在 {limit:?} 内没有追上服务器");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One `/status` sample: when, the server's newest log position, and the
/// position the backup has confirmed.
struct Sample {
    at: Duration,
    head: u64,
    confirmed: u64,
}

/// The lag of every head the sampler saw: from the sample *before* the head
/// was first seen (the latest moment it can have been committed) to the
/// first sample showing the backup confirmed it — an upper bound, with the
/// sampling interval as resolution.
fn lags(samples: &[Sample]) -> Vec<f64> {
    let mut out = Vec::new();
    let mut last_head = samples.first().map(|s| s.head);
    let mut j = 0;
    for i in 1..samples.len() {
        let head = samples[i].head;
        if last_head == Some(head) {
            continue;
        }
        last_head = Some(head);
        j = j.max(i);
        while j < samples.len() && samples[j].confirmed < head {
            j += 1;
        }
        if j == samples.len() {
            break; // never confirmed inside the window; the drain time covers it
        }
        out.push(ms(samples[j].at.saturating_sub(samples[i - 1].at)));
    }
    out
}

/// Every laptop records a visit and syncs, over and over, for `secs`;
/// meanwhile a sampler reads `/status`. Returns the round's figures and the samples.
fn continuous(
    srv: &Server,
    laps: &mut [Laptop],
    secs: u64,
    round: &str,
) -> Result<(Value, Vec<Sample>)> {
    let stop = AtomicBool::new(false);
    let client = status_client(srv)?;
    let cpu0 = srv.cpu_s();
    let t0 = Instant::now();
    let (per_laptop, samples) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut v = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Ok(st) = status(&client) {
                    let (head, confirmed) =
                        st.backup.map(|b| (b.head, b.confirmed)).unwrap_or((0, 0));
                    v.push(Sample {
                        at: t0.elapsed(),
                        head,
                        confirmed,
                    });
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
            v
        });
        let workers: Vec<_> = laps
            .iter_mut()
            .enumerate()
            .map(|(i, lap)| {
                let stop = &stop;
                s.spawn(move || work(lap, i, round, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_secs(secs));
        stop.store(true, Ordering::Relaxed);
        let per: Vec<std::result::Result<Vec<f64>, String>> = workers
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("panic".into())))
            .collect();
        (per, sampler.join().unwrap_or_default())
    });
    let wall = t0.elapsed();
    let cpu = srv.cpu_s() - cpu0;
    let errors: Vec<&String> = per_laptop.iter().filter_map(|r| r.as_ref().err()).collect();
    let mut lat: Vec<f64> = per_laptop
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .flatten()
        .copied()
        .collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    let line = json!({"laptops": laps.len(), "seconds": wall.as_secs_f64(), "syncs": lat.len(),
        "syncs_per_s": lat.len() as f64 / wall.as_secs_f64(),
        "sync_p50_ms": percentile(&lat, 0.5), "sync_p99_ms": percentile(&lat, 0.99),
        "errors": errors.len(), "first_error": errors.first(),
        "server_cpu_s": cpu, "server_peak_rss_mb": srv.peak_rss_mb()});
    Ok((line, samples))
}

/// One laptop's loop: a visit, a sync, again, until told to stop. Returns
/// each sync's latency in ms.
fn work(
    lap: &mut Laptop,
    i: usize,
    round: &str,
    stop: &AtomicBool,
) -> std::result::Result<Vec<f64>, String> {
    let ids: Vec<String> = lap
        .store
        .list()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let by = lap.store.profile().user.clone();
    let mut lat = Vec::new();
    let mut k = 0;
    while !stop.load(Ordering::Relaxed) {
        let id = &ids[(k * 7 + i) % ids.len()];
        let note = lap.store.note(Action::Activity, None);
        lap.store
            .change(id, &note, |c| {
                c.activities.insert(
                    format!("{round}-{i}-{k}"),
                    Activity {
                        at: 1_800_000_000_000,
                        by: by.clone(),
                        notes: "电话回访,客户确认下周到货".into(),
                        ..Default::default()
                    },
                );
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        let (t, ..) = lap.sync().map_err(|e| e.to_string())?;
        lat.push(ms(t));
        k += 1;
    }
    Ok(lat)
}

/// `backup-lag`: N laptops sync without pause, first with no backup node,
/// then with one following; lag p50/p99 and the server's throughput both ways.
pub fn lag(laptops: usize, customers: usize, visits: usize, secs: u64) -> Result<()> {
    let data = tempfile::tempdir()?;
    server::add_user(data.path(), OPERATOR, "backup_operator")?;
    let logins = crate::salespeople(data.path(), laptops, customers, visits)?;
    let srv = Server::start(data.path())?;
    let mut laps = logins
        .iter()
        .map(|l| Laptop::new(&srv, l))
        .collect::<Result<Vec<_>>>()?;
    for lap in &mut laps {
        lap.sync()?;
    }

    let (without, _) = continuous(&srv, &mut laps, secs, "without")?;

    let client = status_client(&srv)?;
    let mut node = Node::init(&srv)?;
    node.start()?;
    let catch_up = wait_even(&client, Duration::from_secs(600))?;
    let node_cpu0 = node.cpu_s();
    let (mut with, samples) = continuous(&srv, &mut laps, secs, "with")?;
    with["backup_node_cpu_s"] = json!(node.cpu_s() - node_cpu0);
    let drain = wait_even(&client, Duration::from_secs(600))?;
    let mut l = lags(&samples);
    l.sort_by(|a, b| a.total_cmp(b));
    let max_behind = samples
        .iter()
        .map(|s| s.head.saturating_sub(s.confirmed))
        .max()
        .unwrap_or(0);
    node.stop();
    let verify = node.cmd(&["verify", "--json"], None)?;
    let report: Value = serde_json::from_str(&verify.stdout).unwrap_or(Value::Null);

    println!(
        "{}",
        json!({"scenario": "backup-lag", "laptops": laptops, "customers_each": customers, "visits_each": visits,
            "sample_every_ms": ms(SAMPLE_EVERY), "samples": samples.len(), "heads_seen": l.len(),
            "lag_p50_ms": percentile(&l, 0.5), "lag_p99_ms": percentile(&l, 0.99), "lag_max_ms": l.last().copied().unwrap_or(0.0),
            "max_behind_changes": max_behind,
            "initial_catch_up_ms": ms(catch_up), "drain_after_load_ms": ms(drain),
            // verify exits non-zero (and this scenario fails) unless every document matches.
            "verified_documents_after": report.get("documents").cloned().unwrap_or(Value::Null),
            "without_backup": without, "with_backup": with})
    );
    Ok(())
}

/// `backup-scale`: a server of `customers` × `visits`; the backup's first
/// catch-up, `verify` (with and without the server), and `restore`.
pub fn scale(customers: usize, visits: usize) -> Result<()> {
    let data = tempfile::tempdir()?;
    server::add_user(data.path(), OPERATOR, "backup_operator")?;
    // Imported in slices of 10,000 so the generator's file stays small.
    let slice = 10_000.min(customers);
    let t = Instant::now();
    let mut done = 0;
    let mut k = 0;
    while done < customers {
        let n = slice.min(customers - done);
        let login = format!("s{k:02}");
        server::add_user(data.path(), &login, "salesperson")?;
        import(
            data.path(),
            &format!("{login}-"),
            &login,
            n,
            visits,
            k as u64 + 1,
        )?;
        done += n;
        k += 1;
    }
    let build = t.elapsed();
    let srv = Server::start(data.path())?;
    let server_mb = dir_mb(data.path());

    let node = Node::init(&srv)?;
    let catch_up = node.cmd(&["run", "--once"], None)?;
    let backup_mb = node.file_mb();
    let verify = node.cmd(&["verify", "--json"], None)?;
    // A failed verify exits non-zero and `cmd` fails the scenario.
    let verified = serde_json::from_str::<Value>(&verify.stdout)
        .ok()
        .and_then(|v| v.get("documents").cloned());
    let offline = node.cmd(&["verify", "--offline", "--json"], None)?;
    let restored = tempfile::tempdir()?;
    let to = restored.path().join("data");
    let restore = node.cmd(&["restore", "--to", to.to_str().unwrap(), "--json"], None)?;

    println!(
        "{}",
        json!({"scenario": "backup-scale", "customers": customers, "visits_each": visits,
            "server_build_s": build.as_secs_f64(), "server_files_mb": server_mb,
            "catch_up_s": catch_up.wall.as_secs_f64(), "catch_up_peak_rss_mb": catch_up.peak_rss_mb,
            "backup_files_mb": backup_mb,
            "verify_s": verify.wall.as_secs_f64(), "verify_peak_rss_mb": verify.peak_rss_mb, "verified_documents": verified,
            "verify_offline_s": offline.wall.as_secs_f64(), "verify_offline_peak_rss_mb": offline.peak_rss_mb,
            "restore_s": restore.wall.as_secs_f64(), "restore_peak_rss_mb": restore.peak_rss_mb,
            "restored_files_mb": dir_mb(&to)})
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(at_ms: u64, head: u64, confirmed: u64) -> Sample {
        Sample {
            at: Duration::from_millis(at_ms),
            head,
            confirmed,
        }
    }

    #[test]
    fn lag_runs_from_the_sample_before_a_head_appears_to_its_confirmation() {
        let v = [
            s(0, 10, 10),
            s(20, 12, 10),
            s(40, 12, 11),
            s(60, 15, 12),
            s(80, 15, 15),
        ];
        // head 12: seen at 20 (after 0), confirmed at 60 → 60; head 15: seen at 60 (after 40), confirmed at 80 → 40.
        assert_eq!(lags(&v), vec![60.0, 40.0]);
    }

    #[test]
    fn a_head_never_confirmed_in_the_window_is_left_out() {
        let v = [s(0, 1, 1), s(20, 2, 1), s(40, 2, 1)];
        assert!(lags(&v).is_empty());
    }

    #[test]
    fn the_head_present_at_the_first_sample_is_not_a_lag() {
        // head 6 is new at 40, so committed after 20, and already confirmed at 40.
        let v = [s(0, 5, 5), s(20, 5, 5), s(40, 6, 6)];
        assert_eq!(lags(&v), vec![20.0]);
    }
}
