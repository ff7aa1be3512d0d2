//! Test harness: every behaviour test runs against each [`Hub`] from [`hubs`] — the local
//! implementation and the gRPC client talking to an in-process server on `127.0.0.1:0` — on
//! SQLite, and on PostgreSQL when `NAVE_TEST_POSTGRES_URL` is set. Each hub has its own fresh
//! database and a manual clock.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use nave_hub_core::grpc::ServiceToken;
use nave_hub_core::testing::{TestDb, backends};
use nave_hub_core::{AuthContext, Backend, Error, ManualClock};
use nave_identity::grpc::{IdentityClient, serve};
use nave_identity::{IdentityApi, IdentityConfig, LocalIdentity, PasswordCost, SignUp, Tokens};
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery staple";

/// One identity hub under test.
pub struct Hub {
    /// The implementation under test (local or gRPC client).
    pub api: Arc<dyn IdentityApi>,
    /// The hub behind it, for set-up (bootstrap) only.
    pub local: LocalIdentity,
    /// The hub's clock.
    pub clock: Arc<ManualClock>,
    /// `sqlite/local`, `postgres/grpc`, ... for assertion messages.
    pub label: String,
    pub db: TestDb,
    _shutdown: Option<oneshot::Sender<()>>,
}

pub fn test_config() -> IdentityConfig {
    IdentityConfig {
        password_cost: PasswordCost::InsecureFastForTests,
        ..IdentityConfig::default()
    }
}

/// Every implementation on every backend, with the default test config.
pub async fn hubs() -> Vec<Hub> {
    hubs_with(test_config()).await
}

/// Every implementation on every backend, with `config`.
pub async fn hubs_with(config: IdentityConfig) -> Vec<Hub> {
    let mut all = Vec::new();
    for backend in backends() {
        all.push(local(backend, config.clone()).await);
        all.push(grpc(backend, config.clone()).await);
    }
    all
}

fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

pub async fn local(backend: Backend, config: IdentityConfig) -> Hub {
    let db = TestDb::new(backend).await;
    let clock = Arc::new(ManualClock::starting_now());
    let local = LocalIdentity::open(&db.config, config, clock.clone())
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

pub async fn grpc(backend: Backend, config: IdentityConfig) -> Hub {
    let mut hub = local(backend, config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = ServiceToken::new(Some("test-service-token".into()));
    let (tx, rx) = oneshot::channel::<()>();
    let served: Arc<dyn IdentityApi> = Arc::new(hub.local.clone());
    tokio::spawn(serve(listener, served, token.clone(), async {
        let _ = rx.await;
    }));
    let client = tokio::time::timeout(
        Duration::from_secs(10),
        IdentityClient::connect(&format!("http://{addr}"), token),
    )
    .await
    .expect("gRPC server answers within 10s")
    .unwrap();
    hub.api = Arc::new(client);
    hub.label = format!("{}/grpc", name(backend));
    hub._shutdown = Some(tx);
    hub
}

/// The context a gateway would build for the holder of these tokens.
pub fn ctx_of(tokens: &Tokens) -> AuthContext {
    let mut ctx = AuthContext::user(tokens.user.id);
    ctx.platform_admin = tokens.user.platform_admin;
    ctx
}

pub fn anon() -> AuthContext {
    AuthContext::anonymous()
}

pub async fn sign_up(hub: &Hub, email: &str) -> Tokens {
    hub.api
        .sign_up(
            &anon(),
            SignUp {
                email: email.into(),
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("[{}] sign up {email}: {e:?}", hub.label))
}

/// Creates the platform admin and signs it in.
pub async fn admin(hub: &Hub) -> Tokens {
    hub.local
        .bootstrap_admin("root@example.com", Some(PASSWORD.into()))
        .await
        .unwrap();
    hub.api
        .log_in(&anon(), login("root@example.com", PASSWORD))
        .await
        .unwrap()
}

pub fn login(email: &str, password: &str) -> nave_identity::LogIn {
    nave_identity::LogIn {
        email: email.into(),
        password: password.into(),
        totp_code: None,
    }
}

/// Asserts an error's code (and reason, when given), with the hub in the message.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(
    hub: &Hub,
    result: Result<T, Error>,
    code: &str,
    reason: Option<&str>,
) -> Error {
    let err = match result {
        Ok(v) => panic!("[{}] expected {code}, got Ok({v:?})", hub.label),
        Err(e) => e,
    };
    assert_eq!(err.code(), code, "[{}] {err:?}", hub.label);
    if let Some(reason) = reason {
        assert_eq!(err.reason(), Some(reason), "[{}] {err:?}", hub.label);
    }
    err
}
