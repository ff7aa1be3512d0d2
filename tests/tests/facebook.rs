//! The Facebook Messenger spoke end to end: install (auto-connect), verification, signed
//! batched webhooks, de-duplication, profile look-ups and the Send API.

use nave::runtime::CallError;
use nave::runtime::bindings::types::{OutboundMessage, SendReason, SpokeError};
use nave_tests::{FACEBOOK_APP_SECRET, FakeGraph, TestHost, facebook_signature, install_facebook};
use serde_json::{Value, json};
use uuid::Uuid;

const SECRET: &str = FACEBOOK_APP_SECRET;

async fn setup() -> (TestHost, FakeGraph, String) {
    let host = TestHost::start().await;
    let graph = FakeGraph::start().await;
    let id = install_facebook(&host, &graph, "acme").await;
    (host, graph, id)
}

fn batch() -> Vec<u8> {
    let body = json!({"object": "page", "entry": [
        {"id": "PAGE1", "time": 1700000000000u64, "messaging": [
            {"sender": {"id": "USER1"}, "recipient": {"id": "PAGE1"}, "timestamp": 1700000000001u64,
             "message": {"mid": "m-1", "text": "hello, my number is +33 6 12 34 56 78"}},
            {"sender": {"id": "USER1"}, "recipient": {"id": "PAGE1"}, "timestamp": 1700000000002u64,
             "message": {"mid": "m-2", "attachments": [{"type": "image", "payload": {"url": "https://cdn.example.com/cat.jpg"}}]}},
            {"sender": {"id": "PAGE1"}, "recipient": {"id": "USER1"}, "timestamp": 1700000000003u64,
             "message": {"mid": "m-echo", "is_echo": true, "text": "an echo of the page's own message"}}
        ]},
        {"id": "PAGE1", "time": 1700000000100u64, "messaging": [
            {"sender": {"id": "USER2"}, "recipient": {"id": "PAGE1"}, "timestamp": 1700000000101u64,
             "message": {"mid": "m-3", "text": "Red", "quick_reply": {"payload": "COLOR_RED"}}},
            {"sender": {"id": "USER2"}, "recipient": {"id": "PAGE1"}, "timestamp": 1700000000102u64,
             "postback": {"mid": "m-4", "title": "Get started", "payload": "GET_STARTED"}},
            {"sender": {"id": "USER2"}, "recipient": {"id": "PAGE1"}, "timestamp": 1700000000103u64,
             "delivery": {"mids": ["m_1"], "watermark": 1700000000050u64}},
            {"sender": {"id": "USER2"}, "recipient": {"id": "PAGE1"}, "timestamp": 1700000000104u64,
             "read": {"watermark": 1700000000060u64}}
        ]}
    ]});
    serde_json::to_vec(&body).unwrap()
}

async fn post(host: &TestHost, id: &str, body: &[u8], signature: Option<String>) -> (u16, String) {
    let mut request = host
        .http
        .post(host.at(&format!("/hooks/{id}")))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn install_subscribes_the_page_to_the_app() {
    let (_host, graph, _id) = setup().await;
    let subscribed = graph.received_on("POST", "/v21.0/PAGE1/subscribed_apps");
    assert_eq!(subscribed.len(), 1, "{:?}", graph.received());
    let call = &subscribed[0];
    let text = format!("{}&{}", call.query, String::from_utf8_lossy(&call.body));
    assert!(
        text.contains("PAGE-TOKEN"),
        "the page token authorizes the call: {text}"
    );
    assert!(
        text.contains("messages"),
        "it subscribes to messages: {text}"
    );
}

#[tokio::test]
async fn the_verification_handshake_echoes_the_challenge_only_for_the_right_token() {
    let (host, _graph, id) = setup().await;
    let good = host
        .http
        .get(host.at(&format!(
            "/hooks/{id}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status().as_u16(), 200);
    assert_eq!(good.text().await.unwrap(), "1158201444");
    let bad = host
        .http
        .get(host.at(&format!(
            "/hooks/{id}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1158201444"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 403);
    assert!(!bad.text().await.unwrap().contains("1158201444"));
}

#[tokio::test]
async fn a_signed_batch_is_stored_once_with_every_item_and_without_echoes() {
    let (host, graph, id) = setup().await;
    let body = batch();
    let (status, answer) = post(&host, &id, &body, Some(facebook_signature(SECRET, &body))).await;
    assert_eq!((status, answer.as_str()), (200, "EVENT_RECEIVED"));

    let events = host.events("acme", &id).await;
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["channel_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds.len(), 6, "{events:#?}");
    assert_eq!(
        &kinds[..4],
        [
            ("message", "m-1"),
            ("message", "m-2"),
            ("message", "m-3"),
            ("postback", "m-4")
        ]
    );
    assert_eq!(kinds[4].0, "delivery");
    assert_eq!(kinds[5].0, "read");
    assert!(
        !kinds.iter().any(|(_, id)| *id == "m-echo"),
        "echoes are dropped"
    );

    let text = &events[0]["payload"];
    assert_eq!(text["text"], "hello, my number is +33 6 12 34 56 78");
    assert_eq!(text["sender"], "USER1");
    assert_eq!(text["platform"], "facebook");
    assert_eq!(
        text["sender_profile"]["first_name"], "Ada",
        "new senders are looked up: {text}"
    );
    let image = &events[1]["payload"]["attachments"][0];
    assert_eq!(
        (image["kind"].as_str(), image["url"].as_str()),
        (Some("image"), Some("https://cdn.example.com/cat.jpg"))
    );
    assert_eq!(events[2]["payload"]["payload"], "COLOR_RED");
    assert_eq!(events[3]["payload"]["payload"], "GET_STARTED");
    assert_eq!(events[4]["payload"]["message_ids"], json!(["m_1"]));

    let profile_lookups = graph
        .received()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(profile_lookups, 2, "one look-up per new sender");

    // Facebook delivers again: the same body adds nothing.
    let (status, _) = post(&host, &id, &body, Some(facebook_signature(SECRET, &body))).await;
    assert_eq!(status, 200);
    assert_eq!(host.events("acme", &id).await.len(), 6);
    let profile_lookups = graph
        .received()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(profile_lookups, 2, "known senders are not looked up again");
}

#[tokio::test]
async fn missing_or_wrong_signatures_are_refused_and_store_nothing() {
    let (host, _graph, id) = setup().await;
    let body = batch();
    assert_eq!(post(&host, &id, &body, None).await.0, 401);
    assert_eq!(
        post(
            &host,
            &id,
            &body,
            Some(facebook_signature("another-secret", &body))
        )
        .await
        .0,
        403
    );
    assert_eq!(
        post(&host, &id, &body, Some("sha256=zz".into())).await.0,
        403
    );
    let mut tampered = body.clone();
    let at = tampered.iter().position(|&b| b == b'h').unwrap();
    tampered[at] = b'H';
    assert_eq!(
        post(
            &host,
            &id,
            &tampered,
            Some(facebook_signature(SECRET, &body))
        )
        .await
        .0,
        403
    );
    assert!(host.events("acme", &id).await.is_empty());
}

fn reply(text: &str) -> OutboundMessage {
    OutboundMessage {
        conversation: "PAGE1:USER1".into(),
        recipient: "USER1".into(),
        text: Some(text.into()),
        attachments: vec![],
        choices: vec![],
        reason: SendReason::Response,
        metadata: vec![],
    }
}

async fn deliver(
    host: &TestHost,
    id: &str,
    message: &OutboundMessage,
) -> Result<Vec<String>, CallError> {
    let installation = host
        .app
        .registry
        .installation(Uuid::parse_str(id).unwrap())
        .unwrap();
    let ctx = installation.call_context("test");
    host.app
        .runtime
        .deliver(&installation.spoke, &ctx, message)
        .await
        .map(|receipt| receipt.message_ids)
}

#[tokio::test]
async fn deliver_calls_the_send_api_with_the_page_token_and_splits_long_text() {
    let (host, graph, id) = setup().await;
    let ids = deliver(&host, &id, &reply("Thanks, we got your message."))
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    let sent = graph.received_on("POST", "/v21.0/me/messages");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].param("access_token").as_deref(), Some("PAGE-TOKEN"));
    let body: Value = sent[0].json();
    assert_eq!(body["recipient"]["id"], "USER1");
    assert_eq!(body["messaging_type"], "RESPONSE");
    assert_eq!(body["message"]["text"], "Thanks, we got your message.");

    let long = "Lorem ipsum dolor sit amet. ".repeat(160); // 4480 characters
    let ids = deliver(&host, &id, &reply(&long)).await.unwrap();
    let parts: Vec<String> = graph.received_on("POST", "/v21.0/me/messages")[1..]
        .iter()
        .map(|r| r.json()["message"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), parts.len());
    assert_eq!(parts.len(), 3, "4480 characters go out in 3 parts");
    assert!(parts.iter().all(|p| p.chars().count() < 2000));
    assert_eq!(
        parts.join(" ").split_whitespace().collect::<Vec<_>>(),
        long.split_whitespace().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn graph_errors_become_typed_spoke_errors() {
    let (host, graph, id) = setup().await;
    graph.fail_next_send(400, 190, "Error validating access token");
    match deliver(&host, &id, &reply("x")).await {
        Err(CallError::Spoke(SpokeError::Unauthorized(_))) => {}
        other => panic!("190 is a bad token: {other:?}"),
    }
    graph.fail_next_send(400, 613, "Calls to this api have exceeded the rate limit");
    match deliver(&host, &id, &reply("x")).await {
        Err(CallError::Spoke(SpokeError::Upstream(e))) => {
            assert!(e.retryable && e.code == Some(613), "{e:?}")
        }
        other => panic!("613 is a retryable rate limit: {other:?}"),
    }
    graph.fail_next_send(400, 10, "Message sent outside of allowed window");
    assert!(matches!(
        deliver(&host, &id, &reply("x")).await,
        Err(CallError::Spoke(SpokeError::Denied(_)))
    ));
    graph.fail_next_send(400, 551, "This person isn't available right now");
    assert!(matches!(
        deliver(&host, &id, &reply("x")).await,
        Err(CallError::Spoke(SpokeError::NotFound(_)))
    ));
}

/// The contacts of `tenant`, once `ready` holds for them (counting runs after the answer).
async fn contacts_when(
    host: &TestHost,
    tenant: &str,
    ready: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..100 {
        let response = host
            .operator(
                reqwest::Method::GET,
                &format!("/v1/tenants/{tenant}/contacts"),
            )
            .send()
            .await
            .unwrap();
        let (status, page) = nave_tests::json_of(response).await;
        assert_eq!(status, 200, "{page}");
        last = page["contacts"].as_array().unwrap().clone();
        if ready(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("contacts never got ready: {last:#?}");
}

fn messages_in(contacts: &[Value]) -> Vec<u64> {
    contacts
        .iter()
        .map(|c| c["messages_in"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn senders_become_contacts_with_their_profile_and_message_counts() {
    let (host, _graph, id) = setup().await;
    let body = batch();
    let (status, _) = post(&host, &id, &body, Some(facebook_signature(SECRET, &body))).await;
    assert_eq!(status, 200);

    // Two senders, two contacts, each with the profile the spoke looked up and two messages
    // (a postback counts; deliveries, reads and echoes do not).
    let contacts = contacts_when(&host, "acme", |c| messages_in(c) == [2, 2]).await;
    let ada = &contacts[0];
    assert_eq!(ada["name"], "Ada Lovelace");
    assert_eq!(ada["first_name"], "Ada");
    assert_eq!(ada["picture_url"], "https://example.com/USER1.jpg");
    assert_eq!(ada["identities"][0]["channel"], "facebook");
    assert_eq!(ada["identities"][0]["channel_user_id"], "USER1");
    assert_eq!(ada["identities"][0]["installation_id"], id.as_str());
    assert_eq!(ada["first_seen_at"], "2023-11-14T22:13:20.001Z");
    assert_eq!(ada["last_seen_at"], "2023-11-14T22:13:20.002Z");

    // Facebook delivers the same batch again: nothing is counted twice.
    let (status, _) = post(&host, &id, &body, Some(facebook_signature(SECRET, &body))).await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        messages_in(&contacts_when(&host, "acme", |_| true).await),
        [2, 2]
    );

    // Search, and another workspace sees none of them.
    let found = host
        .operator(
            reqwest::Method::GET,
            "/v1/tenants/acme/contacts?search=LOVELACE&limit=1",
        )
        .send()
        .await
        .unwrap();
    let (_, page) = nave_tests::json_of(found).await;
    assert_eq!(page["contacts"].as_array().unwrap().len(), 1, "{page}");
    assert!(page["next"].is_string(), "a second page follows: {page}");
    host.ensure_tenant("globex").await;
    assert!(contacts_when(&host, "globex", |_| true).await.is_empty());

    // Merge the second sender into the first: one contact, both identities, counts added up;
    // the next message of the second sender counts on the merged contact.
    let (keep, gone) = (
        ada["id"].as_str().unwrap(),
        contacts[1]["id"].as_str().unwrap(),
    );
    let merged = host
        .operator(
            reqwest::Method::POST,
            &format!("/v1/tenants/acme/contacts/{keep}/merge"),
        )
        .json(&json!({ "merge": gone }))
        .send()
        .await
        .unwrap();
    let (status, merged) = nave_tests::json_of(merged).await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["identities"].as_array().unwrap().len(), 2);
    assert_eq!(merged["messages_in"], 4);
    let again = serde_json::to_vec(&json!({"object": "page", "entry": [
        {"id": "PAGE1", "time": 1700000001000u64, "messaging": [
            {"sender": {"id": "USER2"}, "recipient": {"id": "PAGE1"}, "timestamp": 1700000001001u64,
             "message": {"mid": "m-5", "text": "still there?"}}
        ]}
    ]}))
    .unwrap();
    let (status, _) = post(&host, &id, &again, Some(facebook_signature(SECRET, &again))).await;
    assert_eq!(status, 200);
    let contacts = contacts_when(&host, "acme", |c| messages_in(c) == [5]).await;
    assert_eq!(contacts[0]["id"], keep);
    assert_eq!(contacts[0]["last_seen_at"], "2023-11-14T22:13:21.001Z");
}
