//! Shared helpers for the integration tests: a laptop (a `crm` data
//! directory driven through the real binary) and, in [`server`], a real
//! `crm-server` process.

#![allow(dead_code)]

pub mod backup;
pub mod browser;
pub mod http;
pub mod server;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// The `crm` binary under test.
pub const CRM: &str = env!("CARGO_BIN_EXE_crm-under-test");

/// stdout and stderr of a finished command, as text.
pub fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn copy_files(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read data dir") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).expect("copy file");
    }
}

/// A salesperson's laptop: its own `crm` data directory.
pub struct Laptop {
    dir: TempDir,
}

impl Laptop {
    /// A fresh data directory with `crm init --user USER` done.
    pub fn init(user: &str) -> Laptop {
        let laptop = Laptop {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        laptop.ok(&["init", "--user", user]);
        laptop
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A second laptop whose data directory is a byte-for-byte copy of this
    /// one's (a backup taken now, or a disk cloned to another machine).
    /// Only while no `crm` runs here.
    pub fn copy(&self) -> Laptop {
        let copy = Laptop {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        copy_files(self.dir.path(), copy.dir.path());
        copy
    }

    /// Puts back an earlier copy of this laptop's data directory, as a
    /// restore from a system backup or a rolled-back snapshot does.
    pub fn restore_from(&self, copy: &Laptop) {
        for entry in std::fs::read_dir(self.dir.path()).expect("read data dir") {
            std::fs::remove_file(entry.expect("entry").path()).expect("remove file");
        }
        copy_files(copy.dir.path(), self.dir.path());
    }

    /// Runs `crm --data-dir DIR ARGS`, feeding `stdin` if given.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(CRM)
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .env_remove("CRM_HOME")
            .env("CRM_PASSPHRASE", crm_tests::PASSPHRASE)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run crm");
        let mut pipe = child.stdin.take().expect("stdin piped");
        if let Some(input) = stdin {
            match pipe.write_all(input.as_bytes()) {
                // A command refused before it reads its input exits first.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.expect("write stdin"),
            }
        }
        drop(pipe);
        child.wait_with_output().expect("wait for crm")
    }

    /// Starts `crm --data-dir DIR ARGS` without waiting for it (stdout and
    /// stderr piped, no stdin), e.g. to stop the server while it runs.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        Command::new(CRM)
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .env_remove("CRM_HOME")
            .env("CRM_PASSPHRASE", crm_tests::PASSPHRASE)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run crm")
    }

    /// Runs `crm ARGS`, demands success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, None);
        let (stdout, stderr) = texts(&out);
        assert!(
            out.status.success(),
            "crm {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        );
        stdout
    }

    /// Runs `crm ARGS`, demands exit code 1 (the command failed and said
    /// why), returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args, None);
        let (stdout, stderr) = texts(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "crm {args:?} should fail with exit code 1:\nstdout: {stdout}\nstderr: {stderr}"
        );
        stderr
    }

    /// `crm login --server URL --user USER --password-stdin` against a
    /// plain-HTTP test server; demands success.
    pub fn login(&self, server: &server::TestServer, user: &str, password: &str) {
        let out = self.run(
            &[
                "login",
                "--server",
                &server.url,
                "--user",
                user,
                "--password-stdin",
            ],
            Some(&format!("{password}\n")),
        );
        let (stdout, stderr) = texts(&out);
        assert!(
            out.status.success(),
            "crm login as {user} failed:\nstdout: {stdout}\nstderr: {stderr}"
        );
    }

    /// `crm sync --json`: demands success, returns the report.
    pub fn sync(&self) -> serde_json::Value {
        self.json(&["sync"])
    }

    /// The store itself, through the client library (for what the CLI
    /// deliberately cannot do). Do not hold it while `crm` runs here.
    pub fn store(&self) -> crm_client::Store {
        crm_tests::unlock(self.dir.path());
        crm_client::Store::open(self.dir.path()).expect("open the laptop's store")
    }

    /// Runs a read command with `--json` appended and parses its output.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("crm {all:?}: not JSON ({e}): {out}"))
    }
}
