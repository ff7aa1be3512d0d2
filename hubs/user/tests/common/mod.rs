//! Test harness: every behaviour test runs against each [`Hub`] from [`hubs`] — the local
//! implementation and the gRPC client talking to an in-process server on `127.0.0.1:0` — on
//! SQLite, and on PostgreSQL when `NAVE_TEST_POSTGRES_URL` is set.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use nave_hub_core::grpc::ServiceToken;
use nave_hub_core::ids::new_id;
use nave_hub_core::testing::{TestDb, backends};
use nave_hub_core::{AuthContext, Backend, Error, ManualClock, Role};
use nave_user::grpc::{UserClient, serve};
use nave_user::{ChannelIdentity, LocalUser, UserApi, UserConfig};
use tokio::sync::oneshot;
use uuid::Uuid;

/// One user hub under test.
pub struct Hub {
    /// The implementation under test (local or gRPC client).
    pub api: Arc<dyn UserApi>,
    /// The hub behind it.
    pub local: LocalUser,
    /// The hub's clock.
    pub clock: Arc<ManualClock>,
    /// `sqlite/local`, `postgres/grpc`, ... for assertion messages.
    pub label: String,
    pub db: TestDb,
    _shutdown: Option<oneshot::Sender<()>>,
}

/// Every implementation on every backend.
pub async fn hubs() -> Vec<Hub> {
    let mut all = Vec::new();
    for backend in backends() {
        all.push(local(backend).await);
        all.push(grpc(backend).await);
    }
    all
}

fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

pub async fn local(backend: Backend) -> Hub {
    let db = TestDb::new(backend).await;
    let clock = Arc::new(ManualClock::starting_now());
    let local = LocalUser::open(&db.config, UserConfig::default(), clock.clone())
        .await
        .unwrap();
    Hub {
        api: Arc::new(local.clone()),
        local,
        clock,
        label: format!("{}/local", name(backend)),
        db,
        _shutdown: None,
    }
}

pub async fn grpc(backend: Backend) -> Hub {
    let mut hub = local(backend).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = ServiceToken::new(Some("test-service-token".into()));
    let (tx, rx) = oneshot::channel::<()>();
    let served: Arc<dyn UserApi> = Arc::new(hub.local.clone());
    tokio::spawn(serve(listener, served, token.clone(), async {
        let _ = rx.await;
    }));
    let client = tokio::time::timeout(
        Duration::from_secs(10),
        UserClient::connect(&format!("http://{addr}"), token),
    )
    .await
    .expect("gRPC server answers within 10s")
    .unwrap();
    hub.api = Arc::new(client);
    hub.label = format!("{}/grpc", name(backend));
    hub._shutdown = Some(tx);
    hub
}

/// A user's context, as a gateway would build it.
pub fn user(id: Uuid) -> AuthContext {
    AuthContext::user(id)
}

/// A platform admin scoped to no tenant.
pub fn platform_admin() -> AuthContext {
    let mut ctx = AuthContext::user(new_id());
    ctx.platform_admin = true;
    ctx
}

/// A user acting in `tenant` with `role`.
pub fn member(tenant: Uuid, role: Role) -> AuthContext {
    AuthContext::user(new_id()).in_tenant(tenant, role)
}

/// A Facebook identity on `installation`.
pub fn fb(installation: Uuid, psid: &str) -> ChannelIdentity {
    ChannelIdentity {
        installation_id: installation,
        channel: "facebook".into(),
        channel_user_id: psid.into(),
    }
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

/// The names of the fields an `invalid_argument` error complains about.
pub fn fields(err: &Error) -> Vec<String> {
    err.fields().iter().map(|f| f.field.clone()).collect()
}
