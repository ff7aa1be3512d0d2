//! Botpress's answers turned into the contract's errors, and JSON decoding that says
//! what did not parse.
//!
//! Both APIs answer errors as JSON with a `message` (v12: `{"message", "type"}`, the
//! Chat API: `{"id", "code", "type", "message"}`), or as plain text from a proxy.

use nave_sdk::http::Response;
use nave_sdk::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// How many characters of an unexpected body go into an error message.
const EXCERPT: usize = 200;

/// Maps a non-2xx answer to a [`SpokeError`].
///
/// 401/403 → `unauthorized` (with `credentials`, the setting to check); 404 → `not-found`
/// (with `missing`, what was not found); 408, 429 and 5xx → retryable `upstream`; any
/// other status → non-retryable `upstream`.
pub fn status_error(status: u16, body: &[u8], credentials: &str, missing: &str) -> SpokeError {
    let said = botpress_message(body);
    match status {
        401 | 403 => SpokeError::unauthorized(format!(
            "Botpress refused the credentials ({status}: {said}); check {credentials}"
        )),
        404 => SpokeError::not_found(format!("Botpress has no {missing} ({said})")),
        _ => SpokeError::upstream(
            Some(status),
            None,
            format!("Botpress answered {status}: {said}"),
            status == 408 || status == 429 || status >= 500,
        ),
    }
}

/// The body of a 2xx answer decoded; an `upstream` error that names `what` when it is
/// not the JSON expected.
pub fn decode<T: DeserializeOwned>(response: &Response, what: &str) -> Result<T, SpokeError> {
    serde_json::from_slice(&response.body).map_err(|e| {
        SpokeError::upstream(
            Some(response.status),
            None,
            format!(
                "Botpress answered {what} with a body the spoke cannot read ({e}): {}",
                excerpt(&response.body)
            ),
            false,
        )
    })
}

/// The `message` of a Botpress error body, or an excerpt of the body as text.
fn botpress_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| excerpt(body))
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "no body".into()
    } else {
        text.chars().take(EXCERPT).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_error_kinds() {
        let body =
            br#"{"id":"err_1","code":401,"type":"Unauthorized","message":"Invalid user key"}"#;
        assert!(matches!(
            status_error(401, body, "`encryption_key`", "user"),
            SpokeError::Unauthorized(m) if m.contains("Invalid user key") && m.contains("`encryption_key`")
        ));
        assert!(matches!(
            status_error(403, b"", "`auth_token`", "bot"),
            SpokeError::Unauthorized(_)
        ));
        assert!(matches!(
            status_error(404, br#"{"message":"Bot not found"}"#, "x", "bot `b1`"),
            SpokeError::NotFound(m) if m.contains("bot `b1`") && m.contains("Bot not found")
        ));
        for status in [408, 429, 500, 502, 503] {
            assert!(
                status_error(status, b"<html>down</html>", "x", "y").is_retryable(),
                "{status}"
            );
        }
        let bad_request = status_error(400, br#"{"message":"Invalid payload"}"#, "x", "y");
        assert!(
            matches!(&bad_request, SpokeError::Upstream(u) if !u.retryable && u.status == Some(400) && u.message.contains("Invalid payload"))
        );
    }

    #[test]
    fn bodies_that_do_not_parse_are_upstream_errors_that_say_so() {
        let response = Response {
            status: 200,
            headers: vec![],
            body: b"<html>maintenance</html>".to_vec(),
        };
        match decode::<Value>(&response, "the converse call") {
            Err(SpokeError::Upstream(u)) => {
                assert!(!u.retryable);
                assert!(u.message.contains("the converse call"), "{}", u.message);
                assert!(u.message.contains("maintenance"), "{}", u.message);
            }
            other => panic!("{other:?}"),
        }
    }
}
