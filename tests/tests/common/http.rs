//! Raw HTTP/1.1 over loopback, for requests no well-behaved client sends:
//! garbage or truncated bodies, a wrong content type, bodies over the
//! server's limit, requests made with another user's token. The answer is
//! returned as it came (status and body), whatever the status, so tests can
//! check exactly what the server said. Plain-HTTP test servers only.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use crm_shared::api::ErrorBody;

/// How long a request may take before the test gives up on the server.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A request to send as it is.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// Path with query, e.g. `/api/v1/sync`.
    pub path: &'a str,
    /// Bearer token, if any.
    pub token: Option<&'a str>,
    /// `Content-Type`, if any.
    pub content_type: Option<&'a str>,
    /// The body, sent byte for byte.
    pub body: &'a [u8],
    /// Send the body with `Transfer-Encoding: chunked` instead of a
    /// `Content-Length` (the server cannot tell its size in advance).
    pub chunked: bool,
}

impl<'a> Request<'a> {
    /// `POST path` with a JSON content type and `body` as given.
    pub fn post(path: &'a str, token: Option<&'a str>, body: &'a [u8]) -> Self {
        Request {
            method: "POST",
            path,
            token,
            content_type: Some("application/json"),
            body,
            chunked: false,
        }
    }

    /// `GET path`.
    pub fn get(path: &'a str, token: Option<&'a str>) -> Self {
        Request {
            method: "GET",
            path,
            token,
            content_type: None,
            body: b"",
            chunked: false,
        }
    }
}

/// What the server answered.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text (lossy), for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the status and body otherwise.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {}: body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    /// Demands a 2xx and returns its JSON body.
    pub fn ok_json(&self) -> serde_json::Value {
        assert!(
            (200..300).contains(&self.status),
            "expected success, got HTTP {}: {}",
            self.status,
            self.text()
        );
        self.json()
    }

    /// Demands exactly `status` with an [`ErrorBody`] whose code is `code`;
    /// returns the body.
    pub fn expect_error(&self, status: u16, code: &str) -> ErrorBody {
        assert_eq!(
            self.status,
            status,
            "expected HTTP {status} {code}, got HTTP {}: {}",
            self.status,
            self.text()
        );
        let body: ErrorBody = serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {}: body is not an ErrorBody ({e}): {}",
                self.status,
                self.text()
            )
        });
        assert_eq!(body.error, code, "{body:?}");
        assert!(!body.message.trim().is_empty(), "{body:?}");
        body
    }
}

/// Sends `req` to the plain-HTTP server at `base` (`http://127.0.0.1:PORT`)
/// on a fresh connection and reads the whole answer.
///
/// The body is written on a second thread while this one reads: a server
/// that refuses a request early (413) may answer and close before it has
/// read what was sent, and the answer must still be read, not lost to a
/// failed write.
pub fn send(base: &str, req: &Request) -> Answer {
    let authority = base
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("raw requests need a plain-http server, not {base}"))
        .trim_end_matches('/');
    let stream = TcpStream::connect(authority).unwrap_or_else(|e| panic!("connect {base}: {e}"));
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();

    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: crm-sync-tests\r\n",
        req.method, req.path
    );
    if let Some(token) = req.token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if let Some(ct) = req.content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    if req.chunked {
        head.push_str("Transfer-Encoding: chunked\r\n");
    } else {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("\r\n");

    let mut writer = stream.try_clone().unwrap();
    let mut reader = stream;
    let raw = std::thread::scope(|s| {
        s.spawn(move || {
            // A failed write is expected when the server refuses early.
            let _ = write_request(&mut writer, head.as_bytes(), req.body, req.chunked);
        });
        let mut raw = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // The server closed with our unread body still arriving.
                Err(e) if !raw.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => {
                    break
                }
                Err(e) => panic!("reading the answer to {} {}: {e}", req.method, req.path),
            }
        }
        // Unblock the writer if the server stopped reading.
        let _ = reader.shutdown(Shutdown::Both);
        raw
    });
    parse(&raw).unwrap_or_else(|| {
        panic!(
            "not an HTTP answer to {} {}: {:?}",
            req.method,
            req.path,
            String::from_utf8_lossy(&raw[..raw.len().min(500)])
        )
    })
}

/// `GET path` with an optional token.
pub fn get(base: &str, path: &str, token: Option<&str>) -> Answer {
    send(base, &Request::get(path, token))
}

/// `POST path` with `value` as JSON.
pub fn post_json(
    base: &str,
    path: &str,
    token: Option<&str>,
    value: &impl serde::Serialize,
) -> Answer {
    let body = serde_json::to_vec(value).expect("serialisable");
    send(base, &Request::post(path, token, &body))
}

fn write_request(
    w: &mut TcpStream,
    head: &[u8],
    body: &[u8],
    chunked: bool,
) -> std::io::Result<()> {
    w.write_all(head)?;
    if chunked {
        for part in body.chunks(64 * 1024) {
            w.write_all(format!("{:x}\r\n", part.len()).as_bytes())?;
            w.write_all(part)?;
            w.write_all(b"\r\n")?;
        }
        w.write_all(b"0\r\n\r\n")?;
    } else {
        w.write_all(body)?;
    }
    w.flush()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Status and body of a complete HTTP/1.1 answer.
fn parse(raw: &[u8]) -> Option<Answer> {
    let end = find(raw, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked {
        let mut body = Vec::new();
        let mut at = rest;
        loop {
            let line_end = find(at, b"\r\n")?;
            let size_text = std::str::from_utf8(&at[..line_end]).ok()?;
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            at = &at[line_end + 2..];
            if size == 0 {
                break;
            }
            body.extend_from_slice(at.get(..size)?);
            at = at.get(size + 2..)?;
        }
        body
    } else {
        match length {
            Some(n) => rest.get(..n)?.to_vec(),
            None => rest.to_vec(),
        }
    };
    Some(Answer { status, body })
}
