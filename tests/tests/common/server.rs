//! A real `crm-server` process for the integration tests: its own temporary data
//! directory, HTTPS with its generated self-signed certificate on an
//! ephemeral loopback port, killed when the [`TestServer`] is dropped.
//!
//! **Which binary.** `crm-server` and `crm-backup` are built from their own
//! sources as binaries of this test package (see its Cargo.toml), so cargo
//! builds them fresh before the tests run and no test runs cargo.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crm_shared::codes::Role;
use tempfile::TempDir;

/// How long the server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The `crm-server` binary under test.
pub fn server_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_crm-server-under-test"))
}

/// The `crm-backup` binary under test.
pub fn backup_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_crm-backup-under-test"))
}

/// A running `crm-server`; killed on drop.
pub struct TestServer {
    /// `https://127.0.0.1:PORT` (or `http://…` for [`TestServer::start_plain`]).
    pub url: String,
    /// SHA-256 of the certificate as the server printed it (empty for plain HTTP).
    pub fingerprint: String,
    /// The server's `--data-dir`.
    pub data_dir: PathBuf,
    /// The server process.
    pub child: Child,
    /// What the server wrote to stderr (its log), for failure messages.
    pub log: Arc<Mutex<String>>,
    /// `serve` flags beyond `--listen`, reused by [`TestServer::restart`].
    extra: Vec<String>,
    _dir: Option<TempDir>,
}

impl TestServer {
    /// HTTPS with the self-signed certificate generated on first start.
    pub fn start() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("server");
        let mut server = TestServer::start_in(&data_dir, &[]);
        server._dir = Some(dir);
        server
    }

    /// Plain HTTP (`--insecure-plain-http`), for tests that do not care about TLS.
    pub fn start_plain() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("server");
        let mut server = TestServer::start_in(&data_dir, &["--insecure-plain-http"]);
        server._dir = Some(dir);
        server
    }

    /// Plain HTTP with more `serve` flags, e.g. `["--body-limit-mib", "1"]`.
    pub fn start_plain_with(extra: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("server");
        let mut flags = vec!["--insecure-plain-http"];
        flags.extend_from_slice(extra);
        let mut server = TestServer::start_in(&data_dir, &flags);
        server._dir = Some(dir);
        server
    }

    /// Starts a server on an existing data directory (e.g. to restart one
    /// after killing it; the caller keeps the directory alive). `extra` is
    /// appended to `serve`'s flags.
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> TestServer {
        TestServer::start_at(data_dir, "127.0.0.1:0", extra)
    }

    /// Like [`TestServer::start_in`], listening on `listen` (e.g. the
    /// address of a server that was stopped, so its laptops reach this one).
    pub fn start_in_at(data_dir: &Path, listen: &str, extra: &[&str]) -> TestServer {
        TestServer::start_at(data_dir, listen, extra)
    }

    /// Kills the server (as `kill -9`) if it still runs, then starts it
    /// again on the same data directory, port and flags, so laptops logged
    /// in to [`TestServer::url`] reach it unchanged. The data directory
    /// stays owned by this value.
    pub fn restart(&mut self) {
        self.kill();
        let listen = self
            .url
            .rsplit("//")
            .next()
            .expect("url has a host")
            .to_string();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        // The port was just freed; another process could in theory take it.
        let mut fresh = None;
        for attempt in 0..5 {
            match std::panic::catch_unwind(|| TestServer::start_at(&self.data_dir, &listen, &extra))
            {
                Ok(server) => {
                    fresh = Some(server);
                    break;
                }
                Err(e) if attempt == 4 => std::panic::resume_unwind(e),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
        let mut fresh = fresh.expect("restarted");
        assert_eq!(fresh.url, self.url, "restarted on another address");
        // Swap the new process in; the old (dead) one is dropped with `fresh`.
        std::mem::swap(&mut self.child, &mut fresh.child);
        std::mem::swap(&mut self.log, &mut fresh.log);
        let before = std::mem::take(&mut *fresh.log.lock().unwrap());
        self.log
            .lock()
            .unwrap()
            .insert_str(0, &format!("{before}--- restarted ---\n"));
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("url ends with a port")
    }

    /// Signs `login` in through `POST /api/v1/login` (a new device) and
    /// returns its bearer token. Plain-HTTP servers only.
    pub fn api_login(&self, login: &str, password: &str) -> String {
        let client = crm_client::net::Client::new(&self.url, &crm_client::net::Trust::PlainHttp)
            .expect("client for a plain-http server");
        let response: crm_shared::api::LoginResponse = client
            .post(
                "/api/v1/login",
                None,
                &crm_shared::api::LoginRequest {
                    login: login.to_string(),
                    password: password.to_string(),
                    device_name: format!("{login} 的测试脚本"),
                },
            )
            .unwrap_or_else(|e| panic!("API login as {login}: {e}"));
        response.token
    }

    fn start_at(data_dir: &Path, listen: &str, extra: &[&str]) -> TestServer {
        let mut child = Command::new(server_bin())
            .arg("--data-dir")
            .arg(data_dir)
            .args(["serve", "--listen", listen])
            .args(extra)
            .env_remove("CRM_LISTEN")
            .env_remove("CRM_DATA_DIR")
            .env("CRM_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start crm-server");

        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });

        // Read the banner on a thread so a silent server cannot hang the
        // test; keep draining stdout afterwards so it never blocks on a pipe.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut url = None;
            let mut fingerprint = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if url.is_none() {
                    if let Some(at) = line.find("https://").or_else(|| line.find("http://")) {
                        url = Some(line[at..].trim().to_string());
                    }
                }
                if let Some((_, fp)) = line.split_once("指纹:") {
                    fingerprint = Some(fp.trim().to_string());
                }
                let plain = url.as_deref().is_some_and(|u| u.starts_with("http://"));
                if url.is_some() && (fingerprint.is_some() || plain) {
                    let _ = tx.send((url.take().unwrap(), fingerprint.take().unwrap_or_default()));
                }
            }
        });
        let (url, fingerprint) = match rx.recv_timeout(START_TIMEOUT) {
            Ok(found) => found,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "crm-server did not print its address ({status:?}); its log:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        TestServer {
            url,
            fingerprint,
            data_dir: data_dir.to_path_buf(),
            child,
            log,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            _dir: None,
        }
    }

    /// The generated certificate (PEM), for `crm login --ca-file`.
    pub fn cert_path(&self) -> PathBuf {
        self.data_dir.join("tls").join("cert.pem")
    }

    /// `crm-server user add LOGIN --role ROLE --name LOGIN --password-stdin`.
    pub fn add_user(&self, login: &str, role: Role, password: &str) {
        self.add_user_named(login, login, role, password);
    }

    /// `crm-server user add` with a display name.
    pub fn add_user_named(&self, login: &str, name: &str, role: Role, password: &str) {
        let out = self.admin(
            &[
                "user",
                "add",
                login,
                "--role",
                role.code(),
                "--name",
                name,
                "--password-stdin",
            ],
            Some(&format!("{password}\n")),
        );
        assert!(
            out.status.success(),
            "user add {login}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `crm-server --data-dir D ARGS` (an admin command) on this
    /// server's data directory, feeding `stdin` if given.
    pub fn admin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        admin(&self.data_dir, args, stdin)
    }

    /// Kills the server now (as `kill -9`) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `crm-server --data-dir DATA ARGS`, feeding `stdin` if given.
pub fn admin(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(server_bin())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("CRM_PASSWORD")
        .env_remove("CRM_DATA_DIR")
        .env("CRM_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run crm-server");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        match pipe.write_all(input.as_bytes()) {
            // A command refused before it reads its input exits first.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.expect("write stdin"),
        }
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}
