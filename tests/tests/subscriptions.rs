//! Subscribing workspaces to apps through the host: the subscription saga over the real app,
//! billing and wallet hubs and the host's installer (the plugin registry and the spoke's hooks).

use nave_tests::{TestHost, json_of, metric, spoke};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A host with `acme` on the team plan and `hello` 1.0.0 uploaded (which lists it publicly).
async fn host_with_hello() -> TestHost {
    let host = TestHost::start().await;
    host.import_plans(&["acme"]).await;
    let (status, body) = host.upload(spoke("fixtures/hello-1")).await;
    assert!(status.is_success(), "upload: {body}");
    host
}

async fn call(
    host: &TestHost,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = host.operator(method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    json_of(request.send().await.unwrap()).await
}

async fn set_fee(host: &TestHost, amount: i64) {
    let (status, listing) = call(
        host,
        Method::PATCH,
        "/v1/apps/hello",
        Some(json!({ "install_fee": amount })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    assert_eq!(listing["install_fee"]["amount"], amount);
}

async fn credit(host: &TestHost, slug: &str, amount: i64) {
    let (status, body) = call(
        host,
        Method::POST,
        &format!("/v1/tenants/{slug}/wallet/credits"),
        Some(json!({ "amount": amount, "source": "top_up", "memo": "for apps", "idempotency_key": format!("top-up-{slug}-{amount}") })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn wallet(host: &TestHost, slug: &str) -> (i64, i64) {
    let (status, body) = call(
        host,
        Method::GET,
        &format!("/v1/tenants/{slug}/wallet"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["available"].as_i64().unwrap(),
        body["held"].as_i64().unwrap(),
    )
}

async fn subscribe(host: &TestHost, slug: &str, body: Value) -> (StatusCode, Value) {
    call(
        host,
        Method::POST,
        &format!("/v1/tenants/{slug}/subscriptions"),
        Some(body),
    )
    .await
}

async fn hook(host: &TestHost, id: &str) -> (u16, String) {
    let response = host
        .http
        .post(host.at(&format!("/hooks/{id}")))
        .body("hi")
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn codes(error: &Value) -> Vec<String> {
    let mut codes: Vec<String> = error["reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("no reasons in {error}"))
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn a_subscription_installs_the_spoke_and_captures_the_fee() {
    let host = host_with_hello().await;
    set_fee(&host, 300).await;
    credit(&host, "acme", 1000).await;

    let (status, sub) = subscribe(
        &host,
        "acme",
        json!({ "app": "hello", "settings": { "required_thing": "x" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    assert_eq!(
        (
            &sub["status"],
            &sub["version"],
            &sub["fee"]["amount"],
            &sub["fee_captured"]
        ),
        (&json!("active"), &json!("1.0.0"), &json!(300), &json!(true)),
        "{sub}"
    );
    let installation = sub["installation_id"].as_str().unwrap().to_owned();

    // The installation is the host's own, pinned and answering its webhook.
    let (status, view) = call(
        &host,
        Method::GET,
        &format!("/v1/tenants/acme/installations/{installation}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        (&view["plugin"], &view["version"]),
        (&json!("hello"), &json!("1.0.0"))
    );
    assert_eq!(view["settings"], json!({ "required_thing": "x" }));
    assert_eq!(
        hook(&host, &installation).await,
        (200, "hello from 1.0.0".into())
    );

    // The fee was held, then captured: nothing held, 300 gone, and the statement says so.
    assert_eq!(wallet(&host, "acme").await, (700, 0));
    let (_, statement) = call(
        &host,
        Method::GET,
        "/v1/tenants/acme/wallet/transactions",
        None,
    )
    .await;
    let fee_lines: Vec<&Value> = statement["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "install_fee")
        .collect();
    assert!(
        fee_lines
            .iter()
            .any(|e| e["amount"] == -300 || e["held_change"] == -300),
        "the fee's lines: {statement}"
    );

    // The app hub reads it back, by the tenant's id.
    let tenant = host.tenant_id("acme").await;
    let id = sub["id"].as_str().unwrap();
    let (status, read) = call(
        &host,
        Method::GET,
        &format!("/v1/tenants/{tenant}/subscriptions/{id}"),
        None,
    )
    .await;
    assert_eq!(
        (status, &read["status"]),
        (StatusCode::OK, &json!("active")),
        "{read}"
    );

    // And the audit trail has the app hub's events, with its cursor.
    let (status, trail) = call(&host, Method::GET, "/v1/tenants/acme/audit?limit=200", None).await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    let kinds: Vec<&str> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["hub"] == "app")
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"app.subscription_created")
            && kinds.contains(&"app.subscription_activated"),
        "{kinds:?}"
    );
    let (status, first) = call(&host, Method::GET, "/v1/tenants/acme/audit?limit=1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        first["next"].as_str().unwrap().contains(",app:0,"),
        "{first}"
    );
}

#[tokio::test]
async fn a_refused_install_keeps_nothing_and_releases_the_hold() {
    let host = host_with_hello().await;
    set_fee(&host, 300).await;
    credit(&host, "acme", 1000).await;

    // hello needs `required_thing`: its installation is refused after the fee was held.
    let (status, error) = subscribe(&host, "acme", json!({ "app": "hello" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["code"], "failed_precondition", "{error}");
    assert_eq!(codes(&error), ["missing_settings"], "{error}");

    let (_, list) = call(&host, Method::GET, "/v1/tenants/acme/installations", None).await;
    assert_eq!(list["installations"], json!([]), "nothing installed");
    assert_eq!(
        wallet(&host, "acme").await,
        (1000, 0),
        "the hold was released"
    );

    let tenant = host.tenant_id("acme").await;
    let (status, subs) = call(
        &host,
        Method::GET,
        &format!("/v1/tenants/{tenant}/subscriptions"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{subs}");
    let subs = subs.as_array().unwrap();
    assert_eq!(subs.len(), 1, "{subs:?}");
    assert_eq!(
        (
            &subs[0]["status"],
            &subs[0]["fee_captured"],
            &subs[0]["installation_id"]
        ),
        (&json!("failed"), &json!(false), &Value::Null),
        "{subs:?}"
    );
}

#[tokio::test]
async fn every_failed_guard_is_reported_at_once() {
    let host = host_with_hello().await;
    set_fee(&host, 300).await;
    // globex has no plan and no money; its agent may not subscribe it.
    host.ensure_tenant("globex").await;
    let (agent_id, agent) = host.sign_up("agent@example.com").await;
    host.add_member("globex", &agent_id, "agent").await;

    let response = host
        .http
        .post(host.at("/v1/tenants/globex/subscriptions"))
        .bearer_auth(&agent)
        .json(&json!({ "app": "hello", "settings": { "required_thing": "x" } }))
        .send()
        .await
        .unwrap();
    let (status, error) = json_of(response).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["code"], "failed_precondition");
    assert_eq!(
        codes(&error),
        ["app_not_in_plan", "insufficient_funds", "not_tenant_admin"],
        "{error}"
    );
    let (_, list) = call(&host, Method::GET, "/v1/tenants/globex/installations", None).await;
    assert_eq!(list["installations"], json!([]));

    // A stranger learns nothing about the workspace.
    let (_, stranger) = host.sign_up("stranger@example.com").await;
    let response = host
        .http
        .post(host.at("/v1/tenants/globex/subscriptions"))
        .bearer_auth(&stranger)
        .json(&json!({ "app": "hello" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unsubscribing_runs_uninstall_and_removes_the_installation() {
    let host = host_with_hello().await;
    let (status, sub) = subscribe(
        &host,
        "acme",
        json!({ "app": "hello", "settings": { "required_thing": "x" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    let installation = sub["installation_id"].as_str().unwrap().to_owned();
    let id = sub["id"].as_str().unwrap();
    assert_eq!(hook(&host, &installation).await.0, 200);

    let (status, cancelled) = call(
        &host,
        Method::DELETE,
        &format!("/v1/tenants/acme/subscriptions/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");

    let uninstalls = metric(
        &host.metrics().await,
        "nave_spoke_calls_total{plugin=\"hello\",function=\"uninstall\",outcome=\"ok\"}",
    );
    assert_eq!(uninstalls, 1.0, "uninstall() ran once");
    let (status, _) = call(
        &host,
        Method::GET,
        &format!("/v1/tenants/acme/installations/{installation}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(hook(&host, &installation).await.0, 404);

    // Unsubscribing again answers the cancelled subscription and calls no hook.
    let (status, again) = call(
        &host,
        Method::DELETE,
        &format!("/v1/tenants/acme/subscriptions/{id}"),
        None,
    )
    .await;
    assert_eq!(
        (status, &again["status"]),
        (StatusCode::OK, &json!("cancelled"))
    );
    let uninstalls = metric(
        &host.metrics().await,
        "nave_spoke_calls_total{plugin=\"hello\",function=\"uninstall\",outcome=\"ok\"}",
    );
    assert_eq!(uninstalls, 1.0);
}
