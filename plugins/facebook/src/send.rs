//! Replies through the Send API (`POST /me/messages`).
//!
//! One outbound message may become several Messenger messages: its text split to
//! the 2000-character limit, then one message per attachment. Quick replies go on
//! the last one, which is the one the person sees last.

use nave_sdk::http::Request;
use nave_sdk::prelude::*;
use serde_json::{Value, json};

use crate::{Settings, graph};

/// Messenger's limit on the text of one message.
pub const TEXT_LIMIT: usize = 2000;

/// Sends `message` and returns the ids Messenger gave each part.
pub fn deliver(
    message: &OutboundMessage,
    settings: &Settings,
) -> Result<DeliveryReceipt, SpokeError> {
    let bodies = request_bodies(message)?;
    let url = graph::url(
        &settings.graph_api_base,
        "me/messages",
        &[("access_token", &settings.page_access_token)],
    );
    let mut receipt = DeliveryReceipt::default();
    for body in &bodies {
        let answer = graph::call(Request::post(url.clone()).json(body))?;
        if let Some(id) = answer.get("message_id").and_then(Value::as_str) {
            receipt.message_ids.push(id.to_owned());
        }
        if let Some(id) = answer.get("recipient_id").and_then(Value::as_str) {
            receipt.recipient = Some(id.to_owned());
        }
    }
    Ok(receipt)
}

/// The Send API request bodies for `message`, in the order to send them.
pub fn request_bodies(message: &OutboundMessage) -> Result<Vec<Value>, SpokeError> {
    if message.recipient.is_empty() {
        return Err(SpokeError::invalid_input("the message has no recipient"));
    }
    let mut contents: Vec<Value> = message
        .text
        .as_deref()
        .map(|text| split_text(text, TEXT_LIMIT))
        .unwrap_or_default()
        .into_iter()
        .map(|part| json!({ "text": part }))
        .collect();
    for attachment in &message.attachments {
        let url = attachment.url.as_deref().ok_or_else(|| {
            SpokeError::invalid_input(format!("the {} attachment has no URL", attachment.kind))
        })?;
        contents.push(json!({ "attachment": {
            "type": attachment.kind,
            "payload": { "url": url, "is_reusable": true },
        }}));
    }
    let Some(last) = contents.last_mut() else {
        return Err(SpokeError::invalid_input(
            "the message has no text and no attachment",
        ));
    };
    if !message.choices.is_empty() {
        let quick_replies: Vec<Value> = message
            .choices
            .iter()
            .map(|c| json!({ "content_type": "text", "title": c.title, "payload": c.payload }))
            .collect();
        last["quick_replies"] = Value::Array(quick_replies);
    }
    let envelope = envelope(&message.recipient, &message.reason);
    Ok(contents
        .into_iter()
        .map(|content| {
            let mut body = envelope.clone();
            body["message"] = content;
            body
        })
        .collect())
}

/// The part of every request body but the message: recipient and messaging type.
fn envelope(psid: &str, reason: &SendReason) -> Value {
    let mut envelope = json!({ "recipient": { "id": psid } });
    match reason {
        SendReason::Response => envelope["messaging_type"] = "RESPONSE".into(),
        SendReason::Update => envelope["messaging_type"] = "UPDATE".into(),
        SendReason::Tagged(tag) => {
            envelope["messaging_type"] = "MESSAGE_TAG".into();
            envelope["tag"] = tag.as_str().into();
        }
    }
    envelope
}

/// Splits `text` into parts of at most `limit` characters, at whitespace when it
/// can and between characters otherwise.
///
/// Characters are counted as UTF-16 units, as Messenger's JavaScript-born limit
/// does: an emoji counts twice, so a part never goes over whichever way it is
/// counted. Whitespace around a split is dropped; a blank text has no parts.
pub fn split_text(text: &str, limit: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let end = fitting_prefix(rest, limit);
        if end == rest.len() {
            parts.push(rest.to_owned());
            break;
        }
        // The last whitespace that fits, or the one just after what fits.
        let split = rest[..end]
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map(|(i, _)| i)
            .filter(|&i| !rest[..i].trim_end().is_empty())
            .or_else(|| rest[end..].starts_with(char::is_whitespace).then_some(end));
        let (part, tail) = match split {
            Some(i) => (rest[..i].trim_end(), rest[i..].trim_start()),
            None => rest.split_at(end),
        };
        parts.push(part.to_owned());
        rest = tail;
    }
    parts
}

/// The length in bytes of the longest prefix of `text` within `limit` UTF-16 units.
fn fitting_prefix(text: &str, limit: usize) -> usize {
    let mut units = 0;
    for (i, c) in text.char_indices() {
        units += c.len_utf16();
        if units > limit {
            return i;
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbound(text: Option<&str>) -> OutboundMessage {
        OutboundMessage {
            conversation: "PAGE:P".into(),
            recipient: "P".into(),
            text: text.map(str::to_owned),
            attachments: vec![],
            choices: vec![],
            reason: SendReason::Response,
            metadata: vec![],
        }
    }

    fn units(s: &str) -> usize {
        s.encode_utf16().count()
    }

    #[test]
    fn short_texts_are_one_part() {
        assert_eq!(split_text("  hello world ", 2000), vec!["hello world"]);
        assert!(split_text("   ", 2000).is_empty());
        assert_eq!(split_text(&"a".repeat(2000), 2000).len(), 1);
    }

    #[test]
    fn long_texts_split_at_whitespace_within_the_limit() {
        let text = "word ".repeat(1000); // 5000 characters
        let parts = split_text(&text, 2000);
        assert_eq!(parts.len(), 3);
        for part in &parts {
            assert!(units(part) <= 2000 && part.ends_with("word") && part.starts_with("word"));
        }
        assert_eq!(parts.join(" "), text.trim());
    }

    #[test]
    fn words_longer_than_the_limit_split_between_characters() {
        let text = "é".repeat(4500);
        let parts = split_text(&text, 2000);
        assert_eq!(
            parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
            vec![2000, 2000, 500]
        );
        assert_eq!(parts.concat(), text);
        // A 2-unit emoji never straddles the limit.
        let emoji = format!("a{}", "😀".repeat(1500));
        let parts = split_text(&emoji, 2000);
        assert!(parts.iter().all(|p| units(p) <= 2000));
        assert_eq!(parts.concat(), emoji);
    }

    #[test]
    fn a_split_right_after_the_limit_uses_that_whitespace() {
        let text = format!("{} {}", "a".repeat(10), "b".repeat(3));
        assert_eq!(split_text(&text, 10), vec!["a".repeat(10), "bbb".into()]);
        let text = format!("{} {}", "a".repeat(3), "b".repeat(12));
        assert_eq!(
            split_text(&text, 10),
            vec!["aaa".to_owned(), "b".repeat(10), "bb".into()]
        );
    }

    #[test]
    fn a_text_message_carries_the_messaging_type_and_the_quick_replies() {
        let mut message = outbound(Some("Pick one"));
        message.choices = vec![Choice {
            title: "Yes".into(),
            payload: "Y".into(),
        }];
        let bodies = request_bodies(&message).unwrap();
        assert_eq!(
            bodies,
            vec![json!({
                "recipient": {"id": "P"},
                "messaging_type": "RESPONSE",
                "message": {"text": "Pick one", "quick_replies": [
                    {"content_type": "text", "title": "Yes", "payload": "Y"}
                ]}
            })]
        );
    }

    #[test]
    fn long_texts_and_attachments_become_several_messages() {
        let mut message = outbound(Some(&"x ".repeat(1500)));
        message.reason = SendReason::Tagged("ACCOUNT_UPDATE".into());
        message.attachments = vec![Attachment {
            kind: "image".into(),
            url: Some("https://cdn/x.png".into()),
            ..Default::default()
        }];
        message.choices = vec![Choice {
            title: "Ok".into(),
            payload: "OK".into(),
        }];
        let bodies = request_bodies(&message).unwrap();
        assert_eq!(bodies.len(), 3);
        for body in &bodies {
            assert_eq!(body["messaging_type"], "MESSAGE_TAG");
            assert_eq!(body["tag"], "ACCOUNT_UPDATE");
        }
        assert!(bodies[0]["message"].get("quick_replies").is_none());
        assert!(bodies[1]["message"].get("quick_replies").is_none());
        assert_eq!(
            bodies[2]["message"]["attachment"],
            json!({"type": "image", "payload": {"url": "https://cdn/x.png", "is_reusable": true}})
        );
        assert_eq!(bodies[2]["message"]["quick_replies"][0]["payload"], "OK");
    }

    #[test]
    fn updates_have_no_tag() {
        let mut message = outbound(Some("hi"));
        message.reason = SendReason::Update;
        let body = &request_bodies(&message).unwrap()[0];
        assert_eq!(body["messaging_type"], "UPDATE");
        assert!(body.get("tag").is_none());
    }

    #[test]
    fn empty_or_unsendable_messages_are_invalid_input() {
        assert!(matches!(
            request_bodies(&outbound(None)),
            Err(SpokeError::InvalidInput(_))
        ));
        assert!(matches!(
            request_bodies(&outbound(Some(" "))),
            Err(SpokeError::InvalidInput(_))
        ));
        let mut no_url = outbound(None);
        no_url.attachments = vec![Attachment {
            kind: "image".into(),
            ..Default::default()
        }];
        assert!(matches!(
            request_bodies(&no_url),
            Err(SpokeError::InvalidInput(_))
        ));
        let mut nobody = outbound(Some("hi"));
        nobody.recipient.clear();
        assert!(matches!(
            request_bodies(&nobody),
            Err(SpokeError::InvalidInput(_))
        ));
    }
}
