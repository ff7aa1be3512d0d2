//! Test harness: every behaviour test runs against each [`Hub`] from [`hubs`] — the local
//! implementation and the gRPC client talking to an in-process server on `127.0.0.1:0` — on
//! SQLite, and on PostgreSQL when `NAVE_TEST_POSTGRES_URL` is set. The billing and wallet hubs
//! are real local hubs on their own databases, seeded like the platform would.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use nave_app::grpc::{AppClient, serve};
use nave_app::{
    AppApi, AppConfig, AppRole, Dependencies, Listing, LocalApp, NewListing, NewVersion,
};
use nave_billing::{
    AppsAllowed, BillingApi, BillingConfig, Entitlements, LocalBilling, Plan, Snapshot, TenantPlan,
};
use nave_hub_core::grpc::ServiceToken;
use nave_hub_core::ids::new_id;
use nave_hub_core::testing::{TestDb, backends};
use nave_hub_core::{AuthContext, Backend, Error, ManualClock, Role};
use nave_wallet::{Credit, CreditSource, LocalWallet, WalletApi, WalletConfig};
use tokio::sync::oneshot;
use uuid::Uuid;

/// One app hub under test, with the billing and wallet hubs it asks.
pub struct Hub {
    /// The implementation under test (local or gRPC client).
    pub api: Arc<dyn AppApi>,
    /// The hub behind it.
    pub local: LocalApp,
    pub billing: LocalBilling,
    pub wallet: LocalWallet,
    /// `sqlite/local`, `postgres/grpc`, ... for assertion messages.
    pub label: String,
    _dbs: Vec<TestDb>,
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
    let (app_db, billing_db, wallet_db) = (
        TestDb::new(backend).await,
        TestDb::new(backend).await,
        TestDb::new(backend).await,
    );
    let clock = Arc::new(ManualClock::starting_now());
    let billing = LocalBilling::open(&billing_db.config, BillingConfig::default(), clock.clone())
        .await
        .unwrap();
    let wallet = LocalWallet::open(&wallet_db.config, WalletConfig::default(), clock.clone())
        .await
        .unwrap();
    let deps = Dependencies {
        billing: Arc::new(billing.clone()),
        wallet: Arc::new(wallet.clone()),
    };
    let local = LocalApp::open(&app_db.config, AppConfig::default(), deps, clock)
        .await
        .unwrap();
    Hub {
        api: Arc::new(local.clone()),
        local,
        billing,
        wallet,
        label: format!("{}/local", name(backend)),
        _dbs: vec![app_db, billing_db, wallet_db],
        _shutdown: None,
    }
}

pub async fn grpc(backend: Backend) -> Hub {
    let mut hub = local(backend).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = ServiceToken::new(Some("test-service-token".into()));
    let (tx, rx) = oneshot::channel::<()>();
    let served: Arc<dyn AppApi> = Arc::new(hub.local.clone());
    tokio::spawn(serve(listener, served, token.clone(), async {
        let _ = rx.await;
    }));
    let client = tokio::time::timeout(
        Duration::from_secs(10),
        AppClient::connect(&format!("http://{addr}"), token),
    )
    .await
    .expect("gRPC server answers within 10s")
    .unwrap();
    hub.api = Arc::new(client);
    hub.label = format!("{}/grpc", name(backend));
    hub._shutdown = Some(tx);
    hub
}

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

/// A listing request for a public app.
pub fn new_listing(name: &str, fee: i64) -> NewListing {
    NewListing {
        name: name.into(),
        display_name: format!("The {name} app"),
        description: "Talks to customers".into(),
        publisher: "Acme".into(),
        role: AppRole::Bot,
        icon_url: Some(format!("https://cdn.example.com/{name}.png")),
        install_fee: fee,
        currency: None,
        owner_tenant_id: None,
    }
}

/// A version request with a digest made from `seed`.
pub fn new_version(version: &str, seed: char) -> NewVersion {
    NewVersion {
        version: version.into(),
        sha256: seed.to_string().repeat(64),
        role: AppRole::Bot,
        uploaded_by: String::new(),
    }
}

/// Publishes a public app with one version `1.0.0`.
pub async fn published(hub: &Hub, name: &str, fee: i64) -> Listing {
    let listing = hub
        .api
        .create_listing(&platform_admin(), new_listing(name, fee))
        .await
        .unwrap_or_else(|e| panic!("[{}] publish {name}: {e:?}", hub.label));
    hub.api
        .record_version(&system(), listing.id, new_version("1.0.0", 'a'))
        .await
        .unwrap();
    hub.api
        .get_listing(&platform_admin(), listing.id)
        .await
        .unwrap()
}

/// Gives a new tenant a plan (`apps`, at most `installations`) and `balance` in its wallet.
pub async fn tenant(
    hub: &Hub,
    apps: AppsAllowed,
    installations: Option<u32>,
    balance: i64,
) -> Uuid {
    let tenant = new_id();
    let plan = Plan {
        code: format!("plan-{}", tenant.simple()),
        name: "A plan".into(),
        entitlements: Entitlements {
            messages_per_period: None,
            installations,
            apps,
        },
    };
    // Each import replaces every plan, so keep the ones imported before.
    let mut plans = hub.billing.list_plans(&system()).await.unwrap();
    plans.push(plan.clone());
    let mut tenants = Vec::new();
    for p in &plans {
        if let Some(code) = p.code.strip_prefix("plan-") {
            tenants.push(TenantPlan {
                tenant_id: Uuid::parse_str(code).unwrap(),
                plan: p.code.clone(),
                period_anchor_day: 1,
            });
        }
    }
    hub.billing
        .import_snapshot(&system(), Snapshot { plans, tenants })
        .await
        .unwrap();
    if balance > 0 {
        hub.wallet
            .credit(
                &system(),
                tenant,
                Credit {
                    amount: balance,
                    source: CreditSource::TopUp,
                    memo: String::new(),
                    idempotency_key: format!("seed-{tenant}"),
                },
            )
            .await
            .unwrap();
    }
    tenant
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

/// The precondition codes of an error, sorted.
pub fn reasons(err: &Error) -> Vec<String> {
    let mut codes: Vec<String> = err.reasons().iter().map(|r| r.code.clone()).collect();
    codes.sort();
    codes
}
