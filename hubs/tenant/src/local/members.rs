//! Changing memberships: add, change role, remove, leave, transfer ownership.
//!
//! The matrix decides who may manage members at all; the owner rules are checked here (only
//! owners grant `owner` or touch an owner), and the last-owner rule in the store's transaction.

use nave_hub_core::{AuthContext, Error, NewEvent, Result, Role};
use serde_json::json;
use uuid::Uuid;

use super::{Access, LocalTenant, member_of};
use crate::permissions::Permission;
use crate::store::{Change, MemberRow};
use crate::types::Member;

/// Refuses owner-level changes to callers who are not owners.
fn require_owner_for(access: &Access, touches_owner: bool) -> Result<()> {
    if touches_owner && !access.is_owner() {
        return Err(Error::permission_denied(
            "only owners may grant the owner role or change or remove an owner",
        ));
    }
    Ok(())
}

impl LocalTenant {
    pub(super) async fn do_add_member(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        user_id: Uuid,
        role: Role,
    ) -> Result<Member> {
        let access = self
            .authorize(ctx, tenant, Permission::ManageMembers, false)
            .await?;
        require_owner_for(&access, role == Role::Owner)?;
        let row = MemberRow {
            tenant_id: access.tenant.id.clone(),
            user_id: user_id.to_string(),
            role: role.as_str().into(),
            created_at_ms: self.now_ms(),
        };
        let event = NewEvent::new(
            "tenant.member.added",
            json!({ "user_id": row.user_id, "role": role.as_str() }),
        )
        .in_tenant(access.tenant_id);
        self.store()
            .apply(
                &access.tenant.id,
                &[Change::InsertMember(row.clone())],
                &[self.record(ctx, event)],
            )
            .await?;
        member_of(&row)
    }

    pub(super) async fn do_set_role(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        user_id: Uuid,
        role: Role,
    ) -> Result<Member> {
        let access = self
            .authorize(ctx, tenant, Permission::ManageMembers, false)
            .await?;
        let mut target = self.target(&access, user_id).await?;
        let from = target.role.clone();
        require_owner_for(&access, role == Role::Owner || from == Role::Owner.as_str())?;
        target.role = role.as_str().into();
        let event = NewEvent::new(
            "tenant.member.role_changed",
            json!({ "user_id": target.user_id, "from": from, "to": role.as_str() }),
        )
        .in_tenant(access.tenant_id);
        let change = Change::SetRole {
            user_id: target.user_id.clone(),
            role: target.role.clone(),
        };
        self.store()
            .apply(&access.tenant.id, &[change], &[self.record(ctx, event)])
            .await?;
        member_of(&target)
    }

    pub(super) async fn do_remove_member(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        user_id: Uuid,
    ) -> Result<()> {
        let access = self
            .authorize(ctx, tenant, Permission::ManageMembers, false)
            .await?;
        let target = self.target(&access, user_id).await?;
        require_owner_for(&access, target.role == Role::Owner.as_str())?;
        let event = NewEvent::new(
            "tenant.member.removed",
            json!({ "user_id": target.user_id, "role": target.role }),
        )
        .in_tenant(access.tenant_id);
        let change = Change::DeleteMember {
            user_id: target.user_id,
        };
        self.store()
            .apply(&access.tenant.id, &[change], &[self.record(ctx, event)])
            .await
    }

    pub(super) async fn do_leave(&self, ctx: &AuthContext, tenant: &str) -> Result<()> {
        let user = ctx.require_user()?;
        let access = self
            .authorize(ctx, tenant, Permission::ViewTenant, false)
            .await?;
        if access.role.is_none() {
            return Err(Error::not_found("you are not a member of this tenant"));
        }
        let event = NewEvent::new("tenant.member.left", json!({ "user_id": user.to_string() }))
            .in_tenant(access.tenant_id);
        let change = Change::DeleteMember {
            user_id: user.to_string(),
        };
        self.store()
            .apply(&access.tenant.id, &[change], &[self.record(ctx, event)])
            .await
    }

    pub(super) async fn do_transfer_ownership(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        to: Uuid,
    ) -> Result<()> {
        let user = ctx.require_user()?;
        let access = self
            .authorize(ctx, tenant, Permission::TransferOwnership, false)
            .await?;
        if to == user {
            return Err(Error::invalid(
                "user_id",
                "you already own this tenant: name another member",
            ));
        }
        let target = self.target(&access, to).await?;
        let event = NewEvent::new(
            "tenant.ownership.transferred",
            json!({ "from": user.to_string(), "to": target.user_id, "to_previous_role": target.role }),
        )
        .in_tenant(access.tenant_id);
        let changes = [
            Change::SetRole {
                user_id: target.user_id,
                role: Role::Owner.as_str().into(),
            },
            Change::SetRole {
                user_id: user.to_string(),
                role: Role::Admin.as_str().into(),
            },
        ];
        self.store()
            .apply(&access.tenant.id, &changes, &[self.record(ctx, event)])
            .await
    }

    /// The membership a change is aimed at; `not_found` if the user is not a member.
    async fn target(&self, access: &Access, user_id: Uuid) -> Result<MemberRow> {
        self.store()
            .membership(&access.tenant.id, &user_id.to_string())
            .await?
            .ok_or_else(|| {
                Error::not_found(format!("user {user_id} is not a member of this tenant"))
            })
    }
}
