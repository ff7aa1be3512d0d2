//! The plugin registry and the installations of spokes by tenants.
//!
//! Uploading validates a component fully before keeping it: real wasm, a component rather
//! than a core module, one of the nave worlds, imports the host provides, a `describe()` that
//! returns in time with a valid manifest. Installations pin a version; changing the version
//! swaps one `Arc` so calls already running finish on the version they started with and the
//! next call uses the new one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::live::LiveSettings;
use crate::runtime::{
    CallContext, CallError, FailureKind, HostPattern, LoadError, LoadedSpoke, Manifest, Runtime,
    WarmPool,
};
use crate::secrets::SecretBox;
use crate::store::{InstallationRecord, PluginVersion, Store, now};

/// A tenant's installation of a spoke version, ready to call.
pub struct Installation {
    /// The stored record (secrets sealed).
    pub record: InstallationRecord,
    /// The pinned version's manifest.
    pub manifest: Manifest,
    /// The pinned version, compiled.
    pub spoke: Arc<LoadedSpoke>,
    /// Everything a call needs but its correlation id and limits.
    context: CallContext,
    /// The instances its calls keep between them, alive for as long as this state of the
    /// installation; `context` holds a weak reference to it.
    _warm: Arc<WarmPool>,
    /// Where the call's deadline and memory cap come from, read afresh for every call.
    live: Arc<LiveSettings>,
}

impl Installation {
    /// The context of one call for this installation, with the deadline and memory cap in
    /// force now (see [`crate::live`]).
    pub fn call_context(&self, correlation_id: &str) -> CallContext {
        let (deadline, memory_bytes) = self.live.call_limits(&self.record);
        CallContext {
            correlation_id: correlation_id.to_owned(),
            deadline,
            memory_bytes,
            ..self.context.clone()
        }
    }

    /// The installation as clients see it: secret values left out.
    pub fn view(&self) -> InstallationView {
        let record = &self.record;
        let (deadline, memory_bytes) = self.live.call_limits(record);
        let secret = |name: &str| self.manifest.setting(name).is_some_and(|s| s.secret);
        InstallationView {
            id: record.id,
            tenant: record.tenant.clone(),
            plugin: record.plugin.clone(),
            version: record.version.clone(),
            role: self.manifest.role.as_str(),
            settings: record
                .settings
                .iter()
                .filter(|(name, _)| !secret(name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            secrets_set: record
                .settings
                .keys()
                .filter(|name| secret(name))
                .cloned()
                .collect(),
            allowed_hosts: record.allowed_hosts.clone(),
            deadline_ms: deadline.as_millis() as u64,
            memory_mib: memory_bytes >> 20,
            webhook_path: format!("/hooks/{}", record.id),
            created_at: record.created_at.clone(),
            updated_at: record.updated_at.clone(),
        }
    }
}

/// An installation as the API returns it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstallationView {
    /// Its id.
    pub id: Uuid,
    /// The owning tenant.
    pub tenant: String,
    /// The plugin's name.
    pub plugin: String,
    /// The pinned version.
    pub version: String,
    /// The plugin's role.
    pub role: &'static str,
    /// Settings that are not secret.
    pub settings: BTreeMap<String, String>,
    /// Names of the secret settings that have a value; the values are never returned.
    pub secrets_set: Vec<String>,
    /// Hosts granted for outbound calls.
    pub allowed_hosts: Vec<String>,
    /// The call deadline in force (the config hub's `spoke.deadline_ms` may change it).
    pub deadline_ms: u64,
    /// The memory cap in force (the config hub's `spoke.memory_mib` may change it).
    pub memory_mib: u64,
    /// Where the channel posts its webhooks.
    pub webhook_path: String,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

/// A request to install a spoke.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInstallation {
    /// The plugin's name.
    pub plugin: String,
    /// The version to pin; the highest uploaded when absent.
    pub version: Option<String>,
    /// Setting values by name.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Hosts granted for outbound calls.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// A call deadline other than the operator's default.
    pub deadline_ms: Option<u64>,
    /// A memory cap other than the operator's default.
    pub memory_mib: Option<u64>,
}

/// A change to an installation; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallationChange {
    /// Upgrade or roll back to this version.
    pub version: Option<String>,
    /// Settings to set (a `null` value removes one).
    #[serde(default)]
    pub settings: BTreeMap<String, Option<String>>,
    /// Replaces the granted hosts.
    pub allowed_hosts: Option<Vec<String>>,
    /// Replaces the deadline override.
    pub deadline_ms: Option<u64>,
    /// Replaces the memory override.
    pub memory_mib: Option<u64>,
}

/// The registry of plugin versions and installations of one host.
pub struct Registry {
    store: Store,
    runtime: Arc<Runtime>,
    secrets: SecretBox,
    /// The config hub's limits, for every installation's calls.
    live: Arc<LiveSettings>,
    /// Compiled spokes by digest, loaded on first use.
    spokes: Mutex<HashMap<String, Arc<LoadedSpoke>>>,
    /// Installations by id; replaced whole on every change.
    installations: RwLock<HashMap<Uuid, Arc<Installation>>>,
}

impl Registry {
    /// A registry over the store, loading every installation (and the spokes they pin).
    pub async fn open(
        store: Store,
        runtime: Arc<Runtime>,
        secrets: SecretBox,
        live: Arc<LiveSettings>,
    ) -> anyhow::Result<Registry> {
        let registry = Registry {
            store,
            runtime,
            secrets,
            live,
            spokes: Mutex::default(),
            installations: RwLock::default(),
        };
        // One installation that no longer loads (its component, its sealed settings) must not
        // keep every other tenant offline: it is logged and left out until fixed.
        for record in registry.store.installations().await? {
            let (id, tenant) = (record.id, record.tenant.clone());
            match registry.build(record).await {
                Ok(installation) => {
                    registry.put(installation);
                }
                Err(err) => {
                    tracing::error!(%id, %tenant, error = %err, "installation does not load; it is offline")
                }
            }
        }
        Ok(registry)
    }

    // --- plugins -------------------------------------------------------------------------

    /// Validates, compiles and stores an uploaded component; `true` when it is new.
    pub async fn upload(
        &self,
        wasm: Vec<u8>,
        correlation_id: &str,
    ) -> Result<(PluginVersion, bool)> {
        let max = self.runtime.limits().max_plugin_bytes;
        if wasm.len() > max {
            return Err(Error::client(
                StatusCode::PAYLOAD_TOO_LARGE,
                "plugin_too_large",
                format!("the component is {} bytes; the limit is {max}", wasm.len()),
            ));
        }
        if wasmparser::Parser::is_core_wasm(&wasm) {
            return Err(Error::unprocessable(
                "core_module_not_component",
                "this is a core WebAssembly module, not a component: build for the wasm32-wasip2 target \
                 (or wrap it with `wasm-tools component new`)",
            ));
        }
        if !wasmparser::Parser::is_component(&wasm) {
            return Err(Error::unprocessable(
                "not_wasm",
                "the body is not a WebAssembly component (it does not start with the wasm header)",
            ));
        }
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&wasm)));
        if let Some(existing) = self.store.plugin_by_digest(&digest).await? {
            return Ok((existing, false));
        }

        let runtime = self.runtime.clone();
        let digest_for_load = digest.clone();
        let wasm = Arc::new(wasm);
        let bytes = wasm.clone();
        let (spoke, _) =
            tokio::task::spawn_blocking(move || runtime.load(&digest_for_load, &bytes))
                .await
                .context("compiling the component")?
                .map_err(|err| match err {
                    LoadError::Invalid(message) => {
                        Error::unprocessable("invalid_component", message)
                    }
                    LoadError::UnknownWorld => {
                        Error::unprocessable("unknown_world", err.to_string())
                    }
                    LoadError::UnsupportedImports(_) => {
                        Error::unprocessable("unsupported_imports", err.to_string())
                    }
                    LoadError::Internal(err) => Error::Internal(err),
                })?;

        let ctx = CallContext::detached("(upload)", "", &self.runtime, correlation_id);
        let manifest = match self.runtime.describe(&spoke, &ctx).await {
            Ok(manifest) => manifest,
            Err(CallError::Failed {
                kind: FailureKind::Timeout,
                ..
            }) => {
                return Err(Error::unprocessable(
                    "describe_timeout",
                    format!("describe() did not return within {:?}", ctx.deadline),
                ));
            }
            Err(err) => {
                return Err(Error::unprocessable(
                    "describe_failed",
                    format!("describe() failed: {err}"),
                ));
            }
        };
        manifest
            .validate()
            .map_err(|message| Error::unprocessable("invalid_manifest", message))?;
        if manifest.role != spoke.role {
            return Err(Error::unprocessable(
                "invalid_manifest",
                format!(
                    "describe() says role {} but the component exports the {} world",
                    manifest.role, spoke.role
                ),
            ));
        }
        for entry in &manifest.allowed_hosts {
            check_declared_host(entry, &manifest)
                .map_err(|message| Error::unprocessable("invalid_manifest", message))?;
        }

        let plugin = PluginVersion {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            role: manifest.role.as_str().to_owned(),
            digest: digest.clone(),
            size: wasm.len() as i64,
            manifest,
            created_at: now(),
        };
        if !self.store.insert_plugin_version(&plugin, &wasm).await? {
            // The digest was new, so the same name and version holds other bytes.
            if let Some(raced) = self.store.plugin_by_digest(&digest).await? {
                return Ok((raced, false));
            }
            return Err(Error::client(
                StatusCode::CONFLICT,
                "version_exists",
                format!(
                    "{} {} was already uploaded with other bytes; bump the version in describe()",
                    plugin.name, plugin.version
                ),
            ));
        }
        self.spokes
            .lock()
            .expect("spokes lock")
            .insert(digest, Arc::new(spoke));
        tracing::info!(name = %plugin.name, version = %plugin.version, digest = %plugin.digest, "plugin uploaded");
        Ok((plugin, true))
    }

    /// The compiled spoke for a digest, compiled or read from the cache on first use.
    async fn spoke(&self, digest: &str) -> Result<Arc<LoadedSpoke>> {
        if let Some(spoke) = self.spokes.lock().expect("spokes lock").get(digest) {
            return Ok(spoke.clone());
        }
        let wasm = self
            .store
            .plugin_wasm(digest)
            .await?
            .with_context(|| format!("plugin bytes of {digest} are missing"))?;
        let runtime = self.runtime.clone();
        let key = digest.to_owned();
        let (spoke, _) = tokio::task::spawn_blocking(move || runtime.load(&key, &wasm))
            .await
            .context("loading a stored component")?
            .map_err(|err| anyhow::anyhow!("stored component {digest} no longer loads: {err}"))?;
        let spoke = Arc::new(spoke);
        self.spokes
            .lock()
            .expect("spokes lock")
            .insert(digest.to_owned(), spoke.clone());
        Ok(spoke)
    }

    /// Every plugin version, optionally of one name.
    pub async fn versions(&self, name: Option<&str>) -> Result<Vec<PluginVersion>> {
        Ok(self.store.plugin_versions(name).await?)
    }

    async fn plugin_version(&self, name: &str, version: Option<&str>) -> Result<PluginVersion> {
        let found = match version {
            Some(version) => self.store.plugin_version(name, version).await?,
            None => self
                .store
                .plugin_versions(Some(name))
                .await?
                .into_iter()
                .max_by(|a, b| semver_key(&a.version).cmp(&semver_key(&b.version))),
        };
        found.ok_or_else(|| match version {
            Some(version) => Error::not_found(
                "plugin_not_found",
                format!(
                    "no plugin {name} version {version}; GET /v1/plugins/{name}/versions lists them"
                ),
            ),
            None => Error::not_found(
                "plugin_not_found",
                format!("no plugin named {name}; upload it first"),
            ),
        })
    }

    // --- installations -------------------------------------------------------------------

    /// The installation with this id.
    pub fn installation(&self, id: Uuid) -> Option<Arc<Installation>> {
        self.installations
            .read()
            .expect("installations lock")
            .get(&id)
            .cloned()
    }

    /// The installation with this id, if `tenant` owns it.
    pub fn tenant_installation(&self, tenant: &str, id: Uuid) -> Result<Arc<Installation>> {
        self.installation(id)
            .filter(|i| i.record.tenant == tenant)
            .ok_or_else(|| {
                Error::not_found(
                    "installation_not_found",
                    format!("tenant {tenant} has no installation {id}"),
                )
            })
    }

    /// The installations of a tenant, oldest first.
    pub fn tenant_installations(&self, tenant: &str) -> Vec<Arc<Installation>> {
        let mut list: Vec<_> = self
            .installations
            .read()
            .expect("installations lock")
            .values()
            .filter(|i| i.record.tenant == tenant)
            .cloned()
            .collect();
        list.sort_by(|a, b| {
            a.record
                .created_at
                .cmp(&b.record.created_at)
                .then(a.record.id.cmp(&b.record.id))
        });
        list
    }

    fn put(&self, installation: Installation) -> Arc<Installation> {
        let installation = Arc::new(installation);
        self.installations
            .write()
            .expect("installations lock")
            .insert(installation.record.id, installation.clone());
        installation
    }

    /// Installs a spoke for a tenant: validates, runs `install()`, then stores it.
    pub async fn install(
        &self,
        tenant: &str,
        new: NewInstallation,
        correlation_id: &str,
    ) -> Result<Arc<Installation>> {
        self.install_as(Uuid::now_v7(), tenant, new, correlation_id)
            .await
    }

    /// Like [`Registry::install`], under an id the caller chose (the subscription saga keys it
    /// on its run, so a replay finds it).
    pub async fn install_as(
        &self,
        id: Uuid,
        tenant: &str,
        new: NewInstallation,
        correlation_id: &str,
    ) -> Result<Arc<Installation>> {
        let plugin = self
            .plugin_version(&new.plugin, new.version.as_deref())
            .await?;
        let stamp = now();
        let settings = self.seal_settings(&plugin.manifest, new.settings)?;
        let record = InstallationRecord {
            id,
            tenant: tenant.to_owned(),
            plugin: plugin.name.clone(),
            version: plugin.version.clone(),
            settings,
            allowed_hosts: new.allowed_hosts,
            deadline_ms: new.deadline_ms,
            memory_mib: new.memory_mib,
            created_at: stamp.clone(),
            updated_at: stamp,
        };
        let installation = self.build(record).await?;
        let ctx = installation.call_context(correlation_id);
        if let Err(err) = self.runtime.install(&installation.spoke, &ctx).await {
            // install() may have written kv entries under the id that will not exist.
            let _ = self.store.delete_installation(installation.record.id).await;
            return Err(hook_error("install", err));
        }
        self.store.save_installation(&installation.record).await?;
        tracing::info!(%tenant, id = %installation.record.id, plugin = %plugin.name, version = %plugin.version, "spoke installed");
        Ok(self.put(installation))
    }

    /// Changes an installation; a new version takes effect for the next call.
    pub async fn update(
        &self,
        tenant: &str,
        id: Uuid,
        change: InstallationChange,
    ) -> Result<Arc<Installation>> {
        let current = self.tenant_installation(tenant, id)?;
        let mut record = current.record.clone();
        let target = self
            .plugin_version(
                &record.plugin,
                Some(change.version.as_deref().unwrap_or(&record.version)),
            )
            .await?;
        let mut plain = self.open_settings(&record)?;
        for (name, value) in change.settings {
            match value {
                Some(value) => plain.insert(name, value),
                None => plain.remove(&name),
            };
        }
        record.settings = self.seal_settings(&target.manifest, plain)?;
        record.version = target.version.clone();
        if let Some(hosts) = change.allowed_hosts {
            record.allowed_hosts = hosts;
        }
        if change.deadline_ms.is_some() {
            record.deadline_ms = change.deadline_ms;
        }
        if change.memory_mib.is_some() {
            record.memory_mib = change.memory_mib;
        }
        record.updated_at = now();
        let installation = self.build(record).await?;
        self.store.save_installation(&installation.record).await?;
        tracing::info!(%tenant, %id, from = %current.record.version, to = %installation.record.version, "installation changed");
        Ok(self.put(installation))
    }

    /// Runs `uninstall()` and removes the installation; the spoke's error, if any, is returned
    /// for the record but does not keep the installation.
    pub async fn remove(
        &self,
        tenant: &str,
        id: Uuid,
        correlation_id: &str,
    ) -> Result<Option<String>> {
        let installation = self.tenant_installation(tenant, id)?;
        let ctx = installation.call_context(correlation_id);
        let hook = self
            .runtime
            .uninstall(&installation.spoke, &ctx)
            .await
            .err()
            .map(|err| err.to_string());
        self.store.delete_installation(id).await?;
        self.installations
            .write()
            .expect("installations lock")
            .remove(&id);
        tracing::info!(%tenant, %id, uninstall_error = ?hook, "installation removed");
        Ok(hook)
    }

    /// Checks settings against the manifest and seals the secret ones.
    fn seal_settings(
        &self,
        manifest: &Manifest,
        settings: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        let unknown: Vec<&String> = settings
            .keys()
            .filter(|k| manifest.setting(k).is_none())
            .collect();
        if !unknown.is_empty() {
            let known: Vec<&str> = manifest.settings.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::unprocessable(
                "unknown_settings",
                format!(
                    "{} does not take the settings {unknown:?}; it takes {known:?}",
                    manifest.name
                ),
            )
            .with_details(json!({ "unknown": unknown, "known": known })));
        }
        let missing: Vec<&str> = manifest
            .settings
            .iter()
            .filter(|s| s.required && s.default_value.is_none() && !settings.contains_key(&s.name))
            .map(|s| s.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(Error::unprocessable(
                "missing_settings",
                format!(
                    "{} {} needs the settings {missing:?}",
                    manifest.name, manifest.version
                ),
            )
            .with_details(json!({ "missing": missing })));
        }
        Ok(settings
            .into_iter()
            .map(|(name, value)| {
                let secret = manifest.setting(&name).is_some_and(|s| s.secret);
                let value = if secret {
                    self.secrets.seal(&value)
                } else {
                    value
                };
                (name, value)
            })
            .collect())
    }

    fn open_settings(&self, record: &InstallationRecord) -> Result<BTreeMap<String, String>> {
        record
            .settings
            .iter()
            .map(|(name, value)| {
                let value = if value.starts_with("sealed:") {
                    self.secrets.open(value).with_context(|| {
                        format!("opening setting {name} of installation {}", record.id)
                    })?
                } else {
                    value.clone()
                };
                Ok((name.clone(), value))
            })
            .collect()
    }

    /// Resolves a record into a callable installation, checking hosts and limits.
    async fn build(&self, record: InstallationRecord) -> Result<Installation> {
        let plugin = self
            .plugin_version(&record.plugin, Some(&record.version))
            .await?;
        let manifest = plugin.manifest;
        let spoke = self.spoke(&plugin.digest).await?;
        let mut settings = self.open_settings(&record)?;
        for spec in &manifest.settings {
            if let (Some(default), false) = (&spec.default_value, settings.contains_key(&spec.name))
            {
                settings.insert(spec.name.clone(), default.clone());
            }
        }
        let granted = record
            .allowed_hosts
            .iter()
            .map(|h| HostPattern::parse(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| Error::unprocessable("invalid_host", message))?;
        let declared = declared_hosts(&manifest, &settings)?;
        let defaults = self.runtime.defaults();
        let limits = self.runtime.limits();
        let deadline = match record.deadline_ms {
            Some(ms) if ms == 0 || ms > limits.max_spoke_deadline_ms => {
                return Err(Error::unprocessable(
                    "invalid_limit",
                    format!(
                        "deadline_ms must be between 1 and {}",
                        limits.max_spoke_deadline_ms
                    ),
                ));
            }
            Some(ms) => std::time::Duration::from_millis(ms),
            None => defaults.deadline,
        };
        let memory_bytes = match record.memory_mib {
            Some(mib) if mib == 0 || mib > limits.max_spoke_memory_mib => {
                return Err(Error::unprocessable(
                    "invalid_limit",
                    format!(
                        "memory_mib must be between 1 and {}",
                        limits.max_spoke_memory_mib
                    ),
                ));
            }
            Some(mib) => mib << 20,
            None => defaults.memory_bytes,
        };
        // A new pool for every new state of the installation: what an instance kept from calls
        // under the old settings, hosts or version is never seen under the new ones.
        let warm = self.runtime.warm_pool();
        let context = CallContext {
            tenant: record.tenant.clone(),
            installation: record.id,
            plugin: record.plugin.clone(),
            version: record.version.clone(),
            settings: Arc::new(settings),
            declared_hosts: declared.into(),
            granted_hosts: granted.into(),
            deadline,
            memory_bytes,
            correlation_id: String::new(),
            warm: Arc::downgrade(&warm),
        };
        Ok(Installation {
            record,
            manifest,
            spoke,
            context,
            _warm: warm,
            live: self.live.clone(),
        })
    }
}

/// Turns a failed `install()` or `uninstall()` into the client's error.
fn hook_error(hook: &str, err: CallError) -> Error {
    match err {
        CallError::Spoke(spoke_error) => Error::unprocessable(
            "install_refused",
            format!(
                "the spoke's {hook}() refused: {}",
                crate::api::describe_spoke_error(&spoke_error)
            ),
        )
        .with_details(json!({ "spoke_error": spoke_error })),
        CallError::Failed { kind, message } => Error::Spoke { kind, message },
    }
}

/// `{{ config.NAME }}` → `NAME`.
fn template_setting(entry: &str) -> Option<&str> {
    let inner = entry.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    inner.strip_prefix("config.").map(str::trim)
}

fn check_declared_host(entry: &str, manifest: &Manifest) -> Result<(), String> {
    match template_setting(entry) {
        Some(name) if manifest.setting(name).is_some() => Ok(()),
        Some(name) => Err(format!(
            "allowed host `{entry}` names the undeclared setting `{name}`"
        )),
        None => HostPattern::parse(entry).map(|_| ()),
    }
}

/// The hosts a spoke declared, templates resolved from the installation's settings.
fn declared_hosts(
    manifest: &Manifest,
    settings: &BTreeMap<String, String>,
) -> Result<Vec<HostPattern>> {
    let mut hosts = Vec::new();
    for entry in &manifest.allowed_hosts {
        let text = match template_setting(entry) {
            Some(name) => match settings.get(name) {
                Some(value) => value.as_str(),
                None => continue, // an unset optional setting grants nothing
            },
            None => entry.as_str(),
        };
        let pattern = HostPattern::parse(text).map_err(|message| {
            Error::unprocessable(
                "invalid_setting",
                format!("`{entry}` resolves to an unusable host: {message}"),
            )
        })?;
        hosts.push(pattern);
    }
    Ok(hosts)
}

/// Orders versions by their numeric `MAJOR.MINOR.PATCH`, pre-releases before releases.
fn semver_key(version: &str) -> (u64, u64, u64, bool) {
    let (core, pre) = match version.split_once('-') {
        Some((core, _)) => (core, true),
        None => (version.split('+').next().unwrap_or(version), false),
    };
    let mut parts = core.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        !pre,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_name_a_setting() {
        assert_eq!(
            template_setting("{{ config.graph_api_base }}"),
            Some("graph_api_base")
        );
        assert_eq!(template_setting("{{config.x}}"), Some("x"));
        assert_eq!(template_setting("graph.facebook.com"), None);
    }

    #[test]
    fn versions_order_numerically() {
        assert!(semver_key("1.10.0") > semver_key("1.9.0"));
        assert!(semver_key("2.0.0") > semver_key("2.0.0-rc.1"));
    }
}
