//! The tenant hub's domain types, as callers see them.

use nave_hub_core::Role;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    /// Stable id (used in tokens, API keys and other hubs' data).
    pub id: Uuid,
    /// Unique, human-readable id used in URLs (`acme-support`).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The caller's role in it; `None` for a platform admin who is not a member.
    pub role: Option<Role>,
}

/// What [`crate::TenantApi::create_tenant`] needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewTenant {
    /// 3–40 characters of `a-z`, `0-9` and `-`, starting with a letter, not ending with `-`.
    pub slug: String,
    /// Display name, 1–100 characters.
    pub name: String,
}

/// One user's membership of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The user (an identity hub account id).
    pub user_id: Uuid,
    /// Their role.
    pub role: Role,
    /// When they joined.
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
}

/// What [`crate::TenantApi::create_invitation`] needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewInvitation {
    /// Who is invited; the token is meant to be mailed there.
    pub email: String,
    /// The role they get on accepting.
    pub role: Role,
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    /// Can still be accepted.
    Pending,
    /// Used; cannot be used again.
    Accepted,
    /// Withdrawn by an admin.
    Revoked,
    /// Past its expiry.
    Expired,
}

impl InvitationStatus {
    /// The status's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Revoked => "revoked",
            InvitationStatus::Expired => "expired",
        }
    }
}

/// An invitation, without its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Invitation {
    /// Its id (to revoke it).
    pub id: Uuid,
    /// The tenant it invites to.
    pub tenant_id: Uuid,
    /// The invited address.
    pub email: String,
    /// The role it grants.
    pub role: Role,
    /// Who created it (event-log actor string).
    pub invited_by: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// After this it can no longer be accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Where it stands now.
    pub status: InvitationStatus,
}

/// A new invitation with its token, which is returned this once and stored only hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedInvitation {
    /// The invitation.
    pub invitation: Invitation,
    /// The secret the invitee presents to accept it.
    pub token: String,
}
