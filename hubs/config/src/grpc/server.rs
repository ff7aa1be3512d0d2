//! The config hub's gRPC server: each rpc reads the caller's context, calls the wrapped
//! [`ConfigApi`] and converts the result. No logic lives here.

use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use nave_hub_core::grpc::{ServiceToken, incoming_context};
use nave_hub_core::{Error, Result, wire};
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::convert::*;
use super::pb::{self, config_server::Config, config_server::ConfigServer};
use crate::api::ConfigApi;
use nave_hub_core::pb as common;

type Reply<T> = std::result::Result<Response<T>, Status>;

/// Serves a [`ConfigApi`] over gRPC.
#[derive(Clone)]
pub struct ConfigGrpc {
    /// The implementation called for every rpc (normally a `LocalConfig`).
    api: Arc<dyn ConfigApi>,
    /// Required from callers when set.
    token: ServiceToken,
}

impl ConfigGrpc {
    /// Wraps `api`; callers must send `token` when it is set.
    pub fn new(api: Arc<dyn ConfigApi>, token: ServiceToken) -> Self {
        Self { api, token }
    }

    /// The tonic service, for adding to a shared `tonic::transport::Server`.
    pub fn into_service(self) -> ConfigServer<Self> {
        ConfigServer::new(self)
    }
}

/// Serves `api` on `listener` until `shutdown` completes (bind `127.0.0.1:0` in tests).
pub async fn serve(
    listener: TcpListener,
    api: Arc<dyn ConfigApi>,
    token: ServiceToken,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(ConfigGrpc::new(api, token).into_service())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(Error::internal)
}

fn ok<T>(message: T) -> Reply<T> {
    Ok(Response::new(message))
}

fn bad<T>(result: Result<T>) -> std::result::Result<T, Status> {
    result.map_err(Status::from)
}

#[tonic::async_trait]
impl Config for ConfigGrpc {
    async fn list_definitions(
        &self,
        request: Request<pb::ListDefinitionsRequest>,
    ) -> Reply<pb::DefinitionList> {
        let ctx = incoming_context(&self.token, &request)?;
        let definitions = self.api.list_definitions(&ctx).await?;
        ok(pb::DefinitionList {
            definitions: definitions.into_iter().map(def_to_pb).collect(),
        })
    }

    async fn resolve(&self, request: Request<pb::ResolveRequest>) -> Reply<pb::Resolved> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let at = bad(at_from_pb(
            m.tenant_id.as_deref(),
            m.installation_id.as_deref(),
        ))?;
        ok(resolved_to_pb(
            self.api.resolve(&ctx, &m.key, at, m.reveal).await?,
        ))
    }

    async fn resolve_all(
        &self,
        request: Request<pb::ResolveAllRequest>,
    ) -> Reply<pb::ResolvedList> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let at = bad(at_from_pb(
            m.tenant_id.as_deref(),
            m.installation_id.as_deref(),
        ))?;
        let all = self.api.resolve_all(&ctx, at, m.reveal).await?;
        ok(pb::ResolvedList {
            settings: all.into_iter().map(resolved_to_pb).collect(),
        })
    }

    async fn set(&self, request: Request<pb::SetRequest>) -> Reply<pb::Change> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let scope = bad(scope_from_pb(m.scope))?;
        let value = bad(json_from_pb("value", &m.value_json))?;
        ok(change_to_pb(
            self.api
                .set(&ctx, scope, &m.key, value, m.expected_version)
                .await?,
        ))
    }

    async fn unset(&self, request: Request<pb::UnsetRequest>) -> Reply<pb::Change> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let scope = bad(scope_from_pb(m.scope))?;
        ok(change_to_pb(self.api.unset(&ctx, scope, &m.key).await?))
    }

    async fn rollback(&self, request: Request<pb::RollbackRequest>) -> Reply<pb::Change> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let scope = bad(scope_from_pb(m.scope))?;
        ok(change_to_pb(
            self.api.rollback(&ctx, scope, &m.key, m.to_version).await?,
        ))
    }

    async fn history(&self, request: Request<pb::HistoryRequest>) -> Reply<pb::ChangeList> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let scope = bad(scope_from_pb(m.scope))?;
        let changes = self.api.history(&ctx, scope, &m.key, m.limit).await?;
        ok(pb::ChangeList {
            changes: changes.into_iter().map(change_to_pb).collect(),
        })
    }

    type WatchStream = BoxStream<'static, std::result::Result<pb::ChangeNotice, Status>>;

    async fn watch(&self, request: Request<pb::WatchRequest>) -> Reply<Self::WatchStream> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let notices = self.api.watch(&ctx, m.after_version).await?;
        ok(notices
            .map(|n| n.map(notice_to_pb).map_err(Status::from))
            .boxed())
    }

    async fn list_events(
        &self,
        request: Request<common::ListEventsRequest>,
    ) -> Reply<common::EventPage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let scope = bad(wire::scope_from_pb(m.scope))?;
        let page = self
            .api
            .list_events(&ctx, scope, m.after_seq, m.limit)
            .await?;
        ok(wire::page_to_pb(page))
    }
}
