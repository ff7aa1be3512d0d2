//! [`AppClient`]: the [`AppApi`] of an app hub in another process.

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
use super::pb::{self, app_client::AppClient as Stub};
use crate::api::AppApi;
use crate::types::{
    AppVersion, GuardReport, Listing, ListingChange, NewListing, NewSubscription, NewVersion,
    Subscription,
};

/// Calls a remote app hub; behaves exactly like a `LocalApp`, errors included.
#[derive(Debug, Clone)]
pub struct AppClient {
    /// The generated stub over a shared HTTP/2 channel (cheap to clone per call).
    stub: Stub<Channel>,
    /// Sent with every call when set.
    token: ServiceToken,
}

impl AppClient {
    /// Connects to `url` (e.g. `http://app:50054`).
    pub async fn connect(url: &str, token: ServiceToken) -> Result<Self> {
        Ok(Self::from_channel(grpc::connect("app", url).await?, token))
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

fn app(app_id: Uuid) -> pb::AppRequest {
    pb::AppRequest {
        app_id: app_id.to_string(),
    }
}

fn sub(subscription_id: Uuid) -> pb::SubscriptionRequest {
    pb::SubscriptionRequest {
        subscription_id: subscription_id.to_string(),
    }
}

#[async_trait]
impl AppApi for AppClient {
    async fn create_listing(&self, ctx: &AuthContext, request: NewListing) -> Result<Listing> {
        let m = new_listing_to_pb(request);
        let l = self
            .call(ctx, m, |mut s, r| async move { s.create_listing(r).await })
            .await?;
        reply(listing_from_pb(l))
    }

    async fn update_listing(
        &self,
        ctx: &AuthContext,
        app_id: Uuid,
        change: ListingChange,
    ) -> Result<Listing> {
        let m = change_to_pb(app_id, change);
        let l = self
            .call(ctx, m, |mut s, r| async move { s.update_listing(r).await })
            .await?;
        reply(listing_from_pb(l))
    }

    async fn get_listing(&self, ctx: &AuthContext, app_id: Uuid) -> Result<Listing> {
        let l = self
            .call(ctx, app(app_id), |mut s, r| async move {
                s.get_listing(r).await
            })
            .await?;
        reply(listing_from_pb(l))
    }

    async fn find_listing(
        &self,
        ctx: &AuthContext,
        tenant_id: Option<Uuid>,
        name: &str,
    ) -> Result<Listing> {
        let m = pb::FindListingRequest {
            tenant_id: tenant_id.map(|t| t.to_string()),
            name: name.to_owned(),
        };
        let l = self
            .call(ctx, m, |mut s, r| async move { s.find_listing(r).await })
            .await?;
        reply(listing_from_pb(l))
    }

    async fn list_catalogue(
        &self,
        ctx: &AuthContext,
        tenant_id: Option<Uuid>,
    ) -> Result<Vec<Listing>> {
        let m = pb::CatalogueRequest {
            tenant_id: tenant_id.map(|t| t.to_string()),
        };
        let list = self
            .call(ctx, m, |mut s, r| async move { s.list_catalogue(r).await })
            .await?;
        reply(all(list.listings, listing_from_pb))
    }

    async fn record_version(
        &self,
        ctx: &AuthContext,
        app_id: Uuid,
        request: NewVersion,
    ) -> Result<AppVersion> {
        let m = new_version_to_pb(app_id, request);
        let v = self
            .call(ctx, m, |mut s, r| async move { s.record_version(r).await })
            .await?;
        reply(version_from_pb(v))
    }

    async fn list_versions(&self, ctx: &AuthContext, app_id: Uuid) -> Result<Vec<AppVersion>> {
        let list = self
            .call(ctx, app(app_id), |mut s, r| async move {
                s.list_versions(r).await
            })
            .await?;
        reply(all(list.versions, version_from_pb))
    }

    async fn check_guards(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        app_id: Uuid,
    ) -> Result<GuardReport> {
        let m = pb::GuardsRequest {
            tenant_id: tenant_id.to_string(),
            app_id: app_id.to_string(),
        };
        let report = self
            .call(ctx, m, |mut s, r| async move { s.check_guards(r).await })
            .await?;
        reply(report_from_pb(report))
    }

    async fn create_subscription(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: NewSubscription,
    ) -> Result<Subscription> {
        let m = new_subscription_to_pb(tenant_id, request);
        let s = self
            .call(
                ctx,
                m,
                |mut s, r| async move { s.create_subscription(r).await },
            )
            .await?;
        reply(subscription_from_pb(s))
    }

    async fn activate_subscription(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
        installation_id: Uuid,
    ) -> Result<Subscription> {
        let m = pb::ActivateSubscriptionRequest {
            subscription_id: subscription_id.to_string(),
            installation_id: installation_id.to_string(),
        };
        let s = self
            .call(ctx, m, |mut s, r| async move {
                s.activate_subscription(r).await
            })
            .await?;
        reply(subscription_from_pb(s))
    }

    async fn fail_subscription(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
        reason: String,
    ) -> Result<Subscription> {
        let m = pb::FailSubscriptionRequest {
            subscription_id: subscription_id.to_string(),
            reason,
        };
        let s = self
            .call(
                ctx,
                m,
                |mut s, r| async move { s.fail_subscription(r).await },
            )
            .await?;
        reply(subscription_from_pb(s))
    }

    async fn list_subscriptions(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
    ) -> Result<Vec<Subscription>> {
        let m = pb::TenantRequest {
            tenant_id: tenant_id.to_string(),
        };
        let list = self
            .call(
                ctx,
                m,
                |mut s, r| async move { s.list_subscriptions(r).await },
            )
            .await?;
        reply(all(list.subscriptions, subscription_from_pb))
    }

    async fn get_subscription(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
    ) -> Result<Subscription> {
        let s = self
            .call(ctx, sub(subscription_id), |mut s, r| async move {
                s.get_subscription(r).await
            })
            .await?;
        reply(subscription_from_pb(s))
    }

    async fn set_version(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
        version: String,
    ) -> Result<Subscription> {
        let m = pb::SetVersionRequest {
            subscription_id: subscription_id.to_string(),
            version,
        };
        let s = self
            .call(ctx, m, |mut s, r| async move { s.set_version(r).await })
            .await?;
        reply(subscription_from_pb(s))
    }

    async fn cancel_subscription(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
    ) -> Result<Subscription> {
        let s = self
            .call(ctx, sub(subscription_id), |mut s, r| async move {
                s.cancel_subscription(r).await
            })
            .await?;
        reply(subscription_from_pb(s))
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
        let page = self
            .call(ctx, m, |mut s, r| async move { s.list_events(r).await })
            .await?;
        page_from_pb(page)
    }
}
