//! [`ConfigClient`]: the [`ConfigApi`] of a config hub in another process.

use std::future::Future;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use nave_hub_core::grpc::{self, ServiceToken};
use nave_hub_core::{AuthContext, EventPage, EventScope, Result, wire};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use super::convert::*;
use super::pb::{self, config_client::ConfigClient as Stub};
use crate::api::ConfigApi;
use crate::registry::SettingDefView;
use crate::types::{Change, ChangeNotice, ResolveAt, Resolved, Scope};
use nave_hub_core::pb as common;

/// Calls a remote config hub; behaves exactly like a `LocalConfig`, errors included.
#[derive(Debug, Clone)]
pub struct ConfigClient {
    /// The generated stub over a shared HTTP/2 channel (cheap to clone per call).
    stub: Stub<Channel>,
    /// Sent with every call when set.
    token: ServiceToken,
}

impl ConfigClient {
    /// Connects to `url` (e.g. `http://config:50057`).
    pub async fn connect(url: &str, token: ServiceToken) -> Result<Self> {
        Ok(Self::from_channel(
            grpc::connect("config", url).await?,
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

#[async_trait]
impl ConfigApi for ConfigClient {
    async fn list_definitions(&self, ctx: &AuthContext) -> Result<Vec<SettingDefView>> {
        let reply = self
            .call(ctx, pb::ListDefinitionsRequest {}, |mut s, r| async move {
                s.list_definitions(r).await
            })
            .await?;
        reply.definitions.into_iter().map(def_from_pb).collect()
    }

    async fn resolve(
        &self,
        ctx: &AuthContext,
        key: &str,
        at: ResolveAt,
        reveal: bool,
    ) -> Result<Resolved> {
        let m = pb::ResolveRequest {
            key: key.to_owned(),
            tenant_id: at.tenant_id.map(|t| t.to_string()),
            installation_id: at.installation_id.map(|i| i.to_string()),
            reveal,
        };
        resolved_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.resolve(r).await })
                .await?,
        )
    }

    async fn resolve_all(
        &self,
        ctx: &AuthContext,
        at: ResolveAt,
        reveal: bool,
    ) -> Result<Vec<Resolved>> {
        let m = pb::ResolveAllRequest {
            tenant_id: at.tenant_id.map(|t| t.to_string()),
            installation_id: at.installation_id.map(|i| i.to_string()),
            reveal,
        };
        let reply = self
            .call(ctx, m, |mut s, r| async move { s.resolve_all(r).await })
            .await?;
        reply.settings.into_iter().map(resolved_from_pb).collect()
    }

    async fn set(
        &self,
        ctx: &AuthContext,
        scope: Scope,
        key: &str,
        value: serde_json::Value,
        expected_version: Option<u64>,
    ) -> Result<Change> {
        let m = pb::SetRequest {
            scope: Some(scope_to_pb(scope)),
            key: key.to_owned(),
            value_json: json_to_pb(&value),
            expected_version,
        };
        change_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.set(r).await })
                .await?,
        )
    }

    async fn unset(&self, ctx: &AuthContext, scope: Scope, key: &str) -> Result<Change> {
        let m = pb::UnsetRequest {
            scope: Some(scope_to_pb(scope)),
            key: key.to_owned(),
        };
        change_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.unset(r).await })
                .await?,
        )
    }

    async fn rollback(
        &self,
        ctx: &AuthContext,
        scope: Scope,
        key: &str,
        to_version: u64,
    ) -> Result<Change> {
        let m = pb::RollbackRequest {
            scope: Some(scope_to_pb(scope)),
            key: key.to_owned(),
            to_version,
        };
        change_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.rollback(r).await })
                .await?,
        )
    }

    async fn history(
        &self,
        ctx: &AuthContext,
        scope: Scope,
        key: &str,
        limit: u32,
    ) -> Result<Vec<Change>> {
        let m = pb::HistoryRequest {
            scope: Some(scope_to_pb(scope)),
            key: key.to_owned(),
            limit,
        };
        let reply = self
            .call(ctx, m, |mut s, r| async move { s.history(r).await })
            .await?;
        reply.changes.into_iter().map(change_from_pb).collect()
    }

    async fn watch(
        &self,
        ctx: &AuthContext,
        after_version: u64,
    ) -> Result<BoxStream<'static, Result<ChangeNotice>>> {
        let request = grpc::outgoing_request(&self.token, ctx, pb::WatchRequest { after_version })?;
        let notices = self
            .stub
            .clone()
            .watch(request)
            .await
            .map_err(|status| grpc::from_status(&status))?
            .into_inner();
        Ok(notices
            .map(|item| match item {
                Ok(notice) => notice_from_pb(notice),
                Err(status) => Err(grpc::from_status(&status)),
            })
            .boxed())
    }

    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        let m = common::ListEventsRequest {
            scope: Some(wire::scope_to_pb(scope)),
            after_seq,
            limit,
        };
        wire::page_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.list_events(r).await })
                .await?,
        )
    }
}
