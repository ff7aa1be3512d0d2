//! Sign-up, login, refresh rotation, reuse detection, logout and revocation, on every hub.

mod common;

use common::*;
use nave_hub_core::EventScope;
use nave_identity::SignUp;

#[tokio::test]
async fn sign_up_log_in_and_refresh_rotate_tokens() {
    for hub in hubs().await {
        let signed = sign_up(&hub, "Ann@Example.com").await;
        assert_eq!(signed.user.email, "ann@example.com", "[{}]", hub.label);
        assert!(!signed.user.platform_admin);
        let claims = hub
            .api
            .verify_access_token(&anon(), &signed.access_token)
            .await
            .unwrap();
        assert_eq!(claims.user_id, signed.user.id);
        assert_eq!(claims.session_id, signed.session_id);

        let logged = hub
            .api
            .log_in(&anon(), login("ann@example.com", PASSWORD))
            .await
            .unwrap();
        assert_eq!(logged.user.id, signed.user.id);
        assert_ne!(
            logged.session_id, signed.session_id,
            "each login is a new session"
        );

        let first = hub
            .api
            .refresh(&anon(), &logged.refresh_token)
            .await
            .unwrap();
        assert_ne!(first.refresh_token, logged.refresh_token, "[{}]", hub.label);
        assert_eq!(first.session_id, logged.session_id);
        let second = hub
            .api
            .refresh(&anon(), &first.refresh_token)
            .await
            .unwrap();
        assert_eq!(second.session_id, logged.session_id);
        hub.api
            .verify_access_token(&anon(), &second.access_token)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_family() {
    for hub in hubs().await {
        let other_session = sign_up(&hub, "bob@example.com").await;
        let tokens = hub
            .api
            .log_in(&anon(), login("bob@example.com", PASSWORD))
            .await
            .unwrap();
        let rotated = hub
            .api
            .refresh(&anon(), &tokens.refresh_token)
            .await
            .unwrap();

        // The first token is replayed (by a thief, or by the user after the thief refreshed).
        let replay = hub.api.refresh(&anon(), &tokens.refresh_token).await;
        assert_err(
            &hub,
            replay,
            "unauthenticated",
            Some("refresh_token_reused"),
        );

        // The whole family is gone: the newest refresh token and its access token too.
        let newest = hub.api.refresh(&anon(), &rotated.refresh_token).await;
        assert_err(&hub, newest, "unauthenticated", Some("session_revoked"));
        let access = hub
            .api
            .verify_access_token(&anon(), &rotated.access_token)
            .await;
        assert_err(&hub, access, "unauthenticated", Some("session_revoked"));

        // Other sessions of the same user are untouched.
        hub.api
            .refresh(&anon(), &other_session.refresh_token)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn log_out_ends_the_session_and_revocation_ends_them_all() {
    for hub in hubs().await {
        let tokens = sign_up(&hub, "cy@example.com").await;
        hub.api
            .log_out(&anon(), &tokens.refresh_token)
            .await
            .unwrap();
        let again = hub.api.refresh(&anon(), &tokens.refresh_token).await;
        assert_err(&hub, again, "unauthenticated", Some("session_revoked"));
        let access = hub
            .api
            .verify_access_token(&anon(), &tokens.access_token)
            .await;
        assert_err(&hub, access, "unauthenticated", Some("session_revoked"));
        hub.api
            .log_out(&anon(), &tokens.refresh_token)
            .await
            .unwrap();

        let a = hub
            .api
            .log_in(&anon(), login("cy@example.com", PASSWORD))
            .await
            .unwrap();
        let b = hub
            .api
            .log_in(&anon(), login("cy@example.com", PASSWORD))
            .await
            .unwrap();
        let stranger = sign_up(&hub, "eve@example.com").await;
        let denied = hub
            .api
            .revoke_all_sessions(&ctx_of(&stranger), a.user.id)
            .await;
        assert_err(&hub, denied, "permission_denied", None);
        let hidden = hub
            .api
            .revoke_session(&ctx_of(&stranger), a.session_id)
            .await;
        assert_err(&hub, hidden, "not_found", None);

        hub.api
            .revoke_session(&ctx_of(&a), a.session_id)
            .await
            .unwrap();
        assert_err(
            &hub,
            hub.api.refresh(&anon(), &a.refresh_token).await,
            "unauthenticated",
            None,
        );
        assert_eq!(
            hub.api
                .revoke_all_sessions(&ctx_of(&b), b.user.id)
                .await
                .unwrap(),
            1
        );
        assert_err(
            &hub,
            hub.api.refresh(&anon(), &b.refresh_token).await,
            "unauthenticated",
            None,
        );
        let bogus = hub.api.refresh(&anon(), "nave_rt_not-a-token").await;
        assert_err(&hub, bogus, "unauthenticated", None);
    }
}

#[tokio::test]
async fn sign_up_explains_what_to_fix() {
    for hub in hubs().await {
        let bad = hub
            .api
            .sign_up(
                &anon(),
                SignUp {
                    email: "not-an-email".into(),
                    password: "short".into(),
                },
            )
            .await;
        let err = assert_err(&hub, bad, "invalid_argument", None);
        let fields: Vec<_> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["email", "password"], "[{}]", hub.label);
        assert!(err.fields()[1].message.contains("at least 12 characters"));

        sign_up(&hub, "dup@example.com").await;
        let dup = hub
            .api
            .sign_up(
                &anon(),
                SignUp {
                    email: "DUP@example.com".into(),
                    password: PASSWORD.into(),
                },
            )
            .await;
        assert_err(&hub, dup, "conflict", None);
    }
}

#[tokio::test]
async fn wrong_credentials_do_not_say_which_part_was_wrong() {
    for hub in hubs().await {
        sign_up(&hub, "dee@example.com").await;
        let wrong_pw = hub
            .api
            .log_in(&anon(), login("dee@example.com", "wrong password!!"))
            .await;
        let no_user = hub
            .api
            .log_in(&anon(), login("nobody@example.com", PASSWORD))
            .await;
        let a = assert_err(&hub, wrong_pw, "unauthenticated", None);
        let b = assert_err(&hub, no_user, "unauthenticated", None);
        assert_eq!(a.to_string(), b.to_string());
    }
}

#[tokio::test]
async fn state_changes_are_in_the_event_log_with_actor_and_correlation() {
    for hub in hubs().await {
        let root = admin(&hub).await;
        let ctx = anon().with_correlation_id("corr-signup-1");
        hub.api
            .sign_up(
                &ctx,
                SignUp {
                    email: "fay@example.com".into(),
                    password: PASSWORD.into(),
                },
            )
            .await
            .unwrap();
        let page = hub
            .api
            .list_events(&ctx_of(&root), EventScope::Platform, 0, 100)
            .await
            .unwrap();
        let kinds: Vec<_> = page.events.iter().map(|e| e.kind.as_str()).collect();
        assert!(
            kinds.contains(&"identity.admin.bootstrapped"),
            "[{}] {kinds:?}",
            hub.label
        );
        let signed_up = page
            .events
            .iter()
            .find(|e| e.kind == "identity.user.signed_up")
            .expect("sign-up event");
        assert_eq!(signed_up.correlation_id, "corr-signup-1");
        assert_eq!(signed_up.actor, "anonymous");
        assert_eq!(signed_up.payload["email"], "fay@example.com");
        assert!(
            !signed_up.payload.to_string().contains(PASSWORD),
            "no secrets in events"
        );

        let user = sign_up(&hub, "gus@example.com").await;
        let denied = hub
            .api
            .list_events(&ctx_of(&user), EventScope::All, 0, 10)
            .await;
        assert_err(&hub, denied, "permission_denied", None);
    }
}

#[tokio::test]
async fn bootstrap_creates_one_platform_admin() {
    for hub in hubs().await {
        let created = hub
            .local
            .bootstrap_admin("Admin@Example.com", None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(created.email, "admin@example.com");
        let password = created
            .generated_password
            .expect("generated password returned once");
        assert!(password.len() >= 40);
        let tokens = hub
            .api
            .log_in(&anon(), login("admin@example.com", &password))
            .await
            .unwrap();
        assert!(tokens.user.platform_admin, "[{}]", hub.label);
        let claims = hub
            .api
            .verify_access_token(&anon(), &tokens.access_token)
            .await
            .unwrap();
        assert!(claims.platform_admin);
        assert_eq!(
            hub.local
                .bootstrap_admin("other@example.com", None)
                .await
                .unwrap(),
            None
        );
    }
}
