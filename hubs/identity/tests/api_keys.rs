//! API keys: shown once, verifiable, scoped to a tenant and role, revocable.

mod common;

use common::*;
use nave_hub_core::ids::new_id;
use nave_hub_core::{EventScope, Role};
use nave_identity::NewApiKey;

fn new_key(tenant: uuid::Uuid, role: &str) -> NewApiKey {
    NewApiKey {
        name: "Odoo sync".into(),
        tenant_id: tenant,
        role: role.into(),
    }
}

#[tokio::test]
async fn api_key_is_shown_once_verifies_and_stops_when_revoked() {
    for hub in hubs().await {
        let tenant = new_id();
        let owner = sign_up(&hub, "owner@example.com").await;
        let ctx = ctx_of(&owner).in_tenant(tenant, Role::Admin);

        let created = hub
            .api
            .create_api_key(&ctx, new_key(tenant, "agent"))
            .await
            .unwrap();
        assert!(created.secret.starts_with("nave_ak_"), "[{}]", hub.label);
        assert!(created.secret.starts_with(&created.key.prefix));
        assert_eq!(created.key.created_by, format!("user:{}", owner.user.id));

        let verified = hub
            .api
            .verify_api_key(&anon(), &created.secret)
            .await
            .unwrap();
        assert_eq!((verified.id, verified.tenant_id), (created.key.id, tenant));
        assert_eq!(verified.role, "agent");

        // Listing never shows the secret again.
        let listed = hub.api.list_api_keys(&ctx, tenant).await.unwrap();
        assert_eq!(listed.len(), 1);
        let json = serde_json::to_string(&listed).unwrap();
        assert!(
            !json.contains(&created.secret[created.key.prefix.len()..]),
            "[{}]",
            hub.label
        );

        hub.api.revoke_api_key(&ctx, created.key.id).await.unwrap();
        let r = hub.api.verify_api_key(&anon(), &created.secret).await;
        assert_err(&hub, r, "unauthenticated", Some("api_key_revoked"));
        assert!(
            hub.api.list_api_keys(&ctx, tenant).await.unwrap()[0]
                .revoked_at
                .is_some()
        );

        let events = hub
            .api
            .list_events(&ctx, EventScope::Tenant(tenant), 0, 10)
            .await
            .unwrap();
        let kinds: Vec<_> = events.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["identity.api_key.created", "identity.api_key.revoked"]
        );

        let r = hub.api.verify_api_key(&anon(), "nave_ak_madeup").await;
        assert_err(&hub, r, "unauthenticated", None);
    }
}

#[tokio::test]
async fn api_keys_respect_tenant_and_role() {
    for hub in hubs().await {
        let tenant = new_id();
        let other_tenant = new_id();
        let user = sign_up(&hub, "ann@example.com").await;
        let viewer = ctx_of(&user).in_tenant(tenant, Role::Viewer);
        let admin = ctx_of(&user).in_tenant(tenant, Role::Admin);
        let outsider = ctx_of(&user).in_tenant(other_tenant, Role::Owner);

        assert_err(
            &hub,
            hub.api
                .create_api_key(&viewer, new_key(tenant, "viewer"))
                .await,
            "permission_denied",
            None,
        );
        assert_err(
            &hub,
            hub.api
                .create_api_key(&admin, new_key(tenant, "owner"))
                .await,
            "permission_denied",
            None,
        );
        assert_err(
            &hub,
            hub.api
                .create_api_key(&outsider, new_key(tenant, "viewer"))
                .await,
            // Another tenant's members learn nothing about it: like a missing tenant.
            "not_found",
            None,
        );
        assert_err(
            &hub,
            hub.api
                .create_api_key(&anon(), new_key(tenant, "viewer"))
                .await,
            "unauthenticated",
            None,
        );
        let bad_role = hub
            .api
            .create_api_key(&admin, new_key(tenant, "root"))
            .await;
        assert_eq!(
            assert_err(&hub, bad_role, "invalid_argument", None).fields()[0].field,
            "role"
        );

        let key = hub
            .api
            .create_api_key(&admin, new_key(tenant, "admin"))
            .await
            .unwrap();
        assert_err(
            &hub,
            hub.api.list_api_keys(&outsider, tenant).await,
            "not_found",
            None,
        );
        assert_err(
            &hub,
            hub.api.revoke_api_key(&outsider, key.key.id).await,
            "not_found",
            None,
        );
        hub.api.verify_api_key(&anon(), &key.secret).await.unwrap();

        let root = admin_of(&hub).await;
        hub.api.revoke_api_key(&root, key.key.id).await.unwrap();
        assert_err(
            &hub,
            hub.api.verify_api_key(&anon(), &key.secret).await,
            "unauthenticated",
            None,
        );
    }
}

async fn admin_of(hub: &Hub) -> nave_hub_core::AuthContext {
    ctx_of(&admin(hub).await)
}
