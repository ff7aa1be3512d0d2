//! Resolution (nearest scope wins) and the checks on every value, over every hub implementation
//! and backend.

mod common;

use common::*;
use nave_config::{Kind, Origin, ResolveAt, Scope, ScopeKind};
use nave_hub_core::ids::new_id;
use serde_json::json;

const KEY: &str = "spoke.deadline_ms";

#[tokio::test]
async fn nearest_scope_wins_and_unset_falls_back_one_level() {
    for hub in hubs().await {
        let (tenant, installation) = (new_id(), new_id());
        let at = ResolveAt::installation(tenant, installation);
        let api = &hub.api;
        let sys = system();
        let seen = |r: nave_config::Resolved| (r.value, r.from);

        assert_eq!(
            seen(resolved(&hub, KEY, at).await),
            (json!(2000), Origin::Default)
        );
        api.set(&sys, Scope::Global, KEY, json!(3000), None)
            .await
            .unwrap();
        assert_eq!(
            seen(resolved(&hub, KEY, at).await),
            (json!(3000), Origin::Global)
        );
        api.set(&sys, Scope::Tenant(tenant), KEY, json!(4000), None)
            .await
            .unwrap();
        assert_eq!(
            seen(resolved(&hub, KEY, at).await),
            (json!(4000), Origin::Tenant)
        );
        let inst = Scope::Installation {
            tenant_id: tenant,
            installation_id: installation,
        };
        let set = api.set(&sys, inst, KEY, json!(5000), None).await.unwrap();
        let got = resolved(&hub, KEY, at).await;
        assert_eq!(
            (got.value.clone(), got.from, got.version),
            (json!(5000), Origin::Installation, set.version),
            "[{}]",
            hub.label
        );

        // Other tenants and installations are untouched.
        let other = ResolveAt::installation(tenant, new_id());
        assert_eq!(
            seen(resolved(&hub, KEY, other).await),
            (json!(4000), Origin::Tenant)
        );
        assert_eq!(
            seen(resolved(&hub, KEY, ResolveAt::tenant(new_id())).await),
            (json!(3000), Origin::Global)
        );

        // Unsetting falls back one level at a time, down to the default.
        api.unset(&sys, inst, KEY).await.unwrap();
        assert_eq!(
            seen(resolved(&hub, KEY, at).await),
            (json!(4000), Origin::Tenant)
        );
        api.unset(&sys, Scope::Tenant(tenant), KEY).await.unwrap();
        assert_eq!(
            seen(resolved(&hub, KEY, at).await),
            (json!(3000), Origin::Global)
        );
        api.unset(&sys, Scope::Global, KEY).await.unwrap();
        assert_eq!(
            seen(resolved(&hub, KEY, at).await),
            (json!(2000), Origin::Default)
        );
        assert_err(&hub, api.unset(&sys, Scope::Global, KEY).await, "not_found");

        // resolve_all gives every declared setting, each from its nearest scope.
        api.set(
            &sys,
            Scope::Tenant(tenant),
            "spoke.memory_mib",
            json!(128),
            None,
        )
        .await
        .unwrap();
        let all = api.resolve_all(&sys, at, false).await.unwrap();
        let keys: Vec<&str> = all.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "billing.message_cost",
                "ingress.rate_limit_per_minute",
                "spoke.deadline_ms",
                "spoke.memory_mib",
                "webhook.signing_secret"
            ],
            "[{}]",
            hub.label
        );
        let memory = all.iter().find(|r| r.key == "spoke.memory_mib").unwrap();
        assert_eq!(
            (memory.value.clone(), memory.from),
            (json!(128), Origin::Tenant)
        );
        let secret = all
            .iter()
            .find(|r| r.key == "webhook.signing_secret")
            .unwrap();
        assert_eq!(
            (secret.value.clone(), secret.from),
            (json!(null), Origin::Default)
        );
    }
}

#[tokio::test]
async fn values_are_checked_against_the_declared_kind_range_and_scopes() {
    for hub in hubs().await {
        let api = &hub.api;
        let sys = system();
        let tenant = new_id();

        for bad in [
            json!(0),
            json!(30_001),
            json!("2000"),
            json!(1.5),
            json!(null),
        ] {
            let err = assert_err(
                &hub,
                api.set(&sys, Scope::Global, KEY, bad.clone(), None).await,
                "invalid_argument",
            );
            let field = &err.fields()[0];
            assert_eq!(field.field, "value", "[{}]", hub.label);
            assert!(
                field.message.contains(KEY) && field.message.contains("from 1 to 30000"),
                "[{}] {bad}: {}",
                hub.label,
                field.message
            );
        }
        let err = assert_err(
            &hub,
            api.set(&sys, Scope::Global, "spoke.deadline", json!(1), None)
                .await,
            "invalid_argument",
        );
        assert_eq!(err.fields()[0].field, "key");
        assert!(
            err.fields()[0]
                .message
                .contains("unknown setting `spoke.deadline`")
                && err.fields()[0].message.contains("spoke.deadline_ms"),
            "[{}] {err:?}",
            hub.label
        );

        // billing.message_cost may be set globally and per tenant, not per installation.
        let inst = Scope::Installation {
            tenant_id: tenant,
            installation_id: new_id(),
        };
        let err = assert_err(
            &hub,
            api.set(&sys, inst, "billing.message_cost", json!(5), None)
                .await,
            "invalid_argument",
        );
        assert_eq!(err.fields()[0].field, "scope");
        assert!(
            err.fields()[0].message.contains("billing.message_cost")
                && err.fields()[0].message.contains("global, tenant"),
            "[{}] {err:?}",
            hub.label
        );
        assert_err(
            &hub,
            api.set(
                &sys,
                Scope::Global,
                "webhook.signing_secret",
                json!("s"),
                None,
            )
            .await,
            "invalid_argument",
        );
        assert_err(
            &hub,
            api.resolve(
                &sys,
                KEY,
                ResolveAt {
                    tenant_id: None,
                    installation_id: Some(new_id()),
                },
                false,
            )
            .await,
            "invalid_argument",
        );

        // Bounds themselves are accepted; nothing invalid was stored.
        api.set(&sys, Scope::Global, KEY, json!(30_000), None)
            .await
            .unwrap();
        api.set(&sys, Scope::Tenant(tenant), KEY, json!(1), None)
            .await
            .unwrap();
        assert_eq!(
            resolved(&hub, KEY, ResolveAt::global()).await.value,
            json!(30_000)
        );
        let history = api.history(&sys, Scope::Global, KEY, 0).await.unwrap();
        assert_eq!(history.len(), 1, "[{}]", hub.label);
    }
}

#[tokio::test]
async fn definitions_describe_every_setting() {
    for hub in hubs().await {
        let defs = hub
            .api
            .list_definitions(&member(new_id(), nave_hub_core::Role::Viewer))
            .await
            .unwrap();
        let deadline = defs.iter().find(|d| d.key == KEY).unwrap();
        assert_eq!(
            deadline.kind,
            Kind::Integer {
                min: 1,
                max: 30_000
            },
            "[{}]",
            hub.label
        );
        assert_eq!(deadline.default, Some(json!(2000)));
        assert_eq!(
            deadline.scopes,
            [
                ScopeKind::Global,
                ScopeKind::Tenant,
                ScopeKind::Installation
            ]
        );
        let secret = defs
            .iter()
            .find(|d| d.key == "webhook.signing_secret")
            .unwrap();
        assert_eq!((secret.kind, secret.default.clone()), (Kind::Secret, None));
        assert_eq!(secret.scopes, [ScopeKind::Installation]);
        assert_err(
            &hub,
            hub.api
                .list_definitions(&nave_hub_core::AuthContext::anonymous())
                .await,
            "unauthenticated",
        );
    }
}

#[tokio::test]
async fn settings_declared_by_the_host_are_checked_like_the_builtin_ones() {
    use nave_config::{ConfigConfig, DefaultValue, SettingDef};
    static EXTRA: [SettingDef; 2] = [
        SettingDef {
            key: "inbox.greeting",
            kind: Kind::String { max_len: 5 },
            default: DefaultValue::String("hi"),
            scopes: &[ScopeKind::Tenant],
            tenant_writable: true,
            description: "Greeting shown to new contacts.",
        },
        SettingDef {
            key: "inbox.enabled",
            kind: Kind::Bool,
            default: DefaultValue::Bool(true),
            scopes: &[ScopeKind::Global, ScopeKind::Tenant],
            tenant_writable: true,
            description: "Whether the inbox accepts messages.",
        },
    ];
    let config = || ConfigConfig {
        extra: EXTRA.to_vec(),
        seal_key: None,
    };
    for hub in hubs_with(config).await {
        let tenant = new_id();
        let sys = system();
        let at = ResolveAt::tenant(tenant);
        assert_eq!(
            resolved(&hub, "inbox.greeting", at).await.value,
            json!("hi")
        );
        hub.api
            .set(
                &sys,
                Scope::Tenant(tenant),
                "inbox.greeting",
                json!("hallo"),
                None,
            )
            .await
            .unwrap();
        hub.api
            .set(&sys, Scope::Global, "inbox.enabled", json!(false), None)
            .await
            .unwrap();
        let all = hub.api.resolve_all(&sys, at, false).await.unwrap();
        let value = |key: &str| all.iter().find(|r| r.key == key).unwrap().value.clone();
        assert_eq!(value("inbox.greeting"), json!("hallo"), "[{}]", hub.label);
        assert_eq!(value("inbox.enabled"), json!(false), "[{}]", hub.label);

        let err = assert_err(
            &hub,
            hub.api
                .set(
                    &sys,
                    Scope::Tenant(tenant),
                    "inbox.greeting",
                    json!("hello!"),
                    None,
                )
                .await,
            "invalid_argument",
        );
        assert!(
            err.fields()[0].message.contains("at most 5 characters"),
            "[{}] {err:?}",
            hub.label
        );
        assert_err(
            &hub,
            hub.api
                .set(
                    &sys,
                    Scope::Tenant(tenant),
                    "inbox.enabled",
                    json!("no"),
                    None,
                )
                .await,
            "invalid_argument",
        );
        // Unsetting where a setting cannot be set names the allowed scopes too.
        let err = assert_err(
            &hub,
            hub.api.unset(&sys, Scope::Global, "inbox.greeting").await,
            "invalid_argument",
        );
        assert_eq!(err.fields()[0].field, "scope", "[{}]", hub.label);
        let defs = hub.api.list_definitions(&sys).await.unwrap();
        let greeting = defs.iter().find(|d| d.key == "inbox.greeting").unwrap();
        assert_eq!(
            greeting.kind,
            Kind::String { max_len: 5 },
            "[{}]",
            hub.label
        );
        assert_eq!(greeting.default, Some(json!("hi")));
    }
}
