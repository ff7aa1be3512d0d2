//! Constructors and small queries on [`SpokeError`], the error every export returns.

use crate::{SpokeError, UpstreamError};

impl SpokeError {
    /// The input was wrong; sending it again will fail the same way.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        SpokeError::InvalidInput(message.into())
    }

    /// Credentials were missing, wrong or expired.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        SpokeError::Unauthorized(message.into())
    }

    /// What was asked for does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        SpokeError::NotFound(message.into())
    }

    /// The platform or the host refused: a policy, a permission, a window.
    pub fn denied(message: impl Into<String>) -> Self {
        SpokeError::Denied(message.into())
    }

    /// A bug or an unexpected state in the spoke.
    pub fn internal(message: impl Into<String>) -> Self {
        SpokeError::Internal(message.into())
    }

    /// An outside system failed, with the HTTP status and its own error code when known.
    pub fn upstream(
        status: Option<u16>,
        code: Option<i64>,
        message: impl Into<String>,
        retryable: bool,
    ) -> Self {
        SpokeError::Upstream(UpstreamError {
            status,
            code,
            message: message.into(),
            retryable,
        })
    }

    /// Whether the same call may succeed later: only retryable upstream errors.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SpokeError::Upstream(UpstreamError {
                retryable: true,
                ..
            })
        )
    }

    /// The human-readable message the error carries.
    pub fn message(&self) -> &str {
        match self {
            SpokeError::InvalidInput(m)
            | SpokeError::Unauthorized(m)
            | SpokeError::NotFound(m)
            | SpokeError::Denied(m)
            | SpokeError::Internal(m) => m,
            SpokeError::Upstream(e) => &e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_retryable_upstream_errors_are_retryable() {
        assert!(SpokeError::upstream(Some(503), None, "down", true).is_retryable());
        assert!(!SpokeError::upstream(Some(400), Some(100), "bad", false).is_retryable());
        assert!(!SpokeError::internal("bug").is_retryable());
        assert_eq!(SpokeError::denied("no").message(), "no");
    }
}
