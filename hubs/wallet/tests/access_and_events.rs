//! Who may call what, and the event log, over every hub implementation and backend.

mod common;

use common::*;
use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, EventScope, Role};
use uuid::Uuid;

/// What one caller gets from each method: `"ok"` or the error code.
#[derive(Debug, PartialEq, Eq)]
struct Outcomes {
    balance: String,
    statement: String,
    credit: String,
    debit: String,
    hold: String,
    capture: String,
    release: String,
    expire_holds: String,
    check_invariants: String,
}

fn code<T>(result: nave_hub_core::Result<T>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) => e.code().into(),
    }
}

async fn try_all(hub: &Hub, ctx: &AuthContext, tenant: Uuid, n: usize) -> Outcomes {
    // Holds to settle, placed by the platform, so capture/release test only the caller's rights.
    let a = hub
        .api
        .hold(&system(), tenant, new_hold(1, &format!("a{n}"), None))
        .await
        .unwrap();
    let b = hub
        .api
        .hold(&system(), tenant, new_hold(1, &format!("b{n}"), None))
        .await
        .unwrap();
    let api = &hub.api;
    Outcomes {
        balance: code(api.balance(ctx, tenant).await),
        statement: code(api.statement(ctx, tenant, None, 5).await),
        credit: code(api.credit(ctx, tenant, top_up(1, &format!("c{n}"))).await),
        debit: code(api.debit(ctx, tenant, charge(1, &format!("d{n}"))).await),
        hold: code(
            api.hold(ctx, tenant, new_hold(1, &format!("h{n}"), None))
                .await,
        ),
        capture: code(api.capture(ctx, a.id, None, format!("x{n}")).await),
        release: code(api.release(ctx, b.id, format!("r{n}")).await),
        expire_holds: code(api.expire_holds(ctx).await),
        check_invariants: code(api.check_invariants(ctx, Some(tenant)).await),
    }
}

fn expect(reads: &str, credit: &str, charges: &str, invariants: &str) -> Outcomes {
    Outcomes {
        balance: reads.into(),
        statement: reads.into(),
        credit: credit.into(),
        debit: charges.into(),
        hold: charges.into(),
        capture: charges.into(),
        release: charges.into(),
        expire_holds: charges.into(),
        check_invariants: invariants.into(),
    }
}

#[tokio::test]
async fn each_caller_gets_exactly_its_rights() {
    for hub in hubs().await {
        let tenant = funded(&hub, 1_000).await;
        let other_tenant = new_id();
        let denied = "permission_denied";
        let table = [
            (
                "viewer",
                member(tenant, Role::Viewer),
                expect(denied, denied, denied, denied),
            ),
            (
                "agent",
                member(tenant, Role::Agent),
                expect(denied, denied, denied, denied),
            ),
            (
                "admin",
                member(tenant, Role::Admin),
                expect("ok", denied, denied, denied),
            ),
            (
                "owner",
                member(tenant, Role::Owner),
                expect("ok", denied, denied, denied),
            ),
            (
                "owner of another tenant",
                member(other_tenant, Role::Owner),
                expect("not_found", denied, denied, denied),
            ),
            (
                "user without tenant",
                AuthContext::user(new_id()),
                expect("not_found", denied, denied, denied),
            ),
            (
                "api key of the tenant",
                AuthContext::api_key(new_id()).in_tenant(tenant, Role::Admin),
                expect("ok", denied, denied, denied),
            ),
            (
                "platform admin",
                platform_admin(),
                expect("ok", "ok", denied, "ok"),
            ),
            ("system", system(), expect("ok", "ok", "ok", "ok")),
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
        for (n, (who, ctx, expected)) in table.into_iter().enumerate() {
            let got = try_all(&hub, &ctx, tenant, n).await;
            assert_eq!(got, expected, "[{}] {who}", hub.label);
        }
        assert_consistent(&hub).await;
    }
}

#[tokio::test]
async fn every_change_is_logged_with_its_actor_and_correlation_id() {
    for hub in hubs().await {
        let tenant = new_id();
        let admin = platform_admin().with_correlation_id("req-credit");
        let credit = hub
            .api
            .credit(&admin, tenant, top_up(100, "c"))
            .await
            .unwrap();
        assert_eq!(credit.actor, admin.actor());
        assert_eq!(credit.correlation_id, "req-credit");
        let sys = |id: &str| system().with_correlation_id(id);
        let debit = hub
            .api
            .debit(&sys("req-debit"), tenant, charge(10, "d"))
            .await
            .unwrap();
        let h1 = hub
            .api
            .hold(&sys("req-h1"), tenant, new_hold(20, "h1", None))
            .await
            .unwrap();
        let h2 = hub
            .api
            .hold(&sys("req-h2"), tenant, new_hold(20, "h2", None))
            .await
            .unwrap();
        let h3 = hub
            .api
            .hold(&sys("req-h3"), tenant, new_hold(20, "h3", Some(1)))
            .await
            .unwrap();
        hub.api
            .capture(&sys("req-cap"), h1.id, Some(5), "cap".into())
            .await
            .unwrap();
        hub.api
            .release(&sys("req-rel"), h2.id, "rel".into())
            .await
            .unwrap();
        hub.clock.advance(std::time::Duration::from_secs(2));
        assert_eq!(hub.api.expire_holds(&sys("req-exp")).await.unwrap(), 1);
        // Replays and refusals log nothing.
        hub.api
            .debit(&sys("req-replay"), tenant, charge(10, "d"))
            .await
            .unwrap();
        assert!(
            hub.api
                .debit(&sys("req-refused"), tenant, charge(1_000, "big"))
                .await
                .is_err()
        );

        // The tenant's admins read its events; other tenants' admins do not.
        let page = hub
            .api
            .list_events(
                &member(tenant, Role::Admin),
                EventScope::Tenant(tenant),
                0,
                100,
            )
            .await
            .unwrap();
        let seen: Vec<(&str, &str, &str)> = page
            .events
            .iter()
            .map(|e| (e.kind.as_str(), e.actor.as_str(), e.correlation_id.as_str()))
            .collect();
        let admin_actor = admin.actor();
        assert_eq!(
            seen,
            [
                ("wallet.credited", admin_actor.as_str(), "req-credit"),
                ("wallet.debited", "system", "req-debit"),
                ("wallet.hold_placed", "system", "req-h1"),
                ("wallet.hold_placed", "system", "req-h2"),
                ("wallet.hold_placed", "system", "req-h3"),
                ("wallet.hold_captured", "system", "req-cap"),
                ("wallet.hold_released", "system", "req-rel"),
                ("wallet.hold_expired", "system", "req-exp"),
            ],
            "[{}]",
            hub.label
        );
        for e in &page.events {
            assert_eq!(e.tenant_id, Some(tenant));
            assert_eq!(e.payload["tenant_id"], tenant.to_string());
        }
        assert_eq!(
            page.events[1].payload["transaction_id"],
            debit.id.to_string()
        );
        assert_eq!(page.events[1].payload["amount"], 10);
        assert_eq!(page.events[1].payload["available_after"], 90);
        assert_eq!(page.events[5].payload["hold_id"], h1.id.to_string());
        assert_eq!(page.events[5].payload["released"], 15);
        assert_eq!(page.events[7].payload["hold_id"], h3.id.to_string());
        assert_err(
            &hub,
            hub.api
                .list_events(
                    &member(tenant, Role::Agent),
                    EventScope::Tenant(tenant),
                    0,
                    100,
                )
                .await,
            "permission_denied",
        );
        assert_err(
            &hub,
            hub.api
                .list_events(
                    &member(new_id(), Role::Owner),
                    EventScope::Tenant(tenant),
                    0,
                    100,
                )
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api
                .list_events(&member(tenant, Role::Owner), EventScope::All, 0, 100)
                .await,
            "permission_denied",
        );
        let all = hub
            .api
            .list_events(&platform_admin(), EventScope::All, 0, 100)
            .await
            .unwrap();
        assert_eq!(all.events.len(), 8);
    }
}
