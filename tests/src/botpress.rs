//! A loopback fake of Botpress speaking both APIs the Botpress spoke talks, and helpers
//! to install the spoke against it and call its `converse`.
//!
//! - The v12 **Converse API** (`POST /api/v1/bots/{bot}/converse/{user}[/secured]`)
//!   answers from a small script: `menu` → a single-choice, `picture` → an image (as a
//!   path on the server, like v12 media), a quick reply → `You chose {payload}`, anything
//!   else → `You said: {text}`. The `/secured` route checks `Authorization: Bearer` when
//!   the fake has a token.
//! - The Cloud **Chat API** (`/{webhook}/users`, `/users/get-or-create`, `/conversations`,
//!   `/messages`, `/conversations/{id}/messages`) keeps users, conversations and messages
//!   in memory and checks `x-user-key`: a key it issued, or, when it has an encryption
//!   key, an HS256 JWT `{id}` signed with it. The bot posts its replies into the
//!   conversation shortly after the user's message, asynchronously, like the real one.
//!
//! Every request is recorded with its headers. [`FakeBotpress::set_down`] makes it
//! answer 503 to everything until set up again.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use nave::runtime::CallError;
use nave::runtime::bindings::types::{Message, OutboundMessage};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::{TestHost, spoke};

/// The Chat user id the fake's bot writes as.
pub const BOT_USER: &str = "bot_fake";
/// How long the fake's bot takes to answer on the Chat API.
pub const CHAT_REPLY_DELAY: Duration = Duration::from_millis(60);

/// What the fake accepts; [`Default`] gives bot `welcome-bot`, webhook `wh-test`, no secrets.
#[derive(Clone, Debug)]
pub struct FakeBotpressConfig {
    /// The one v12 bot the server has.
    pub bot_id: String,
    /// The token the `/secured` converse route requires, when set.
    pub auth_token: Option<String>,
    /// The Chat integration's webhook id.
    pub webhook_id: String,
    /// The Chat integration's encryption key, when set: user keys are JWTs signed with it.
    pub encryption_key: Option<String>,
}

impl Default for FakeBotpressConfig {
    fn default() -> Self {
        FakeBotpressConfig {
            bot_id: "welcome-bot".into(),
            auth_token: None,
            webhook_id: "wh-test".into(),
            encryption_key: None,
        }
    }
}

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct BotpressRequest {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The headers, names lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl BotpressRequest {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// A Chat API message kept by the fake.
#[derive(Clone, Debug)]
pub struct ChatMessage {
    /// Its id.
    pub id: String,
    /// Its conversation.
    pub conversation_id: String,
    /// Who wrote it.
    pub user_id: String,
    /// ISO 8601 with milliseconds, as Botpress writes it.
    pub created_at: String,
    /// What it says.
    pub payload: Value,
}

#[derive(Default)]
struct FakeState {
    config: FakeBotpressConfig,
    received: Vec<BotpressRequest>,
    down: bool,
    next_id: u64,
    /// Chat user id → the key the fake issued (none for JWT-authenticated users).
    users: HashMap<String, Option<String>>,
    /// Chat user ids in creation order.
    user_order: Vec<String>,
    /// Conversation id → its owner.
    conversations: HashMap<String, String>,
    messages: Vec<ChatMessage>,
}

impl FakeState {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_{:04}", self.next_id)
    }
}

type Shared = Arc<Mutex<FakeState>>;

/// A loopback fake of Botpress (v12 Converse API and Cloud Chat API).
#[derive(Clone)]
pub struct FakeBotpress {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT`, for granting.
    pub addr: SocketAddr,
    state: Shared,
}

impl FakeBotpress {
    /// Starts the fake with the default configuration.
    pub async fn start() -> FakeBotpress {
        FakeBotpress::start_with(FakeBotpressConfig::default()).await
    }

    /// Starts the fake on a free loopback port; it stops with the test's runtime.
    pub async fn start_with(config: FakeBotpressConfig) -> FakeBotpress {
        let state = Arc::new(Mutex::new(FakeState {
            config,
            ..FakeState::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new().fallback(handle).with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeBotpress {
            url: format!("http://{addr}"),
            addr,
            state,
        }
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<BotpressRequest> {
        self.state.lock().unwrap().received.clone()
    }

    /// Requests received with `method` on `path`.
    pub fn received_on(&self, method: &str, path: &str) -> Vec<BotpressRequest> {
        self.received()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }

    /// Makes every request answer 503 (`true`) or be served again (`false`).
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    /// The Chat users created so far, in order.
    pub fn chat_users(&self) -> Vec<String> {
        self.state.lock().unwrap().user_order.clone()
    }

    /// The Chat conversations, as (id, owner).
    pub fn conversations(&self) -> Vec<(String, String)> {
        let state = self.state.lock().unwrap();
        let mut all: Vec<_> = state
            .conversations
            .iter()
            .map(|(id, owner)| (id.clone(), owner.clone()))
            .collect();
        all.sort();
        all
    }

    /// The messages of one Chat conversation, oldest first.
    pub fn messages(&self, conversation_id: &str) -> Vec<ChatMessage> {
        let state = self.state.lock().unwrap();
        state
            .messages
            .iter()
            .filter(|m| m.conversation_id == conversation_id)
            .cloned()
            .collect()
    }

    /// Forgets every Chat conversation and message, as when they expire on Botpress.
    pub fn forget_conversations(&self) {
        let mut state = self.state.lock().unwrap();
        state.conversations.clear();
        state.messages.clear();
    }
}

async fn handle(State(state): State<Shared>, request: Request) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = crate::kept_body(request).await;
    let recorded = BotpressRequest {
        method,
        path,
        headers,
        body,
    };
    let mut guard = state.lock().unwrap();
    guard.received.push(recorded.clone());
    if guard.down {
        return error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    }
    let segments: Vec<&str> = recorded.path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "v1", "bots", bot, "converse", user, rest @ ..] if recorded.method == "POST" => {
            converse_api(&guard.config, bot, user, rest == ["secured"], &recorded)
        }
        [webhook, rest @ ..] if *webhook == guard.config.webhook_id => {
            drop(guard);
            chat(&state, rest, &recorded)
        }
        [_, ..] => error(StatusCode::NOT_FOUND, "Webhook not found"),
        [] => error(StatusCode::NOT_FOUND, "Not found"),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    let body =
        json!({ "id": "err_fake", "code": status.as_u16(), "type": "Error", "message": message });
    (status, axum::Json(body)).into_response()
}

/// The v12 Converse API's script.
fn converse_api(
    config: &FakeBotpressConfig,
    bot: &str,
    _user: &str,
    secured: bool,
    request: &BotpressRequest,
) -> Response {
    if secured {
        let expected = config.auth_token.as_deref().map(|t| format!("Bearer {t}"));
        if expected.is_none() || request.header("authorization") != expected.as_deref() {
            return error(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
    }
    if bot != config.bot_id {
        return error(StatusCode::NOT_FOUND, &format!("Bot \"{bot}\" not found"));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid payload");
    };
    let text = body["text"].as_str().unwrap_or_default();
    let typing = json!({"type": "typing", "value": true});
    let responses = match (body["type"].as_str(), text) {
        (Some("quick_reply"), _) => vec![json!({
            "type": "text", "markdown": true,
            "text": format!("You chose {}", body["payload"].as_str().unwrap_or_default()),
        })],
        (Some("text"), "menu") => vec![
            typing,
            json!({"type": "single-choice", "text": "What would you like?", "choices": [
                {"title": "Pizza", "value": "PIZZA"}, {"title": "Salad", "value": "SALAD"}
            ]}),
        ],
        (Some("text"), "picture") => vec![json!({
            "type": "image", "title": "A cat",
            "image": format!("/api/v1/bots/{bot}/media/cat.png"),
        })],
        (Some("text"), text) => vec![
            typing,
            json!({"type": "text", "markdown": true, "text": format!("You said: {text}")}),
        ],
        _ => return error(StatusCode::BAD_REQUEST, "Invalid payload"),
    };
    axum::Json(json!({ "responses": responses })).into_response()
}

mod chat_api;
use chat_api::chat;

/// Installs the Botpress spoke for `tenant` against `fake`, with `settings` added to the
/// base URL and a 10 s call deadline (the Chat API waits for replies within the call).
pub async fn install_botpress(
    host: &TestHost,
    fake: &FakeBotpress,
    tenant: &str,
    settings: Value,
) -> String {
    let mut all = json!({ "base_url": fake.url });
    for (key, value) in settings.as_object().expect("settings object") {
        all[key] = value.clone();
    }
    host.upload_and_install(
        spoke("plugins/botpress"),
        tenant,
        json!({
            "settings": all,
            "allowed_hosts": [fake.addr.to_string()],
            "deadline_ms": 10_000,
        }),
    )
    .await
}

/// A message from `sender`, with the hub's metadata (`nave.contact` when `contact` is given).
pub fn message(sender: &str, contact: Option<&str>, text: &str) -> Message {
    let mut metadata = vec![
        (
            "nave.tenant".to_owned(),
            "0193c1d2-0000-7000-8000-00000000aaaa".to_owned(),
        ),
        (
            "nave.conversation".to_owned(),
            "0193c1d2-0000-7000-8000-00000000cccc".to_owned(),
        ),
        (
            "nave.installation".to_owned(),
            "0193c1d2-0000-7000-8000-00000000eeee".to_owned(),
        ),
    ];
    if let Some(contact) = contact {
        metadata.push(("nave.contact".to_owned(), contact.to_owned()));
    }
    Message {
        platform: "facebook".into(),
        id: format!("m-{sender}-{text}"),
        conversation: format!("PAGE1:{sender}"),
        sender: sender.into(),
        recipient: "PAGE1".into(),
        text: Some(text.into()),
        attachments: vec![],
        payload: None,
        timestamp_ms: 1_700_000_000_000,
        sender_profile: None,
        metadata,
    }
}

/// Calls the installation's `converse` with `message`.
pub async fn converse(
    host: &TestHost,
    installation: &str,
    message: &Message,
) -> Result<Vec<OutboundMessage>, CallError> {
    let installation = host
        .app
        .registry
        .installation(installation.parse().expect("installation id"))
        .expect("installation");
    let ctx = installation.call_context(&format!("botpress-{}", message.id));
    host.app
        .runtime
        .converse(&installation.spoke, &ctx, message)
        .await
}

/// The claims of a Chat API user key signed with `key`, when its signature is valid.
pub fn verified_user_id(token: &str, key: &str) -> Option<String> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(key.as_bytes()),
        &validation,
    )
    .ok()
    .and_then(|data| data.claims["id"].as_str().map(str::to_owned))
}
