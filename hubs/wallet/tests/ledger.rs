//! Credits, debits, statements, idempotency and input checks, over every hub implementation and
//! backend.

mod common;

use common::*;
use nave_hub_core::ids::new_id;
use nave_wallet::{Credit, CreditSource, Debit, Posting, TransactionKind, accounts};

#[tokio::test]
async fn credit_and_debit_move_money_and_the_statement_pages_newest_first() {
    for hub in hubs().await {
        let tenant = new_id();
        // A tenant without a wallet has nothing, in the platform's currency.
        let empty = hub.api.balance(&system(), tenant).await.unwrap();
        assert_eq!(
            (empty.available, empty.held, empty.currency.as_str()),
            (0, 0, "EUR")
        );

        let top_up = credit(&hub, tenant, 1_000, "t1").await;
        assert_eq!(top_up.kind, TransactionKind::Credit, "[{}]", hub.label);
        assert_eq!(top_up.reason, "top_up");
        assert_eq!(
            top_up.postings,
            [
                Posting {
                    account: accounts::FUNDING.into(),
                    amount: -1_000
                },
                Posting {
                    account: accounts::available(tenant),
                    amount: 1_000
                },
            ]
        );
        let promo = hub
            .api
            .credit(
                &platform_admin(),
                tenant,
                Credit {
                    amount: 250,
                    source: CreditSource::Promotion,
                    memo: "welcome gift".into(),
                    idempotency_key: "p1".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(promo.postings[0].account, accounts::PROMOTIONS);
        for i in 0..5 {
            let d = hub
                .api
                .debit(&system(), tenant, charge(100 + i, &format!("d{i}")))
                .await
                .unwrap();
            assert_eq!(d.kind, TransactionKind::Debit);
            assert_eq!(d.idempotency_key.as_deref(), Some(format!("d{i}").as_str()));
            assert_eq!(
                d.postings,
                [
                    Posting {
                        account: accounts::REVENUE.into(),
                        amount: 100 + i
                    },
                    Posting {
                        account: accounts::available(tenant),
                        amount: -(100 + i)
                    },
                ]
            );
        }
        // 1000 + 250 - (100 + 101 + 102 + 103 + 104)
        assert_eq!(balances(&hub, tenant).await, (740, 0), "[{}]", hub.label);

        // Pages of 3, newest first: 5 debits then 2 credits.
        let first = hub.api.statement(&system(), tenant, None, 3).await.unwrap();
        let amounts: Vec<i64> = first.entries.iter().map(|e| e.amount).collect();
        assert_eq!(amounts, [-104, -103, -102], "[{}]", hub.label);
        assert_eq!(first.entries[0].available_after, 740);
        assert_eq!(first.entries[0].memo, "charge d4");
        assert_eq!(first.entries[0].reason, "message");
        let second = hub
            .api
            .statement(&system(), tenant, first.next, 3)
            .await
            .unwrap();
        let amounts: Vec<i64> = second.entries.iter().map(|e| e.amount).collect();
        assert_eq!(amounts, [-101, -100, 250]);
        assert_eq!(second.entries[2].kind, TransactionKind::Credit);
        assert_eq!(second.entries[2].available_after, 1_250);
        let last = hub
            .api
            .statement(&system(), tenant, second.next, 3)
            .await
            .unwrap();
        assert_eq!(last.entries.len(), 1);
        assert_eq!(last.entries[0].transaction_id, top_up.id);
        assert_eq!(
            (last.entries[0].amount, last.entries[0].available_after),
            (1_000, 1_000)
        );
        assert_eq!(last.next, None);
        // 0 means the default page (all 7 fit), and a foreign cursor is a client error.
        let all = hub.api.statement(&system(), tenant, None, 0).await.unwrap();
        assert_eq!((all.entries.len(), all.next), (7, None));
        let err = assert_err(
            &hub,
            hub.api
                .statement(&system(), tenant, Some(new_id()), 3)
                .await,
            "invalid_argument",
        );
        assert_eq!(err.fields()[0].field, "after");
        // Another tenant's statement is empty.
        let other = hub
            .api
            .statement(&system(), new_id(), None, 10)
            .await
            .unwrap();
        assert!(other.entries.is_empty());
        assert_consistent(&hub).await;
    }
}

#[tokio::test]
async fn a_debit_beyond_the_available_balance_is_refused_and_changes_nothing() {
    for hub in hubs().await {
        let tenant = funded(&hub, 50).await;
        let err = assert_refused(
            &hub,
            hub.api
                .debit(&system(), tenant, charge(51, "too-much"))
                .await,
            "insufficient_funds",
        );
        let message = &err.reasons()[0].message;
        assert!(
            message.contains("50") && message.contains("51"),
            "{message}"
        );
        // A tenant never credited has 0.
        assert_refused(
            &hub,
            hub.api
                .debit(&system(), new_id(), charge(1, "nothing"))
                .await,
            "insufficient_funds",
        );
        assert_eq!(balances(&hub, tenant).await, (50, 0));
        // Exactly the balance is fine, and the refused key can be used once funds arrive.
        hub.api
            .debit(&system(), tenant, charge(50, "all"))
            .await
            .unwrap();
        assert_eq!(balances(&hub, tenant).await, (0, 0));
        credit(&hub, tenant, 100, "more").await;
        let t = hub
            .api
            .debit(&system(), tenant, charge(51, "too-much"))
            .await
            .unwrap();
        assert_eq!(t.postings.len(), 2);
        assert_eq!(balances(&hub, tenant).await, (49, 0), "[{}]", hub.label);
        assert_consistent(&hub).await;
    }
}

#[tokio::test]
async fn replaying_a_request_returns_the_first_result_and_reusing_its_key_is_a_conflict() {
    for hub in hubs().await {
        let tenant = new_id();
        let first = credit(&hub, tenant, 300, "k1").await;
        let again = credit(&hub, tenant, 300, "k1").await;
        assert_eq!(again, first, "[{}]", hub.label);
        assert_eq!(balances(&hub, tenant).await, (300, 0));

        let debit = hub
            .api
            .debit(&system(), tenant, charge(20, "k2"))
            .await
            .unwrap();
        let replay = hub
            .api
            .debit(&system(), tenant, charge(20, "k2"))
            .await
            .unwrap();
        assert_eq!(replay.id, debit.id);
        assert_eq!(balances(&hub, tenant).await, (280, 0));

        // The same key with another amount, another memo or another operation.
        let err = assert_err(
            &hub,
            hub.api.debit(&system(), tenant, charge(21, "k2")).await,
            "conflict",
        );
        assert!(
            err.to_string()
                .contains("idempotency key reused with a different request")
        );
        let mut other_memo = charge(20, "k2");
        other_memo.memo = "something else".into();
        assert_err(
            &hub,
            hub.api.debit(&system(), tenant, other_memo).await,
            "conflict",
        );
        assert_err(
            &hub,
            hub.api.credit(&system(), tenant, top_up(20, "k2")).await,
            "conflict",
        );
        // Keys are per tenant: another tenant may use `k2` for its own request.
        let other = funded(&hub, 20).await;
        hub.api
            .debit(&system(), other, charge(20, "k2"))
            .await
            .unwrap();

        assert_eq!(balances(&hub, tenant).await, (280, 0));
        let statement = hub
            .api
            .statement(&system(), tenant, None, 10)
            .await
            .unwrap();
        assert_eq!(statement.entries.len(), 2, "[{}]", hub.label);
        assert_consistent(&hub).await;
    }
}

#[tokio::test]
async fn invalid_requests_name_every_bad_field() {
    for hub in hubs().await {
        let tenant = funded(&hub, 100).await;
        let err = assert_err(
            &hub,
            hub.api
                .debit(
                    &system(),
                    tenant,
                    Debit {
                        amount: 0,
                        reason: " ".into(),
                        memo: "x".repeat(501),
                        idempotency_key: String::new(),
                    },
                )
                .await,
            "invalid_argument",
        );
        let fields: Vec<&str> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["amount", "reason", "memo", "idempotency_key"],
            "[{}]",
            hub.label
        );

        let err = assert_err(
            &hub,
            hub.api
                .credit(&system(), tenant, top_up(-5, &"k".repeat(129)))
                .await,
            "invalid_argument",
        );
        let fields: Vec<&str> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["amount", "idempotency_key"]);
        // Amounts beyond 10^12 minor units are refused, so no balance can overflow.
        let err = assert_err(
            &hub,
            hub.api
                .credit(&system(), tenant, top_up(i64::MAX, "huge"))
                .await,
            "invalid_argument",
        );
        assert_eq!(err.fields()[0].field, "amount");

        let err = assert_err(
            &hub,
            hub.api
                .hold(&system(), tenant, new_hold(-1, "h", Some(0)))
                .await,
            "invalid_argument",
        );
        let fields: Vec<&str> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["amount", "expires_in_secs"]);

        let hold = hub
            .api
            .hold(&system(), tenant, new_hold(10, "h", None))
            .await
            .unwrap();
        let err = assert_err(
            &hub,
            hub.api
                .capture(&system(), hold.id, Some(11), "c".into())
                .await,
            "invalid_argument",
        );
        assert_eq!(err.fields()[0].field, "amount");
        let err = assert_err(
            &hub,
            hub.api
                .capture(&system(), hold.id, Some(0), String::new())
                .await,
            "invalid_argument",
        );
        let fields: Vec<&str> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["amount", "idempotency_key"]);
        assert_err(
            &hub,
            hub.api.release(&system(), new_id(), "r".into()).await,
            "not_found",
        );
        // Nothing moved but the hold.
        assert_eq!(balances(&hub, tenant).await, (90, 10), "[{}]", hub.label);
    }
}
