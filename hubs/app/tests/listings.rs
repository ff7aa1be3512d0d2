//! The catalogue: who may publish what, private visibility, shadowing, field checks, versions.

mod common;

use common::*;
use nave_app::{AppRole, ListingChange, Visibility};
use nave_hub_core::Role;
use nave_hub_core::ids::new_id;

#[tokio::test]
async fn who_may_publish_what_and_who_sees_it() {
    for hub in hubs().await {
        let (t1, t2) = (new_id(), new_id());
        let admin1 = member(t1, Role::Admin);

        // Public listings: platform admins only.
        assert_err(
            &hub,
            hub.api
                .create_listing(&admin1, new_listing("echo", 0))
                .await,
            "permission_denied",
        );
        let public = hub
            .api
            .create_listing(&platform_admin(), new_listing("echo", 150))
            .await
            .unwrap();
        assert_eq!(
            (public.visibility, public.owner_tenant_id),
            (Visibility::Public, None)
        );
        assert_eq!(
            (
                public.install_fee.amount,
                public.install_fee.currency.as_str()
            ),
            (150, "EUR")
        );

        // Private listings: admins of the owner tenant; agents may not; strangers do not see it.
        let mut private = new_listing("crm", 0);
        private.owner_tenant_id = Some(t1);
        assert_err(
            &hub,
            hub.api
                .create_listing(&member(t1, Role::Agent), private.clone())
                .await,
            "permission_denied",
        );
        assert_err(
            &hub,
            hub.api
                .create_listing(&member(t2, Role::Admin), private.clone())
                .await,
            "not_found",
        );
        let mine = hub
            .api
            .create_listing(&admin1, private.clone())
            .await
            .unwrap();
        assert_eq!(
            (mine.visibility, mine.owner_tenant_id),
            (Visibility::Private, Some(t1))
        );

        // Another tenant may use the same private name; the same tenant may not.
        let mut other = private.clone();
        other.owner_tenant_id = Some(t2);
        hub.api
            .create_listing(&member(t2, Role::Owner), other)
            .await
            .unwrap();
        assert_err(
            &hub,
            hub.api.create_listing(&admin1, private).await,
            "conflict",
        );

        // Catalogues: t1 sees the public app and its own private one, not t2's.
        let names = |ls: Vec<nave_app::Listing>| {
            ls.into_iter()
                .map(|l| (l.name, l.owner_tenant_id))
                .collect::<Vec<_>>()
        };
        let seen = hub
            .api
            .list_catalogue(&member(t1, Role::Viewer), Some(t1))
            .await
            .unwrap();
        assert_eq!(
            names(seen),
            [("crm".to_owned(), Some(t1)), ("echo".to_owned(), None)],
            "[{}]",
            hub.label
        );
        assert_err(
            &hub,
            hub.api
                .list_catalogue(&member(t2, Role::Viewer), Some(t1))
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api.list_catalogue(&admin1, None).await,
            "permission_denied",
        );
        assert_eq!(
            hub.api
                .list_catalogue(&platform_admin(), None)
                .await
                .unwrap()
                .len(),
            3
        );
        assert_err(
            &hub,
            hub.api.get_listing(&member(t2, Role::Owner), mine.id).await,
            "not_found",
        );
        assert_eq!(
            hub.api
                .get_listing(&member(t2, Role::Viewer), public.id)
                .await
                .unwrap()
                .name,
            "echo"
        );
        assert_eq!(
            hub.api
                .find_listing(&admin1, Some(t1), "crm")
                .await
                .unwrap()
                .id,
            mine.id
        );

        // Unlisting hides the app from the tenant catalogue, not from the platform admin.
        let change = ListingChange {
            unlisted: Some(true),
            ..Default::default()
        };
        assert_err(
            &hub,
            hub.api
                .update_listing(&admin1, public.id, change.clone())
                .await,
            "permission_denied",
        );
        let unlisted = hub
            .api
            .update_listing(&platform_admin(), public.id, change)
            .await
            .unwrap();
        assert!(unlisted.unlisted);
        let seen = hub.api.list_catalogue(&admin1, Some(t1)).await.unwrap();
        assert_eq!(
            names(seen),
            [("crm".to_owned(), Some(t1))],
            "[{}]",
            hub.label
        );
    }
}

#[tokio::test]
async fn private_apps_may_not_shadow_public_ones_nor_the_reverse() {
    for hub in hubs().await {
        let t = new_id();
        hub.api
            .create_listing(&platform_admin(), new_listing("facebook", 0))
            .await
            .unwrap();
        let mut shadow = new_listing("facebook", 0);
        shadow.owner_tenant_id = Some(t);
        let err = assert_err(
            &hub,
            hub.api
                .create_listing(&member(t, Role::Admin), shadow)
                .await,
            "conflict",
        );
        assert!(
            err.to_string().contains("may not shadow"),
            "[{}] {err}",
            hub.label
        );

        let mut private = new_listing("odoo", 0);
        private.owner_tenant_id = Some(t);
        hub.api
            .create_listing(&member(t, Role::Admin), private)
            .await
            .unwrap();
        let err = assert_err(
            &hub,
            hub.api
                .create_listing(&platform_admin(), new_listing("odoo", 0))
                .await,
            "conflict",
        );
        assert!(
            err.to_string().contains("private app"),
            "[{}] {err}",
            hub.label
        );
        assert_err(
            &hub,
            hub.api
                .create_listing(&platform_admin(), new_listing("facebook", 0))
                .await,
            "conflict",
        );
    }
}

#[tokio::test]
async fn bad_fields_are_named() {
    for hub in hubs().await {
        let mut bad = new_listing("Bad Name", -5);
        bad.icon_url = Some("javascript:alert(1)".into());
        bad.currency = Some("USD".into());
        let err = assert_err(
            &hub,
            hub.api.create_listing(&platform_admin(), bad).await,
            "invalid_argument",
        );
        let fields: Vec<_> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "icon_url", "install_fee", "currency"],
            "[{}]",
            hub.label
        );

        let ok = hub
            .api
            .create_listing(&platform_admin(), new_listing("echo", 0))
            .await
            .unwrap();
        let change = ListingChange {
            icon_url: Some("ftp://x/icon.png".into()),
            ..Default::default()
        };
        let err = assert_err(
            &hub,
            hub.api
                .update_listing(&platform_admin(), ok.id, change)
                .await,
            "invalid_argument",
        );
        assert_eq!(err.fields()[0].field, "icon_url");
        assert!(err.fields()[0].message.contains("http(s)"));
        let change = ListingChange {
            icon_url: Some(String::new()),
            display_name: Some("Echo".into()),
            ..Default::default()
        };
        let changed = hub
            .api
            .update_listing(&platform_admin(), ok.id, change)
            .await
            .unwrap();
        assert_eq!(
            (changed.icon_url, changed.display_name.as_str()),
            (None, "Echo")
        );
    }
}

#[tokio::test]
async fn versions_are_idempotent_and_immutable() {
    for hub in hubs().await {
        let app = hub
            .api
            .create_listing(&platform_admin(), new_listing("echo", 0))
            .await
            .unwrap();
        let first = hub
            .api
            .record_version(&system(), app.id, new_version("1.2.0", 'a'))
            .await
            .unwrap();
        let again = hub
            .api
            .record_version(&system(), app.id, new_version("1.2.0", 'a'))
            .await
            .unwrap();
        assert_eq!(first, again, "[{}] a replay changes nothing", hub.label);
        let err = assert_err(
            &hub,
            hub.api
                .record_version(&system(), app.id, new_version("1.2.0", 'b'))
                .await,
            "conflict",
        );
        assert!(err.to_string().contains("another digest"));
        hub.api
            .record_version(&system(), app.id, new_version("1.10.0", 'c'))
            .await
            .unwrap();
        hub.api
            .record_version(&system(), app.id, new_version("1.9.0", 'd'))
            .await
            .unwrap();

        let mut wrong = new_version("2.0.0", 'e');
        wrong.role = AppRole::Channel;
        wrong.sha256 = "xyz".into();
        let err = assert_err(
            &hub,
            hub.api.record_version(&system(), app.id, wrong).await,
            "invalid_argument",
        );
        let fields: Vec<_> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["sha256", "role"]);
        assert_err(
            &hub,
            hub.api
                .record_version(
                    &member(new_id(), Role::Owner),
                    app.id,
                    new_version("3.0.0", 'f'),
                )
                .await,
            "permission_denied",
        );

        let versions: Vec<_> = hub
            .api
            .list_versions(&platform_admin(), app.id)
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(versions, ["1.10.0", "1.9.0", "1.2.0"], "[{}]", hub.label);
        let listing = hub
            .api
            .get_listing(&platform_admin(), app.id)
            .await
            .unwrap();
        assert_eq!(listing.latest_version.as_deref(), Some("1.10.0"));
        assert_eq!(first.uploaded_by, "system");
    }
}
