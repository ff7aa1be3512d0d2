//! The bot's replies, from either API, turned into outbound messages.
//!
//! The v12 Converse API answers `responses[]` items such as `{"type":"text","text"}`,
//! `{"type":"single-choice","text","choices":[{"title","value"}]}` and
//! `{"type":"image","image","title"}`; the Chat API's messages carry payloads such as
//! `{"type":"text","text"}`, `{"type":"choice","text","options":[{"label","value"}]}` and
//! `{"type":"image","imageUrl"}`. Both are read into [`Reply`], then
//! [`Reply::into_outbound`] addresses it to the person who wrote. Types the spoke does not
//! know (and `typing` indicators) are listed in [`Parsed::skipped`] for the caller to log,
//! never an error.

use nave_sdk::prelude::*;
use serde_json::{Value, json};

/// One thing the bot said, whichever API it came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// Plain or markdown text.
    Text(String),
    /// A question with buttons or quick replies.
    Choice {
        /// The question, when there is one.
        text: Option<String>,
        /// The options: label and the value sent back.
        choices: Vec<Choice>,
    },
    /// An image, file, audio or video by URL.
    Media {
        /// The attachment kind: `image`, `file`, `audio` or `video`.
        kind: &'static str,
        /// Where it is.
        url: String,
        /// Its caption, sent as the text.
        title: Option<String>,
    },
    /// A location, passed on as the attachment's JSON payload.
    Location(Value),
    /// A card: title, subtitle, image and buttons.
    Card {
        /// The title and subtitle, one per line, and the URL buttons as `label: url`.
        text: String,
        /// The card's image.
        image: Option<String>,
        /// Its postback and "say" buttons.
        choices: Vec<Choice>,
    },
}

/// What a list of bot messages turned into.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed {
    /// The replies, in order.
    pub replies: Vec<Reply>,
    /// The types that became nothing, for the log.
    pub skipped: Vec<String>,
}

impl Parsed {
    fn skip(&mut self, kind: &str) {
        self.skipped.push(kind.to_owned());
    }
}

impl Reply {
    /// The reply as a message to the sender of `message`, in the same conversation.
    pub fn into_outbound(self, message: &Message) -> OutboundMessage {
        let mut out = OutboundMessage {
            conversation: message.conversation.clone(),
            recipient: message.sender.clone(),
            text: None,
            attachments: Vec::new(),
            choices: Vec::new(),
            reason: SendReason::Response,
            metadata: Vec::new(),
        };
        match self {
            Reply::Text(text) => out.text = Some(text),
            Reply::Choice { text, choices } => {
                out.text = text;
                out.choices = choices;
            }
            Reply::Media { kind, url, title } => {
                out.text = title;
                out.attachments.push(attachment(kind, Some(url), None));
            }
            Reply::Location(payload) => {
                out.attachments
                    .push(attachment("location", None, Some(payload.to_string())));
            }
            Reply::Card {
                text,
                image,
                choices,
            } => {
                out.text = Some(text).filter(|t| !t.is_empty());
                out.attachments
                    .extend(image.map(|url| attachment("image", Some(url), None)));
                out.choices = choices;
            }
        }
        out
    }
}

fn attachment(kind: &str, url: Option<String>, payload: Option<String>) -> Attachment {
    Attachment {
        kind: kind.into(),
        url,
        mime_type: None,
        payload,
    }
}

/// Reads the v12 Converse API's `responses[]`; relative media URLs are made absolute
/// against `base_url`, the server that serves them.
pub fn from_converse(responses: &[Value], base_url: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for response in responses {
        let kind = str_of(response, "type").unwrap_or("(none)");
        let reply = match kind {
            "text" => str_of(response, "text").map(|t| Reply::Text(t.to_owned())),
            "single-choice" => Some(Reply::Choice {
                text: str_of(response, "text").map(str::to_owned),
                choices: choices(response.get("choices"), "title", "value"),
            }),
            "dropdown" => Some(Reply::Choice {
                text: str_of(response, "message")
                    .or_else(|| str_of(response, "text"))
                    .map(str::to_owned),
                choices: choices(response.get("options"), "label", "value"),
            }),
            "image" | "file" | "audio" | "video" => {
                let field = if kind == "image" { "image" } else { kind };
                str_of(response, field).map(|url| Reply::Media {
                    kind: media_kind(kind),
                    url: absolute(url, base_url),
                    title: str_of(response, "title").map(str::to_owned),
                })
            }
            "card" => Some(converse_card(response, base_url)),
            "carousel" => {
                let items = response.get("items").and_then(Value::as_array);
                for item in items.into_iter().flatten() {
                    parsed.replies.push(converse_card(item, base_url));
                }
                continue;
            }
            _ => None,
        };
        match reply {
            Some(reply) => parsed.replies.push(reply),
            None => parsed.skip(kind),
        }
    }
    parsed
}

/// A v12 card: actions are `Postback` (payload), `Say something` (text) or `Open URL` (url).
fn converse_card(card: &Value, base_url: &str) -> Reply {
    let mut text = lines(&[str_of(card, "title"), str_of(card, "subtitle")]);
    let mut buttons = Vec::new();
    for action in card
        .get("actions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let title = str_of(action, "title").unwrap_or_default();
        match str_of(action, "action") {
            Some("Open URL") => push_link(&mut text, title, str_of(action, "url")),
            Some("Say something") => push_choice(&mut buttons, title, str_of(action, "text")),
            _ => push_choice(&mut buttons, title, str_of(action, "payload")),
        }
    }
    Reply::Card {
        text,
        image: str_of(card, "image").map(|url| absolute(url, base_url)),
        choices: buttons,
    }
}

/// Reads Chat API message payloads, in the order the bot sent them.
pub fn from_chat(payloads: &[Value]) -> Parsed {
    let mut parsed = Parsed::default();
    for payload in payloads {
        chat_payload(payload, &mut parsed);
    }
    parsed
}

fn chat_payload(payload: &Value, parsed: &mut Parsed) {
    let kind = str_of(payload, "type").unwrap_or("(none)");
    let reply = match kind {
        "text" => str_of(payload, "text").map(|t| Reply::Text(t.to_owned())),
        "markdown" => str_of(payload, "markdown").map(|t| Reply::Text(t.to_owned())),
        "choice" | "dropdown" => Some(Reply::Choice {
            text: str_of(payload, "text").map(str::to_owned),
            choices: choices(payload.get("options"), "label", "value"),
        }),
        "image" | "file" | "audio" | "video" => {
            str_of(payload, &format!("{kind}Url")).map(|url| Reply::Media {
                kind: media_kind(kind),
                url: url.to_owned(),
                title: str_of(payload, "title").map(str::to_owned),
            })
        }
        "location" => Some(Reply::Location(json!({
            "latitude": payload.get("latitude"),
            "longitude": payload.get("longitude"),
            "address": payload.get("address"),
            "title": payload.get("title"),
        }))),
        "card" => Some(chat_card(payload)),
        "carousel" => {
            let items = payload.get("items").and_then(Value::as_array);
            for item in items.into_iter().flatten() {
                parsed.replies.push(chat_card(item));
            }
            return;
        }
        "bloc" => {
            let items = payload.get("items").and_then(Value::as_array);
            for item in items.into_iter().flatten() {
                // A bloc's items are `{type, payload}` pairs.
                let mut inner = item.get("payload").cloned().unwrap_or(Value::Null);
                if let (Some(object), Some(kind)) = (inner.as_object_mut(), item.get("type")) {
                    object.entry("type").or_insert_with(|| kind.clone());
                }
                chat_payload(&inner, parsed);
            }
            return;
        }
        _ => None,
    };
    match reply {
        Some(reply) => parsed.replies.push(reply),
        None => parsed.skip(kind),
    }
}

/// A Chat API card: actions are `postback`, `say` or `url`, each with `label` and `value`.
fn chat_card(card: &Value) -> Reply {
    let mut text = lines(&[str_of(card, "title"), str_of(card, "subtitle")]);
    let mut buttons = Vec::new();
    for action in card
        .get("actions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let label = str_of(action, "label").unwrap_or_default();
        let value = str_of(action, "value");
        match str_of(action, "action") {
            Some("url") => push_link(&mut text, label, value),
            _ => push_choice(&mut buttons, label, value),
        }
    }
    Reply::Card {
        text,
        image: str_of(card, "imageUrl").map(str::to_owned),
        choices: buttons,
    }
}

fn choices(list: Option<&Value>, title: &str, value: &str) -> Vec<Choice> {
    let mut out = Vec::new();
    for item in list.and_then(Value::as_array).into_iter().flatten() {
        push_choice(
            &mut out,
            str_of(item, title).unwrap_or_default(),
            str_of(item, value),
        );
    }
    out
}

/// Adds a choice; one without a value sends its label back, one without either is dropped.
fn push_choice(out: &mut Vec<Choice>, title: &str, payload: Option<&str>) {
    let payload = payload.filter(|p| !p.is_empty()).unwrap_or(title);
    if !payload.is_empty() {
        let title = if title.is_empty() { payload } else { title };
        out.push(Choice {
            title: title.to_owned(),
            payload: payload.to_owned(),
        });
    }
}

fn push_link(text: &mut String, label: &str, url: Option<&str>) {
    if let Some(url) = url {
        if !text.is_empty() {
            text.push('\n');
        }
        if label.is_empty() {
            text.push_str(url);
        } else {
            text.push_str(&format!("{label}: {url}"));
        }
    }
}

fn lines(parts: &[Option<&str>]) -> String {
    parts
        .iter()
        .flatten()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

fn media_kind(kind: &str) -> &'static str {
    match kind {
        "image" => "image",
        "audio" => "audio",
        "video" => "video",
        _ => "file",
    }
}

/// A v12 server may answer media as a path on itself (`/api/v1/bots/b/media/x.png`).
fn absolute(url: &str, base_url: &str) -> String {
    if url.starts_with('/') {
        format!("{}{url}", base_url.trim_end_matches('/'))
    } else {
        url.to_owned()
    }
}

fn str_of<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    value.get(field).and_then(Value::as_str)
}

#[cfg(test)]
#[path = "replies_tests.rs"]
mod tests;
