//! Installations: settings and secrets, upgrade and rollback without restart, isolation.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use nave::runtime::bindings::types::HttpRequest;
use nave_tests::{TestHost, json_of, spoke};
use serde_json::{Value, json};

async fn hook(host: &TestHost, id: &str, path: &str) -> (u16, String) {
    let response = host
        .http
        .post(host.at(&format!("/hooks/{id}{path}")))
        .body("hi")
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn patch(host: &TestHost, tenant: &str, id: &str, body: Value) -> (StatusCode, Value) {
    let response = host
        .operator(
            Method::PATCH,
            &format!("/v1/tenants/{tenant}/installations/{id}"),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    json_of(response).await
}

#[tokio::test]
async fn missing_and_unknown_settings_are_refused_by_name() {
    let host = TestHost::start().await;
    host.upload(spoke("fixtures/hello-1")).await;
    let (status, body) = host
        .install("acme", json!({"plugin": "hello", "settings": {}}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("missing_settings"))
    );
    assert_eq!(
        body["details"]["missing"],
        json!(["required_thing"]),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("required_thing"));

    let (status, body) = host
        .install(
            "acme",
            json!({"plugin": "hello", "settings": {"required_thing": "x", "colour": "red"}}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_settings"))
    );
    assert_eq!(body["details"]["unknown"], json!(["colour"]));

    let (status, body) = host.install("acme", json!({"plugin": "nope"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("plugin_not_found"))
    );

    let (status, body) = host
        .install(
            "acme",
            json!({"plugin": "hello", "settings": {"required_thing": 5}}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")),
        "{body}"
    );

    let (status, body) = host
        .install(
            "acme",
            json!({"plugin": "hello", "settings": {"required_thing": "x"}, "deadline_ms": 999999}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_limit"))
    );

    let (_, list) = json_of(
        host.operator(Method::GET, "/v1/tenants/acme/installations")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        list["installations"],
        json!([]),
        "refused installations leave nothing"
    );
}

#[tokio::test]
async fn secrets_reach_the_spoke_but_no_api_and_are_sealed_at_rest() {
    let host = TestHost::start().await;
    let id = host
        .upload_and_install(
            spoke("fixtures/hello-1"),
            "acme",
            json!({"settings": {"required_thing": "visible", "password": "hunter2-secret"}}),
        )
        .await;
    let (_, view) = json_of(
        host.operator(Method::GET, &format!("/v1/tenants/acme/installations/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(view["settings"], json!({"required_thing": "visible"}));
    assert_eq!(view["secrets_set"], json!(["password"]));
    assert!(!view.to_string().contains("hunter2"), "{view}");

    let (status, seen) = hook(&host, &id, "/settings").await;
    assert_eq!(status, 200);
    let seen: Value = serde_json::from_str(&seen).unwrap();
    assert_eq!(
        seen["password"], "hunter2-secret",
        "the spoke reads its secret in clear"
    );

    let db = std::fs::read(host.dir.path().join("nave.db")).unwrap();
    let wal = std::fs::read(host.dir.path().join("nave.db-wal")).unwrap_or_default();
    let needle = b"hunter2-secret";
    let leaks = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!leaks(&db) && !leaks(&wal), "the secret is stored sealed");
}

#[tokio::test]
async fn upgrade_and_rollback_take_effect_for_the_next_call_without_a_restart() {
    let host = TestHost::start().await;
    host.upload(spoke("fixtures/hello-2")).await;
    let id = host
        .upload_and_install(
            spoke("fixtures/hello-1"),
            "acme",
            json!({"version": "1.0.0", "settings": {"required_thing": "x"}}),
        )
        .await;
    assert_eq!(hook(&host, &id, "").await, (200, "hello from 1.0.0".into()));

    // A slow call is under way on 1.0.0 when the upgrade lands: it took the installation as it
    // was, exactly as the webhook handler does, so the swap cannot race with it.
    let running = host.app.registry.installation(id.parse().unwrap()).unwrap();
    let app = host.app.clone();
    let slow = tokio::spawn(async move {
        let request = HttpRequest {
            method: "POST".into(),
            path: "/slow".into(),
            query: String::new(),
            headers: vec![],
            body: vec![],
        };
        let ctx = running.call_context("slow-call");
        let outcome = app
            .runtime
            .handle_webhook(&running.spoke, &ctx, &request)
            .await
            .unwrap();
        String::from_utf8(outcome.response.body).unwrap()
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, view) = patch(&host, "acme", &id, json!({"version": "2.0.0"})).await;
    assert_eq!(
        (status, view["version"].as_str()),
        (StatusCode::OK, Some("2.0.0")),
        "{view}"
    );
    assert_eq!(
        hook(&host, &id, "").await,
        (200, "hello from 2.0.0".into()),
        "the next call runs 2.0.0"
    );
    assert_eq!(
        slow.await.unwrap(),
        "hello from 1.0.0",
        "the call already running finished on 1.0.0"
    );

    let (status, _) = patch(&host, "acme", &id, json!({"version": "1.0.0"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        hook(&host, &id, "").await,
        (200, "hello from 1.0.0".into()),
        "rolled back"
    );

    let (status, body) = patch(&host, "acme", &id, json!({"version": "9.9.9"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("plugin_not_found"))
    );
    assert_eq!(
        hook(&host, &id, "").await.1,
        "hello from 1.0.0",
        "a refused change changes nothing"
    );
}

#[tokio::test]
async fn tenants_see_only_their_installations_and_kv_is_per_installation() {
    let host = TestHost::start().await;
    let a = host
        .upload_and_install(spoke("fixtures/hostile"), "acme", json!({}))
        .await;
    let (status, b) = host.install("globex", json!({"plugin": "hostile"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let b = b["id"].as_str().unwrap().to_owned();

    let foreign = host
        .operator(
            Method::GET,
            &format!("/v1/tenants/globex/installations/{a}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 404);
    let (_, list) = json_of(
        host.operator(Method::GET, "/v1/tenants/globex/installations")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ids: Vec<&str> = list["installations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b.as_str()]);

    assert_eq!(hook(&host, &a, "/kv-set?key=color&value=blue").await.0, 200);
    assert_eq!(
        hook(&host, &a, "/kv-get?key=color").await,
        (200, "blue".into())
    );
    assert_eq!(
        hook(&host, &b, "/kv-get?key=color").await,
        (404, "missing".into()),
        "another installation's kv is invisible"
    );
}

#[tokio::test]
async fn a_kv_store_over_its_quota_refuses_writes() {
    let host = TestHost::start_with(|c| c.limits.kv_quota_bytes = 64).await;
    let id = host
        .upload_and_install(spoke("fixtures/hostile"), "acme", json!({}))
        .await;
    assert_eq!(hook(&host, &id, "/kv-set?key=a&value=small").await.0, 200);
    let long = "x".repeat(100);
    let (status, body) = hook(&host, &id, &format!("/kv-set?key=b&value={long}")).await;
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("quota"), "{body}");
    assert_eq!(
        hook(&host, &id, "/kv-get?key=a").await,
        (200, "small".into()),
        "earlier values are kept"
    );

    // A value replaced stops counting: `a` grows to 59 bytes of the 64 (not 6 + 59).
    let bigger = "y".repeat(58);
    let (status, body) = hook(&host, &id, &format!("/kv-set?key=a&value={bigger}")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = hook(&host, &id, "/kv-set?key=c&value=1234567890123").await;
    assert_ne!(status, 200, "59 + 14 bytes is over the quota: {body}");
    // A key removed gives its bytes back.
    assert_eq!(hook(&host, &id, "/kv-delete?key=a").await.0, 200);
    assert_eq!(
        hook(&host, &id, "/kv-set?key=c&value=1234567890123")
            .await
            .0,
        200
    );
    assert_eq!(hook(&host, &id, "/kv-get?key=a").await.0, 404);
}

#[tokio::test]
async fn webhooks_to_unknown_installations_or_over_the_size_limit_are_refused() {
    let host = TestHost::start_with(|c| c.limits.max_webhook_body_bytes = 1024).await;
    let id = host
        .upload_and_install(
            spoke("fixtures/hello-1"),
            "acme",
            json!({"settings": {"required_thing": "x"}}),
        )
        .await;
    let unknown = host
        .http
        .post(host.at(&format!("/hooks/{}", uuid::Uuid::now_v7())))
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(unknown).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("installation_not_found"))
    );
    let garbage = host
        .http
        .post(host.at("/hooks/not-a-uuid"))
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status().as_u16(), 404);

    let big = host
        .http
        .post(host.at(&format!("/hooks/{id}")))
        .body(vec![b'x'; 4096])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(big).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large"))
    );
}

#[tokio::test]
async fn removing_an_installation_runs_uninstall_and_closes_its_webhook() {
    let host = TestHost::start().await;
    let id = host
        .upload_and_install(
            spoke("fixtures/hello-1"),
            "acme",
            json!({"settings": {"required_thing": "x"}}),
        )
        .await;
    let removed = host
        .operator(
            Method::DELETE,
            &format!("/v1/tenants/acme/installations/{id}"),
        )
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(removed).await;
    assert_eq!(
        (status, &body["removed"], &body["uninstall_error"]),
        (StatusCode::OK, &json!(true), &Value::Null)
    );
    assert_eq!(hook(&host, &id, "").await.0, 404);
}

#[tokio::test]
async fn a_call_for_another_role_is_refused_as_wrong_role() {
    let host = TestHost::start().await;
    let id = host
        .upload_and_install(
            spoke("fixtures/hello-1"),
            "acme",
            json!({"settings": {"required_thing": "x"}}),
        )
        .await;
    let installation = host.app.registry.installation(id.parse().unwrap()).unwrap();
    let ctx = installation.call_context("wrong-role");
    let message = nave::runtime::bindings::types::Message {
        platform: "test".into(),
        id: "m-1".into(),
        conversation: "c".into(),
        sender: "s".into(),
        recipient: "r".into(),
        text: Some("hi".into()),
        attachments: vec![],
        payload: None,
        timestamp_ms: 0,
        sender_profile: None,
        metadata: vec![],
    };
    match host
        .app
        .runtime
        .converse(&installation.spoke, &ctx, &message)
        .await
    {
        Err(nave::runtime::CallError::Failed { kind, message }) => {
            assert_eq!(kind, nave::runtime::FailureKind::WrongRole, "{message}");
            assert!(message.contains("bot"), "{message}");
        }
        other => panic!("a channel spoke cannot converse: {other:?}"),
    }
    assert_eq!(
        hook(&host, &id, "").await,
        (200, "hello from 1.0.0".into()),
        "it still serves its own role"
    );
}
