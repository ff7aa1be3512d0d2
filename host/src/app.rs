//! Wiring: opens the store, builds the runtime and the registry, and serves the router.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::hubs::Hubs;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::runtime::Runtime;
use crate::secrets::SecretBox;
use crate::store::Store;

/// Everything a running host shares between requests.
pub struct App {
    /// The resolved configuration.
    pub config: Config,
    /// The host database.
    pub store: Store,
    /// The spoke runtime.
    pub runtime: Arc<Runtime>,
    /// Plugins and installations.
    pub registry: Arc<Registry>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// The hubs (local or remote).
    pub hubs: Hubs,
    /// The config hub's values the host applies per call, kept current from its changes.
    pub live: Arc<crate::live::LiveSettings>,
    /// Each installation's webhook allowance (`ingress.rate_limit_per_minute`).
    pub throttle: crate::throttle::WebhookThrottle,
    /// Counts inbound messages on their senders' contacts, in batches.
    pub activity: nave_user::ActivityRecorder,
    /// The message hub: conversations, routing, the outbox.
    pub messages: Arc<dyn nave_message::MessageApi>,
    /// The message hub's engine, for its counters.
    pub message_engine: Arc<nave_message::Engine>,
    /// Where the message hub serves gRPC, when `[messages] grpc_listen` asks for it.
    pub message_grpc_address: Option<SocketAddr>,
    /// Wakes the inbox feeder after webhooks stored new events.
    pub inbox: crate::pipeline::InboxSignal,
    /// Subscribes tenants to apps (the subscription saga over the app and wallet hubs and
    /// this host's installer) and unsubscribes them.
    pub subscriber: nave_app::saga::Subscriber,
}

impl App {
    /// Opens everything under the data folder and loads the installations.
    pub async fn start(config: Config) -> anyhow::Result<Arc<App>> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating the data folder {}", config.data_dir.display()))?;
        let secrets = SecretBox::load(config.secret_key.as_deref(), &config.data_dir)?;
        let store = Store::open(&config.data_dir).await?;
        let metrics = Arc::new(Metrics::new());
        let mut hubs = Hubs::open(&config, &secrets).await?;
        let runtime = Arc::new(Runtime::new(
            &config,
            store.clone(),
            metrics.clone(),
            hubs.user.clone(),
        )?);
        let live = Arc::new(crate::live::LiveSettings::new(&config));
        live.follow(hubs.config.clone());
        if !live.caught_up().await {
            tracing::warn!(
                "the config hub's past changes did not arrive in time; starting with the defaults, \
                 changes apply as they arrive"
            );
        }
        let registry =
            Arc::new(Registry::open(store.clone(), runtime.clone(), secrets, live.clone()).await?);
        let installer = Arc::new(crate::subscriptions::HostInstaller {
            registry: registry.clone(),
            store: store.clone(),
        });
        let subscriber = nave_app::saga::Subscriber::new(
            hubs.app.clone(),
            hubs.wallet.clone(),
            installer,
            hubs.app_sagas.clone(),
        );
        // Runs a crash interrupted are finished or undone before new requests come in.
        for (run, outcome) in subscriber
            .resume()
            .await
            .context("resuming interrupted subscriptions")?
        {
            let completed = matches!(outcome, nave_hub_core::saga::SagaOutcome::Completed(_));
            tracing::info!(%run, completed, "resumed an interrupted subscription");
        }
        let local_messages = open_message_hub(&config, &hubs, &registry, &runtime, &live).await?;
        let message_engine = local_messages.engine().clone();
        let messages: Arc<dyn nave_message::MessageApi> = Arc::new(local_messages);
        let message_grpc_address = match config.messages.grpc_listen {
            Some(address) => {
                Some(serve_message_grpc(&config, &mut hubs, &messages, address).await?)
            }
            None => None,
        };
        let inbox = crate::pipeline::spawn_feeder(store.clone(), messages.clone());
        let app = Arc::new(App {
            config,
            store,
            runtime,
            registry,
            metrics,
            throttle: crate::throttle::WebhookThrottle::default(),
            activity: nave_user::ActivityRecorder::spawn(hubs.user.clone()),
            hubs,
            live,
            messages,
            message_engine,
            message_grpc_address,
            inbox,
            subscriber,
        });
        if let Some(dir) = app.config.plugins_dir.clone() {
            app.register_folder(&dir).await?;
        }
        // Versions uploaded while the app hub was away (or before it existed) get listed.
        tokio::spawn(crate::subscriptions::sync_catalogue(
            app.hubs.app.clone(),
            app.registry.clone(),
        ));
        Ok(app)
    }

    /// Uploads every `.wasm` file of a folder; already-known bytes are skipped.
    async fn register_folder(&self, dir: &Path) -> anyhow::Result<()> {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("reading the plugins folder {}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
            .collect();
        paths.sort();
        for path in paths {
            let wasm =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            match self.registry.upload(wasm, "startup").await {
                Ok((plugin, created)) => tracing::info!(
                    file = %path.display(), name = %plugin.name, version = %plugin.version, created,
                    "plugin registered from the plugins folder"
                ),
                Err(err) => {
                    anyhow::bail!("registering {}: {} ({})", path.display(), err, err.code())
                }
            }
        }
        Ok(())
    }
}

/// Opens the message hub beside the runtime it drives, and starts its engine.
async fn open_message_hub(
    config: &Config,
    hubs: &Hubs,
    registry: &Arc<Registry>,
    runtime: &Arc<Runtime>,
    live: &Arc<crate::live::LiveSettings>,
) -> anyhow::Result<nave_message::LocalMessages> {
    let settings = &config.messages;
    let db = match &settings.database {
        Some(url) => nave_hub_core::DbConfig::postgres_url(url)?,
        None => nave_hub_core::DbConfig::sqlite_in(&config.data_dir, "message"),
    };
    let store = nave_message::MessageStore::open(&db)
        .await
        .context("opening the message hub's database")?;
    let spokes = Arc::new(crate::pipeline::HostSpokes {
        registry: registry.clone(),
        runtime: runtime.clone(),
    });
    let peers = nave_message::Peers {
        billing: hubs.billing.clone(),
        wallet: hubs.wallet.clone(),
        users: hubs.user.clone(),
        // `billing.message_cost` of the tenant; `message_cost` where no scope sets it.
        tariff: Arc::new(crate::live::LiveTariff(live.clone())),
    };
    let engine = nave_message::EngineConfig {
        concurrency: settings.concurrency,
        retry_base: std::time::Duration::from_millis(settings.retry_base_ms),
        retry_max: std::time::Duration::from_millis(settings.retry_max_ms),
        max_attempts: settings.max_attempts,
    };
    Ok(nave_message::LocalMessages::start(
        store,
        spokes,
        peers,
        Arc::new(nave_hub_core::SystemClock),
        engine,
    )
    .await?)
}

/// Serves the message hub's gRPC API on `address` until the hubs stop; returns the bound
/// address.
async fn serve_message_grpc(
    config: &Config,
    hubs: &mut Hubs,
    messages: &Arc<dyn nave_message::MessageApi>,
    address: SocketAddr,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("binding the message hub's gRPC address {address}"))?;
    let bound = listener.local_addr()?;
    let token = nave_hub_core::grpc::ServiceToken::new(config.hubs.service_token.clone());
    let api = messages.clone();
    hubs.serve_too("message", move |shutdown| {
        nave_message::grpc::serve(listener, api, token, shutdown)
    });
    tracing::info!(address = %bound, "serving the message hub's gRPC API");
    Ok(bound)
}

/// Serves the app on `listener` until `shutdown` resolves, then drains open requests and stops
/// the background work (the inbox feeder, the message workers and the config follower; what is
/// left is picked up at the next start).
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service =
        crate::api::router(app.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await;
    app.inbox.stop();
    app.message_engine.stop();
    app.live.stop();
    served
}

/// The trimmed content of a file, created with `make()` and mode 0600 when missing.
pub(crate) fn read_or_create_private_file(
    path: &Path,
    make: impl FnOnce() -> String,
) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => return Ok(text.trim().to_owned()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    }
    let value = make();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{value}").with_context(|| format!("writing {}", path.display()))?;
    Ok(value)
}
