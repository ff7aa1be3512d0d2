//! Change notifications: in-process subscribers and watchers (local and over gRPC) that replay
//! from a version and then follow live changes.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use nave_config::{ChangeNotice, Scope};
use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, Role};
use serde_json::json;

const KEY: &str = "spoke.memory_mib";

fn notice(version: u64, scope: Scope) -> ChangeNotice {
    ChangeNotice {
        version,
        key: KEY.into(),
        scope,
    }
}

#[tokio::test]
async fn a_subscriber_receives_changes_made_after_it_subscribed() {
    for hub in hubs().await {
        let sys = system();
        hub.api
            .set(&sys, Scope::Global, KEY, json!(1), None)
            .await
            .unwrap();
        let mut local = hub.local.subscribe();
        let tenant = Scope::Tenant(new_id());
        let set = hub
            .api
            .set(&sys, tenant, KEY, json!(2), None)
            .await
            .unwrap();

        let got = tokio::time::timeout(Duration::from_secs(5), local.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, notice(set.version, tenant), "[{}]", hub.label);
        // A watcher from the version it last saw gets nothing older.
        let mut watch = hub.api.watch(&sys, set.version).await.unwrap();
        let unset = hub.api.unset(&sys, tenant, KEY).await.unwrap();
        assert_eq!(
            next_notice(&hub, &mut watch).await,
            notice(unset.version, tenant),
            "[{}]",
            hub.label
        );
    }
}

#[tokio::test]
async fn a_watcher_replays_the_changes_after_its_version_then_follows_live_ones() {
    for hub in hubs().await {
        let sys = system();
        let api = &hub.api;
        let a = api
            .set(&sys, Scope::Global, KEY, json!(1), None)
            .await
            .unwrap();
        let b = api
            .set(&sys, Scope::Global, KEY, json!(2), None)
            .await
            .unwrap();
        let c = api
            .set(&sys, Scope::Global, KEY, json!(3), None)
            .await
            .unwrap();

        // Reconnecting after `a`: b and c from the store, then d live, in order, once each.
        let mut watch = api.watch(&sys, a.version).await.unwrap();
        assert_eq!(
            next_notice(&hub, &mut watch).await,
            notice(b.version, Scope::Global),
            "[{}]",
            hub.label
        );
        let d = api
            .set(&sys, Scope::Global, KEY, json!(4), None)
            .await
            .unwrap();
        assert_eq!(
            next_notice(&hub, &mut watch).await,
            notice(c.version, Scope::Global),
            "[{}]",
            hub.label
        );
        assert_eq!(
            next_notice(&hub, &mut watch).await,
            notice(d.version, Scope::Global),
            "[{}]",
            hub.label
        );
        let e = api
            .rollback(&sys, Scope::Global, KEY, a.version)
            .await
            .unwrap();
        assert_eq!(
            next_notice(&hub, &mut watch).await,
            notice(e.version, Scope::Global),
            "[{}]",
            hub.label
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(200), watch.next())
                .await
                .is_err(),
            "[{}] no duplicates",
            hub.label
        );

        // From 0: every change ever made.
        let mut all = api.watch(&sys, 0).await.unwrap();
        for v in [a.version, b.version, c.version, d.version, e.version] {
            assert_eq!(
                next_notice(&hub, &mut all).await.version,
                v,
                "[{}]",
                hub.label
            );
        }
    }
}

#[tokio::test]
async fn a_watcher_sees_only_what_the_caller_may_see() {
    for hub in hubs().await {
        let sys = system();
        let (mine, theirs) = (new_id(), new_id());
        let viewer = member(mine, Role::Viewer);
        let mut watch = hub.api.watch(&viewer, 0).await.unwrap();
        hub.api
            .set(&sys, Scope::Tenant(theirs), KEY, json!(5), None)
            .await
            .unwrap();
        let global = hub
            .api
            .set(&sys, Scope::Global, KEY, json!(6), None)
            .await
            .unwrap();
        let installation = Scope::Installation {
            tenant_id: theirs,
            installation_id: new_id(),
        };
        hub.api
            .set(&sys, installation, KEY, json!(7), None)
            .await
            .unwrap();
        let own = hub
            .api
            .set(&sys, Scope::Tenant(mine), KEY, json!(8), None)
            .await
            .unwrap();
        assert_eq!(
            next_notice(&hub, &mut watch).await,
            notice(global.version, Scope::Global),
            "[{}]",
            hub.label
        );
        assert_eq!(
            next_notice(&hub, &mut watch).await,
            notice(own.version, Scope::Tenant(mine)),
            "[{}]",
            hub.label
        );

        let err = hub
            .api
            .watch(&AuthContext::anonymous(), 0)
            .await
            .err()
            .expect("anonymous watch refused");
        assert_eq!(err.code(), "unauthenticated", "[{}]", hub.label);
    }
}

#[tokio::test]
async fn a_lagging_watcher_catches_up_from_the_store() {
    for hub in hubs().await {
        let sys = system();
        let mut watch = hub.api.watch(&sys, 0).await.unwrap();
        // More changes than the broadcast buffer holds, while nobody reads the watch.
        let mut last = 0;
        for n in 0..1100u32 {
            let scope = Scope::Tenant(new_id());
            last = hub
                .api
                .set(&sys, scope, KEY, json!(1 + n % 200), None)
                .await
                .unwrap()
                .version;
        }
        let mut versions = Vec::new();
        while versions.len() < 1100 {
            versions.push(next_notice(&hub, &mut watch).await.version);
        }
        assert_eq!(versions, (1..=last).collect::<Vec<_>>(), "[{}]", hub.label);
    }
}
