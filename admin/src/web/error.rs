//! JSON errors: `{"error": {"code", "message", "field"?}}` with a stable code per status,
//! and how an operation's failure maps to one. Bad input is 400 naming the field, never 500.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baedal_storage::DirectoryError;
use serde_json::json;

use crate::AdminError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn bad_request(field: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            field: field.map(str::to_string),
            ..Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn too_many() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many failed attempts: wait and try again",
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        let message = e.to_string();
        let (status, code, field) = match &e {
            AdminError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
            AdminError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", None),
            AdminError::Field { field, message } => {
                return Self::bad_request(Some(field), message.clone());
            }
            AdminError::Input(_) => (StatusCode::BAD_REQUEST, "bad_request", None),
            AdminError::Password(_) => (StatusCode::BAD_REQUEST, "bad_request", Some("password")),
            AdminError::Directory(d) => match d {
                DirectoryError::UnknownUser(_) | DirectoryError::UnknownAlias(_) => {
                    (StatusCode::NOT_FOUND, "not_found", None)
                }
                DirectoryError::UnknownDomain(_) => {
                    (StatusCode::BAD_REQUEST, "bad_request", Some("domain"))
                }
                DirectoryError::Address(_) => (StatusCode::BAD_REQUEST, "bad_request", None),
                DirectoryError::DomainExists(_)
                | DirectoryError::UserExists(_)
                | DirectoryError::AliasExists(..)
                | DirectoryError::DomainNotEmpty { .. } => (StatusCode::CONFLICT, "conflict", None),
                DirectoryError::Db(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
            },
            AdminError::Failed(_) => (StatusCode::CONFLICT, "conflict", None),
            AdminError::Auth(_) | AdminError::Io(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None)
            }
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %message, "admin API: internal error");
        }
        Self {
            status,
            code,
            message,
            field: field.map(str::to_string),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        (self.status, Json(json!({ "error": body }))).into_response()
    }
}
