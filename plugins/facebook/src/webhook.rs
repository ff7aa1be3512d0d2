//! Messenger webhooks: the subscription handshake, the signature check and the
//! translation of event batches into inbound events.
//!
//! Facebook resends anything that is not a quick 200, so a refused request gets
//! its answer at once and the events carry stable ids the host de-duplicates on.

use hmac::{Hmac, Mac};
use nave_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

use crate::{Settings, profile};

type HmacSha256 = Hmac<Sha256>;

/// The header carrying the hex HMAC-SHA256 of the body, keyed with the app secret.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// The platform name put on every event.
pub const PLATFORM: &str = "facebook";

/// Handles one webhook request: a handshake (`GET`) or an event batch (`POST`).
pub fn handle(request: &HttpRequest, settings: &Settings) -> Result<WebhookOutcome, SpokeError> {
    let response = match request.method.as_str() {
        "GET" => verify_subscription(request, &settings.verify_token),
        "POST" => {
            if let Err(refusal) = check_signature(
                request.header(SIGNATURE_HEADER),
                &request.body,
                &settings.app_secret,
            ) {
                nave_sdk::warn!("webhook refused: {}", refusal.reason());
                return Ok(WebhookOutcome::reply(refusal.response()));
            }
            let mut events = match parse_events(&request.body, &settings.page_id) {
                Ok(events) => events,
                Err(error) => {
                    nave_sdk::warn!("webhook refused: {error}");
                    return Ok(WebhookOutcome::reply(HttpResponse::text(400, error)));
                }
            };
            profile::attach_profiles(&mut events, settings);
            return Ok(WebhookOutcome {
                response: HttpResponse::text(200, "EVENT_RECEIVED"),
                events,
            });
        }
        _ => HttpResponse::text(405, "method not allowed"),
    };
    Ok(WebhookOutcome::reply(response))
}

/// Answers the subscription handshake: the challenge when the mode is `subscribe`
/// and the token matches, 403 otherwise.
pub fn verify_subscription(request: &HttpRequest, verify_token: &str) -> HttpResponse {
    let mode = request.query_param("hub.mode");
    let token = request.query_param("hub.verify_token").unwrap_or_default();
    if mode.as_deref() == Some("subscribe") && constant_time_eq(&token, verify_token) {
        let challenge = request.query_param("hub.challenge").unwrap_or_default();
        HttpResponse::text(200, challenge)
    } else {
        HttpResponse::text(403, "verification failed")
    }
}

/// Why a signed request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureRefusal {
    /// No signature header: 401.
    Missing,
    /// A signature header that is malformed or does not match: 403.
    Invalid,
}

impl SignatureRefusal {
    /// The answer Facebook gets.
    pub fn response(self) -> HttpResponse {
        match self {
            SignatureRefusal::Missing => HttpResponse::text(401, "missing signature"),
            SignatureRefusal::Invalid => HttpResponse::text(403, "invalid signature"),
        }
    }

    /// A few words for the log.
    pub fn reason(self) -> &'static str {
        match self {
            SignatureRefusal::Missing => "no x-hub-signature-256 header",
            SignatureRefusal::Invalid => "the x-hub-signature-256 header does not match",
        }
    }
}

/// Checks `sha256=<hex HMAC-SHA256(app_secret, body)>` in constant time.
pub fn check_signature(
    header: Option<&str>,
    body: &[u8],
    app_secret: &str,
) -> Result<(), SignatureRefusal> {
    let header = header.ok_or(SignatureRefusal::Missing)?;
    let hex_digest = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureRefusal::Invalid)?;
    let expected = hex::decode(hex_digest).map_err(|_| SignatureRefusal::Invalid)?;
    let mut mac = new_mac(app_secret.as_bytes());
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureRefusal::Invalid)
}

/// Compares two secrets without leaking, through timing, where they first differ.
///
/// Comparing MACs of both sides (with `verify_slice`, constant time) also hides
/// their lengths.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    const KEY: &[u8] = b"nave-facebook-token-comparison";
    let mut mac_a = new_mac(KEY);
    mac_a.update(a.as_bytes());
    let mut mac_b = new_mac(KEY);
    mac_b.update(b.as_bytes());
    mac_a.verify_slice(&mac_b.finalize().into_bytes()).is_ok()
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length")
}

/// The top of a webhook body.
#[derive(Deserialize)]
struct Batch {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

/// One page's part of a batch.
#[derive(Deserialize)]
struct Entry {
    /// Kept as raw JSON so that one odd item does not refuse the batch.
    #[serde(default)]
    messaging: Vec<Value>,
}

#[derive(Deserialize)]
struct Item {
    sender: Party,
    recipient: Option<Party>,
    #[serde(default)]
    timestamp: u64,
    message: Option<FbMessage>,
    postback: Option<Postback>,
    delivery: Option<Delivery>,
    read: Option<Read>,
}

#[derive(Deserialize)]
struct Party {
    id: String,
}

#[derive(Deserialize)]
struct FbMessage {
    mid: Option<String>,
    text: Option<String>,
    #[serde(default)]
    is_echo: bool,
    quick_reply: Option<QuickReply>,
    #[serde(default)]
    attachments: Vec<FbAttachment>,
    reply_to: Option<ReplyTo>,
}

#[derive(Deserialize)]
struct QuickReply {
    payload: String,
}

#[derive(Deserialize)]
struct ReplyTo {
    mid: String,
}

#[derive(Deserialize)]
struct FbAttachment {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: Option<Value>,
}

#[derive(Deserialize)]
struct Postback {
    mid: Option<String>,
    title: Option<String>,
    payload: Option<String>,
}

#[derive(Deserialize)]
struct Delivery {
    #[serde(default)]
    mids: Vec<String>,
    watermark: u64,
}

#[derive(Deserialize)]
struct Read {
    watermark: u64,
}

/// Media kinds that Messenger sends with a URL and nothing else worth keeping.
const URL_KINDS: [&str; 4] = ["image", "video", "audio", "file"];

/// Translates a verified webhook body into events, in order.
///
/// Every `messaging` item of every entry counts; echoes of the page's own
/// messages and kinds of items this spoke does not handle are left out. The error
/// says why the body is not a page batch.
pub fn parse_events(body: &[u8], page_id: &str) -> Result<Vec<InboundEvent>, String> {
    let batch: Batch =
        serde_json::from_slice(body).map_err(|e| format!("not a webhook batch: {e}"))?;
    if batch.object != "page" {
        return Err(format!("object is `{}`, not `page`", batch.object));
    }
    let events = batch
        .entry
        .into_iter()
        .flat_map(|entry| entry.messaging)
        // An item that does not parse is one this spoke does not handle.
        .filter_map(|item| serde_json::from_value::<Item>(item).ok())
        .filter_map(|item| to_event(item, page_id))
        .collect();
    Ok(events)
}

fn to_event(item: Item, page_id: &str) -> Option<InboundEvent> {
    let psid = item.sender.id;
    let conversation = format!("{page_id}:{psid}");
    let recipient = item.recipient.map_or_else(|| page_id.to_owned(), |r| r.id);
    let base = Message {
        platform: PLATFORM.into(),
        conversation: conversation.clone(),
        sender: psid.clone(),
        recipient,
        timestamp_ms: item.timestamp,
        ..Default::default()
    };
    if let Some(message) = item.message {
        if message.is_echo {
            return None;
        }
        let mut metadata = Vec::new();
        if let Some(reply_to) = message.reply_to {
            metadata.push(("reply_to".to_owned(), reply_to.mid));
        }
        return Some(InboundEvent::Message(Message {
            id: message
                .mid
                .unwrap_or_else(|| format!("message:{psid}:{}", item.timestamp)),
            text: message.text,
            attachments: message.attachments.into_iter().map(to_attachment).collect(),
            payload: message.quick_reply.map(|q| q.payload),
            metadata,
            ..base
        }));
    }
    if let Some(postback) = item.postback {
        return Some(InboundEvent::Postback(Message {
            id: postback
                .mid
                .unwrap_or_else(|| format!("postback:{psid}:{}", item.timestamp)),
            text: postback.title,
            payload: postback.payload,
            ..base
        }));
    }
    if let Some(delivery) = item.delivery {
        return Some(InboundEvent::Delivery(Receipt {
            platform: PLATFORM.into(),
            id: format!("delivery:{psid}:{}", delivery.watermark),
            conversation,
            sender: psid,
            watermark_ms: delivery.watermark,
            message_ids: delivery.mids,
        }));
    }
    if let Some(read) = item.read {
        return Some(InboundEvent::Read(Receipt {
            platform: PLATFORM.into(),
            id: format!("read:{psid}:{}", read.watermark),
            conversation,
            sender: psid,
            watermark_ms: read.watermark,
            message_ids: Vec::new(),
        }));
    }
    None
}

fn to_attachment(attachment: FbAttachment) -> Attachment {
    let url = attachment
        .payload
        .as_ref()
        .and_then(|p| p.get("url"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    // Media are their URL; other kinds (location, fallback, ...) keep their data.
    let payload = match &attachment.payload {
        Some(payload) if !payload.is_null() && !URL_KINDS.contains(&attachment.kind.as_str()) => {
            Some(payload.to_string())
        }
        _ => None,
    };
    Attachment {
        kind: attachment.kind,
        url,
        mime_type: None,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "app-secret";

    fn sign(body: &[u8]) -> String {
        let mut mac = new_mac(SECRET.as_bytes());
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn handshake(query: &str) -> HttpResponse {
        let request = HttpRequest {
            method: "GET".into(),
            query: query.into(),
            ..Default::default()
        };
        verify_subscription(&request, "tok3n")
    }

    fn events(batch: Value) -> Vec<InboundEvent> {
        parse_events(batch.to_string().as_bytes(), "PAGE").unwrap()
    }

    fn item(psid: &str, fields: Value) -> Value {
        let mut item = json!({
            "sender": {"id": psid}, "recipient": {"id": "PAGE"}, "timestamp": 1_700_000_000_123u64
        });
        item.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        item
    }

    fn batch(items: Vec<Value>) -> Value {
        json!({"object": "page", "entry": [{"id": "PAGE", "time": 1, "messaging": items}]})
    }

    #[test]
    fn the_handshake_echoes_the_challenge_only_for_the_right_token() {
        let ok = handshake("hub.mode=subscribe&hub.verify_token=tok3n&hub.challenge=12345");
        assert_eq!((ok.status, ok.body.as_slice()), (200, b"12345".as_slice()));
        assert_eq!(ok.header("content-type"), Some("text/plain; charset=utf-8"));
        for query in [
            "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
            "hub.mode=unsubscribe&hub.verify_token=tok3n&hub.challenge=1",
            "hub.verify_token=tok3n&hub.challenge=1",
            "",
        ] {
            assert_eq!(handshake(query).status, 403, "{query}");
        }
    }

    #[test]
    fn tokens_compare_by_value() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        assert!(constant_time_eq("", ""));
    }

    #[test]
    fn signatures_are_checked() {
        let body = br#"{"object":"page"}"#;
        assert_eq!(check_signature(Some(&sign(body)), body, SECRET), Ok(()));
        assert_eq!(
            check_signature(None, body, SECRET),
            Err(SignatureRefusal::Missing)
        );
        let wrong_key = {
            let mut mac = new_mac(b"other");
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        };
        let tampered = sign(b"{}");
        let sha1 = sign(body).replace("sha256=", "sha1=");
        for header in [
            wrong_key.as_str(),
            &tampered,
            &sha1,
            "sha256=zz",
            "sha256=",
            "",
        ] {
            assert_eq!(
                check_signature(Some(header), body, SECRET),
                Err(SignatureRefusal::Invalid),
                "{header}"
            );
        }
        assert_eq!(SignatureRefusal::Missing.response().status, 401);
        assert_eq!(SignatureRefusal::Invalid.response().status, 403);
    }

    #[test]
    fn bodies_that_are_not_page_batches_are_refused() {
        assert!(parse_events(b"not json", "PAGE").is_err());
        assert!(parse_events(br#"{"object":"instagram","entry":[]}"#, "PAGE").is_err());
        assert!(parse_events(br#"{"entry":[]}"#, "PAGE").is_err());
        assert_eq!(parse_events(br#"{"object":"page"}"#, "PAGE"), Ok(vec![]));
    }

    #[test]
    fn a_text_message_with_a_quick_reply_becomes_a_message() {
        let got = events(batch(vec![item(
            "PSID1",
            json!({"message": {"mid": "m_1", "text": "hi", "quick_reply": {"payload": "YES"},
                               "reply_to": {"mid": "m_0"}}}),
        )]));
        let expected = InboundEvent::Message(Message {
            platform: "facebook".into(),
            id: "m_1".into(),
            conversation: "PAGE:PSID1".into(),
            sender: "PSID1".into(),
            recipient: "PAGE".into(),
            text: Some("hi".into()),
            payload: Some("YES".into()),
            timestamp_ms: 1_700_000_000_123,
            metadata: vec![("reply_to".into(), "m_0".into())],
            ..Default::default()
        });
        assert_eq!(got, vec![expected]);
    }

    #[test]
    fn attachments_keep_their_url_or_their_data() {
        let got = events(batch(vec![item(
            "P",
            json!({"message": {"mid": "m_2", "attachments": [
                {"type": "image", "payload": {"url": "https://cdn/x.jpg", "sticker_id": 1}},
                {"type": "location", "payload": {"coordinates": {"lat": 1.5, "long": 2.5}}},
                {"type": "fallback", "payload": null},
            ]}}),
        )]));
        let InboundEvent::Message(message) = &got[0] else {
            panic!("not a message: {got:?}")
        };
        assert_eq!(message.text, None);
        let a = &message.attachments;
        assert_eq!(
            (
                a[0].kind.as_str(),
                a[0].url.as_deref(),
                a[0].payload.as_deref()
            ),
            ("image", Some("https://cdn/x.jpg"), None)
        );
        assert_eq!(
            (a[1].kind.as_str(), a[1].url.as_deref()),
            ("location", None)
        );
        let coordinates: Value = serde_json::from_str(a[1].payload.as_deref().unwrap()).unwrap();
        assert_eq!(coordinates["coordinates"]["long"], 2.5);
        assert_eq!(
            (a[2].kind.as_str(), a[2].payload.as_deref()),
            ("fallback", None)
        );
    }

    #[test]
    fn postbacks_deliveries_and_reads_are_translated() {
        let got = events(batch(vec![
            item(
                "P",
                json!({"postback": {"title": "Start", "payload": "GO", "mid": "m_pb"}}),
            ),
            item(
                "P",
                json!({"postback": {"title": "Menu", "payload": "MENU"}}),
            ),
            item(
                "P",
                json!({"delivery": {"mids": ["m_a", "m_b"], "watermark": 42}}),
            ),
            item("P", json!({"read": {"watermark": 43}})),
        ]));
        let InboundEvent::Postback(first) = &got[0] else {
            panic!()
        };
        assert_eq!(
            (
                first.id.as_str(),
                first.text.as_deref(),
                first.payload.as_deref()
            ),
            ("m_pb", Some("Start"), Some("GO"))
        );
        let InboundEvent::Postback(second) = &got[1] else {
            panic!()
        };
        assert_eq!(second.id, "postback:P:1700000000123");
        let InboundEvent::Delivery(delivery) = &got[2] else {
            panic!()
        };
        assert_eq!(delivery.id, "delivery:P:42");
        assert_eq!(delivery.message_ids, vec!["m_a", "m_b"]);
        assert_eq!(
            (delivery.watermark_ms, delivery.conversation.as_str()),
            (42, "PAGE:P")
        );
        let InboundEvent::Read(read) = &got[3] else {
            panic!()
        };
        assert_eq!((read.id.as_str(), read.watermark_ms), ("read:P:43", 43));
    }

    #[test]
    fn every_entry_counts_and_echoes_and_unknown_items_are_dropped() {
        let got = events(json!({"object": "page", "entry": [
            {"id": "PAGE", "messaging": [
                item("A", json!({"message": {"mid": "m_a", "text": "1"}})),
                item("PAGE", json!({"message": {"mid": "m_echo", "text": "x", "is_echo": true}})),
                item("A", json!({"reaction": {"reaction": "love", "mid": "m_a"}})),
                {"garbage": true},
            ]},
            {"id": "PAGE", "messaging": [item("B", json!({"message": {"mid": "m_b", "text": "2"}}))]},
            {"id": "PAGE"},
        ]}));
        let ids: Vec<&str> = got
            .iter()
            .map(|e| match e {
                InboundEvent::Message(m) => m.id.as_str(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(ids, vec!["m_a", "m_b"]);
    }
}
