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

/// `authorize` is the gateway's one call per tenant-scoped request: every kind of caller gets
/// the tenant with its role, or the error the REST API will show.
#[tokio::test]
async fn authorize_answers_for_every_kind_of_caller() {
    for hub in hubs().await {
        let t = team(&hub).await;
        for (role, id) in t.by_role() {
            for permission in Permission::ALL {
                let result = hub.api.authorize(&user(id), t.slug(), permission).await;
                if nave_tenant::allows(role, permission) {
                    let tenant = result.unwrap();
                    assert_eq!((tenant.id, tenant.role), (t.tenant.id, Some(role)));
                } else {
                    assert_err(&hub, result, "permission_denied");
                }
            }
        }
        // By id as well as by slug; another tenant and a missing one look alike.
        let by_id = hub
            .api
            .authorize(
                &user(t.viewer),
                &t.tenant.id.to_string(),
                Permission::ViewInstallations,
            )
            .await
            .unwrap();
        assert_eq!(by_id.slug, "acme");
        let outsider = user(t.outsider);
        for tenant in [t.slug(), "no-such-tenant"] {
            assert_err(
                &hub,
                hub.api
                    .authorize(&outsider, tenant, Permission::ViewTenant)
                    .await,
                "not_found",
            );
        }
        // An API key acts in the tenant of its scope only, with the role it was given.
        let key = AuthContext::api_key(new_id()).in_tenant(t.tenant.id, Role::Agent);
        let tenant = hub
            .api
            .authorize(&key, t.slug(), Permission::SendMessages)
            .await
            .unwrap();
        assert_eq!(tenant.role, Some(Role::Agent));
        assert_err(
            &hub,
            hub.api
                .authorize(&key, t.slug(), Permission::ManageInstallations)
                .await,
            "permission_denied",
        );
        assert_err(
            &hub,
            hub.api
                .authorize(&key, &t.other.slug, Permission::ViewTenant)
                .await,
            "not_found",
        );
        // Platform admins read every tenant but change none they are not members of.
        let admin = platform_admin();
        let read = hub
            .api
            .authorize(&admin, t.slug(), Permission::ViewInstallations)
            .await
            .unwrap();
        assert_eq!(read.role, None);
        assert_err(
            &hub,
            hub.api
                .authorize(&admin, t.slug(), Permission::ManageInstallations)
                .await,
            "permission_denied",
        );
        assert_err(
            &hub,
            hub.api
                .authorize(&AuthContext::anonymous(), t.slug(), Permission::ViewTenant)
                .await,
            "unauthenticated",
        );
    }
}
