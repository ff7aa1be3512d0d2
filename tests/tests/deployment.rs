//! The scaled-out deployment on loopback: one host runs the identity, tenant and user hubs and
//! serves them over gRPC; a second host — the gateway and spoke runtime, running no hub — reaches
//! them through `hub_urls`. Everything a user does through the gateway works as in the embedded
//! default.

use std::collections::BTreeMap;

use nave::config::HubName;
use nave_tests::{ADMIN_PASSWORD, TestHost, json_of, spoke};
use reqwest::Method;
use serde_json::json;

const SERVICE_TOKEN: &str = "a shared service token for tests";

#[tokio::test]
async fn a_gateway_uses_hubs_served_by_another_process() {
    let hubs = TestHost::start_with(|config| {
        config.hubs.grpc_listen = BTreeMap::from([
            (HubName::Identity, "127.0.0.1:0".parse().unwrap()),
            (HubName::Tenant, "127.0.0.1:0".parse().unwrap()),
            (HubName::User, "127.0.0.1:0".parse().unwrap()),
        ]);
        config.hubs.service_token = Some(SERVICE_TOKEN.into());
    })
    .await;
    let urls: BTreeMap<HubName, String> = hubs
        .app
        .hubs
        .grpc_addresses
        .iter()
        .map(|(hub, addr)| (*hub, format!("http://{addr}")))
        .collect();
    assert_eq!(urls.len(), 3, "every hub serves gRPC: {urls:?}");

    let gateway = TestHost::start_with(|config| {
        config.hubs.local.retain(|hub| !urls.contains_key(hub));
        config.hubs.remote = urls.clone();
        config.hubs.service_token = Some(SERVICE_TOKEN.into());
    })
    .await;
    // The platform admin was created by the hubs' host; the gateway signs them in over gRPC.
    assert!(gateway.app.hubs.bootstrapped_admin.is_none());
    let tokens = gateway.log_in("admin@nave.localhost", ADMIN_PASSWORD).await;
    assert!(
        tokens["user"]["platform_admin"].as_bool().unwrap_or(false),
        "{tokens}"
    );

    // A new user signs up at the gateway, creates a workspace and installs a spoke in it.
    let (_, ann) = gateway.sign_up("ann@example.com").await;
    let (status, tenant) = json_of(
        gateway
            .http
            .post(gateway.at("/v1/tenants"))
            .bearer_auth(&ann)
            .json(&json!({ "slug": "anns-shop", "name": "Ann's shop" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), tenant["role"].as_str()),
        (201, Some("owner")),
        "{tenant}"
    );
    let (status, _) = gateway.upload(spoke("fixtures/hostile")).await;
    assert!(status.is_success());
    let (status, installation) = json_of(
        gateway
            .http
            .post(gateway.at("/v1/tenants/anns-shop/installations"))
            .bearer_auth(&ann)
            .json(&json!({ "plugin": "hostile" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{installation}");

    // Her profile lives in the user hub, behind the gateway.
    let (status, profile) = json_of(
        gateway
            .http
            .patch(gateway.at("/v1/me/profile"))
            .bearer_auth(&ann)
            .json(&json!({ "display_name": "Ann", "time_zone": "Europe/Lisbon" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), profile["display_name"].as_str()),
        (200, Some("Ann")),
        "{profile}"
    );
    let (_, seen) = json_of(
        hubs.http
            .get(hubs.at("/v1/me/profile"))
            .bearer_auth(&ann)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(seen["time_zone"], "Europe/Lisbon");

    // The workspace lives in the hubs' host: it is visible there too.
    let (status, seen) = json_of(
        hubs.http
            .get(hubs.at("/v1/tenants/anns-shop"))
            .bearer_auth(&ann)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), seen["id"].clone()),
        (200, tenant["id"].clone())
    );

    // Another user of the gateway cannot see it, exactly as in one process.
    let (_, bob) = gateway.sign_up("bob@example.com").await;
    let response = gateway
        .http
        .request(
            Method::GET,
            gateway.at("/v1/tenants/anns-shop/installations"),
        )
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn hubs_refuse_grpc_calls_without_the_service_token() {
    let hubs = TestHost::start_with(|config| {
        config.hubs.grpc_listen =
            BTreeMap::from([(HubName::Identity, "127.0.0.1:0".parse().unwrap())]);
        config.hubs.service_token = Some(SERVICE_TOKEN.into());
    })
    .await;
    let (_, addr) = hubs.app.hubs.grpc_addresses[0];
    let wrong = nave_hub_core::grpc::ServiceToken::new(Some("not the shared token at all".into()));
    let client = nave_identity::grpc::IdentityClient::connect(&format!("http://{addr}"), wrong)
        .await
        .unwrap();
    let err = nave_identity::IdentityApi::jwks(&client, &nave_hub_core::AuthContext::anonymous())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unauthenticated", "{err:?}");
}

#[tokio::test]
async fn subscriptions_work_with_the_app_billing_and_wallet_hubs_elsewhere() {
    let hubs = TestHost::start_with(|config| {
        config.hubs.grpc_listen = BTreeMap::from([
            (HubName::Billing, "127.0.0.1:0".parse().unwrap()),
            (HubName::Wallet, "127.0.0.1:0".parse().unwrap()),
            (HubName::App, "127.0.0.1:0".parse().unwrap()),
        ]);
        config.hubs.service_token = Some(SERVICE_TOKEN.into());
    })
    .await;
    let urls: BTreeMap<HubName, String> = hubs
        .app
        .hubs
        .grpc_addresses
        .iter()
        .map(|(hub, addr)| (*hub, format!("http://{addr}")))
        .collect();
    assert_eq!(urls.len(), 3, "{urls:?}");
    let gateway = TestHost::start_with(|config| {
        config.hubs.local.retain(|hub| !urls.contains_key(hub));
        config.hubs.remote = urls.clone();
        config.hubs.service_token = Some(SERVICE_TOKEN.into());
    })
    .await;

    // The upload at the gateway lists the app on the remote app hub.
    let (status, body) = gateway.upload(spoke("fixtures/hello-1")).await;
    assert!(status.is_success(), "{body}");
    let (status, listing) = json_of(
        gateway
            .operator(Method::GET, "/v1/apps/hello")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(
        (&listing["latest_version"], &listing["publisher"]),
        (&json!("1.0.0"), &json!("nave"))
    );

    gateway.import_plans(&["acme"]).await;
    let (status, sub) = json_of(
        gateway
            .operator(Method::POST, "/v1/tenants/acme/subscriptions")
            .json(&json!({ "app": "hello", "settings": { "required_thing": "x" } }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{sub}");
    assert_eq!(sub["status"], "active");
    let installation = sub["installation_id"].as_str().unwrap();
    let answer = gateway
        .http
        .post(gateway.at(&format!("/hooks/{installation}")))
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "hello from 1.0.0");
}

#[tokio::test]
async fn settings_kept_by_a_config_hub_elsewhere_apply_at_the_gateway() {
    let hubs = TestHost::start_with(|config| {
        config.hubs.grpc_listen =
            BTreeMap::from([(HubName::Config, "127.0.0.1:0".parse().unwrap())]);
        config.hubs.service_token = Some(SERVICE_TOKEN.into());
    })
    .await;
    let (hub, addr) = hubs.app.hubs.grpc_addresses[0];
    assert_eq!(hub, HubName::Config);
    let gateway = TestHost::start_with(|config| {
        config.hubs.local.retain(|hub| *hub != HubName::Config);
        config.hubs.remote = BTreeMap::from([(HubName::Config, format!("http://{addr}"))]);
        config.hubs.service_token = Some(SERVICE_TOKEN.into());
    })
    .await;
    assert!(gateway.app.hubs.local_config.is_none());
    let installation = gateway
        .upload_and_install(spoke("fixtures/hostile"), "acme", json!({}))
        .await;
    let sleep = || async {
        gateway
            .http
            .post(gateway.at(&format!("/hooks/{installation}/sleep?ms=400")))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(sleep().await, 200);

    // Written through the gateway, over gRPC: the next call already has it.
    let own =
        format!("/v1/tenants/acme/installations/{installation}/config/settings/spoke.deadline_ms");
    let (status, body) = json_of(
        gateway
            .operator(Method::PUT, &own)
            .json(&json!({ "value": 100 }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sleep().await, 504);
    let (status, _) = json_of(gateway.operator(Method::DELETE, &own).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(sleep().await, 200);

    // Written in the hub's own process: the gateway hears of it on the hub's change stream.
    let tenant: uuid::Uuid = gateway.tenant_id("acme").await.parse().unwrap();
    hubs.app
        .hubs
        .config
        .set(
            &nave_hub_core::AuthContext::system(),
            nave_config::Scope::Tenant(tenant),
            "spoke.deadline_ms",
            json!(100),
            None,
        )
        .await
        .unwrap();
    nave_tests::until("the hub's change at the gateway", || async {
        (sleep().await == 504).then_some(())
    })
    .await;
}
