//! The app hub's domain types, as callers see them.
//!
//! Fees are integer minor units (`i64`, e.g. cents) of the platform's one currency, like every
//! amount of the wallet hub.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use nave_hub_core::{Error, Result};

/// What a spoke does, as its manifest declares it (see `DESIGN.md`, section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppRole {
    /// Talks to an outside messaging platform (webhooks in, deliveries out).
    Channel,
    /// Answers messages.
    Bot,
    /// Enriches messages.
    Processor,
}

impl AppRole {
    /// The role's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AppRole::Channel => "channel",
            AppRole::Bot => "bot",
            AppRole::Processor => "processor",
        }
    }

    /// Parses a wire name, naming `field` in the error.
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        match value {
            "channel" => Ok(AppRole::Channel),
            "bot" => Ok(AppRole::Bot),
            "processor" => Ok(AppRole::Processor),
            other => Err(Error::invalid(
                field,
                format!("unknown role `{other}`; use `channel`, `bot` or `processor`"),
            )),
        }
    }
}

/// Who may see and subscribe to a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Every tenant; published by a platform admin.
    Public,
    /// One tenant only (`owner_tenant_id`), which uploaded its own spoke.
    Private,
}

/// The one-off fee a tenant pays when subscribing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fee {
    /// Minor units; 0 for a free app.
    pub amount: i64,
    /// The platform's currency (ISO 4217).
    pub currency: String,
}

/// An app of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Listing {
    /// Its id.
    pub id: Uuid,
    /// The spoke's manifest name (`[a-z0-9-]`).
    pub name: String,
    /// The name shown to people.
    pub display_name: String,
    /// What the app does.
    pub description: String,
    /// Who makes it.
    pub publisher: String,
    /// What its spoke does.
    pub role: AppRole,
    /// An http(s) URL of its icon.
    pub icon_url: Option<String>,
    /// What subscribing costs.
    pub install_fee: Fee,
    /// Public, or private to one tenant.
    pub visibility: Visibility,
    /// The tenant a private listing belongs to.
    pub owner_tenant_id: Option<Uuid>,
    /// Hidden from new subscriptions (existing ones go on).
    pub unlisted: bool,
    /// The newest version by semver order, once one was recorded.
    pub latest_version: Option<String>,
    /// Who created it (event-log actor string).
    pub created_by: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What [`crate::AppApi::create_listing`] needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewListing {
    /// The spoke's manifest name: 1–64 of `a-z`, `0-9` and `-`.
    pub name: String,
    /// The name shown to people (1–100 characters).
    pub display_name: String,
    /// What the app does (at most 2000 characters).
    #[serde(default)]
    pub description: String,
    /// Who makes it (1–100 characters).
    pub publisher: String,
    /// What its spoke does.
    pub role: AppRole,
    /// An http(s) URL of its icon.
    #[serde(default)]
    pub icon_url: Option<String>,
    /// Minor units charged on subscribing (0, the default, for free).
    #[serde(default)]
    pub install_fee: i64,
    /// The fee's currency; the platform's currency when left out (the only one accepted).
    #[serde(default)]
    pub currency: Option<String>,
    /// `None` for a public listing (platform admins); a tenant for a private one (its admins).
    #[serde(default)]
    pub owner_tenant_id: Option<Uuid>,
}

/// What [`crate::AppApi::update_listing`] changes; fields left out stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ListingChange {
    /// A new display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// A new description.
    #[serde(default)]
    pub description: Option<String>,
    /// A new publisher.
    #[serde(default)]
    pub publisher: Option<String>,
    /// A new icon URL; `""` removes it.
    #[serde(default)]
    pub icon_url: Option<String>,
    /// A new install fee, in minor units.
    #[serde(default)]
    pub install_fee: Option<i64>,
    /// `true` unlists (deprecates) the app, `false` lists it again.
    #[serde(default)]
    pub unlisted: Option<bool>,
}

/// One uploaded version of an app's spoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppVersion {
    /// The listing.
    pub app_id: Uuid,
    /// A semver version, e.g. `1.2.0`.
    pub version: String,
    /// SHA-256 of the component, lowercase hex.
    pub sha256: String,
    /// The role the component declared.
    pub role: AppRole,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// When it was uploaded.
    #[serde(with = "time::serde::rfc3339")]
    pub uploaded_at: OffsetDateTime,
}

/// What [`crate::AppApi::record_version`] needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewVersion {
    /// A semver version, e.g. `1.2.0`.
    pub version: String,
    /// SHA-256 of the component, 64 lowercase hex digits.
    pub sha256: String,
    /// The role the component declared; must be the listing's.
    pub role: AppRole,
    /// Who uploaded it (an actor string such as `user:<id>`); the caller when empty.
    #[serde(default)]
    pub uploaded_by: String,
}

/// Where a subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// The subscription saga is under way.
    Pending,
    /// Installed and paid for.
    Active,
    /// The saga failed and undid what it did.
    Failed,
    /// Uninstalled.
    Cancelled,
}

impl SubscriptionStatus {
    /// The status's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Pending => "pending",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Failed => "failed",
            SubscriptionStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a wire name; an unknown one read back from our own data is a bug.
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "pending" => Ok(SubscriptionStatus::Pending),
            "active" => Ok(SubscriptionStatus::Active),
            "failed" => Ok(SubscriptionStatus::Failed),
            "cancelled" => Ok(SubscriptionStatus::Cancelled),
            other => Err(Error::internal_msg(format!(
                "unknown subscription status `{other}`"
            ))),
        }
    }
}

/// A tenant's subscription to an app: its installation, as the app hub records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subscription {
    /// Its id (also the id of the saga run that created it).
    pub id: Uuid,
    /// The subscribing tenant.
    pub tenant_id: Uuid,
    /// The listing.
    pub app_id: Uuid,
    /// The listing's name, for reading.
    pub app_name: String,
    /// The pinned version.
    pub version: String,
    /// The version before the last upgrade or rollback.
    pub previous_version: Option<String>,
    /// Where it stands.
    pub status: SubscriptionStatus,
    /// The install fee as it was when subscribing.
    pub fee: Fee,
    /// The wallet hold of the fee (none for a free app).
    pub hold_id: Option<Uuid>,
    /// Whether the fee was charged.
    pub fee_captured: bool,
    /// The host's runtime installation, once created.
    pub installation_id: Option<Uuid>,
    /// Why it failed, when it did.
    pub failure: Option<String>,
    /// Who subscribed (event-log actor string).
    pub created_by: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What [`crate::AppApi::create_subscription`] records (a step of the subscription saga).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSubscription {
    /// The id: the saga run's, so a replay finds the row it made.
    pub id: Uuid,
    /// The listing.
    pub app_id: Uuid,
    /// The version to pin; must exist on the listing.
    pub version: String,
    /// The fee held for it.
    pub fee: Fee,
    /// The wallet hold, when the fee is not 0.
    pub hold_id: Option<Uuid>,
    /// Who asked for it (event-log actor string of the requesting user or key).
    pub requested_by: String,
}

/// The guards passed: what a subscription would pin and pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuardReport {
    /// Always true (failures are an error carrying every reason).
    pub ok: bool,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The listing.
    pub app_id: Uuid,
    /// Its name.
    pub app_name: String,
    /// The newest version, which a subscription pins unless told otherwise.
    pub latest_version: String,
    /// The install fee.
    pub fee: Fee,
}
