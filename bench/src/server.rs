//! The real `crm-server` process under test: started from the release
//! binary beside this one, on a loopback port, with HTTPS and its
//! self-signed certificate (laptops pin its fingerprint, as in production).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

pub const PASSWORD: &str = "bench-password-1";

/// `crm-server` next to this executable.
pub fn bin() -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let p = me.with_file_name("crm-server");
    if !p.exists() {
        bail!(
            "找不到 {}:请先运行 cargo build --release -p crm-server",
            p.display()
        );
    }
    Ok(p)
}

/// Runs an admin command on a data dir.
pub fn admin(data: &Path, args: &[&str], stdin: Option<&str>) -> Result<()> {
    let mut child = Command::new(bin()?)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "crm-server {:?} 失败:{}",
            args,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Adds a user with the bench password.
pub fn add_user(data: &Path, login: &str, role: &str) -> Result<()> {
    admin(
        data,
        &[
            "user",
            "add",
            login,
            "--role",
            role,
            "--name",
            login,
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    )
}

/// A running server.
pub struct Server {
    pub url: String,
    pub fingerprint: String,
    child: Child,
}

impl Server {
    pub fn start(data: &Path) -> Result<Server> {
        let mut child = Command::new(bin()?)
            .arg("--data-dir")
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .env("CRM_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let (mut url, mut fp) = (None, None);
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if let Some(at) = line.find("https://") {
                    url = Some(line[at..].trim().to_string());
                }
                if let Some((_, f)) = line.split_once("指纹:") {
                    fp = Some(f.trim().to_string());
                }
                if url.is_some() && fp.is_some() {
                    let _ = tx.send((url.take().unwrap(), fp.take().unwrap()));
                }
            }
        });
        let (url, fingerprint) = rx
            .recv_timeout(Duration::from_secs(30))
            .context("服务器未能启动")?;
        Ok(Server {
            url,
            fingerprint,
            child,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory so far (VmHWM), in MB.
    pub fn peak_rss_mb(&self) -> f64 {
        status_kb(self.pid(), "VmHWM:") as f64 / 1024.0
    }

    /// CPU seconds (user + system) the server has used so far.
    pub fn cpu_s(&self) -> f64 {
        cpu_s_of(self.pid())
    }

    /// Current resident memory (VmRSS), in MB.
    pub fn rss_mb(&self) -> f64 {
        status_kb(self.pid(), "VmRSS:") as f64 / 1024.0
    }
}

/// CPU seconds (user + system) process `pid` has used so far.
pub fn cpu_s_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised name; utime and stime are 14th and 15th overall.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

pub fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
