//! The message hub's gRPC server: each rpc reads the caller's context, calls the wrapped
//! [`MessageApi`] and converts the result. No logic lives here.

use std::future::Future;
use std::sync::Arc;

use nave_hub_core::grpc::{ServiceToken, incoming_context};
use nave_hub_core::ids::parse_id;
use nave_hub_core::pb as common;
use nave_hub_core::wire::{page_to_pb, scope_from_pb};
use nave_hub_core::{Error, Result};
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::convert::*;
use super::pb::{self, message_server::Message, message_server::MessageServer};
use crate::api::MessageApi;
use crate::types::{AgentMessage, ConversationFilter, Inbound, RoutingRule, RoutingRules};

type Reply<T> = std::result::Result<Response<T>, Status>;

/// Serves a [`MessageApi`] over gRPC.
#[derive(Clone)]
pub struct MessageGrpc {
    /// The implementation called for every rpc (normally a `LocalMessages`).
    api: Arc<dyn MessageApi>,
    /// Required from callers when set.
    token: ServiceToken,
}

impl MessageGrpc {
    /// Wraps `api`; callers must send `token` when it is set.
    pub fn new(api: Arc<dyn MessageApi>, token: ServiceToken) -> Self {
        Self { api, token }
    }

    /// The tonic service, for adding to a shared `tonic::transport::Server`.
    pub fn into_service(self) -> MessageServer<Self> {
        MessageServer::new(self)
    }
}

/// Serves `api` on `listener` until `shutdown` completes (bind `127.0.0.1:0` in tests).
pub async fn serve(
    listener: TcpListener,
    api: Arc<dyn MessageApi>,
    token: ServiceToken,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(MessageGrpc::new(api, token).into_service())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(Error::internal)
}

fn id(field: &str, value: &str) -> std::result::Result<Uuid, Status> {
    parse_id(field, value).map_err(Status::from)
}

fn opt_id(field: &str, value: Option<&str>) -> std::result::Result<Option<Uuid>, Status> {
    value.map(|v| id(field, v)).transpose()
}

fn ok<T>(message: T) -> Reply<T> {
    Ok(Response::new(message))
}

fn rules_to_pb(rules: RoutingRules) -> Result<pb::RoutingRulesInfo> {
    Ok(pb::RoutingRulesInfo {
        rules_json: to_json(&rules.rules)?,
        version: rules.version,
    })
}

#[tonic::async_trait]
impl Message for MessageGrpc {
    async fn ingest(&self, request: Request<pb::IngestRequest>) -> Reply<pb::IngestReply> {
        let ctx = incoming_context(&self.token, &request)?;
        let batch = request
            .into_inner()
            .batch
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                Ok(Inbound {
                    tenant_id: id(&format!("batch[{i}].tenant_id"), &m.tenant_id)?,
                    installation_id: id(
                        &format!("batch[{i}].installation_id"),
                        &m.installation_id,
                    )?,
                    message: from_json(&format!("batch[{i}].message_json"), &m.message_json)?,
                    correlation_id: m.correlation_id,
                })
            })
            .collect::<std::result::Result<Vec<_>, Status>>()?;
        ok(pb::IngestReply {
            new: self.api.ingest(&ctx, batch).await?,
        })
    }

    async fn list_conversations(
        &self,
        request: Request<pb::ListConversationsRequest>,
    ) -> Reply<pb::ConversationPage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let filter = ConversationFilter {
            installation_id: opt_id("installation_id", m.installation_id.as_deref())?,
            contact_id: opt_id("contact_id", m.contact_id.as_deref())?,
            mode: m.mode.as_deref().map(|v| mode("mode", v)).transpose()?,
            assignee: opt_id("assignee", m.assignee.as_deref())?,
            after: m.after,
            limit: m.limit,
        };
        ok(conversation_page_to_pb(
            self.api.list_conversations(&ctx, tenant, filter).await?,
        ))
    }

    async fn get_conversation(
        &self,
        request: Request<pb::ConversationRequest>,
    ) -> Reply<pb::Conversation> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let conversation = id("conversation_id", &m.conversation_id)?;
        ok(conversation_to_pb(
            self.api
                .get_conversation(&ctx, tenant, conversation)
                .await?,
        ))
    }

    async fn list_messages(
        &self,
        request: Request<pb::ListMessagesRequest>,
    ) -> Reply<pb::MessagePage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let conversation = id("conversation_id", &m.conversation_id)?;
        let page = self
            .api
            .list_messages(&ctx, tenant, conversation, m.after, m.limit)
            .await?;
        ok(message_page_to_pb(page)?)
    }

    async fn get_message(&self, request: Request<pb::MessageRequest>) -> Reply<pb::MessageDetail> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let message = id("message_id", &m.message_id)?;
        ok(detail_to_pb(
            self.api.get_message(&ctx, tenant, message).await?,
        )?)
    }

    async fn send_message(
        &self,
        request: Request<pb::SendMessageRequest>,
    ) -> Reply<pb::MessageRecord> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let conversation = id("conversation_id", &m.conversation_id)?;
        let message: AgentMessage = from_json("message_json", &m.message_json)?;
        ok(record_to_pb(
            self.api
                .send_message(&ctx, tenant, conversation, message)
                .await?,
        )?)
    }

    async fn take_conversation(
        &self,
        request: Request<pb::ConversationRequest>,
    ) -> Reply<pb::Conversation> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let conversation = id("conversation_id", &m.conversation_id)?;
        ok(conversation_to_pb(
            self.api
                .take_conversation(&ctx, tenant, conversation)
                .await?,
        ))
    }

    async fn hand_back(
        &self,
        request: Request<pb::ConversationRequest>,
    ) -> Reply<pb::Conversation> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let conversation = id("conversation_id", &m.conversation_id)?;
        ok(conversation_to_pb(
            self.api.hand_back(&ctx, tenant, conversation).await?,
        ))
    }

    async fn routing_rules(
        &self,
        request: Request<pb::RoutingRulesRequest>,
    ) -> Reply<pb::RoutingRulesInfo> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        ok(rules_to_pb(self.api.routing_rules(&ctx, tenant).await?)?)
    }

    async fn put_routing_rules(
        &self,
        request: Request<pb::PutRoutingRulesRequest>,
    ) -> Reply<pb::RoutingRulesInfo> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let rules: Vec<RoutingRule> = from_json("rules", &m.rules_json)?;
        ok(rules_to_pb(
            self.api
                .put_routing_rules(&ctx, tenant, rules, m.expected_version)
                .await?,
        )?)
    }

    async fn dead_letters(
        &self,
        request: Request<pb::DeadLettersRequest>,
    ) -> Reply<pb::MessagePage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        ok(message_page_to_pb(
            self.api
                .dead_letters(&ctx, tenant, m.after, m.limit)
                .await?,
        )?)
    }

    async fn replay(&self, request: Request<pb::MessageRequest>) -> Reply<pb::MessageRecord> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let message = id("message_id", &m.message_id)?;
        ok(record_to_pb(self.api.replay(&ctx, tenant, message).await?)?)
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
