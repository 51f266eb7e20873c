//! A real `crm-backup` node for tests (its own directory; `run` as a child
//! process that can be killed), and [`NetCut`], a loopback TCP relay the
//! test can cut and heal to play a network outage between backup and server.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::server::{backup_bin, TestServer};
use super::texts;

/// A backup node: its directory and, while following, its `run` process.
pub struct BackupNode {
    /// Holds the backup directory (created by `init` itself, so the test
    /// sees the mode `crm-backup` gives it) and the follower's log.
    root: TempDir,
    dir: PathBuf,
    child: Option<Child>,
    log: PathBuf,
}

impl BackupNode {
    /// `crm-backup init` against `url` as `login` (a backup operator), with
    /// the server's fingerprint (empty: plain HTTP).
    pub fn init(url: &str, fingerprint: &str, login: &str, password: &str) -> BackupNode {
        let root = tempfile::tempdir().unwrap();
        let log = root.path().join("run.log");
        let node = BackupNode {
            dir: root.path().join("backup"),
            root,
            child: None,
            log,
        };
        let mut args = vec!["init", "--server", url, "--user", login, "--password-stdin"];
        if fingerprint.is_empty() {
            args.push("--insecure-plain-http");
        } else {
            args.extend(["--fingerprint", fingerprint]);
        }
        node.ok(&args, Some(&format!("{password}\n")));
        node
    }

    /// `init` against a [`TestServer`].
    pub fn for_server(server: &TestServer, login: &str, password: &str) -> BackupNode {
        BackupNode::init(&server.url, &server.fingerprint, login, password)
    }

    /// The backup directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A scratch directory beside the backup directory, removed with the node.
    pub fn scratch(&self) -> &Path {
        self.root.path()
    }

    /// Runs `crm-backup --dir DIR ARGS`.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_in(&self.dir, args, stdin)
    }

    /// Runs a command that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        let (stdout, stderr) = texts(&out);
        assert!(
            out.status.success(),
            "crm-backup {args:?} failed:\nstdout: {stdout}\nstderr: {stderr}"
        );
        stdout
    }

    /// Runs a command with `--json` that must succeed; parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all, None)).expect("crm-backup prints JSON")
    }

    /// `run --once`: catch up and stop.
    pub fn catch_up(&self) {
        self.ok(&["run", "--once"], None);
    }

    /// Starts following in the background (`crm-backup run`).
    pub fn start(&mut self) {
        self.start_limited(None);
    }

    /// Starts following with every file it writes limited to `max_bytes`
    /// (`RLIMIT_FSIZE`, with `SIGXFSZ` ignored): writes past it fail with
    /// an error, as they do on a full disk.
    pub fn start_limited(&mut self, max_bytes: Option<u64>) {
        use std::os::unix::process::CommandExt;
        assert!(self.child.is_none(), "already following");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = Command::new(backup_bin());
        cmd.arg("--dir")
            .arg(&self.dir)
            .arg("run")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(max) = max_bytes {
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    let lim = libc::rlimit {
                        rlim_cur: max as libc::rlim_t,
                        rlim_max: max as libc::rlim_t,
                    };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().expect("start crm-backup run");
        self.child = Some(child);
    }

    /// Kills the follower as `kill -9` does.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the follower and waits for
    /// it to end; its exit status.
    pub fn stop_with(&mut self, signal: libc::c_int) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("following");
        // SAFETY: kill(2) on our own child's pid, which has not been reaped.
        let sent = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        assert_eq!(sent, 0, "signal {signal} sent");
        child.wait().unwrap()
    }

    /// What the follower wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The backup's store file.
    pub fn file(&self) -> PathBuf {
        self.dir.join("crm-backup.sqlite3")
    }
}

/// Runs `crm-backup --dir DIR ARGS` on any backup directory (e.g. a copy).
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(backup_bin())
        .arg("--dir")
        .arg(dir)
        .args(args)
        .env_remove("CRM_PASSWORD")
        .env_remove("CRM_BACKUP_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start crm-backup");
    if let Some(input) = stdin {
        match child.stdin.take().unwrap().write_all(input.as_bytes()) {
            // A command refused before it reads its input exits first.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.expect("write stdin"),
        }
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

impl Drop for BackupNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The server's `/status`, as JSON.
pub fn server_status(server: &TestServer) -> Value {
    use crm_client::net::{Client, Trust};
    let trust = if server.fingerprint.is_empty() {
        Trust::PlainHttp
    } else {
        Trust::fingerprint(&server.fingerprint).unwrap()
    };
    let client = Client::new(&server.url, &trust).unwrap();
    client.get("/status", None).expect("GET /status")
}

/// Waits until the server reports its backup holds everything; returns the
/// final `backup` object of `/status`. Panics after `limit`.
pub fn wait_backup_even(server: &TestServer, limit: Duration) -> Value {
    let start = Instant::now();
    loop {
        let s = server_status(server);
        let b = &s["backup"];
        if !b.is_null() && b["confirmed"] == b["head"] && b["behind_changes"] == 0 {
            return b.clone();
        }
        assert!(
            start.elapsed() < limit,
            "the backup did not catch up within {limit:?}: {s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A loopback TCP relay to `target`; [`NetCut::cut`] drops every connection
/// and refuses new ones until [`NetCut::heal`].
pub struct NetCut {
    /// Where clients connect (`127.0.0.1:PORT`).
    pub addr: String,
    open: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accepted: Arc<AtomicUsize>,
}

impl NetCut {
    /// Starts relaying to `target` (`host:port`).
    pub fn new(target: &str) -> NetCut {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let open = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (o, c, n, target) = (
            open.clone(),
            conns.clone(),
            accepted.clone(),
            target.to_string(),
        );
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                n.fetch_add(1, Ordering::SeqCst);
                if !o.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(upstream) = TcpStream::connect(&target) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                {
                    let mut list = c.lock().unwrap();
                    list.push(client.try_clone().unwrap());
                    list.push(upstream.try_clone().unwrap());
                }
                pipe(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                pipe(upstream, client);
            }
        });
        NetCut {
            addr,
            open,
            conns,
            accepted,
        }
    }

    /// Connections made through the relay so far (refused ones included).
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Drops every connection now; new ones are closed at once.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for s in self.conns.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Lets connections through again.
    pub fn heal(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
}
