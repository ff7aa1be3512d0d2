//! Test harness: every behaviour test runs against each [`Hub`] from [`hubs`] — the local
//! implementation and the gRPC client talking to an in-process server on `127.0.0.1:0` — on
//! SQLite, and on PostgreSQL when `NAVE_TEST_POSTGRES_URL` is set.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use nave_billing::grpc::{BillingClient, serve};
use nave_billing::{
    AppsAllowed, BillingApi, BillingConfig, Entitlements, LocalBilling, Plan, Snapshot, TenantPlan,
};
use nave_hub_core::grpc::ServiceToken;
use nave_hub_core::ids::new_id;
use nave_hub_core::testing::{TestDb, backends};
use nave_hub_core::{AuthContext, Backend, Error, ManualClock, Role};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::sync::oneshot;
use uuid::Uuid;

/// One billing hub under test.
pub struct Hub {
    /// The implementation under test (local or gRPC client).
    pub api: Arc<dyn BillingApi>,
    /// The hub behind it.
    pub local: LocalBilling,
    /// The hub's clock.
    pub clock: Arc<ManualClock>,
    /// `sqlite/local`, `postgres/grpc`, ... for assertion messages.
    pub label: String,
    pub db: TestDb,
    _shutdown: Option<oneshot::Sender<()>>,
}

/// Where the hubs' clocks start: mid-period for anchor day 1.
pub const START: OffsetDateTime = datetime!(2026-03-10 12:00 UTC);

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
    let clock = Arc::new(ManualClock::at(START));
    let local = LocalBilling::open(&db.config, BillingConfig::default(), clock.clone())
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
    let served: Arc<dyn BillingApi> = Arc::new(hub.local.clone());
    tokio::spawn(serve(listener, served, token.clone(), async {
        let _ = rx.await;
    }));
    let client = tokio::time::timeout(
        Duration::from_secs(10),
        BillingClient::connect(&format!("http://{addr}"), token),
    )
    .await
    .expect("gRPC server answers within 10s")
    .unwrap();
    hub.api = Arc::new(client);
    hub.label = format!("{}/grpc", name(backend));
    hub._shutdown = Some(tx);
    hub
}

/// The platform itself (other hubs, the host).
pub fn system() -> AuthContext {
    AuthContext::system()
}

/// A platform admin user, member of nothing.
pub fn platform_admin() -> AuthContext {
    let mut ctx = AuthContext::user(new_id());
    ctx.platform_admin = true;
    ctx
}

/// A user acting in `tenant` with `role`, as the gateway builds it.
pub fn member(tenant: Uuid, role: Role) -> AuthContext {
    AuthContext::user(new_id()).in_tenant(tenant, role)
}

/// A plan with the given limits.
pub fn plan(
    code: &str,
    messages: Option<u64>,
    installations: Option<u32>,
    apps: AppsAllowed,
) -> Plan {
    Plan {
        code: code.into(),
        name: format!("The {code} plan"),
        entitlements: Entitlements {
            messages_per_period: messages,
            installations,
            apps,
        },
    }
}

/// Only these apps.
pub fn only(apps: &[&str]) -> AppsAllowed {
    AppsAllowed::Only(apps.iter().map(|a| (*a).to_owned()).collect())
}

pub fn tenant(id: Uuid, plan: &str, anchor: u8) -> TenantPlan {
    TenantPlan {
        tenant_id: id,
        plan: plan.into(),
        period_anchor_day: anchor,
    }
}

/// Imports `snapshot` as the platform, panicking on failure.
pub async fn import(hub: &Hub, snapshot: Snapshot) -> nave_billing::ImportReport {
    hub.api
        .import_snapshot(&system(), snapshot)
        .await
        .unwrap_or_else(|e| panic!("[{}] import: {e:?}", hub.label))
}

/// Gives `tenant` a single-tenant snapshot with `plan`.
pub async fn one_tenant(hub: &Hub, plan: Plan, anchor: u8) -> Uuid {
    let id = new_id();
    let code = plan.code.clone();
    import(
        hub,
        Snapshot {
            plans: vec![plan],
            tenants: vec![tenant(id, &code, anchor)],
        },
    )
    .await;
    id
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

/// The precondition codes of an error, in order.
pub fn reasons(err: &Error) -> Vec<&str> {
    err.reasons().iter().map(|r| r.code.as_str()).collect()
}
