//! The guards: every failure and combinations come back together, each with exactly its code.

mod common;

use common::*;
use nave_app::ListingChange;
use nave_billing::{AppsAllowed, BillingApi, Metric};
use nave_hub_core::Role;
use nave_hub_core::ids::new_id;

#[tokio::test]
async fn every_guard_failure_is_reported_with_its_code() {
    for hub in hubs().await {
        let app = published(&hub, "echo", 500).await;
        let only_other = AppsAllowed::Only(vec!["other".into()]);

        // All pass: the report says what a subscription would pin and pay.
        let t = tenant(&hub, AppsAllowed::All, Some(2), 500).await;
        let report = hub
            .api
            .check_guards(&member(t, Role::Admin), t, app.id)
            .await
            .unwrap();
        assert!(report.ok);
        assert_eq!(
            (report.latest_version.as_str(), report.fee.amount),
            ("1.0.0", 500)
        );

        // One at a time.
        let cases: Vec<(uuid::Uuid, Role, &[&str])> = vec![
            (t, Role::Agent, &["not_tenant_admin"]),
            (
                tenant(&hub, only_other.clone(), None, 500).await,
                Role::Admin,
                &["app_not_in_plan"],
            ),
            (
                tenant(&hub, AppsAllowed::All, Some(0), 500).await,
                Role::Admin,
                &["installation_limit_reached"],
            ),
            (
                tenant(&hub, AppsAllowed::All, None, 499).await,
                Role::Owner,
                &["insufficient_funds"],
            ),
            // Everything at once.
            (
                tenant(&hub, only_other, Some(0), 0).await,
                Role::Viewer,
                &[
                    "app_not_in_plan",
                    "installation_limit_reached",
                    "insufficient_funds",
                    "not_tenant_admin",
                ],
            ),
        ];
        for (tenant_id, role, expected) in cases {
            let err = assert_err(
                &hub,
                hub.api
                    .check_guards(&member(tenant_id, role), tenant_id, app.id)
                    .await,
                "failed_precondition",
            );
            assert_eq!(reasons(&err), expected, "[{}] {err}", hub.label);
        }

        // A tenant without a plan has no app in its plan.
        let planless = new_id();
        let err = assert_err(
            &hub,
            hub.api
                .check_guards(&member(planless, Role::Owner), planless, app.id)
                .await,
            "failed_precondition",
        );
        assert_eq!(
            reasons(&err),
            ["app_not_in_plan", "insufficient_funds"],
            "[{}]",
            hub.label
        );

        // Unlisted, and the installations gauge at the limit.
        hub.api
            .update_listing(
                &platform_admin(),
                app.id,
                ListingChange {
                    unlisted: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        hub.billing
            .set_usage(&system(), t, Metric::Installations, 2)
            .await
            .unwrap();
        let err = assert_err(
            &hub,
            hub.api
                .check_guards(&member(t, Role::Admin), t, app.id)
                .await,
            "failed_precondition",
        );
        assert_eq!(
            reasons(&err),
            ["app_unlisted", "installation_limit_reached"],
            "[{}]",
            hub.label
        );

        // A stranger gets not_found, not a guard.
        assert_err(
            &hub,
            hub.api
                .check_guards(&member(new_id(), Role::Owner), t, app.id)
                .await,
            "not_found",
        );
    }
}

#[tokio::test]
async fn an_app_without_versions_and_a_free_app() {
    for hub in hubs().await {
        let bare = hub
            .api
            .create_listing(&platform_admin(), new_listing("bare", 0))
            .await
            .unwrap();
        let t = tenant(&hub, AppsAllowed::All, None, 0).await;
        let err = assert_err(
            &hub,
            hub.api
                .check_guards(&member(t, Role::Admin), t, bare.id)
                .await,
            "failed_precondition",
        );
        assert_eq!(reasons(&err), ["app_has_no_version"]);
        let free = published(&hub, "free", 0).await;
        let report = hub
            .api
            .check_guards(&member(t, Role::Admin), t, free.id)
            .await
            .unwrap();
        assert_eq!(
            report.fee.amount, 0,
            "[{}] a free app needs no money",
            hub.label
        );
    }
}
