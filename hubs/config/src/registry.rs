//! The declared settings: keys are never free-form. [`BUILTIN`] lists the platform's settings;
//! a hub may add more through `ConfigConfig::extra`. Every value is checked against its
//! [`SettingDef`] before it is stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use nave_hub_core::{Error, Result};

use crate::types::ScopeKind;

/// Longest secret accepted, in characters.
pub const SECRET_MAX_LEN: u32 = 4096;

/// What values a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    /// A JSON integer in `min..=max`.
    Integer {
        /// Smallest value accepted.
        min: i64,
        /// Largest value accepted.
        max: i64,
    },
    /// `true` or `false`.
    Bool,
    /// A JSON string of at most `max_len` characters.
    String {
        /// Longest value accepted, in characters.
        max_len: u32,
    },
    /// A non-empty JSON string of at most [`SECRET_MAX_LEN`] characters, stored sealed and shown
    /// masked.
    Secret,
}

impl Kind {
    /// The kind's wire name (`integer`, `bool`, `string`, `secret`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Integer { .. } => "integer",
            Kind::Bool => "bool",
            Kind::String { .. } => "string",
            Kind::Secret => "secret",
        }
    }

    /// What values this kind accepts, for error messages.
    pub fn describe(self) -> String {
        match self {
            Kind::Integer { min, max } => format!("an integer from {min} to {max}"),
            Kind::Bool => "true or false".into(),
            Kind::String { max_len } => format!("a string of at most {max_len} characters"),
            Kind::Secret => {
                format!("a non-empty string of at most {SECRET_MAX_LEN} characters (a secret)")
            }
        }
    }

    /// Whether `value` is a value of this kind.
    pub fn accepts(self, value: &serde_json::Value) -> bool {
        match (self, value) {
            (Kind::Integer { min, max }, v) => v.as_i64().is_some_and(|n| n >= min && n <= max),
            (Kind::Bool, v) => v.is_boolean(),
            (Kind::String { max_len }, serde_json::Value::String(s)) => {
                s.chars().count() <= max_len as usize
            }
            (Kind::Secret, serde_json::Value::String(s)) => {
                !s.is_empty() && s.chars().count() <= SECRET_MAX_LEN as usize
            }
            _ => false,
        }
    }
}

/// A setting's default, written so the registry can be a `static`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// No default: unset everywhere means no value (`null`).
    None,
    /// An integer.
    Integer(i64),
    /// A boolean.
    Bool(bool),
    /// A string.
    String(&'static str),
}

impl DefaultValue {
    /// The default as JSON (`null` for [`DefaultValue::None`]).
    pub fn to_json(self) -> serde_json::Value {
        match self {
            DefaultValue::None => serde_json::Value::Null,
            DefaultValue::Integer(n) => n.into(),
            DefaultValue::Bool(b) => b.into(),
            DefaultValue::String(s) => s.into(),
        }
    }
}

/// One declared setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingDef {
    /// Dotted key, e.g. `spoke.deadline_ms`.
    pub key: &'static str,
    /// What values it takes.
    pub kind: Kind,
    /// Its value where no scope sets it.
    pub default: DefaultValue,
    /// Where it may be set.
    pub scopes: &'static [ScopeKind],
    /// Whether a tenant's admins may set it at their tenant's scopes; when `false` only
    /// platform admins (and the platform) write it anywhere — prices and abuse limits are the
    /// platform's to decide, not the tenant's.
    pub tenant_writable: bool,
    /// What it does, for operators.
    pub description: &'static str,
}

impl SettingDef {
    /// Whether values are sealed and masked.
    pub fn is_secret(&self) -> bool {
        self.kind == Kind::Secret
    }

    /// The definition as callers read it.
    pub fn view(&self) -> SettingDefView {
        SettingDefView {
            key: self.key.to_owned(),
            kind: self.kind,
            default: match self.default {
                DefaultValue::None => None,
                d => Some(d.to_json()),
            },
            scopes: self.scopes.to_vec(),
            tenant_writable: self.tenant_writable,
            description: self.description.to_owned(),
        }
    }
}

/// A declared setting as [`crate::ConfigApi::list_definitions`] returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SettingDefView {
    /// Dotted key.
    pub key: String,
    /// What values it takes.
    pub kind: Kind,
    /// Its default; `None` when it has none.
    #[schema(value_type = Option<Object>)]
    pub default: Option<serde_json::Value>,
    /// Where it may be set.
    pub scopes: Vec<ScopeKind>,
    /// Whether a tenant's admins may set it (else platform admins only).
    pub tenant_writable: bool,
    /// What it does.
    pub description: String,
}

const ALL_SCOPES: &[ScopeKind] = &[
    ScopeKind::Global,
    ScopeKind::Tenant,
    ScopeKind::Installation,
];

/// The platform's settings.
pub static BUILTIN: &[SettingDef] = &[
    SettingDef {
        key: "spoke.deadline_ms",
        kind: Kind::Integer {
            min: 1,
            max: 30_000,
        },
        default: DefaultValue::Integer(2000),
        scopes: ALL_SCOPES,
        tenant_writable: true,
        description: "How long one spoke call may run, in milliseconds, before it is stopped.",
    },
    SettingDef {
        key: "spoke.memory_mib",
        kind: Kind::Integer { min: 1, max: 256 },
        default: DefaultValue::Integer(64),
        scopes: ALL_SCOPES,
        tenant_writable: true,
        description: "The most memory one spoke instance may use, in MiB.",
    },
    SettingDef {
        key: "billing.message_cost",
        kind: Kind::Integer {
            min: 0,
            max: 1_000_000,
        },
        default: DefaultValue::Integer(1),
        scopes: &[ScopeKind::Global, ScopeKind::Tenant],
        tenant_writable: false,
        description: "What one handled message costs, in minor units of the platform currency.",
    },
    SettingDef {
        key: "ingress.rate_limit_per_minute",
        kind: Kind::Integer {
            min: 0,
            max: 1_000_000,
        },
        default: DefaultValue::Integer(0),
        scopes: ALL_SCOPES,
        tenant_writable: false,
        description: "The most webhook deliveries each installation takes a minute (the rest get 429 and Retry-After); 0 means unlimited.",
    },
    SettingDef {
        key: "webhook.signing_secret",
        kind: Kind::Secret,
        default: DefaultValue::None,
        scopes: &[ScopeKind::Installation],
        tenant_writable: true,
        description: "The secret an installation's inbound webhooks are signed with.",
    },
];

/// The settings a hub knows, by key.
#[derive(Debug, Clone)]
pub struct Registry {
    /// Every definition, sorted by key.
    defs: BTreeMap<&'static str, SettingDef>,
}

impl Registry {
    /// [`BUILTIN`] plus `extra`; a key declared twice is a configuration error.
    pub fn new(extra: &[SettingDef]) -> Result<Self> {
        let mut defs = BTreeMap::new();
        for def in BUILTIN.iter().chain(extra) {
            if defs.insert(def.key, *def).is_some() {
                return Err(Error::invalid(
                    "extra",
                    format!("setting `{}` is declared twice", def.key),
                ));
            }
            if def.scopes.is_empty() {
                return Err(Error::invalid(
                    "extra",
                    format!("setting `{}` may be set nowhere: give it scopes", def.key),
                ));
            }
        }
        Ok(Self { defs })
    }

    /// Every definition, by key.
    pub fn all(&self) -> impl Iterator<Item = &SettingDef> {
        self.defs.values()
    }

    /// The definition of `key`, or `invalid_argument` listing the known keys.
    pub fn get(&self, key: &str) -> Result<&SettingDef> {
        self.defs.get(key).ok_or_else(|| {
            let known: Vec<&str> = self.defs.keys().copied().collect();
            Error::invalid(
                "key",
                format!("unknown setting `{key}`; known: {}", known.join(", ")),
            )
        })
    }

    /// Checks that `def` may be set at `scope` and that `value` fits it.
    pub fn check(def: &SettingDef, scope: ScopeKind, value: &serde_json::Value) -> Result<()> {
        Self::check_scope(def, scope)?;
        if !def.kind.accepts(value) {
            return Err(Error::invalid(
                "value",
                format!(
                    "`{}` takes {}, got {}",
                    def.key,
                    def.kind.describe(),
                    shown(def, value)
                ),
            ));
        }
        Ok(())
    }

    /// Checks that `def` may be set at `scope`.
    pub fn check_scope(def: &SettingDef, scope: ScopeKind) -> Result<()> {
        if def.scopes.contains(&scope) {
            return Ok(());
        }
        let allowed: Vec<&str> = def.scopes.iter().map(|s| s.as_str()).collect();
        Err(Error::invalid(
            "scope",
            format!(
                "`{}` cannot be set at the {} scope; it may be set at: {}",
                def.key,
                scope.as_str(),
                allowed.join(", ")
            ),
        ))
    }
}

/// A rejected value as shown in an error: never a secret.
fn shown(def: &SettingDef, value: &serde_json::Value) -> String {
    if def.is_secret() {
        return match value {
            serde_json::Value::String(_) => "a string of the wrong length".into(),
            _ => "a value that is not a string".into(),
        };
    }
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_accept_only_their_values() {
        let int = Kind::Integer { min: 1, max: 10 };
        assert!(int.accepts(&json!(1)) && int.accepts(&json!(10)));
        assert!(!int.accepts(&json!(0)) && !int.accepts(&json!(11)));
        assert!(!int.accepts(&json!(1.5)) && !int.accepts(&json!("3")));
        assert!(Kind::Bool.accepts(&json!(false)) && !Kind::Bool.accepts(&json!(0)));
        let s = Kind::String { max_len: 3 };
        assert!(s.accepts(&json!("äöü")) && !s.accepts(&json!("abcd")));
        assert!(Kind::Secret.accepts(&json!("x")) && !Kind::Secret.accepts(&json!("")));
    }

    #[test]
    fn unknown_keys_list_the_known_ones_and_duplicates_are_refused() {
        let registry = Registry::new(&[]).unwrap();
        let err = registry.get("spoke.deadline").unwrap_err();
        assert_eq!(err.fields()[0].field, "key");
        assert!(err.fields()[0].message.contains("spoke.deadline_ms"));
        assert!(Registry::new(&[BUILTIN[0]]).is_err());
    }

    #[test]
    fn rejected_secrets_are_not_echoed() {
        let def = BUILTIN.iter().find(|d| d.is_secret()).unwrap();
        let big = "s".repeat(SECRET_MAX_LEN as usize + 1);
        let err = Registry::check(def, ScopeKind::Installation, &json!(big)).unwrap_err();
        assert!(!err.to_string().contains("sss"), "{err}");
    }
}
