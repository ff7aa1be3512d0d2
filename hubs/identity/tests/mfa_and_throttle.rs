//! TOTP enrolment and login, and login throttling.

mod common;

use std::time::Duration;

use common::*;
use nave_hub_core::AuthContext;
use nave_identity::{IdentityConfig, LogIn, ThrottlePolicy};

fn now_secs(hub: &Hub) -> u64 {
    u64::try_from(nave_hub_core::Clock::now(hub.clock.as_ref()).unix_timestamp()).unwrap()
}

#[tokio::test]
async fn mfa_enrolment_and_login_with_and_without_the_code() {
    for hub in hubs().await {
        let tokens = sign_up(&hub, "ann@example.com").await;
        let ctx = ctx_of(&tokens);
        assert_err(
            &hub,
            hub.api.enroll_mfa(&anon()).await,
            "unauthenticated",
            None,
        );
        let enrolment = hub.api.enroll_mfa(&ctx).await.unwrap();
        assert!(
            enrolment.otpauth_url.starts_with("otpauth://totp/"),
            "[{}]",
            hub.label
        );
        assert!(
            enrolment.otpauth_url.contains("ann%40example.com")
                || enrolment.otpauth_url.contains("ann@example.com")
        );

        let wrong = hub.api.confirm_mfa(&ctx, "000000").await;
        let err = assert_err(&hub, wrong, "invalid_argument", None);
        assert_eq!(err.fields()[0].field, "code");
        // Until confirmed, login needs no code.
        hub.api
            .log_in(&anon(), login("ann@example.com", PASSWORD))
            .await
            .unwrap();

        let code = nave_identity::totp::code_at(&enrolment.secret, now_secs(&hub)).unwrap();
        hub.api.confirm_mfa(&ctx, &code).await.unwrap();
        assert!(
            hub.api
                .get_user(&ctx, tokens.user.id)
                .await
                .unwrap()
                .mfa_enabled
        );
        assert_err(&hub, hub.api.enroll_mfa(&ctx).await, "conflict", None);

        let without = hub
            .api
            .log_in(&anon(), login("ann@example.com", PASSWORD))
            .await;
        assert_err(&hub, without, "unauthenticated", Some("mfa_required"));
        let with_wrong = LogIn {
            totp_code: Some("123456".into()),
            ..login("ann@example.com", PASSWORD)
        };
        let r = hub.api.log_in(&anon(), with_wrong).await;
        assert_err(&hub, r, "unauthenticated", Some("mfa_invalid"));

        // The code used to confirm cannot be used again; the next one works once.
        hub.clock.advance(Duration::from_secs(30));
        let next = nave_identity::totp::code_at(&enrolment.secret, now_secs(&hub)).unwrap();
        let with_code = LogIn {
            totp_code: Some(next.clone()),
            ..login("ann@example.com", PASSWORD)
        };
        let ok = hub.api.log_in(&anon(), with_code.clone()).await.unwrap();
        assert_eq!(ok.user.id, tokens.user.id);
        let replay = hub.api.log_in(&anon(), with_code).await;
        assert_err(&hub, replay, "unauthenticated", Some("mfa_invalid"));
    }
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_growing_delay() {
    for hub in hubs().await {
        sign_up(&hub, "ann@example.com").await;
        for _ in 0..5 {
            let r = hub
                .api
                .log_in(&anon(), login("ann@example.com", "wrong password!!"))
                .await;
            assert_err(&hub, r, "unauthenticated", None);
        }
        // Locked: even the right password is refused, with a clear retry time.
        let locked = hub
            .api
            .log_in(&anon(), login("ann@example.com", PASSWORD))
            .await;
        let err = assert_err(&hub, locked, "resource_exhausted", None);
        assert_eq!(err.to_body().retry_after_secs, Some(30), "[{}]", hub.label);
        assert!(err.to_string().contains("too many failed logins"));

        hub.clock.advance(Duration::from_secs(31));
        // One more failure after the lock doubles the delay.
        let r = hub
            .api
            .log_in(&anon(), login("ann@example.com", "wrong password!!"))
            .await;
        assert_err(&hub, r, "unauthenticated", None);
        let locked = hub
            .api
            .log_in(&anon(), login("ann@example.com", PASSWORD))
            .await;
        let err = assert_err(&hub, locked, "resource_exhausted", None);
        assert_eq!(err.to_body().retry_after_secs, Some(60), "[{}]", hub.label);

        hub.clock.advance(Duration::from_secs(61));
        hub.api
            .log_in(&anon(), login("ann@example.com", PASSWORD))
            .await
            .unwrap();
        // Success forgets the account's failures.
        let r = hub
            .api
            .log_in(&anon(), login("ann@example.com", "wrong password!!"))
            .await;
        assert_err(&hub, r, "unauthenticated", None);
        hub.api
            .log_in(&anon(), login("ann@example.com", PASSWORD))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn one_source_guessing_many_accounts_is_locked() {
    let config = IdentityConfig {
        throttle: ThrottlePolicy {
            source_failures: 3,
            ..ThrottlePolicy::default()
        },
        ..test_config()
    };
    for hub in hubs_with(config).await {
        sign_up(&hub, "victim@example.com").await;
        let attacker = AuthContext::anonymous().with_source_ip("203.0.113.9".parse().unwrap());
        for i in 0..3 {
            let r = hub
                .api
                .log_in(&attacker, login(&format!("user{i}@example.com"), PASSWORD))
                .await;
            assert_err(&hub, r, "unauthenticated", None);
        }
        let r = hub
            .api
            .log_in(&attacker, login("victim@example.com", PASSWORD))
            .await;
        let err = assert_err(&hub, r, "resource_exhausted", None);
        assert!(
            err.to_string().contains("your address"),
            "[{}] {err}",
            hub.label
        );
        // Other addresses are not affected.
        let elsewhere = AuthContext::anonymous().with_source_ip("198.51.100.1".parse().unwrap());
        hub.api
            .log_in(&elsewhere, login("victim@example.com", PASSWORD))
            .await
            .unwrap();
    }
}
