//! The app hub's gRPC server: each rpc reads the caller's context, calls the wrapped
//! [`AppApi`] and converts the result. No logic lives here.

use std::future::Future;
use std::sync::Arc;

use nave_hub_core::grpc::{ServiceToken, incoming_context};
use nave_hub_core::pb as common;
use nave_hub_core::wire::{page_to_pb, scope_from_pb};
use nave_hub_core::{Error, Result};
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::convert::*;
use super::pb::{self, app_server::App, app_server::AppServer};
use crate::api::AppApi;

type Reply<T> = std::result::Result<Response<T>, Status>;

/// Serves an [`AppApi`] over gRPC.
#[derive(Clone)]
pub struct AppGrpc {
    /// The implementation called for every rpc (normally a `LocalApp`).
    api: Arc<dyn AppApi>,
    /// Required from callers when set.
    token: ServiceToken,
}

impl AppGrpc {
    /// Wraps `api`; callers must send `token` when it is set.
    pub fn new(api: Arc<dyn AppApi>, token: ServiceToken) -> Self {
        Self { api, token }
    }

    /// The tonic service, for adding to a shared `tonic::transport::Server`.
    pub fn into_service(self) -> AppServer<Self> {
        AppServer::new(self)
    }
}

/// Serves `api` on `listener` until `shutdown` completes (bind `127.0.0.1:0` in tests).
pub async fn serve(
    listener: TcpListener,
    api: Arc<dyn AppApi>,
    token: ServiceToken,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(AppGrpc::new(api, token).into_service())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(Error::internal)
}

fn ok<T>(message: T) -> Reply<T> {
    Ok(Response::new(message))
}

fn uuid(field: &str, value: &str) -> std::result::Result<uuid::Uuid, Status> {
    id(field, value).map_err(Status::from)
}

#[tonic::async_trait]
impl App for AppGrpc {
    async fn create_listing(&self, request: Request<pb::NewListing>) -> Reply<pb::Listing> {
        let ctx = incoming_context(&self.token, &request)?;
        let new = new_listing_from_pb(request.into_inner())?;
        ok(listing_to_pb(self.api.create_listing(&ctx, new).await?))
    }

    async fn update_listing(
        &self,
        request: Request<pb::UpdateListingRequest>,
    ) -> Reply<pb::Listing> {
        let ctx = incoming_context(&self.token, &request)?;
        let (app, change) = change_from_pb(request.into_inner())?;
        ok(listing_to_pb(
            self.api.update_listing(&ctx, app, change).await?,
        ))
    }

    async fn get_listing(&self, request: Request<pb::AppRequest>) -> Reply<pb::Listing> {
        let ctx = incoming_context(&self.token, &request)?;
        let app = uuid("app_id", &request.get_ref().app_id)?;
        ok(listing_to_pb(self.api.get_listing(&ctx, app).await?))
    }

    async fn find_listing(&self, request: Request<pb::FindListingRequest>) -> Reply<pb::Listing> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = m
            .tenant_id
            .as_deref()
            .map(|t| uuid("tenant_id", t))
            .transpose()?;
        ok(listing_to_pb(
            self.api.find_listing(&ctx, tenant, &m.name).await?,
        ))
    }

    async fn list_catalogue(
        &self,
        request: Request<pb::CatalogueRequest>,
    ) -> Reply<pb::ListingList> {
        let ctx = incoming_context(&self.token, &request)?;
        let tenant = request
            .get_ref()
            .tenant_id
            .as_deref()
            .map(|t| uuid("tenant_id", t))
            .transpose()?;
        let listings = self.api.list_catalogue(&ctx, tenant).await?;
        ok(pb::ListingList {
            listings: listings.into_iter().map(listing_to_pb).collect(),
        })
    }

    async fn record_version(
        &self,
        request: Request<pb::RecordVersionRequest>,
    ) -> Reply<pb::AppVersion> {
        let ctx = incoming_context(&self.token, &request)?;
        let (app, new) = new_version_from_pb(request.into_inner())?;
        ok(version_to_pb(
            self.api.record_version(&ctx, app, new).await?,
        ))
    }

    async fn list_versions(&self, request: Request<pb::AppRequest>) -> Reply<pb::VersionList> {
        let ctx = incoming_context(&self.token, &request)?;
        let app = uuid("app_id", &request.get_ref().app_id)?;
        let versions = self.api.list_versions(&ctx, app).await?;
        ok(pb::VersionList {
            versions: versions.into_iter().map(version_to_pb).collect(),
        })
    }

    async fn check_guards(&self, request: Request<pb::GuardsRequest>) -> Reply<pb::GuardReport> {
        let ctx = incoming_context(&self.token, &request)?;
        let tenant = uuid("tenant_id", &request.get_ref().tenant_id)?;
        let app = uuid("app_id", &request.get_ref().app_id)?;
        ok(report_to_pb(
            self.api.check_guards(&ctx, tenant, app).await?,
        ))
    }

    async fn create_subscription(
        &self,
        request: Request<pb::CreateSubscriptionRequest>,
    ) -> Reply<pb::Subscription> {
        let ctx = incoming_context(&self.token, &request)?;
        let (tenant, new) = new_subscription_from_pb(request.into_inner())?;
        ok(subscription_to_pb(
            self.api.create_subscription(&ctx, tenant, new).await?,
        ))
    }

    async fn activate_subscription(
        &self,
        request: Request<pb::ActivateSubscriptionRequest>,
    ) -> Reply<pb::Subscription> {
        let ctx = incoming_context(&self.token, &request)?;
        let sub = uuid("subscription_id", &request.get_ref().subscription_id)?;
        let installation = uuid("installation_id", &request.get_ref().installation_id)?;
        ok(subscription_to_pb(
            self.api
                .activate_subscription(&ctx, sub, installation)
                .await?,
        ))
    }

    async fn fail_subscription(
        &self,
        request: Request<pb::FailSubscriptionRequest>,
    ) -> Reply<pb::Subscription> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let sub = uuid("subscription_id", &m.subscription_id)?;
        ok(subscription_to_pb(
            self.api.fail_subscription(&ctx, sub, m.reason).await?,
        ))
    }

    async fn list_subscriptions(
        &self,
        request: Request<pb::TenantRequest>,
    ) -> Reply<pb::SubscriptionList> {
        let ctx = incoming_context(&self.token, &request)?;
        let tenant = uuid("tenant_id", &request.get_ref().tenant_id)?;
        let subs = self.api.list_subscriptions(&ctx, tenant).await?;
        ok(pb::SubscriptionList {
            subscriptions: subs.into_iter().map(subscription_to_pb).collect(),
        })
    }

    async fn get_subscription(
        &self,
        request: Request<pb::SubscriptionRequest>,
    ) -> Reply<pb::Subscription> {
        let ctx = incoming_context(&self.token, &request)?;
        let sub = uuid("subscription_id", &request.get_ref().subscription_id)?;
        ok(subscription_to_pb(
            self.api.get_subscription(&ctx, sub).await?,
        ))
    }

    async fn set_version(
        &self,
        request: Request<pb::SetVersionRequest>,
    ) -> Reply<pb::Subscription> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let sub = uuid("subscription_id", &m.subscription_id)?;
        ok(subscription_to_pb(
            self.api.set_version(&ctx, sub, m.version).await?,
        ))
    }

    async fn cancel_subscription(
        &self,
        request: Request<pb::SubscriptionRequest>,
    ) -> Reply<pb::Subscription> {
        let ctx = incoming_context(&self.token, &request)?;
        let sub = uuid("subscription_id", &request.get_ref().subscription_id)?;
        ok(subscription_to_pb(
            self.api.cancel_subscription(&ctx, sub).await?,
        ))
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
