//! The host's error type and its one mapping to HTTP responses.
//!
//! Client errors carry a machine-readable `code` and a message saying how to fix the request.
//! Internal errors are logged with an error id and the correlation id, and the client sees only
//! the id.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error of the host, as a client will see it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is wrong; `code` names the problem, `message` how to fix it.
    #[error("{message}")]
    Client {
        /// The HTTP status: 400, 404, 409, 413, 415, 422...
        status: StatusCode,
        /// A stable, machine-readable name of the problem.
        code: &'static str,
        /// A sentence for people.
        message: String,
        /// Structured details, e.g. the names of missing settings.
        details: Option<Value>,
    },
    /// A spoke failed while serving the request.
    #[error("spoke failed ({kind}): {message}")]
    Spoke {
        /// What kind of failure.
        kind: crate::runtime::FailureKind,
        /// The failure, for the logs.
        message: String,
    },
    /// A hub refused or failed the request (unauthenticated, not found, permission denied...);
    /// answered with the hub's status and JSON body.
    #[error("{0}")]
    Hub(#[from] nave_hub_core::Error),
    /// Something in the host failed; never shown to clients beyond an id.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

/// Shorthand for results of the host's request handlers and services.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A client error with a status, a code and a message.
    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Error {
        Error::Client {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    /// Adds structured details to a client error; other errors are returned unchanged.
    pub fn with_details(self, value: Value) -> Error {
        match self {
            Error::Client {
                status,
                code,
                message,
                ..
            } => Error::Client {
                status,
                code,
                message,
                details: Some(value),
            },
            other => other,
        }
    }

    /// 404 with `code`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Error {
        Error::client(StatusCode::NOT_FOUND, code, message)
    }

    /// 422 with `code`: the request is well-formed but cannot be acted on.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Error {
        Error::client(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// The machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Client { code, .. } => code,
            Error::Spoke { kind, .. } => kind.code(),
            Error::Hub(err) => err.code(),
            Error::Internal(_) => "internal",
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Error {
        Error::Internal(err.into())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Error::Client {
                status,
                code,
                message,
                details,
            } => {
                let mut body = json!({ "code": code, "message": message });
                if let Some(details) = details {
                    body["details"] = details;
                }
                (status, Json(body)).into_response()
            }
            Error::Spoke { kind, message } => {
                let error_id = uuid::Uuid::now_v7();
                tracing::warn!(%error_id, kind = kind.code(), %message, "spoke call failed");
                let status = kind.http_status();
                let body = json!({
                    "code": kind.code(),
                    "message": format!("the spoke failed ({kind}); quote error_id {error_id} when reporting it"),
                    "error_id": error_id,
                });
                (status, Json(body)).into_response()
            }
            Error::Hub(err) => err.into_response(),
            Error::Internal(err) => {
                let error_id = uuid::Uuid::now_v7();
                tracing::error!(%error_id, error = format!("{err:#}"), "internal error");
                let body = json!({
                    "code": "internal",
                    "message": format!("internal error; quote error_id {error_id} when reporting it"),
                    "error_id": error_id,
                });
                (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
            }
        }
    }
}
