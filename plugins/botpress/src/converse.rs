//! Botpress v12's Converse API: `POST /api/v1/bots/{botId}/converse/{userId}` with the
//! person's message, answered synchronously with `{"responses": [...]}`.
//!
//! With an `auth_token` the call goes to the `/secured` route with
//! `Authorization: Bearer {token}`. Botpress creates the user on its first message; the
//! spoke keeps which user id speaks for a contact in kv so it stays stable.

use nave_sdk::http::{Request, encode};
use nave_sdk::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::replies::{self, Parsed};
use crate::users::{self, BotpressUser};
use crate::{errors, log_skipped};

/// The body of a Converse answer; fields other than `responses` are not needed.
#[derive(Deserialize)]
struct Answer {
    responses: Vec<Value>,
}

/// Answers `message` through the Converse API.
pub fn converse(
    base_url: &str,
    bot_id: &str,
    auth_token: Option<&str>,
    included_contexts: &[String],
    message: &Message,
) -> Result<Vec<OutboundMessage>, SpokeError> {
    let body = request_body(message, included_contexts)?;
    let contact = users::contact_of(message)?;
    let key = users::kv_key("converse", bot_id, &contact);
    let user = match users::load(&key)? {
        Some(user) => user,
        None => {
            let user = BotpressUser {
                user_id: contact,
                user_key: None,
                conversation_id: None,
            };
            users::save(&key, &user)?;
            user
        }
    };
    let mut request = Request::post(url(base_url, bot_id, &user.user_id, auth_token.is_some()));
    if let Some(token) = auth_token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.json(&body).send()?;
    if !response.is_success() {
        return Err(errors::status_error(
            response.status,
            &response.body,
            "the setting `auth_token` (the server requires a valid Botpress token)",
            &format!("bot `{bot_id}` at {base_url}; check the settings `bot_id` and `base_url`"),
        ));
    }
    let answer: Answer = errors::decode(&response, "the converse call")?;
    let Parsed { replies, skipped } = replies::from_converse(&answer.responses, base_url);
    log_skipped(&skipped);
    Ok(replies
        .into_iter()
        .map(|reply| reply.into_outbound(message))
        .collect())
}

/// `{base}/api/v1/bots/{bot}/converse/{user}`, plus `/secured` for authenticated calls.
pub fn url(base_url: &str, bot_id: &str, user_id: &str, secured: bool) -> String {
    format!(
        "{}/api/v1/bots/{}/converse/{}{}",
        base_url.trim_end_matches('/'),
        encode(bot_id),
        encode(user_id),
        if secured { "/secured" } else { "" }
    )
}

/// The Converse request for `message`.
///
/// A tapped quick reply or postback is a `quick_reply` with its payload (and the text
/// shown, else the payload); anything else is `text`. The API takes no media, so
/// attachment URLs are appended to the text, one per line.
pub fn request_body(message: &Message, included_contexts: &[String]) -> Result<Value, SpokeError> {
    let mut lines: Vec<&str> = message
        .text
        .as_deref()
        .into_iter()
        .filter(|t| !t.trim().is_empty())
        .collect();
    lines.extend(message.attachments.iter().filter_map(|a| a.url.as_deref()));
    let text = lines.join("\n");
    let mut body = match message.payload.as_deref().filter(|p| !p.is_empty()) {
        Some(payload) => json!({
            "type": "quick_reply",
            "text": if text.is_empty() { payload } else { &text },
            "payload": payload,
        }),
        None if !text.is_empty() => json!({ "type": "text", "text": text }),
        None => {
            return Err(SpokeError::invalid_input(
                "the message has no text, no payload and no attachment with a URL: there is nothing to send to the bot",
            ));
        }
    };
    if !included_contexts.is_empty() {
        body["includedContexts"] = json!(included_contexts);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: Option<&str>, payload: Option<&str>, urls: &[&str]) -> Message {
        Message {
            text: text.map(str::to_owned),
            payload: payload.map(str::to_owned),
            attachments: urls
                .iter()
                .map(|url| Attachment {
                    kind: "image".into(),
                    url: Some((*url).to_owned()),
                    mime_type: None,
                    payload: None,
                })
                .collect(),
            sender: "psid-1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn urls_encode_ids_and_pick_the_secured_route() {
        assert_eq!(
            url("http://bp:3000/", "welcome-bot", "a b/c", false),
            "http://bp:3000/api/v1/bots/welcome-bot/converse/a%20b%2Fc"
        );
        assert_eq!(
            url("https://bp", "b", "u", true),
            "https://bp/api/v1/bots/b/converse/u/secured"
        );
    }

    #[test]
    fn texts_quick_replies_and_attachments_become_converse_requests() {
        assert_eq!(
            request_body(&message(Some("hello"), None, &[]), &[]).unwrap(),
            json!({"type": "text", "text": "hello"})
        );
        assert_eq!(
            request_body(
                &message(Some("Pizza"), Some("PIZZA"), &[]),
                &["global".into()]
            )
            .unwrap(),
            json!({"type": "quick_reply", "text": "Pizza", "payload": "PIZZA", "includedContexts": ["global"]})
        );
        assert_eq!(
            request_body(&message(None, Some("GET_STARTED"), &[]), &[]).unwrap(),
            json!({"type": "quick_reply", "text": "GET_STARTED", "payload": "GET_STARTED"})
        );
        assert_eq!(
            request_body(&message(Some("look"), None, &["https://cdn/x.jpg"]), &[]).unwrap(),
            json!({"type": "text", "text": "look\nhttps://cdn/x.jpg"})
        );
        assert!(matches!(
            request_body(&message(Some("  "), None, &[]), &[]),
            Err(SpokeError::InvalidInput(_))
        ));
    }
}
