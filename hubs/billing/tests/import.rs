//! Importing snapshots: idempotent replays, all-or-nothing validation, atomic replacement, and
//! the event each import leaves.

mod common;

use common::*;
use nave_billing::{AppsAllowed, Metric, Snapshot};
use nave_hub_core::ids::new_id;
use nave_hub_core::{EventScope, Principal};

fn starter(a: uuid::Uuid, b: uuid::Uuid) -> Snapshot {
    Snapshot {
        plans: vec![
            plan("free", Some(100), Some(1), only(&["facebook"])),
            plan("pro", Some(10_000), Some(10), AppsAllowed::All),
        ],
        tenants: vec![tenant(a, "free", 1), tenant(b, "pro", 15)],
    }
}

#[tokio::test]
async fn a_snapshot_imports_once_and_a_replay_changes_nothing() {
    for hub in hubs().await {
        let (a, b) = (new_id(), new_id());
        let first = import(&hub, starter(a, b)).await;
        assert!(first.changed, "[{}]", hub.label);
        assert_eq!((first.plans, first.tenants), (2, 2), "[{}]", hub.label);
        assert_eq!(first.digest.len(), 64, "[{}]", hub.label);

        // The same content in another order is the same snapshot.
        let mut shuffled = starter(a, b);
        shuffled.plans.reverse();
        shuffled.tenants.reverse();
        let replay = import(&hub, shuffled).await;
        assert!(!replay.changed, "[{}] replay changed something", hub.label);
        assert_eq!(replay.digest, first.digest, "[{}]", hub.label);

        let plans = hub
            .api
            .list_plans(&member(a, nave_hub_core::Role::Viewer))
            .await
            .unwrap();
        let codes: Vec<_> = plans.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(codes, ["free", "pro"], "[{}]", hub.label);
        assert_eq!(
            plans[0].entitlements.apps,
            only(&["facebook"]),
            "[{}]",
            hub.label
        );
        let billing = hub.api.tenant_billing(&system(), b).await.unwrap();
        assert_eq!(billing.plan.code, "pro", "[{}]", hub.label);
        assert_eq!(
            billing.period_start,
            time::macros::datetime!(2026-02-15 00:00 UTC),
            "[{}]",
            hub.label
        );

        let events = hub
            .api
            .list_events(&system(), EventScope::All, 0, 100)
            .await
            .unwrap();
        let imports = events
            .events
            .iter()
            .filter(|e| e.kind == "billing.snapshot_imported")
            .count();
        assert_eq!(imports, 1, "[{}] a replay must not log an event", hub.label);
    }
}

#[tokio::test]
async fn an_invalid_snapshot_reports_every_problem_and_changes_nothing() {
    for hub in hubs().await {
        let (a, b) = (new_id(), new_id());
        let before = import(&hub, starter(a, b)).await;
        let dup = new_id();
        let bad = Snapshot {
            plans: vec![
                plan("basic", Some(10), None, AppsAllowed::All),
                plan("Pro Plan", Some(10), None, AppsAllowed::All),
                plan("basic", Some(20), None, AppsAllowed::All),
                plan("team", None, None, only(&["odoo", "odoo"])),
            ],
            tenants: vec![
                tenant(a, "gold", 1),
                tenant(dup, "basic", 29),
                tenant(dup, "basic", 1),
            ],
        };
        let err = assert_err(
            &hub,
            hub.api.import_snapshot(&system(), bad).await,
            "invalid_argument",
        );
        let fields: Vec<_> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "plans[1].code",
                "plans[2].code",
                "plans[3].entitlements.apps[1]",
                "tenants[0].plan",
                "tenants[1].period_anchor_day",
                "tenants[2].tenant_id",
            ],
            "[{}] {err:?}",
            hub.label
        );
        assert!(
            err.fields()[3].message.contains("unknown plan `gold`"),
            "[{}]",
            hub.label
        );
        assert!(
            err.fields()[1].message.contains("plans[0]"),
            "[{}]",
            hub.label
        );

        // The previous snapshot still answers.
        let codes: Vec<_> = hub
            .api
            .list_plans(&system())
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.code)
            .collect();
        assert_eq!(codes, ["free", "pro"], "[{}]", hub.label);
        assert_eq!(
            hub.api
                .tenant_billing(&system(), a)
                .await
                .unwrap()
                .plan
                .code,
            "free"
        );
        assert!(
            !import(&hub, starter(a, b)).await.changed,
            "[{}]",
            hub.label
        );
        assert_eq!(import(&hub, starter(a, b)).await.digest, before.digest);
    }
}

#[tokio::test]
async fn an_import_replaces_plans_and_tenants_as_a_whole() {
    for hub in hubs().await {
        let (a, b) = (new_id(), new_id());
        import(&hub, starter(a, b)).await;
        for _ in 0..100 {
            hub.api
                .check_and_count(&system(), a, Metric::Messages, 1)
                .await
                .unwrap();
        }
        assert_err(
            &hub,
            hub.api
                .check_and_count(&system(), a, Metric::Messages, 1)
                .await,
            "failed_precondition",
        );

        // `a` moves to a new `growth` plan; `free` disappears, and `b` loses its plan.
        let next = Snapshot {
            plans: vec![
                plan("growth", Some(1_000), Some(5), only(&["facebook", "odoo"])),
                plan("pro", Some(10_000), Some(10), AppsAllowed::All),
            ],
            tenants: vec![tenant(a, "growth", 1)],
        };
        let report = import(&hub, next).await;
        assert!(report.changed, "[{}]", hub.label);
        assert_eq!((report.plans, report.tenants), (2, 1), "[{}]", hub.label);

        let billing = hub.api.tenant_billing(&system(), a).await.unwrap();
        assert_eq!(billing.plan.code, "growth", "[{}]", hub.label);
        let messages = &billing.usage[0];
        assert_eq!(
            (messages.metric, messages.used, messages.limit),
            (Metric::Messages, 100, Some(1_000)),
            "[{}] usage is kept, the new limit applies",
            hub.label
        );
        let usage = hub
            .api
            .check_and_count(&system(), a, Metric::Messages, 1)
            .await
            .unwrap();
        assert_eq!(usage.used, 101, "[{}]", hub.label);
        hub.api.can_install(&system(), a, "odoo").await.unwrap();

        let codes: Vec<_> = hub
            .api
            .list_plans(&system())
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.code)
            .collect();
        assert_eq!(codes, ["growth", "pro"], "[{}] `free` is gone", hub.label);
        let err = assert_err(
            &hub,
            hub.api.tenant_billing(&system(), b).await,
            "not_found",
        );
        assert!(err.to_string().contains("no plan"), "[{}] {err}", hub.label);
    }
}

#[tokio::test]
async fn the_import_event_names_its_actor_and_correlation_id() {
    for hub in hubs().await {
        let admin = platform_admin().with_correlation_id("corr-billing-import-1");
        let Principal::User(admin_id) = admin.principal else {
            unreachable!()
        };
        let report = hub
            .api
            .import_snapshot(&admin, starter(new_id(), new_id()))
            .await
            .unwrap();
        let page = hub
            .api
            .list_events(&admin, EventScope::Platform, 0, 100)
            .await
            .unwrap();
        assert_eq!(page.events.len(), 1, "[{}] {page:?}", hub.label);
        let event = &page.events[0];
        assert_eq!(event.kind, "billing.snapshot_imported", "[{}]", hub.label);
        assert_eq!(event.actor, format!("user:{admin_id}"), "[{}]", hub.label);
        assert_eq!(
            event.correlation_id, "corr-billing-import-1",
            "[{}]",
            hub.label
        );
        assert_eq!(event.tenant_id, None, "[{}]", hub.label);
        assert_eq!(event.payload["digest"], report.digest, "[{}]", hub.label);
        assert_eq!(event.payload["plans"], 2, "[{}]", hub.label);
        assert_eq!(event.payload["tenants"], 2, "[{}]", hub.label);
    }
}
