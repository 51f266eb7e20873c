//! `laptop-app`: the salesperson's app (`crm ui`, the release binary next to
//! this one) on a laptop holding N customers × M visits, synced from a real
//! server. Measured from outside, over loopback HTTP, as the browser sees
//! it: the time to the first page after launch, every page's latency
//! (p50/p99), search as you type, logging a visit until the refreshed card
//! is back, and the app's resident memory while idle.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use serde_json::json;

use crate::head::form_encode;
use crate::{import, ms, percentile, server, Laptop};

/// One HTTP exchange with the app; the status, the headers and the body.
fn exchange(
    authority: &str,
    method: &str,
    path: &str,
    cookie: &str,
    body: &str,
) -> Result<(u16, String, String)> {
    let mut s = TcpStream::connect(authority)?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\
         Cookie: {cookie}\r\nOrigin: http://{authority}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("no HTTP answer to {path}"))?;
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("no status for {path}"))?;
    Ok((status, head.to_string(), body.to_string()))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// (p50, p99) of `v`, in ms.
fn p50_p99(v: &[Duration]) -> (f64, f64) {
    let mut sorted: Vec<f64> = v.iter().map(|d| ms(*d)).collect();
    sorted.sort_by(|a, b| a.total_cmp(b));
    (percentile(&sorted, 0.5), percentile(&sorted, 0.99))
}

/// Runs the scenario.
pub fn run(customers: usize, visits: usize, rounds: usize) -> Result<()> {
    let data = tempfile::tempdir()?;
    server::add_user(data.path(), "zhang", "salesperson")?;
    import(data.path(), "c", "zhang", customers, visits, 42)?;
    let srv = server::Server::start(data.path())?;
    let mut lap = Laptop::new(&srv, "zhang")?;
    let t = Instant::now();
    lap.sync()?;
    let synced = t.elapsed();
    let ids: Vec<String> = lap.store.list()?.into_iter().map(|s| s.id).collect();
    // The store's directory outlives the laptop handle: the app uses it.
    let Laptop { _dir: keep, .. } = lap;
    let dir = keep.path().to_path_buf();

    let crm = std::env::current_exe()?.with_file_name("crm");
    if !crm.exists() {
        return Err(anyhow!(
            "找不到 {}:请先运行 cargo build --release -p crm-client",
            crm.display()
        ));
    }
    let launched = Instant::now();
    let mut child = Command::new(&crm)
        .arg("--data-dir")
        .arg(&dir)
        .args(["ui", "--no-open"])
        .env("CRM_SYNC_EVERY", "3600")
        .env("CRM_PASSPHRASE", crate::BENCH_PASSPHRASE)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("start crm ui")?;
    let mut out = BufReader::new(child.stdout.take().context("stdout")?);
    let mut line = String::new();
    out.read_line(&mut line)?;
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let url = line
        .find("http://")
        .map(|i| line[i..].trim().to_string())
        .ok_or_else(|| anyhow!("no address in {line:?}"))?;
    let authority = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let launch_path = url
        .trim_start_matches("http://")
        .trim_start_matches(&authority);
    let (_, head, _) = exchange(&authority, "GET", launch_path, "", "")?;
    let cookie = header(&head, "set-cookie")
        .and_then(|c| c.split(';').next())
        .ok_or_else(|| anyhow!("no cookie"))?
        .to_string();
    let (status, _, today) = exchange(&authority, "GET", "/today", &cookie, "")?;
    let first_page = launched.elapsed();
    if status != 200 {
        return Err(anyhow!("/today answered {status}"));
    }
    // Figures over every card (warnings, reviews due, and the rows the
    // first sync stored without reading cards) are computed in the
    // background after launch; the pages are measured once that is done.
    loop {
        let (_, _, page) = exchange(&authority, "GET", "/reports/warnings", &cookie, "")?;
        if !page.contains("正在计算") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let settled = launched.elapsed();
    let form = today
        .split("name=\"_form\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .ok_or_else(|| anyhow!("no form token"))?
        .to_string();

    let card = &ids[ids.len() / 2];
    let pages = [
        ("today", "/today".to_string()),
        ("customers", "/customers".to_string()),
        ("card", format!("/customers/{card}")),
        ("history", format!("/customers/{card}/history")),
        ("visit_form", format!("/customers/{card}/visit")),
        ("edit_form", format!("/customers/{card}/edit")),
        ("daily_report", "/reports/daily".to_string()),
        ("grades", "/reports/grades".to_string()),
        ("warnings", "/reports/warnings".to_string()),
        ("sync", "/sync".to_string()),
        ("new_customer", "/customers/new".to_string()),
    ];
    let mut page_figures = serde_json::Map::new();
    for (name, path) in &pages {
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            let (status, _, body) = exchange(&authority, "GET", path, &cookie, "")?;
            times.push(t.elapsed());
            if status != 200 || body.is_empty() {
                return Err(anyhow!("{path} answered {status}"));
            }
        }
        let (p50, p99) = p50_p99(&times);
        page_figures.insert((*name).into(), json!({"p50_ms": p50, "p99_ms": p99}));
    }

    // Search as you type: each prefix of a few queries, as keys are typed.
    let mut search = Vec::new();
    for q in ["上海", "shhd", "138", "华东机电", "zh"] {
        let typed: Vec<char> = q.chars().collect();
        for n in 1..=typed.len() {
            let prefix: String = typed[..n].iter().collect();
            let encoded: String = form_encode(&prefix);
            for _ in 0..rounds.div_ceil(5) {
                let t = Instant::now();
                exchange(
                    &authority,
                    "GET",
                    &format!("/customers/rows?q={encoded}"),
                    &cookie,
                    "",
                )?;
                search.push(t.elapsed());
            }
        }
    }

    // Logging a visit: the POST, then the card it sends the browser back to.
    let mut visit = Vec::new();
    for (i, id) in ids.iter().cycle().take(rounds).enumerate() {
        let body = format!(
            "_form={form}&kind=call&intent=A&notes={}",
            form_encode(&format!("基准测试第 {i} 次电话回访"))
        );
        let t = Instant::now();
        let (status, head, _) = exchange(
            &authority,
            "POST",
            &format!("/customers/{id}/visit"),
            &cookie,
            &body,
        )?;
        let location = header(&head, "location").unwrap_or_default().to_string();
        if status != 303 || !location.starts_with("/customers/") {
            return Err(anyhow!("visit answered {status} {location}"));
        }
        exchange(&authority, "GET", &location, &cookie, "")?;
        visit.push(t.elapsed());
    }

    // Idle: the derived figures and the launch sync have settled.
    std::thread::sleep(Duration::from_secs(5));
    let rss_kib = server::status_kb(child.id(), "VmRSS:");
    let (search_ms, visit_ms) = (p50_p99(&search), p50_p99(&visit));
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "{}",
        json!({
            "scenario": "laptop-app", "customers": customers, "visits_each": visits,
            "first_sync_ms": ms(synced),
            "launch_to_first_page_ms": ms(first_page),
            "launch_to_figures_ms": ms(settled),
            "pages": page_figures,
            "search_as_you_type": {"requests": search.len(), "p50_ms": search_ms.0, "p99_ms": search_ms.1},
            "visit_post_to_card": {"requests": visit.len(), "p50_ms": visit_ms.0, "p99_ms": visit_ms.1},
            "idle_rss_mib": (rss_kib as f64 / 1024.0 * 10.0).round() / 10.0,
        })
    );
    Ok(())
}
