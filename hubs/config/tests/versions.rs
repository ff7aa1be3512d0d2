//! Versions, history, rollback and optimistic concurrency, over every hub implementation and
//! backend.

mod common;

use common::*;
use nave_config::{ChangeAction, Origin, ResolveAt, Scope};
use nave_hub_core::Role;
use nave_hub_core::ids::new_id;
use serde_json::json;

// A setting tenant admins may write (prices and abuse limits are the platform's).
const KEY: &str = "spoke.deadline_ms";

#[tokio::test]
async fn versions_increase_and_history_lists_changes_newest_first() {
    for hub in hubs().await {
        let tenant = new_id();
        let scope = Scope::Tenant(tenant);
        let owner = member(tenant, Role::Owner).with_correlation_id("req-1");
        let admin = member(tenant, Role::Admin).with_correlation_id("req-2");
        let api = &hub.api;

        let a = api.set(&owner, scope, KEY, json!(100), None).await.unwrap();
        let other = api
            .set(&system(), Scope::Global, KEY, json!(7), None)
            .await
            .unwrap();
        let b = api.set(&admin, scope, KEY, json!(200), None).await.unwrap();
        let c = api.unset(&admin, scope, KEY).await.unwrap();
        assert!(
            a.version < other.version && other.version < b.version && b.version < c.version,
            "[{}] {a:?} {b:?} {c:?}",
            hub.label
        );
        assert_eq!(
            (a.previous.clone(), a.value.clone()),
            (None, Some(json!(100)))
        );
        assert_eq!(
            (b.previous.clone(), b.value.clone()),
            (Some(json!(100)), Some(json!(200)))
        );
        assert_eq!(
            (c.action, c.previous.clone(), c.value.clone()),
            (ChangeAction::Unset, Some(json!(200)), None)
        );

        let viewer = member(tenant, Role::Viewer);
        let history = api.history(&viewer, scope, KEY, 0).await.unwrap();
        let seen: Vec<_> = history
            .iter()
            .map(|h| {
                (
                    h.version,
                    h.action,
                    h.value.clone(),
                    h.correlation_id.as_str(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (c.version, ChangeAction::Unset, None, "req-2"),
                (b.version, ChangeAction::Set, Some(json!(200)), "req-2"),
                (a.version, ChangeAction::Set, Some(json!(100)), "req-1"),
            ],
            "[{}]",
            hub.label
        );
        assert_eq!(history[2].actor, owner.actor());
        assert_eq!(history[0].actor, admin.actor());
        assert_eq!(history[0].scope, scope);
        assert_eq!(api.history(&viewer, scope, KEY, 2).await.unwrap().len(), 2);
        // The global change is in the global history only.
        let global = api.history(&viewer, Scope::Global, KEY, 0).await.unwrap();
        assert_eq!(
            global.iter().map(|h| h.version).collect::<Vec<_>>(),
            [other.version]
        );
    }
}

#[tokio::test]
async fn rollback_restores_an_earlier_value_as_a_new_version() {
    for hub in hubs().await {
        let tenant = new_id();
        let scope = Scope::Tenant(tenant);
        let sys = system();
        let api = &hub.api;
        let first = api.set(&sys, scope, KEY, json!(10), None).await.unwrap();
        api.set(&sys, scope, KEY, json!(20), None).await.unwrap();
        let unset = api.unset(&sys, scope, KEY).await.unwrap();

        let back = api.rollback(&sys, scope, KEY, first.version).await.unwrap();
        assert!(back.version > unset.version, "[{}]", hub.label);
        assert_eq!(
            (
                back.action,
                back.value.clone(),
                back.previous.clone(),
                back.rolled_back_to
            ),
            (
                ChangeAction::Rollback,
                Some(json!(10)),
                None,
                Some(first.version)
            ),
            "[{}]",
            hub.label
        );
        let now = resolved(&hub, KEY, ResolveAt::tenant(tenant)).await;
        assert_eq!(
            (now.value, now.from, now.version),
            (json!(10), Origin::Tenant, back.version)
        );

        // Rolling back to the unset version unsets again.
        let again = api.rollback(&sys, scope, KEY, unset.version).await.unwrap();
        assert_eq!(again.value, None, "[{}]", hub.label);
        assert_eq!(
            resolved(&hub, KEY, ResolveAt::tenant(tenant)).await.from,
            Origin::Default
        );

        // Only versions of this setting at this scope.
        assert_err(
            &hub,
            api.rollback(&sys, Scope::Tenant(new_id()), KEY, first.version)
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            api.rollback(&sys, scope, "spoke.memory_mib", first.version)
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            api.rollback(&sys, scope, KEY, 999_999).await,
            "not_found",
        );
        let history = api.history(&sys, scope, KEY, 0).await.unwrap();
        assert_eq!(history.len(), 5, "[{}]", hub.label);
    }
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict() {
    for hub in hubs().await {
        let sys = system();
        let api = &hub.api;
        let scope = Scope::Tenant(new_id());
        // 0: "never set here".
        let first = api.set(&sys, scope, KEY, json!(1), Some(0)).await.unwrap();
        assert_err(
            &hub,
            api.set(&sys, scope, KEY, json!(2), Some(0)).await,
            "conflict",
        );
        let second = api
            .set(&sys, scope, KEY, json!(2), Some(first.version))
            .await
            .unwrap();
        let err = assert_err(
            &hub,
            api.set(&sys, scope, KEY, json!(3), Some(first.version))
                .await,
            "conflict",
        );
        assert!(
            err.to_string().contains(&second.version.to_string()),
            "[{}] {err}",
            hub.label
        );
        // The refused write left nothing behind; the next version follows without a gap.
        let now = resolved(&hub, KEY, ResolveAt::tenant(scope.tenant_id().unwrap())).await;
        assert_eq!((now.value, now.version), (json!(2), second.version));
        let third = api
            .set(&sys, scope, KEY, json!(3), Some(second.version))
            .await
            .unwrap();
        assert_eq!(third.version, second.version + 1, "[{}]", hub.label);
    }
}

#[tokio::test]
async fn of_concurrent_writers_expecting_one_version_exactly_one_wins() {
    for hub in hubs().await {
        let sys = system();
        let tenant = new_id();
        let scope = Scope::Tenant(tenant);
        let base = hub.api.set(&sys, scope, KEY, json!(1), None).await.unwrap();
        let writers = (0..8).map(|n| {
            let api = hub.api.clone();
            let sys = sys.clone();
            tokio::spawn(async move {
                api.set(&sys, scope, KEY, json!(100 + n), Some(base.version))
                    .await
            })
        });
        let mut won = Vec::new();
        for writer in writers.collect::<Vec<_>>() {
            match writer.await.unwrap() {
                Ok(change) => won.push(change),
                Err(e) => assert_eq!(e.code(), "conflict", "[{}] {e:?}", hub.label),
            }
        }
        assert_eq!(won.len(), 1, "[{}] {won:?}", hub.label);
        let now = resolved(&hub, KEY, ResolveAt::tenant(tenant)).await;
        assert_eq!(
            (now.value, now.version),
            (won[0].value.clone().unwrap(), won[0].version)
        );
        // The losers' refused writes left no gap.
        assert_eq!(won[0].version, base.version + 1, "[{}]", hub.label);
    }
}
