//! Writes: set, unset and rollback. Each is one store write (a new version) followed by its
//! change notice, both under the hub's write lock so notices leave in version order.

use nave_hub_core::{AuthContext, Error, NewEvent, Result};
use serde_json::json;

use super::{LocalConfig, may_write, may_write_setting, notice_of, reveals};
use crate::registry::{Registry, SettingDef};
use crate::store::{ChangeRow, Write};
use crate::types::{Change, ChangeAction, Scope};

impl LocalConfig {
    pub(super) async fn do_set(
        &self,
        ctx: &AuthContext,
        scope: Scope,
        key: &str,
        value: serde_json::Value,
        expected_version: Option<u64>,
    ) -> Result<Change> {
        may_write(ctx, &scope)?;
        let def = *self.inner.registry.get(key)?;
        may_write_setting(ctx, &scope, &def)?;
        Registry::check(&def, scope.kind(), &value)?;
        let (plain, sealed) = match (&value, def.is_secret()) {
            (serde_json::Value::String(clear), true) => (
                None,
                Some(
                    self.inner
                        .sealer
                        .seal(&scope.storage_key(), def.key, clear)?,
                ),
            ),
            _ => (Some(value.to_string()), None),
        };
        let mut payload = event_payload(&def, &scope);
        payload["value"] = if def.is_secret() {
            json!(null)
        } else {
            value.clone()
        };
        let write = Write {
            scope,
            key: def.key.to_owned(),
            action: ChangeAction::Set,
            value: plain,
            sealed,
            rolled_back_to: None,
            expected_version,
            must_be_set: false,
            now_ms: self.now_ms(),
            event: event(&scope, "config.set", payload),
        };
        self.write(ctx, write).await
    }

    pub(super) async fn do_unset(
        &self,
        ctx: &AuthContext,
        scope: Scope,
        key: &str,
    ) -> Result<Change> {
        may_write(ctx, &scope)?;
        let def = *self.inner.registry.get(key)?;
        may_write_setting(ctx, &scope, &def)?;
        Registry::check_scope(&def, scope.kind())?;
        let write = Write {
            scope,
            key: def.key.to_owned(),
            action: ChangeAction::Unset,
            value: None,
            sealed: None,
            rolled_back_to: None,
            expected_version: None,
            must_be_set: true,
            now_ms: self.now_ms(),
            event: event(&scope, "config.unset", event_payload(&def, &scope)),
        };
        self.write(ctx, write).await
    }

    pub(super) async fn do_rollback(
        &self,
        ctx: &AuthContext,
        scope: Scope,
        key: &str,
        to_version: u64,
    ) -> Result<Change> {
        may_write(ctx, &scope)?;
        let def = *self.inner.registry.get(key)?;
        may_write_setting(ctx, &scope, &def)?;
        Registry::check_scope(&def, scope.kind())?;
        let target = self.target(&def, &scope, to_version).await?;
        if let Some(text) = &target.value {
            // The setting's range may have narrowed since; restore only what is valid now.
            let value: serde_json::Value = serde_json::from_str(text).map_err(Error::internal)?;
            Registry::check(&def, scope.kind(), &value).map_err(|e| {
                Error::invalid(
                    "to_version",
                    format!("the value of version {to_version} is no longer valid: {e}"),
                )
            })?;
        }
        let mut payload = event_payload(&def, &scope);
        payload["to_version"] = json!(to_version);
        let write = Write {
            scope,
            key: def.key.to_owned(),
            action: ChangeAction::Rollback,
            value: target.value,
            // The scope and key are the sealing's associated data, so the sealed bytes move
            // unchanged.
            sealed: target.sealed,
            rolled_back_to: Some(target.version),
            expected_version: None,
            must_be_set: false,
            now_ms: self.now_ms(),
            event: event(&scope, "config.rolled_back", payload),
        };
        self.write(ctx, write).await
    }

    /// The change a rollback restores: a version of this setting at this scope.
    async fn target(&self, def: &SettingDef, scope: &Scope, to_version: u64) -> Result<ChangeRow> {
        let missing = || {
            Error::not_found(format!(
                "version {to_version} is not a change of `{}` at {scope}; pick one from its history",
                def.key
            ))
        };
        let stored = i64::try_from(to_version).map_err(|_| missing())?;
        match self.store().change(stored).await? {
            Some(row) if row.key == def.key && row.scope == scope.storage_key() => Ok(row),
            _ => Err(missing()),
        }
    }

    /// Rebuilds what is set now at every scope from the log of changes, as if every change were
    /// made again in version order; returns how many (scope, setting) rows it rebuilt.
    ///
    /// The current values are a projection of the changes: this is how to recover them after
    /// they were lost or damaged (a restored backup of only the log, a bad manual edit). It
    /// sends no notices — nothing changed for watchers.
    pub async fn rebuild_projection(&self) -> Result<u64> {
        let _order = self.inner.write_lock.lock().await;
        let rebuilt = self.store().rebuild_values().await?;
        tracing::info!(rebuilt, "config values rebuilt from the change log");
        Ok(rebuilt)
    }

    /// Records the write and sends its notice, in version order.
    async fn write(&self, ctx: &AuthContext, write: Write) -> Result<Change> {
        let _order = self.inner.write_lock.lock().await;
        let row = self.store().write(ctx, &write).await?;
        // No receivers is not an error: nobody is watching.
        let _ = self.inner.notices.send(notice_of(&row)?);
        drop(_order);
        self.change_of(&row, reveals(ctx))
    }
}

/// What every config event says: the setting, the scope, whether it is a secret. Never a
/// secret's value.
fn event_payload(def: &SettingDef, scope: &Scope) -> serde_json::Value {
    json!({
        "key": def.key,
        "scope": scope.storage_key(),
        "secret": def.is_secret(),
    })
}

fn event(scope: &Scope, kind: &'static str, payload: serde_json::Value) -> NewEvent {
    let event = NewEvent::new(kind, payload);
    match scope.tenant_id() {
        Some(tenant) => event.in_tenant(tenant),
        None => event,
    }
}
