//! A workspace's audit trail: the events of every hub about it, merged in time order, with who
//! did what under which request, paged without gaps or repeats.

use nave_tests::{TestHost, json_of};
use serde_json::{Value, json};

async fn page(host: &TestHost, token: &str, query: &str) -> (u16, Value) {
    let response = host
        .http
        .get(host.at(&format!("/v1/tenants/acme/audit{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    (status.as_u16(), body)
}

#[tokio::test]
async fn the_trail_merges_every_hub_and_pages_without_gaps() {
    let host = TestHost::start().await;
    let (_, owner) = host.sign_up("owner@example.com").await;
    let created = host
        .http
        .post(host.at("/v1/tenants"))
        .bearer_auth(&owner)
        .header("x-correlation-id", "create-acme")
        .json(&json!({ "slug": "acme", "name": "Acme" }))
        .send()
        .await
        .unwrap();
    let (_, tenant) = json_of(created).await;
    let (agent_id, agent) = host.sign_up("agent@example.com").await;
    let added = host
        .http
        .post(host.at("/v1/tenants/acme/members"))
        .bearer_auth(&owner)
        .json(&json!({ "user_id": agent_id, "role": "agent" }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status().as_u16(), 201);
    let key = host
        .http
        .post(host.at("/v1/api-keys"))
        .bearer_auth(&owner)
        .json(&json!({ "name": "crm", "tenant_id": tenant["id"], "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(key.status().as_u16(), 201);
    let ctx = nave_hub_core::AuthContext::system().with_correlation_id("webhook-1");
    let identity = nave_user::ChannelIdentity {
        installation_id: uuid::Uuid::now_v7(),
        channel: "facebook".into(),
        channel_user_id: "psid-1".into(),
    };
    host.app
        .hubs
        .user
        .resolve_contact(
            &ctx,
            tenant["id"].as_str().unwrap().parse().unwrap(),
            identity,
            Default::default(),
        )
        .await
        .unwrap();

    let tuned = host
        .http
        .put(host.at("/v1/tenants/acme/config/settings/spoke.deadline_ms"))
        .bearer_auth(&owner)
        .header("x-correlation-id", "tune-acme")
        .json(&json!({ "value": 1200 }))
        .send()
        .await
        .unwrap();
    assert_eq!(tuned.status().as_u16(), 200);
    let routed = host
        .http
        .put(host.at("/v1/tenants/acme/routing-rules"))
        .bearer_auth(&owner)
        .header("x-correlation-id", "route-acme")
        .json(&json!({ "rules": [{ "name": "people", "then": { "handoff": true } }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(routed.status().as_u16(), 200);

    // The whole trail, oldest first, from every hub that logged something.
    let (status, all) = page(&host, &owner, "").await;
    assert_eq!(status, 200, "{all}");
    let entries = all["entries"].as_array().unwrap();
    let hubs: Vec<&str> = entries.iter().map(|e| e["hub"].as_str().unwrap()).collect();
    for hub in ["identity", "tenant", "user", "config", "message"] {
        assert!(hubs.contains(&hub), "{hub} is in the trail: {all:#}");
    }
    let first = &entries[0];
    assert_eq!(first["hub"], "tenant", "{all:#}");
    assert_eq!(first["correlation_id"], "create-acme");
    assert!(first["actor"].as_str().unwrap().starts_with("user:"));
    let contact = entries.iter().find(|e| e["hub"] == "user").unwrap();
    assert_eq!(
        (
            contact["actor"].as_str(),
            contact["correlation_id"].as_str()
        ),
        (Some("system"), Some("webhook-1"))
    );
    let rules = entries.iter().find(|e| e["hub"] == "message").unwrap();
    assert_eq!(
        (rules["kind"].as_str(), rules["correlation_id"].as_str()),
        (Some("routing_rules_changed"), Some("route-acme"))
    );
    let setting = entries.iter().find(|e| e["hub"] == "config").unwrap();
    assert_eq!(
        (
            setting["kind"].as_str(),
            setting["correlation_id"].as_str(),
            setting["payload"]["key"].as_str(),
            setting["payload"]["value"].as_i64(),
        ),
        (
            Some("config.set"),
            Some("tune-acme"),
            Some("spoke.deadline_ms"),
            Some(1200)
        ),
        "{setting}"
    );
    let times: Vec<time::OffsetDateTime> = entries
        .iter()
        .map(|e| {
            time::OffsetDateTime::parse(
                e["at"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        })
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "oldest first: {times:?}"
    );
    assert!(all["next"].is_null());

    // Two at a time: the same entries, none twice, none missing.
    let mut walked = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let (status, body) = page(&host, &owner, &query).await;
        assert_eq!(status, 200, "{body}");
        walked.extend(body["entries"].as_array().unwrap().iter().cloned());
        match body["next"].as_str() {
            Some(next) => query = format!("?limit=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(&walked, entries);

    // Agents may not read it; a forged cursor is refused.
    let (status, _) = page(&host, &agent, "").await;
    assert_eq!(status, 403);
    let (status, body) = page(&host, &owner, "?after=identity:0").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_query"))
    );
}
