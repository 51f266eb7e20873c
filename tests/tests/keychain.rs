//! The store key kept in the system keychain, for real: each test starts
//! its own D-Bus session bus and GNOME Keyring's Secret Service on it (the
//! login collection made and unlocked with a password on stdin, as a
//! desktop session's sign-in does), and runs the real `crm` against it
//! without `CRM_PASSPHRASE` and without a terminal.
//!
//! A store made so has its key in the keychain and opens with no
//! passphrase; without the keychain entry it is refused in one line and
//! nothing on disk changes; a revoked laptop leaves neither files nor
//! entry. With no bus at all, `crm` falls back to the passphrase.
//!
//! Needs the Debian packages dbus-daemon, gnome-keyring and
//! libsecret-tools (`.ci/run` installs them); the tests fail, not skip,
//! without them.

#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::server::TestServer;
use common::{texts, CRM};
use crm_shared::codes::Role;

const SERVICE: &str = crm_client::keychain::SERVICE;
const PASSWORD: &str = "钥匙串测试密码-2026";

/// A private session bus with GNOME Keyring's Secret Service on it; both
/// killed on drop.
struct Keyring {
    bus: Child,
    daemon: Child,
    /// `DBUS_SESSION_BUS_ADDRESS` for whoever should use it.
    address: String,
    // The daemons' home and runtime directories; removed after them.
    _dir: tempfile::TempDir,
}

fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is missing: install the Debian packages dbus-daemon, gnome-keyring and \
         libsecret-tools (apt-get install dbus-daemon gnome-keyring libsecret-tools); \
         {program} comes with {package}"
    );
}

impl Keyring {
    fn start() -> Keyring {
        require("dbus-daemon", "dbus-daemon");
        require("dbus-send", "dbus-bin (a dependency of dbus-daemon)");
        require("gnome-keyring-daemon", "gnome-keyring");
        require("secret-tool", "libsecret-tools");
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "run"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::set_permissions(
            dir.path().join("run"),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        // No service directories: nothing is started on the bus but what
        // this test starts, so nothing outlives it.
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().join("bus").display()
            ),
        )
        .unwrap();
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon said {address:?}");

        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path().join("home"))
            .env("XDG_DATA_HOME", dir.path().join("home/data"))
            .env("XDG_CONFIG_HOME", dir.path().join("home/config"))
            .env("XDG_CACHE_HOME", dir.path().join("home/cache"))
            .env("XDG_RUNTIME_DIR", dir.path().join("run"))
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        // The login password, as a desktop sign-in hands it over: the login
        // collection is made with it and left unlocked.
        daemon
            .stdin
            .take()
            .unwrap()
            .write_all(b"login-keyring-password")
            .unwrap();
        let keyring = Keyring {
            bus,
            daemon,
            address,
            _dir: dir,
        };
        keyring.wait_ready();
        keyring
    }

    /// Until the Secret Service answers with its default collection.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let out = Command::new("dbus-send")
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.secrets",
                    "/org/freedesktop/secrets",
                    "org.freedesktop.Secret.Service.ReadAlias",
                    "string:default",
                ])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&out.stdout).contains("/collection/") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gnome-keyring-daemon never offered its login collection: {}",
                texts(&out).1
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn secret_tool(&self, args: &[&str], stdin: Option<&str>) -> Output {
        fed(
            Command::new("secret-tool")
                .args(args)
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address),
            stdin,
        )
        .wait_with_output()
        .unwrap()
    }

    /// The keychain entry `crm` keeps for `data_dir`, if any.
    fn entry(&self, data_dir: &Path) -> Option<String> {
        let account = account(data_dir);
        let out = self.secret_tool(&["lookup", "service", SERVICE, "username", &account], None);
        Some(String::from_utf8_lossy(&out.stdout).into_owned()).filter(|s| !s.is_empty())
    }

    /// Every entry `crm` has in the keychain, by account.
    fn entries(&self) -> Vec<String> {
        let out = self.secret_tool(&["search", "--all", "service", SERVICE], None);
        let all = texts(&out);
        format!("{}{}", all.0, all.1)
            .lines()
            .filter_map(|l| l.strip_prefix("attribute.username = "))
            .map(str::to_string)
            .collect()
    }

    fn clear(&self, data_dir: &Path) {
        let account = account(data_dir);
        let out = self.secret_tool(&["clear", "service", SERVICE, "username", &account], None);
        assert!(out.status.success(), "{}", texts(&out).1);
        assert_eq!(self.entry(data_dir), None);
    }

    /// Puts back an entry as `crm` writes it (the `keyring` crate's
    /// attributes).
    fn put(&self, data_dir: &Path, secret: &str) {
        let account = account(data_dir);
        let out = self.secret_tool(
            &[
                "store", "--label", "crm", "service", SERVICE, "username", &account, "target",
                "default",
            ],
            Some(secret),
        );
        assert!(out.status.success(), "{}", texts(&out).1);
    }

    /// `crm --data-dir DIR ARGS` as a salesperson signed in to this
    /// desktop session runs it: no `CRM_PASSPHRASE`, no terminal.
    fn crm(&self, data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
        crm(data_dir, args, stdin, &self.address)
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

/// The account a data directory's entry is kept under.
fn account(data_dir: &Path) -> String {
    std::fs::canonicalize(data_dir)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// `crm` without `CRM_PASSPHRASE`, with `bus` as the session bus.
fn crm(data_dir: &Path, args: &[&str], stdin: Option<&str>, bus: &str) -> Output {
    let child = fed(
        Command::new(CRM)
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .env_remove("CRM_HOME")
            .env_remove("CRM_PASSPHRASE")
            .env_remove("RUST_BACKTRACE")
            .env("DBUS_SESSION_BUS_ADDRESS", bus),
        stdin,
    );
    finish(child, args)
}

/// Starts `command` with its output captured, writes `stdin` (if any) to
/// it and closes it, so the program sees the end of its input.
fn fed(command: &mut Command, stdin: Option<&str>) -> Child {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {:?}: {e}", command.get_program()));
    let mut pipe = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        pipe.write_all(s.as_bytes()).unwrap();
    }
    drop(pipe);
    child
}

/// Waits for `child`; a `crm` still running after five minutes hangs, and
/// that is the failure.
fn finish(mut child: Child, args: &[&str]) -> Output {
    let deadline = Instant::now() + Duration::from_secs(300);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("crm {args:?} hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn ok(out: &Output, what: &str) -> String {
    let (stdout, stderr) = texts(out);
    assert!(
        out.status.success(),
        "{what}:\nstdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}

/// Demands exit 1, nothing on stdout and one line on stderr; the line.
fn one_line_refusal(out: &Output, what: &str) -> String {
    let (stdout, stderr) = texts(out);
    assert_eq!(out.status.code(), Some(1), "{what}: {stdout}{stderr}");
    assert!(stdout.trim().is_empty(), "{what}: {stdout}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{what}: one line expected:\n{stderr}");
    lines[0].to_string()
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn key_file(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("crm.key")).unwrap()).unwrap()
}

fn server() -> TestServer {
    let srv = TestServer::start_plain();
    srv.add_user_named("zhang", "张伟", Role::Salesperson, PASSWORD);
    srv
}

#[test]
fn a_store_made_at_a_desktop_keeps_its_key_in_the_keychain() {
    let keyring = Keyring::start();
    let srv = server();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("crm");

    let out = keyring.crm(&dir, &["init", "--user", "zhang"], None);
    let said = ok(&out, "crm init");
    assert!(said.contains("系统钥匙串"), "{said}");
    assert!(!texts(&out).1.contains("本机数据密码"), "{}", texts(&out).1);
    let file = key_file(&dir);
    assert_eq!(file["wrapped"], "keychain", "{file:#}");
    assert!(file.get("salt").is_none(), "{file:#}");
    let secret = keyring
        .entry(&dir)
        .expect("an entry for the data directory");
    // The probe that found the keychain left nothing behind.
    assert_eq!(keyring.entries(), vec![account(&dir)]);

    let login = [
        "login",
        "--server",
        &srv.url,
        "--user",
        "zhang",
        "--password-stdin",
    ];
    ok(
        &keyring.crm(&dir, &login, Some(&format!("{PASSWORD}\n"))),
        "crm login",
    );
    ok(
        &keyring.crm(
            &dir,
            &["add", "--id", "c-1", "--name", "钥匙串测试机电有限公司"],
            None,
        ),
        "crm add",
    );
    let list = ok(&keyring.crm(&dir, &["list"], None), "crm list");
    assert!(list.contains("钥匙串测试机电"), "{list}");
    let status = ok(&keyring.crm(&dir, &["status"], None), "crm status");
    assert!(status.contains("密钥保管:系统钥匙串"), "{status}");
    let status = ok(
        &keyring.crm(&dir, &["status", "--json"], None),
        "crm status --json",
    );
    assert!(status.contains("\"key_kept_by\": \"keychain\""), "{status}");

    // Without the entry (another system account, or removed by hand) the
    // store is refused in one line, and not a byte changes.
    let before = files(&dir);
    keyring.clear(&dir);
    for args in [&["list"][..], &["status"], &["sync"]] {
        let line = one_line_refusal(&keyring.crm(&dir, args, None), "without the entry");
        assert!(line.contains("系统钥匙串中没有此数据目录"), "{line}");
        assert!(line.contains("未做任何改动"), "{line}");
    }
    assert_eq!(files(&dir), before, "nothing on disk changed");
    // Nor does a passphrase open it.
    let out = Command::new(CRM)
        .arg("--data-dir")
        .arg(&dir)
        .arg("list")
        .env_remove("CRM_HOME")
        .env("CRM_PASSPHRASE", crm_tests::PASSPHRASE)
        .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    one_line_refusal(&out, "with a passphrase instead");
    assert_eq!(files(&dir), before, "nothing on disk changed");

    // The entry back, as it was: the store opens again.
    keyring.put(&dir, &secret);
    let list = ok(&keyring.crm(&dir, &["list"], None), "crm list again");
    assert!(list.contains("钥匙串测试机电"), "{list}");

    // Head office revokes the laptop: its next sync leaves no file and no
    // keychain entry.
    let devices = srv.admin(&["device", "list", "--json"], None);
    let devices: serde_json::Value = serde_json::from_slice(&devices.stdout).unwrap();
    let id = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["login"] == "zhang")
        .and_then(|d| d["id"].as_str())
        .expect("zhang's device")
        .to_string();
    let out = srv.admin(&["device", "revoke", &id], None);
    assert!(out.status.success(), "{}", texts(&out).1);
    let out = keyring.crm(&dir, &["sync"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        texts(&out).1.contains("此设备已被管理员停用"),
        "{}",
        texts(&out).1
    );
    let left: Vec<String> = files(&dir)
        .into_keys()
        .filter(|n| n.starts_with("crm."))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(keyring.entry(&dir), None, "the keychain entry is deleted");
    assert!(keyring.entries().is_empty(), "{:?}", keyring.entries());
}

/// Without any session bus (a headless box) `crm init` asks at the
/// terminal for a passphrase, as before the keychain, and at once.
#[test]
fn with_no_keychain_the_passphrase_is_asked_for() {
    let home = tempfile::tempdir().unwrap();
    let no_bus = format!("unix:path={}", home.path().join("no-bus").display());
    let dir = home.path().join("crm");

    // No terminal: refused in one line, nothing made.
    let out = crm(&dir, &["init", "--user", "zhang"], None, &no_bus);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("设置本机数据密码"), "{stderr}");
    assert!(stderr.contains("CRM_PASSPHRASE"), "{stderr}");
    assert!(!dir.join("crm.key").exists());

    // At a terminal (script(1) gives it one): typed twice, sealed under it.
    let mut child = Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{CRM} --data-dir '{}' init --user zhang",
            dir.display()
        ))
        .arg("/dev/null")
        .env_remove("CRM_HOME")
        .env_remove("CRM_PASSPHRASE")
        .env("DBUS_SESSION_BUS_ADDRESS", &no_bus)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script(1), from Debian's bsdutils");
    let mut typed = child.stdin.take().unwrap();
    let mut screen = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        // Types the passphrase at each prompt, as a person would.
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        let mut answered = 0;
        while let Ok(n) = screen.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen).into_owned();
            let prompts =
                text.matches("设置本机数据密码(至少").count() + text.matches("再输入一次").count();
            while answered < prompts {
                let _ = writeln!(typed, "{}", crm_tests::PASSPHRASE);
                answered += 1;
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let out = finish(child, &["init", "at a terminal"]);
    let screen = reader.join().unwrap();
    assert!(out.status.success(), "{screen}");
    assert!(screen.contains("已初始化本机资料库"), "{screen}");
    assert!(!screen.contains("系统钥匙串"), "{screen}");
    assert_eq!(key_file(&dir)["wrapped"], "passphrase");

    let out = Command::new(CRM)
        .arg("--data-dir")
        .arg(&dir)
        .arg("status")
        .env_remove("CRM_HOME")
        .env("CRM_PASSPHRASE", crm_tests::PASSPHRASE)
        .env("DBUS_SESSION_BUS_ADDRESS", &no_bus)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(ok(&out, "crm status").contains("密钥保管:本机数据密码"));
}

/// `CRM_PASSPHRASE` chooses the passphrase even where a keychain works
/// (scripts, and every other test).
#[test]
fn crm_passphrase_forces_the_passphrase_over_the_keychain() {
    let keyring = Keyring::start();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("crm");
    let out = Command::new(CRM)
        .arg("--data-dir")
        .arg(&dir)
        .args(["init", "--user", "zhang"])
        .env_remove("CRM_HOME")
        .env("CRM_PASSPHRASE", crm_tests::PASSPHRASE)
        .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    ok(&out, "crm init");
    assert_eq!(key_file(&dir)["wrapped"], "passphrase");
    assert!(keyring.entries().is_empty(), "{:?}", keyring.entries());
}

/// `crm ui --no-open` as a salesperson starts it: no `CRM_PASSPHRASE`,
/// this keyring's bus; killed on drop.
struct App {
    child: Child,
    url: String,
    authority: String,
}

impl App {
    fn start(dir: &Path, keyring: &Keyring) -> App {
        let mut child = Command::new(CRM)
            .arg("--data-dir")
            .arg(dir)
            .args(["ui", "--no-open"])
            .env_remove("CRM_HOME")
            .env_remove("CRM_PASSPHRASE")
            .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start crm ui");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let url = line
            .find("http://")
            .map(|i| line[i..].trim().to_string())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let authority = url
            .strip_prefix("http://")
            .and_then(|u| u.split('/').next())
            .unwrap()
            .to_string();
        App {
            child,
            url,
            authority,
        }
    }

    /// A request with the app's cookie; the status and the whole answer.
    fn request(
        &self,
        cookie: &str,
        method: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, String) {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut s = TcpStream::connect(&self.authority).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n{cookie}\
             Origin: http://{a}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len(),
            a = self.authority,
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        (raw[9..12].parse().unwrap(), raw)
    }

    /// The cookie the launch token is traded for, as a header line.
    fn cookie(&self) -> String {
        let token = self.url.split("t=").nth(1).unwrap();
        let (_, answer) = self.request("", "GET", &format!("/?t={token}"), &[]);
        let cookie = answer
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .and_then(|c| c.split(';').next())
            .expect("a cookie");
        format!("Cookie: {cookie}\r\n")
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn form_token(page: &str) -> String {
    page.split("name=\"_form\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no form token in {page}"))
        .to_string()
}

/// The app's first sign-in on a desktop asks for no passphrase: the key
/// goes to the keychain, and later launches open without the unlock
/// page. Without the entry, the page says why and asks for nothing.
#[test]
fn the_app_signs_in_and_opens_with_the_keychain_alone() {
    let keyring = Keyring::start();
    let srv = server();
    let home = tempfile::tempdir().unwrap();
    let dir: PathBuf = home.path().join("crm");

    let app = App::start(&dir, &keyring);
    let cookie = app.cookie();
    let (_, page) = app.request(&cookie, "GET", "/setup", &[]);
    let form = form_token(&page);
    let (status, page) = app.request(
        &cookie,
        "POST",
        "/setup/probe",
        &[("_form", &form), ("url", &srv.url)],
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("登录名"), "{page}");
    assert!(!page.contains("本机数据密码"), "{page}");
    let (status, answer) = app.request(
        &cookie,
        "POST",
        "/setup/login",
        &[
            ("_form", &form),
            ("url", &srv.url),
            ("fingerprint", ""),
            ("login", "zhang"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(status, 303, "{answer}");
    assert_eq!(key_file(&dir)["wrapped"], "keychain");
    assert!(keyring.entry(&dir).is_some());
    drop(app);

    // A new launch opens the store with nothing to type.
    let app = App::start(&dir, &keyring);
    let cookie = app.cookie();
    let (status, page) = app.request(&cookie, "GET", "/customers", &[]);
    assert_eq!(status, 200, "{page}");
    drop(app);

    // Without the entry: one line saying why, no passphrase field, and
    // nothing on disk changed.
    keyring.clear(&dir);
    let before: BTreeMap<String, Vec<u8>> = files(&dir)
        .into_iter()
        .filter(|(n, _)| n.starts_with("crm.sqlite3") || n == "crm.key")
        .collect();
    let app = App::start(&dir, &keyring);
    let cookie = app.cookie();
    let (status, page) = app.request(&cookie, "GET", "/customers", &[]);
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("系统钥匙串中没有此数据目录"), "{page}");
    assert!(!page.contains("type=\"password\""), "{page}");
    drop(app);
    let after: BTreeMap<String, Vec<u8>> = files(&dir)
        .into_iter()
        .filter(|(n, _)| n.starts_with("crm.sqlite3") || n == "crm.key")
        .collect();
    assert_eq!(after, before, "nothing on disk changed");
}
