//! One connection to a server, with its trust settled: JSON requests with
//! an optional bearer token, blocking for synchronous callers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{chain, find_io_kind, find_rustls_error, NetError};
use crate::trust::{
    certificate_problem, colon_hex, normalize_fingerprint, parse_pem_certs, PinnedCert, Trust,
};

/// Time allowed to open a TCP + TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole request, body included (sync bodies can be MBs).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// An idle pooled connection is dropped after this. The server closes a
/// connection that sends no request for 30 s (its header timeout); reusing
/// one it has just closed fails the request, so we let go first.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// A connection to one server, with its trust settled.
pub struct Client {
    base: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    pin: Option<Arc<PinnedCert>>,
    /// Request and response body bytes so far (sync reports, benchmarks).
    sent: std::sync::atomic::AtomicU64,
    received: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `server_url` (`https://host:port`, or `http://…` with
    /// [`Trust::PlainHttp`]). Paths given to the request methods are
    /// appended to it, e.g. `/api/v1/login`.
    pub fn new(server_url: &str, trust: &Trust) -> Result<Client, NetError> {
        let base = normalize_url(server_url)?;
        let https = base.starts_with("https://");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| NetError::Setup(e.to_string()))?;
        let mut pin = None;
        let mut tls = match (https, trust) {
            (true, Trust::Fingerprint(fp)) => {
                let verifier = Arc::new(PinnedCert::new(fp, provider)?);
                pin = Some(verifier.clone());
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(verifier)
                    .with_no_client_auth()
            }
            (true, Trust::CaCert(pem)) => {
                let mut roots = rustls::RootCertStore::empty();
                let bad = |detail: String| NetError::CaFile {
                    path: "(已保存的 CA 证书)".into(),
                    detail,
                };
                for cert in parse_pem_certs(pem).map_err(bad)? {
                    roots.add(cert).map_err(|e| bad(e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(bad("没有证书".into()));
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            (true, Trust::PlainHttp) => return Err(NetError::NoTrust),
            (false, Trust::PlainHttp) => {
                // No TLS is used; reqwest still wants a rustls config since
                // it has no provider of its own. Trusting nothing means a
                // redirect to https could never succeed either.
                builder
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            }
            (false, _) => return Err(NetError::TrustWithoutTls),
        };
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("crm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NetError::Setup(chain(&e)))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| NetError::Setup(e.to_string()))?;
        Ok(Client {
            base,
            http,
            runtime,
            pin,
            sent: Default::default(),
            received: Default::default(),
        })
    }

    /// The server's base URL, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Runs a future on this client's runtime (for callers that are
    /// themselves synchronous).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// `POST path` with a JSON body; the answer's JSON body on 2xx.
    pub async fn post_json<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Req,
    ) -> Result<Resp, NetError> {
        self.with_json(reqwest::Method::POST, path, token, body)
            .await
    }

    /// `method path` with `body` as JSON; the answer's JSON body on 2xx.
    async fn with_json<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Req,
    ) -> Result<Resp, NetError> {
        let bytes = serde_json::to_vec(body).map_err(|e| NetError::BadResponse {
            url: self.base.clone(),
            reason: format!("请求无法编码:{e}"),
        })?;
        self.sent
            .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let request = self
            .http
            .request(method, self.endpoint(path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bytes);
        self.send(request, token).await
    }

    /// `GET path`; the answer's JSON body on 2xx.
    pub async fn get_json<Resp: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> Result<Resp, NetError> {
        let request = self.http.get(self.endpoint(path));
        self.send(request, token).await
    }

    /// `GET path` as a browser would with `cookie`; the status and body
    /// text, whatever the status (for measuring the console's pages).
    pub fn get_page(&self, path: &str, cookie: &str) -> Result<(u16, String), NetError> {
        self.block_on(async {
            let response = self
                .http
                .get(self.endpoint(path))
                .header(reqwest::header::COOKIE, cookie)
                .send()
                .await
                .map_err(|e| self.transport(&e))?;
            let status = response.status().as_u16();
            let text = response.text().await.map_err(|e| self.transport(&e))?;
            Ok((status, text))
        })
    }

    /// Body bytes (sent, received) by this client so far.
    pub fn traffic(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.sent.load(Relaxed), self.received.load(Relaxed))
    }

    /// Blocking [`Client::post_json`].
    pub fn post<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Req,
    ) -> Result<Resp, NetError> {
        self.block_on(self.post_json(path, token, body))
    }

    /// Blocking `PUT path` with `body` as JSON (replacing a resource, such
    /// as the company settings).
    pub fn put<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Req,
    ) -> Result<Resp, NetError> {
        self.block_on(self.with_json(reqwest::Method::PUT, path, token, body))
    }

    /// Blocking [`Client::get_json`].
    pub fn get<Resp: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> Result<Resp, NetError> {
        self.block_on(self.get_json(path, token))
    }

    fn endpoint(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{path}", self.base)
        } else {
            format!("{}/{path}", self.base)
        }
    }

    async fn send<Resp: DeserializeOwned>(
        &self,
        mut request: reqwest::RequestBuilder,
        token: Option<&str>,
    ) -> Result<Resp, NetError> {
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.transport(&e))?;
        self.received
            .fetch_add(body.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if !status.is_success() {
            return Err(NetError::from_response(status.as_u16(), &body));
        }
        serde_json::from_slice(&body).map_err(|e| NetError::BadResponse {
            url: self.base.clone(),
            reason: e.to_string(),
        })
    }

    /// Classifies a transport error (no HTTP status was received).
    fn transport(&self, e: &reqwest::Error) -> NetError {
        if let Some(pin) = &self.pin {
            if let Some(actual) = pin.take_mismatch() {
                return NetError::CertMismatch {
                    expected: colon_hex(&pin.expected_hex),
                    actual: colon_hex(&actual),
                };
            }
        }
        let url = self.base.clone();
        if let Some(tls) = find_rustls_error(e) {
            return match tls {
                rustls::Error::InvalidCertificate(cert) => NetError::BadCertificate {
                    url,
                    reason: certificate_problem(&cert),
                },
                other => NetError::Unreachable {
                    url,
                    reason: format!("TLS 握手失败({other})"),
                },
            };
        }
        // reqwest's own message repeats the URL; its causes say what failed.
        let text = match std::error::Error::source(e) {
            Some(cause) => chain(cause),
            None => e.to_string(),
        };
        if text.contains("invalid HTTP version") {
            return NetError::BadResponse {
                url,
                reason: "对方不是以 HTTP 回答(服务器使用 HTTPS 时地址应以 https:// 开头)".into(),
            };
        }
        let io_kind = find_io_kind(e);
        if e.is_timeout() {
            let reason = if e.is_connect() {
                "连接超时"
            } else {
                "等待服务器回答超时"
            };
            return NetError::Unreachable {
                url,
                reason: reason.into(),
            };
        }
        use std::io::ErrorKind as K;
        let reason = match io_kind {
            Some(K::ConnectionRefused) => Some("连接被拒绝(服务器未运行或端口不对)".to_string()),
            Some(K::TimedOut) => Some("连接超时".into()),
            Some(K::NetworkUnreachable) => Some("网络不可达".into()),
            Some(K::HostUnreachable) => Some("主机不可达".into()),
            Some(K::AddrNotAvailable) => Some("地址不可用".into()),
            _ if text.contains("dns error") || text.contains("lookup address") => {
                Some("找不到服务器地址(域名解析失败)".into())
            }
            _ => None,
        };
        // What the libraries say past this point (hyper's wording, links to
        // their documentation) means nothing to a salesperson: it is named
        // in plain words instead.
        match (reason, io_kind) {
            (Some(reason), _) => NetError::Unreachable { url, reason },
            (None, _) if e.is_connect() => NetError::Unreachable {
                url,
                reason: "无法建立连接".into(),
            },
            (None, Some(K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe)) => {
                NetError::Interrupted {
                    url,
                    reason: "连接被服务器或网络断开".into(),
                }
            }
            (None, _) => NetError::Interrupted {
                url,
                reason: "服务器的回答没有传完".into(),
            },
        }
    }
}

/// Checks a server URL and drops a trailing slash.
pub fn normalize_url(url: &str) -> Result<String, NetError> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
            reqwest::Url::parse(trimmed).map_err(|_| NetError::BadUrl(url.trim().into()))?;
            Ok(trimmed.to_string())
        }
        _ => Err(NetError::BadUrl(url.trim().into())),
    }
}

/// The fingerprint of the certificate the server at `server_url` presents,
/// for a person to compare with the one head office gave them before it is
/// pinned (the app's first sign-in). Only a TLS handshake is made: the
/// connection is refused by a pin no certificate matches, which records
/// what was presented. `None` for a plain `http://` address.
pub fn presented_fingerprint(server_url: &str) -> Result<Option<String>, NetError> {
    if !normalize_url(server_url)?.starts_with("https://") {
        return Ok(None);
    }
    let nothing = Trust::Fingerprint("0".repeat(64));
    let client = Client::new(server_url, &nothing)?;
    match client.get::<serde_json::Value>("/", None) {
        Err(NetError::CertMismatch { actual, .. }) => normalize_fingerprint(&actual).map(Some),
        Err(e) => Err(e),
        Ok(_) => Err(NetError::BadResponse {
            url: client.base.clone(),
            reason: "服务器证书无法读取".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_shared::api::ErrorBody;

    #[test]
    fn urls_must_be_http_or_https() {
        assert_eq!(
            normalize_url("https://10.0.0.5:8443/").unwrap(),
            "https://10.0.0.5:8443"
        );
        assert!(normalize_url("10.0.0.5:8443").is_err());
        assert!(normalize_url("ftp://x").is_err());
        assert!(normalize_url("https://").is_err());
    }

    #[test]
    fn https_needs_a_trust_and_http_refuses_one() {
        let fp = Trust::Fingerprint("00".repeat(32));
        assert!(matches!(
            Client::new("https://localhost:1", &Trust::PlainHttp),
            Err(NetError::NoTrust)
        ));
        assert!(matches!(
            Client::new("http://localhost:1", &fp),
            Err(NetError::TrustWithoutTls)
        ));
        assert!(Client::new("https://localhost:1", &fp).is_ok());
        assert!(Client::new("http://localhost:1", &Trust::PlainHttp).is_ok());
    }

    #[test]
    fn error_bodies_map_by_code() {
        let body = |code: &str, msg: &str| {
            serde_json::to_vec(&ErrorBody {
                error: code.into(),
                message: msg.into(),
            })
            .unwrap()
        };
        assert!(matches!(
            NetError::from_response(401, &body("device_revoked", "x")),
            NetError::DeviceRevoked
        ));
        assert!(matches!(
            NetError::from_response(401, &body("password_expired", "x")),
            NetError::PasswordExpired
        ));
        assert!(matches!(
            NetError::from_response(401, &body("bad_credentials", "x")),
            NetError::BadCredentials
        ));
        assert!(
            matches!(NetError::from_response(403, &body("forbidden", "不是你的客户")), NetError::Forbidden(m) if m == "不是你的客户")
        );
        assert!(matches!(
            NetError::from_response(413, &body("payload_too_large", "太大")),
            NetError::Rejected { status: 413, .. }
        ));
        assert!(matches!(
            NetError::from_response(503, &body("unavailable", "忙")),
            NetError::Server { status: 503, .. }
        ));
        assert!(matches!(
            NetError::from_response(502, b"<html>bad gateway</html>"),
            NetError::Server { status: 502, .. }
        ));
    }

    #[test]
    fn a_closed_port_is_reported_as_offline() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let client = Client::new(&format!("http://127.0.0.1:{port}"), &Trust::PlainHttp).unwrap();
        let err = client
            .get::<serde_json::Value>("/status", None)
            .unwrap_err();
        assert!(matches!(err, NetError::Unreachable { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("无法连接服务器") && text.contains("离线时数据已保存在本机"));
    }
}
