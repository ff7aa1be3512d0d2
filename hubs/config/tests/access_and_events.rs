//! Who may call what, and the event log, over every hub implementation and backend.

mod common;

use common::*;
use nave_config::{ResolveAt, Scope};
use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, EventScope, Role};
use serde_json::json;
use uuid::Uuid;

const KEY: &str = "spoke.deadline_ms";

/// What one caller gets from each method at a global and a tenant scope: `"ok"` or the code.
#[derive(Debug, PartialEq, Eq)]
struct Outcomes {
    read_global: String,
    write_global: String,
    read_tenant: String,
    write_tenant: String,
}

fn code<T>(result: nave_hub_core::Result<T>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) => e.code().into(),
    }
}

/// All of a group's methods must agree; returns their one outcome.
fn agree(who: &str, what: &str, codes: Vec<String>) -> String {
    assert!(
        codes.windows(2).all(|w| w[0] == w[1]),
        "{who} {what}: {codes:?}"
    );
    codes[0].clone()
}

async fn try_all(hub: &Hub, who: &str, ctx: &AuthContext, tenant: Uuid) -> Outcomes {
    let api = &hub.api;
    let installation = Scope::Installation {
        tenant_id: tenant,
        installation_id: new_id(),
    };
    let at = ResolveAt::installation(tenant, new_id());
    // Versions to roll back to, made by the platform.
    let g = api
        .set(&system(), Scope::Global, KEY, json!(100), None)
        .await
        .unwrap();
    let t = api
        .set(&system(), Scope::Tenant(tenant), KEY, json!(200), None)
        .await
        .unwrap();
    let i = api
        .set(&system(), installation, KEY, json!(300), None)
        .await
        .unwrap();
    let read_global = agree(
        who,
        "read global",
        vec![
            code(api.resolve(ctx, KEY, ResolveAt::global(), false).await),
            code(api.resolve_all(ctx, ResolveAt::global(), false).await),
            code(api.history(ctx, Scope::Global, KEY, 0).await),
            code(api.list_definitions(ctx).await),
        ],
    );
    let read_tenant = agree(
        who,
        "read tenant",
        vec![
            code(api.resolve(ctx, KEY, at, false).await),
            code(api.resolve_all(ctx, ResolveAt::tenant(tenant), false).await),
            code(api.history(ctx, Scope::Tenant(tenant), KEY, 0).await),
            code(api.history(ctx, installation, KEY, 0).await),
        ],
    );
    let write_global = agree(
        who,
        "write global",
        vec![
            code(api.set(ctx, Scope::Global, KEY, json!(1000), None).await),
            code(api.rollback(ctx, Scope::Global, KEY, g.version).await),
            code(api.unset(ctx, Scope::Global, KEY).await),
        ],
    );
    let write_tenant = agree(
        who,
        "write tenant",
        vec![
            code(
                api.set(ctx, Scope::Tenant(tenant), KEY, json!(1000), None)
                    .await,
            ),
            code(
                api.rollback(ctx, Scope::Tenant(tenant), KEY, t.version)
                    .await,
            ),
            code(api.unset(ctx, Scope::Tenant(tenant), KEY).await),
            code(api.set(ctx, installation, KEY, json!(1000), None).await),
            code(api.rollback(ctx, installation, KEY, i.version).await),
            code(api.unset(ctx, installation, KEY).await),
        ],
    );
    Outcomes {
        read_global,
        write_global,
        read_tenant,
        write_tenant,
    }
}

fn expect(
    read_global: &str,
    write_global: &str,
    read_tenant: &str,
    write_tenant: &str,
) -> Outcomes {
    Outcomes {
        read_global: read_global.into(),
        write_global: write_global.into(),
        read_tenant: read_tenant.into(),
        write_tenant: write_tenant.into(),
    }
}

#[tokio::test]
async fn each_caller_gets_exactly_its_rights() {
    for hub in hubs().await {
        let tenant = new_id();
        let (ok, denied, hidden) = ("ok", "permission_denied", "not_found");
        let table = [
            (
                "viewer",
                member(tenant, Role::Viewer),
                expect(ok, denied, ok, denied),
            ),
            (
                "agent",
                member(tenant, Role::Agent),
                expect(ok, denied, ok, denied),
            ),
            (
                "admin",
                member(tenant, Role::Admin),
                expect(ok, denied, ok, ok),
            ),
            (
                "owner",
                member(tenant, Role::Owner),
                expect(ok, denied, ok, ok),
            ),
            (
                "owner of another tenant",
                member(new_id(), Role::Owner),
                expect(ok, denied, hidden, hidden),
            ),
            (
                "user without tenant",
                AuthContext::user(new_id()),
                expect(ok, denied, hidden, hidden),
            ),
            (
                "api key of the tenant",
                AuthContext::api_key(new_id()).in_tenant(tenant, Role::Admin),
                expect(ok, denied, ok, ok),
            ),
            ("platform admin", platform_admin(), expect(ok, ok, ok, ok)),
            ("system", system(), expect(ok, ok, ok, ok)),
            (
                "anonymous",
                AuthContext::anonymous(),
                expect(
                    "unauthenticated",
                    "unauthenticated",
                    "unauthenticated",
                    "unauthenticated",
                ),
            ),
        ];
        for (who, ctx, expected) in table {
            let got = try_all(&hub, who, &ctx, tenant).await;
            assert_eq!(got, expected, "[{}] {who}", hub.label);
        }
    }
}

#[tokio::test]
async fn changes_are_recorded_in_the_event_log() {
    for hub in hubs().await {
        let tenant = new_id();
        let owner = member(tenant, Role::Owner).with_correlation_id("req-42");
        let api = &hub.api;
        let global = api
            .set(&system(), Scope::Global, KEY, json!(900), None)
            .await
            .unwrap();
        let set = api
            .set(&owner, Scope::Tenant(tenant), KEY, json!(1500), None)
            .await
            .unwrap();
        let unset = api.unset(&owner, Scope::Tenant(tenant), KEY).await.unwrap();
        let back = api
            .rollback(&owner, Scope::Tenant(tenant), KEY, set.version)
            .await
            .unwrap();
        let installation = Scope::Installation {
            tenant_id: tenant,
            installation_id: new_id(),
        };
        api.set(
            &owner,
            installation,
            "webhook.signing_secret",
            json!("s3cr3t-value"),
            None,
        )
        .await
        .unwrap();

        let page = api
            .list_events(
                &member(tenant, Role::Admin),
                EventScope::Tenant(tenant),
                0,
                100,
            )
            .await
            .unwrap();
        let seen: Vec<(&str, i64)> = page
            .events
            .iter()
            .map(|e| (e.kind.as_str(), e.payload["version"].as_i64().unwrap()))
            .collect();
        assert_eq!(
            seen[..3],
            [
                ("config.set", set.version as i64),
                ("config.unset", unset.version as i64),
                ("config.rolled_back", back.version as i64),
            ],
            "[{}]",
            hub.label
        );
        let first = &page.events[0];
        assert_eq!(
            (first.actor.clone(), first.correlation_id.as_str()),
            (owner.actor(), "req-42")
        );
        assert_eq!(first.payload["value"], json!(1500));
        assert_eq!(first.payload["key"], json!(KEY));
        assert_eq!(page.events[2].payload["to_version"], json!(set.version));
        let secret = &page.events[3];
        assert_eq!(
            (secret.kind.as_str(), secret.payload["secret"].clone()),
            ("config.set", json!(true))
        );
        assert!(
            !secret.payload.to_string().contains("s3cr3t"),
            "[{}] {}",
            hub.label,
            secret.payload
        );

        let platform = api
            .list_events(&platform_admin(), EventScope::Platform, 0, 100)
            .await
            .unwrap();
        assert_eq!(platform.events.len(), 1, "[{}]", hub.label);
        assert_eq!(platform.events[0].payload["version"], json!(global.version));
        assert_err(
            &hub,
            api.list_events(
                &member(tenant, Role::Viewer),
                EventScope::Tenant(tenant),
                0,
                10,
            )
            .await,
            "permission_denied",
        );
        assert_err(
            &hub,
            api.list_events(&owner, EventScope::All, 0, 10).await,
            "permission_denied",
        );
    }
}

#[tokio::test]
async fn prices_and_abuse_limits_are_set_by_platform_admins_only() {
    for hub in hubs().await {
        let tenant = new_id();
        let owner = member(tenant, Role::Owner);
        for key in ["billing.message_cost", "ingress.rate_limit_per_minute"] {
            assert_err(
                &hub,
                hub.api
                    .set(&owner, Scope::Tenant(tenant), key, json!(0), None)
                    .await,
                "permission_denied",
            );
            // A stranger still cannot tell the tenant exists.
            assert_err(
                &hub,
                hub.api
                    .set(
                        &member(new_id(), Role::Owner),
                        Scope::Tenant(tenant),
                        key,
                        json!(0),
                        None,
                    )
                    .await,
                "not_found",
            );
            let set = hub
                .api
                .set(
                    &platform_admin(),
                    Scope::Tenant(tenant),
                    key,
                    json!(5),
                    None,
                )
                .await
                .unwrap();
            assert_eq!(set.value, Some(json!(5)), "[{}]", hub.label);
            assert_err(
                &hub,
                hub.api.unset(&owner, Scope::Tenant(tenant), key).await,
                "permission_denied",
            );
        }
        // What the tenant may tune, its owner sets.
        hub.api
            .set(
                &owner,
                Scope::Tenant(tenant),
                "spoke.deadline_ms",
                json!(900),
                None,
            )
            .await
            .unwrap();
        let defs = hub.api.list_definitions(&owner).await.unwrap();
        let price = defs
            .iter()
            .find(|d| d.key == "billing.message_cost")
            .unwrap();
        assert!(!price.tenant_writable, "[{}]", hub.label);
    }
}
