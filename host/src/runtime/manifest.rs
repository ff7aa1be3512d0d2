//! A spoke's self-description, as the host keeps and serves it.

use serde::{Deserialize, Serialize};

use super::bindings::types;

/// The role of a spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A messaging platform: webhooks in, replies out.
    Channel,
    /// A conversational engine.
    Bot,
    /// Enriches messages.
    Processor,
}

impl Role {
    /// `channel`, `bot` or `processor`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Channel => "channel",
            Role::Bot => "bot",
            Role::Processor => "processor",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A setting each installation gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SettingSpec {
    /// Its key.
    pub name: String,
    /// One sentence for the operator.
    pub description: String,
    /// Sealed at rest, never returned.
    pub secret: bool,
    /// Installations without it are refused.
    pub required: bool,
    /// Used when the installation gives none.
    pub default_value: Option<String>,
}

/// What `describe()` returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Manifest {
    /// The spoke's name.
    pub name: String,
    /// Its semver version.
    pub version: String,
    /// Its role.
    pub role: Role,
    /// One line for the catalogue.
    pub description: String,
    /// Outbound hosts it may call, possibly `{{ config.NAME }}` templates.
    pub allowed_hosts: Vec<String>,
    /// Settings it needs.
    pub settings: Vec<SettingSpec>,
}

impl From<types::Manifest> for Manifest {
    fn from(m: types::Manifest) -> Manifest {
        Manifest {
            name: m.name,
            version: m.version,
            role: match m.role {
                types::Role::Channel => Role::Channel,
                types::Role::Bot => Role::Bot,
                types::Role::Processor => Role::Processor,
            },
            description: m.description,
            allowed_hosts: m.allowed_hosts,
            settings: m
                .settings
                .into_iter()
                .map(|s| SettingSpec {
                    name: s.name,
                    description: s.description,
                    secret: s.secret,
                    required: s.required,
                    default_value: s.default_value,
                })
                .collect(),
        }
    }
}

impl Manifest {
    /// Checks the names and version; the error says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.starts_with(|c: char| c.is_ascii_lowercase())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            return Err(format!(
                "name `{}` must be 1-64 characters of a-z, 0-9 and `-`, starting with a letter",
                self.name
            ));
        }
        if !is_semver(&self.version) {
            return Err(format!(
                "version `{}` must be semver, e.g. 1.2.0",
                self.version
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for setting in &self.settings {
            let ok = !setting.name.is_empty()
                && setting
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(format!(
                    "setting name `{}` must be a-z, 0-9 and `_`",
                    setting.name
                ));
            }
            if !seen.insert(&setting.name) {
                return Err(format!("setting `{}` is declared twice", setting.name));
            }
        }
        Ok(())
    }

    /// The spec of a setting.
    pub fn setting(&self, name: &str) -> Option<&SettingSpec> {
        self.settings.iter().find(|s| s.name == name)
    }
}

/// `MAJOR.MINOR.PATCH` with an optional `-pre` and `+build`.
fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_is_checked() {
        for ok in ["0.1.0", "1.20.3", "2.0.0-beta.1", "1.0.0+build5"] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in ["1.0", "v1.0.0", "01.0.0", "1.0.x", ""] {
            assert!(!is_semver(bad), "{bad}");
        }
    }
}
