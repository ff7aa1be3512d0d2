//! [`BillingClient`]: the [`BillingApi`] of a billing hub in another process.

use std::future::Future;

use async_trait::async_trait;
use nave_hub_core::grpc::{self, ServiceToken};
use nave_hub_core::pb as common;
use nave_hub_core::wire::{page_from_pb, scope_to_pb};
use nave_hub_core::{AuthContext, EventPage, EventScope, Result};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::convert::*;
use super::pb::{self, billing_client::BillingClient as Stub};
use crate::api::BillingApi;
use crate::types::{ImportReport, Metric, Plan, Snapshot, TenantBilling, Usage};

/// Calls a remote billing hub; behaves exactly like a `LocalBilling`, errors included.
#[derive(Debug, Clone)]
pub struct BillingClient {
    /// The generated stub over a shared HTTP/2 channel (cheap to clone per call).
    stub: Stub<Channel>,
    /// Sent with every call when set.
    token: ServiceToken,
}

impl BillingClient {
    /// Connects to `url` (e.g. `http://billing:50055`).
    pub async fn connect(url: &str, token: ServiceToken) -> Result<Self> {
        Ok(Self::from_channel(
            grpc::connect("billing", url).await?,
            token,
        ))
    }

    /// Uses an existing channel (e.g. a lazily connecting one).
    pub fn from_channel(channel: Channel, token: ServiceToken) -> Self {
        Self {
            stub: Stub::new(channel),
            token,
        }
    }

    async fn call<Q, R, F, Fut>(&self, ctx: &AuthContext, message: Q, rpc: F) -> Result<R>
    where
        F: FnOnce(Stub<Channel>, Request<Q>) -> Fut,
        Fut: Future<Output = std::result::Result<Response<R>, Status>>,
    {
        grpc::unary(&self.token, ctx, self.stub.clone(), message, rpc).await
    }
}

fn usage_req(tenant_id: Uuid, metric: Metric, amount: u64) -> pb::UsageRequest {
    pb::UsageRequest {
        tenant_id: tenant_id.to_string(),
        metric: metric.as_str().to_owned(),
        amount,
    }
}

fn keyed_req(tenant_id: Uuid, metric: Metric, amount: u64, key: &str) -> pb::KeyedUsageRequest {
    pb::KeyedUsageRequest {
        tenant_id: tenant_id.to_string(),
        metric: metric.as_str().to_owned(),
        amount,
        key: key.to_owned(),
    }
}

#[async_trait]
impl BillingApi for BillingClient {
    async fn import_snapshot(&self, ctx: &AuthContext, snapshot: Snapshot) -> Result<ImportReport> {
        let m = snapshot_to_pb(snapshot);
        report_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.import_snapshot(r).await })
                .await?,
        )
    }

    async fn tenant_billing(&self, ctx: &AuthContext, tenant_id: Uuid) -> Result<TenantBilling> {
        let m = pb::TenantRequest {
            tenant_id: tenant_id.to_string(),
        };
        billing_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.tenant_billing(r).await })
                .await?,
        )
    }

    async fn list_plans(&self, ctx: &AuthContext) -> Result<Vec<Plan>> {
        let list = self
            .call(ctx, pb::Empty {}, |mut s, r| async move {
                s.list_plans(r).await
            })
            .await?;
        list.plans.into_iter().map(plan_from_pb).collect()
    }

    async fn check_and_count(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        amount: u64,
    ) -> Result<Usage> {
        let m = usage_req(tenant_id, metric, amount);
        usage_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.check_and_count(r).await })
                .await?,
        )
    }

    async fn release(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        amount: u64,
    ) -> Result<Usage> {
        let m = usage_req(tenant_id, metric, amount);
        usage_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.release(r).await })
                .await?,
        )
    }

    async fn count_once(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        amount: u64,
        key: &str,
    ) -> Result<Usage> {
        let m = keyed_req(tenant_id, metric, amount, key);
        usage_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.count_once(r).await })
                .await?,
        )
    }

    async fn release_once(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        key: &str,
    ) -> Result<Usage> {
        let m = keyed_req(tenant_id, metric, 0, key);
        usage_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.release_once(r).await })
                .await?,
        )
    }

    async fn set_usage(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        used: u64,
    ) -> Result<Usage> {
        let m = pb::SetUsageRequest {
            tenant_id: tenant_id.to_string(),
            metric: metric.as_str().to_owned(),
            used,
        };
        usage_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.set_usage(r).await })
                .await?,
        )
    }

    async fn can_install(&self, ctx: &AuthContext, tenant_id: Uuid, app: &str) -> Result<()> {
        let m = pb::CanInstallRequest {
            tenant_id: tenant_id.to_string(),
            app: app.to_owned(),
        };
        self.call(ctx, m, |mut s, r| async move { s.can_install(r).await })
            .await?;
        Ok(())
    }

    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        let m = common::ListEventsRequest {
            scope: Some(scope_to_pb(scope)),
            after_seq,
            limit,
        };
        page_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.list_events(r).await })
                .await?,
        )
    }
}
