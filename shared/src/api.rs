//! Wire types of the HTTP API shared by `crm-server` and the `crm` client.
//! JSON bodies unless stated otherwise.

use serde::{Deserialize, Serialize};

/// Body of every error response: a stable machine code and a Chinese message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code, e.g. `device_revoked`, `forbidden`, `bad_request`.
    pub error: String,
    /// Human-readable Chinese message.
    pub message: String,
}

/// Stable values of [`ErrorBody::error`] that the client matches on.
///
/// The server maps each of its errors to exactly one of these codes and one
/// HTTP status; the message beside it is for people and may change.
pub mod error_code {
    /// 400: the request body or a parameter is malformed (bad JSON, missing field).
    pub const BAD_REQUEST: &str = "bad_request";
    /// 401: the login name or password is wrong (which one is not said).
    pub const BAD_CREDENTIALS: &str = "bad_credentials";
    /// 401: no bearer token, or a token the server does not know.
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// 401: this device's token was revoked; the client wipes its customer data.
    pub const DEVICE_REVOKED: &str = "device_revoked";
    /// 401: the password is correct but expired; an administrator must reset it.
    pub const PASSWORD_EXPIRED: &str = "password_expired";
    /// 403: the user account is disabled.
    pub const USER_DISABLED: &str = "user_disabled";
    /// 403: authenticated, but the role or assignment does not allow this.
    pub const FORBIDDEN: &str = "forbidden";
    /// 404: no such route or object.
    pub const NOT_FOUND: &str = "not_found";
    /// 405: the route exists but not with this method.
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// 409: the request conflicts with the server's state (e.g. already exists).
    pub const CONFLICT: &str = "conflict";
    /// 413: the request body is larger than the server accepts; split the batch.
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// 415: the body is not of the expected content type (e.g. JSON without `Content-Type: application/json`).
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    /// 429: too many failed sign-ins from this address or for this login;
    /// the `Retry-After` header says when to try again.
    pub const TOO_MANY_ATTEMPTS: &str = "too_many_attempts";
    /// 403: an administrator reset the password; choose a new one first
    /// (`POST /api/v1/password`).
    pub const PASSWORD_CHANGE_REQUIRED: &str = "password_change_required";
    /// 503: the server is busy or shutting down; retry later.
    pub const UNAVAILABLE: &str = "unavailable";
    /// 500: something failed inside the server; the body says nothing more.
    pub const INTERNAL: &str = "internal";
}

/// `POST /api/v1/login`: a laptop signs in and registers itself as a device.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The user's login name (登录名).
    pub login: String,
    /// The password in clear text; only ever sent over HTTPS.
    pub password: String,
    /// A name for this laptop that administrators see in `device list`,
    /// e.g. "张三的笔记本".
    pub device_name: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("login", &self.login)
            .field("password", &"<hidden>")
            .field("device_name", &self.device_name)
            .finish()
    }
}

/// Answer to a successful [`LoginRequest`]: the device's bearer token.
///
/// The token is shown exactly once; the server keeps only its SHA-256 hash.
/// The client sends it as `Authorization: Bearer <token>` on every later request.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Bearer token (32 random bytes, base64url without padding).
    pub token: String,
    /// Id of the device created by this login (a UUID); revocation names it.
    pub device_id: String,
    /// The user's login name.
    pub login: String,
    /// The user's display name (姓名).
    pub display_name: String,
    /// The user's role.
    pub role: crate::codes::Role,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"<hidden>")
            .field("device_id", &self.device_id)
            .field("login", &self.login)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .finish()
    }
}

/// `GET /api/v1/whoami`: who the bearer token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoAmI {
    /// The user's login name.
    pub login: String,
    /// The user's display name (姓名).
    pub display_name: String,
    /// The user's role.
    pub role: crate::codes::Role,
    /// The device the token was issued to.
    pub device_id: String,
    /// The user's position on the credit approval chain, if any.
    #[serde(default)]
    pub position: Option<crate::codes::Position>,
}

/// `POST /api/v1/credit-requests/{customer}/{request}/decide`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideRequest {
    /// Approve (true) or reject.
    pub approve: bool,
    /// Comment (审核意见); required to reject.
    #[serde(default)]
    pub comment: String,
}

/// `POST /api/v1/customers/{id}/complaints`: a complaint head office
/// registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewComplaint {
    /// What the customer complained about.
    pub description: String,
}

/// `POST /api/v1/customers/{id}/complaints/{key}/steps`: the step taken
/// and what it records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakeStep {
    /// The step; it must be the one the case waits for.
    pub step: crate::codes::ComplaintStep,
    /// What the step records.
    #[serde(default)]
    pub input: crate::complaint::StepInput,
}

/// A complaint in head office's list, with its customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplaintView {
    /// Customer id.
    pub customer: String,
    /// Customer name.
    pub name: String,
    /// The customer's salesperson (login).
    pub salesperson: String,
    /// The complaint's key on the card.
    pub key: String,
    /// Where the case stands, e.g. "待提出处理方案" or "已结案".
    pub stage: String,
    /// The complaint.
    pub complaint: crate::customer::Complaint,
}

/// A credit-limit request as head office lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditRequestView {
    /// Customer id.
    pub customer: String,
    /// Customer name.
    pub name: String,
    /// Assigned salesperson.
    pub salesperson: String,
    /// Request id (key on the card).
    pub request_id: String,
    /// The request with every decision so far.
    pub request: crate::customer::CreditRequest,
    /// Where it stands on the configured chain.
    pub status: crate::credit::CreditStatus,
}

/// `POST /api/v1/grades/apply`: what head office's grading run changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeApplied {
    /// Customers whose grade or score was written (with the audit note).
    pub changed: Vec<String>,
    /// Customers assessed.
    pub assessed: usize,
    /// Customers with no sales to grade.
    pub not_graded: usize,
}

/// `POST /api/v1/customers/{id}/review`: head office marks a record reviewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRequest {
    /// Tier set at this review.
    #[serde(default)]
    pub tier: Option<crate::codes::Tier>,
    /// Remarks.
    #[serde(default)]
    pub notes: String,
}

/// `GET /status`: liveness and counts for operators; no customer content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerStatus {
    /// The server's version (its crate version).
    pub version: String,
    /// Number of user accounts.
    pub users: u64,
    /// Number of devices that are not revoked.
    pub devices: u64,
    /// The backup node's progress; `None` until one has pulled since start.
    #[serde(default)]
    pub backup: Option<BackupLag>,
}

/// How far the backup node is behind, as the server sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupLag {
    /// Log position the backup node holds everything up to.
    pub confirmed: u64,
    /// The server's newest log position.
    pub head: u64,
    /// Log entries the backup does not hold yet.
    pub behind_changes: u64,
    /// Age of the oldest change the backup does not hold, in seconds (0 when even).
    pub behind_seconds: f64,
    /// Milliseconds since the backup node last pulled.
    pub last_contact_ms_ago: u64,
    /// Whether laptops' syncs are acknowledged only once the backup holds them.
    pub zero_loss: bool,
}

/// `POST /api/v1/password`: a user changes their password, proving who
/// they are with the current one (also the way through a reset, which
/// leaves no session to change it from).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordChange {
    /// Login name.
    pub login: String,
    /// The password now.
    pub current: String,
    /// The new password.
    pub new: String,
}
