//! Profiles and preferences of platform users, over every hub implementation and backend.

mod common;

use std::time::Duration;

use common::*;
use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, Clock, EventScope};
use nave_user::ProfileChange;
use serde_json::{Map, Value, json};

fn object(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn profiles_are_created_on_first_use_and_updated() {
    for hub in hubs().await {
        let id = new_id();
        let me = user(id);
        let fresh = hub.api.get_profile(&me, id).await.unwrap();
        assert_eq!(fresh.user_id, id, "[{}]", hub.label);
        assert_eq!(fresh.display_name, None);
        assert!(fresh.preferences.is_empty());
        hub.clock.advance(Duration::from_secs(60));
        let change = ProfileChange {
            display_name: Some("  Ana Lima ".into()),
            avatar_url: Some("https://cdn.example.com/ana.png".into()),
            locale: Some("pt-BR".into()),
            time_zone: Some("America/Sao_Paulo".into()),
        };
        let updated = hub.api.update_profile(&me, id, change).await.unwrap();
        assert_eq!(updated.display_name.as_deref(), Some("Ana Lima"));
        assert_eq!(updated.locale.as_deref(), Some("pt-BR"));
        assert_eq!(updated.time_zone.as_deref(), Some("America/Sao_Paulo"));
        assert_eq!(
            updated.updated_at.unix_timestamp(),
            hub.clock.now().unix_timestamp()
        );
        // Missing fields stay; "" clears.
        let clear = ProfileChange {
            avatar_url: Some(String::new()),
            ..ProfileChange::default()
        };
        let cleared = hub.api.update_profile(&me, id, clear).await.unwrap();
        assert_eq!(cleared.avatar_url, None);
        assert_eq!(cleared.display_name.as_deref(), Some("Ana Lima"));
        assert_eq!(hub.api.get_profile(&me, id).await.unwrap(), cleared);
        // Platform admins and the platform may read and change it too.
        let admin = platform_admin();
        assert_eq!(hub.api.get_profile(&admin, id).await.unwrap(), cleared);
        let system = AuthContext::system();
        let renamed = ProfileChange {
            display_name: Some("Ana".into()),
            ..ProfileChange::default()
        };
        let by_system = hub.api.update_profile(&system, id, renamed).await.unwrap();
        assert_eq!(by_system.display_name.as_deref(), Some("Ana"));
    }
}

#[tokio::test]
async fn invalid_profile_fields_are_named() {
    for hub in hubs().await {
        let id = new_id();
        let bad = ProfileChange {
            display_name: Some("x".repeat(101)),
            avatar_url: Some("ftp://example.com/a.png".into()),
            locale: Some("pt_BR!".into()),
            time_zone: Some("Lisbon".into()),
        };
        let err = assert_err(
            &hub,
            hub.api.update_profile(&user(id), id, bad).await,
            "invalid_argument",
        );
        assert_eq!(
            fields(&err),
            ["display_name", "avatar_url", "locale", "time_zone"],
            "[{}]",
            hub.label
        );
        let blank = ProfileChange {
            display_name: Some("   ".into()),
            ..ProfileChange::default()
        };
        let err = assert_err(
            &hub,
            hub.api.update_profile(&user(id), id, blank).await,
            "invalid_argument",
        );
        assert!(err.to_string().contains("display_name"), "{err}");
        // Nothing was changed by the refused calls.
        let profile = hub.api.get_profile(&user(id), id).await.unwrap();
        assert_eq!(profile.display_name, None);
        assert_eq!(profile.time_zone, None);
    }
}

#[tokio::test]
async fn other_users_profiles_do_not_exist_for_them() {
    for hub in hubs().await {
        let ana = new_id();
        hub.api.get_profile(&user(ana), ana).await.unwrap();
        let bob = user(new_id());
        assert_err(&hub, hub.api.get_profile(&bob, ana).await, "not_found");
        let change = ProfileChange {
            display_name: Some("pwned".into()),
            ..ProfileChange::default()
        };
        assert_err(
            &hub,
            hub.api.update_profile(&bob, ana, change).await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api
                .set_preferences(&bob, ana, object(json!({"theme": "dark"})))
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api.get_profile(&AuthContext::anonymous(), ana).await,
            "unauthenticated",
        );
        assert_eq!(
            hub.api
                .get_profile(&user(ana), ana)
                .await
                .unwrap()
                .display_name,
            None
        );
    }
}

#[tokio::test]
async fn preferences_merge_remove_and_stay_within_limits() {
    for hub in hubs().await {
        let id = new_id();
        let me = user(id);
        let p = hub
            .api
            .set_preferences(
                &me,
                id,
                object(json!({"theme": "dark", "inbox.sound": true})),
            )
            .await
            .unwrap();
        assert_eq!(
            Value::Object(p.preferences),
            json!({"theme": "dark", "inbox.sound": true})
        );
        let p = hub
            .api
            .set_preferences(
                &me,
                id,
                object(json!({"inbox.sound": null, "density": "compact"})),
            )
            .await
            .unwrap();
        assert_eq!(
            Value::Object(p.preferences),
            json!({"theme": "dark", "density": "compact"}),
            "[{}]",
            hub.label
        );
        let err = assert_err(
            &hub,
            hub.api
                .set_preferences(&me, id, object(json!({"Bad Key": 1})))
                .await,
            "invalid_argument",
        );
        assert_eq!(fields(&err), ["preferences.Bad Key"]);
        let many: Map<String, Value> = (0..63).map(|i| (format!("k{i}"), json!(i))).collect();
        let err = assert_err(
            &hub,
            hub.api.set_preferences(&me, id, many).await,
            "invalid_argument",
        );
        assert!(err.to_string().contains("64 keys"), "{err}");
        let big = object(json!({"blob": "x".repeat(17 * 1024)}));
        let err = assert_err(
            &hub,
            hub.api.set_preferences(&me, id, big).await,
            "invalid_argument",
        );
        assert!(err.to_string().contains("16384 bytes"), "{err}");
        // Refused patches left the preferences alone.
        let p = hub.api.get_profile(&me, id).await.unwrap();
        assert_eq!(
            Value::Object(p.preferences),
            json!({"theme": "dark", "density": "compact"})
        );
    }
}

#[tokio::test]
async fn profile_events_record_actor_and_correlation_id() {
    for hub in hubs().await {
        let id = new_id();
        let me = user(id).with_correlation_id("req-profile-1");
        let change = ProfileChange {
            locale: Some("en".into()),
            ..ProfileChange::default()
        };
        hub.api
            .update_profile(&me, id, change.clone())
            .await
            .unwrap();
        // The same change again changes nothing and records nothing.
        hub.api.update_profile(&me, id, change).await.unwrap();
        hub.api
            .set_preferences(&me, id, object(json!({"theme": "light"})))
            .await
            .unwrap();
        let page = hub
            .api
            .list_events(&platform_admin(), EventScope::Platform, 0, 100)
            .await
            .unwrap();
        let kinds: Vec<&str> = page.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["profile.updated", "preferences.updated"],
            "[{}]",
            hub.label
        );
        for e in &page.events {
            assert_eq!(e.actor, format!("user:{id}"));
            assert_eq!(e.correlation_id, "req-profile-1");
        }
        assert_eq!(page.events[0].payload["fields"], json!(["locale"]));
        assert_err(
            &hub,
            hub.api.list_events(&user(id), EventScope::All, 0, 10).await,
            "permission_denied",
        );
    }
}
