//! [`LocalUser`]: the user hub running in this process, over its own database.
//!
//! - this module: opening the hub, who may see what ([`authorize_profile`], [`authorize_contacts`]),
//!   row conversions and the [`UserApi`] impl;
//! - `profiles`: profiles and preferences;
//! - `contacts`: resolving, reading, changing, merging and deleting contacts, and activity.

mod contacts;
mod profiles;

use std::sync::Arc;

use async_trait::async_trait;
use nave_hub_core::clock::from_millis;
use nave_hub_core::events::EventRecord;
use nave_hub_core::ids::stored_id;
use nave_hub_core::{
    AuthContext, Clock, DbConfig, Error, EventLog, EventPage, EventScope, NewEvent, Principal,
    Result, Role,
};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::UserApi;
use crate::store::{ContactRow, IdentityRow, ProfileRow, UserStore};
use crate::types::{
    ChannelIdentity, Contact, ContactIdentity, ContactPage, ContactProfile, ContactQuery,
    Direction, MessageActivity, Profile, ProfileChange, ResolvedContact,
};
use crate::validate::{MAX_PREFERENCE_KEYS, MAX_PREFERENCES_BYTES};

/// Settings of the user hub. The host fills this in; nothing here reads the environment.
#[derive(Debug, Clone)]
pub struct UserConfig {
    /// How many preference keys one profile may keep.
    pub max_preference_keys: usize,
    /// How large (in bytes of JSON) one profile's preferences may grow.
    pub max_preferences_bytes: usize,
}

impl Default for UserConfig {
    fn default() -> Self {
        Self {
            max_preference_keys: MAX_PREFERENCE_KEYS,
            max_preferences_bytes: MAX_PREFERENCES_BYTES,
        }
    }
}

/// The user hub in this process. Cheap to clone; clones share one hub.
#[derive(Clone, Debug)]
pub struct LocalUser {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: UserStore,
    events: EventLog,
    clock: Arc<dyn Clock>,
    config: UserConfig,
}

impl LocalUser {
    /// Opens the hub: connects to its database and runs migrations.
    pub async fn open(db: &DbConfig, config: UserConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        let store = UserStore::open(db).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                events: EventLog::new(store.db().clone()),
                store,
                clock,
                config,
            }),
        })
    }

    fn store(&self) -> &UserStore {
        &self.inner.store
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    fn record(&self, ctx: &AuthContext, event: NewEvent) -> EventRecord {
        event.record(ctx, self.now_ms())
    }
}

/// Whether an operation on contacts only reads or also changes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Any role in the tenant.
    Read,
    /// Agents and above.
    Write,
}

/// Lets a user at their own profile, and platform admins and the platform at any; to anyone
/// else the profile does not exist.
fn authorize_profile(ctx: &AuthContext, user_id: Uuid) -> Result<()> {
    match ctx.principal {
        Principal::Anonymous => Err(Error::unauthenticated("sign in first")),
        Principal::User(id) if id == user_id => Ok(()),
        Principal::System => Ok(()),
        _ if ctx.platform_admin => Ok(()),
        _ => Err(Error::not_found(format!("no profile for user {user_id}"))),
    }
}

/// Lets callers scoped to the tenant read its contacts, agents and above change them, and
/// platform admins and the platform do both. Other tenants look like missing ones.
fn authorize_contacts(ctx: &AuthContext, tenant_id: Uuid, access: Access) -> Result<()> {
    if ctx.platform_admin || ctx.principal == Principal::System {
        return Ok(());
    }
    if ctx.principal == Principal::Anonymous {
        return Err(Error::unauthenticated("sign in first"));
    }
    match ctx.tenant {
        Some(scope) if scope.tenant_id == tenant_id => {
            if access == Access::Write && !scope.role.includes(Role::Agent) {
                Err(Error::permission_denied(format!(
                    "your role `{}` may read contacts but not change them: agents, admins and \
                     owners may",
                    scope.role
                )))
            } else {
                Ok(())
            }
        }
        _ => Err(Error::not_found(format!("no tenant `{tenant_id}`"))),
    }
}

fn profile_of(row: ProfileRow) -> Result<Profile> {
    let preferences: Map<String, Value> =
        serde_json::from_str(&row.preferences).map_err(Error::internal)?;
    Ok(Profile {
        user_id: stored_id(&row.user_id)?,
        display_name: row.display_name,
        avatar_url: row.avatar_url,
        locale: row.locale,
        time_zone: row.time_zone,
        preferences,
        updated_at: from_millis(row.updated_at_ms)?,
    })
}

fn optional_instant(ms: Option<i64>) -> Result<Option<OffsetDateTime>> {
    ms.map(from_millis).transpose()
}

/// A stored counter as the API's `u64` (counters only ever grow from zero).
fn counter(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

fn contact_of(row: ContactRow, identities: &[IdentityRow]) -> Result<Contact> {
    let identities = identities
        .iter()
        .filter(|i| i.contact_id == row.id)
        .map(|i| {
            Ok(ContactIdentity {
                installation_id: stored_id(&i.installation_id)?,
                channel: i.channel.clone(),
                channel_user_id: i.channel_user_id.clone(),
                created_at: from_millis(i.created_at_ms)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Contact {
        id: stored_id(&row.id)?,
        tenant_id: stored_id(&row.tenant_id)?,
        name: row.name,
        first_name: row.first_name,
        last_name: row.last_name,
        picture_url: row.picture_url,
        locale: row.locale,
        time_zone: row.time_zone,
        email: row.email,
        phone: row.phone,
        identities,
        messages_in: counter(row.messages_in),
        messages_out: counter(row.messages_out),
        first_seen_at: optional_instant(row.first_seen_at_ms)?,
        last_seen_at: optional_instant(row.last_seen_at_ms)?,
        created_at: from_millis(row.created_at_ms)?,
        updated_at: from_millis(row.updated_at_ms)?,
    })
}

#[async_trait]
impl UserApi for LocalUser {
    async fn get_profile(&self, ctx: &AuthContext, user_id: Uuid) -> Result<Profile> {
        self.do_get_profile(ctx, user_id).await
    }

    async fn update_profile(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        change: ProfileChange,
    ) -> Result<Profile> {
        self.do_update_profile(ctx, user_id, change).await
    }

    async fn set_preferences(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        patch: Map<String, Value>,
    ) -> Result<Profile> {
        self.do_set_preferences(ctx, user_id, patch).await
    }

    async fn resolve_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        identity: ChannelIdentity,
        profile: ContactProfile,
    ) -> Result<ResolvedContact> {
        self.do_resolve_contact(ctx, tenant_id, identity, profile)
            .await
    }

    async fn find_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        installation_id: Uuid,
        channel_user_id: &str,
    ) -> Result<Option<Contact>> {
        self.do_find_contact(ctx, tenant_id, installation_id, channel_user_id)
            .await
    }

    async fn get_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        contact_id: Uuid,
    ) -> Result<Contact> {
        self.do_get_contact(ctx, tenant_id, contact_id).await
    }

    async fn list_contacts(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        query: ContactQuery,
    ) -> Result<ContactPage> {
        self.do_list_contacts(ctx, tenant_id, query).await
    }

    async fn update_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        contact_id: Uuid,
        change: ContactProfile,
    ) -> Result<Contact> {
        self.do_update_contact(ctx, tenant_id, contact_id, change)
            .await
    }

    async fn merge_contacts(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        keep: Uuid,
        merge: Uuid,
    ) -> Result<Contact> {
        self.do_merge_contacts(ctx, tenant_id, keep, merge).await
    }

    async fn delete_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        contact_id: Uuid,
    ) -> Result<()> {
        self.do_delete_contact(ctx, tenant_id, contact_id).await
    }

    async fn record_activity(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        identity: ChannelIdentity,
        direction: Direction,
        at: OffsetDateTime,
        profile: Option<ContactProfile>,
    ) -> Result<Contact> {
        self.do_record_activity(ctx, tenant_id, identity, direction, at, profile)
            .await
    }

    async fn record_activities(
        &self,
        ctx: &AuthContext,
        items: Vec<MessageActivity>,
    ) -> Result<()> {
        self.do_record_activities(ctx, items).await
    }

    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        match scope {
            _ if ctx.platform_admin || ctx.principal == Principal::System => {}
            EventScope::Tenant(tenant_id) if ctx.principal != Principal::Anonymous => {
                match ctx.tenant {
                    Some(s) if s.tenant_id == tenant_id && s.role.includes(Role::Admin) => {}
                    Some(s) if s.tenant_id == tenant_id => {
                        return Err(Error::permission_denied(
                            "only a tenant's admins and owners may read its events",
                        ));
                    }
                    _ => return Err(Error::not_found(format!("no tenant `{tenant_id}`"))),
                }
            }
            _ => ctx.require_platform_admin()?,
        }
        self.inner.events.read(scope, after_seq, limit).await
    }
}
