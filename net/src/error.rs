//! Everything talking to a server can fail with, each in Chinese words that
//! say what to do; a server's error body is mapped by its stable code.

use crm_shared::api::{error_code, ErrorBody};

/// Appended to every "cannot reach the server" message.
const OFFLINE_HINT: &str = "离线时数据已保存在本机,联网后再同步";

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

/// `error: cause: cause`, on one line.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
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

pub(crate) fn find_rustls_error(e: &reqwest::Error) -> Option<rustls::Error> {
    let mut found = None;
    for_each_cause(e, &mut |cause| {
        if found.is_none() {
            found = cause.downcast_ref::<rustls::Error>().cloned();
        }
    });
    found
}

pub(crate) fn find_io_kind(e: &reqwest::Error) -> Option<std::io::ErrorKind> {
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
