//! Test harness: every behaviour test runs against each [`Hub`] from [`hubs`] — the local
//! implementation and the gRPC client talking to an in-process server on `127.0.0.1:0` — on
//! SQLite, and on PostgreSQL when `NAVE_TEST_POSTGRES_URL` is set.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use nave_config::grpc::{ConfigClient, serve};
use nave_config::{ChangeNotice, ConfigApi, ConfigConfig, LocalConfig, ResolveAt, Resolved};
use nave_hub_core::grpc::ServiceToken;
use nave_hub_core::ids::new_id;
use nave_hub_core::testing::{TestDb, backends};
use nave_hub_core::{AuthContext, Backend, Error, ManualClock, Role};
use tokio::sync::oneshot;
use uuid::Uuid;

/// The seal key of hubs built by [`local`] and [`grpc`].
pub const SEAL_KEY: [u8; 32] = [42; 32];

/// One config hub under test.
pub struct Hub {
    /// The implementation under test (local or gRPC client).
    pub api: Arc<dyn ConfigApi>,
    /// The hub behind it.
    pub local: LocalConfig,
    /// The hub's clock.
    pub clock: Arc<ManualClock>,
    /// `sqlite/local`, `postgres/grpc`, ... for assertion messages.
    pub label: String,
    /// Whether `api` goes over gRPC.
    pub grpc: bool,
    pub db: TestDb,
    _shutdown: Option<oneshot::Sender<()>>,
}

/// Every implementation on every backend, with a seal key.
pub async fn hubs() -> Vec<Hub> {
    hubs_with(|| ConfigConfig {
        seal_key: Some(SEAL_KEY),
        ..ConfigConfig::default()
    })
    .await
}

/// Every implementation on every backend, each opened with `config()`.
pub async fn hubs_with(config: impl Fn() -> ConfigConfig) -> Vec<Hub> {
    let mut all = Vec::new();
    for backend in backends() {
        all.push(local(backend, config()).await);
        all.push(grpc(backend, config()).await);
    }
    all
}

fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

pub async fn local(backend: Backend, config: ConfigConfig) -> Hub {
    let db = TestDb::new(backend).await;
    let clock = Arc::new(ManualClock::starting_now());
    let local = LocalConfig::open(&db.config, config, clock.clone())
        .await
        .unwrap();
    Hub {
        api: Arc::new(local.clone()),
        local,
        clock,
        label: format!("{}/local", name(backend)),
        grpc: false,
        db,
        _shutdown: None,
    }
}

pub async fn grpc(backend: Backend, config: ConfigConfig) -> Hub {
    let mut hub = local(backend, config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = ServiceToken::new(Some("test-service-token".into()));
    let (tx, rx) = oneshot::channel::<()>();
    let served: Arc<dyn ConfigApi> = Arc::new(hub.local.clone());
    tokio::spawn(serve(listener, served, token.clone(), async {
        let _ = rx.await;
    }));
    let client = tokio::time::timeout(
        Duration::from_secs(10),
        ConfigClient::connect(&format!("http://{addr}"), token),
    )
    .await
    .expect("gRPC server answers within 10s")
    .unwrap();
    hub.api = Arc::new(client);
    hub.label = format!("{}/grpc", name(backend));
    hub.grpc = true;
    hub._shutdown = Some(tx);
    hub
}

/// The platform itself.
pub fn system() -> AuthContext {
    AuthContext::system()
}

/// A platform admin who is a member of nothing.
pub fn platform_admin() -> AuthContext {
    let mut ctx = AuthContext::user(new_id());
    ctx.platform_admin = true;
    ctx
}

/// A user acting in `tenant` with `role`, as the gateway builds it.
pub fn member(tenant: Uuid, role: Role) -> AuthContext {
    AuthContext::user(new_id()).in_tenant(tenant, role)
}

/// The effective value of `key` at `at`, as the platform sees it (secrets masked).
pub async fn resolved(hub: &Hub, key: &str, at: ResolveAt) -> Resolved {
    hub.api
        .resolve(&system(), key, at, false)
        .await
        .unwrap_or_else(|e| panic!("[{}] resolve {key}: {e:?}", hub.label))
}

/// The next notice of a watch, within 5 seconds.
pub async fn next_notice(
    hub: &Hub,
    stream: &mut BoxStream<'static, nave_hub_core::Result<ChangeNotice>>,
) -> ChangeNotice {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap_or_else(|_| panic!("[{}] no notice within 5s", hub.label))
        .unwrap_or_else(|| panic!("[{}] watch ended", hub.label))
        .unwrap_or_else(|e| panic!("[{}] watch failed: {e:?}", hub.label))
}

/// Asserts an error's code, with the hub in the message.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(hub: &Hub, result: Result<T, Error>, code: &str) -> Error {
    let err = match result {
        Ok(v) => panic!("[{}] expected {code}, got Ok({v:?})", hub.label),
        Err(e) => e,
    };
    assert_eq!(err.code(), code, "[{}] {err:?}", hub.label);
    err
}
