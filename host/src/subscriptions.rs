//! The host's side of the app hub: the runtime installations behind tenants' subscriptions,
//! and the catalogue entries of uploaded plugin versions.
//!
//! - [`HostInstaller`] implements the subscription saga's [`Installer`] over the [`Registry`]:
//!   the installation id of a saga run is chosen once and kept in `saga_installations`, so a
//!   replayed `install` finds the installation it made and a compensation can remove it.
//! - [`record_upload`] tells the app hub about an uploaded version, creating a public listing
//!   from the manifest the first time a name is seen; [`sync_catalogue`] does it for every
//!   stored version at start-up, so versions uploaded while the hub was away are not lost.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use nave_app::saga::{InstallRequest, Installer};
use nave_app::{AppApi, AppRole, NewListing, NewVersion};
use nave_hub_core::{AuthContext, Error as HubError, Precondition, Result as HubResult};
use uuid::Uuid;

use crate::error::Error;
use crate::registry::{NewInstallation, Registry};
use crate::store::{PluginVersion, Store};

/// Who publishes the listings the host creates for the platform admin's uploads.
const PLATFORM_PUBLISHER: &str = "nave";

/// The [`Installer`] of the subscription saga, over this host's plugin registry.
pub struct HostInstaller {
    /// Installations and the spokes they run.
    pub registry: Arc<Registry>,
    /// Where each saga run's installation id is kept.
    pub store: Store,
}

#[async_trait]
impl Installer for HostInstaller {
    #[tracing::instrument(skip_all, fields(run = %request.run_id, tenant = %request.tenant_id, app = %request.app_name, correlation_id = %request.correlation_id))]
    async fn install(&self, request: InstallRequest) -> HubResult<Uuid> {
        let id = self
            .store
            .run_installation(request.run_id, Uuid::now_v7())
            .await
            .map_err(HubError::internal)?;
        if self.registry.installation(id).is_some() {
            return Ok(id);
        }
        let new = NewInstallation {
            plugin: request.app_name,
            version: Some(request.version),
            settings: settings_of(request.settings)?,
            allowed_hosts: request.allowed_hosts,
            deadline_ms: request.deadline_ms,
            memory_mib: request.memory_mib,
        };
        let tenant = request.tenant_id.to_string();
        self.registry
            .install_as(id, &tenant, new, &request.correlation_id)
            .await
            .map_err(hub_error)?;
        Ok(id)
    }

    async fn installation_of(&self, run_id: Uuid) -> HubResult<Option<Uuid>> {
        self.store
            .installation_of_run(run_id)
            .await
            .map_err(HubError::internal)
    }

    async fn remove(&self, installation: Uuid) -> HubResult<()> {
        let Some(found) = self.registry.installation(installation) else {
            return Ok(());
        };
        let correlation_id = Uuid::now_v7().to_string();
        match self
            .registry
            .remove(&found.record.tenant, installation, &correlation_id)
            .await
        {
            Ok(Some(uninstall_error)) => {
                tracing::warn!(%installation, %uninstall_error, "the spoke's uninstall() failed; the installation is removed anyway");
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(Error::Client {
                code: "installation_not_found",
                ..
            }) => Ok(()),
            Err(err) => Err(hub_error(err)),
        }
    }
}

/// The subscription's settings as the registry takes them: an object of strings.
fn settings_of(value: serde_json::Value) -> HubResult<BTreeMap<String, String>> {
    match value {
        serde_json::Value::Null => Ok(BTreeMap::new()),
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => Ok((name, text)),
                _ => Err(HubError::invalid(
                    format!("settings.{name}"),
                    "setting values are strings",
                )),
            })
            .collect(),
        _ => Err(HubError::invalid(
            "settings",
            "an object of setting names to string values",
        )),
    }
}

/// A registry error as the saga reports it: what the client must fix becomes a failed
/// precondition carrying the registry's code (`missing_settings`, `install_refused`,
/// `invalid_host`, `invalid_limit`, `plugin_not_found`...), so the subscription answers 409
/// with that reason after everything was undone.
fn hub_error(err: Error) -> HubError {
    match err {
        Error::Client { code, message, .. } => HubError::FailedPrecondition {
            message: format!("the app could not be installed: {message}"),
            reasons: vec![Precondition {
                code: code.to_owned(),
                message,
            }],
        },
        Error::Spoke { kind, message } => HubError::failed_precondition(
            "install_failed",
            format!("the spoke's install() failed ({kind}): {message}"),
        ),
        Error::Hub(err) => err,
        Error::Internal(err) => HubError::internal_msg(format!("{err:#}")),
    }
}

/// Records an uploaded version on the app hub, listing the app publicly the first time its
/// name is seen. `uploader` is who uploaded it (the platform admin, or the host at start-up).
pub async fn record_upload(
    app: &dyn AppApi,
    uploader: &AuthContext,
    plugin: &PluginVersion,
) -> HubResult<()> {
    let ctx = AuthContext::system().with_correlation_id(uploader.correlation_id.clone());
    let role = AppRole::parse("role", plugin.manifest.role.as_str())?;
    let listing = match app.find_listing(&ctx, None, &plugin.name).await {
        Ok(listing) => listing,
        Err(HubError::NotFound(_)) => {
            let description: String = plugin.manifest.description.chars().take(2000).collect();
            let new = NewListing {
                name: plugin.name.clone(),
                display_name: plugin.name.clone(),
                description,
                publisher: PLATFORM_PUBLISHER.into(),
                role,
                icon_url: None,
                install_fee: 0,
                currency: None,
                owner_tenant_id: None,
            };
            match app.create_listing(&ctx, new).await {
                Ok(listing) => listing,
                // Another replica listed it meanwhile.
                Err(HubError::Conflict(_)) => app.find_listing(&ctx, None, &plugin.name).await?,
                Err(err) => return Err(err),
            }
        }
        Err(err) => return Err(err),
    };
    let sha256 = plugin
        .digest
        .strip_prefix("sha256:")
        .unwrap_or(&plugin.digest)
        .to_owned();
    app.record_version(
        &ctx,
        listing.id,
        NewVersion {
            version: plugin.version.clone(),
            sha256,
            role,
            uploaded_by: uploader.actor(),
        },
    )
    .await?;
    Ok(())
}

/// Records every stored plugin version on the app hub (idempotent); failures are logged, so
/// a hub that is away does not keep the host from starting.
pub async fn sync_catalogue(app: Arc<dyn AppApi>, registry: Arc<Registry>) {
    let versions = match registry.versions(None).await {
        Ok(versions) => versions,
        Err(err) => {
            tracing::warn!(error = %err, "listing plugin versions for the app catalogue failed");
            return;
        }
    };
    let host = AuthContext::system();
    for plugin in versions {
        if let Err(err) = record_upload(app.as_ref(), &host, &plugin).await {
            tracing::warn!(name = %plugin.name, version = %plugin.version, error = %err, code = err.code(), "recording a plugin version in the app catalogue failed");
        }
    }
}
