//! The one place where hub errors become HTTP responses.
//!
//! Every hub's REST routes return `Result<_, Error>`; axum turns the error into a status and a
//! JSON body `{code, message, ...}` (see [`crate::error::ErrorBody`]).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::Error;

/// The HTTP status for an error kind.
pub fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::InvalidArgument { .. } => StatusCode::BAD_REQUEST,
        Error::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
        Error::PermissionDenied(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) | Error::FailedPrecondition { .. } => StatusCode::CONFLICT,
        Error::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = status_of(&self);
        let body = self.to_body();
        let retry_after = body.retry_after_secs;
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_sets_retry_after() {
        let response = Error::throttled("slow down", Some(42)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
    }

    #[test]
    fn statuses_per_kind() {
        assert_eq!(status_of(&Error::invalid("a", "b")), 400);
        assert_eq!(status_of(&Error::unauthenticated("x")), 401);
        assert_eq!(status_of(&Error::permission_denied("x")), 403);
        assert_eq!(status_of(&Error::not_found("x")), 404);
        assert_eq!(status_of(&Error::conflict("x")), 409);
        assert_eq!(status_of(&Error::internal_msg("x")), 500);
    }
}
