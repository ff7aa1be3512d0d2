//! Reads: resolution (nearest scope wins), history and the event log.

use nave_hub_core::{AuthContext, EventPage, EventScope, Principal, Result, Role};

use super::{LocalConfig, may_read, reveals, shown, version_of};
use crate::registry::SettingDef;
use crate::store::ValueRow;
use crate::types::{Origin, ResolveAt, Resolved, Scope};

/// History entries when the caller does not say.
const DEFAULT_HISTORY: u32 = 50;
/// The most history entries per call.
const MAX_HISTORY: u32 = 200;

impl LocalConfig {
    pub(super) async fn do_resolve(
        &self,
        ctx: &AuthContext,
        key: &str,
        at: ResolveAt,
        reveal: bool,
    ) -> Result<Resolved> {
        let scopes = at.scopes()?;
        may_read(ctx, &scopes[0])?;
        let def = self.inner.registry.get(key)?;
        let rows = self
            .store()
            .values(&storage_keys(&scopes), Some(key))
            .await?;
        self.resolved(def, &scopes, &rows, reveal && reveals(ctx))
    }

    pub(super) async fn do_resolve_all(
        &self,
        ctx: &AuthContext,
        at: ResolveAt,
        reveal: bool,
    ) -> Result<Vec<Resolved>> {
        let scopes = at.scopes()?;
        may_read(ctx, &scopes[0])?;
        let rows = self.store().values(&storage_keys(&scopes), None).await?;
        let reveal = reveal && reveals(ctx);
        self.inner
            .registry
            .all()
            .map(|def| {
                let own: Vec<ValueRow> =
                    rows.iter().filter(|r| r.key == def.key).cloned().collect();
                self.resolved(def, &scopes, &own, reveal)
            })
            .collect()
    }

    /// The value of `def` from the nearest of `scopes` that sets it, else its default.
    fn resolved(
        &self,
        def: &SettingDef,
        scopes: &[Scope],
        rows: &[ValueRow],
        reveal: bool,
    ) -> Result<Resolved> {
        for scope in scopes.iter().filter(|s| def.scopes.contains(&s.kind())) {
            let storage = scope.storage_key();
            let Some(row) = rows.iter().find(|r| r.scope == storage) else {
                continue;
            };
            let (value, masked) = shown(
                &self.inner.sealer,
                &row.scope,
                &row.key,
                row.value.as_deref(),
                row.sealed.as_deref(),
                reveal,
            )?;
            let Some(value) = value else { continue };
            return Ok(Resolved {
                key: def.key.to_owned(),
                value,
                from: scope.kind().into(),
                version: version_of(row.version),
                masked,
            });
        }
        Ok(Resolved {
            key: def.key.to_owned(),
            value: def.default.to_json(),
            from: Origin::Default,
            version: 0,
            masked: false,
        })
    }

    pub(super) async fn do_history(
        &self,
        ctx: &AuthContext,
        scope: Scope,
        key: &str,
        limit: u32,
    ) -> Result<Vec<super::Change>> {
        may_read(ctx, &scope)?;
        let def = self.inner.registry.get(key)?;
        let limit = match limit {
            0 => DEFAULT_HISTORY,
            n => n.min(MAX_HISTORY),
        };
        let rows = self
            .store()
            .history(&scope.storage_key(), def.key, i64::from(limit))
            .await?;
        let reveal = reveals(ctx);
        rows.iter().map(|row| self.change_of(row, reveal)).collect()
    }

    pub(super) async fn do_list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        match scope {
            _ if ctx.platform_admin || ctx.principal == Principal::System => {}
            EventScope::Tenant(tenant) => ctx.require_tenant_role(tenant, Role::Admin)?,
            _ => ctx.require_platform_admin()?,
        }
        self.inner.events.read(scope, after_seq, limit).await
    }
}

fn storage_keys(scopes: &[Scope]) -> Vec<String> {
    scopes.iter().map(Scope::storage_key).collect()
}
