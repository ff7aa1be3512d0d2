//! The user hub's domain types, as callers see them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A platform user's profile: how they are shown and what they prefer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    /// The user (an identity hub account id).
    pub user_id: Uuid,
    /// The name shown to other users.
    pub display_name: Option<String>,
    /// An `https://` (or `http://`) URL of their picture.
    pub avatar_url: Option<String>,
    /// Their language, as a BCP 47 tag such as `en` or `pt-BR`.
    pub locale: Option<String>,
    /// Their IANA time zone, such as `Europe/Lisbon`, or `UTC`.
    pub time_zone: Option<String>,
    /// Free-form settings of the user's clients (theme, notification choices, ...).
    #[schema(value_type = Object)]
    pub preferences: Map<String, Value>,
    /// When the profile last changed (or was first created).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// A change to a [`Profile`]: fields left out (or `null`) stay as they are; an empty string
/// clears a field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileChange {
    /// 1–100 characters, not only spaces.
    pub display_name: Option<String>,
    /// An `https://` or `http://` URL, at most 2048 characters.
    pub avatar_url: Option<String>,
    /// A BCP 47 tag such as `en` or `pt-BR`.
    pub locale: Option<String>,
    /// An IANA time zone name such as `Europe/Lisbon`, or `UTC`.
    pub time_zone: Option<String>,
}

/// How an end-customer is known on one channel installation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct ChannelIdentity {
    /// The channel installation (a spoke installed by the tenant) the customer wrote to.
    pub installation_id: Uuid,
    /// The channel's name, e.g. `facebook`.
    pub channel: String,
    /// The customer's id on that channel (e.g. a Facebook page-scoped id), 1–256 characters.
    pub channel_user_id: String,
}

/// What a channel (or an agent) knows about a contact; `None` fields are left as they are.
///
/// From [`crate::UserApi::update_contact`], an empty string clears a field; from channel data
/// ([`crate::UserApi::resolve_contact`], [`crate::UserApi::record_activity`]) empty strings are
/// ignored, so a channel that omits a value never erases what an agent entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ContactProfile {
    /// Full name as shown, at most 200 characters.
    pub name: Option<String>,
    /// Given name, at most 100 characters.
    pub first_name: Option<String>,
    /// Family name, at most 100 characters.
    pub last_name: Option<String>,
    /// An `https://` or `http://` URL of their picture, at most 2048 characters.
    pub picture_url: Option<String>,
    /// Their language: a BCP 47 tag such as `pt-BR` (channel forms like `pt_BR` are accepted).
    pub locale: Option<String>,
    /// An IANA time zone such as `Europe/Lisbon`, `UTC`, or a UTC offset such as `+01:00` or `-7`.
    pub time_zone: Option<String>,
    /// An email address.
    pub email: Option<String>,
    /// A phone number in E.164 form: `+` and 7–15 digits.
    pub phone: Option<String>,
}

/// One of a contact's channel identities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContactIdentity {
    /// The channel installation.
    pub installation_id: Uuid,
    /// The channel's name, e.g. `facebook`.
    pub channel: String,
    /// The contact's id on that channel.
    pub channel_user_id: String,
    /// When the contact was first seen with this identity.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// An end-customer of a tenant, across all the channels they used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    /// Stable id (uuid v7, so ids sort by creation).
    pub id: Uuid,
    /// The tenant whose customer this is.
    pub tenant_id: Uuid,
    /// Full name as shown.
    pub name: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Picture URL.
    pub picture_url: Option<String>,
    /// Language tag.
    pub locale: Option<String>,
    /// Time zone (IANA name or UTC offset).
    pub time_zone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number (E.164).
    pub phone: Option<String>,
    /// How the contact is known on each channel, oldest first.
    pub identities: Vec<ContactIdentity>,
    /// Messages received from the contact.
    pub messages_in: u64,
    /// Messages sent to the contact.
    pub messages_out: u64,
    /// The earliest recorded message.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_seen_at: Option<OffsetDateTime>,
    /// The latest recorded message.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_seen_at: Option<OffsetDateTime>,
    /// When the contact was created.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// When its profile, identities or counters last changed.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// What [`crate::UserApi::resolve_contact`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResolvedContact {
    /// The contact behind the identity.
    pub contact: Contact,
    /// Whether this call created it.
    pub created: bool,
}

/// Which of a tenant's contacts to list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ContactQuery {
    /// Only contacts whose name, email or phone contains this text (case-insensitive).
    pub search: Option<String>,
    /// Only contacts after this id: the `next` of the previous page.
    pub after: Option<Uuid>,
    /// Page size: 0 means the default of 50; at most 200.
    pub limit: u32,
}

impl Default for ContactQuery {
    fn default() -> Self {
        Self {
            search: None,
            after: None,
            limit: DEFAULT_CONTACT_PAGE,
        }
    }
}

/// The page size of [`ContactQuery`] when none is given.
pub const DEFAULT_CONTACT_PAGE: u32 = 50;
/// The largest page of contacts.
pub const MAX_CONTACT_PAGE: u32 = 200;

/// One page of contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContactPage {
    /// Contacts in id (creation) order.
    pub contacts: Vec<Contact>,
    /// Pass as [`ContactQuery::after`] for the next page; `None` on the last one.
    pub next: Option<Uuid>,
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the contact to the tenant.
    In,
    /// From the tenant to the contact.
    Out,
}

/// One message to count on the contact behind its identity, for
/// [`crate::UserApi::record_activities`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageActivity {
    /// The tenant whose contact it is.
    pub tenant_id: Uuid,
    /// The person as the channel knows them.
    pub identity: ChannelIdentity,
    /// Which way the message went.
    pub direction: Direction,
    /// When it was sent.
    pub at: OffsetDateTime,
}

impl Direction {
    /// The wire name (`in`, `out`).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}
