//! Calls to the Graph API and the translation of its errors.
//!
//! Graph answers errors as `{"error":{"message","type","code","error_subcode",
//! "fbtrace_id"}}`; [`graph_error`] maps them to the contract's error kinds so
//! the host knows whether to retry, re-authorize or give up.

use nave_sdk::http::{Request, encode};
use nave_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::Settings;

/// The webhook fields the page is subscribed to on install.
pub const SUBSCRIBED_FIELDS: &str = "messages,messaging_postbacks,message_deliveries,message_reads";

/// Error codes Graph uses for rate limits (app, user, page, and the Send API's own).
const RATE_LIMIT_CODES: [i64; 4] = [4, 17, 32, 613];
/// The access token is invalid or expired.
const CODE_INVALID_TOKEN: i64 = 190;
/// The person is not available (blocked the page, deleted their account, ...).
const CODE_PERSON_UNAVAILABLE: i64 = 551;
/// A permission is missing, or the message is outside the allowed window.
const CODE_PERMISSION: i64 = 10;
/// The message is sent outside the 24-hour window without a tag.
const SUBCODE_OUTSIDE_WINDOW: i64 = 2_018_278;

/// `{base}/{path}?{query}`, each query value percent-encoded but for commas,
/// which Graph's field lists use and a query may carry as they are.
pub fn url(base: &str, path: &str, query: &[(&str, &str)]) -> String {
    let mut url = format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    for (i, (name, value)) in query.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(name);
        url.push('=');
        url.push_str(&encode(value).replace("%2C", ","));
    }
    url
}

/// Sends a Graph request and decodes its JSON answer; a non-2xx answer is mapped
/// by [`graph_error`].
pub fn call(request: Request) -> Result<Value, SpokeError> {
    let response = request.send()?;
    if !response.is_success() {
        return Err(graph_error(response.status, &response.body));
    }
    Ok(response.json()?)
}

/// Subscribes the page to the app's webhooks, so its messages reach nave.
pub fn subscribe_page(settings: &Settings) -> Result<(), SpokeError> {
    let url = url(
        &settings.graph_api_base,
        &format!("{}/subscribed_apps", encode(&settings.page_id)),
        &[
            ("subscribed_fields", SUBSCRIBED_FIELDS),
            ("access_token", &settings.page_access_token),
        ],
    );
    expect_success(call(Request::post(url))?, "subscribe the page")
}

/// Unsubscribes the page from the app's webhooks.
pub fn unsubscribe_page(settings: &Settings) -> Result<(), SpokeError> {
    let url = url(
        &settings.graph_api_base,
        &format!("{}/subscribed_apps", encode(&settings.page_id)),
        &[("access_token", &settings.page_access_token)],
    );
    expect_success(call(Request::delete(url))?, "unsubscribe the page")
}

/// Graph answers `{"success": true}` to subscription changes.
fn expect_success(answer: Value, what: &str) -> Result<(), SpokeError> {
    if answer.get("success").and_then(Value::as_bool) == Some(true) {
        Ok(())
    } else {
        Err(SpokeError::upstream(
            Some(200),
            None,
            format!("Graph did not {what}: {answer}"),
            false,
        ))
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(rename = "type", default)]
    kind: String,
    code: Option<i64>,
    error_subcode: Option<i64>,
    fbtrace_id: Option<String>,
}

/// Maps a Graph error answer to a [`SpokeError`].
///
/// Invalid token → `unauthorized`; rate limits → retryable `upstream`; person
/// unavailable → `not-found`; missing permission or outside the 24-hour window →
/// `denied`; any other 4xx → non-retryable `upstream`; 5xx → retryable `upstream`.
pub fn graph_error(status: u16, body: &[u8]) -> SpokeError {
    let server_error = status >= 500;
    let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(body) else {
        let text = String::from_utf8_lossy(body);
        let message = format!(
            "Graph answered {status}: {}",
            text.chars().take(200).collect::<String>()
        );
        return SpokeError::upstream(Some(status), None, message, server_error);
    };
    let message = format!(
        "Graph error {} ({}): {}{}",
        error.code.map_or_else(|| "?".into(), |c| c.to_string()),
        error.kind,
        error.message,
        error
            .fbtrace_id
            .map(|id| format!(" [fbtrace_id {id}]"))
            .unwrap_or_default(),
    );
    let code = error.code;
    match code {
        Some(CODE_INVALID_TOKEN) => SpokeError::unauthorized(message),
        Some(c) if RATE_LIMIT_CODES.contains(&c) => {
            SpokeError::upstream(Some(status), code, message, true)
        }
        Some(CODE_PERSON_UNAVAILABLE) => SpokeError::not_found(message),
        Some(CODE_PERMISSION | SUBCODE_OUTSIDE_WINDOW) => SpokeError::denied(message),
        _ if error.error_subcode == Some(SUBCODE_OUTSIDE_WINDOW) => SpokeError::denied(message),
        _ => SpokeError::upstream(Some(status), code, message, server_error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(status: u16, code: i64, subcode: Option<i64>) -> SpokeError {
        let body = json!({"error": {
            "message": "boom", "type": "OAuthException", "code": code,
            "error_subcode": subcode, "fbtrace_id": "AbC"
        }});
        graph_error(status, body.to_string().as_bytes())
    }

    #[test]
    fn urls_encode_query_values() {
        assert_eq!(
            url(
                "https://g/v21.0/",
                "/me/messages",
                &[("access_token", "a+b/c")]
            ),
            "https://g/v21.0/me/messages?access_token=a%2Bb%2Fc"
        );
        assert_eq!(
            url(
                "http://127.0.0.1:9",
                "1/subscribed_apps",
                &[("a", "1"), ("b", "x,y z")]
            ),
            "http://127.0.0.1:9/1/subscribed_apps?a=1&b=x,y%20z"
        );
    }

    #[test]
    fn graph_codes_map_to_error_kinds() {
        assert!(
            matches!(error(401, 190, Some(463)), SpokeError::Unauthorized(m) if m.contains("boom") && m.contains("AbC"))
        );
        for code in [4, 17, 32, 613] {
            let e = error(400, code, None);
            assert!(e.is_retryable(), "{code}");
            assert!(
                matches!(e, SpokeError::Upstream(u) if u.code == Some(code) && u.status == Some(400))
            );
        }
        assert!(matches!(
            error(400, 551, Some(1545041)),
            SpokeError::NotFound(_)
        ));
        assert!(matches!(error(403, 10, None), SpokeError::Denied(_)));
        assert!(matches!(
            error(400, 10, Some(2018278)),
            SpokeError::Denied(_)
        ));
        assert!(matches!(error(400, 2018278, None), SpokeError::Denied(_)));
    }

    #[test]
    fn other_errors_are_retryable_only_on_the_server_side() {
        let bad_param = error(400, 100, None);
        assert!(
            matches!(&bad_param, SpokeError::Upstream(u) if !u.retryable && u.code == Some(100))
        );
        assert!(error(500, 2, None).is_retryable());
        assert!(graph_error(502, b"<html>bad gateway</html>").is_retryable());
        assert!(!graph_error(404, b"not found").is_retryable());
    }

    #[test]
    fn subscription_answers_must_say_success() {
        assert_eq!(expect_success(json!({"success": true}), "x"), Ok(()));
        assert!(expect_success(json!({"success": false}), "x").is_err());
    }
}
