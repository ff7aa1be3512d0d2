//! The permission matrix: what each tenant role may do, as code.
//!
//! | permission | owner | admin | agent | viewer |
//! |---|:-:|:-:|:-:|:-:|
//! | `view_tenant` | ✓ | ✓ | ✓ | ✓ |
//! | `view_members` | ✓ | ✓ | ✓ | ✓ |
//! | `view_installations` | ✓ | ✓ | ✓ | ✓ |
//! | `view_conversations` | ✓ | ✓ | ✓ | ✓ |
//! | `send_messages` | ✓ | ✓ | ✓ | |
//! | `manage_contacts` (edit, merge, erase) | ✓ | ✓ | ✓ | |
//! | `manage_members` (add, invite, change roles, remove) | ✓ | ✓ | | |
//! | `manage_installations` | ✓ | ✓ | | |
//! | `manage_api_keys` | ✓ | ✓ | | |
//! | `view_billing` | ✓ | ✓ | | |
//! | `view_audit` (every hub's events of the workspace) | ✓ | ✓ | | |
//! | `manage_billing` | ✓ | | | |
//! | `transfer_ownership` | ✓ | | | |
//! | `delete_tenant` | ✓ | | | |
//!
//! On top of the matrix, rules about owners: only owners grant the owner role or change or remove
//! an owner, and a tenant always keeps at least one owner (the last one cannot leave, be removed
//! or be demoted). Platform admins may read any tenant (`view_*`) without being members.

use std::fmt;
use std::str::FromStr;

use nave_hub_core::{Error, Role};
use serde::{Deserialize, Serialize};

/// Something a member may or may not do in a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the workspace itself (name, slug).
    ViewTenant,
    /// See who the members are and their roles.
    ViewMembers,
    /// See installed spokes and their settings.
    ViewInstallations,
    /// Read conversations and messages.
    ViewConversations,
    /// Reply to conversations.
    SendMessages,
    /// Edit, merge and erase the tenant's contacts.
    ManageContacts,
    /// Invite, add, change the role of and remove members (owners only for owners).
    ManageMembers,
    /// Install, upgrade, configure and remove spokes.
    ManageInstallations,
    /// Create and revoke the tenant's API keys.
    ManageApiKeys,
    /// See the plan, quotas and wallet.
    ViewBilling,
    /// Read the workspace's audit trail (every hub's events about it).
    ViewAudit,
    /// Change the plan and payment.
    ManageBilling,
    /// Hand the owner role to another member.
    TransferOwnership,
    /// Delete the workspace.
    DeleteTenant,
}

impl Permission {
    /// Every permission, in matrix order.
    pub const ALL: [Permission; 14] = [
        Permission::ViewTenant,
        Permission::ViewMembers,
        Permission::ViewInstallations,
        Permission::ViewConversations,
        Permission::SendMessages,
        Permission::ManageContacts,
        Permission::ManageMembers,
        Permission::ManageInstallations,
        Permission::ManageApiKeys,
        Permission::ViewBilling,
        Permission::ViewAudit,
        Permission::ManageBilling,
        Permission::TransferOwnership,
        Permission::DeleteTenant,
    ];

    /// The permission's name as sent over the wire (`manage_members`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ViewTenant => "view_tenant",
            Permission::ViewMembers => "view_members",
            Permission::ViewInstallations => "view_installations",
            Permission::ViewConversations => "view_conversations",
            Permission::SendMessages => "send_messages",
            Permission::ManageContacts => "manage_contacts",
            Permission::ManageMembers => "manage_members",
            Permission::ManageInstallations => "manage_installations",
            Permission::ManageApiKeys => "manage_api_keys",
            Permission::ViewBilling => "view_billing",
            Permission::ViewAudit => "view_audit",
            Permission::ManageBilling => "manage_billing",
            Permission::TransferOwnership => "transfer_ownership",
            Permission::DeleteTenant => "delete_tenant",
        }
    }

    /// The least powerful role that holds this permission (roles are ordered, see [`Role::includes`]).
    pub fn minimum_role(self) -> Role {
        match self {
            Permission::ViewTenant
            | Permission::ViewMembers
            | Permission::ViewInstallations
            | Permission::ViewConversations => Role::Viewer,
            Permission::SendMessages | Permission::ManageContacts => Role::Agent,
            Permission::ManageMembers
            | Permission::ManageInstallations
            | Permission::ManageApiKeys
            | Permission::ViewBilling
            | Permission::ViewAudit => Role::Admin,
            Permission::ManageBilling
            | Permission::TransferOwnership
            | Permission::DeleteTenant => Role::Owner,
        }
    }

    /// Whether this permission only reads (platform admins hold every such one in every tenant).
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Permission::ViewTenant
                | Permission::ViewMembers
                | Permission::ViewInstallations
                | Permission::ViewConversations
                | Permission::ViewBilling
                | Permission::ViewAudit
        )
    }
}

/// Whether `role` holds `permission` (the matrix in this module's docs).
pub fn allows(role: Role, permission: Permission) -> bool {
    role.includes(permission.minimum_role())
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "permission",
                    format!("unknown permission `{s}` (e.g. `manage_members`, `send_messages`)"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_matches_the_docs() {
        use Permission::*;
        assert!(allows(Role::Viewer, ViewConversations));
        assert!(!allows(Role::Viewer, SendMessages));
        assert!(allows(Role::Agent, SendMessages));
        assert!(!allows(Role::Agent, ManageMembers));
        assert!(allows(Role::Admin, ManageInstallations));
        assert!(!allows(Role::Admin, ManageBilling));
        assert!(!allows(Role::Admin, DeleteTenant));
        assert!(Role::ALL.iter().all(|r| allows(*r, ViewTenant)));
        assert!(Permission::ALL.iter().all(|p| allows(Role::Owner, *p)));
    }

    /// The table in the module docs (the one for the README) says exactly what `allows` does.
    #[test]
    fn docs_table_matches_the_code() {
        let source = include_str!("permissions.rs");
        let mut rows = 0;
        for line in source.lines().filter(|l| l.starts_with("//! | `")) {
            let cells: Vec<&str> = line
                .trim_start_matches("//! ")
                .split('|')
                .map(str::trim)
                .collect();
            let name = cells[1].split('`').nth(1).unwrap();
            let permission: Permission = name.parse().unwrap();
            for (i, role) in Role::ALL.iter().enumerate() {
                assert_eq!(
                    cells[2 + i] == "✓",
                    allows(*role, permission),
                    "{name} for {role}"
                );
            }
            rows += 1;
        }
        assert_eq!(rows, Permission::ALL.len());
    }

    #[test]
    fn names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>().unwrap(), p);
        }
        assert!("root".parse::<Permission>().is_err());
    }
}
