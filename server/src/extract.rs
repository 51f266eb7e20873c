//! Request extractors whose rejections are [`AppError`]s.
//!
//! axum's own `Json` and `Query` answer a bad body or query string with
//! serde's English in plain text and, for some failures, 422; ours answer
//! with an `ErrorBody` in Chinese and the status chosen in `error.rs`. Use
//! [`Json`] and [`Query`] from here in every handler (the console wraps
//! [`Query`] to show its error page).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::AppError;

/// A JSON request or response body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    axum::Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(Json(value))
    }
}

/// A query string (`?page=2&rule=churn`) parsed into `T`; a wrong one is
/// a 400 naming the parameter and what it should be.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(q)| Query(q))
            .map_err(|e| AppError::BadRequest(query_message(&e.body_text())))
    }
}

/// What was wrong with a query string, in Chinese, from serde's account of
/// it (`Failed to deserialize query string: page: invalid digit …`).
fn query_message(text: &str) -> String {
    let detail = text
        .split_once("query string: ")
        .map_or(text, |(_, d)| d)
        .trim();
    let quoted = detail.split('`').nth(1).unwrap_or_default();
    if detail.starts_with("duplicate field") {
        return format!("查询参数 {quoted} 出现了不止一次");
    }
    if detail.starts_with("unknown field") {
        return format!("不认识的查询参数 {quoted}");
    }
    match detail.split_once(": ") {
        Some((name, why)) => {
            let should = if why.contains("too large") {
                "数字太大"
            } else if why.contains("digit") || why.contains("integer") {
                "应为非负整数"
            } else if why.contains("`true` or `false`") {
                "应为 true 或 false"
            } else {
                "格式不对"
            };
            format!("查询参数 {name} 的值不对:{should}")
        }
        None => "查询参数有误".to_string(),
    }
}

/// A request body read strictly: a field the type does not know is an
/// error naming it, not silently dropped (a misspelt field would otherwise
/// store a default instead of what was meant). Every head-office endpoint
/// takes its body this way. The sync and backup endpoints, which only our
/// own programs call, take [`Json`]: a laptop newer than the server may send
/// fields the server does not know yet, and must still sync.
#[derive(Debug, Clone, Copy, Default)]
pub struct StrictJson<T>(pub T);

impl<T, S> FromRequest<S> for StrictJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state).await?;
        let mut unknown = Vec::new();
        let parsed: Result<T, _> =
            serde_ignored::deserialize(value, |path| unknown.push(path.to_string()));
        if !unknown.is_empty() {
            return Err(AppError::BadRequest(format!(
                "请求体中有不认识的字段:{}",
                unknown.join("、")
            )));
        }
        parsed
            .map(StrictJson)
            .map_err(|e| AppError::BadRequest(format!("请求体内容不符合要求:{}", in_chinese(&e))))
    }
}

/// serde's message about a body of the wrong shape, in the words a person
/// reading our API expects.
fn in_chinese(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let field = |rest: &str| rest.split('`').nth(1).unwrap_or_default().to_string();
    if let Some(rest) = text.strip_prefix("missing field ") {
        format!("缺少字段 {}", field(rest))
    } else if let Some(rest) = text.strip_prefix("invalid type: ") {
        format!("值的类型不对({rest})")
    } else if let Some(rest) = text.strip_prefix("unknown variant ") {
        format!("取值 {} 不在允许的范围内", field(rest))
    } else {
        text
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The client's address as the socket saw it (`None` where there is no
/// socket, as in tests that call the router directly). Never refuses.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl ClientAddress {
    /// The address of the request these parts belong to.
    pub fn of(parts: &axum::http::request::Parts) -> ClientAddress {
        ClientAddress(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        )
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress::of(parts))
    }
}
