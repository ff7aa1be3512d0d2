//! Invitations: an admin invites an email with a role; the token, shown once and stored as its
//! SHA-256, lets whoever holds it join with that role until it expires, is used or is revoked.
//!
//! The tenant hub does not know users' email addresses (the identity hub does), so the token is
//! the proof: whoever the invitation email reached may accept it with their own account.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nave_hub_core::clock::{add_ms, from_millis};
use nave_hub_core::ids::{new_id, parse_id, stored_id};
use nave_hub_core::{AuthContext, Error, NewEvent, Result, Role};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{LocalTenant, member_of};
use crate::permissions::Permission;
use crate::store::{Change, InvitationRow, MemberRow};
use crate::types::{CreatedInvitation, Invitation, InvitationStatus, Member, NewInvitation};

/// Prefix of invitation tokens, so leaked ones are recognizable by secret scanners.
pub const INVITATION_PREFIX: &str = "nave_inv_";

fn generate_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{INVITATION_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

fn normalize_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if valid {
        Ok(email)
    } else {
        Err(Error::invalid(
            "email",
            "must be an email address like name@example.com",
        ))
    }
}

fn status_of(row: &InvitationRow, now_ms: i64) -> InvitationStatus {
    if row.accepted_at_ms.is_some() {
        InvitationStatus::Accepted
    } else if row.revoked_at_ms.is_some() {
        InvitationStatus::Revoked
    } else if row.expires_at_ms <= now_ms {
        InvitationStatus::Expired
    } else {
        InvitationStatus::Pending
    }
}

fn invitation_of(row: &InvitationRow, now_ms: i64) -> Result<Invitation> {
    Ok(Invitation {
        id: stored_id(&row.id)?,
        tenant_id: stored_id(&row.tenant_id)?,
        email: row.email.clone(),
        role: row.role.parse()?,
        invited_by: row.invited_by.clone(),
        created_at: from_millis(row.created_at_ms)?,
        expires_at: from_millis(row.expires_at_ms)?,
        status: status_of(row, now_ms),
    })
}

impl LocalTenant {
    pub(super) async fn do_create_invitation(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        request: NewInvitation,
    ) -> Result<CreatedInvitation> {
        let access = self
            .authorize(ctx, tenant, Permission::ManageMembers, false)
            .await?;
        if request.role == Role::Owner && !access.is_owner() {
            return Err(Error::permission_denied(
                "only owners may invite someone as owner",
            ));
        }
        let email = normalize_email(&request.email)?;
        let token = generate_token();
        let now = self.now_ms();
        let row = InvitationRow {
            id: new_id().to_string(),
            tenant_id: access.tenant.id.clone(),
            email,
            role: request.role.as_str().into(),
            token_hash: digest(&token),
            invited_by: ctx.actor(),
            created_at_ms: now,
            expires_at_ms: add_ms(now, self.inner.config.invitation_ttl),
            accepted_at_ms: None,
            accepted_by: None,
            revoked_at_ms: None,
        };
        let event = NewEvent::new(
            "tenant.invitation.created",
            json!({ "invitation_id": row.id, "email": row.email, "role": row.role }),
        )
        .in_tenant(access.tenant_id);
        self.store()
            .apply(
                &access.tenant.id,
                &[Change::InsertInvitation(row.clone())],
                &[self.record(ctx, event)],
            )
            .await?;
        Ok(CreatedInvitation {
            invitation: invitation_of(&row, now)?,
            token,
        })
    }

    pub(super) async fn do_list_invitations(
        &self,
        ctx: &AuthContext,
        tenant: &str,
    ) -> Result<Vec<Invitation>> {
        let access = self
            .authorize(ctx, tenant, Permission::ManageMembers, true)
            .await?;
        let now = self.now_ms();
        let rows = self.store().invitations(&access.tenant.id).await?;
        rows.iter().map(|r| invitation_of(r, now)).collect()
    }

    pub(super) async fn do_revoke_invitation(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        invitation_id: Uuid,
    ) -> Result<()> {
        let access = self
            .authorize(ctx, tenant, Permission::ManageMembers, false)
            .await?;
        let row = self
            .store()
            .invitation(&invitation_id.to_string())
            .await?
            .filter(|r| r.tenant_id == access.tenant.id)
            .ok_or_else(|| Error::not_found(format!("no invitation {invitation_id} here")))?;
        let event = NewEvent::new(
            "tenant.invitation.revoked",
            json!({ "invitation_id": row.id, "email": row.email }),
        )
        .in_tenant(access.tenant_id);
        let change = Change::RevokeInvitation {
            id: row.id,
            now_ms: self.now_ms(),
        };
        self.store()
            .apply(&access.tenant.id, &[change], &[self.record(ctx, event)])
            .await
    }

    pub(super) async fn do_accept_invitation(
        &self,
        ctx: &AuthContext,
        token: &str,
    ) -> Result<Member> {
        let user = ctx.require_user()?;
        let unknown =
            || Error::not_found("no such invitation: check the token, or ask for a new invitation");
        if !token.trim().starts_with(INVITATION_PREFIX) {
            return Err(unknown());
        }
        let row = self
            .store()
            .invitation_by_hash(&digest(token))
            .await?
            .ok_or_else(unknown)?;
        let now = self.now_ms();
        match status_of(&row, now) {
            InvitationStatus::Pending => {}
            InvitationStatus::Accepted => {
                return Err(Error::conflict("this invitation was already used"));
            }
            InvitationStatus::Revoked => {
                return Err(Error::conflict("this invitation was revoked"));
            }
            InvitationStatus::Expired => {
                return Err(Error::conflict(
                    "this invitation has expired: ask for a new one",
                ));
            }
        }
        let member = MemberRow {
            tenant_id: row.tenant_id.clone(),
            user_id: user.to_string(),
            role: row.role.clone(),
            created_at_ms: now,
        };
        let event = NewEvent::new(
            "tenant.invitation.accepted",
            json!({ "invitation_id": row.id, "user_id": member.user_id, "role": row.role }),
        )
        .in_tenant(parse_id("tenant_id", &row.tenant_id)?);
        let changes = [
            Change::AcceptInvitation {
                id: row.id.clone(),
                user_id: member.user_id.clone(),
                now_ms: now,
            },
            Change::InsertMember(member.clone()),
        ];
        self.store()
            .apply(&row.tenant_id, &changes, &[self.record(ctx, event)])
            .await?;
        member_of(&member)
    }
}
