//! The billing hub's gRPC server: each rpc reads the caller's context, calls the wrapped
//! [`BillingApi`] and converts the result. No logic lives here.

use std::future::Future;
use std::sync::Arc;

use nave_hub_core::grpc::{ServiceToken, incoming_context};
use nave_hub_core::ids::parse_id;
use nave_hub_core::{Error, Result};
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::convert::*;
use super::pb::{self, billing_server::Billing, billing_server::BillingServer};
use crate::api::BillingApi;
use nave_hub_core::pb as common;
use nave_hub_core::wire::{page_to_pb, scope_from_pb};

type Reply<T> = std::result::Result<Response<T>, Status>;

/// Serves a [`BillingApi`] over gRPC.
#[derive(Clone)]
pub struct BillingGrpc {
    /// The implementation called for every rpc (normally a `LocalBilling`).
    api: Arc<dyn BillingApi>,
    /// Required from callers when set.
    token: ServiceToken,
}

impl BillingGrpc {
    /// Wraps `api`; callers must send `token` when it is set.
    pub fn new(api: Arc<dyn BillingApi>, token: ServiceToken) -> Self {
        Self { api, token }
    }

    /// The tonic service, for adding to a shared `tonic::transport::Server`.
    pub fn into_service(self) -> BillingServer<Self> {
        BillingServer::new(self)
    }
}

/// Serves `api` on `listener` until `shutdown` completes (bind `127.0.0.1:0` in tests).
pub async fn serve(
    listener: TcpListener,
    api: Arc<dyn BillingApi>,
    token: ServiceToken,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(BillingGrpc::new(api, token).into_service())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(Error::internal)
}

fn id(field: &str, value: &str) -> std::result::Result<uuid::Uuid, Status> {
    parse_id(field, value).map_err(Status::from)
}

fn ok<T>(message: T) -> Reply<T> {
    Ok(Response::new(message))
}

#[tonic::async_trait]
impl Billing for BillingGrpc {
    async fn import_snapshot(&self, request: Request<pb::Snapshot>) -> Reply<pb::ImportReport> {
        let ctx = incoming_context(&self.token, &request)?;
        let snapshot = snapshot_from_pb(request.into_inner())?;
        ok(report_to_pb(
            self.api.import_snapshot(&ctx, snapshot).await?,
        ))
    }

    async fn tenant_billing(
        &self,
        request: Request<pb::TenantRequest>,
    ) -> Reply<pb::TenantBillingInfo> {
        let ctx = incoming_context(&self.token, &request)?;
        let tenant = id("tenant_id", &request.get_ref().tenant_id)?;
        ok(billing_to_pb(self.api.tenant_billing(&ctx, tenant).await?))
    }

    async fn list_plans(&self, request: Request<pb::Empty>) -> Reply<pb::PlanList> {
        let ctx = incoming_context(&self.token, &request)?;
        let plans = self.api.list_plans(&ctx).await?;
        ok(pb::PlanList {
            plans: plans.into_iter().map(plan_to_pb).collect(),
        })
    }

    async fn check_and_count(&self, request: Request<pb::UsageRequest>) -> Reply<pb::Usage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let metric = metric(&m.metric)?;
        ok(usage_to_pb(
            self.api
                .check_and_count(&ctx, tenant, metric, m.amount)
                .await?,
        ))
    }

    async fn release(&self, request: Request<pb::UsageRequest>) -> Reply<pb::Usage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let metric = metric(&m.metric)?;
        ok(usage_to_pb(
            self.api.release(&ctx, tenant, metric, m.amount).await?,
        ))
    }

    async fn count_once(&self, request: Request<pb::KeyedUsageRequest>) -> Reply<pb::Usage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let metric = metric(&m.metric)?;
        ok(usage_to_pb(
            self.api
                .count_once(&ctx, tenant, metric, m.amount, &m.key)
                .await?,
        ))
    }

    async fn release_once(&self, request: Request<pb::KeyedUsageRequest>) -> Reply<pb::Usage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let metric = metric(&m.metric)?;
        ok(usage_to_pb(
            self.api.release_once(&ctx, tenant, metric, &m.key).await?,
        ))
    }

    async fn set_usage(&self, request: Request<pb::SetUsageRequest>) -> Reply<pb::Usage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let metric = metric(&m.metric)?;
        ok(usage_to_pb(
            self.api.set_usage(&ctx, tenant, metric, m.used).await?,
        ))
    }

    async fn can_install(&self, request: Request<pb::CanInstallRequest>) -> Reply<pb::Empty> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        self.api.can_install(&ctx, tenant, &m.app).await?;
        ok(pb::Empty {})
    }

    async fn list_events(
        &self,
        request: Request<common::ListEventsRequest>,
    ) -> Reply<common::EventPage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let scope = scope_from_pb(m.scope).map_err(Status::from)?;
        let page = self
            .api
            .list_events(&ctx, scope, m.after_seq, m.limit)
            .await?;
        ok(page_to_pb(page))
    }
}
