//! Holds: placing, capturing (fully or partly), releasing and expiring them, over every hub
//! implementation and backend.

mod common;

use std::time::Duration;

use common::*;
use nave_wallet::{HoldStatus, Posting, TransactionKind, accounts};

#[tokio::test]
async fn a_partial_capture_charges_part_and_gives_the_rest_back() {
    for hub in hubs().await {
        let tenant = funded(&hub, 100).await;
        let hold = hub
            .api
            .hold(&system(), tenant, new_hold(40, "h1", None))
            .await
            .unwrap();
        assert_eq!(
            (hold.amount, hold.status, hold.expires_at),
            (40, HoldStatus::Held, None)
        );
        assert_eq!(balances(&hub, tenant).await, (60, 40), "[{}]", hub.label);
        // The same hold request again is the same hold.
        let again = hub
            .api
            .hold(&system(), tenant, new_hold(40, "h1", None))
            .await
            .unwrap();
        assert_eq!(again.id, hold.id);
        assert_eq!(balances(&hub, tenant).await, (60, 40));
        // A hold cannot reserve more than is available.
        assert_refused(
            &hub,
            hub.api
                .hold(&system(), tenant, new_hold(61, "h2", None))
                .await,
            "insufficient_funds",
        );

        let capture = hub
            .api
            .capture(&system(), hold.id, Some(15), "c1".into())
            .await
            .unwrap();
        assert_eq!(capture.kind, TransactionKind::Capture);
        assert_eq!(capture.hold_id, Some(hold.id));
        assert_eq!(
            capture.postings,
            [
                Posting {
                    account: accounts::REVENUE.into(),
                    amount: 15
                },
                Posting {
                    account: accounts::available(tenant),
                    amount: 25
                },
                Posting {
                    account: accounts::held(tenant),
                    amount: -40
                },
            ]
        );
        assert_eq!(balances(&hub, tenant).await, (85, 0), "[{}]", hub.label);
        // Replaying the capture returns it; another settlement is refused.
        let replay = hub
            .api
            .capture(&system(), hold.id, Some(15), "c1".into())
            .await
            .unwrap();
        assert_eq!(replay.id, capture.id);
        assert_refused(
            &hub,
            hub.api.capture(&system(), hold.id, None, "c2".into()).await,
            "hold_settled",
        );
        assert_refused(
            &hub,
            hub.api.release(&system(), hold.id, "r1".into()).await,
            "hold_settled",
        );
        let replayed_hold = hub
            .api
            .hold(&system(), tenant, new_hold(40, "h1", None))
            .await
            .unwrap();
        assert_eq!(
            (replayed_hold.status, replayed_hold.captured),
            (HoldStatus::Captured, Some(15))
        );
        let statement = hub
            .api
            .statement(&system(), tenant, None, 10)
            .await
            .unwrap();
        let lines: Vec<(TransactionKind, i64, i64, i64)> = statement
            .entries
            .iter()
            .map(|e| (e.kind, e.amount, e.held_change, e.available_after))
            .collect();
        assert_eq!(
            lines,
            [
                (TransactionKind::Capture, 25, -40, 85),
                (TransactionKind::Hold, -40, 40, 60),
                (TransactionKind::Credit, 100, 0, 100),
            ]
        );
        assert_consistent(&hub).await;
    }
}

#[tokio::test]
async fn a_full_capture_and_a_release_settle_once() {
    for hub in hubs().await {
        let tenant = funded(&hub, 100).await;
        let a = hub
            .api
            .hold(&system(), tenant, new_hold(30, "a", None))
            .await
            .unwrap();
        let b = hub
            .api
            .hold(&system(), tenant, new_hold(20, "b", None))
            .await
            .unwrap();
        assert_eq!(balances(&hub, tenant).await, (50, 50));
        let full = hub
            .api
            .capture(&system(), a.id, None, "ca".into())
            .await
            .unwrap();
        assert_eq!(full.postings.len(), 2, "[{}] {full:?}", hub.label);
        let released = hub.api.release(&system(), b.id, "rb".into()).await.unwrap();
        assert_eq!(released.kind, TransactionKind::Release);
        assert_eq!(
            released.postings,
            [
                Posting {
                    account: accounts::available(tenant),
                    amount: 20
                },
                Posting {
                    account: accounts::held(tenant),
                    amount: -20
                },
            ]
        );
        assert_eq!(balances(&hub, tenant).await, (70, 0), "[{}]", hub.label);
        assert_refused(
            &hub,
            hub.api.release(&system(), b.id, "rb2".into()).await,
            "hold_settled",
        );
        assert_refused(
            &hub,
            hub.api.capture(&system(), b.id, Some(1), "cb".into()).await,
            "hold_settled",
        );
        // The same key for a different settlement is a conflict, not a replay.
        assert_err(
            &hub,
            hub.api.capture(&system(), b.id, None, "rb".into()).await,
            "conflict",
        );
        assert_eq!(balances(&hub, tenant).await, (70, 0));
        assert_consistent(&hub).await;
    }
}

#[tokio::test]
async fn holds_past_their_expiry_go_back_to_available() {
    for hub in hubs().await {
        let tenant = funded(&hub, 100).await;
        let short = hub
            .api
            .hold(&system(), tenant, new_hold(10, "s", Some(60)))
            .await
            .unwrap();
        let long = hub
            .api
            .hold(&system(), tenant, new_hold(20, "l", Some(3_600)))
            .await
            .unwrap();
        let never = hub
            .api
            .hold(&system(), tenant, new_hold(30, "n", None))
            .await
            .unwrap();
        assert_eq!(
            short
                .expires_at
                .map(|e| (e - short.created_at).whole_seconds()),
            Some(60)
        );
        assert_eq!(hub.api.expire_holds(&system()).await.unwrap(), 0);

        hub.clock.advance(Duration::from_secs(61));
        assert_eq!(
            hub.api.expire_holds(&system()).await.unwrap(),
            1,
            "[{}]",
            hub.label
        );
        assert_eq!(balances(&hub, tenant).await, (50, 50));
        // An expired hold can no longer be charged; one past its expiry but not yet expired by
        // the task neither.
        assert_refused(
            &hub,
            hub.api
                .capture(&system(), short.id, None, "cs".into())
                .await,
            "hold_settled",
        );
        hub.clock.advance(Duration::from_secs(3_600));
        assert_refused(
            &hub,
            hub.api.capture(&system(), long.id, None, "cl".into()).await,
            "hold_expired",
        );
        assert_eq!(hub.api.expire_holds(&system()).await.unwrap(), 1);
        assert_eq!(hub.api.expire_holds(&system()).await.unwrap(), 0);
        assert_eq!(balances(&hub, tenant).await, (70, 30), "[{}]", hub.label);
        let replay = hub
            .api
            .hold(&system(), tenant, new_hold(10, "s", Some(60)))
            .await
            .unwrap();
        assert_eq!(replay.status, HoldStatus::Expired);
        // The hold without expiry is still there to capture.
        hub.api
            .capture(&system(), never.id, Some(30), "cn".into())
            .await
            .unwrap();
        assert_eq!(balances(&hub, tenant).await, (70, 0));
        let kinds: Vec<TransactionKind> = hub
            .api
            .statement(&system(), tenant, None, 3)
            .await
            .unwrap()
            .entries
            .iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                TransactionKind::Capture,
                TransactionKind::Expiry,
                TransactionKind::Expiry
            ]
        );
        assert_consistent(&hub).await;
    }
}
