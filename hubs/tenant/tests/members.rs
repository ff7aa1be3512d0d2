//! Who may do what to a tenant and its members, the owner rules, the last owner and transfer,
//! over every hub implementation and backend.

mod common;

use common::*;
use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, Role};
use nave_tenant::NewInvitation;

#[tokio::test]
async fn matrix_of_who_may_do_what() {
    for hub in hubs().await {
        let t = team(&hub).await;
        let members = [t.owner, t.admin, t.agent, t.viewer];
        // Reads: every member sees the tenant with their own role, and the 4 members.
        for (role, id) in t.by_role() {
            let seen = hub.api.get_tenant(&user(id), t.slug()).await.unwrap();
            assert_eq!(seen.role, Some(role), "[{}]", hub.label);
            assert_eq!(seen.id, t.tenant.id);
            let list = hub.api.list_members(&user(id), t.slug()).await.unwrap();
            assert_eq!(list.len(), 4, "[{}]", hub.label);
        }
        // A platform admin reads without being a member; outsiders learn nothing.
        let admin = platform_admin();
        assert_eq!(
            hub.api.get_tenant(&admin, t.slug()).await.unwrap().role,
            None
        );
        assert_eq!(
            hub.api.list_members(&admin, t.slug()).await.unwrap().len(),
            4
        );
        assert_eq!(
            hub.api
                .list_invitations(&admin, t.slug())
                .await
                .unwrap()
                .len(),
            0
        );
        assert_err(
            &hub,
            hub.api.get_tenant(&user(t.outsider), t.slug()).await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api.list_members(&user(t.outsider), t.slug()).await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api
                .get_tenant(&AuthContext::anonymous(), t.slug())
                .await,
            "unauthenticated",
        );

        // Writes: owners and admins manage members; agents and viewers may not; outsiders get
        // not_found; platform admins read only.
        let expected = [
            (user(t.owner), None),
            (user(t.admin), None),
            (user(t.agent), Some("permission_denied")),
            (user(t.viewer), Some("permission_denied")),
            (user(t.outsider), Some("not_found")),
            (platform_admin(), Some("permission_denied")),
            (AuthContext::anonymous(), Some("unauthenticated")),
        ];
        for (ctx, error) in expected {
            let newcomer = new_id();
            let added = hub
                .api
                .add_member(&ctx, t.slug(), newcomer, Role::Viewer)
                .await;
            let invited = hub
                .api
                .create_invitation(
                    &ctx,
                    t.slug(),
                    NewInvitation {
                        email: "new@example.com".into(),
                        role: Role::Viewer,
                    },
                )
                .await;
            let listed = hub.api.list_invitations(&ctx, t.slug()).await;
            match error {
                None => {
                    assert_eq!(added.unwrap().role, Role::Viewer, "[{}]", hub.label);
                    assert!(invited.unwrap().token.starts_with("nave_inv_"));
                    assert!(!listed.unwrap().is_empty());
                    assert_eq!(role(&hub, &t.tenant, newcomer).await, Some(Role::Viewer));
                }
                Some(code) => {
                    assert_err(&hub, added, code);
                    assert_err(&hub, invited, code);
                    if ctx.platform_admin {
                        listed.unwrap();
                    } else if members
                        .iter()
                        .any(|m| ctx.principal == nave_hub_core::Principal::User(*m))
                    {
                        assert_err(&hub, listed, "permission_denied");
                    } else {
                        assert_err(&hub, listed, code);
                    }
                    assert_eq!(
                        role(&hub, &t.tenant, newcomer).await,
                        None,
                        "[{}]",
                        hub.label
                    );
                }
            }
        }
        // Only owners transfer ownership.
        for id in [t.admin, t.agent, t.viewer] {
            assert_err(
                &hub,
                hub.api.transfer_ownership(&user(id), t.slug(), id).await,
                "permission_denied",
            );
        }
    }
}

#[tokio::test]
async fn only_owners_touch_owners() {
    for hub in hubs().await {
        let t = team(&hub).await;
        let admin = user(t.admin);
        let newcomer = new_id();
        assert_err(
            &hub,
            hub.api
                .add_member(&admin, t.slug(), newcomer, Role::Owner)
                .await,
            "permission_denied",
        );
        assert_err(
            &hub,
            hub.api
                .set_role(&admin, t.slug(), t.agent, Role::Owner)
                .await,
            "permission_denied",
        );
        assert_err(
            &hub,
            hub.api
                .set_role(&admin, t.slug(), t.owner, Role::Viewer)
                .await,
            "permission_denied",
        );
        assert_err(
            &hub,
            hub.api.remove_member(&admin, t.slug(), t.owner).await,
            "permission_denied",
        );
        let invite = NewInvitation {
            email: "boss@example.com".into(),
            role: Role::Owner,
        };
        assert_err(
            &hub,
            hub.api.create_invitation(&admin, t.slug(), invite).await,
            "permission_denied",
        );
        assert_eq!(role(&hub, &t.tenant, t.owner).await, Some(Role::Owner));
        // Admins manage everyone below owner.
        let changed = hub
            .api
            .set_role(&admin, t.slug(), t.agent, Role::Viewer)
            .await
            .unwrap();
        assert_eq!(changed.role, Role::Viewer);
        hub.api
            .remove_member(&admin, t.slug(), t.viewer)
            .await
            .unwrap();
        assert_eq!(role(&hub, &t.tenant, t.viewer).await, None);
        // Owners grant owner.
        hub.api
            .set_role(&user(t.owner), t.slug(), t.admin, Role::Owner)
            .await
            .unwrap();
        assert_eq!(role(&hub, &t.tenant, t.admin).await, Some(Role::Owner));
        // Changing a non-member is not_found; adding a member twice is a conflict.
        assert_err(
            &hub,
            hub.api
                .set_role(&user(t.owner), t.slug(), new_id(), Role::Agent)
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api
                .add_member(&user(t.owner), t.slug(), t.agent, Role::Agent)
                .await,
            "conflict",
        );
    }
}

#[tokio::test]
async fn the_last_owner_stays() {
    for hub in hubs().await {
        let t = team(&hub).await;
        let owner = user(t.owner);
        assert_err(&hub, hub.api.leave(&owner, t.slug()).await, "conflict");
        assert_err(
            &hub,
            hub.api
                .set_role(&owner, t.slug(), t.owner, Role::Admin)
                .await,
            "conflict",
        );
        assert_err(
            &hub,
            hub.api.remove_member(&owner, t.slug(), t.owner).await,
            "conflict",
        );
        assert_eq!(
            role(&hub, &t.tenant, t.owner).await,
            Some(Role::Owner),
            "[{}]",
            hub.label
        );
        // Others leave freely.
        hub.api.leave(&user(t.viewer), t.slug()).await.unwrap();
        assert_err(
            &hub,
            hub.api.get_tenant(&user(t.viewer), t.slug()).await,
            "not_found",
        );
        // With a second owner, the first may step down.
        hub.api
            .set_role(&owner, t.slug(), t.admin, Role::Owner)
            .await
            .unwrap();
        hub.api.leave(&owner, t.slug()).await.unwrap();
        assert_eq!(role(&hub, &t.tenant, t.owner).await, None);
        assert_err(
            &hub,
            hub.api.leave(&user(t.admin), t.slug()).await,
            "conflict",
        );
    }
}

#[tokio::test]
async fn transfer_of_ownership() {
    for hub in hubs().await {
        let t = team(&hub).await;
        let owner = user(t.owner);
        assert_err(
            &hub,
            hub.api.transfer_ownership(&owner, t.slug(), new_id()).await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api.transfer_ownership(&owner, t.slug(), t.owner).await,
            "invalid_argument",
        );
        hub.api
            .transfer_ownership(&owner, t.slug(), t.agent)
            .await
            .unwrap();
        assert_eq!(
            role(&hub, &t.tenant, t.agent).await,
            Some(Role::Owner),
            "[{}]",
            hub.label
        );
        assert_eq!(role(&hub, &t.tenant, t.owner).await, Some(Role::Admin));
        assert_err(
            &hub,
            hub.api.transfer_ownership(&owner, t.slug(), t.viewer).await,
            "permission_denied",
        );
        // The new owner is now the last owner.
        assert_err(
            &hub,
            hub.api.leave(&user(t.agent), t.slug()).await,
            "conflict",
        );
    }
}

#[tokio::test]
async fn concurrent_demotions_keep_an_owner() {
    for hub in hubs().await {
        let t = team(&hub).await;
        hub.api
            .set_role(&user(t.owner), t.slug(), t.admin, Role::Owner)
            .await
            .unwrap();
        let (owner, admin) = (user(t.owner), user(t.admin));
        let (a, b) = tokio::join!(
            hub.api.set_role(&owner, t.slug(), t.admin, Role::Admin),
            hub.api.set_role(&admin, t.slug(), t.owner, Role::Admin),
        );
        let owners = [
            role(&hub, &t.tenant, t.owner).await,
            role(&hub, &t.tenant, t.admin).await,
        ]
        .into_iter()
        .filter(|r| *r == Some(Role::Owner))
        .count();
        assert_eq!(owners, 1, "[{}] {a:?} {b:?}", hub.label);
        assert_eq!(
            a.is_ok() as u8 + b.is_ok() as u8,
            1,
            "[{}] {a:?} {b:?}",
            hub.label
        );
    }
}
