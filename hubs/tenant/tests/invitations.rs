//! Invitations: accepted once, refused when expired, reused, revoked or unknown, over every hub
//! implementation and backend.

mod common;

use std::time::Duration;

use common::*;
use nave_hub_core::ids::new_id;
use nave_hub_core::{AuthContext, Role};
use nave_tenant::{InvitationStatus, NewInvitation};

fn invite(email: &str, role: Role) -> NewInvitation {
    NewInvitation {
        email: email.into(),
        role,
    }
}

#[tokio::test]
async fn an_invitation_is_accepted_once() {
    for hub in hubs().await {
        let t = team(&hub).await;
        let created = hub
            .api
            .create_invitation(
                &user(t.admin),
                t.slug(),
                invite(" Bea@Example.com ", Role::Agent),
            )
            .await
            .unwrap();
        assert!(created.token.starts_with("nave_inv_"));
        assert_eq!(created.invitation.email, "bea@example.com");
        assert_eq!(created.invitation.status, InvitationStatus::Pending);
        let listed = hub
            .api
            .list_invitations(&user(t.owner), t.slug())
            .await
            .unwrap();
        assert_eq!(
            listed,
            vec![created.invitation.clone()],
            "[{}] the list never shows tokens",
            hub.label
        );

        let bea = new_id();
        let member = hub
            .api
            .accept_invitation(&user(bea), &created.token)
            .await
            .unwrap();
        assert_eq!(
            (member.tenant_id, member.user_id, member.role),
            (t.tenant.id, bea, Role::Agent)
        );
        assert_eq!(
            hub.api.get_tenant(&user(bea), t.slug()).await.unwrap().role,
            Some(Role::Agent)
        );
        let listed = hub
            .api
            .list_invitations(&user(t.owner), t.slug())
            .await
            .unwrap();
        assert_eq!(listed[0].status, InvitationStatus::Accepted);

        // Reused: by someone else, or by the same user.
        assert_err(
            &hub,
            hub.api
                .accept_invitation(&user(new_id()), &created.token)
                .await,
            "conflict",
        );
        assert_err(
            &hub,
            hub.api.accept_invitation(&user(bea), &created.token).await,
            "conflict",
        );
    }
}

#[tokio::test]
async fn expired_revoked_and_unknown_invitations_are_refused() {
    for hub in hubs().await {
        let t = team(&hub).await;
        let admin = user(t.admin);
        let stale = hub
            .api
            .create_invitation(&admin, t.slug(), invite("a@example.com", Role::Viewer))
            .await
            .unwrap();
        hub.clock.advance(Duration::from_secs(8 * 24 * 60 * 60));
        let fresh = hub
            .api
            .create_invitation(&admin, t.slug(), invite("b@example.com", Role::Viewer))
            .await
            .unwrap();
        let joiner = new_id();
        let err = assert_err(
            &hub,
            hub.api.accept_invitation(&user(joiner), &stale.token).await,
            "conflict",
        );
        assert!(err.to_string().contains("expired"), "[{}] {err}", hub.label);

        hub.api
            .revoke_invitation(&admin, t.slug(), fresh.invitation.id)
            .await
            .unwrap();
        let err = assert_err(
            &hub,
            hub.api.accept_invitation(&user(joiner), &fresh.token).await,
            "conflict",
        );
        assert!(err.to_string().contains("revoked"), "[{}] {err}", hub.label);
        assert_err(
            &hub,
            hub.api
                .revoke_invitation(&admin, t.slug(), fresh.invitation.id)
                .await,
            "conflict",
        );
        assert_eq!(role(&hub, &t.tenant, joiner).await, None);

        let statuses: Vec<_> = hub
            .api
            .list_invitations(&admin, t.slug())
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.status)
            .collect();
        assert_eq!(
            statuses,
            [InvitationStatus::Revoked, InvitationStatus::Expired]
        );

        for token in ["nave_inv_made-up", "garbage", ""] {
            assert_err(
                &hub,
                hub.api.accept_invitation(&user(joiner), token).await,
                "not_found",
            );
        }
        assert_err(
            &hub,
            hub.api
                .accept_invitation(&AuthContext::anonymous(), &fresh.token)
                .await,
            "unauthenticated",
        );
    }
}

#[tokio::test]
async fn invitation_rules() {
    for hub in hubs().await {
        let t = team(&hub).await;
        // Only owners invite owners; the invitee then is an owner.
        assert_err(
            &hub,
            hub.api
                .create_invitation(
                    &user(t.admin),
                    t.slug(),
                    invite("o@example.com", Role::Owner),
                )
                .await,
            "permission_denied",
        );
        let boss = hub
            .api
            .create_invitation(
                &user(t.owner),
                t.slug(),
                invite("o@example.com", Role::Owner),
            )
            .await
            .unwrap();
        let new_owner = new_id();
        hub.api
            .accept_invitation(&user(new_owner), &boss.token)
            .await
            .unwrap();
        assert_eq!(role(&hub, &t.tenant, new_owner).await, Some(Role::Owner));

        // A member accepting an invitation to their own tenant is a conflict, and it stays usable.
        let spare = hub
            .api
            .create_invitation(
                &user(t.owner),
                t.slug(),
                invite("s@example.com", Role::Admin),
            )
            .await
            .unwrap();
        assert_err(
            &hub,
            hub.api
                .accept_invitation(&user(t.viewer), &spare.token)
                .await,
            "conflict",
        );
        assert_eq!(role(&hub, &t.tenant, t.viewer).await, Some(Role::Viewer));
        hub.api
            .accept_invitation(&user(new_id()), &spare.token)
            .await
            .unwrap();

        // Bad emails are refused; another tenant's invitation cannot be revoked through ours.
        let err = assert_err(
            &hub,
            hub.api
                .create_invitation(
                    &user(t.owner),
                    t.slug(),
                    invite("not-an-email", Role::Agent),
                )
                .await,
            "invalid_argument",
        );
        assert_eq!(err.fields()[0].field, "email");
        let theirs = hub
            .api
            .create_invitation(
                &user(t.outsider),
                &t.other.slug,
                invite("x@example.com", Role::Agent),
            )
            .await
            .unwrap();
        assert_err(
            &hub,
            hub.api
                .revoke_invitation(&user(t.owner), t.slug(), theirs.invitation.id)
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api
                .revoke_invitation(&user(t.owner), &t.other.slug, theirs.invitation.id)
                .await,
            "not_found",
        );
        assert_err(
            &hub,
            hub.api
                .revoke_invitation(&user(t.agent), t.slug(), spare.invitation.id)
                .await,
            "permission_denied",
        );
    }
}
