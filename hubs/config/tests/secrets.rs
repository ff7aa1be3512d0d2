//! Secrets: sealed at rest, masked for everyone but the platform, refused without a seal key.

mod common;

use common::*;
use nave_config::{ConfigConfig, MASK, Origin, ResolveAt, Scope};
use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, DbConfig, Role};
use serde_json::json;
use sqlx::Connection;

const SECRET: &str = "webhook.signing_secret";
const CLEAR: &str = "whsec-very-secret-value";

/// Every stored text and byte column a secret could leak into, as raw strings.
async fn raw_rows(db: &DbConfig) -> Vec<String> {
    type Row = (Option<String>, Option<Vec<u8>>);
    let values = "SELECT value, sealed FROM config_values";
    let changes =
        "SELECT COALESCE(value, previous), COALESCE(sealed, previous_sealed) FROM config_changes";
    let mut rows: Vec<Row> = Vec::new();
    match db {
        DbConfig::Sqlite { path } => {
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            for sql in [values, changes] {
                rows.extend(
                    sqlx::query_as::<_, Row>(sql)
                        .fetch_all(&mut conn)
                        .await
                        .unwrap(),
                );
            }
            let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM hub_events")
                .fetch_all(&mut conn)
                .await
                .unwrap();
            rows.extend(payloads.into_iter().map(|p| (Some(p), None)));
        }
        DbConfig::Postgres { options } => {
            let mut conn = sqlx::PgConnection::connect_with(options).await.unwrap();
            for sql in [values, changes] {
                rows.extend(
                    sqlx::query_as::<_, Row>(sql)
                        .fetch_all(&mut conn)
                        .await
                        .unwrap(),
                );
            }
            let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM hub_events")
                .fetch_all(&mut conn)
                .await
                .unwrap();
            rows.extend(payloads.into_iter().map(|p| (Some(p), None)));
        }
    }
    rows.into_iter()
        .map(|(text, bytes)| {
            format!(
                "{}{}",
                text.unwrap_or_default(),
                String::from_utf8_lossy(&bytes.unwrap_or_default())
            )
        })
        .collect()
}

#[tokio::test]
async fn secrets_are_sealed_at_rest_and_masked_for_everyone_but_the_platform() {
    for hub in hubs().await {
        let (tenant, installation) = (new_id(), new_id());
        let scope = Scope::Installation {
            tenant_id: tenant,
            installation_id: installation,
        };
        let at = ResolveAt::installation(tenant, installation);
        let owner = member(tenant, Role::Owner);
        let api = &hub.api;

        let set = api
            .set(&owner, scope, SECRET, json!(CLEAR), None)
            .await
            .unwrap();
        assert_eq!(
            (set.value.clone(), set.masked),
            (Some(json!(MASK)), true),
            "[{}]",
            hub.label
        );
        api.set(&owner, scope, SECRET, json!("second-secret"), None)
            .await
            .unwrap();

        let rows = raw_rows(&hub.db.config).await;
        assert!(rows.len() >= 5, "[{}] {rows:?}", hub.label);
        for row in &rows {
            assert!(
                !row.contains(CLEAR) && !row.contains("second-secret"),
                "[{}] leaked: {row}",
                hub.label
            );
        }

        // Members, platform admins, and the platform without `reveal` see the mask.
        let mut platform_admin = AuthContext::user(new_id());
        platform_admin.platform_admin = true;
        for ctx in [
            owner.clone(),
            member(tenant, Role::Viewer),
            platform_admin,
            system(),
        ] {
            // Everyone asks for the clear value except the platform, which does not ask here.
            let reveal = ctx.principal != nave_hub_core::Principal::System;
            let r = api.resolve(&ctx, SECRET, at, reveal).await.unwrap();
            assert_eq!(
                (r.value, r.masked, r.from),
                (json!(MASK), true, Origin::Installation),
                "[{}]",
                hub.label
            );
            let history = api.history(&ctx, scope, SECRET, 0).await.unwrap();
            if ctx.principal == nave_hub_core::Principal::System {
                assert_eq!(
                    history[0].value,
                    Some(json!("second-secret")),
                    "[{}]",
                    hub.label
                );
                assert_eq!(history[0].previous, Some(json!(CLEAR)));
                assert!(!history[0].masked);
            } else {
                assert_eq!(history[0].value, Some(json!(MASK)), "[{}]", hub.label);
                assert_eq!(history[0].previous, Some(json!(MASK)));
                assert!(history[0].masked);
            }
        }
        // `reveal` is honoured for the platform only.
        let clear = api.resolve(&system(), SECRET, at, true).await.unwrap();
        assert_eq!(
            (clear.value, clear.masked),
            (json!("second-secret"), false),
            "[{}]",
            hub.label
        );
        let admin = member(tenant, Role::Admin);
        let masked = api.resolve(&admin, SECRET, at, true).await.unwrap();
        assert_eq!(masked.value, json!(MASK), "[{}]", hub.label);
        let all = api.resolve_all(&admin, at, true).await.unwrap();
        let secret = all.iter().find(|r| r.key == SECRET).unwrap();
        assert_eq!((secret.value.clone(), secret.masked), (json!(MASK), true));
        let all = api.resolve_all(&system(), at, true).await.unwrap();
        let secret = all.iter().find(|r| r.key == SECRET).unwrap();
        assert_eq!(secret.value, json!("second-secret"), "[{}]", hub.label);

        // A rollback restores the older secret, still sealed.
        let history = api.history(&system(), scope, SECRET, 0).await.unwrap();
        api.rollback(&owner, scope, SECRET, history[1].version)
            .await
            .unwrap();
        let back = api.resolve(&system(), SECRET, at, true).await.unwrap();
        assert_eq!(back.value, json!(CLEAR), "[{}]", hub.label);
        for row in raw_rows(&hub.db.config).await {
            assert!(!row.contains(CLEAR), "[{}] leaked: {row}", hub.label);
        }

        // A secret is never echoed in a validation error.
        let long = "x".repeat(5000);
        let err = assert_err(
            &hub,
            api.set(&owner, scope, SECRET, json!(long), None).await,
            "invalid_argument",
        );
        assert!(!err.to_string().contains("xxxx"), "[{}] {err}", hub.label);
    }
}

#[tokio::test]
async fn secrets_are_refused_without_a_seal_key() {
    for hub in hubs_with(ConfigConfig::default).await {
        let tenant = new_id();
        let scope = Scope::Installation {
            tenant_id: tenant,
            installation_id: new_id(),
        };
        let err = assert_err(
            &hub,
            hub.api
                .set(&system(), scope, SECRET, json!(CLEAR), None)
                .await,
            "failed_precondition",
        );
        assert_eq!(err.reasons()[0].code, "no_seal_key", "[{}]", hub.label);
        assert!(
            hub.api
                .history(&system(), scope, SECRET, 0)
                .await
                .unwrap()
                .is_empty()
        );
        // Plain settings still work.
        hub.api
            .set(
                &system(),
                Scope::Tenant(tenant),
                "spoke.memory_mib",
                json!(32),
                None,
            )
            .await
            .unwrap();
    }
}
