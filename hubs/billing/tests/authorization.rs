//! Who may call each method: the tenant's viewer, agent, admin and owner, a member of another
//! tenant, a platform admin, the platform itself and an anonymous caller.

mod common;

use common::*;
use nave_billing::{AppsAllowed, Metric, Snapshot};
use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, EventScope, Result, Role};

/// `ok` or the error code, for comparing whole rows of the table.
fn outcome<T>(result: Result<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

const CALLERS: [&str; 8] = [
    "viewer",
    "agent",
    "admin",
    "owner",
    "other tenant",
    "platform admin",
    "system",
    "anonymous",
];

fn callers(tenant: uuid::Uuid, other: uuid::Uuid) -> Vec<AuthContext> {
    vec![
        member(tenant, Role::Viewer),
        member(tenant, Role::Agent),
        member(tenant, Role::Admin),
        member(tenant, Role::Owner),
        member(other, Role::Owner),
        platform_admin(),
        system(),
        AuthContext::anonymous(),
    ]
}

#[tokio::test]
async fn each_method_admits_exactly_its_callers() {
    const DENIED: &str = "permission_denied";
    const HIDDEN: &str = "not_found";
    const ANON: &str = "unauthenticated";
    let table: [(&str, [&str; 8]); 9] = [
        (
            "import_snapshot",
            [DENIED, DENIED, DENIED, DENIED, DENIED, "ok", "ok", ANON],
        ),
        (
            "tenant_billing",
            [DENIED, DENIED, "ok", "ok", HIDDEN, "ok", "ok", ANON],
        ),
        (
            "list_plans",
            ["ok", "ok", "ok", "ok", "ok", "ok", "ok", ANON],
        ),
        (
            "check_and_count",
            [DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, "ok", ANON],
        ),
        (
            "release",
            [DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, "ok", ANON],
        ),
        (
            "set_usage",
            [DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, "ok", ANON],
        ),
        (
            "can_install",
            [DENIED, DENIED, "ok", "ok", HIDDEN, DENIED, "ok", ANON],
        ),
        (
            "tenant events",
            [DENIED, DENIED, "ok", "ok", HIDDEN, "ok", "ok", ANON],
        ),
        (
            "platform events",
            [DENIED, DENIED, DENIED, DENIED, DENIED, "ok", "ok", ANON],
        ),
    ];
    for hub in hubs().await {
        let (t, other) = (new_id(), new_id());
        let snapshot = Snapshot {
            plans: vec![plan("pro", None, None, AppsAllowed::All)],
            tenants: vec![tenant(t, "pro", 1), tenant(other, "pro", 1)],
        };
        import(&hub, snapshot.clone()).await;
        let api = &hub.api;
        for (method, expected) in table {
            let mut got = Vec::new();
            for ctx in callers(t, other) {
                let ctx = &ctx;
                got.push(match method {
                    "import_snapshot" => outcome(api.import_snapshot(ctx, snapshot.clone()).await),
                    "tenant_billing" => outcome(api.tenant_billing(ctx, t).await),
                    "list_plans" => outcome(api.list_plans(ctx).await),
                    "check_and_count" => {
                        outcome(api.check_and_count(ctx, t, Metric::Messages, 1).await)
                    }
                    "release" => outcome(api.release(ctx, t, Metric::Messages, 1).await),
                    "set_usage" => outcome(api.set_usage(ctx, t, Metric::Installations, 0).await),
                    "can_install" => outcome(api.can_install(ctx, t, "facebook").await),
                    "tenant events" => {
                        outcome(api.list_events(ctx, EventScope::Tenant(t), 0, 10).await)
                    }
                    "platform events" => {
                        outcome(api.list_events(ctx, EventScope::Platform, 0, 10).await)
                    }
                    _ => unreachable!(),
                });
            }
            let rows: Vec<_> = CALLERS
                .iter()
                .zip(&got)
                .map(|(c, g)| format!("{c}: {g}"))
                .collect();
            let want: Vec<_> = CALLERS
                .iter()
                .zip(expected)
                .map(|(c, g)| format!("{c}: {g}"))
                .collect();
            assert_eq!(rows, want, "[{}] {method}", hub.label);
        }
        // Whatever was refused left nothing behind: only the platform counted one message and
        // gave it back.
        let billing = api.tenant_billing(&system(), t).await.unwrap();
        assert_eq!(billing.usage[0].used, 0, "[{}]", hub.label);
    }
}
