//! Quotas: counting under concurrency, releasing, periods rolling over, the installation guard
//! and unlimited plans.

mod common;

use std::time::Duration;

use common::*;
use futures::future::join_all;
use nave_billing::{AppsAllowed, Metric};
use nave_hub_core::ids::new_id;
use time::macros::datetime;

#[tokio::test]
async fn concurrent_counts_never_pass_the_limit() {
    for hub in hubs().await {
        let t = one_tenant(&hub, plan("small", Some(50), None, AppsAllowed::All), 1).await;
        let calls = (0..200).map(|_| {
            let api = hub.api.clone();
            tokio::spawn(
                async move { api.check_and_count(&system(), t, Metric::Messages, 1).await },
            )
        });
        let results: Vec<_> = join_all(calls)
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        let accepted = results.iter().filter(|r| r.is_ok()).count();
        let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(accepted, 50, "[{}]", hub.label);
        assert_eq!(refused.len(), 150, "[{}]", hub.label);
        for err in &refused {
            assert_eq!(reasons(err), ["quota_exceeded"], "[{}] {err:?}", hub.label);
        }
        let mut seen: Vec<u64> = results.iter().flatten().map(|u| u.used).collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (1..=50).collect::<Vec<_>>(),
            "[{}] each count saw its own total",
            hub.label
        );
        let billing = hub.api.tenant_billing(&system(), t).await.unwrap();
        assert_eq!(billing.usage[0].used, 50, "[{}]", hub.label);
        eprintln!(
            "[{}] 200 concurrent: {accepted} accepted, {} quota_exceeded",
            hub.label,
            refused.len()
        );
    }
}

#[tokio::test]
async fn a_refused_count_says_why_and_counts_nothing() {
    for hub in hubs().await {
        let t = one_tenant(&hub, plan("small", Some(10), None, AppsAllowed::All), 1).await;
        let usage = hub
            .api
            .check_and_count(&system(), t, Metric::Messages, 7)
            .await
            .unwrap();
        assert_eq!((usage.used, usage.limit), (7, Some(10)), "[{}]", hub.label);
        assert_eq!(
            usage.period_start,
            datetime!(2026-03-01 00:00 UTC),
            "[{}]",
            hub.label
        );
        assert_eq!(
            usage.period_end,
            datetime!(2026-04-01 00:00 UTC),
            "[{}]",
            hub.label
        );
        let err = assert_err(
            &hub,
            hub.api
                .check_and_count(&system(), t, Metric::Messages, 4)
                .await,
            "failed_precondition",
        );
        assert_eq!(reasons(&err), ["quota_exceeded"], "[{}]", hub.label);
        let message = &err.reasons()[0].message;
        assert!(message.contains("7 of 10"), "[{}] {message}", hub.label);
        assert!(message.contains("2026-04-01"), "[{}] {message}", hub.label);
        let usage = hub
            .api
            .check_and_count(&system(), t, Metric::Messages, 3)
            .await
            .unwrap();
        assert_eq!(
            usage.used, 10,
            "[{}] the refused 4 were not counted",
            hub.label
        );
        assert_err(
            &hub,
            hub.api
                .check_and_count(&system(), t, Metric::Messages, 0)
                .await,
            "invalid_argument",
        );
        assert_err(
            &hub,
            hub.api
                .check_and_count(&system(), new_id(), Metric::Messages, 1)
                .await,
            "not_found",
        );
    }
}

#[tokio::test]
async fn release_gives_back_and_never_goes_below_zero() {
    for hub in hubs().await {
        let t = one_tenant(&hub, plan("small", Some(5), None, AppsAllowed::All), 1).await;
        hub.api
            .check_and_count(&system(), t, Metric::Messages, 5)
            .await
            .unwrap();
        assert_err(
            &hub,
            hub.api
                .check_and_count(&system(), t, Metric::Messages, 1)
                .await,
            "failed_precondition",
        );
        let usage = hub
            .api
            .release(&system(), t, Metric::Messages, 2)
            .await
            .unwrap();
        assert_eq!(usage.used, 3, "[{}]", hub.label);
        hub.api
            .check_and_count(&system(), t, Metric::Messages, 2)
            .await
            .unwrap();
        let usage = hub
            .api
            .release(&system(), t, Metric::Messages, 100)
            .await
            .unwrap();
        assert_eq!(usage.used, 0, "[{}] stops at 0", hub.label);
        let usage = hub
            .api
            .release(&system(), t, Metric::Installations, 1)
            .await
            .unwrap();
        assert_eq!(usage.used, 0, "[{}] never counted: stays 0", hub.label);
    }
}

#[tokio::test]
async fn a_count_made_under_a_key_counts_once_and_gives_back_once() {
    for hub in hubs().await {
        let t = one_tenant(&hub, plan("small", Some(3), None, AppsAllowed::All), 1).await;
        let count = |key: &'static str| {
            let api = hub.api.clone();
            async move { api.count_once(&system(), t, Metric::Messages, 1, key).await }
        };
        assert_eq!(count("message:a").await.unwrap().used, 1, "[{}]", hub.label);
        // A retry of the same message, also many at once: counted already.
        let again = join_all((0..8).map(|_| count("message:a"))).await;
        for usage in again {
            assert_eq!(
                usage.unwrap().used,
                1,
                "[{}] a retry counts nothing",
                hub.label
            );
        }
        assert_eq!(count("message:b").await.unwrap().used, 2, "[{}]", hub.label);
        assert_eq!(count("message:c").await.unwrap().used, 3, "[{}]", hub.label);
        assert_eq!(
            reasons(&count("message:d").await.unwrap_err()),
            ["quota_exceeded"],
            "[{}]",
            hub.label
        );
        // Counted already: still answered, though the plan is used up now.
        assert_eq!(count("message:c").await.unwrap().used, 3, "[{}]", hub.label);

        let release = |key: &'static str| {
            let api = hub.api.clone();
            async move { api.release_once(&system(), t, Metric::Messages, key).await }
        };
        assert_eq!(
            release("message:b").await.unwrap().used,
            2,
            "[{}]",
            hub.label
        );
        assert_eq!(
            release("message:b").await.unwrap().used,
            2,
            "[{}] given back once",
            hub.label
        );
        assert_eq!(
            release("message:d").await.unwrap().used,
            2,
            "[{}] a refused count kept no key",
            hub.label
        );
        // The refused one fits now, and counts.
        assert_eq!(count("message:d").await.unwrap().used, 3, "[{}]", hub.label);
        // A key given back may count again.
        assert_eq!(
            reasons(&count("message:b").await.unwrap_err()),
            ["quota_exceeded"],
            "[{}]",
            hub.label
        );
        assert_err(
            &hub,
            hub.api
                .count_once(&system(), t, Metric::Messages, 1, " ")
                .await,
            "invalid_argument",
        );
        let billing = hub.api.tenant_billing(&system(), t).await.unwrap();
        assert_eq!(billing.usage[0].used, 3, "[{}]", hub.label);
    }
}

#[tokio::test]
async fn a_key_gives_back_to_its_own_period_and_old_keys_go() {
    for hub in hubs().await {
        let t = one_tenant(&hub, plan("monthly", Some(5), None, AppsAllowed::All), 15).await;
        let last_second = datetime!(2026-03-14 23:59:59 UTC);
        hub.clock
            .advance(Duration::try_from(last_second - START).unwrap());
        let count = |key: &'static str| {
            let api = hub.api.clone();
            async move { api.count_once(&system(), t, Metric::Messages, 1, key).await }
        };
        count("message:feb-1").await.unwrap();
        count("message:feb-2").await.unwrap();

        hub.clock.advance(Duration::from_secs(1));
        let usage = count("message:mar-1").await.unwrap();
        assert_eq!(usage.used, 1, "[{}] a fresh period", hub.label);
        // Counted in February: kept through March, so a retry now still counts nothing.
        assert_eq!(
            count("message:feb-1").await.unwrap().used,
            1,
            "[{}]",
            hub.label
        );
        // Given back to February's counter, not March's.
        let usage = hub
            .api
            .release_once(&system(), t, Metric::Messages, "message:feb-2")
            .await
            .unwrap();
        assert_eq!(usage.used, 1, "[{}] March untouched", hub.label);

        // April: February's keys are gone, so a message of February counts in April.
        hub.clock.advance(Duration::from_secs(31 * 24 * 3600));
        assert_eq!(
            count("message:apr-1").await.unwrap().used,
            1,
            "[{}]",
            hub.label
        );
        assert_eq!(
            count("message:feb-1").await.unwrap().used,
            2,
            "[{}] pruned with its period",
            hub.label
        );
        assert_eq!(
            count("message:mar-1").await.unwrap().used,
            2,
            "[{}] March's keys are kept",
            hub.label
        );
    }
}

#[tokio::test]
async fn messages_start_again_each_period_and_installations_carry_over() {
    for hub in hubs().await {
        let t = one_tenant(
            &hub,
            plan("monthly", Some(5), Some(3), AppsAllowed::All),
            15,
        )
        .await;
        let last_second = datetime!(2026-03-14 23:59:59 UTC);
        hub.clock
            .advance(Duration::try_from(last_second - START).unwrap());

        let usage = hub
            .api
            .check_and_count(&system(), t, Metric::Messages, 4)
            .await
            .unwrap();
        assert_eq!(usage.used, 4, "[{}]", hub.label);
        assert_eq!(
            usage.period_start,
            datetime!(2026-02-15 00:00 UTC),
            "[{}]",
            hub.label
        );
        assert_eq!(
            usage.period_end,
            datetime!(2026-03-15 00:00 UTC),
            "[{}]",
            hub.label
        );
        hub.api
            .set_usage(&system(), t, Metric::Installations, 2)
            .await
            .unwrap();

        hub.clock.advance(Duration::from_secs(1));
        let usage = hub
            .api
            .check_and_count(&system(), t, Metric::Messages, 1)
            .await
            .unwrap();
        assert_eq!(usage.used, 1, "[{}] a fresh counter", hub.label);
        assert_eq!(
            usage.period_start,
            datetime!(2026-03-15 00:00 UTC),
            "[{}]",
            hub.label
        );
        assert_eq!(
            usage.period_end,
            datetime!(2026-04-15 00:00 UTC),
            "[{}]",
            hub.label
        );
        hub.api
            .check_and_count(&system(), t, Metric::Messages, 4)
            .await
            .unwrap();
        assert_err(
            &hub,
            hub.api
                .check_and_count(&system(), t, Metric::Messages, 1)
                .await,
            "failed_precondition",
        );

        let billing = hub.api.tenant_billing(&system(), t).await.unwrap();
        assert_eq!(
            billing.period_start,
            datetime!(2026-03-15 00:00 UTC),
            "[{}]",
            hub.label
        );
        let used: Vec<_> = billing
            .usage
            .iter()
            .map(|u| (u.metric, u.used, u.limit))
            .collect();
        assert_eq!(
            used,
            [
                (Metric::Messages, 5, Some(5)),
                (Metric::Installations, 2, Some(3))
            ],
            "[{}]",
            hub.label
        );
    }
}

#[tokio::test]
async fn can_install_gives_every_reason_it_refuses() {
    for hub in hubs().await {
        let t = one_tenant(&hub, plan("starter", None, Some(2), only(&["facebook"])), 1).await;
        hub.api.can_install(&system(), t, "facebook").await.unwrap();

        let err = assert_err(
            &hub,
            hub.api.can_install(&system(), t, "odoo").await,
            "failed_precondition",
        );
        assert_eq!(reasons(&err), ["app_not_in_plan"], "[{}]", hub.label);
        assert!(err.reasons()[0].message.contains("odoo"), "[{}]", hub.label);

        hub.api
            .set_usage(&system(), t, Metric::Installations, 2)
            .await
            .unwrap();
        let err = assert_err(
            &hub,
            hub.api.can_install(&system(), t, "facebook").await,
            "failed_precondition",
        );
        assert_eq!(
            reasons(&err),
            ["installation_limit_reached"],
            "[{}]",
            hub.label
        );

        let err = assert_err(
            &hub,
            hub.api.can_install(&system(), t, "odoo").await,
            "failed_precondition",
        );
        assert_eq!(
            reasons(&err),
            ["app_not_in_plan", "installation_limit_reached"],
            "[{}]",
            hub.label
        );

        // Counting an installation is the atomic reservation behind the guard.
        hub.api
            .set_usage(&system(), t, Metric::Installations, 1)
            .await
            .unwrap();
        hub.api
            .check_and_count(&system(), t, Metric::Installations, 1)
            .await
            .unwrap();
        let err = assert_err(
            &hub,
            hub.api
                .check_and_count(&system(), t, Metric::Installations, 1)
                .await,
            "failed_precondition",
        );
        assert_eq!(reasons(&err), ["quota_exceeded"], "[{}]", hub.label);
    }
}

#[tokio::test]
async fn unlimited_entitlements_never_refuse() {
    for hub in hubs().await {
        let t = one_tenant(&hub, plan("unlimited", None, None, AppsAllowed::All), 1).await;
        let usage = hub
            .api
            .check_and_count(&system(), t, Metric::Messages, i64::MAX as u64 / 2)
            .await
            .unwrap();
        assert_eq!(usage.limit, None, "[{}]", hub.label);
        hub.api
            .check_and_count(&system(), t, Metric::Messages, 1_000)
            .await
            .unwrap();
        // Even unlimited counters stop at the column's range instead of failing inside.
        let err = assert_err(
            &hub,
            hub.api
                .check_and_count(&system(), t, Metric::Messages, i64::MAX as u64 / 2 + 10)
                .await,
            "failed_precondition",
        );
        assert_eq!(reasons(&err), ["quota_exceeded"], "[{}]", hub.label);
        hub.api
            .set_usage(&system(), t, Metric::Installations, 10_000)
            .await
            .unwrap();
        hub.api
            .can_install(&system(), t, "any-app-at-all")
            .await
            .unwrap();
        let billing = hub.api.tenant_billing(&system(), t).await.unwrap();
        assert!(
            billing.usage.iter().all(|u| u.limit.is_none()),
            "[{}]",
            hub.label
        );
        assert_eq!(billing.usage[1].used, 10_000, "[{}]", hub.label);
    }
}

#[tokio::test]
async fn a_new_snapshot_applies_to_the_very_next_count() {
    for hub in hubs().await {
        let t = one_tenant(&hub, plan("tiny", Some(1), None, AppsAllowed::All), 1).await;
        hub.api
            .check_and_count(&system(), t, Metric::Messages, 1)
            .await
            .unwrap_or_else(|e| panic!("[{}] first count: {e:?}", hub.label));
        assert_err(
            &hub,
            hub.api
                .check_and_count(&system(), t, Metric::Messages, 1)
                .await,
            "failed_precondition",
        );
        // The tenant moves to a bigger plan: the plan read for the counts above (the hub keeps
        // it for a while) must not decide the next one.
        import(
            &hub,
            nave_billing::Snapshot {
                plans: vec![plan("bigger", Some(5), None, AppsAllowed::All)],
                tenants: vec![tenant(t, "bigger", 1)],
            },
        )
        .await;
        let usage = hub
            .api
            .check_and_count(&system(), t, Metric::Messages, 1)
            .await
            .unwrap_or_else(|e| panic!("[{}] count after the import: {e:?}", hub.label));
        assert_eq!((usage.used, usage.limit), (2, Some(5)), "[{}]", hub.label);
        // And back to none: the tenant has no plan, and the next count says so.
        import(
            &hub,
            nave_billing::Snapshot {
                plans: vec![plan("bigger", Some(5), None, AppsAllowed::All)],
                tenants: vec![],
            },
        )
        .await;
        assert_err(
            &hub,
            hub.api
                .check_and_count(&system(), t, Metric::Messages, 1)
                .await,
            "not_found",
        );
    }
}
