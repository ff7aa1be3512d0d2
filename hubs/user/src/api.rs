//! [`UserApi`]: everything the user hub does, as one async trait.
//!
//! [`crate::LocalUser`] implements it over the hub's own database and
//! [`crate::grpc::UserClient`] over gRPC. Every method takes the caller's [`AuthContext`].
//!
//! Profiles are readable and changeable by their user, platform admins and the platform
//! (`system`); anyone else gets `not_found`. Contacts belong to one tenant: callers scoped to that
//! tenant may read them, agents and above may change them, platform admins and the platform may do
//! both. A tenant the caller is not scoped to, and a contact of another tenant, are `not_found`,
//! exactly like missing ones; a viewer trying to change a contact gets `permission_denied`.

use async_trait::async_trait;
use nave_hub_core::{AuthContext, EventPage, EventScope, Result};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::types::{
    ChannelIdentity, Contact, ContactPage, ContactProfile, ContactQuery, Direction,
    MessageActivity, Profile, ProfileChange, ResolvedContact,
};

/// The user hub: platform users' profiles and preferences, tenants' end-customer contacts.
#[async_trait]
pub trait UserApi: Send + Sync {
    /// A user's profile, created empty on first use.
    async fn get_profile(&self, ctx: &AuthContext, user_id: Uuid) -> Result<Profile>;

    /// Changes a user's profile fields; appends `profile.updated` when something changed.
    async fn update_profile(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        change: ProfileChange,
    ) -> Result<Profile>;

    /// Merges `patch` into a user's preferences: a `null` value removes the key, others set it.
    /// At most 64 keys of 1–64 characters `[a-z0-9_.-]`, 16 KiB of JSON in all.
    async fn set_preferences(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        patch: Map<String, Value>,
    ) -> Result<Profile>;

    /// The tenant's contact with this channel identity, created on first sight (`created`).
    /// Non-empty fields of `profile` overwrite the contact's (an event only if one differed).
    async fn resolve_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        identity: ChannelIdentity,
        profile: ContactProfile,
    ) -> Result<ResolvedContact>;

    /// The tenant's contact with this channel identity, if there is one; never creates one.
    async fn find_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        installation_id: Uuid,
        channel_user_id: &str,
    ) -> Result<Option<Contact>>;

    /// One contact of the tenant.
    async fn get_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        contact_id: Uuid,
    ) -> Result<Contact>;

    /// A page of the tenant's contacts in creation order, optionally filtered by a search text.
    async fn list_contacts(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        query: ContactQuery,
    ) -> Result<ContactPage>;

    /// Changes a contact's profile: `Some` fields overwrite, `Some("")` clears (agents and above).
    async fn update_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        contact_id: Uuid,
        change: ContactProfile,
    ) -> Result<Contact>;

    /// Folds `merge` into `keep`: its identities move over, `keep`'s empty fields are filled from
    /// it, counters add up, first/last seen widen, and `merge` is deleted (agents and above).
    async fn merge_contacts(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        keep: Uuid,
        merge: Uuid,
    ) -> Result<Contact>;

    /// Erases a contact with its identities (agents and above).
    async fn delete_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        contact_id: Uuid,
    ) -> Result<()>;

    /// Counts one message to or from the contact behind `identity` (created on first sight) and
    /// moves its first/last seen times to include `at`; one short transaction per message.
    async fn record_activity(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        identity: ChannelIdentity,
        direction: Direction,
        at: OffsetDateTime,
        profile: Option<ContactProfile>,
    ) -> Result<Contact>;

    /// [`Self::record_activity`] without a profile, for many messages at once, of any tenants
    /// the caller may change contacts of: what the platform does for every message. Messages
    /// of one identity add up into one update and the batch is one transaction; a person seen
    /// for the first time gets a contact, as with `record_activity`. Every item is checked
    /// first: one that is refused (`items[i].identity...`) counts nothing of the batch.
    async fn record_activities(&self, ctx: &AuthContext, items: Vec<MessageActivity>)
    -> Result<()>;

    /// Reads the hub's event log (platform admins; tenant admins for their tenant's events).
    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage>;
}
