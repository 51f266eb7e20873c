//! A posted form: its fields, accepted only with this launch's form token,
//! and what a refused form shows again.

use std::collections::HashMap;

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Shared;

/// Name of the hidden field holding the form token.
pub const TOKEN_FIELD: &str = "_form";

/// The fields of a posted form whose token was right.
#[derive(Debug, Default, Clone)]
pub struct Posted(pub HashMap<String, String>);

impl Posted {
    /// A field as typed, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(|s| s.trim()).unwrap_or_default()
    }

    /// A field, `None` when absent or blank.
    pub fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|s| !s.is_empty())
    }

    /// Whether a checkbox was ticked.
    pub fn ticked(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

impl FromRequest<Shared> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, app: &Shared) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields: HashMap<String, String> = form_urlencoded::parse(&bytes).into_owned().collect();
        let sent = fields
            .get(TOKEN_FIELD)
            .map(String::as_str)
            .unwrap_or_default();
        if !app.guard.form_token_is(sent) {
            return Err((
                StatusCode::FORBIDDEN,
                "表单已失效:请刷新页面后重试(未做任何修改)",
            )
                .into_response());
        }
        Ok(Posted(fields))
    }
}

/// A form refused: which form, what was typed, and what is wrong (with the
/// field it concerns, when known), to show the form again.
#[derive(Debug, Default, Clone)]
pub struct Refused {
    /// Which form on the page.
    pub form: &'static str,
    /// What was typed.
    pub typed: Posted,
    /// What is wrong, in words.
    pub message: String,
    /// The field it concerns.
    pub field: Option<String>,
}

impl Refused {
    /// `form` refused for `error`.
    pub fn new(form: &'static str, typed: Posted, error: &crate::error::ClientError) -> Refused {
        use crate::error::ClientError;
        let (message, field) = match error {
            ClientError::Domain(crm_shared::Error::Invalid { field, message }) => {
                (message.clone(), Some(field.clone()))
            }
            ClientError::Domain(crm_shared::Error::ReasonRequired) => (
                "修改客户档案必须填写原因".to_string(),
                Some("reason".to_string()),
            ),
            other => (other.to_string(), None),
        };
        Refused {
            form,
            typed,
            message,
            field,
        }
    }

    /// The message beside the input `name` of `form`, if the refusal
    /// concerns that field.
    pub fn beside(refused: Option<&Refused>, form: &str, name: &str) -> maud::Markup {
        let hit = refused.filter(|r| r.form == form && r.field.as_deref() == Some(name));
        maud::html! { @if let Some(r) = hit { span.field-error role="alert" { (r.message) } } }
    }

    /// What was typed into `name` on `form`, if this refusal is that form's.
    pub fn value<'a>(refused: Option<&'a Refused>, form: &str, name: &str) -> Option<&'a str> {
        refused
            .filter(|r| r.form == form)
            .map(|r| r.typed.get(name))
    }
}
