//! What is set now is a projection of the change log: dropped and rebuilt from the changes, it
//! comes back exactly as it was, on SQLite and PostgreSQL.

mod common;

use common::*;
use nave_config::{ConfigApi, ResolveAt, Resolved, Scope};
use nave_hub_core::DbConfig;
use nave_hub_core::ids::new_id;
use serde_json::json;
use sqlx::Connection;

/// A row of `config_values`, every column, as text (sealed bytes in hex).
type Row = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
    i64,
);

const ROWS: &str = "SELECT scope, key, tenant_id, installation_id, value, sealed, version \
                    FROM config_values ORDER BY scope, key";

/// Runs `sql` on the hub's own database and returns the projection's rows.
async fn on_database(db: &DbConfig, sql: Option<&str>) -> Vec<Row> {
    match db {
        DbConfig::Sqlite { path } => {
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            if let Some(sql) = sql {
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }
            sqlx::query_as::<_, Row>(ROWS)
                .fetch_all(&mut conn)
                .await
                .unwrap()
        }
        DbConfig::Postgres { options } => {
            let mut conn = sqlx::PgConnection::connect_with(options).await.unwrap();
            if let Some(sql) = sql {
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }
            sqlx::query_as::<_, Row>(ROWS)
                .fetch_all(&mut conn)
                .await
                .unwrap()
        }
    }
}

/// Everything a caller can read: every setting resolved at every scope, secrets in clear.
async fn everything(api: &dyn ConfigApi, at: &[ResolveAt]) -> Vec<Vec<Resolved>> {
    let mut all = Vec::new();
    for at in at {
        all.push(api.resolve_all(&system(), *at, true).await.unwrap());
    }
    all
}

#[tokio::test]
async fn values_dropped_and_rebuilt_from_the_changes_are_the_same() {
    for backend in nave_hub_core::testing::backends() {
        let hub = local(
            backend,
            nave_config::ConfigConfig {
                seal_key: Some(SEAL_KEY),
                ..Default::default()
            },
        )
        .await;
        let api = hub.api.as_ref();
        let sys = system();
        let (tenant, other) = (new_id(), new_id());
        let installation = Scope::Installation {
            tenant_id: tenant,
            installation_id: new_id(),
        };
        // A history with every kind of change: sets over sets, an unset, a rollback, a secret
        // (sealed bytes), at every scope.
        api.set(&sys, Scope::Global, "spoke.deadline_ms", json!(1500), None)
            .await
            .unwrap();
        let first = api
            .set(
                &sys,
                Scope::Tenant(tenant),
                "spoke.memory_mib",
                json!(32),
                None,
            )
            .await
            .unwrap();
        api.set(
            &sys,
            Scope::Tenant(tenant),
            "spoke.memory_mib",
            json!(48),
            None,
        )
        .await
        .unwrap();
        api.rollback(
            &sys,
            Scope::Tenant(tenant),
            "spoke.memory_mib",
            first.version,
        )
        .await
        .unwrap();
        api.set(&sys, installation, "spoke.deadline_ms", json!(700), None)
            .await
            .unwrap();
        api.set(
            &sys,
            installation,
            "webhook.signing_secret",
            json!("whsec-1"),
            None,
        )
        .await
        .unwrap();
        api.set(
            &sys,
            Scope::Tenant(other),
            "billing.message_cost",
            json!(9),
            None,
        )
        .await
        .unwrap();
        api.unset(&sys, Scope::Tenant(other), "billing.message_cost")
            .await
            .unwrap();
        api.set(
            &sys,
            Scope::Tenant(other),
            "ingress.rate_limit_per_minute",
            json!(60),
            None,
        )
        .await
        .unwrap();

        let scopes = [
            ResolveAt::global(),
            ResolveAt::tenant(tenant),
            ResolveAt::tenant(other),
            ResolveAt::installation(tenant, installation.installation_id().unwrap()),
        ];
        let rows_before = on_database(&hub.db.config, None).await;
        let seen_before = everything(api, &scopes).await;
        assert_eq!(rows_before.len(), 6, "[{}] {rows_before:?}", hub.label);

        let emptied = on_database(&hub.db.config, Some("DELETE FROM config_values")).await;
        assert!(emptied.is_empty());
        assert_ne!(
            everything(api, &scopes).await,
            seen_before,
            "[{}] without its projection the hub reads defaults",
            hub.label
        );

        let rebuilt = hub.local.rebuild_projection().await.unwrap();
        assert_eq!(rebuilt, 6, "[{}]", hub.label);
        assert_eq!(
            on_database(&hub.db.config, None).await,
            rows_before,
            "[{}] the same rows, column for column",
            hub.label
        );
        assert_eq!(
            everything(api, &scopes).await,
            seen_before,
            "[{}] the same answers",
            hub.label
        );
        // Versions survive too, so optimistic writes keep working after a rebuild.
        let current = api
            .resolve(&sys, "spoke.memory_mib", ResolveAt::tenant(tenant), false)
            .await
            .unwrap();
        api.set(
            &sys,
            Scope::Tenant(tenant),
            "spoke.memory_mib",
            json!(16),
            Some(current.version),
        )
        .await
        .unwrap();
        // A rebuild of an intact projection changes nothing.
        let rows_now = on_database(&hub.db.config, None).await;
        hub.local.rebuild_projection().await.unwrap();
        assert_eq!(on_database(&hub.db.config, None).await, rows_now);
    }
}
