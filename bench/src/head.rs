//! `head-office`: a server holding 100,000 customers × 20 visits. How long
//! it takes to build, its memory at idle and under a storm of laptops, and
//! how fast head office's pages answer: console search by Chinese name
//! prefix and by phone, the grade summary table, the warnings.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::json;

use crm_client::net::{Client, Trust};
use crm_shared::api::{LoginRequest, LoginResponse};

use crate::server::{self, Server};
use crate::{first_sync_storm, ms, percentile, Laptop};

/// Customers per salesperson.
const EACH: usize = 200;
/// Customers per `crm-server import` run.
const SLICE: usize = 10_000;

/// Times `n` runs of `f`; returns (p50, p99, max) in ms.
fn time(n: usize, mut f: impl FnMut() -> Result<()>) -> Result<(f64, f64, f64)> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f()?;
        v.push(ms(t.elapsed()));
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Ok((
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        *v.last().unwrap(),
    ))
}

fn figures(name: &str, t: (f64, f64, f64)) -> serde_json::Value {
    json!({"what": name, "p50_ms": t.0, "p99_ms": t.1, "max_ms": t.2})
}

pub fn run(customers: usize, visits: usize, laptops: usize) -> Result<()> {
    let data = tempfile::tempdir()?;
    server::add_user(data.path(), "wang", "clerk")?;
    server::add_user(data.path(), "boss", "manager")?;
    // An import assigns customers only to salespeople who exist: every one
    // the generator assigns to, the first `laptops` of whom sign in below.
    let logins: Vec<String> = (0..customers.div_ceil(EACH).max(laptops))
        .map(|i| format!("s{i:03}"))
        .collect();
    for l in &logins {
        server::add_user(data.path(), l, "salesperson")?;
    }
    let logins = &logins[..laptops];
    let t = Instant::now();
    let mut done = 0;
    let mut k = 0;
    while done < customers {
        let n = SLICE.min(customers - done);
        let file = data.path().join(format!("slice{k}.jsonl"));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        crate::gen::write_assigned(
            &mut out,
            &format!("h{k}-"),
            n,
            visits,
            k as u64 + 100,
            Some((done / EACH, EACH)),
        )?;
        drop(out);
        server::admin(data.path(), &["import", file.to_str().unwrap()], None)?;
        std::fs::remove_file(file)?;
        done += n;
        k += 1;
    }
    let build = t.elapsed();
    // A settings change rewrites every customer's warning rows in the
    // settings' own write: how long the writer is held at this size.
    let settings = data.path().join("settings.json");
    std::fs::write(&settings, r#"{"churn_days": 120}"#)?;
    let t = Instant::now();
    server::admin(
        data.path(),
        &["settings", "set", settings.to_str().unwrap()],
        None,
    )?;
    let settings_change = t.elapsed();
    let srv = Server::start(data.path())?;
    // Let start-up work (the rules backfill, if any) settle before measuring.
    std::thread::sleep(Duration::from_secs(2));
    let idle_rss = srv.rss_mb();

    let client = Client::new(&srv.url, &Trust::fingerprint(&srv.fingerprint)?)?;
    let login: LoginResponse = client.post(
        "/api/v1/login",
        None,
        &LoginRequest {
            login: "wang".into(),
            password: server::PASSWORD.into(),
            device_name: "基准测试".into(),
        },
    )?;
    let cookie = format!("crm_session={}", login.token);
    let page = |path: &str| -> Result<String> {
        let (status, body) = client.get_page(path, &cookie)?;
        if status != 200 {
            bail!("{path}: HTTP {status}");
        }
        Ok(body)
    };
    // A name prefix and a phone that exist (from the first page).
    let first = page("/console/customers")?;
    let name = first
        .split("<a href=\"/console/customers/")
        .nth(1)
        .and_then(|s| s.split('>').nth(1))
        .and_then(|s| s.split('<').next())
        .unwrap_or("有限公司")
        .to_string();
    let prefix: String = name.chars().take(3).collect();
    let q = |s: &str| form_encode(s);
    let by_name = time(50, || {
        let body = page(&format!("/console/customers?q={}", q(&prefix)))?;
        if !body.contains(&prefix) {
            bail!("搜索“{prefix}”没有结果");
        }
        Ok(())
    })?;
    let phone = {
        let row = first.split("<tr>").nth(2).unwrap_or_default();
        row.split("<td>")
            .filter_map(|c| c.split('<').next())
            .find(|c| c.len() == 11 && c.starts_with("138"))
            .unwrap_or("13800000000")
            .to_string()
    };
    let by_phone = time(50, || {
        page(&format!("/console/customers?q={phone}"))?;
        Ok(())
    })?;
    let filtered = time(20, || {
        page(&format!(
            "/console/customers?region={}&grade=B&page=3",
            q("华东")
        ))?;
        Ok(())
    })?;
    // The whole list, counted, in each order (the first page, and one
    // further in).
    let mut sorted = Vec::new();
    for (sort, path) in [
        ("name, page 1", "/console/customers"),
        ("name, page 400", "/console/customers?page=399"),
        (
            "credit limit, largest first",
            "/console/customers?sort=credit&dir=desc",
        ),
        ("grade, page 100", "/console/customers?sort=grade&page=99"),
        ("next follow-up", "/console/customers?sort=followup"),
        (
            "last visit, latest first",
            "/console/customers?sort=activity&dir=desc",
        ),
    ] {
        let t = time(20, || {
            let body = page(path)?;
            if !body.contains(&format!("共 {customers} 位客户")) {
                bail!("{path}: 没有显示客户总数 {customers}");
            }
            Ok(())
        })?;
        sorted.push(figures(&format!("GET {path} ({sort})"), t));
    }
    // 工作台: counts and charts over the whole archive, from the list rows.
    let home = time(20, || {
        let body = page("/console/home")?;
        if !body.contains(&format!("档案共 {customers} 位客户")) {
            bail!("工作台没有显示客户总数 {customers}");
        }
        Ok(())
    })?;
    // 待跟进, one page of it, through the follow-up index.
    let mut followups = Vec::new();
    for path in ["/console/followups", "/console/followups?page=20"] {
        let t = time(20, || {
            let body = page(path)?;
            if !body.contains("位客户到期或逾期") {
                bail!("{path}: 没有显示到期跟进的总数");
            }
            Ok(())
        })?;
        followups.push(figures(&format!("GET {path}"), t));
    }
    // The grade table's first request after the import brings every
    // customer's kept row up to date (once a month, or after a settings
    // change); the warnings read rows kept on each write.
    let grades_first = time(1, || {
        page("/console/grades")?;
        Ok(())
    })?;
    let mut report_pages = Vec::new();
    for path in [
        "/console/grades",
        "/console/grades?page=500",
        "/console/grades?grade=C",
        "/console/warnings",
        "/console/warnings?page=200",
        "/console/warnings?rule=review_overdue&page=20",
    ] {
        let t = time(20, || {
            let body = page(path)?;
            if !body.contains("第 ") {
                bail!("{path}: 没有页码");
            }
            Ok(())
        })?;
        report_pages.push(figures(&format!("GET {path}"), t));
    }
    // A page's export answers from the same rows as the page.
    for path in [
        "/console/export/grades.csv?page=500",
        "/console/export/grades.xlsx?page=500",
        "/console/export/warnings.csv?page=200",
        "/console/export/warnings.xlsx?rule=review_overdue&page=0",
        "/console/export/followups.csv?page=20",
    ] {
        let t = time(20, || {
            let body = page(path)?;
            if path.contains(".csv") && body.lines().count() < 2 {
                bail!(
                    "{path}: 导出没有数据行:{}",
                    body.chars().take(300).collect::<String>()
                );
            }
            Ok(())
        })?;
        report_pages.push(figures(&format!("GET {path}"), t));
    }
    // Every row of a report goes out in one file: grows with the archive.
    for path in [
        "/console/export/grades.csv",
        "/console/export/warnings.csv?rule=review_overdue",
        "/console/export/followups.csv",
    ] {
        let t = time(3, || {
            page(path)?;
            Ok(())
        })?;
        report_pages.push(figures(&format!("GET {path}"), t));
    }
    for path in ["/api/v1/grades?limit=100", "/api/v1/warnings?limit=100"] {
        let t = time(20, || {
            let rows: Vec<serde_json::Value> = client.get(path, Some(&login.token))?;
            if rows.len() != 100 {
                bail!("{path}: {} 行,应为 100 行", rows.len());
            }
            Ok(())
        })?;
        report_pages.push(figures(&format!("GET {path}"), t));
    }
    let grades_api = time(5, || {
        let rows: Vec<serde_json::Value> = client.get("/api/v1/grades", Some(&login.token))?;
        if rows.len() != customers {
            bail!("等级表 {} 行,应为 {customers} 行", rows.len());
        }
        Ok(())
    })?;
    let grades_one = time(20, || {
        page("/console/grades?salesperson=s001")?;
        Ok(())
    })?;
    let warnings_api = time(5, || {
        let _: Vec<serde_json::Value> = client.get("/api/v1/warnings", Some(&login.token))?;
        Ok(())
    })?;
    let after_pages_rss = srv.rss_mb();

    // A storm against the big store: laptops' first syncs at once.
    let mut laps = logins
        .iter()
        .map(|l| Laptop::new(&srv, l))
        .collect::<Result<Vec<_>>>()?;
    let storm = first_sync_storm(&srv, &mut laps, "head-office-storm")?;

    // A settings change through the running server while a clerk records
    // reviews one after another: how long the change takes, and how long
    // each review waits for the writer meanwhile.
    let boss: LoginResponse = client.post(
        "/api/v1/login",
        None,
        &LoginRequest {
            login: "boss".into(),
            password: server::PASSWORD.into(),
            device_name: "基准测试".into(),
        },
    )?;
    let customer = first
        .split("<a href=\"/console/customers/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("no customer on the first page"))?
        .to_string();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (online_change, waits) = std::thread::scope(|s| -> Result<_> {
        let probe = s.spawn(|| -> Result<Vec<Duration>> {
            // A client of its own: each blocks on its own runtime.
            let clerk = Client::new(&srv.url, &Trust::fingerprint(&srv.fingerprint)?)?;
            let mut waits = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let _: serde_json::Value = clerk.post(
                    &format!("/api/v1/customers/{customer}/review"),
                    Some(&login.token),
                    &serde_json::json!({"notes": "基准测试的审查"}),
                )?;
                waits.push(t.elapsed());
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(waits)
        });
        std::thread::sleep(Duration::from_millis(500));
        let t = Instant::now();
        let changed: Result<serde_json::Value> = client
            .put(
                "/api/v1/settings",
                Some(&boss.token),
                &crm_shared::settings::Settings {
                    churn_days: 150,
                    ..Default::default()
                },
            )
            .map_err(Into::into);
        let took = t.elapsed();
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let waits = probe.join().expect("the probe thread ends")?;
        changed?;
        Ok((took, waits))
    })?;
    let mut waits: Vec<f64> = waits.into_iter().map(ms).collect();
    waits.sort_by(|a, b| a.total_cmp(b));
    let waits = (
        percentile(&waits, 0.5),
        percentile(&waits, 0.99),
        waits.last().copied().unwrap_or_default(),
    );

    println!(
        "{}",
        json!({"scenario": "head-office", "customers": customers, "visits_each": visits,
            "build_s": build.as_secs_f64(),
            "settings_change_s": settings_change.as_secs_f64(), "server_files_mb": dir_mb(data.path()),
            "settings_change_online_s": online_change.as_secs_f64(),
            "review_during_settings_change": figures("POST /api/v1/customers/{id}/review while the settings change", waits),
            "server_idle_rss_mb": idle_rss, "server_rss_after_pages_mb": after_pages_rss,
            "search_name_prefix": prefix, "search_phone": phone,
            "console_search_name": figures("GET /console/customers?q=<3-character name prefix>", by_name),
            "console_search_phone": figures("GET /console/customers?q=<mobile>", by_phone),
            "console_filtered_page": figures("region + grade filter, page 4", filtered),
            "console_sorted_pages": sorted,
            "console_home": figures("GET /console/home (工作台)", home),
            "console_followups": followups,
            "grades_first_after_import": figures("GET /console/grades, first after the import", grades_first),
            "report_pages": report_pages,
            "grades_all_api": figures("GET /api/v1/grades, every customer", grades_api),
            "grades_one_salesperson_console": figures("GET /console/grades?salesperson=…", grades_one),
            "warnings_all_api": figures("GET /api/v1/warnings, every customer", warnings_api),
            "storm": storm, "server_peak_rss_mb": srv.peak_rss_mb()})
    );
    Ok(())
}

pub fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn dir_mb(dir: &std::path::Path) -> f64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum::<u64>()
        })
        .unwrap_or(0) as f64
        / 1e6
}
