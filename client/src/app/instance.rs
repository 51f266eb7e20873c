//! One app per data directory: the running one leaves its address (with
//! the launch token) in the data directory, readable by this user only, and
//! a second `crm ui` opens that instead of starting another server on the
//! same store.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Result;

/// File in the data directory holding the running app's address.
const FILE: &str = "app-address";
/// What `/ping` answers, so a stale file naming a port some other program
/// now uses is recognised as stale.
const PONG: &str = "crm-ui";

/// `GET /ping`.
pub async fn ping() -> &'static str {
    PONG
}

/// The address of the app already serving `dir`, if one answers.
pub fn running(dir: &Path) -> Option<String> {
    let url = std::fs::read_to_string(dir.join(FILE)).ok()?;
    let url = url.trim().to_string();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")?
        .split('/')
        .next()?
        .parse()
        .ok()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET /ping HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    answer.ends_with(PONG).then_some(url)
}

/// This process's claim on the data directory; removed when dropped.
pub struct Claim {
    file: PathBuf,
    url: String,
}

impl Claim {
    /// Records `url` as the running app's address.
    pub fn write(dir: &Path, url: &str) -> Result<Claim> {
        std::fs::create_dir_all(dir)?;
        let file = dir.join(FILE);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&file)?;
        f.write_all(url.as_bytes())?;
        Ok(Claim {
            file,
            url: url.to_string(),
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        // Only our own address: another app may have claimed the directory
        // after this one's file was judged stale.
        if std::fs::read_to_string(&self.file).is_ok_and(|s| s.trim() == self.url) {
            let _ = std::fs::remove_file(&self.file);
        }
    }
}
