//! The one error type of every hub.
//!
//! Each variant is a *kind* a client can act on. The mapping to HTTP lives in [`crate::http`] and
//! the mapping to and from gRPC in [`crate::grpc`]; nothing else decides status codes.
//! Client errors say what was wrong and how to fix it. [`Error::Internal`] keeps its cause for the
//! logs and is shown to clients only as an opaque reference.

use serde::{Deserialize, Serialize};

/// Result with the hub [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One invalid input field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldViolation {
    /// The request field, as the client named it (e.g. `password`).
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// One reason the state does not allow an operation, e.g. `insufficient_funds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Precondition {
    /// Stable, snake_case name a client may branch on.
    pub code: String,
    /// What is missing and how to get it.
    pub message: String,
}

/// Everything a hub operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or breaks a rule; `fields` says which inputs.
    #[error("{message}")]
    InvalidArgument {
        /// Summary for humans.
        message: String,
        /// The offending fields.
        fields: Vec<FieldViolation>,
    },
    /// The caller is not (or no longer) authenticated: bad credentials, expired or revoked token.
    #[error("{message}")]
    Unauthenticated {
        /// What failed, without revealing which half of a credential was wrong.
        message: String,
        /// A machine-readable reason a client may branch on (e.g. `mfa_required`).
        reason: Option<String>,
    },
    /// The caller is known but may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// The target does not exist (or the caller may not know it exists).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (duplicate, already done).
    #[error("{0}")]
    Conflict(String),
    /// The current state does not allow the operation (funds, a plan limit, a guard); every
    /// failed condition is listed, each with its code, so a client can fix them all at once.
    #[error("{message}")]
    FailedPrecondition {
        /// Summary for humans.
        message: String,
        /// The conditions that failed.
        reasons: Vec<Precondition>,
    },
    /// Too many attempts or a quota is used up; retry after `retry_after_secs` if given.
    #[error("{message}")]
    Throttled {
        /// What is throttled and why.
        message: String,
        /// Seconds until a retry can succeed, when known.
        retry_after_secs: Option<u64>,
    },
    /// A hub this call depends on cannot be reached right now.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an infrastructure failure; the cause is logged, never sent to clients.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// An invalid input in one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        let field = field.into();
        Error::InvalidArgument {
            message: format!("{field}: {message}"),
            fields: vec![FieldViolation { field, message }],
        }
    }

    /// Several invalid inputs at once, so a client can fix them all in one go.
    pub fn invalid_fields(fields: Vec<FieldViolation>) -> Self {
        let message = fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        Error::InvalidArgument { message, fields }
    }

    /// Not authenticated, for the given reason.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Error::Unauthenticated {
            message: message.into(),
            reason: None,
        }
    }

    /// Not authenticated, with a machine-readable reason.
    pub fn unauthenticated_because(reason: &str, message: impl Into<String>) -> Self {
        Error::Unauthenticated {
            message: message.into(),
            reason: Some(reason.to_owned()),
        }
    }

    /// Authenticated but not allowed.
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Error::PermissionDenied(message.into())
    }

    /// The thing asked for does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }

    /// Conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict(message.into())
    }

    /// One failed condition, e.g. `failed_precondition("insufficient_funds", "the wallet holds 3, this needs 5")`.
    pub fn failed_precondition(code: &str, message: impl Into<String>) -> Self {
        Error::failed_preconditions(vec![Precondition {
            code: code.to_owned(),
            message: message.into(),
        }])
    }

    /// Several failed conditions at once (e.g. every guard of a subscription).
    pub fn failed_preconditions(reasons: Vec<Precondition>) -> Self {
        let message = reasons
            .iter()
            .map(|r| format!("{}: {}", r.code, r.message))
            .collect::<Vec<_>>()
            .join("; ");
        Error::FailedPrecondition { message, reasons }
    }

    /// Too many attempts; retry later.
    pub fn throttled(message: impl Into<String>, retry_after_secs: Option<u64>) -> Self {
        Error::Throttled {
            message: message.into(),
            retry_after_secs,
        }
    }

    /// An internal failure with its cause.
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Internal(Box::new(cause))
    }

    /// An internal failure described by a message (for invariants broken in our own data).
    pub fn internal_msg(message: impl Into<String>) -> Self {
        Error::Internal(message.into().into())
    }

    /// The stable, snake_case code of this error's kind, as sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::Unauthenticated { .. } => "unauthenticated",
            Error::PermissionDenied(_) => "permission_denied",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::FailedPrecondition { .. } => "failed_precondition",
            Error::Throttled { .. } => "resource_exhausted",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// The invalid fields, empty for other kinds.
    pub fn fields(&self) -> &[FieldViolation] {
        match self {
            Error::InvalidArgument { fields, .. } => fields,
            _ => &[],
        }
    }

    /// The failed conditions of an [`Error::FailedPrecondition`], empty for other kinds.
    pub fn reasons(&self) -> &[Precondition] {
        match self {
            Error::FailedPrecondition { reasons, .. } => reasons,
            _ => &[],
        }
    }

    /// The machine-readable reason of an [`Error::Unauthenticated`], if any.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Error::Unauthenticated { reason, .. } => reason.as_deref(),
            _ => None,
        }
    }

    /// Builds the client-facing body; internal causes are logged under a fresh reference instead.
    pub fn to_body(&self) -> ErrorBody {
        let message = match self {
            Error::Internal(cause) => {
                let reference = crate::ids::new_id();
                // The caller's span carries the correlation id, so the log line can be found from it.
                tracing::error!(%reference, error = %cause, cause = ?cause, "internal error");
                format!("internal error (reference {reference})")
            }
            other => other.to_string(),
        };
        ErrorBody {
            code: self.code().to_owned(),
            message,
            fields: self.fields().to_vec(),
            reasons: self.reasons().to_vec(),
            reason: self.reason().map(str::to_owned),
            retry_after_secs: match self {
                Error::Throttled {
                    retry_after_secs, ..
                } => *retry_after_secs,
                _ => None,
            },
        }
    }

    /// Rebuilds an error from a body produced by [`Error::to_body`] (on the far side of a wire).
    pub fn from_body(body: ErrorBody) -> Self {
        match body.code.as_str() {
            "invalid_argument" => Error::InvalidArgument {
                message: body.message,
                fields: body.fields,
            },
            "unauthenticated" => Error::Unauthenticated {
                message: body.message,
                reason: body.reason,
            },
            "permission_denied" => Error::PermissionDenied(body.message),
            "not_found" => Error::NotFound(body.message),
            "conflict" => Error::Conflict(body.message),
            "failed_precondition" => Error::FailedPrecondition {
                message: body.message,
                reasons: body.reasons,
            },
            "resource_exhausted" => Error::Throttled {
                message: body.message,
                retry_after_secs: body.retry_after_secs,
            },
            "unavailable" => Error::Unavailable(body.message),
            _ => Error::internal_msg(body.message),
        }
    }
}

/// The JSON shape of an error as clients see it: `{code, message, fields?, reason?, retry_after_secs?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable kind code (see [`Error::code`]).
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Invalid fields, for `invalid_argument`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldViolation>,
    /// Failed conditions, for `failed_precondition`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Precondition>,
    /// Machine-readable reason, for `unauthenticated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Seconds to wait, for `resource_exhausted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::internal(e)
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Error::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_round_trips_every_client_kind() {
        let errors = [
            Error::invalid("password", "must be at least 12 characters"),
            Error::unauthenticated_because("mfa_required", "send totp_code"),
            Error::permission_denied("admins only"),
            Error::not_found("no such key"),
            Error::conflict("email taken"),
            Error::throttled("too many attempts", Some(30)),
            Error::Unavailable("identity hub unreachable".into()),
        ];
        for e in errors {
            let body = e.to_body();
            let back = Error::from_body(body.clone());
            assert_eq!(back.to_body(), body, "{e:?}");
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = Error::internal_msg("password column missing in table users");
        let body = e.to_body();
        assert_eq!(body.code, "internal");
        assert!(body.message.starts_with("internal error (reference "));
        assert!(!body.message.contains("users"));
    }
}
