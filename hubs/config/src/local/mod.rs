//! [`LocalConfig`]: the config hub running in this process, over its own database.
//!
//! - this module: opening the hub, who may call what, row conversions and the [`ConfigApi`]
//!   impl;
//! - `writes`: set, unset and rollback;
//! - `reads`: definitions, resolution, history and the event log;
//! - `watch`: change notifications, replayed from the store and then live.

mod reads;
mod watch;
mod writes;

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use nave_hub_core::clock::from_millis;
use nave_hub_core::{
    AuthContext, Clock, DbConfig, Error, EventLog, EventPage, EventScope, Principal, Result, Role,
};
use tokio::sync::{Mutex, broadcast};

use crate::api::ConfigApi;
use crate::registry::{Registry, SettingDef, SettingDefView};
use crate::seal::Sealer;
use crate::store::{ChangeRow, ConfigStore};
use crate::types::{Change, ChangeAction, ChangeNotice, MASK, ResolveAt, Resolved, Scope};

/// How many notices a slow in-process subscriber may fall behind before it is told it lagged
/// (watchers then catch up from the store).
const NOTICE_BUFFER: usize = 1024;

/// Settings of the config hub. The host fills this in; nothing here reads the environment.
#[derive(Clone, Default)]
pub struct ConfigConfig {
    /// Settings declared in addition to [`crate::BUILTIN`] (e.g. by tests or plugins).
    pub extra: Vec<SettingDef>,
    /// The 32-byte key secrets are sealed with (the platform's master key); without one,
    /// secrets are refused with `no_seal_key`.
    pub seal_key: Option<[u8; 32]>,
}

impl std::fmt::Debug for ConfigConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigConfig")
            .field("extra", &self.extra)
            .field("seal_key", &self.seal_key.map(|_| ".."))
            .finish()
    }
}

/// The config hub in this process. Cheap to clone; clones share one hub.
#[derive(Clone, Debug)]
pub struct LocalConfig {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: ConfigStore,
    events: EventLog,
    clock: Arc<dyn Clock>,
    registry: Registry,
    sealer: Sealer,
    /// Live change notices for in-process subscribers and watchers.
    notices: broadcast::Sender<ChangeNotice>,
    /// Held across a write and its notice, so notices go out in version order.
    write_lock: Mutex<()>,
}

impl LocalConfig {
    /// Opens the hub: checks the declared settings, connects to its database and runs
    /// migrations.
    pub async fn open(db: &DbConfig, config: ConfigConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        let registry = Registry::new(&config.extra)?;
        let store = ConfigStore::open(db).await?;
        let (notices, _) = broadcast::channel(NOTICE_BUFFER);
        Ok(Self {
            inner: Arc::new(Inner {
                events: EventLog::new(store.db().clone()),
                store,
                clock,
                registry,
                sealer: Sealer::new(config.seal_key.as_ref()),
                notices,
                write_lock: Mutex::new(()),
            }),
        })
    }

    /// A receiver of every change made through this hub from now on (in version order).
    ///
    /// Notices of changes made by other processes sharing the database are not delivered here;
    /// [`ConfigApi::watch`] also replays from the store and so sees them.
    pub fn subscribe(&self) -> broadcast::Receiver<ChangeNotice> {
        self.inner.notices.subscribe()
    }

    fn store(&self) -> &ConfigStore {
        &self.inner.store
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }
}

/// Writes at a scope: the platform and platform admins anywhere; a tenant's admins and owners
/// at that tenant's scopes.
fn may_write(ctx: &AuthContext, scope: &Scope) -> Result<()> {
    if ctx.principal == Principal::System {
        return Ok(());
    }
    match scope.tenant_id() {
        None => ctx.require_platform_admin(),
        Some(tenant) => ctx.require_tenant_role(tenant, Role::Admin),
    }
}

/// Writes of a setting that is not `tenant_writable`: platform admins and the platform only, at
/// every scope (after [`may_write`], so strangers to the tenant still get `not_found`).
fn may_write_setting(ctx: &AuthContext, scope: &Scope, def: &SettingDef) -> Result<()> {
    if def.tenant_writable || scope.tenant_id().is_none() || ctx.principal == Principal::System {
        return Ok(());
    }
    if ctx.platform_admin {
        return Ok(());
    }
    Err(Error::permission_denied(format!(
        "`{}` is set by the platform's admins only; ask them to change it",
        def.key
    )))
}

/// Reads at a scope: any signed-in caller globally; any member of the tenant at its scopes.
fn may_read(ctx: &AuthContext, scope: &Scope) -> Result<()> {
    if ctx.principal == Principal::System {
        return Ok(());
    }
    match scope.tenant_id() {
        None => require_signed_in(ctx),
        Some(tenant) => ctx.require_tenant_role(tenant, Role::Viewer),
    }
}

fn require_signed_in(ctx: &AuthContext) -> Result<()> {
    if ctx.principal == Principal::Anonymous {
        Err(Error::unauthenticated("sign in first"))
    } else {
        Ok(())
    }
}

/// Whether a watcher with `ctx` is told about a change at `scope`.
fn may_see(ctx: &AuthContext, scope: &Scope) -> bool {
    if ctx.principal == Principal::System || ctx.platform_admin {
        return true;
    }
    match scope.tenant_id() {
        None => true,
        Some(tenant) => ctx.tenant.is_some_and(|s| s.tenant_id == tenant),
    }
}

/// Whether secrets are returned in clear: to the platform itself only.
fn reveals(ctx: &AuthContext) -> bool {
    ctx.principal == Principal::System
}

/// A stored value as returned: plain JSON, a secret in clear, or the mask. The flag says
/// whether it is masked.
fn shown(
    sealer: &Sealer,
    scope: &str,
    key: &str,
    value: Option<&str>,
    sealed: Option<&[u8]>,
    reveal: bool,
) -> Result<(Option<serde_json::Value>, bool)> {
    if let Some(sealed) = sealed {
        if reveal {
            return Ok((Some(sealer.open(scope, key, sealed)?.into()), false));
        }
        return Ok((Some(MASK.into()), true));
    }
    match value {
        None => Ok((None, false)),
        Some(text) => Ok((
            Some(serde_json::from_str(text).map_err(Error::internal)?),
            false,
        )),
    }
}

impl LocalConfig {
    /// A change row as the caller sees it.
    fn change_of(&self, row: &ChangeRow, reveal: bool) -> Result<Change> {
        let sealer = &self.inner.sealer;
        let (value, masked_now) = shown(
            sealer,
            &row.scope,
            &row.key,
            row.value.as_deref(),
            row.sealed.as_deref(),
            reveal,
        )?;
        let (previous, masked_before) = shown(
            sealer,
            &row.scope,
            &row.key,
            row.previous.as_deref(),
            row.previous_sealed.as_deref(),
            reveal,
        )?;
        Ok(Change {
            version: version_of(row.version),
            key: row.key.clone(),
            scope: row.scope()?,
            action: ChangeAction::parse(&row.action)?,
            value,
            previous,
            masked: masked_now || masked_before,
            rolled_back_to: row.rolled_back_to.map(version_of),
            actor: row.actor.clone(),
            correlation_id: row.correlation_id.clone(),
            at: from_millis(row.at_ms)?,
        })
    }
}

/// A stored version (never negative) as the API's `u64`.
fn version_of(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or(0)
}

/// The notice of a stored change.
fn notice_of(row: &ChangeRow) -> Result<ChangeNotice> {
    Ok(ChangeNotice {
        version: version_of(row.version),
        key: row.key.clone(),
        scope: row.scope()?,
    })
}

#[async_trait]
impl ConfigApi for LocalConfig {
    async fn list_definitions(&self, ctx: &AuthContext) -> Result<Vec<SettingDefView>> {
        require_signed_in(ctx)?;
        Ok(self.inner.registry.all().map(SettingDef::view).collect())
    }

    async fn resolve(
        &self,
        ctx: &AuthContext,
        key: &str,
        at: ResolveAt,
        reveal: bool,
    ) -> Result<Resolved> {
        self.do_resolve(ctx, key, at, reveal).await
    }

    async fn resolve_all(
        &self,
        ctx: &AuthContext,
        at: ResolveAt,
        reveal: bool,
    ) -> Result<Vec<Resolved>> {
        self.do_resolve_all(ctx, at, reveal).await
    }

    #[tracing::instrument(skip_all, fields(key = %key, scope = %scope, correlation_id = %ctx.correlation_id))]
    async fn set(
        &self,
        ctx: &AuthContext,
        scope: Scope,
        key: &str,
        value: serde_json::Value,
        expected_version: Option<u64>,
    ) -> Result<Change> {
        self.do_set(ctx, scope, key, value, expected_version).await
    }

    #[tracing::instrument(skip_all, fields(key = %key, scope = %scope, correlation_id = %ctx.correlation_id))]
    async fn unset(&self, ctx: &AuthContext, scope: Scope, key: &str) -> Result<Change> {
        self.do_unset(ctx, scope, key).await
    }

    #[tracing::instrument(skip_all, fields(key = %key, scope = %scope, correlation_id = %ctx.correlation_id))]
    async fn rollback(
        &self,
        ctx: &AuthContext,
        scope: Scope,
        key: &str,
        to_version: u64,
    ) -> Result<Change> {
        self.do_rollback(ctx, scope, key, to_version).await
    }

    async fn history(
        &self,
        ctx: &AuthContext,
        scope: Scope,
        key: &str,
        limit: u32,
    ) -> Result<Vec<Change>> {
        self.do_history(ctx, scope, key, limit).await
    }

    async fn watch(
        &self,
        ctx: &AuthContext,
        after_version: u64,
    ) -> Result<BoxStream<'static, Result<ChangeNotice>>> {
        self.do_watch(ctx, after_version)
    }

    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        self.do_list_events(ctx, scope, after_seq, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nave_hub_core::ids::new_id;

    #[test]
    fn tenant_admins_write_their_tenant_only() {
        let tenant = new_id();
        let scope = Scope::Tenant(tenant);
        let admin = AuthContext::user(new_id()).in_tenant(tenant, Role::Admin);
        assert!(may_write(&admin, &scope).is_ok());
        assert_eq!(
            may_write(&admin, &Scope::Global).unwrap_err().code(),
            "permission_denied"
        );
        assert_eq!(
            may_write(&admin, &Scope::Tenant(new_id()))
                .unwrap_err()
                .code(),
            "not_found"
        );
        let price = crate::BUILTIN
            .iter()
            .find(|d| d.key == "billing.message_cost")
            .unwrap();
        assert_eq!(
            may_write_setting(&admin, &scope, price).unwrap_err().code(),
            "permission_denied"
        );
        let platform = AuthContext::user(new_id());
        let platform = AuthContext {
            platform_admin: true,
            ..platform
        };
        assert!(may_write_setting(&platform, &scope, price).is_ok());
        let viewer = AuthContext::user(new_id()).in_tenant(tenant, Role::Viewer);
        assert!(may_read(&viewer, &scope).is_ok());
        assert!(may_see(&viewer, &scope) && !may_see(&viewer, &Scope::Tenant(new_id())));
        assert!(!reveals(&admin) && reveals(&AuthContext::system()));
    }
}
