//! Isolation between tenants, `role_of`/`check` for other hubs, slugs and the event log, over
//! every hub implementation and backend.

mod common;

use common::*;
use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, EventScope, Role};
use nave_tenant::{NewInvitation, NewTenant, Permission};

#[tokio::test]
async fn tenants_are_isolated() {
    for hub in hubs().await {
        let t = team(&hub).await;
        let owner = user(t.owner);
        // Another tenant looks exactly like a missing one, by slug and by id.
        let by_slug = assert_err(
            &hub,
            hub.api.get_tenant(&owner, &t.other.slug).await,
            "not_found",
        );
        let missing = assert_err(
            &hub,
            hub.api.get_tenant(&owner, "no-such-tenant").await,
            "not_found",
        );
        assert_eq!(
            by_slug.to_string().replace("globex", "X"),
            missing.to_string().replace("no-such-tenant", "X")
        );
        assert_err(
            &hub,
            hub.api.get_tenant(&owner, &t.other.id.to_string()).await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api
                .add_member(&owner, &t.other.slug, t.admin, Role::Admin)
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api.list_members(&owner, &t.other.slug).await,
            "not_found",
        );
        // The tenant is found by id too.
        assert_eq!(
            hub.api
                .get_tenant(&owner, &t.tenant.id.to_string())
                .await
                .unwrap()
                .slug,
            "acme"
        );
        let mine = hub.api.list_my_tenants(&owner).await.unwrap();
        assert_eq!(
            mine.iter().map(|x| x.slug.as_str()).collect::<Vec<_>>(),
            ["acme"]
        );
        let theirs = hub.api.list_my_tenants(&user(t.outsider)).await.unwrap();
        assert_eq!(
            theirs.iter().map(|x| x.slug.as_str()).collect::<Vec<_>>(),
            ["globex"]
        );
        // role_of and check for other hubs.
        assert_err(
            &hub,
            hub.api.role_of(&owner, t.admin, t.tenant.id).await,
            "permission_denied",
        );
        assert_eq!(
            hub.api.role_of(&owner, t.owner, t.tenant.id).await.unwrap(),
            Some(Role::Owner)
        );
        let system = AuthContext::system();
        assert_eq!(
            hub.api
                .check(&system, t.agent, t.tenant.id, Permission::SendMessages)
                .await
                .unwrap(),
            Role::Agent
        );
        assert_err(
            &hub,
            hub.api
                .check(&system, t.viewer, t.tenant.id, Permission::SendMessages)
                .await,
            "permission_denied",
        );
        assert_err(
            &hub,
            hub.api
                .check(&system, t.outsider, t.tenant.id, Permission::ViewTenant)
                .await,
            "not_found",
        );
    }
}

#[tokio::test]
async fn slugs_are_checked_and_unique() {
    for hub in hubs().await {
        let ann = user(new_id());
        let bad = NewTenant {
            slug: "Not A Slug".into(),
            name: "x".into(),
        };
        let err = assert_err(
            &hub,
            hub.api.create_tenant(&ann, bad).await,
            "invalid_argument",
        );
        assert_eq!(err.fields()[0].field, "slug");
        create(&hub, new_id(), "taken").await;
        let dup = NewTenant {
            slug: "taken".into(),
            name: "Other".into(),
        };
        assert_err(&hub, hub.api.create_tenant(&ann, dup).await, "conflict");
        let anon = NewTenant {
            slug: "anon".into(),
            name: "Anon".into(),
        };
        assert_err(
            &hub,
            hub.api.create_tenant(&AuthContext::anonymous(), anon).await,
            "unauthenticated",
        );
        assert!(hub.api.list_my_tenants(&ann).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn every_change_is_in_the_event_log() {
    for hub in hubs().await {
        let owner_id = new_id();
        let owner = user(owner_id).with_correlation_id("corr-create");
        let tenant = hub
            .api
            .create_tenant(
                &owner,
                NewTenant {
                    slug: "logged".into(),
                    name: "Logged".into(),
                },
            )
            .await
            .unwrap();
        let member = new_id();
        let owner = user(owner_id).with_correlation_id("corr-changes");
        hub.api
            .add_member(&owner, "logged", member, Role::Agent)
            .await
            .unwrap();
        hub.api
            .set_role(&owner, "logged", member, Role::Admin)
            .await
            .unwrap();
        let invite = NewInvitation {
            email: "x@example.com".into(),
            role: Role::Viewer,
        };
        let created = hub
            .api
            .create_invitation(&owner, "logged", invite)
            .await
            .unwrap();
        hub.api
            .revoke_invitation(&owner, "logged", created.invitation.id)
            .await
            .unwrap();
        hub.api
            .transfer_ownership(&owner, "logged", member)
            .await
            .unwrap();
        hub.api
            .remove_member(&user(member), "logged", owner_id)
            .await
            .unwrap();
        // A refused change writes nothing.
        let _ = hub.api.leave(&user(member), "logged").await;

        let page = hub
            .api
            .list_events(&user(member), EventScope::Tenant(tenant.id), 0, 100)
            .await
            .unwrap();
        let kinds: Vec<_> = page.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "tenant.created",
                "tenant.member.added",
                "tenant.member.role_changed",
                "tenant.invitation.created",
                "tenant.invitation.revoked",
                "tenant.ownership.transferred",
                "tenant.member.removed",
            ],
            "[{}]",
            hub.label
        );
        assert!(page.events.iter().all(|e| e.tenant_id == Some(tenant.id)));
        assert_eq!(page.events[0].correlation_id, "corr-create");
        assert_eq!(page.events[0].actor, format!("user:{owner_id}"));
        assert_eq!(page.events[1].correlation_id, "corr-changes");
        assert_eq!(page.events[6].actor, format!("user:{member}"));
        assert!(
            !page.events[3].payload.to_string().contains(&created.token),
            "no secrets in events"
        );
        // Agents and outsiders may not read the log; platform admins may.
        assert_err(
            &hub,
            hub.api
                .list_events(&user(new_id()), EventScope::Tenant(tenant.id), 0, 100)
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api
                .list_events(&user(member), EventScope::All, 0, 100)
                .await,
            "permission_denied",
        );
        assert_eq!(
            hub.api
                .list_events(&platform_admin(), EventScope::All, 0, 100)
                .await
                .unwrap()
                .events
                .len(),
            7
        );
    }
}

#[tokio::test]
async fn the_local_hub_answers_the_identity_memberships_hook() {
    use nave_identity::Memberships;
    for hub in hubs().await {
        let t = team(&hub).await;
        let local = &hub.local;
        assert_eq!(
            Memberships::role_of(local, t.agent, t.tenant.id)
                .await
                .unwrap(),
            Some(Role::Agent)
        );
        assert_eq!(
            Memberships::role_of(local, t.outsider, t.tenant.id)
                .await
                .unwrap(),
            None
        );
    }
}
