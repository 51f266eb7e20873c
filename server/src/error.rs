//! The one error type of the HTTP layer and its one mapping to responses.
//!
//! Every handler and extractor returns [`AppError`]; [`AppError::parts`] is
//! the single place that decides an error's HTTP status and its stable code
//! (`crm_shared::api::error_code`). The body is always a
//! `crm_shared::api::ErrorBody`.
//!
//! **API Boundary:** a 500 says "内部错误" and nothing else. Its cause rides
//! on the response as a [`Failure`] extension, which the request log
//! (`telemetry::trace_request`) writes once; it is never sent to the client.

use std::error::Error as StdError;

use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crm_shared::api::{error_code as code, ErrorBody};

use crate::db::DbError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed; the message says how (for the client's user).
    #[error("{0}")]
    BadRequest(String),
    /// The body exceeds the configured limit.
    #[error("请求体过大,请分批发送")]
    PayloadTooLarge,
    /// The body has the wrong content type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Wrong login name or password.
    #[error("用户名或密码错误")]
    BadCredentials,
    /// No bearer token, or an unknown one.
    #[error("未登录或登录已失效,请重新登录")]
    Unauthorized,
    /// The device's token was revoked by an administrator.
    #[error("此设备已被管理员停用,请联系管理员")]
    DeviceRevoked,
    /// The password is right but expired.
    #[error("密码已过期,请联系管理员重设密码")]
    PasswordExpired,
    /// The user account is disabled.
    #[error("此账号已停用,请联系管理员")]
    UserDisabled,
    /// The caller may not do this; the message says what (no customer data).
    #[error("{0}")]
    Forbidden(String),
    /// No such route or object.
    #[error("{0}")]
    NotFound(String),
    /// The route exists, but not for this method.
    #[error("不支持此请求方法")]
    MethodNotAllowed,
    /// The request conflicts with the server's state.
    #[error("{0}")]
    Conflict(String),
    /// Too many failed sign-ins; try again after this many seconds. Says
    /// nothing of whether the account exists.
    #[error("登录失败次数过多,请 {} 后再试", wait_text(*.0))]
    TooManyAttempts(i64),
    /// An administrator reset the password; a new one must be chosen first.
    #[error("管理员已重设你的密码:请先设置新密码,再登录")]
    PasswordChangeRequired,
    /// The server is busy; the client should retry later.
    #[error("服务器忙,请稍后再试")]
    Unavailable,
    /// A fault inside the server. The cause is logged, never sent.
    #[error("内部错误")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

impl AppError {
    /// Wraps any error as a 500 whose cause is logged but not sent.
    pub fn internal(cause: impl Into<Box<dyn StdError + Send + Sync>>) -> AppError {
        AppError::Internal(cause.into())
    }

    /// The one mapping from error to HTTP status and stable code.
    pub fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, code::BAD_REQUEST),
            AppError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, code::PAYLOAD_TOO_LARGE),
            AppError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::UNSUPPORTED_MEDIA_TYPE,
            ),
            AppError::BadCredentials => (StatusCode::UNAUTHORIZED, code::BAD_CREDENTIALS),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, code::UNAUTHORIZED),
            AppError::DeviceRevoked => (StatusCode::UNAUTHORIZED, code::DEVICE_REVOKED),
            AppError::PasswordExpired => (StatusCode::UNAUTHORIZED, code::PASSWORD_EXPIRED),
            AppError::UserDisabled => (StatusCode::FORBIDDEN, code::USER_DISABLED),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, code::FORBIDDEN),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, code::NOT_FOUND),
            AppError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, code::METHOD_NOT_ALLOWED)
            }
            AppError::Conflict(_) => (StatusCode::CONFLICT, code::CONFLICT),
            AppError::TooManyAttempts(_) => {
                (StatusCode::TOO_MANY_REQUESTS, code::TOO_MANY_ATTEMPTS)
            }
            AppError::PasswordChangeRequired => {
                (StatusCode::FORBIDDEN, code::PASSWORD_CHANGE_REQUIRED)
            }
            AppError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, code::UNAVAILABLE),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL),
        }
    }
}

/// Why a request failed, attached to its response so the request log can
/// record it in one line with the status. Responses carry it whether they
/// were rendered as JSON or as a console page.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The stable error code.
    pub code: &'static str,
    /// The full cause chain; for a 500 this is what the operator needs.
    pub cause: String,
}

impl AppError {
    /// The log record of this error, for [`Failure`].
    pub fn failure(&self) -> Failure {
        Failure {
            code: self.parts().1,
            cause: chain(self),
        }
    }

    /// Marks `response` as failed by this error, for the request log.
    pub fn mark(&self, response: &mut Response) {
        response.extensions_mut().insert(self.failure());
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let body = ErrorBody {
            error: code.to_owned(),
            message: self.to_string(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        self.mark(&mut response);
        let retry_after = match &self {
            AppError::TooManyAttempts(secs) => Some(*secs),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs.max(1)),
            );
        }
        response
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Busy | DbError::Closed => AppError::Unavailable,
            other => AppError::internal(other),
        }
    }
}

impl From<crate::credentials::CredentialError> for AppError {
    fn from(e: crate::credentials::CredentialError) -> Self {
        match e {
            crate::credentials::CredentialError::Busy => AppError::Unavailable,
            other => AppError::internal(other),
        }
    }
}

impl From<crate::caller::ServiceError> for AppError {
    fn from(e: crate::caller::ServiceError) -> Self {
        use crate::caller::ServiceError as S;
        match e {
            S::Forbidden(m) => AppError::Forbidden(m),
            S::BadRequest(m) => AppError::BadRequest(m),
            S::NotFound(m) => AppError::NotFound(m),
            S::Clash(m) => AppError::Conflict(m),
            S::Db(e) => e.into(),
        }
    }
}

impl From<crate::sheets::SheetError> for AppError {
    fn from(e: crate::sheets::SheetError) -> Self {
        match e {
            crate::sheets::SheetError::Write(_) => AppError::internal(e),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
                "请求体须为 JSON(Content-Type: application/json)".into(),
            ),
            JsonRejection::JsonSyntaxError(e) => {
                AppError::BadRequest(format!("请求体不是有效的 JSON:{}", chain(&e)))
            }
            JsonRejection::JsonDataError(e) => {
                AppError::BadRequest(format!("请求体内容不符合要求:{}", chain(&e)))
            }
            JsonRejection::BytesRejection(e) => e.into(),
            other => AppError::BadRequest(format!("无法读取请求体:{}", other.body_text())),
        }
    }
}

impl From<BytesRejection> for AppError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest("无法读取请求体(连接中断或数据不完整)".into())
        }
    }
}

/// A wait as people say it: seconds, minutes.
fn wait_text(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{} 秒", s.max(1)),
        s => format!("{} 分钟", (s + 59) / 60),
    }
}

/// `error: cause: cause`, for one-line logs and messages.
pub fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_errors_reveal_nothing() {
        let err = AppError::internal("disk /srv/secret.sqlite3 is full");
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: ErrorBody = serde_json::from_slice(&body).unwrap();
        assert_eq!(body.error, "internal");
        assert_eq!(body.message, "内部错误");
    }

    #[tokio::test]
    async fn the_cause_travels_to_the_request_log_not_the_body() {
        let err = AppError::internal("disk /srv/secret.sqlite3 is full");
        let response = err.into_response();
        let failure = response.extensions().get::<Failure>().unwrap();
        assert_eq!(failure.code, "internal");
        assert!(
            failure.cause.contains("/srv/secret.sqlite3"),
            "{}",
            failure.cause
        );
    }

    #[test]
    fn busy_database_means_retry_later() {
        let (status, code) = AppError::from(DbError::Busy).parts();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(code, "unavailable");
    }

    #[test]
    fn no_free_hashing_slot_means_retry_later() {
        let busy = AppError::from(crate::credentials::CredentialError::Busy);
        assert_eq!(busy.parts().0, StatusCode::SERVICE_UNAVAILABLE);
        let response = busy.into_response();
        assert_eq!(response.headers()[axum::http::header::RETRY_AFTER], "1");
    }
}
