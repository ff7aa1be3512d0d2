//! The config hub's domain types, as callers see them.
//!
//! Values are JSON (`serde_json::Value`) checked against the setting's declared
//! [`Kind`](crate::Kind). Secrets leave the hub as [`MASK`] with `masked: true`, except to the
//! platform itself when it asks for them in clear.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use nave_hub_core::{Error, Result};

/// What a secret is shown as to everyone but the platform itself.
pub const MASK: &str = "••••";

/// The level a value is set at, from widest to narrowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// The whole platform.
    Global,
    /// One tenant (workspace).
    Tenant,
    /// One installation of an app in a tenant.
    Installation,
}

impl ScopeKind {
    /// The kind's wire name (`global`, `tenant`, `installation`).
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Global => "global",
            ScopeKind::Tenant => "tenant",
            ScopeKind::Installation => "installation",
        }
    }

    /// Parses a wire name, naming `field` in the error.
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        match value {
            "global" => Ok(ScopeKind::Global),
            "tenant" => Ok(ScopeKind::Tenant),
            "installation" => Ok(ScopeKind::Installation),
            other => Err(Error::invalid(
                field,
                format!("unknown scope `{other}`; use `global`, `tenant` or `installation`"),
            )),
        }
    }
}

/// Where a value is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// For the whole platform.
    Global,
    /// For one tenant, over the global value.
    Tenant(Uuid),
    /// For one installation of a tenant, over the tenant's value.
    Installation {
        /// The tenant the installation belongs to.
        tenant_id: Uuid,
        /// The installation.
        installation_id: Uuid,
    },
}

impl Scope {
    /// Which level this is.
    pub fn kind(&self) -> ScopeKind {
        match self {
            Scope::Global => ScopeKind::Global,
            Scope::Tenant(_) => ScopeKind::Tenant,
            Scope::Installation { .. } => ScopeKind::Installation,
        }
    }

    /// The tenant this scope belongs to (`None` for global).
    pub fn tenant_id(&self) -> Option<Uuid> {
        match self {
            Scope::Global => None,
            Scope::Tenant(t) => Some(*t),
            Scope::Installation { tenant_id, .. } => Some(*tenant_id),
        }
    }

    /// The installation, for installation scopes.
    pub fn installation_id(&self) -> Option<Uuid> {
        match self {
            Scope::Installation {
                installation_id, ..
            } => Some(*installation_id),
            _ => None,
        }
    }

    /// The scope's stored key: `global`, `tenant:<id>` or `installation:<tenant>:<installation>`.
    pub fn storage_key(&self) -> String {
        match self {
            Scope::Global => "global".into(),
            Scope::Tenant(t) => format!("tenant:{t}"),
            Scope::Installation {
                tenant_id,
                installation_id,
            } => format!("installation:{tenant_id}:{installation_id}"),
        }
    }

    /// Builds a scope from its kind and ids, naming what is missing or superfluous.
    pub fn from_parts(
        kind: ScopeKind,
        tenant_id: Option<Uuid>,
        installation_id: Option<Uuid>,
    ) -> Result<Self> {
        match (kind, tenant_id, installation_id) {
            (ScopeKind::Global, None, None) => Ok(Scope::Global),
            (ScopeKind::Tenant, Some(t), None) => Ok(Scope::Tenant(t)),
            (ScopeKind::Installation, Some(tenant_id), Some(installation_id)) => {
                Ok(Scope::Installation {
                    tenant_id,
                    installation_id,
                })
            }
            (kind, _, _) => Err(Error::invalid(
                "scope",
                format!(
                    "a `{}` scope takes {}",
                    kind.as_str(),
                    match kind {
                        ScopeKind::Global => "no tenant_id and no installation_id",
                        ScopeKind::Tenant => "a tenant_id and no installation_id",
                        ScopeKind::Installation => "a tenant_id and an installation_id",
                    }
                ),
            )),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.storage_key())
    }
}

/// For whom to resolve settings: the global value (nothing set), a tenant, or an installation
/// of a tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResolveAt {
    /// The tenant; its value wins over the global one.
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    /// The installation (needs `tenant_id`); its value wins over the tenant's.
    #[serde(default)]
    pub installation_id: Option<Uuid>,
}

impl ResolveAt {
    /// The global values.
    pub fn global() -> Self {
        Self::default()
    }

    /// The values a tenant sees.
    pub fn tenant(tenant_id: Uuid) -> Self {
        Self {
            tenant_id: Some(tenant_id),
            installation_id: None,
        }
    }

    /// The values an installation of a tenant sees.
    pub fn installation(tenant_id: Uuid, installation_id: Uuid) -> Self {
        Self {
            tenant_id: Some(tenant_id),
            installation_id: Some(installation_id),
        }
    }

    /// The scopes that apply, nearest first.
    pub fn scopes(&self) -> Result<Vec<Scope>> {
        match (self.tenant_id, self.installation_id) {
            (None, None) => Ok(vec![Scope::Global]),
            (Some(t), None) => Ok(vec![Scope::Tenant(t), Scope::Global]),
            (Some(tenant_id), Some(installation_id)) => Ok(vec![
                Scope::Installation {
                    tenant_id,
                    installation_id,
                },
                Scope::Tenant(tenant_id),
                Scope::Global,
            ]),
            (None, Some(_)) => Err(Error::invalid(
                "tenant_id",
                "required with installation_id: an installation is resolved within its tenant",
            )),
        }
    }
}

/// Where a resolved value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// No scope sets it: the declared default.
    Default,
    /// The global value.
    Global,
    /// The tenant's value.
    Tenant,
    /// The installation's value.
    Installation,
}

impl Origin {
    /// The origin's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Default => "default",
            Origin::Global => "global",
            Origin::Tenant => "tenant",
            Origin::Installation => "installation",
        }
    }

    /// Parses a wire name, naming `field` in the error.
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        match value {
            "default" => Ok(Origin::Default),
            other => Ok(match ScopeKind::parse(field, other)? {
                ScopeKind::Global => Origin::Global,
                ScopeKind::Tenant => Origin::Tenant,
                ScopeKind::Installation => Origin::Installation,
            }),
        }
    }
}

impl From<ScopeKind> for Origin {
    fn from(kind: ScopeKind) -> Self {
        match kind {
            ScopeKind::Global => Origin::Global,
            ScopeKind::Tenant => Origin::Tenant,
            ScopeKind::Installation => Origin::Installation,
        }
    }
}

/// A setting's effective value somewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Resolved {
    /// The setting.
    pub key: String,
    /// Its value; `null` when no scope sets it and it has no default; [`MASK`] for a masked
    /// secret.
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
    /// The scope that gave the value, or the default.
    pub from: Origin,
    /// The version that set the value; 0 for a default.
    pub version: u64,
    /// Whether `value` is a secret shown as [`MASK`].
    pub masked: bool,
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    /// A value was set.
    Set,
    /// The value was removed; the next scope up applies.
    Unset,
    /// The value of an earlier version was restored.
    Rollback,
}

impl ChangeAction {
    /// The action's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeAction::Set => "set",
            ChangeAction::Unset => "unset",
            ChangeAction::Rollback => "rollback",
        }
    }

    /// Parses a wire name; an unknown one read back from our own data is a bug.
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "set" => Ok(ChangeAction::Set),
            "unset" => Ok(ChangeAction::Unset),
            "rollback" => Ok(ChangeAction::Rollback),
            other => Err(Error::internal_msg(format!(
                "unknown config change action `{other}`"
            ))),
        }
    }
}

/// One change of a setting at a scope: a version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Change {
    /// The hub-wide version this change created.
    pub version: u64,
    /// The setting.
    pub key: String,
    /// Where it changed.
    pub scope: Scope,
    /// What happened.
    pub action: ChangeAction,
    /// The value after the change; `None` when it left the setting unset there.
    #[schema(value_type = Option<Object>)]
    pub value: Option<serde_json::Value>,
    /// The value before the change; `None` when it was not set there.
    #[schema(value_type = Option<Object>)]
    pub previous: Option<serde_json::Value>,
    /// Whether `value` and `previous` are secrets shown as [`MASK`].
    pub masked: bool,
    /// For rollbacks: the version whose value was restored.
    pub rolled_back_to: Option<u64>,
    /// Who made it (event-log actor string).
    pub actor: String,
    /// The correlation id of the request.
    pub correlation_id: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// That a setting changed: what a watcher receives. Read the new value with `resolve`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangeNotice {
    /// The version the change created.
    pub version: u64,
    /// The setting.
    pub key: String,
    /// Where it changed.
    pub scope: Scope,
}
