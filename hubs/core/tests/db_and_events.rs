//! The database handle and the event log on every configured backend.

use nave_hub_core::testing::{TestDb, backends};
use nave_hub_core::{AuthContext, Db, EventLog, EventScope, HubMigrations, NewEvent, Role};
use serde_json::json;

static EMPTY_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations/sqlite");
static EMPTY_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations/postgres");

const MIGRATIONS: HubMigrations = HubMigrations {
    sqlite: &EMPTY_SQLITE,
    postgres: &EMPTY_POSTGRES,
};

#[tokio::test]
async fn events_append_and_page_by_tenant() {
    for backend in backends() {
        let test_db = TestDb::new(backend).await;
        let db = Db::connect(&test_db.config, MIGRATIONS).await.unwrap();
        let log = EventLog::new(db.clone());
        let tenant = nave_hub_core::ids::new_id();
        let ctx = AuthContext::user(nave_hub_core::ids::new_id())
            .in_tenant(tenant, Role::Admin)
            .with_correlation_id("corr-1");

        for i in 0..5 {
            let event = NewEvent::new("test.thing.done", json!({ "i": i })).in_tenant(tenant);
            log.append(&event.record(&ctx, 1_000 + i)).await.unwrap();
        }
        log.append(&NewEvent::new("test.platform", json!({})).record(&AuthContext::system(), 9))
            .await
            .unwrap();

        let first = log.read(EventScope::Tenant(tenant), 0, 3).await.unwrap();
        assert_eq!(first.events.len(), 3, "{backend:?}");
        assert_eq!(first.events[0].payload, json!({ "i": 0 }));
        assert_eq!(first.events[0].actor, ctx.actor());
        assert_eq!(first.events[0].correlation_id, "corr-1");
        assert_eq!(first.events[0].tenant_id, Some(tenant));
        let after = first.next_after_seq.expect("a second page");
        let second = log
            .read(EventScope::Tenant(tenant), after, 3)
            .await
            .unwrap();
        assert_eq!(second.events.len(), 2);
        assert_eq!(second.next_after_seq, None);
        assert_eq!(second.events[1].payload, json!({ "i": 4 }));

        let platform = log.read(EventScope::Platform, 0, 10).await.unwrap();
        assert_eq!(platform.events.len(), 1);
        assert_eq!(platform.events[0].actor, "system");
        assert_eq!(
            log.read(EventScope::All, 0, 100)
                .await
                .unwrap()
                .events
                .len(),
            6
        );
        let other = log
            .read(EventScope::Tenant(nave_hub_core::ids::new_id()), 0, 10)
            .await
            .unwrap();
        assert!(other.events.is_empty());
        db.close().await;
    }
}

#[tokio::test]
async fn migrations_run_again_on_restart() {
    for backend in backends() {
        let test_db = TestDb::new(backend).await;
        let db = Db::connect(&test_db.config, MIGRATIONS).await.unwrap();
        assert_eq!(db.backend(), backend);
        db.close().await;
        let again = Db::connect(&test_db.config, MIGRATIONS).await.unwrap();
        let log = EventLog::new(again.clone());
        assert!(
            log.read(EventScope::All, 0, 10)
                .await
                .unwrap()
                .events
                .is_empty()
        );
        again.close().await;
    }
}
