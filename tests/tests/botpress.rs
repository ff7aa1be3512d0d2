//! The Botpress spoke end to end, against the loopback fake of both APIs: what the
//! person would be sent, which Botpress users speak for which contacts, the signed user
//! keys, and what an outage or a wrong credential looks like.

use nave::runtime::CallError;
use nave::runtime::bindings::types::{Choice, Message, OutboundMessage, SendReason, SpokeError};
use nave_tests::TestHost;
use nave_tests::botpress::{
    FakeBotpress, FakeBotpressConfig, converse, install_botpress, message, verified_user_id,
};
use serde_json::{Value, json};

const CONTACT_A: &str = "0193c1d2-0000-7000-8000-0000000000a1";
const CONTACT_B: &str = "0193c1d2-0000-7000-8000-0000000000b2";

/// The choices of a reply as (title, payload): the host's binding types do not compare.
fn choices(reply: &OutboundMessage) -> Vec<(&str, &str)> {
    reply
        .choices
        .iter()
        .map(|Choice { title, payload }| (title.as_str(), payload.as_str()))
        .collect()
}

fn quick_reply(sender: &str, contact: &str, title: &str, payload: &str) -> Message {
    let mut tapped = message(sender, Some(contact), title);
    tapped.payload = Some(payload.into());
    tapped
}

async fn ok(host: &TestHost, id: &str, message: &Message) -> Vec<OutboundMessage> {
    converse(host, id, message)
        .await
        .unwrap_or_else(|e| panic!("converse {:?}: {e:?}", message.text))
}

async fn spoke_error(host: &TestHost, id: &str, message: &Message) -> SpokeError {
    match converse(host, id, message).await {
        Err(CallError::Spoke(error)) => error,
        other => panic!("expected a spoke error, got {other:?}"),
    }
}

fn texts(replies: &[OutboundMessage]) -> Vec<Option<&str>> {
    replies.iter().map(|r| r.text.as_deref()).collect()
}

fn assert_addressed_to(replies: &[OutboundMessage], sender: &str) {
    for reply in replies {
        assert_eq!(reply.recipient, sender);
        assert_eq!(reply.conversation, format!("PAGE1:{sender}"));
        assert!(matches!(reply.reason, SendReason::Response), "{reply:?}");
    }
}

fn assert_retryable_outage(error: SpokeError) {
    match error {
        SpokeError::Upstream(upstream) => {
            assert_eq!(upstream.status, Some(503), "{upstream:?}");
            assert!(upstream.retryable, "{upstream:?}");
        }
        other => panic!("expected a retryable upstream error, got {other:?}"),
    }
}

async fn converse_setup(
    config: FakeBotpressConfig,
    settings: Value,
) -> (TestHost, FakeBotpress, String) {
    let host = TestHost::start().await;
    let fake = FakeBotpress::start_with(config).await;
    let mut all = json!({"api": "converse", "bot_id": "welcome-bot"});
    for (key, value) in settings.as_object().unwrap() {
        all[key] = value.clone();
    }
    let id = install_botpress(&host, &fake, "acme", all).await;
    (host, fake, id)
}

async fn chat_setup(
    config: FakeBotpressConfig,
    settings: Value,
) -> (TestHost, FakeBotpress, String) {
    let host = TestHost::start().await;
    let fake = FakeBotpress::start_with(config).await;
    let mut all = json!({"api": "chat", "webhook_id": "wh-test", "reply_timeout_ms": "3000"});
    for (key, value) in settings.as_object().unwrap() {
        all[key] = value.clone();
    }
    let id = install_botpress(&host, &fake, "acme", all).await;
    (host, fake, id)
}

#[tokio::test]
async fn converse_api_answers_with_texts_choices_and_images_for_the_sender() {
    let (host, fake, id) = converse_setup(FakeBotpressConfig::default(), json!({})).await;

    let hello = ok(&host, &id, &message("psid-1", Some(CONTACT_A), "hello")).await;
    assert_eq!(
        texts(&hello),
        vec![Some("You said: hello")],
        "the typing indicator is skipped"
    );
    assert_addressed_to(&hello, "psid-1");

    let menu = ok(&host, &id, &message("psid-1", Some(CONTACT_A), "menu")).await;
    assert_eq!(texts(&menu), vec![Some("What would you like?")]);
    assert_eq!(
        choices(&menu[0]),
        vec![("Pizza", "PIZZA"), ("Salad", "SALAD")]
    );

    let picture = ok(&host, &id, &message("psid-1", Some(CONTACT_A), "picture")).await;
    assert_eq!(texts(&picture), vec![Some("A cat")]);
    assert_eq!(picture[0].attachments.len(), 1);
    assert_eq!(picture[0].attachments[0].kind, "image");
    assert_eq!(
        picture[0].attachments[0].url.as_deref(),
        Some(format!("{}/api/v1/bots/welcome-bot/media/cat.png", fake.url).as_str()),
        "a media path on the server becomes an absolute URL"
    );
    assert_addressed_to(&picture, "psid-1");

    let chosen = ok(
        &host,
        &id,
        &quick_reply("psid-1", CONTACT_A, "Pizza", "PIZZA"),
    )
    .await;
    assert_eq!(texts(&chosen), vec![Some("You chose PIZZA")]);

    let path = format!("/api/v1/bots/welcome-bot/converse/{CONTACT_A}");
    let bodies: Vec<Value> = fake
        .received_on("POST", &path)
        .iter()
        .map(|r| r.json())
        .collect();
    assert_eq!(
        bodies,
        vec![
            json!({"type": "text", "text": "hello"}),
            json!({"type": "text", "text": "menu"}),
            json!({"type": "text", "text": "picture"}),
            json!({"type": "quick_reply", "text": "Pizza", "payload": "PIZZA"}),
        ]
    );
}

#[tokio::test]
async fn converse_api_keeps_one_botpress_user_per_contact() {
    let (host, fake, id) = converse_setup(FakeBotpressConfig::default(), json!({})).await;
    ok(&host, &id, &message("psid-1", Some(CONTACT_A), "one")).await;
    ok(&host, &id, &message("psid-1", Some(CONTACT_A), "two")).await;
    ok(&host, &id, &message("psid-2", Some(CONTACT_B), "three")).await;
    ok(&host, &id, &message("psid-3", None, "four")).await;
    let users: Vec<String> = fake
        .received()
        .iter()
        .map(|r| r.path.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(users, vec![CONTACT_A, CONTACT_A, CONTACT_B, "psid-3"]);
}

#[tokio::test]
async fn converse_api_sends_the_token_to_the_secured_route() {
    let config = FakeBotpressConfig {
        auth_token: Some("right-token".into()),
        ..FakeBotpressConfig::default()
    };
    let (host, fake, id) = converse_setup(config, json!({"auth_token": "right-token"})).await;
    let replies = ok(&host, &id, &message("psid-1", Some(CONTACT_A), "hello")).await;
    assert_eq!(texts(&replies), vec![Some("You said: hello")]);
    let secured = fake.received_on(
        "POST",
        &format!("/api/v1/bots/welcome-bot/converse/{CONTACT_A}/secured"),
    );
    assert_eq!(secured.len(), 1);
    assert_eq!(
        secured[0].header("authorization"),
        Some("Bearer right-token")
    );
}

#[tokio::test]
async fn converse_api_with_a_wrong_token_is_unauthorized() {
    let config = FakeBotpressConfig {
        auth_token: Some("right-token".into()),
        ..FakeBotpressConfig::default()
    };
    let (host, _fake, id) = converse_setup(config, json!({"auth_token": "stale-token"})).await;
    match spoke_error(&host, &id, &message("psid-1", Some(CONTACT_A), "hello")).await {
        SpokeError::Unauthorized(message) => assert!(message.contains("auth_token"), "{message}"),
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn converse_api_with_an_unknown_bot_is_not_found() {
    let (host, _fake, id) =
        converse_setup(FakeBotpressConfig::default(), json!({"bot_id": "nobody"})).await;
    match spoke_error(&host, &id, &message("psid-1", None, "hello")).await {
        SpokeError::NotFound(message) => assert!(message.contains("bot_id"), "{message}"),
        other => panic!("expected not-found, got {other:?}"),
    }
}

#[tokio::test]
async fn converse_api_down_is_a_retryable_upstream_error_until_it_is_back() {
    let (host, fake, id) = converse_setup(FakeBotpressConfig::default(), json!({})).await;
    fake.set_down(true);
    assert_retryable_outage(spoke_error(&host, &id, &message("psid-1", None, "hello")).await);
    fake.set_down(false);
    let replies = ok(&host, &id, &message("psid-1", None, "hello")).await;
    assert_eq!(texts(&replies), vec![Some("You said: hello")]);
}

#[tokio::test]
async fn chat_api_answers_with_texts_choices_and_images_for_the_sender() {
    let (host, fake, id) = chat_setup(FakeBotpressConfig::default(), json!({})).await;

    let hello = ok(&host, &id, &message("psid-1", Some(CONTACT_A), "hello")).await;
    assert_eq!(texts(&hello), vec![Some("You said: hello")]);
    assert_addressed_to(&hello, "psid-1");

    let menu = ok(&host, &id, &message("psid-1", Some(CONTACT_A), "menu")).await;
    assert_eq!(
        texts(&menu),
        vec![Some("Here is the menu"), Some("What would you like?")],
        "both replies the bot posted one after the other"
    );
    assert!(menu[0].choices.is_empty());
    assert_eq!(
        choices(&menu[1]),
        vec![("Pizza", "PIZZA"), ("Salad", "SALAD")]
    );

    let picture = ok(&host, &id, &message("psid-1", Some(CONTACT_A), "picture")).await;
    assert_eq!(picture.len(), 1);
    assert_eq!(picture[0].attachments[0].kind, "image");
    assert_eq!(
        picture[0].attachments[0].url.as_deref(),
        Some("https://files.bpcontent.cloud/fake/cat.png")
    );
    assert_addressed_to(&picture, "psid-1");

    let chosen = ok(
        &host,
        &id,
        &quick_reply("psid-1", CONTACT_A, "Salad", "SALAD"),
    )
    .await;
    assert_eq!(texts(&chosen), vec![Some("You chose SALAD")]);

    let sent: Vec<Value> = fake
        .received_on("POST", "/wh-test/messages")
        .iter()
        .map(|r| r.json()["payload"].clone())
        .collect();
    assert_eq!(
        sent,
        vec![
            json!({"type": "text", "text": "hello"}),
            json!({"type": "text", "text": "menu"}),
            json!({"type": "text", "text": "picture"}),
            json!({"type": "text", "text": "Salad", "value": "SALAD"}),
        ]
    );
}

#[tokio::test]
async fn chat_api_keeps_one_user_and_conversation_per_contact() {
    let (host, fake, id) = chat_setup(FakeBotpressConfig::default(), json!({})).await;
    ok(&host, &id, &message("psid-1", Some(CONTACT_A), "one")).await;
    ok(&host, &id, &message("psid-1", Some(CONTACT_A), "two")).await;
    let replies = ok(&host, &id, &message("psid-2", Some(CONTACT_B), "three")).await;
    assert_eq!(texts(&replies), vec![Some("You said: three")]);
    assert_addressed_to(&replies, "psid-2");

    let users = fake.chat_users();
    assert_eq!(users.len(), 2, "one Chat user per contact: {users:?}");
    assert_eq!(fake.received_on("POST", "/wh-test/users").len(), 2);
    let conversations = fake.conversations();
    assert_eq!(conversations.len(), 2, "{conversations:?}");
    let owners: Vec<&str> = conversations
        .iter()
        .map(|(_, owner)| owner.as_str())
        .collect();
    assert!(owners.contains(&users[0].as_str()) && owners.contains(&users[1].as_str()));

    let (first_conversation, _) = conversations
        .iter()
        .find(|(_, owner)| *owner == users[0])
        .unwrap();
    let said: Vec<Value> = fake
        .messages(first_conversation)
        .into_iter()
        .filter(|m| m.user_id == users[0])
        .map(|m| m.payload["text"].clone())
        .collect();
    assert_eq!(
        said,
        vec![json!("one"), json!("two")],
        "A's messages share one conversation"
    );
}

#[tokio::test]
async fn chat_api_with_an_encryption_key_signs_user_keys_for_the_contact() {
    let config = FakeBotpressConfig {
        encryption_key: Some("enc-secret".into()),
        ..FakeBotpressConfig::default()
    };
    let (host, fake, id) = chat_setup(config, json!({"encryption_key": "enc-secret"})).await;
    let replies = ok(&host, &id, &message("psid-1", Some(CONTACT_A), "hello")).await;
    assert_eq!(texts(&replies), vec![Some("You said: hello")]);
    ok(&host, &id, &message("psid-1", Some(CONTACT_A), "again")).await;

    assert!(fake.received_on("POST", "/wh-test/users").is_empty());
    assert_eq!(fake.chat_users(), vec![CONTACT_A.to_owned()]);
    let keyed: Vec<_> = fake
        .received()
        .into_iter()
        .filter(|r| r.path != "/wh-test/users")
        .collect();
    assert!(keyed.len() >= 4, "{keyed:?}");
    for request in keyed {
        let key = request.header("x-user-key").expect("x-user-key");
        assert_eq!(
            verified_user_id(key, "enc-secret").as_deref(),
            Some(CONTACT_A),
            "{} {} carries a JWT signed with the encryption key for the contact",
            request.method,
            request.path
        );
    }
}

#[tokio::test]
async fn chat_api_with_a_wrong_encryption_key_is_unauthorized() {
    let config = FakeBotpressConfig {
        encryption_key: Some("enc-secret".into()),
        ..FakeBotpressConfig::default()
    };
    let (host, _fake, id) = chat_setup(config, json!({"encryption_key": "old-secret"})).await;
    match spoke_error(&host, &id, &message("psid-1", Some(CONTACT_A), "hello")).await {
        SpokeError::Unauthorized(message) => {
            assert!(message.contains("encryption_key"), "{message}")
        }
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn chat_api_opens_a_new_conversation_when_botpress_forgot_the_stored_one() {
    let (host, fake, id) = chat_setup(FakeBotpressConfig::default(), json!({})).await;
    ok(&host, &id, &message("psid-1", Some(CONTACT_A), "one")).await;
    fake.forget_conversations();
    let replies = ok(&host, &id, &message("psid-1", Some(CONTACT_A), "two")).await;
    assert_eq!(texts(&replies), vec![Some("You said: two")]);
    assert_eq!(fake.received_on("POST", "/wh-test/conversations").len(), 2);
    assert_eq!(fake.conversations().len(), 1);
    ok(&host, &id, &message("psid-1", Some(CONTACT_A), "three")).await;
    assert_eq!(
        fake.received_on("POST", "/wh-test/conversations").len(),
        2,
        "the new conversation is stored and reused"
    );
}

#[tokio::test]
async fn chat_api_down_is_a_retryable_upstream_error_until_it_is_back() {
    let (host, fake, id) = chat_setup(FakeBotpressConfig::default(), json!({})).await;
    ok(&host, &id, &message("psid-1", Some(CONTACT_A), "one")).await;
    fake.set_down(true);
    assert_retryable_outage(
        spoke_error(&host, &id, &message("psid-1", Some(CONTACT_A), "two")).await,
    );
    fake.set_down(false);
    let replies = ok(&host, &id, &message("psid-1", Some(CONTACT_A), "three")).await;
    assert_eq!(texts(&replies), vec![Some("You said: three")]);
}

#[tokio::test]
async fn bad_settings_refuse_the_installation() {
    let host = TestHost::start().await;
    let fake = FakeBotpress::start().await;
    let (status, plugin) = host.upload(nave_tests::spoke("plugins/botpress")).await;
    assert!(status.is_success(), "{plugin}");
    let (status, body) = host
        .install(
            "acme",
            json!({
                "plugin": plugin["name"], "version": plugin["version"],
                "settings": {"api": "webchat", "base_url": fake.url},
                "allowed_hosts": [fake.addr.to_string()],
            }),
        )
        .await;
    assert_eq!(status.as_u16(), 422, "{body}");
    assert!(body.to_string().contains("`api`"), "{body}");
}
