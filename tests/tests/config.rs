//! Runtime settings through the host: the config hub's REST routes at each scope, the live
//! change stream (server-sent events read by a real HTTP client), and the settings the host
//! applies without a restart — a spoke call's deadline and memory cap, a message's price.

use std::time::{Duration, Instant};

use nave_tests::{TestHost, json_of, spoke, until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const DEADLINE: &str = "spoke.deadline_ms";

async fn call(
    host: &TestHost,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = host.http.request(method, host.at(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    json_of(request.send().await.unwrap()).await
}

/// One event of a server-sent event stream.
#[derive(Debug)]
struct SseEvent {
    id: Option<String>,
    event: String,
    data: Value,
}

/// A `GET /v1/config/watch` response being read as it arrives.
struct Watch {
    response: reqwest::Response,
    buffer: String,
}

impl Watch {
    async fn open(host: &TestHost, token: &str, query: &str, last_event_id: Option<&str>) -> Watch {
        let mut request = host
            .http
            .get(host.at(&format!("/v1/config/watch{query}")))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Watch {
            response,
            buffer: String::new(),
        }
    }

    /// The next event, within 10 s; comments (keep-alives) are skipped.
    async fn next(&mut self) -> SseEvent {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::from("message"), String::new());
                for line in block.lines().filter(|l| !l.starts_with(':')) {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return SseEvent {
                    id,
                    event,
                    data: serde_json::from_str(&data).unwrap(),
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, self.response.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Asserts that no event arrives for a while.
    async fn quiet(&mut self) {
        let waited = tokio::time::timeout(Duration::from_millis(300), self.response.chunk()).await;
        if let Ok(chunk) = waited {
            let chunk = chunk.unwrap().unwrap_or_default();
            let text = String::from_utf8_lossy(&chunk);
            assert!(
                text.lines().all(|l| l.is_empty() || l.starts_with(':')),
                "no event expected, got {text}"
            );
        }
    }
}

/// `acme` with an installation of `hostile`, and an admin of it (not a platform admin).
async fn acme() -> (TestHost, String, String) {
    let host = TestHost::start().await;
    let installation = host
        .upload_and_install(spoke("fixtures/hostile"), "acme", json!({}))
        .await;
    let (admin_id, admin) = host.sign_up("admin@example.com").await;
    host.add_member("acme", &admin_id, "admin").await;
    (host, installation, admin)
}

#[tokio::test]
async fn settings_are_read_and_written_at_each_scope() {
    let (host, installation, admin) = acme().await;
    let op = host.admin_token.clone();
    let tenant_id = host.tenant_id("acme").await;

    let (status, defs) = call(&host, &admin, Method::GET, "/v1/config/definitions", None).await;
    assert_eq!(status, StatusCode::OK, "{defs}");
    let price = defs["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == "billing.message_cost")
        .unwrap();
    assert_eq!(
        (
            price["kind"]["type"].as_str(),
            price["tenant_writable"].as_bool()
        ),
        (Some("integer"), Some(false)),
        "{price}"
    );

    // Global, then the tenant (by slug and by id), then the installation: nearest wins.
    let global = format!("/v1/config/settings/{DEADLINE}");
    let by_slug = format!("/v1/tenants/acme/config/settings/{DEADLINE}");
    let by_id = format!("/v1/tenants/{tenant_id}/config/settings/{DEADLINE}");
    let own = format!("/v1/tenants/acme/installations/{installation}/config/settings/{DEADLINE}");
    let (status, set) = call(
        &host,
        &op,
        Method::PUT,
        &global,
        Some(json!({"value": 1500})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(
        (set["action"].as_str(), set["scope"].as_str()),
        (Some("set"), Some("global"))
    );
    let (status, _) = call(
        &host,
        &admin,
        Method::PUT,
        &global,
        Some(json!({"value": 1})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only platform admins write globally"
    );
    let (status, tenant_set) = call(
        &host,
        &admin,
        Method::PUT,
        &by_slug,
        Some(json!({"value": 1200})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tenant_set}");
    assert_eq!(tenant_set["scope"]["tenant"], tenant_id.as_str());
    let (_, seen) = call(&host, &admin, Method::GET, &by_id, None).await;
    assert_eq!(
        (seen["value"].as_i64(), seen["from"].as_str()),
        (Some(1200), Some("tenant"))
    );
    let (_, seen) = call(&host, &admin, Method::GET, &own, None).await;
    assert_eq!(
        (seen["value"].as_i64(), seen["from"].as_str()),
        (Some(1200), Some("tenant"))
    );

    // Optimistic writes: the version read is the one expected; a stale one is a conflict.
    let version = tenant_set["version"].as_u64().unwrap();
    let (status, second) = call(
        &host,
        &admin,
        Method::PUT,
        &by_slug,
        Some(json!({"value": 1100, "expected_version": version})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let (status, stale) = call(
        &host,
        &admin,
        Method::PUT,
        &by_slug,
        Some(json!({"value": 1000, "expected_version": version})),
    )
    .await;
    assert_eq!(
        (status, stale["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{stale}"
    );
    assert!(
        stale["message"].as_str().unwrap().contains("read it again"),
        "{stale}"
    );

    // History, newest first, and a rollback as a new version.
    let (_, history) = call(
        &host,
        &admin,
        Method::GET,
        &format!("{by_slug}/history"),
        None,
    )
    .await;
    let values: Vec<i64> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_i64().unwrap())
        .collect();
    assert_eq!(values, [1100, 1200]);
    let (status, back) = call(
        &host,
        &admin,
        Method::POST,
        &format!("{by_slug}/rollback"),
        Some(json!({"to_version": version})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(
        (back["action"].as_str(), back["value"].as_i64()),
        (Some("rollback"), Some(1200))
    );

    // The installation's own value wins; unset, its tenant's applies again.
    let (status, _) = call(
        &host,
        &admin,
        Method::PUT,
        &own,
        Some(json!({"value": 900})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, all) = call(
        &host,
        &admin,
        Method::GET,
        &format!("/v1/tenants/acme/installations/{installation}/config/settings"),
        None,
    )
    .await;
    let deadline = all["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == DEADLINE)
        .unwrap();
    assert_eq!(
        (deadline["value"].as_i64(), deadline["from"].as_str()),
        (Some(900), Some("installation"))
    );
    let (status, _) = call(&host, &admin, Method::DELETE, &own, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, again) = call(&host, &admin, Method::DELETE, &own, None).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (_, seen) = call(&host, &admin, Method::GET, &own, None).await;
    assert_eq!(
        (seen["value"].as_i64(), seen["from"].as_str()),
        (Some(1200), Some("tenant"))
    );

    // Clear refusals: unknown keys list the known ones, values out of range say the range,
    // prices are the platform's, installations of another workspace do not exist here.
    let (status, unknown) = call(
        &host,
        &admin,
        Method::PUT,
        "/v1/tenants/acme/config/settings/spoke.deadline",
        Some(json!({"value": 5})),
    )
    .await;
    assert_eq!(
        (status, unknown["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_argument"))
    );
    assert!(
        unknown.to_string().contains("spoke.deadline_ms"),
        "{unknown}"
    );
    let (status, range) = call(
        &host,
        &admin,
        Method::PUT,
        &by_slug,
        Some(json!({"value": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{range}");
    assert!(
        range.to_string().contains("an integer from 1 to 30000"),
        "{range}"
    );
    let (status, price) = call(
        &host,
        &admin,
        Method::PUT,
        "/v1/tenants/acme/config/settings/billing.message_cost",
        Some(json!({"value": 0})),
    )
    .await;
    assert_eq!(
        (status, price["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("permission_denied")),
        "{price}"
    );
    let (status, body) = call(
        &host,
        &admin,
        Method::PUT,
        &format!(
            "/v1/tenants/acme/installations/{}/config/settings/{DEADLINE}",
            uuid::Uuid::now_v7()
        ),
        Some(json!({"value": 5})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("installation_not_found"))
    );
    let (status, body) = call(
        &host,
        &admin,
        Method::PUT,
        &by_slug,
        Some(json!({"valeu": 5})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );
}

#[tokio::test]
async fn the_watch_stream_sends_each_visible_change_and_resumes_after_the_last_id() {
    let (host, installation, admin) = acme().await;
    let op = host.admin_token.clone();
    let (_, stranger) = host.sign_up("stranger@example.com").await;
    let create = host
        .http
        .post(host.at("/v1/tenants"))
        .bearer_auth(&stranger)
        .json(&json!({"slug": "globex", "name": "Globex"}))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), StatusCode::CREATED);

    let mut mine = Watch::open(&host, &admin, "?tenant=acme", None).await;
    let mut theirs = Watch::open(&host, &stranger, "?tenant=globex", None).await;
    let own = format!("/v1/tenants/acme/installations/{installation}/config/settings/{DEADLINE}");
    let (_, first) = call(
        &host,
        &admin,
        Method::PUT,
        &own,
        Some(json!({"value": 800})),
    )
    .await;
    let (_, second) = call(
        &host,
        &op,
        Method::PUT,
        "/v1/config/settings/spoke.memory_mib",
        Some(json!({"value": 48})),
    )
    .await;
    let a = mine.next().await;
    assert_eq!(
        (a.event.as_str(), a.id.clone(), a.data["key"].as_str()),
        ("change", Some(first["version"].to_string()), Some(DEADLINE)),
        "{a:?}"
    );
    assert_eq!(
        a.data["scope"]["installation"]["installation_id"],
        installation.as_str()
    );
    let b = mine.next().await;
    assert_eq!(b.id, Some(second["version"].to_string()), "{b:?}");
    // Another workspace's member sees the global change, not acme's.
    let only = theirs.next().await;
    assert_eq!(only.id, Some(second["version"].to_string()), "{only:?}");
    theirs.quiet().await;

    // Disconnected, a change happens; reconnecting with the last id delivers just it.
    drop(mine);
    let (_, third) = call(&host, &admin, Method::DELETE, &own, None).await;
    let mut resumed = Watch::open(&host, &admin, "?tenant=acme", b.id.as_deref()).await;
    let c = resumed.next().await;
    assert_eq!(c.id, Some(third["version"].to_string()), "{c:?}");
    resumed.quiet().await;
    // `?after=` does the same for clients that cannot send headers.
    let mut replay = Watch::open(
        &host,
        &admin,
        &format!("?tenant=acme&after={}", first["version"]),
        None,
    )
    .await;
    assert_eq!(replay.next().await.id, Some(second["version"].to_string()));
    assert_eq!(replay.next().await.id, Some(third["version"].to_string()));

    let bad = host
        .http
        .get(host.at("/v1/config/watch"))
        .bearer_auth(&admin)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(bad).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_last_event_id"))
    );
}

/// Posts to the hostile spoke's webhook; returns the status and body.
async fn hook(host: &TestHost, installation: &str, path: &str) -> (u16, String) {
    let response = host
        .http
        .post(host.at(&format!("/hooks/{installation}{path}")))
        .body("x")
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_lowered_deadline_or_memory_cap_applies_to_the_very_next_call() {
    let (host, installation, admin) = acme().await;
    let mut watch = Watch::open(&host, &admin, "?tenant=acme", None).await;
    assert_eq!(
        hook(&host, &installation, "/sleep?ms=600").await,
        (200, "slept".into())
    );
    assert_eq!(
        hook(&host, &installation, "/alloc?mib=20").await,
        (200, "allocated 20".into())
    );

    let own =
        |key: &str| format!("/v1/tenants/acme/installations/{installation}/config/settings/{key}");
    let (status, lowered) = call(
        &host,
        &admin,
        Method::PUT,
        &own(DEADLINE),
        Some(json!({"value": 200})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{lowered}");
    let started = Instant::now();
    let (status, body) = hook(&host, &installation, "/sleep?ms=600").await;
    assert_eq!(status, 504, "{body}");
    assert!(body.contains("spoke_timeout"), "{body}");
    assert!(
        started.elapsed() < Duration::from_millis(550),
        "stopped at 200 ms, not 600"
    );
    let change = watch.next().await;
    assert_eq!(
        (change.id, change.data["key"].as_str()),
        (Some(lowered["version"].to_string()), Some(DEADLINE))
    );
    let (_, view) = call(
        &host,
        &admin,
        Method::GET,
        &format!("/v1/tenants/acme/installations/{installation}"),
        None,
    )
    .await;
    assert_eq!(view["deadline_ms"], 200, "{view}");

    let (status, capped) = call(
        &host,
        &admin,
        Method::PUT,
        &own("spoke.memory_mib"),
        Some(json!({"value": 8})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{capped}");
    let (status, body) = hook(&host, &installation, "/alloc?mib=20").await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("spoke_memory_exceeded"), "{body}");
    assert_eq!(watch.next().await.data["key"], "spoke.memory_mib");

    // Removed again, the host's defaults apply to the next call.
    for key in [DEADLINE, "spoke.memory_mib"] {
        let (status, _) = call(&host, &admin, Method::DELETE, &own(key), None).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(
        hook(&host, &installation, "/sleep?ms=600").await,
        (200, "slept".into())
    );
    assert_eq!(
        hook(&host, &installation, "/alloc?mib=20").await,
        (200, "allocated 20".into())
    );

    // A change made behind the REST routes (another gateway, the hub's own API) reaches the
    // host through the change stream.
    let tenant: uuid::Uuid = host.tenant_id("acme").await.parse().unwrap();
    host.app
        .hubs
        .config
        .set(
            &nave_hub_core::AuthContext::system(),
            nave_config::Scope::Tenant(tenant),
            DEADLINE,
            json!(150),
            None,
        )
        .await
        .unwrap();
    until("the tenant's deadline reaches the next call", || async {
        let (status, _) = hook(&host, &installation, "/sleep?ms=400").await;
        (status == 504).then_some(())
    })
    .await;
    // And a restart keeps it: the host replays the hub's changes before it serves.
    let host = host.restart().await;
    assert_eq!(hook(&host, &installation, "/sleep?ms=400").await.0, 504);
}

#[tokio::test]
async fn a_message_costs_what_its_workspace_is_charged_now() {
    let host = TestHost::start().await;
    let channel = host
        .upload_and_install(spoke("fixtures/hostile"), "acme", json!({}))
        .await;
    let bot = host
        .upload_and_install(spoke("fixtures/echo-bot"), "acme", json!({"settings": {}}))
        .await;
    host.import_plans(&["acme"]).await;
    host.set_routing_rules(
        "acme",
        json!([{ "name": "all to the bot", "then": { "bot": bot } }]),
    )
    .await;
    let op = host.admin_token.clone();
    let (status, _) = call(
        &host,
        &op,
        Method::POST,
        "/v1/tenants/acme/wallet/credits",
        Some(json!({"amount": 100, "source": "top_up", "idempotency_key": "top-up-1"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let price = "/v1/tenants/acme/config/settings/billing.message_cost";
    let (status, body) = call(&host, &op, Method::PUT, price, Some(json!({"value": 7}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let balance = |expected: i64| {
        let host = &host;
        let op = op.clone();
        async move {
            until(&format!("a balance of {expected}"), || {
                let op = op.clone();
                async move {
                    let (_, wallet) =
                        call(host, &op, Method::GET, "/v1/tenants/acme/wallet", None).await;
                    (wallet["available"] == expected && wallet["held"] == 0).then_some(())
                }
            })
            .await
        }
    };
    assert_eq!(hook(&host, &channel, "/event?id=m-1").await.0, 200);
    balance(93).await;
    // A new price applies to the next message, with no restart; the global one to others.
    let (status, _) = call(&host, &op, Method::PUT, price, Some(json!({"value": 3}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hook(&host, &channel, "/event?id=m-2").await.0, 200);
    balance(90).await;
    let (status, _) = call(&host, &op, Method::DELETE, price, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &host,
        &op,
        Method::PUT,
        "/v1/config/settings/billing.message_cost",
        Some(json!({"value": 4})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hook(&host, &channel, "/event?id=m-3").await.0, 200);
    balance(86).await;
}

#[tokio::test]
async fn webhooks_over_an_installations_rate_limit_are_refused_with_when_to_come_back() {
    let (host, installation, admin) = acme().await;
    let other = host
        .upload_and_install(spoke("fixtures/hostile"), "acme", json!({}))
        .await;
    let limit = format!(
        "/v1/tenants/acme/installations/{installation}/config/settings/ingress.rate_limit_per_minute"
    );
    // A workspace admin may not lift its own limits.
    let (status, _) = call(
        &host,
        &admin,
        Method::PUT,
        &limit,
        Some(json!({"value": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let op = host.admin_token.clone();
    let (status, body) = call(&host, &op, Method::PUT, &limit, Some(json!({"value": 2}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    assert_eq!(hook(&host, &installation, "/event?id=m-1").await.0, 200);
    assert_eq!(hook(&host, &installation, "/event?id=m-2").await.0, 200);
    let refused = host
        .http
        .post(host.at(&format!("/hooks/{installation}/event?id=m-3")))
        .body("x")
        .send()
        .await
        .unwrap();
    // Two a minute: the next one is allowed in 30 s.
    assert_eq!(refused.headers()["retry-after"].to_str().unwrap(), "30");
    let (status, body) = json_of(refused).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("ingress.rate_limit_per_minute"),
        "{body}"
    );
    // The refused delivery stored nothing; another installation has no limit.
    let ids = |events: Vec<Value>| {
        events
            .iter()
            .map(|e| e["channel_id"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(host.events("acme", &installation).await.len(), 2);
    for i in 0..3 {
        assert_eq!(
            hook(&host, &other, &format!("/event?id=o-{i}")).await.0,
            200
        );
    }
    assert!(
        host.metrics()
            .await
            .contains("nave_webhooks_throttled_total 1"),
        "one delivery counted as throttled"
    );

    // Lifted for this installation (0 at the nearest scope), the channel's retry goes through.
    let (status, _) = call(&host, &op, Method::PUT, &limit, Some(json!({"value": 0}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hook(&host, &installation, "/event?id=m-3").await.0, 200);
    let mut stored = ids(host.events("acme", &installation).await);
    stored.sort();
    assert_eq!(stored, ["m-1", "m-2", "m-3"]);
}
