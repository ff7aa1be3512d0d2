//! Botpress Cloud's Chat API, under `{base_url}/{webhookId}`.
//!
//! A contact gets a Chat user and one conversation, kept in kv. Without an encryption
//! key, `POST /users` creates the user and answers its key; with one, the spoke signs
//! the key itself (see [`crate::jwt`]) and `POST /users/get-or-create` makes sure the
//! user exists. Every call but user creation carries the key in `x-user-key`.
//!
//! The bot answers asynchronously: the spoke posts the person's message with
//! `POST /messages`, then polls `GET /conversations/{id}/messages` for messages from
//! another user created since, until the bot has been quiet for [`QUIET`] after
//! answering or `reply_timeout_ms` has passed. A conversation or user Botpress no longer
//! knows (404) is created again, once.

use std::time::{Duration, Instant};

use nave_sdk::http::{Request, Response, encode};
use nave_sdk::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::replies::{self, Parsed};
use crate::users::{self, BotpressUser};
use crate::{errors, jwt, log_skipped};

/// How long the bot must stay quiet after its last reply for the spoke to stop waiting.
pub const QUIET: Duration = Duration::from_millis(400);
/// The pause between two reads of the conversation.
pub const POLL: Duration = Duration::from_millis(100);

/// One Chat API installation: where it is and how users authenticate.
pub struct ChatApi<'a> {
    /// `{base_url}/{webhookId}`, without a trailing `/`.
    pub root: String,
    /// The webhook id, which scopes the stored users.
    pub webhook_id: &'a str,
    /// The encryption key, when the spoke signs user keys.
    pub encryption_key: Option<&'a str>,
    /// How long to wait for the bot's replies.
    pub reply_timeout: Duration,
}

/// A Chat API message, as listed and as created.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    /// Its id.
    pub id: String,
    /// When it was created, ISO 8601 in UTC (which sorts as text).
    pub created_at: String,
    /// Who wrote it: our user, or the bot.
    pub user_id: String,
    /// What it says.
    #[serde(default)]
    pub payload: Value,
}

impl<'a> ChatApi<'a> {
    /// The API at `base_url` for `webhook_id`.
    pub fn new(
        base_url: &str,
        webhook_id: &'a str,
        encryption_key: Option<&'a str>,
        reply_timeout_ms: u64,
    ) -> Self {
        ChatApi {
            root: format!("{}/{}", base_url.trim_end_matches('/'), encode(webhook_id)),
            webhook_id,
            encryption_key,
            reply_timeout: Duration::from_millis(reply_timeout_ms),
        }
    }

    /// Answers `message`: sends it as the contact's user and reads the bot's replies.
    pub fn converse(&self, message: &Message) -> Result<Vec<OutboundMessage>, SpokeError> {
        let payloads = user_payloads(message)?;
        let contact = users::contact_of(message)?;
        let key = users::kv_key("chat", self.webhook_id, &contact);
        let (mut user, fresh) = match users::load(&key)? {
            Some(user) => (user, false),
            None => (self.open_session(&contact, message, &key)?, true),
        };
        let first = match self.send_all(&user, &contact, &payloads) {
            Err(SpokeError::NotFound(why)) if !fresh => {
                nave_sdk::warn!(
                    "Botpress no longer knows the stored user or conversation ({why}); creating them again"
                );
                users::forget(&key)?;
                user = self.open_session(&contact, message, &key)?;
                self.send_all(&user, &contact, &payloads)?
            }
            other => other?,
        };
        let replies = self.wait_for_replies(&user, &contact, &first)?;
        if replies.is_empty() {
            nave_sdk::warn!(
                "the bot did not answer within {} ms",
                self.reply_timeout.as_millis()
            );
        }
        let payloads: Vec<Value> = replies.into_iter().map(|m| m.payload).collect();
        let Parsed { replies, skipped } = replies::from_chat(&payloads);
        log_skipped(&skipped);
        Ok(replies
            .into_iter()
            .map(|reply| reply.into_outbound(message))
            .collect())
    }

    /// Creates (or finds) the contact's user and a conversation, and stores them.
    fn open_session(
        &self,
        contact: &str,
        message: &Message,
        key: &str,
    ) -> Result<BotpressUser, SpokeError> {
        let profile = profile(message);
        let (user_id, stored_key) = match self.encryption_key {
            Some(secret) => {
                let user_key = jwt::user_key(contact, secret);
                let answer = self.call(
                    "POST",
                    "/users/get-or-create",
                    Some(&user_key),
                    Some(profile),
                    "user",
                )?;
                (user_id_of(&answer)?, None)
            }
            None => {
                let answer = self.call("POST", "/users", None, Some(profile), "user")?;
                let user_key = answer["key"]
                    .as_str()
                    .ok_or_else(|| missing("key", &answer))?;
                (user_id_of(&answer)?, Some(user_key.to_owned()))
            }
        };
        let mut user = BotpressUser {
            user_id,
            user_key: stored_key,
            conversation_id: None,
        };
        let user_key = self.user_key(&user, contact);
        let answer = self.call(
            "POST",
            "/conversations",
            Some(&user_key),
            Some(json!({})),
            "conversation",
        )?;
        let conversation = answer["conversation"]["id"]
            .as_str()
            .ok_or_else(|| missing("conversation.id", &answer))?;
        user.conversation_id = Some(conversation.to_owned());
        users::save(key, &user)?;
        Ok(user)
    }

    /// The key `user` authenticates with: the stored one, or one signed for `contact`.
    fn user_key(&self, user: &BotpressUser, contact: &str) -> String {
        match (self.encryption_key, &user.user_key) {
            (Some(secret), _) => jwt::user_key(contact, secret),
            (None, Some(stored)) => stored.clone(),
            (None, None) => String::new(),
        }
    }

    /// Posts each payload in order; returns the first message created.
    fn send_all(
        &self,
        user: &BotpressUser,
        contact: &str,
        payloads: &[Value],
    ) -> Result<ChatMessage, SpokeError> {
        let conversation = conversation_of(user)?;
        let user_key = self.user_key(user, contact);
        let mut first = None;
        for payload in payloads {
            let body = json!({ "conversationId": conversation, "payload": payload });
            let answer = self.call(
                "POST",
                "/messages",
                Some(&user_key),
                Some(body),
                "conversation",
            )?;
            let created: ChatMessage = serde_json::from_value(answer["message"].clone())
                .map_err(|_| missing("message", &answer))?;
            first.get_or_insert(created);
        }
        first.ok_or_else(|| SpokeError::internal("no payload to send"))
    }

    /// Reads the conversation until the bot has answered and gone quiet, or time is up.
    fn wait_for_replies(
        &self,
        user: &BotpressUser,
        contact: &str,
        sent: &ChatMessage,
    ) -> Result<Vec<ChatMessage>, SpokeError> {
        let conversation = conversation_of(user)?;
        let user_key = self.user_key(user, contact);
        let path = format!("/conversations/{}/messages", encode(conversation));
        let started = Instant::now();
        let mut replies = Vec::new();
        let mut last_new = started;
        loop {
            let answer = self.call("GET", &path, Some(&user_key), None, "conversation")?;
            let listed: Vec<ChatMessage> = serde_json::from_value(answer["messages"].clone())
                .map_err(|_| missing("messages", &answer))?;
            let now = Instant::now();
            let latest = bot_replies(listed, &user.user_id, &sent.created_at);
            if latest.len() > replies.len() {
                replies = latest;
                last_new = now;
            }
            let quiet = !replies.is_empty() && now.duration_since(last_new) >= QUIET;
            if quiet || now.duration_since(started) >= self.reply_timeout {
                return Ok(replies);
            }
            std::thread::sleep(POLL);
        }
    }

    /// One call; a non-2xx answer becomes an error naming `missing` for a 404.
    fn call(
        &self,
        method: &str,
        path: &str,
        user_key: Option<&str>,
        body: Option<Value>,
        missing: &str,
    ) -> Result<Value, SpokeError> {
        let mut request = Request::new(method, format!("{}{path}", self.root));
        if let Some(key) = user_key {
            request = request.header("x-user-key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Response = request.send()?;
        if !response.is_success() {
            let credentials = if self.encryption_key.is_some() {
                "the setting `encryption_key` (it must be the Chat integration's encryption key)"
            } else {
                "the Chat integration: it has an encryption key, so set the setting `encryption_key`"
            };
            let what = format!(
                "{missing} for {method} {path} under webhook `{}`; check the setting `webhook_id`",
                self.webhook_id
            );
            return Err(errors::status_error(
                response.status,
                &response.body,
                credentials,
                &what,
            ));
        }
        errors::decode(&response, &format!("{method} {path}"))
    }
}

/// The messages of `listed` written by someone other than `ours` since `since`, oldest
/// first (the API lists newest first).
pub fn bot_replies(mut listed: Vec<ChatMessage>, ours: &str, since: &str) -> Vec<ChatMessage> {
    listed.retain(|m| m.user_id != ours && m.created_at.as_str() >= since);
    listed.reverse();
    // Stable: messages created in the same millisecond keep the order they were listed in.
    listed.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    listed
}

/// The Chat API payloads for `message`, in the order to post them.
///
/// A tapped quick reply or postback is a text with its `value`; image, audio, video and
/// file attachments are media messages by URL; other attachments with a URL are texts.
pub fn user_payloads(message: &Message) -> Result<Vec<Value>, SpokeError> {
    let text = message.text.as_deref().filter(|t| !t.trim().is_empty());
    let mut payloads = Vec::new();
    match message.payload.as_deref().filter(|p| !p.is_empty()) {
        Some(value) => {
            payloads.push(json!({ "type": "text", "text": text.unwrap_or(value), "value": value }))
        }
        None => payloads.extend(text.map(|text| json!({ "type": "text", "text": text }))),
    }
    for attachment in &message.attachments {
        let Some(url) = attachment.url.as_deref() else {
            continue;
        };
        payloads.push(match attachment.kind.as_str() {
            kind @ ("image" | "audio" | "video" | "file") => {
                json!({ "type": kind, format!("{kind}Url"): url })
            }
            _ => json!({ "type": "text", "text": url }),
        });
    }
    if payloads.is_empty() {
        return Err(SpokeError::invalid_input(
            "the message has no text, no payload and no attachment with a URL: there is nothing to send to the bot",
        ));
    }
    Ok(payloads)
}

/// The user's name and picture, when the channel knows them.
fn profile(message: &Message) -> Value {
    let mut body = json!({});
    if let Some(profile) = &message.sender_profile {
        let name = [profile.first_name.as_deref(), profile.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !name.is_empty() {
            body["name"] = name.into();
        }
        if let Some(picture) = &profile.picture_url {
            body["pictureUrl"] = picture.as_str().into();
        }
    }
    body
}

fn user_id_of(answer: &Value) -> Result<String, SpokeError> {
    answer["user"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| missing("user.id", answer))
}

fn conversation_of(user: &BotpressUser) -> Result<&str, SpokeError> {
    user.conversation_id
        .as_deref()
        .ok_or_else(|| SpokeError::not_found("the stored Botpress user has no conversation"))
}

fn missing(field: &str, answer: &Value) -> SpokeError {
    let text: String = answer.to_string().chars().take(200).collect();
    SpokeError::upstream(
        Some(200),
        None,
        format!("Botpress's answer has no `{field}`: {text}"),
        false,
    )
}

#[cfg(test)]
#[path = "chat_tests.rs"]
mod tests;
