//! Conversions between the domain types and the generated protobuf messages.

use nave_hub_core::clock::{from_millis, to_millis};
use nave_hub_core::ids::parse_id;
use nave_hub_core::{Error, Result, Role};

use super::pb;
use crate::types::{CreatedInvitation, Invitation, InvitationStatus, Member, Tenant};

pub fn role(field: &str, value: &str) -> Result<Role> {
    value.parse().map_err(|_| {
        Error::invalid(
            field,
            format!("unknown role `{value}` (owner, admin, agent or viewer)"),
        )
    })
}

pub fn tenant_to_pb(t: Tenant) -> pb::TenantInfo {
    pb::TenantInfo {
        id: t.id.to_string(),
        slug: t.slug,
        name: t.name,
        created_at_ms: to_millis(t.created_at),
        role: t.role.map(|r| r.as_str().to_owned()).unwrap_or_default(),
    }
}

pub fn tenant_from_pb(t: pb::TenantInfo) -> Result<Tenant> {
    Ok(Tenant {
        id: parse_id("id", &t.id)?,
        slug: t.slug,
        name: t.name,
        created_at: from_millis(t.created_at_ms)?,
        role: if t.role.is_empty() {
            None
        } else {
            Some(role("role", &t.role)?)
        },
    })
}

pub fn member_to_pb(m: Member) -> pb::Member {
    pb::Member {
        tenant_id: m.tenant_id.to_string(),
        user_id: m.user_id.to_string(),
        role: m.role.as_str().into(),
        joined_at_ms: to_millis(m.joined_at),
    }
}

pub fn member_from_pb(m: pb::Member) -> Result<Member> {
    Ok(Member {
        tenant_id: parse_id("tenant_id", &m.tenant_id)?,
        user_id: parse_id("user_id", &m.user_id)?,
        role: role("role", &m.role)?,
        joined_at: from_millis(m.joined_at_ms)?,
    })
}

pub fn invitation_to_pb(i: Invitation) -> pb::Invitation {
    pb::Invitation {
        id: i.id.to_string(),
        tenant_id: i.tenant_id.to_string(),
        email: i.email,
        role: i.role.as_str().into(),
        invited_by: i.invited_by,
        created_at_ms: to_millis(i.created_at),
        expires_at_ms: to_millis(i.expires_at),
        status: i.status.as_str().into(),
    }
}

pub fn invitation_from_pb(i: pb::Invitation) -> Result<Invitation> {
    let status = match i.status.as_str() {
        "pending" => InvitationStatus::Pending,
        "accepted" => InvitationStatus::Accepted,
        "revoked" => InvitationStatus::Revoked,
        "expired" => InvitationStatus::Expired,
        other => {
            return Err(Error::internal_msg(format!(
                "tenant hub sent unknown invitation status `{other}`"
            )));
        }
    };
    Ok(Invitation {
        id: parse_id("id", &i.id)?,
        tenant_id: parse_id("tenant_id", &i.tenant_id)?,
        email: i.email,
        role: role("role", &i.role)?,
        invited_by: i.invited_by,
        created_at: from_millis(i.created_at_ms)?,
        expires_at: from_millis(i.expires_at_ms)?,
        status,
    })
}

pub fn created_to_pb(c: CreatedInvitation) -> pb::CreatedInvitation {
    pb::CreatedInvitation {
        invitation: Some(invitation_to_pb(c.invitation)),
        token: c.token,
    }
}

pub fn created_from_pb(c: pb::CreatedInvitation) -> Result<CreatedInvitation> {
    let invitation = c.invitation.ok_or_else(|| {
        Error::internal_msg("tenant hub sent a created invitation without its record")
    })?;
    Ok(CreatedInvitation {
        invitation: invitation_from_pb(invitation)?,
        token: c.token,
    })
}
