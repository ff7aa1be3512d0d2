//! [`ConfigApi`]: everything the config hub does, as one async trait.
//!
//! [`crate::LocalConfig`] implements it over the hub's own database and
//! [`crate::grpc::ConfigClient`] over gRPC. Every method takes the caller's [`AuthContext`].
//!
//! Who may call what:
//!
//! | method | global scope | tenant / installation scope of tenant T |
//! |---|---|---|
//! | `set`, `unset`, `rollback` | platform admins, the platform (`system`) | T's admins and owners (settings that are `tenant_writable`), platform admins, the platform |
//! | `resolve`, `resolve_all`, `history` | any signed-in caller | any member of T, platform admins, the platform |
//! | `list_definitions` | any signed-in caller | — |
//! | `watch` | any signed-in caller: global changes, plus those of the caller's tenant (platform admins and the platform: all) | |
//! | `list_events` | platform admins; a tenant's admins for that tenant's events | |
//!
//! A tenant the caller has no role in is reported as `not_found`, so settings of other tenants
//! do not leak; members below admin who write get `permission_denied`; anonymous callers get
//! `unauthenticated`. Secret values are returned in clear to the platform only, and only when it
//! asks (`reveal`); everyone else sees [`crate::MASK`] with `masked: true`.

use async_trait::async_trait;
use futures::stream::BoxStream;
use nave_hub_core::{AuthContext, EventPage, EventScope, Result};

use crate::registry::SettingDefView;
use crate::types::{Change, ChangeNotice, ResolveAt, Resolved, Scope};

/// The config hub: typed runtime settings scoped global → tenant → installation.
#[async_trait]
pub trait ConfigApi: Send + Sync {
    /// Every declared setting, by key.
    async fn list_definitions(&self, ctx: &AuthContext) -> Result<Vec<SettingDefView>>;

    /// The effective value of `key` at `at`: the installation's value, else the tenant's, else
    /// the global one, else the default. `reveal` returns a secret in clear, for the platform
    /// only (ignored for everyone else).
    async fn resolve(
        &self,
        ctx: &AuthContext,
        key: &str,
        at: ResolveAt,
        reveal: bool,
    ) -> Result<Resolved>;

    /// [`ConfigApi::resolve`] for every declared setting, by key.
    async fn resolve_all(
        &self,
        ctx: &AuthContext,
        at: ResolveAt,
        reveal: bool,
    ) -> Result<Vec<Resolved>>;

    /// Sets `key` at `scope` to `value` (checked against the setting's kind, range and allowed
    /// scopes), as a new version. With `expected_version`, refused with `conflict` unless the
    /// setting's current version at that scope is that one (0: never set there).
    async fn set(
        &self,
        ctx: &AuthContext,
        scope: Scope,
        key: &str,
        value: serde_json::Value,
        expected_version: Option<u64>,
    ) -> Result<Change>;

    /// Removes `key` at `scope`, so the next scope up applies again, as a new version;
    /// `not_found` when it is not set there.
    async fn unset(&self, ctx: &AuthContext, scope: Scope, key: &str) -> Result<Change>;

    /// Sets `key` at `scope` back to what it was right after `to_version` (a change of that
    /// setting at that scope), as a new version.
    async fn rollback(
        &self,
        ctx: &AuthContext,
        scope: Scope,
        key: &str,
        to_version: u64,
    ) -> Result<Change>;

    /// The changes of `key` at `scope`, newest first: `limit` of them (0 means 50, at most 200).
    async fn history(
        &self,
        ctx: &AuthContext,
        scope: Scope,
        key: &str,
        limit: u32,
    ) -> Result<Vec<Change>>;

    /// The changes after `after_version` that the caller may see, first those already made,
    /// then live ones as they are made, in version order; a caller that reconnects with the last
    /// version it saw misses nothing.
    async fn watch(
        &self,
        ctx: &AuthContext,
        after_version: u64,
    ) -> Result<BoxStream<'static, Result<ChangeNotice>>>;

    /// Reads the hub's event log.
    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage>;
}
