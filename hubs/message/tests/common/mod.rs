//! Test harness: every behaviour test runs against each [`Hub`] from [`hubs`] — the local
//! implementation and the gRPC client talking to an in-process server on `127.0.0.1:0` (the
//! engine and store stay in this process either way) — on SQLite, and on PostgreSQL when
//! `NAVE_TEST_POSTGRES_URL` is set. The billing, wallet and user hubs are real local hubs on
//! their own databases; the spokes are [`TestSpokes`] in memory.
#![allow(dead_code, unused_imports)]

pub mod spokes;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use nave_billing::{
    AppsAllowed, BillingApi, BillingConfig, Entitlements, LocalBilling, Metric, Plan, Snapshot,
    TenantPlan,
};
use nave_hub_core::grpc::ServiceToken;
use nave_hub_core::ids::new_id;
use nave_hub_core::testing::{TestDb, backends};
use nave_hub_core::{AuthContext, Backend, Error, Role, SystemClock};
use nave_message::grpc::{MessageClient, serve};
use nave_message::{
    ChannelMessage, EngineConfig, FixedTariff, Inbound, LocalMessages, MessageApi, MessageRecord,
    MessageStatus, MessageStore, Peers, RoutingRule, RuleActions, SpokeRole,
};
use nave_user::{LocalUser, UserConfig};
use nave_wallet::{Credit, CreditSource, LocalWallet, WalletApi, WalletConfig};
use tokio::sync::oneshot;
use uuid::Uuid;

pub use spokes::{Failing, PHONE, TestSpokes};

/// One message hub under test, with the hubs and spokes it calls.
pub struct Hub {
    /// The implementation under test (local or gRPC client).
    pub api: Arc<dyn MessageApi>,
    /// The hub behind it.
    pub local: LocalMessages,
    pub billing: LocalBilling,
    pub wallet: LocalWallet,
    pub users: LocalUser,
    pub spokes: Arc<TestSpokes>,
    /// `sqlite/local`, `postgres/grpc`, ... for assertion messages.
    pub label: String,
    _dbs: Vec<TestDb>,
    _shutdown: Option<oneshot::Sender<()>>,
}

/// Every implementation on every backend, with free messages.
pub async fn hubs() -> Vec<Hub> {
    priced_hubs(0).await
}

/// Every implementation on every backend, each message costing `price`.
pub async fn priced_hubs(price: i64) -> Vec<Hub> {
    let mut all = Vec::new();
    for backend in backends() {
        all.push(local(backend, price).await);
        all.push(grpc(backend, price).await);
    }
    all
}

fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// Quick retries, so that dead letters come within a second.
pub fn engine_config() -> EngineConfig {
    EngineConfig {
        retry_base: Duration::from_millis(10),
        retry_max: Duration::from_millis(100),
        max_attempts: 4,
        ..EngineConfig::default()
    }
}

pub async fn local(backend: Backend, price: i64) -> Hub {
    let dbs = vec![
        TestDb::new(backend).await,
        TestDb::new(backend).await,
        TestDb::new(backend).await,
        TestDb::new(backend).await,
    ];
    // A real clock: the engine sleeps until a retry is due.
    let clock = Arc::new(SystemClock);
    let billing = LocalBilling::open(&dbs[1].config, BillingConfig::default(), clock.clone())
        .await
        .unwrap();
    let wallet = LocalWallet::open(&dbs[2].config, WalletConfig::default(), clock.clone())
        .await
        .unwrap();
    let users = LocalUser::open(&dbs[3].config, UserConfig::default(), clock.clone())
        .await
        .unwrap();
    let spokes = Arc::new(TestSpokes::default());
    let peers = Peers {
        billing: Arc::new(billing.clone()),
        wallet: Arc::new(wallet.clone()),
        users: Arc::new(users.clone()),
        tariff: Arc::new(FixedTariff(price)),
    };
    let store = MessageStore::open(&dbs[0].config).await.unwrap();
    let local = LocalMessages::start(store, spokes.clone(), peers, clock, engine_config())
        .await
        .unwrap();
    Hub {
        api: Arc::new(local.clone()),
        local,
        billing,
        wallet,
        users,
        spokes,
        label: format!("{}/local", name(backend)),
        _dbs: dbs,
        _shutdown: None,
    }
}

pub async fn grpc(backend: Backend, price: i64) -> Hub {
    let mut hub = local(backend, price).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = ServiceToken::new(Some("test-service-token".into()));
    let (tx, rx) = oneshot::channel::<()>();
    let served: Arc<dyn MessageApi> = Arc::new(hub.local.clone());
    tokio::spawn(serve(listener, served, token.clone(), async {
        let _ = rx.await;
    }));
    let client = tokio::time::timeout(
        Duration::from_secs(10),
        MessageClient::connect(&format!("http://{addr}"), token),
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

/// A user acting in `tenant` with `role`, as the gateway builds it.
pub fn member(tenant: Uuid, role: Role) -> AuthContext {
    AuthContext::user(new_id()).in_tenant(tenant, role)
}

/// A tenant with its installations.
#[derive(Debug, Clone, Copy)]
pub struct Tenant {
    pub id: Uuid,
    pub channel: Uuid,
    pub bot: Uuid,
    pub processor: Uuid,
}

impl Tenant {
    /// An admin of the tenant.
    pub fn admin(&self) -> AuthContext {
        member(self.id, Role::Admin)
    }

    /// An agent of the tenant.
    pub fn agent(&self) -> AuthContext {
        member(self.id, Role::Agent)
    }
}

/// A new tenant with a channel, a bot and a processor installed, and no plan.
pub fn unplanned_tenant(hub: &Hub) -> Tenant {
    let id = new_id();
    Tenant {
        id,
        channel: hub.spokes.install(id, SpokeRole::Channel, "facebook"),
        bot: hub.spokes.install(id, SpokeRole::Bot, "botpress"),
        processor: hub.spokes.install(id, SpokeRole::Processor, "phones"),
    }
}

/// A new tenant on an unlimited plan with `balance` in its wallet, routing every message
/// through the processor to the bot.
pub async fn tenant(hub: &Hub, balance: i64) -> Tenant {
    let t = unplanned_tenant(hub);
    give_plan(hub, t.id).await;
    if balance > 0 {
        hub.wallet
            .credit(
                &system(),
                t.id,
                Credit {
                    amount: balance,
                    source: CreditSource::TopUp,
                    memo: String::new(),
                    idempotency_key: format!("seed-{}", t.id),
                },
            )
            .await
            .unwrap();
    }
    hub.api
        .put_routing_rules(&t.admin(), t.id, vec![to_bot(&t)], None)
        .await
        .unwrap_or_else(|e| panic!("[{}] rules: {e:?}", hub.label));
    t
}

/// A rule sending everything through the processor to the bot.
pub fn to_bot(t: &Tenant) -> RoutingRule {
    RoutingRule {
        name: "everything to the bot".into(),
        actions: RuleActions {
            processors: vec![t.processor],
            bot: Some(t.bot),
            handoff: false,
        },
        ..Default::default()
    }
}

/// Imports a snapshot giving `tenant` an unlimited plan, keeping the plans given before.
pub async fn give_plan(hub: &Hub, tenant: Uuid) {
    let plan = Plan {
        code: format!("plan-{}", tenant.simple()),
        name: "A plan".into(),
        entitlements: Entitlements {
            messages_per_period: None,
            installations: None,
            apps: AppsAllowed::All,
        },
    };
    // Each import replaces every plan, so keep the ones imported before.
    let mut plans = hub.billing.list_plans(&system()).await.unwrap();
    plans.push(plan);
    let tenants = plans
        .iter()
        .filter_map(|p| {
            let code = p.code.strip_prefix("plan-")?;
            Some(TenantPlan {
                tenant_id: Uuid::parse_str(code).unwrap(),
                plan: p.code.clone(),
                period_anchor_day: 1,
            })
        })
        .collect();
    hub.billing
        .import_snapshot(&system(), Snapshot { plans, tenants })
        .await
        .unwrap();
}

/// Messages counted against the tenant's plan this period.
pub async fn messages_used(hub: &Hub, tenant: Uuid) -> u64 {
    let billing = hub.billing.tenant_billing(&system(), tenant).await.unwrap();
    billing
        .usage
        .iter()
        .find(|u| u.metric == Metric::Messages)
        .map(|u| u.used)
        .unwrap_or(0)
}

/// `(available, held)` of the tenant's wallet.
pub async fn balances(hub: &Hub, tenant: Uuid) -> (i64, i64) {
    let b = hub.wallet.balance(&system(), tenant).await.unwrap();
    (b.available, b.held)
}

/// A text message from `sender` on the tenant's channel, with the channel id `id`.
pub fn inbound(t: &Tenant, sender: &str, id: &str, text: &str) -> Inbound {
    inbound_on(t, t.channel, sender, id, text)
}

/// A text message on a given channel installation.
pub fn inbound_on(t: &Tenant, channel: Uuid, sender: &str, id: &str, text: &str) -> Inbound {
    Inbound {
        tenant_id: t.id,
        installation_id: channel,
        message: ChannelMessage {
            platform: "facebook".into(),
            id: id.into(),
            sender: sender.into(),
            recipient: "page-1".into(),
            text: Some(text.into()),
            timestamp_ms: 1,
            ..Default::default()
        },
        correlation_id: format!("corr-{id}"),
    }
}

/// Ingests messages as the platform; asserts which were new.
pub async fn ingest(hub: &Hub, batch: Vec<Inbound>) -> Vec<bool> {
    hub.api
        .ingest(&system(), batch)
        .await
        .unwrap_or_else(|e| panic!("[{}] ingest: {e:?}", hub.label))
}

/// Polls `check` until it returns some value, for up to 10 seconds.
pub async fn eventually<T, F, Fut>(hub: &Hub, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("[{}] timed out waiting for {what}", hub.label);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every message of a conversation, in order.
pub async fn all_messages(hub: &Hub, t: &Tenant, conversation: Uuid) -> Vec<MessageRecord> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = hub
            .api
            .list_messages(&t.admin(), t.id, conversation, after, 200)
            .await
            .unwrap_or_else(|e| panic!("[{}] list_messages: {e:?}", hub.label));
        out.extend(page.items);
        match page.next {
            Some(next) => after = next.parse().unwrap(),
            None => return out,
        }
    }
}

/// The only conversation of the tenant.
pub async fn only_conversation(hub: &Hub, t: &Tenant) -> Uuid {
    let page = hub
        .api
        .list_conversations(&t.admin(), t.id, Default::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "[{}] {page:?}", hub.label);
    page.items[0].id
}

/// Waits until no message of the conversation has work left; returns them.
pub async fn settled(hub: &Hub, t: &Tenant, conversation: Uuid) -> Vec<MessageRecord> {
    eventually(hub, "the conversation to settle", || async {
        let messages = all_messages(hub, t, conversation).await;
        messages
            .iter()
            .all(|m| {
                !matches!(
                    m.status,
                    MessageStatus::Received | MessageStatus::Queued | MessageStatus::Retrying
                )
            })
            .then_some(messages)
    })
    .await
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
