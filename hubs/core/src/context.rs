//! Who is calling: the [`AuthContext`] passed to every hub `Api` method.
//!
//! The gateway (or another hub) builds it after verifying a credential; hubs decide permissions
//! from it and record its actor and correlation id in their event logs.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The authenticated party behind a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Principal {
    /// Nobody has authenticated (sign-up, login, public keys).
    Anonymous,
    /// A platform user, by user id.
    User(Uuid),
    /// An integration, by API key id.
    ApiKey(Uuid),
    /// The platform itself (start-up tasks, background jobs).
    System,
}

impl fmt::Display for Principal {
    /// Formats the principal as the `actor` string of the event log (`user:<id>`, `system`, ...).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Anonymous => f.write_str("anonymous"),
            Principal::User(id) => write!(f, "user:{id}"),
            Principal::ApiKey(id) => write!(f, "api_key:{id}"),
            Principal::System => f.write_str("system"),
        }
    }
}

/// A role within a tenant, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Owns the workspace: everything, including deleting it and transferring ownership.
    Owner,
    /// Manages members, installations and keys.
    Admin,
    /// Works conversations.
    Agent,
    /// Reads only.
    Viewer,
}

impl Role {
    /// All roles, most powerful first.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Agent, Role::Viewer];

    /// The role's name as stored and sent (`owner`, `admin`, `agent`, `viewer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Agent => "agent",
            Role::Viewer => "viewer",
        }
    }

    /// Whether this role includes everything `other` may do.
    pub fn includes(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }

    fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Admin => 2,
            Role::Agent => 1,
            Role::Viewer => 0,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "role",
                    format!("unknown role `{s}`; use one of owner, admin, agent, viewer"),
                )
            })
    }
}

/// The tenant a call acts in and the caller's role there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantScope {
    /// The workspace.
    pub tenant_id: Uuid,
    /// The caller's role in it (from the tenant hub, or fixed by an API key).
    pub role: Role,
}

/// Who calls a hub, for which tenant, under which correlation id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthContext {
    /// The authenticated party.
    pub principal: Principal,
    /// Platform administrators may act across tenants and on platform-wide settings.
    pub platform_admin: bool,
    /// Set when the call is scoped to one tenant.
    pub tenant: Option<TenantScope>,
    /// Ties together every log line and event caused by one outside request.
    pub correlation_id: String,
    /// The client's address as seen by the gateway, for throttling and audit.
    pub source_ip: Option<IpAddr>,
}

impl AuthContext {
    /// An anonymous caller with a fresh correlation id.
    pub fn anonymous() -> Self {
        Self::new(Principal::Anonymous)
    }

    /// The platform itself, acting as platform admin.
    pub fn system() -> Self {
        Self {
            platform_admin: true,
            ..Self::new(Principal::System)
        }
    }

    /// A signed-in user, not platform admin, not tenant-scoped.
    pub fn user(user_id: Uuid) -> Self {
        Self::new(Principal::User(user_id))
    }

    /// An integration's API key; scope it with [`AuthContext::in_tenant`].
    pub fn api_key(key_id: Uuid) -> Self {
        Self::new(Principal::ApiKey(key_id))
    }

    fn new(principal: Principal) -> Self {
        Self {
            principal,
            platform_admin: false,
            tenant: None,
            correlation_id: crate::ids::new_id().to_string(),
            source_ip: None,
        }
    }

    /// Returns this context scoped to a tenant with a role.
    pub fn in_tenant(mut self, tenant_id: Uuid, role: Role) -> Self {
        self.tenant = Some(TenantScope { tenant_id, role });
        self
    }

    /// Returns this context with the given correlation id.
    pub fn with_correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = id.into();
        self
    }

    /// Returns this context with the client's address.
    pub fn with_source_ip(mut self, ip: IpAddr) -> Self {
        self.source_ip = Some(ip);
        self
    }

    /// The event-log actor string for this caller.
    pub fn actor(&self) -> String {
        self.principal.to_string()
    }

    /// The calling user's id, or `unauthenticated` if the caller is not a signed-in user.
    pub fn require_user(&self) -> Result<Uuid> {
        match self.principal {
            Principal::User(id) => Ok(id),
            _ => Err(Error::unauthenticated(
                "sign in first: this operation needs a user's access token",
            )),
        }
    }

    /// Succeeds for platform admins only.
    pub fn require_platform_admin(&self) -> Result<()> {
        if self.platform_admin {
            Ok(())
        } else if self.principal == Principal::Anonymous {
            Err(Error::unauthenticated(
                "sign in as a platform administrator",
            ))
        } else {
            Err(Error::permission_denied(
                "only platform administrators may do this",
            ))
        }
    }

    /// Succeeds for platform admins and for callers holding at least `role` in `tenant_id`.
    ///
    /// A caller with no role in the tenant gets `not_found`, as every hub answers for tenants the
    /// caller may not see (so ids of other workspaces do not leak); a member whose role is too
    /// low gets `permission_denied`.
    pub fn require_tenant_role(&self, tenant_id: Uuid, role: Role) -> Result<()> {
        if self.platform_admin {
            return Ok(());
        }
        if self.principal == Principal::Anonymous {
            return Err(Error::unauthenticated("sign in first"));
        }
        match self.tenant {
            Some(scope) if scope.tenant_id == tenant_id && scope.role.includes(role) => Ok(()),
            Some(scope) if scope.tenant_id == tenant_id => Err(Error::permission_denied(format!(
                "your role `{}` in this tenant is below the `{role}` this needs",
                scope.role
            ))),
            _ => Err(Error::not_found(format!("no tenant `{tenant_id}`"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_order() {
        assert_eq!("agent".parse::<Role>().unwrap(), Role::Agent);
        assert!("root".parse::<Role>().is_err());
        assert!(Role::Owner.includes(Role::Admin));
        assert!(!Role::Viewer.includes(Role::Agent));
    }

    #[test]
    fn tenant_role_checks() {
        let tenant = crate::ids::new_id();
        let other = crate::ids::new_id();
        let admin = AuthContext::user(crate::ids::new_id()).in_tenant(tenant, Role::Admin);
        assert!(admin.require_tenant_role(tenant, Role::Agent).is_ok());
        assert_eq!(
            admin
                .require_tenant_role(other, Role::Viewer)
                .unwrap_err()
                .code(),
            "not_found"
        );
        assert_eq!(
            admin
                .require_tenant_role(tenant, Role::Owner)
                .unwrap_err()
                .code(),
            "permission_denied"
        );
        assert_eq!(
            AuthContext::anonymous()
                .require_tenant_role(tenant, Role::Viewer)
                .unwrap_err()
                .code(),
            "unauthenticated"
        );
        assert!(
            AuthContext::system()
                .require_tenant_role(other, Role::Owner)
                .is_ok()
        );
    }
}
