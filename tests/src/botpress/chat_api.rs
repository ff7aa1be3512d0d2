//! The fake's Cloud Chat API: users, conversations and messages in memory, `x-user-key`
//! checked on every call but user creation, and a bot that answers asynchronously.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{BOT_USER, BotpressRequest, CHAT_REPLY_DELAY, ChatMessage, FakeState, Shared, error};

/// Serves one Chat API request; `rest` is the path after the webhook id.
pub(super) fn chat(shared: &Shared, rest: &[&str], request: &BotpressRequest) -> Response {
    let mut state = shared.lock().unwrap();
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    match (request.method.as_str(), rest) {
        ("GET", ["hello"]) => axum::Json(json!({})).into_response(),
        ("POST", ["users"]) => {
            if state.config.encryption_key.is_some() {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "This integration has an encryption key: sign the user key and call get-or-create",
                );
            }
            let id = state.id("user");
            let key = format!("key_{id}_{}", state.next_id * 7919);
            state.users.insert(id.clone(), Some(key.clone()));
            state.user_order.push(id.clone());
            axum::Json(json!({ "user": user_json(&id, &body), "key": key })).into_response()
        }
        ("POST", ["users", "get-or-create"]) => {
            let id = match (&state.config.encryption_key, request.header("x-user-key")) {
                (Some(secret), Some(token)) => super::verified_user_id(token, secret),
                (None, Some(key)) => user_with_key(&state, key),
                (_, None) => None,
            };
            let Some(id) = id else {
                return error(StatusCode::UNAUTHORIZED, "Invalid x-user-key");
            };
            if !state.users.contains_key(&id) {
                state.users.insert(id.clone(), None);
                state.user_order.push(id.clone());
            }
            axum::Json(json!({ "user": user_json(&id, &body) })).into_response()
        }
        ("POST", ["conversations"]) => {
            let user = match authenticate(&state, request) {
                Ok(user) => user,
                Err(refusal) => return refuse(refusal),
            };
            let id = state.id("conv");
            state.conversations.insert(id.clone(), user);
            let now = now();
            axum::Json(json!({ "conversation": { "id": id, "createdAt": now, "updatedAt": now } }))
                .into_response()
        }
        ("POST", ["messages"]) => {
            let user = match authenticate(&state, request) {
                Ok(user) => user,
                Err(refusal) => return refuse(refusal),
            };
            let conversation = body["conversationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if let Err(refusal) = owned(&state, &conversation, &user) {
                return refuse(refusal);
            }
            if !body["payload"].is_object() {
                return error(StatusCode::BAD_REQUEST, "payload is required");
            }
            let message = ChatMessage {
                id: state.id("msg"),
                conversation_id: conversation.clone(),
                user_id: user,
                created_at: now(),
                payload: body["payload"].clone(),
            };
            state.messages.push(message.clone());
            let replies = script(&message.payload);
            let shared = shared.clone();
            tokio::spawn(async move { answer(shared, conversation, replies).await });
            axum::Json(json!({ "message": message_json(&message) })).into_response()
        }
        ("GET", ["conversations", conversation, "messages"]) => {
            let user = match authenticate(&state, request) {
                Ok(user) => user,
                Err(refusal) => return refuse(refusal),
            };
            if let Err(refusal) = owned(&state, conversation, &user) {
                return refuse(refusal);
            }
            // Newest first, as the Chat API lists them.
            let messages: Vec<Value> = state
                .messages
                .iter()
                .rev()
                .filter(|m| m.conversation_id == *conversation)
                .map(message_json)
                .collect();
            axum::Json(json!({ "messages": messages, "meta": {} })).into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "No such route"),
    }
}

/// What the bot says to a user's payload.
fn script(payload: &Value) -> Vec<Value> {
    let text = payload["text"].as_str().unwrap_or_default();
    match (payload["type"].as_str(), payload["value"].as_str(), text) {
        (Some("text"), Some(value), _) => {
            vec![json!({"type": "text", "text": format!("You chose {value}")})]
        }
        (Some("text"), None, "menu") => vec![
            json!({"type": "text", "text": "Here is the menu"}),
            json!({"type": "choice", "text": "What would you like?", "options": [
                {"label": "Pizza", "value": "PIZZA"}, {"label": "Salad", "value": "SALAD"}
            ]}),
        ],
        (Some("text"), None, "picture") => {
            vec![json!({"type": "image", "imageUrl": "https://files.bpcontent.cloud/fake/cat.png"})]
        }
        (Some("image"), _, _) => vec![json!({
            "type": "text",
            "text": format!("Nice picture: {}", payload["imageUrl"].as_str().unwrap_or_default()),
        })],
        (_, _, text) => vec![json!({"type": "text", "text": format!("You said: {text}")})],
    }
}

/// Posts the bot's replies into the conversation, a little later and one by one.
async fn answer(shared: Shared, conversation: String, replies: Vec<Value>) {
    for payload in replies {
        tokio::time::sleep(CHAT_REPLY_DELAY).await;
        let mut state = shared.lock().unwrap();
        if !state.conversations.contains_key(&conversation) {
            return;
        }
        let id = state.id("msg");
        state.messages.push(ChatMessage {
            id,
            conversation_id: conversation.clone(),
            user_id: BOT_USER.into(),
            created_at: now(),
            payload,
        });
    }
}

/// Why the fake refuses a request: the status and the message it answers with.
type Refusal = (StatusCode, &'static str);

fn refuse((status, message): Refusal) -> Response {
    error(status, message)
}

fn authenticate(state: &FakeState, request: &BotpressRequest) -> Result<String, Refusal> {
    let key = request
        .header("x-user-key")
        .ok_or((StatusCode::UNAUTHORIZED, "x-user-key is required"))?;
    let id = match &state.config.encryption_key {
        Some(secret) => super::verified_user_id(key, secret),
        None => user_with_key(state, key),
    };
    let id = id.ok_or((StatusCode::UNAUTHORIZED, "Invalid x-user-key"))?;
    if state.users.contains_key(&id) {
        Ok(id)
    } else {
        Err((StatusCode::NOT_FOUND, "User not found"))
    }
}

fn owned(state: &FakeState, conversation: &str, user: &str) -> Result<(), Refusal> {
    match state.conversations.get(conversation) {
        None => Err((StatusCode::NOT_FOUND, "Conversation not found")),
        Some(owner) if owner != user => Err((
            StatusCode::FORBIDDEN,
            "The user is not a participant of the conversation",
        )),
        Some(_) => Ok(()),
    }
}

fn user_with_key(state: &FakeState, key: &str) -> Option<String> {
    state
        .users
        .iter()
        .find(|(_, issued)| issued.as_deref() == Some(key))
        .map(|(id, _)| id.clone())
}

fn user_json(id: &str, body: &Value) -> Value {
    let now = now();
    json!({
        "id": id, "name": body["name"], "pictureUrl": body["pictureUrl"],
        "createdAt": now, "updatedAt": now,
    })
}

fn message_json(message: &ChatMessage) -> Value {
    json!({
        "id": message.id, "createdAt": message.created_at, "conversationId": message.conversation_id,
        "userId": message.user_id, "payload": message.payload,
    })
}

/// Now as JavaScript's `toISOString` writes it: UTC, milliseconds, `Z`.
fn now() -> String {
    let now = OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}
