//! The laptop's HTTPS client for `crm-server`.
//!
//! The server usually runs with a self-signed certificate and prints its
//! SHA-256 fingerprint; `crm login --fingerprint` pins it, and every later
//! request accepts exactly that certificate ([`Trust::Fingerprint`]). A
//! server with a certificate from a company CA is trusted through that CA's
//! PEM ([`Trust::CaCert`], normal webpki verification including the host
//! name). Plain `http://` ([`Trust::PlainHttp`]) exists for tests against
//! `crm-server --insecure-plain-http` and is refused for `https://` URLs.
//!
//! reqwest + rustls with the *ring* provider, the same as the server: no
//! OpenSSL, no system trust store, no process-wide crypto default needed.
//!
//! The rest of the client is synchronous. [`Client`] owns a current-thread
//! tokio runtime; [`Client::post`] and [`Client::get`] block on the async
//! [`Client::post_json`] / [`Client::get_json`]. Do not call the blocking
//! methods from inside another tokio runtime (tokio panics on nested
//! `block_on`).
//!
//! Every failure becomes a [`NetError`] whose message is Chinese and tells
//! the salesperson what to do; server error bodies
//! (`crm_shared::api::ErrorBody`) are mapped by their stable code.

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crm_shared::api::{error_code, ErrorBody};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Time allowed to open a TCP + TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole request, body included (sync bodies can be MBs).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// An idle pooled connection is dropped after this. The server closes a
/// connection that sends no request for 30 s (its header timeout); reusing
/// one it has just closed fails the request, so we let go first.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// Appended to every "cannot reach the server" message.
const OFFLINE_HINT: &str = "离线时数据已保存在本机,联网后再同步";

/// How the laptop decides that it talks to the right server.
#[derive(Clone, PartialEq, Eq)]
pub enum Trust {
    /// Accept exactly the certificate whose DER has this SHA-256
    /// (64 lowercase hex digits, as `crm-server` prints it).
    Fingerprint(String),
    /// Verify the server's certificate chain and host name against these
    /// PEM certificates (a company CA, or the server's own certificate).
    CaCert(String),
    /// No TLS at all: only for `http://` URLs (tests).
    PlainHttp,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trust::Fingerprint(fp) => f.debug_tuple("Fingerprint").field(fp).finish(),
            Trust::CaCert(pem) => f
                .debug_tuple("CaCert")
                .field(&format_args!("<{} bytes of PEM>", pem.len()))
                .finish(),
            Trust::PlainHttp => f.write_str("PlainHttp"),
        }
    }
}

impl Trust {
    /// Parses a fingerprint as typed: hex, with or without `:` (or spaces),
    /// any case. Returns it as 64 lowercase hex digits.
    pub fn fingerprint(text: &str) -> Result<Trust, NetError> {
        normalize_fingerprint(text).map(Trust::Fingerprint)
    }

    /// Reads a PEM file of certificates to trust.
    pub fn ca_file(path: &Path) -> Result<Trust, NetError> {
        let bad = |detail: String| NetError::CaFile {
            path: path.display().to_string(),
            detail,
        };
        let pem = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let certs = parse_pem_certs(&pem).map_err(bad)?;
        if certs.is_empty() {
            return Err(bad("文件中没有证书(需要 PEM 格式)".into()));
        }
        Ok(Trust::CaCert(pem))
    }

    /// A short Chinese description for status output.
    pub fn describe(&self) -> String {
        match self {
            Trust::Fingerprint(fp) => format!("证书指纹 {}", colon_hex(fp)),
            Trust::CaCert(_) => "CA 证书".into(),
            Trust::PlainHttp => "明文 HTTP(未加密,仅供测试)".into(),
        }
    }
}

/// Everything talking to the server can fail with.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The server could not be reached: offline, connection refused, DNS,
    /// timeout.
    #[error("无法连接服务器 {url}:{reason}({OFFLINE_HINT})")]
    Unreachable {
        /// The server's base URL.
        url: String,
        /// Why, in Chinese.
        reason: String,
    },
    /// The connection broke after it was made (server stopped mid-request).
    #[error("与服务器 {url} 的连接中断({reason});本机数据都已保存,稍后再运行 crm sync 即可")]
    Interrupted {
        /// The server's base URL.
        url: String,
        /// Why, in Chinese.
        reason: String,
    },
    /// The server presented a certificate other than the pinned one.
    #[error("服务器证书与登录时确认的指纹不符,可能不是同一台服务器(应为 {expected},实际为 {actual});如服务器确已更换证书,请核对新指纹后重新 crm login")]
    CertMismatch {
        /// The pinned fingerprint.
        expected: String,
        /// The fingerprint of the certificate the server presented.
        actual: String,
    },
    /// The certificate did not verify against the trusted CA certificates.
    #[error("服务器 {url} 的证书无法验证:{reason}")]
    BadCertificate {
        /// The server's base URL.
        url: String,
        /// What rustls said.
        reason: String,
    },
    /// `device_revoked`: an administrator revoked this laptop.
    #[error("此设备已被管理员停用,请联系管理员")]
    DeviceRevoked,
    /// `password_expired`: the password is right but expired.
    #[error("密码已过期,请联系管理员重设密码后重新登录")]
    PasswordExpired,
    /// `bad_credentials`: wrong login name or password.
    #[error("用户名或密码错误")]
    BadCredentials,
    /// `too_many_attempts`: failed sign-ins slowed this login or address
    /// down; the server's message says how long to wait.
    #[error("{0}")]
    TooManyAttempts(String),
    /// `password_change_required`: an administrator reset the password.
    #[error("管理员已重设你的密码:请先设置新密码(crm password,或在 crm login 时按提示输入新密码)")]
    PasswordChangeRequired,
    /// `unauthorized`: no token or a token the server does not know.
    #[error("登录已失效,请重新运行 crm login")]
    Unauthorized,
    /// `forbidden`: the role or assignment does not allow this.
    #[error("没有权限:{0}")]
    Forbidden(String),
    /// Any other 4xx.
    #[error("服务器拒绝了请求:{message}(HTTP {status},{code})")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Stable code from the error body (or `http_<status>`).
        code: String,
        /// The server's message.
        message: String,
    },
    /// 5xx: the server failed or is busy.
    #[error("服务器出错(HTTP {status}):{message},请稍后再试")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// A success response whose body is not what was expected.
    #[error("无法识别服务器 {url} 的回答:{reason}")]
    BadResponse {
        /// The server's base URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The server address is not a usable `http(s)://` URL.
    #[error("服务器地址无效“{0}”:应为 https://主机:端口")]
    BadUrl(String),
    /// An `https://` server without a way to trust it.
    #[error(
        "请用 --fingerprint 给出服务器启动时显示的证书 SHA-256 指纹(或用 --ca-file 给出 CA 证书)"
    )]
    NoTrust,
    /// Fingerprint or CA given for an `http://` URL, which has no certificate.
    #[error("http:// 地址不加密,没有证书可核对;请使用 https:// 地址")]
    TrustWithoutTls,
    /// A fingerprint that is not 32 bytes of hex.
    #[error("证书指纹无效“{0}”:应为 64 位十六进制数(可带冒号),即服务器启动时显示的 SHA-256 指纹")]
    BadFingerprint(String),
    /// The CA file could not be used.
    #[error("无法读取 CA 证书 {path}:{detail}")]
    CaFile {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// The HTTP client itself could not be set up.
    #[error("无法建立网络客户端:{0}")]
    Setup(String),
}

impl NetError {
    /// Maps an error response to its variant by the body's stable code.
    pub fn from_response(status: u16, body: &[u8]) -> NetError {
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let (code, message) = match parsed {
            Some(b) => (b.error, b.message),
            None => (
                format!("http_{status}"),
                String::from_utf8_lossy(&body[..body.len().min(200)])
                    .trim()
                    .to_string(),
            ),
        };
        let message = if message.is_empty() {
            format!("HTTP {status}")
        } else {
            message
        };
        match code.as_str() {
            error_code::DEVICE_REVOKED => NetError::DeviceRevoked,
            error_code::PASSWORD_EXPIRED => NetError::PasswordExpired,
            error_code::BAD_CREDENTIALS => NetError::BadCredentials,
            error_code::TOO_MANY_ATTEMPTS => NetError::TooManyAttempts(message),
            error_code::PASSWORD_CHANGE_REQUIRED => NetError::PasswordChangeRequired,
            error_code::UNAUTHORIZED => NetError::Unauthorized,
            error_code::FORBIDDEN => NetError::Forbidden(message),
            _ if status >= 500 => NetError::Server { status, message },
            _ => NetError::Rejected {
                status,
                code,
                message,
            },
        }
    }
}

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
        let bytes = serde_json::to_vec(body).map_err(|e| NetError::BadResponse {
            url: self.base.clone(),
            reason: format!("请求无法编码:{e}"),
        })?;
        self.sent
            .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let request = self
            .http
            .post(self.endpoint(path))
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

/// Accepts exactly one certificate, by the SHA-256 of its DER; handshake
/// signatures are still checked with the provider's algorithms, so the
/// peer must hold that certificate's private key.
#[derive(Debug)]
struct PinnedCert {
    expected: [u8; 32],
    expected_hex: String,
    provider: Arc<CryptoProvider>,
    /// The fingerprint of the last certificate refused, for the message.
    mismatch: Mutex<Option<String>>,
}

impl PinnedCert {
    fn new(fingerprint: &str, provider: Arc<CryptoProvider>) -> Result<PinnedCert, NetError> {
        let hex = normalize_fingerprint(fingerprint)?;
        let mut expected = [0u8; 32];
        for (i, byte) in expected.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| NetError::BadFingerprint(fingerprint.into()))?;
        }
        Ok(PinnedCert {
            expected,
            expected_hex: hex,
            provider,
            mismatch: Mutex::new(None),
        })
    }

    fn take_mismatch(&self) -> Option<String> {
        self.mismatch.lock().map(|mut m| m.take()).unwrap_or(None)
    }
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The pin replaces both chain and name checks: laptops reach the
        // server by whatever IP or host name works, and the operator
        // confirmed this exact certificate.
        let actual: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if actual == self.expected {
            Ok(ServerCertVerified::assertion())
        } else {
            if let Ok(mut m) = self.mismatch.lock() {
                *m = Some(hex(&actual));
            }
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Why a certificate did not verify against the trusted CA, in Chinese.
fn certificate_problem(e: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match e {
        C::UnknownIssuer => "证书不是由所给的 CA 证书签发的".into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "证书不属于这个服务器地址(主机名不符)".into()
        }
        C::Expired | C::ExpiredContext { .. } => "证书已过期".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "证书尚未生效(请检查本机日期时间)".into(),
        C::Revoked => "证书已被吊销".into(),
        C::BadSignature => "证书签名无效".into(),
        other => format!("{other:?}"),
    }
}

/// SHA-256 of a DER certificate as 64 lowercase hex digits (what
/// `crm-server` prints).
pub fn fingerprint_of(cert_der: &[u8]) -> String {
    hex(&Sha256::digest(cert_der))
}

/// `AB:cd:…` or `abcd…` → 64 lowercase hex digits.
pub fn normalize_fingerprint(text: &str) -> Result<String, NetError> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(NetError::BadFingerprint(text.trim().to_string()))
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `abcd…` → `AB:CD:…`, the usual way fingerprints are shown.
fn colon_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

fn parse_pem_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

/// `error: cause: cause`, on one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

/// Every error in the chain, looking inside `io::Error`s too (whose
/// `source()` skips the error they wrap).
fn for_each_cause<'a>(
    e: &'a (dyn std::error::Error + 'static),
    f: &mut dyn FnMut(&'a (dyn std::error::Error + 'static)),
) {
    let mut next = Some(e);
    while let Some(cause) = next {
        f(cause);
        if let Some(inner) = cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            for_each_cause(inner, f);
        }
        next = cause.source();
    }
}

fn find_rustls_error(e: &reqwest::Error) -> Option<rustls::Error> {
    let mut found = None;
    for_each_cause(e, &mut |cause| {
        if found.is_none() {
            found = cause.downcast_ref::<rustls::Error>().cloned();
        }
    });
    found
}

fn find_io_kind(e: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut found = None;
    for_each_cause(e, &mut |cause| {
        if found.is_none() {
            found = cause
                .downcast_ref::<std::io::Error>()
                .map(std::io::Error::kind);
        }
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_accepted_with_colons_in_any_case() {
        let plain = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(normalize_fingerprint(&plain).unwrap(), plain);
        assert_eq!(normalize_fingerprint(&colons).unwrap(), plain);
        assert!(matches!(
            normalize_fingerprint("abcd"),
            Err(NetError::BadFingerprint(_))
        ));
        assert!(normalize_fingerprint(&"zz".repeat(32)).is_err());
        assert_eq!(colon_hex("abcd"), "AB:CD");
    }

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
