//! The message hub end to end: a signed Facebook webhook → the inbox → routing → the bot →
//! the outbox → the Send API of the fake Graph API, with order, once-only handling, hand-off,
//! retries, dead letters and the wallet.

use std::time::Duration;

use nave_tests::{
    FACEBOOK_APP_SECRET, FakeGraph, TestHost, facebook_signature, install_facebook, json_of, spoke,
    until,
};
use reqwest::Method;
use serde_json::{Value, json};

struct Setup {
    host: TestHost,
    graph: FakeGraph,
    facebook: String,
    bot: String,
}

/// Facebook and the echo bot installed in `acme` with a plan, and one rule: every message goes
/// to the bot.
async fn setup() -> Setup {
    setup_with(|_| {}).await
}

async fn setup_with(adjust: impl FnOnce(&mut nave::Config)) -> Setup {
    let host = TestHost::start_with(adjust).await;
    let graph = FakeGraph::start().await;
    let facebook = install_facebook(&host, &graph, "acme").await;
    let bot = host
        .upload_and_install(spoke("fixtures/echo-bot"), "acme", json!({"settings": {}}))
        .await;
    host.import_plans(&["acme"]).await;
    host.set_routing_rules(
        "acme",
        json!([{ "name": "everything to the bot", "then": { "bot": bot } }]),
    )
    .await;
    Setup {
        host,
        graph,
        facebook,
        bot,
    }
}

/// One signed webhook with one text message from `sender`.
async fn write(s: &Setup, sender: &str, mid: &str, text: &str) {
    let body = serde_json::to_vec(&json!({"object": "page", "entry": [
        {"id": "PAGE1", "time": 1700000000000u64, "messaging": [
            {"sender": {"id": sender}, "recipient": {"id": "PAGE1"}, "timestamp": 1700000000001u64,
             "message": {"mid": mid, "text": text}}
        ]}
    ]}))
    .unwrap();
    let response = s
        .host
        .http
        .post(s.host.at(&format!("/hooks/{}", s.facebook)))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            facebook_signature(FACEBOOK_APP_SECRET, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the webhook is acknowledged");
}

async fn get(host: &TestHost, path: &str) -> Value {
    let (status, body) = json_of(host.operator(Method::GET, path).send().await.unwrap()).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// The only conversation of `acme`.
async fn conversation(host: &TestHost) -> Value {
    until("a conversation", || async {
        let page = get(host, "/v1/tenants/acme/conversations").await;
        page["items"].as_array().and_then(|c| c.first().cloned())
    })
    .await
}

/// A conversation's messages, in order.
async fn messages(host: &TestHost, conversation: &Value) -> Vec<Value> {
    let id = conversation["id"].as_str().unwrap();
    get(
        host,
        &format!("/v1/tenants/acme/conversations/{id}/messages?limit=200"),
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn statuses(messages: &[Value]) -> Vec<(String, String)> {
    messages
        .iter()
        .map(|m| {
            (
                m["direction"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn sent(texts: &[&str]) -> Vec<(String, String)> {
    texts
        .iter()
        .map(|t| ("USER1".to_owned(), (*t).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_message_reaches_the_bot_and_its_reply_reaches_the_sender() {
    let s = setup().await;
    write(&s, "USER1", "m-1", "hello there").await;
    assert_eq!(s.graph.wait_for_sent(1).await, sent(&["echo: hello there"]));

    let conversation = conversation(&s.host).await;
    assert_eq!(conversation["sender"], "USER1");
    assert_eq!(conversation["recipient"], "PAGE1");
    assert_eq!(conversation["installation_id"], s.facebook.as_str());
    assert_eq!(conversation["mode"], "bot");
    assert!(
        conversation["contact_id"].is_string(),
        "the sender's contact is known: {conversation}"
    );
    let all = until("the reply delivered", || async {
        let all = messages(&s.host, &conversation).await;
        (statuses(&all)
            == [
                ("in".into(), "processed".into()),
                ("out".into(), "delivered".into()),
            ])
        .then_some(all)
    })
    .await;
    let (inbound, reply) = (&all[0], &all[1]);
    assert_eq!(inbound["channel_id"], "m-1");
    assert_eq!(inbound["inbound"]["text"], "hello there");
    assert_eq!(reply["author"], format!("bot:{}", s.bot));
    assert_eq!(reply["reply_to"], inbound["id"]);
    assert_eq!(reply["outbound"]["recipient"], "USER1");
    assert!(
        reply["channel_id"].as_str().unwrap().starts_with("m_"),
        "the Send API's message id is kept: {reply}"
    );

    let detail = get(
        &s.host,
        &format!(
            "/v1/tenants/acme/messages/{}",
            inbound["id"].as_str().unwrap()
        ),
    )
    .await;
    let history: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["received", "processed"]);
    assert!(
        detail["history"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("everything to the bot"),
        "the history names the rule: {detail}"
    );

    let billing = get(&s.host, "/v1/tenants/acme/billing").await;
    assert_eq!(
        billing["usage"][0]["used"], 1,
        "the message counts against the plan: {billing}"
    );
}

#[tokio::test]
async fn a_redelivered_webhook_is_answered_once() {
    let s = setup().await;
    write(&s, "USER1", "m-1", "once").await;
    write(&s, "USER1", "m-1", "once").await;
    write(&s, "USER1", "m-2", "twice?").await;
    assert_eq!(
        s.graph.wait_for_sent(2).await,
        sent(&["echo: once", "echo: twice?"])
    );
    let conversation = conversation(&s.host).await;
    let all = messages(&s.host, &conversation).await;
    assert_eq!(all.len(), 4, "two messages in, two replies: {all:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.graph.sent().len(), 2, "nothing more was sent later");
}

#[tokio::test]
async fn ten_messages_are_answered_in_order_even_when_one_needs_retries() {
    let s = setup().await;
    let texts: Vec<String> = (0..10)
        .map(|i| {
            if i == 3 {
                "flaky:2 three".to_owned()
            } else {
                format!("number {i}")
            }
        })
        .collect();
    for (i, text) in texts.iter().enumerate() {
        write(&s, "USER1", &format!("m-{i}"), text).await;
    }
    let expected: Vec<String> = texts.iter().map(|t| format!("echo: {t}")).collect();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    assert_eq!(s.graph.wait_for_sent(10).await, sent(&expected));

    let conversation = conversation(&s.host).await;
    let all = messages(&s.host, &conversation).await;
    let flaky = all
        .iter()
        .find(|m| m["channel_id"] == "m-3")
        .expect("the flaky message");
    let detail = get(
        &s.host,
        &format!(
            "/v1/tenants/acme/messages/{}",
            flaky["id"].as_str().unwrap()
        ),
    )
    .await;
    let history: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["received", "retrying", "retrying", "processed"]);
    assert!(
        detail["history"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("flaky: failure 1 of 2"),
        "{detail}"
    );
    let usage = get(&s.host, "/v1/tenants/acme/billing").await;
    assert_eq!(
        usage["usage"][0]["used"], 10,
        "retries are not counted twice"
    );
}

#[tokio::test]
async fn an_agent_takes_over_the_bot_stays_silent_and_gets_it_back() {
    let s = setup().await;
    write(&s, "USER1", "m-1", "one").await;
    s.graph.wait_for_sent(1).await;
    let conversation = conversation(&s.host).await;
    let id = conversation["id"].as_str().unwrap();

    let (status, taken) = json_of(
        s.host
            .operator(
                Method::POST,
                &format!("/v1/tenants/acme/conversations/{id}/take"),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{taken}");
    assert_eq!(taken["mode"], "human");
    assert!(taken["assignee"].is_string());

    write(&s, "USER1", "m-2", "two").await;
    until("the second message processed", || async {
        let all = messages(&s.host, &conversation).await;
        (all.len() == 3 && all[2]["status"] == "processed").then_some(())
    })
    .await;
    let (status, queued) = json_of(
        s.host
            .operator(
                Method::POST,
                &format!("/v1/tenants/acme/conversations/{id}/messages"),
            )
            .json(&json!({"text": "Hi, this is Ana from support."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["status"], "queued");
    assert_eq!(
        s.graph.wait_for_sent(2).await,
        sent(&["echo: one", "Hi, this is Ana from support."]),
        "the bot did not answer `two`; the agent's message went out"
    );

    let (status, back) = json_of(
        s.host
            .operator(
                Method::POST,
                &format!("/v1/tenants/acme/conversations/{id}/hand-back"),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["mode"], "bot");
    assert!(back["assignee"].is_null());
    write(&s, "USER1", "m-3", "three").await;
    assert_eq!(
        s.graph.wait_for_sent(3).await,
        sent(&["echo: one", "Hi, this is Ana from support.", "echo: three"])
    );

    let (status, body) = json_of(
        s.host
            .operator(
                Method::POST,
                &format!("/v1/tenants/acme/conversations/{id}/messages"),
            )
            .json(&json!({"text": "   "}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_argument");
}

#[tokio::test]
async fn a_channel_outage_delays_replies_and_loses_none() {
    let s = setup().await;
    s.graph.set_down(true);
    for i in 0..3 {
        write(
            &s,
            "USER1",
            &format!("m-{i}"),
            &format!("during the outage {i}"),
        )
        .await;
    }
    let conversation = conversation(&s.host).await;
    until("the first reply retrying", || async {
        let all = messages(&s.host, &conversation).await;
        all.iter()
            .any(|m| m["direction"] == "out" && m["status"] == "retrying")
            .then_some(())
    })
    .await;
    assert!(s.graph.sent().is_empty());
    s.graph.set_down(false);
    assert_eq!(
        s.graph.wait_for_sent(3).await,
        sent(&[
            "echo: during the outage 0",
            "echo: during the outage 1",
            "echo: during the outage 2"
        ])
    );
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_dead_visible_and_replayable() {
    let s = setup().await;
    // Fails 9 times; the test host gives up after 8 attempts.
    write(&s, "USER1", "m-1", "flaky:9 stubborn").await;
    write(&s, "USER1", "m-2", "broken on purpose").await;
    let dead = until("two dead letters", || async {
        let page = get(&s.host, "/v1/tenants/acme/dead-letters").await;
        let items = page["items"].as_array().unwrap().clone();
        (items.len() == 2).then_some(items)
    })
    .await;
    assert_eq!(dead[0]["channel_id"], "m-1");
    assert_eq!(dead[0]["attempts"], 7, "7 retries after the first attempt");
    assert!(
        dead[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("flaky: failure 8 of 9"),
        "{}",
        dead[0]
    );
    assert_eq!(dead[1]["channel_id"], "m-2");
    assert_eq!(
        dead[1]["attempts"], 0,
        "an error no retry fixes is dead at once"
    );
    assert!(
        dead[1]["last_error"]
            .as_str()
            .unwrap()
            .contains("invalid input")
    );
    assert!(s.graph.sent().is_empty());
    let billing = get(&s.host, "/v1/tenants/acme/billing").await;
    assert_eq!(
        billing["usage"][0]["used"], 0,
        "dead messages give their count back: {billing}"
    );

    let id = dead[0]["id"].as_str().unwrap();
    let (status, replayed) = json_of(
        s.host
            .operator(
                Method::POST,
                &format!("/v1/tenants/acme/dead-letters/{id}/replay"),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(
        s.graph.wait_for_sent(1).await,
        sent(&["echo: flaky:9 stubborn"])
    );
    let page = get(&s.host, "/v1/tenants/acme/dead-letters").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    let (status, body) = json_of(
        s.host
            .operator(
                Method::POST,
                &format!("/v1/tenants/acme/dead-letters/{id}/replay"),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "failed_precondition");
}

#[tokio::test]
async fn routing_rules_are_checked_with_every_problem_named() {
    let s = setup().await;
    let rules = get(&s.host, "/v1/tenants/acme/routing-rules").await;
    assert_eq!(rules["version"], 1);
    let (status, body) = json_of(
        s.host
            .operator(Method::PUT, "/v1/tenants/acme/routing-rules")
            .json(&json!({"rules": [
                {"name": "", "when": {"text_pattern": "(unclosed"}, "then": {"bot": s.facebook}},
                {"name": "ok", "then": {"processors": [s.bot]}}
            ]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "rules[0].name",
            "rules[0].when.text_pattern",
            "rules[0].then.bot",
            "rules[1].then.processors[0]"
        ]
    );
    let (status, body) = json_of(
        s.host
            .operator(Method::PUT, "/v1/tenants/acme/routing-rules")
            .json(&json!({"rules": [], "expected_version": 0}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = json_of(
        s.host
            .operator(Method::PUT, "/v1/tenants/acme/routing-rules")
            .json(&json!({"rules": [], "expected_version": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status.as_u16(), &body["version"]), (200, &json!(2)));

    // Without a rule nothing answers, but the message is kept.
    write(&s, "USER1", "m-1", "anyone?").await;
    let conversation = conversation(&s.host).await;
    until("the message processed", || async {
        let all = messages(&s.host, &conversation).await;
        (statuses(&all) == [("in".into(), "processed".into())]).then_some(())
    })
    .await;
    assert!(s.graph.sent().is_empty());
}

#[tokio::test]
async fn a_workspace_without_a_plan_or_money_is_refused() {
    let s = setup_with(|config| config.messages.message_cost = 5).await;
    // Two messages' worth.
    let (status, body) = json_of(
        s.host
            .operator(Method::POST, "/v1/tenants/acme/wallet/credits")
            .json(&json!({"amount": 12, "source": "top_up", "idempotency_key": "top-up-1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    for i in 0..3 {
        write(&s, "USER1", &format!("m-{i}"), &format!("paid {i}")).await;
    }
    assert_eq!(
        s.graph.wait_for_sent(2).await,
        sent(&["echo: paid 0", "echo: paid 1"])
    );
    let conversation = conversation(&s.host).await;
    let third = until("the third message refused", || async {
        let all = messages(&s.host, &conversation).await;
        all.into_iter()
            .find(|m| m["channel_id"] == "m-2" && m["status"] == "refused")
    })
    .await;
    assert!(
        third["last_error"]
            .as_str()
            .unwrap()
            .starts_with("insufficient_funds"),
        "{third}"
    );
    let wallet = get(&s.host, "/v1/tenants/acme/wallet").await;
    assert_eq!(
        wallet["available"], 2,
        "two messages captured at 5: {wallet}"
    );
    assert_eq!(wallet["held"], 0, "{wallet}");
    let billing = get(&s.host, "/v1/tenants/acme/billing").await;
    assert_eq!(billing["usage"][0]["used"], 2, "{billing}");

    // Another workspace with no plan at all.
    let graph = FakeGraph::start().await;
    let other = install_facebook(&s.host, &graph, "beta").await;
    s.host
        .set_routing_rules(
            "beta",
            json!([{ "name": "people", "then": { "handoff": true } }]),
        )
        .await;
    let body = serde_json::to_vec(&json!({"object": "page", "entry": [
        {"id": "PAGE1", "time": 1u64, "messaging": [
            {"sender": {"id": "USER9"}, "recipient": {"id": "PAGE1"}, "timestamp": 2u64,
             "message": {"mid": "b-1", "text": "hi"}}]}]}))
    .unwrap();
    let response = s
        .host
        .http
        .post(s.host.at(&format!("/hooks/{other}")))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            facebook_signature(FACEBOOK_APP_SECRET, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let refused = until("beta's message refused", || async {
        let page = get(&s.host, "/v1/tenants/beta/conversations").await;
        let c = page["items"].as_array()?.first()?.clone();
        let id = c["id"].as_str()?.to_owned();
        let all = get(
            &s.host,
            &format!("/v1/tenants/beta/conversations/{id}/messages"),
        )
        .await;
        let m = all["items"][0].clone();
        (m["status"] == "refused").then_some(m)
    })
    .await;
    assert!(
        refused["last_error"]
            .as_str()
            .unwrap()
            .starts_with("no_plan"),
        "{refused}"
    );
}

#[tokio::test]
async fn the_hub_serves_its_grpc_api_to_processes_holding_the_service_token() {
    use nave_hub_core::AuthContext;
    use nave_hub_core::grpc::ServiceToken;
    use nave_message::grpc::MessageClient;
    use nave_message::{ConversationFilter, Direction, MessageApi, MessageStatus};

    const TOKEN: &str = "the message hub's test token";
    let s = setup_with(|config| {
        config.messages.grpc_listen = Some("127.0.0.1:0".parse().unwrap());
        config.hubs.service_token = Some(TOKEN.into());
    })
    .await;
    write(&s, "PSID-G", "mid-g1", "hello over gRPC").await;
    s.graph.wait_for_sent(1).await;

    let url = format!(
        "http://{}",
        s.host
            .app
            .message_grpc_address
            .expect("the hub serves gRPC")
    );
    let tenant = s.host.tenant_id("acme").await.parse().unwrap();
    let system = AuthContext::system();
    let hub = MessageClient::connect(&url, ServiceToken::new(Some(TOKEN.into())))
        .await
        .unwrap();
    let filter = ConversationFilter {
        limit: 10,
        ..ConversationFilter::default()
    };
    let page = hub
        .list_conversations(&system, tenant, filter.clone())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "{page:?}");
    assert_eq!(page.items[0].sender, "PSID-G");
    let messages = hub
        .list_messages(&system, tenant, page.items[0].id, 0, 10)
        .await
        .unwrap();
    let seen: Vec<(Direction, MessageStatus)> = messages
        .items
        .iter()
        .map(|m| (m.direction, m.status))
        .collect();
    assert_eq!(
        seen,
        [
            (Direction::In, MessageStatus::Processed),
            (Direction::Out, MessageStatus::Delivered)
        ]
    );

    let stranger =
        MessageClient::connect(&url, ServiceToken::new(Some("not the token at all".into())))
            .await
            .unwrap();
    let err = stranger
        .list_conversations(&system, tenant, filter)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unauthenticated", "{err:?}");
}
