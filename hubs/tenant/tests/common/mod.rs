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
use nave_tenant::grpc::{TenantClient, serve};
use nave_tenant::{LocalTenant, NewTenant, Tenant, TenantApi, TenantConfig};
use tokio::sync::oneshot;
use uuid::Uuid;

/// One tenant hub under test.
pub struct Hub {
    /// The implementation under test (local or gRPC client).
    pub api: Arc<dyn TenantApi>,
    /// The hub behind it.
    pub local: LocalTenant,
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
    let local = LocalTenant::open(&db.config, TenantConfig::default(), clock.clone())
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
    let served: Arc<dyn TenantApi> = Arc::new(hub.local.clone());
    tokio::spawn(serve(listener, served, token.clone(), async {
        let _ = rx.await;
    }));
    let client = tokio::time::timeout(
        Duration::from_secs(10),
        TenantClient::connect(&format!("http://{addr}"), token),
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

/// A platform admin who is a member of nothing.
pub fn platform_admin() -> AuthContext {
    let mut ctx = AuthContext::user(new_id());
    ctx.platform_admin = true;
    ctx
}

/// A tenant with one member of each role, and a user of another tenant.
pub struct Team {
    pub tenant: Tenant,
    pub owner: Uuid,
    pub admin: Uuid,
    pub agent: Uuid,
    pub viewer: Uuid,
    /// Owner of another tenant, member of nothing here.
    pub outsider: Uuid,
    pub other: Tenant,
}

impl Team {
    pub fn slug(&self) -> &str {
        &self.tenant.slug
    }

    /// The members' ids by role, most powerful first.
    pub fn by_role(&self) -> [(Role, Uuid); 4] {
        [
            (Role::Owner, self.owner),
            (Role::Admin, self.admin),
            (Role::Agent, self.agent),
            (Role::Viewer, self.viewer),
        ]
    }
}

pub async fn create(hub: &Hub, owner: Uuid, slug: &str) -> Tenant {
    hub.api
        .create_tenant(
            &user(owner),
            NewTenant {
                slug: slug.into(),
                name: format!("The {slug} team"),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("[{}] create {slug}: {e:?}", hub.label))
}

pub async fn team(hub: &Hub) -> Team {
    let owner = new_id();
    let tenant = create(hub, owner, "acme").await;
    let outsider = new_id();
    let other = create(hub, outsider, "globex").await;
    let mut ids = Vec::new();
    for role in [Role::Admin, Role::Agent, Role::Viewer] {
        let id = new_id();
        hub.api
            .add_member(&user(owner), &tenant.slug, id, role)
            .await
            .unwrap_or_else(|e| panic!("[{}] add {role}: {e:?}", hub.label));
        ids.push(id);
    }
    Team {
        tenant,
        owner,
        admin: ids[0],
        agent: ids[1],
        viewer: ids[2],
        outsider,
        other,
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

/// The role of `user` in the tenant, as the platform sees it.
pub async fn role(hub: &Hub, tenant: &Tenant, user: Uuid) -> Option<Role> {
    hub.api
        .role_of(&AuthContext::system(), user, tenant.id)
        .await
        .unwrap()
}
