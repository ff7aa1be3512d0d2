//! [`MessageClient`]: the [`MessageApi`] of a message hub in another process.

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
use super::pb::{self, message_client::MessageClient as Stub};
use crate::api::MessageApi;
use crate::types::{
    AgentMessage, Conversation, ConversationFilter, ConversationPage, Inbound, MessageDetail,
    MessagePage, MessageRecord, RoutingRule, RoutingRules,
};

/// Calls a remote message hub; behaves exactly like a `LocalMessages`, errors included.
#[derive(Debug, Clone)]
pub struct MessageClient {
    /// The generated stub over a shared HTTP/2 channel (cheap to clone per call).
    stub: Stub<Channel>,
    /// Sent with every call when set.
    token: ServiceToken,
}

impl MessageClient {
    /// Connects to `url` (e.g. `http://message:50058`).
    pub async fn connect(url: &str, token: ServiceToken) -> Result<Self> {
        Ok(Self::from_channel(
            grpc::connect("message", url).await?,
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

fn conversation_request(tenant_id: Uuid, conversation: Uuid) -> pb::ConversationRequest {
    pb::ConversationRequest {
        tenant_id: tenant_id.to_string(),
        conversation_id: conversation.to_string(),
    }
}

fn message_request(tenant_id: Uuid, id: Uuid) -> pb::MessageRequest {
    pb::MessageRequest {
        tenant_id: tenant_id.to_string(),
        message_id: id.to_string(),
    }
}

fn rules_from_pb(r: pb::RoutingRulesInfo) -> Result<RoutingRules> {
    Ok(RoutingRules {
        rules: from_json("rules_json", &r.rules_json)?,
        version: r.version,
    })
}

#[async_trait]
impl MessageApi for MessageClient {
    async fn ingest(&self, ctx: &AuthContext, batch: Vec<Inbound>) -> Result<Vec<bool>> {
        let batch = batch
            .into_iter()
            .map(|i| {
                Ok(pb::Inbound {
                    tenant_id: i.tenant_id.to_string(),
                    installation_id: i.installation_id.to_string(),
                    message_json: to_json(&i.message)?,
                    correlation_id: i.correlation_id,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let m = pb::IngestRequest { batch };
        Ok(self
            .call(ctx, m, |mut s, r| async move { s.ingest(r).await })
            .await?
            .new)
    }

    async fn list_conversations(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        filter: ConversationFilter,
    ) -> Result<ConversationPage> {
        let m = pb::ListConversationsRequest {
            tenant_id: tenant_id.to_string(),
            installation_id: filter.installation_id.map(|i| i.to_string()),
            contact_id: filter.contact_id.map(|i| i.to_string()),
            mode: filter.mode.map(|m| m.as_str().to_owned()),
            assignee: filter.assignee.map(|i| i.to_string()),
            after: filter.after,
            limit: filter.limit,
        };
        conversation_page_from_pb(
            self.call(
                ctx,
                m,
                |mut s, r| async move { s.list_conversations(r).await },
            )
            .await?,
        )
    }

    async fn get_conversation(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<Conversation> {
        let m = conversation_request(tenant_id, id);
        conversation_from_pb(
            self.call(
                ctx,
                m,
                |mut s, r| async move { s.get_conversation(r).await },
            )
            .await?,
        )
    }

    async fn list_messages(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        conversation: Uuid,
        after: i64,
        limit: u32,
    ) -> Result<MessagePage> {
        let m = pb::ListMessagesRequest {
            tenant_id: tenant_id.to_string(),
            conversation_id: conversation.to_string(),
            after,
            limit,
        };
        message_page_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.list_messages(r).await })
                .await?,
        )
    }

    async fn get_message(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<MessageDetail> {
        let m = message_request(tenant_id, id);
        detail_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.get_message(r).await })
                .await?,
        )
    }

    async fn send_message(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        conversation: Uuid,
        message: AgentMessage,
    ) -> Result<MessageRecord> {
        let m = pb::SendMessageRequest {
            tenant_id: tenant_id.to_string(),
            conversation_id: conversation.to_string(),
            message_json: to_json(&message)?,
        };
        record_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.send_message(r).await })
                .await?,
        )
    }

    async fn take_conversation(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        conversation: Uuid,
    ) -> Result<Conversation> {
        let m = conversation_request(tenant_id, conversation);
        conversation_from_pb(
            self.call(
                ctx,
                m,
                |mut s, r| async move { s.take_conversation(r).await },
            )
            .await?,
        )
    }

    async fn hand_back(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        conversation: Uuid,
    ) -> Result<Conversation> {
        let m = conversation_request(tenant_id, conversation);
        conversation_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.hand_back(r).await })
                .await?,
        )
    }

    async fn routing_rules(&self, ctx: &AuthContext, tenant_id: Uuid) -> Result<RoutingRules> {
        let m = pb::RoutingRulesRequest {
            tenant_id: tenant_id.to_string(),
        };
        rules_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.routing_rules(r).await })
                .await?,
        )
    }

    async fn put_routing_rules(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        rules: Vec<RoutingRule>,
        expected_version: Option<i64>,
    ) -> Result<RoutingRules> {
        let m = pb::PutRoutingRulesRequest {
            tenant_id: tenant_id.to_string(),
            rules_json: to_json(&rules)?,
            expected_version,
        };
        rules_from_pb(
            self.call(
                ctx,
                m,
                |mut s, r| async move { s.put_routing_rules(r).await },
            )
            .await?,
        )
    }

    async fn dead_letters(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        after: i64,
        limit: u32,
    ) -> Result<MessagePage> {
        let m = pb::DeadLettersRequest {
            tenant_id: tenant_id.to_string(),
            after,
            limit,
        };
        message_page_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.dead_letters(r).await })
                .await?,
        )
    }

    async fn replay(&self, ctx: &AuthContext, tenant_id: Uuid, id: Uuid) -> Result<MessageRecord> {
        let m = message_request(tenant_id, id);
        record_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.replay(r).await })
                .await?,
        )
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
