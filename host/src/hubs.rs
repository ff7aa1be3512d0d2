//! The hubs behind the gateway: each runs in this process over its own database, or is reached
//! over gRPC, as the config says. Callers hold an `Arc<dyn …Api>` either way.
//!
//! A local hub also serves gRPC when `grpc_listen` names it, so other processes (gateways,
//! other hubs) can use it: this is how one binary makes the scaled-out deployment.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use nave_app::{AppApi, AppConfig, LocalApp};
use nave_billing::{BillingApi, BillingConfig, LocalBilling};
use nave_config::{ConfigApi, ConfigConfig, LocalConfig};
use nave_hub_core::db::{Db, HubMigrations};
use nave_hub_core::grpc::ServiceToken;
use nave_hub_core::saga::SagaRunner;
use nave_hub_core::{Clock, DbConfig, SystemClock};
use nave_identity::{
    BootstrappedAdmin, IdentityApi, IdentityConfig, LocalIdentity, PasswordCost, SealKey,
};
use nave_tenant::{LocalTenant, TenantApi, TenantConfig};
use nave_user::{LocalUser, UserApi, UserConfig};
use nave_wallet::{LocalWallet, WalletApi, WalletConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

use crate::config::{Config, HubName};
use crate::secrets::SecretBox;

/// The hubs this host talks to.
pub struct Hubs {
    /// Accounts, sessions, tokens, API keys.
    pub identity: Arc<dyn IdentityApi>,
    /// Workspaces, members, roles.
    pub tenant: Arc<dyn TenantApi>,
    /// Profiles, preferences and contacts.
    pub user: Arc<dyn UserApi>,
    /// Plans, entitlements and usage.
    pub billing: Arc<dyn BillingApi>,
    /// Wallets and their ledger.
    pub wallet: Arc<dyn WalletApi>,
    /// The app catalogue and tenants' subscriptions.
    pub app: Arc<dyn AppApi>,
    /// Runtime settings scoped global → tenant → installation.
    pub config: Arc<dyn ConfigApi>,
    /// The config hub itself when it runs here (its in-process change notices), else `None`.
    pub local_config: Option<LocalConfig>,
    /// Where this process keeps the progress of subscription sagas: the app hub's database
    /// when it runs here, else `<data>/app-sagas.db` (the saga runs beside the installer).
    pub app_sagas: SagaRunner,
    /// The platform admin created by this start, with its generated password if any.
    pub bootstrapped_admin: Option<BootstrappedAdmin>,
    /// Where local hubs serve gRPC (the bound addresses, so port 0 works).
    pub grpc_addresses: Vec<(HubName, SocketAddr)>,
    servers: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for Hubs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hubs")
            .field("grpc_addresses", &self.grpc_addresses)
            .finish_non_exhaustive()
    }
}

impl Hubs {
    /// Opens the local hubs (migrating their databases), connects to the remote ones, creates the
    /// platform admin on first start and starts the gRPC servers of local hubs.
    pub async fn open(config: &Config, secrets: &SecretBox) -> anyhow::Result<Hubs> {
        let hubs = &config.hubs;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let token = ServiceToken::new(hubs.service_token.clone());
        let db = |hub: HubName| -> anyhow::Result<DbConfig> {
            match hubs.databases.get(&hub) {
                Some(url) => DbConfig::postgres_url(url)
                    .map_err(|e| anyhow::anyhow!("the {hub} hub's database: {e}")),
                None => Ok(DbConfig::sqlite_in(&config.data_dir, hub.as_str())),
            }
        };

        let mut bootstrapped_admin = None;
        let identity: Arc<dyn IdentityApi> = if hubs.is_local(HubName::Identity) {
            let identity_config = IdentityConfig {
                allow_signup: hubs.allow_signup,
                password_cost: if hubs.insecure_fast_password_hashing {
                    PasswordCost::InsecureFastForTests
                } else {
                    PasswordCost::Default
                },
                signing_key_seal: Some(SealKey::new(secrets.derive_key("identity signing keys"))),
                ..IdentityConfig::default()
            };
            let local =
                LocalIdentity::open(&db(HubName::Identity)?, identity_config, clock.clone())
                    .await
                    .context("opening the identity hub")?;
            bootstrapped_admin = local
                .bootstrap_admin(&hubs.admin_email, hubs.admin_password.clone())
                .await
                .context(
                    "creating the platform admin (check --admin-email and --admin-password)",
                )?;
            Arc::new(local)
        } else {
            Arc::new(nave_identity::grpc::IdentityClient::from_channel(
                channel(config, HubName::Identity)?,
                token.clone(),
            ))
        };
        let tenant: Arc<dyn TenantApi> = if hubs.is_local(HubName::Tenant) {
            Arc::new(
                LocalTenant::open(
                    &db(HubName::Tenant)?,
                    TenantConfig::default(),
                    clock.clone(),
                )
                .await
                .context("opening the tenant hub")?,
            )
        } else {
            Arc::new(nave_tenant::grpc::TenantClient::from_channel(
                channel(config, HubName::Tenant)?,
                token.clone(),
            ))
        };

        let user: Arc<dyn UserApi> = if hubs.is_local(HubName::User) {
            Arc::new(
                LocalUser::open(&db(HubName::User)?, UserConfig::default(), clock.clone())
                    .await
                    .context("opening the user hub")?,
            )
        } else {
            Arc::new(nave_user::grpc::UserClient::from_channel(
                channel(config, HubName::User)?,
                token.clone(),
            ))
        };

        let billing: Arc<dyn BillingApi> = if hubs.is_local(HubName::Billing) {
            Arc::new(
                LocalBilling::open(
                    &db(HubName::Billing)?,
                    BillingConfig::default(),
                    clock.clone(),
                )
                .await
                .context("opening the billing hub")?,
            )
        } else {
            Arc::new(nave_billing::grpc::BillingClient::from_channel(
                channel(config, HubName::Billing)?,
                token.clone(),
            ))
        };
        let wallet: Arc<dyn WalletApi> = if hubs.is_local(HubName::Wallet) {
            Arc::new(
                LocalWallet::open(
                    &db(HubName::Wallet)?,
                    WalletConfig::default(),
                    clock.clone(),
                )
                .await
                .context("opening the wallet hub")?,
            )
        } else {
            Arc::new(nave_wallet::grpc::WalletClient::from_channel(
                channel(config, HubName::Wallet)?,
                token.clone(),
            ))
        };

        let (app, app_sagas): (Arc<dyn AppApi>, SagaRunner) = if hubs.is_local(HubName::App) {
            let deps = nave_app::Dependencies {
                billing: billing.clone(),
                wallet: wallet.clone(),
            };
            let local = LocalApp::open(
                &db(HubName::App)?,
                AppConfig::default(),
                deps,
                clock.clone(),
            )
            .await
            .context("opening the app hub")?;
            let sagas = local.saga_runner();
            (Arc::new(local), sagas)
        } else {
            let sagas = Db::connect(
                &DbConfig::sqlite_in(&config.data_dir, "app-sagas"),
                NO_HUB_TABLES,
            )
            .await
            .context("opening the subscription sagas' database")?;
            (
                Arc::new(nave_app::grpc::AppClient::from_channel(
                    channel(config, HubName::App)?,
                    token.clone(),
                )),
                SagaRunner::new(sagas, clock.clone()),
            )
        };

        let (config_hub, local_config): (Arc<dyn ConfigApi>, Option<LocalConfig>) =
            if hubs.is_local(HubName::Config) {
                let config_config = ConfigConfig {
                    seal_key: Some(secrets.derive_key("config secrets")),
                    ..ConfigConfig::default()
                };
                let local = LocalConfig::open(&db(HubName::Config)?, config_config, clock.clone())
                    .await
                    .context("opening the config hub")?;
                (Arc::new(local.clone()), Some(local))
            } else {
                (
                    Arc::new(nave_config::grpc::ConfigClient::from_channel(
                        channel(config, HubName::Config)?,
                        token.clone(),
                    )),
                    None,
                )
            };

        let (stop, stopped) = watch::channel(false);
        let mut grpc_addresses = Vec::new();
        let mut servers = Vec::new();
        for (&hub, &addr) in &hubs.grpc_listen {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the {hub} hub's gRPC address {addr}"))?;
            grpc_addresses.push((hub, listener.local_addr()?));
            let mut stopped = stopped.clone();
            let shutdown = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            let token = token.clone();
            let served = match hub {
                HubName::Identity => tokio::spawn(nave_identity::grpc::serve(
                    listener,
                    identity.clone(),
                    token,
                    shutdown,
                )),
                HubName::Tenant => tokio::spawn(nave_tenant::grpc::serve(
                    listener,
                    tenant.clone(),
                    token,
                    shutdown,
                )),
                HubName::User => tokio::spawn(nave_user::grpc::serve(
                    listener,
                    user.clone(),
                    token,
                    shutdown,
                )),
                HubName::Billing => tokio::spawn(nave_billing::grpc::serve(
                    listener,
                    billing.clone(),
                    token,
                    shutdown,
                )),
                HubName::Wallet => tokio::spawn(nave_wallet::grpc::serve(
                    listener,
                    wallet.clone(),
                    token,
                    shutdown,
                )),
                HubName::App => tokio::spawn(nave_app::grpc::serve(
                    listener,
                    app.clone(),
                    token,
                    shutdown,
                )),
                HubName::Config => tokio::spawn(nave_config::grpc::serve(
                    listener,
                    config_hub.clone(),
                    token,
                    shutdown,
                )),
            };
            servers.push(supervise(hub.as_str(), served));
            tracing::info!(%hub, address = %addr, "serving the hub's gRPC API");
        }
        Ok(Hubs {
            identity,
            tenant,
            user,
            billing,
            wallet,
            app,
            config: config_hub,
            local_config,
            app_sagas,
            bootstrapped_admin,
            grpc_addresses,
            servers,
            stop,
        })
    }

    /// Runs one more hub's gRPC server beside those of [`Hubs::open`] (the message hub's, which
    /// starts later): `serve` gets the same shutdown signal, and [`Hubs::shutdown`] waits for it.
    pub fn serve_too<F>(
        &mut self,
        hub: &'static str,
        serve: impl FnOnce(Pin<Box<dyn Future<Output = ()> + Send>>) -> F,
    ) where
        F: Future<Output = nave_hub_core::Result<()>> + Send + 'static,
    {
        let mut stopped = self.stop.subscribe();
        let shutdown = Box::pin(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        });
        self.servers
            .push(supervise(hub, tokio::spawn(serve(shutdown))));
    }

    /// Stops the gRPC servers of local hubs, letting calls in flight finish.
    pub async fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        for server in self.servers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
    }
}

impl Drop for Hubs {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Logs how a hub's gRPC server task ended, if not cleanly.
fn supervise(hub: &'static str, served: JoinHandle<nave_hub_core::Result<()>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        match served.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(%hub, %err, "a hub's gRPC server failed"),
            Err(err) => tracing::error!(%hub, %err, "a hub's gRPC server panicked"),
        }
    })
}

/// No tables beyond the core ones (the event log and the saga runs): the subscription sagas'
/// own database when the app hub runs elsewhere.
const NO_HUB_TABLES: HubMigrations = HubMigrations {
    sqlite: &sqlx::migrate::Migrator::DEFAULT,
    postgres: &sqlx::migrate::Migrator::DEFAULT,
};

/// A channel to a remote hub that connects on first use and reconnects after failures, so
/// processes can start in any order.
fn channel(config: &Config, hub: HubName) -> anyhow::Result<Channel> {
    let url = config
        .hubs
        .remote
        .get(&hub)
        .with_context(|| format!("no URL for the {hub} hub"))?;
    let endpoint = Endpoint::from_shared(url.clone())
        .with_context(|| format!("the {hub} hub's URL `{url}` is not usable"))?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30));
    Ok(endpoint.connect_lazy())
}
