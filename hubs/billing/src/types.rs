//! The billing hub's domain types, as callers see them.

use std::fmt;
use std::str::FromStr;

use nave_hub_core::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use uuid::Uuid;

/// A plan of the external billing system, with what it entitles a tenant to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Plan {
    /// Stable code the billing system uses: 1–64 of `a-z`, `0-9`, `_` and `-`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// What a tenant on this plan may use.
    pub entitlements: Entitlements,
}

/// The limits of a plan; `None` means unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entitlements {
    /// Messages per monthly period.
    pub messages_per_period: Option<u64>,
    /// Installations at any one time.
    pub installations: Option<u32>,
    /// Which apps may be installed.
    pub apps: AppsAllowed,
}

/// Which apps a plan allows: all of them, or those named. On the wire: `"all"` or a list of
/// app names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppsAllowed {
    /// Every app.
    All,
    /// Only these apps, by name.
    Only(Vec<String>),
}

impl AppsAllowed {
    /// Whether `app` may be installed.
    pub fn allows(&self, app: &str) -> bool {
        match self {
            AppsAllowed::All => true,
            AppsAllowed::Only(apps) => apps.iter().any(|a| a == app),
        }
    }
}

impl Serialize for AppsAllowed {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            AppsAllowed::All => serializer.serialize_str("all"),
            AppsAllowed::Only(apps) => apps.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for AppsAllowed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Word(String),
            List(Vec<String>),
        }
        match Wire::deserialize(deserializer)? {
            Wire::Word(w) if w == "all" => Ok(AppsAllowed::All),
            Wire::Word(w) => Err(serde::de::Error::custom(format!(
                "expected \"all\" or a list of app names, got \"{w}\""
            ))),
            Wire::List(apps) => Ok(AppsAllowed::Only(apps)),
        }
    }
}

impl utoipa::PartialSchema for AppsAllowed {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["all"])),
            )
            .item(ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String)))
            .description(Some("\"all\", or the names of the apps allowed"))
            .into()
    }
}

impl utoipa::ToSchema for AppsAllowed {}

/// A tenant's plan, as imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantPlan {
    /// The tenant (a tenant hub id).
    pub tenant_id: Uuid,
    /// The code of a plan of the same snapshot.
    pub plan: String,
    /// The day of month (1–28) the tenant's monthly periods start on, at 00:00 UTC.
    #[serde(default = "first_day")]
    pub period_anchor_day: u8,
}

fn first_day() -> u8 {
    1
}

/// Everything the external billing system says, imported as one whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Snapshot {
    /// Every plan.
    pub plans: Vec<Plan>,
    /// Every tenant that has a plan.
    pub tenants: Vec<TenantPlan>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// SHA-256 (hex) of the canonical snapshot (plans by code, tenants by id, app lists sorted).
    pub digest: String,
    /// False when this snapshot was already in force, so nothing was done.
    pub changed: bool,
    /// How many plans the snapshot holds.
    pub plans: usize,
    /// How many tenants it gives a plan.
    pub tenants: usize,
}

/// What is counted against a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Messages handled in the current period; starts again at 0 each period.
    Messages,
    /// Installations right now: a gauge that carries over from period to period.
    Installations,
}

impl Metric {
    /// Both metrics.
    pub const ALL: [Metric; 2] = [Metric::Messages, Metric::Installations];

    /// The metric's wire name (`messages`, `installations`).
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Messages => "messages",
            Metric::Installations => "installations",
        }
    }

    /// Whether the counter starts again each period (messages) or carries over (installations).
    pub fn resets_each_period(self) -> bool {
        self == Metric::Messages
    }

    /// This metric's limit under `entitlements` (`None`: unlimited).
    pub fn limit(self, entitlements: &Entitlements) -> Option<u64> {
        match self {
            Metric::Messages => entitlements.messages_per_period,
            Metric::Installations => entitlements.installations.map(u64::from),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Metric {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Metric::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "metric",
                    format!("unknown metric `{s}`; use `messages` or `installations`"),
                )
            })
    }
}

/// One metric's usage in the current period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Usage {
    /// What is counted.
    pub metric: Metric,
    /// How much is used.
    pub used: u64,
    /// The plan's limit; `None`: unlimited.
    pub limit: Option<u64>,
    /// Start of the current period (inclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub period_start: OffsetDateTime,
    /// End of the current period (exclusive): the next period starts here.
    #[serde(with = "time::serde::rfc3339")]
    pub period_end: OffsetDateTime,
}

/// A tenant's plan, current period and usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantBilling {
    /// The tenant.
    pub tenant_id: Uuid,
    /// Its plan.
    pub plan: Plan,
    /// Start of the current period (inclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub period_start: OffsetDateTime,
    /// End of the current period (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub period_end: OffsetDateTime,
    /// Usage of every metric, messages first.
    pub usage: Vec<Usage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_allowed_is_all_or_a_list() {
        assert_eq!(serde_json::to_string(&AppsAllowed::All).unwrap(), "\"all\"");
        let only = AppsAllowed::Only(vec!["facebook".into()]);
        assert_eq!(serde_json::to_string(&only).unwrap(), "[\"facebook\"]");
        assert_eq!(
            serde_json::from_str::<AppsAllowed>("\"all\"").unwrap(),
            AppsAllowed::All
        );
        assert_eq!(
            serde_json::from_str::<AppsAllowed>("[\"facebook\"]").unwrap(),
            only
        );
        assert!(serde_json::from_str::<AppsAllowed>("\"some\"").is_err());
        assert!(only.allows("facebook") && !only.allows("odoo"));
    }

    #[test]
    fn anchor_day_defaults_to_the_first() {
        let t: TenantPlan = serde_json::from_str(
            r#"{"tenant_id":"0190b6c2-0000-7000-8000-000000000000","plan":"free"}"#,
        )
        .unwrap();
        assert_eq!(t.period_anchor_day, 1);
    }
}
