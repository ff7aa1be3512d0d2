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
use nave_wallet::grpc::{WalletClient, serve};
use nave_wallet::{
    Credit, CreditSource, Debit, LocalWallet, NewHold, Transaction, WalletApi, WalletConfig,
};
use tokio::sync::oneshot;
use uuid::Uuid;

/// One wallet hub under test.
pub struct Hub {
    /// The implementation under test (local or gRPC client).
    pub api: Arc<dyn WalletApi>,
    /// The hub behind it.
    pub local: LocalWallet,
    /// The hub's clock.
    pub clock: Arc<ManualClock>,
    /// `sqlite/local`, `postgres/grpc`, ... for assertion messages.
    pub label: String,
    /// Whether `api` goes over gRPC.
    pub grpc: bool,
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
    let local = LocalWallet::open(&db.config, WalletConfig::default(), clock.clone())
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

pub async fn grpc(backend: Backend) -> Hub {
    let mut hub = local(backend).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = ServiceToken::new(Some("test-service-token".into()));
    let (tx, rx) = oneshot::channel::<()>();
    let served: Arc<dyn WalletApi> = Arc::new(hub.local.clone());
    tokio::spawn(serve(listener, served, token.clone(), async {
        let _ = rx.await;
    }));
    let client = tokio::time::timeout(
        Duration::from_secs(10),
        WalletClient::connect(&format!("http://{addr}"), token),
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

/// The platform itself: the only caller that may charge.
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

pub fn top_up(amount: i64, key: &str) -> Credit {
    Credit {
        amount,
        source: CreditSource::TopUp,
        memo: format!("top-up {key}"),
        idempotency_key: key.into(),
    }
}

pub fn charge(amount: i64, key: &str) -> Debit {
    Debit {
        amount,
        reason: "message".into(),
        memo: format!("charge {key}"),
        idempotency_key: key.into(),
    }
}

pub fn new_hold(amount: i64, key: &str, expires_in_secs: Option<u64>) -> NewHold {
    NewHold {
        amount,
        reason: "message".into(),
        idempotency_key: key.into(),
        expires_in_secs,
    }
}

/// A new tenant with `amount` topped up.
pub async fn funded(hub: &Hub, amount: i64) -> Uuid {
    let tenant = new_id();
    credit(hub, tenant, amount, &format!("fund-{tenant}")).await;
    tenant
}

pub async fn credit(hub: &Hub, tenant: Uuid, amount: i64, key: &str) -> Transaction {
    hub.api
        .credit(&system(), tenant, top_up(amount, key))
        .await
        .unwrap_or_else(|e| panic!("[{}] credit {amount}: {e:?}", hub.label))
}

/// `(available, held)` of a tenant, as the platform sees them.
pub async fn balances(hub: &Hub, tenant: Uuid) -> (i64, i64) {
    let b = hub.api.balance(&system(), tenant).await.unwrap();
    (b.available, b.held)
}

/// Asserts every ledger invariant, over all accounts.
pub async fn assert_consistent(hub: &Hub) {
    let report = hub.api.check_invariants(&system(), None).await.unwrap();
    assert!(report.all_hold(), "[{}] {report:?}", hub.label);
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

/// Asserts a `failed_precondition` refusal with one reason code.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(
    hub: &Hub,
    result: Result<T, Error>,
    reason: &str,
) -> Error {
    let err = assert_err(hub, result, "failed_precondition");
    let codes: Vec<&str> = err.reasons().iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, [reason], "[{}] {err:?}", hub.label);
    err
}
