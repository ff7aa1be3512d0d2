//! [`MessageApi`]: what the message hub offers, and [`LocalMessages`], its implementation over
//! the hub's own database and engine.
//!
//! | method | callers |
//! |---|---|
//! | `ingest` | the platform itself (the webhook inbox) |
//! | `list_conversations`, `get_conversation`, `list_messages`, `get_message` | tenant members |
//! | `send_message`, `take_conversation`, `hand_back` | agents and up |
//! | `routing_rules` | tenant members |
//! | `put_routing_rules` | admins and up |
//! | `dead_letters`, `replay` | agents and up |
//! | `list_events` | admins and up for their tenant; platform admins |
//!
//! Another tenant's conversation or message is `not_found`, like a tenant the caller is not in.

use std::sync::Arc;

use async_trait::async_trait;
use nave_hub_core::{
    AuthContext, Clock, Error, EventLog, EventPage, EventScope, NewEvent, Principal, Result, Role,
};
use serde_json::json;
use uuid::Uuid;

use crate::engine::{Engine, EngineConfig, Peers};
use crate::rules;
use crate::spokes::Spokes;
use crate::store::{MessageStore, NewInbound, NewOutbound};
use crate::types::{
    AgentMessage, Conversation, ConversationFilter, ConversationMode, ConversationPage, Inbound,
    MessageDetail, MessagePage, MessageRecord, Reply, RoutingRule, RoutingRules, SendReason,
};

/// The message hub.
#[async_trait]
pub trait MessageApi: Send + Sync {
    /// Stores inbound messages from the webhook inbox (each channel id once per installation)
    /// and wakes their conversations; returns, per message, whether it was new.
    async fn ingest(&self, ctx: &AuthContext, batch: Vec<Inbound>) -> Result<Vec<bool>>;

    /// A tenant's conversations, most recently active first.
    async fn list_conversations(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        filter: ConversationFilter,
    ) -> Result<ConversationPage>;

    /// One conversation.
    async fn get_conversation(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<Conversation>;

    /// A conversation's messages in order, after `after` (a message's `seq`).
    async fn list_messages(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        conversation: Uuid,
        after: i64,
        limit: u32,
    ) -> Result<MessagePage>;

    /// One message with every status it went through.
    async fn get_message(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<MessageDetail>;

    /// Queues an agent's message on a conversation; it is delivered through the channel.
    async fn send_message(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        conversation: Uuid,
        message: AgentMessage,
    ) -> Result<MessageRecord>;

    /// The calling agent takes the conversation: the bot stays silent until it is handed back.
    async fn take_conversation(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        conversation: Uuid,
    ) -> Result<Conversation>;

    /// Gives the conversation back to the bot.
    async fn hand_back(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        conversation: Uuid,
    ) -> Result<Conversation>;

    /// The tenant's routing rules.
    async fn routing_rules(&self, ctx: &AuthContext, tenant_id: Uuid) -> Result<RoutingRules>;

    /// Replaces the tenant's routing rules, if they are still at `expected_version` when given.
    async fn put_routing_rules(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        rules: Vec<RoutingRule>,
        expected_version: Option<i64>,
    ) -> Result<RoutingRules>;

    /// The tenant's dead messages, oldest first, after `after` (a `seq`).
    async fn dead_letters(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        after: i64,
        limit: u32,
    ) -> Result<MessagePage>;

    /// Puts a dead message back in line, attempts reset.
    async fn replay(&self, ctx: &AuthContext, tenant_id: Uuid, id: Uuid) -> Result<MessageRecord>;

    /// Reads the hub's event log.
    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage>;
}

/// The message hub in this process.
#[derive(Clone)]
pub struct LocalMessages {
    store: MessageStore,
    engine: Arc<Engine>,
    events: EventLog,
    spokes: Arc<dyn Spokes>,
    clock: Arc<dyn Clock>,
}

impl LocalMessages {
    /// Opens the hub over its store and starts its engine (waking the conversations that still
    /// have work from before a restart).
    pub async fn start(
        store: MessageStore,
        spokes: Arc<dyn Spokes>,
        peers: Peers,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Result<Self> {
        let engine = Engine::new(store.clone(), spokes.clone(), peers, clock.clone(), config);
        let woken = engine.recover().await?;
        if woken > 0 {
            tracing::info!(
                conversations = woken,
                "resuming conversations with pending work"
            );
        }
        Ok(LocalMessages {
            events: EventLog::new(store.db().clone()),
            store,
            engine,
            spokes,
            clock,
        })
    }

    /// The engine, for its counters.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    async fn conversation_of(&self, tenant_id: Uuid, id: Uuid) -> Result<Conversation> {
        self.store
            .conversation(id)
            .await?
            .filter(|c| c.tenant_id == tenant_id)
            .ok_or_else(|| Error::not_found(format!("no conversation `{id}` in this workspace")))
    }

    fn record(
        &self,
        ctx: &AuthContext,
        tenant: Uuid,
        kind: &'static str,
        payload: serde_json::Value,
    ) -> nave_hub_core::events::EventRecord {
        NewEvent::new(kind, payload)
            .in_tenant(tenant)
            .record(ctx, self.clock.now_ms())
    }
}

fn limit(limit: u32) -> u32 {
    if limit == 0 { 50 } else { limit.min(200) }
}

#[async_trait]
impl MessageApi for LocalMessages {
    async fn ingest(&self, ctx: &AuthContext, batch: Vec<Inbound>) -> Result<Vec<bool>> {
        if ctx.principal != Principal::System {
            return Err(Error::permission_denied(
                "only the platform feeds the inbox",
            ));
        }
        let now = self.clock.now_ms();
        let rows = batch
            .iter()
            .map(|inbound| {
                let m = &inbound.message;
                Ok(NewInbound {
                    id: Uuid::now_v7(),
                    tenant_id: inbound.tenant_id,
                    installation_id: inbound.installation_id,
                    platform: m.platform.clone(),
                    channel_conversation: if m.conversation.is_empty() {
                        m.sender.clone()
                    } else {
                        m.conversation.clone()
                    },
                    sender: m.sender.clone(),
                    recipient: m.recipient.clone(),
                    channel_id: m.id.clone(),
                    body: serde_json::to_string(m).map_err(Error::internal)?,
                    at_ms: now,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let started = |m: &NewInbound, id: Uuid| {
            self.record(
                ctx,
                m.tenant_id,
                "conversation_started",
                json!({"conversation_id": id, "installation_id": m.installation_id, "platform": m.platform}),
            )
        };
        let stored = self.store.ingest(&rows, &started).await?;
        let mut woken = std::collections::HashSet::new();
        for (conversation, new) in &stored {
            if *new && woken.insert(*conversation) {
                self.engine.kick(*conversation);
            }
        }
        Ok(stored.into_iter().map(|(_, new)| new).collect())
    }

    async fn list_conversations(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        mut filter: ConversationFilter,
    ) -> Result<ConversationPage> {
        ctx.require_tenant_role(tenant_id, Role::Viewer)?;
        filter.limit = limit(filter.limit);
        self.store.conversations(tenant_id, &filter).await
    }

    async fn get_conversation(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<Conversation> {
        ctx.require_tenant_role(tenant_id, Role::Viewer)?;
        self.conversation_of(tenant_id, id).await
    }

    async fn list_messages(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        conversation: Uuid,
        after: i64,
        page: u32,
    ) -> Result<MessagePage> {
        ctx.require_tenant_role(tenant_id, Role::Viewer)?;
        self.conversation_of(tenant_id, conversation).await?;
        let page = limit(page);
        let mut rows = self.store.messages(conversation, after, page + 1).await?;
        let more = rows.len() > page as usize;
        rows.truncate(page as usize);
        let items = rows
            .iter()
            .map(|r| r.record())
            .collect::<Result<Vec<_>>>()?;
        let next = more
            .then(|| items.last().map(|m| m.seq.to_string()))
            .flatten();
        Ok(MessagePage { items, next })
    }

    async fn get_message(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<MessageDetail> {
        ctx.require_tenant_role(tenant_id, Role::Viewer)?;
        let row = self
            .store
            .message(id)
            .await?
            .filter(|m| m.tenant_id == tenant_id.to_string())
            .ok_or_else(|| Error::not_found(format!("no message `{id}` in this workspace")))?;
        Ok(MessageDetail {
            message: row.record()?,
            history: self.store.history(id).await?,
        })
    }

    async fn send_message(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        conversation: Uuid,
        message: AgentMessage,
    ) -> Result<MessageRecord> {
        ctx.require_tenant_role(tenant_id, Role::Agent)?;
        let actor = ctx.actor();
        let text = message
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if text.is_none() && message.attachments.is_empty() {
            return Err(Error::invalid(
                "text",
                "give a text or at least one attachment",
            ));
        }
        if text.is_some_and(|t| t.chars().count() > 4000) {
            return Err(Error::invalid("text", "at most 4000 characters"));
        }
        if message.choices.len() > 13 {
            return Err(Error::invalid("choices", "at most 13 quick replies"));
        }
        for (i, attachment) in message.attachments.iter().enumerate() {
            let url = attachment.url.as_deref().unwrap_or_default();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(Error::invalid(
                    format!("attachments[{i}].url"),
                    "give an http(s) URL the channel can fetch",
                ));
            }
        }
        let conversation = self.conversation_of(tenant_id, conversation).await?;
        let reply = Reply {
            conversation: conversation.channel_conversation.clone(),
            recipient: conversation.sender.clone(),
            text: text.map(str::to_owned),
            attachments: message.attachments,
            choices: message.choices,
            reason: SendReason::Response,
            metadata: vec![("nave.agent".into(), actor.clone())],
        };
        let id = Uuid::now_v7();
        let new = NewOutbound {
            id,
            author: format!("agent:{actor}"),
            body: serde_json::to_string(&reply).map_err(Error::internal)?,
            reply_to: None,
        };
        self.store
            .queue_agent_message(&conversation, &new, self.clock.now_ms())
            .await?;
        // Read as accepted, before a worker can deliver it: the answer says `queued`.
        let row = self
            .store
            .message(id)
            .await?
            .ok_or_else(|| Error::internal_msg("a queued message vanished"))?;
        self.engine.kick(conversation.id);
        row.record()
    }

    async fn take_conversation(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        conversation: Uuid,
    ) -> Result<Conversation> {
        ctx.require_tenant_role(tenant_id, Role::Agent)?;
        let user = ctx.require_user().map_err(|_| {
            Error::permission_denied("only people take conversations; sign in as an agent")
        })?;
        let conversation = self.conversation_of(tenant_id, conversation).await?;
        let event = self.record(
            ctx,
            tenant_id,
            "conversation_taken",
            json!({"conversation_id": conversation.id, "agent": user, "previous_mode": conversation.mode}),
        );
        self.store
            .set_mode(conversation.id, ConversationMode::Human, Some(user), &event)
            .await?;
        self.conversation_of(tenant_id, conversation.id).await
    }

    async fn hand_back(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        conversation: Uuid,
    ) -> Result<Conversation> {
        ctx.require_tenant_role(tenant_id, Role::Agent)?;
        let conversation = self.conversation_of(tenant_id, conversation).await?;
        let event = self.record(
            ctx,
            tenant_id,
            "conversation_handed_back",
            json!({"conversation_id": conversation.id, "previous_assignee": conversation.assignee}),
        );
        self.store
            .set_mode(conversation.id, ConversationMode::Bot, None, &event)
            .await?;
        self.conversation_of(tenant_id, conversation.id).await
    }

    async fn routing_rules(&self, ctx: &AuthContext, tenant_id: Uuid) -> Result<RoutingRules> {
        ctx.require_tenant_role(tenant_id, Role::Viewer)?;
        self.store.rules(tenant_id).await
    }

    async fn put_routing_rules(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        rules: Vec<RoutingRule>,
        expected_version: Option<i64>,
    ) -> Result<RoutingRules> {
        ctx.require_tenant_role(tenant_id, Role::Admin)?;
        rules::validate(&rules, tenant_id, &self.spokes)?;
        let event = self.record(
            ctx,
            tenant_id,
            "routing_rules_changed",
            json!({"rules": rules.len(), "names": rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>()}),
        );
        let version = self
            .store
            .put_rules(
                tenant_id,
                &rules,
                expected_version,
                self.clock.now_ms(),
                &event,
            )
            .await?;
        self.engine.rules_changed(tenant_id);
        Ok(RoutingRules { rules, version })
    }

    async fn dead_letters(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        after: i64,
        page: u32,
    ) -> Result<MessagePage> {
        ctx.require_tenant_role(tenant_id, Role::Agent)?;
        let page = limit(page);
        let mut rows = self.store.dead_letters(tenant_id, after, page + 1).await?;
        let more = rows.len() > page as usize;
        rows.truncate(page as usize);
        let items = rows
            .iter()
            .map(|r| r.record())
            .collect::<Result<Vec<_>>>()?;
        let next = more
            .then(|| items.last().map(|m| m.seq.to_string()))
            .flatten();
        Ok(MessagePage { items, next })
    }

    async fn replay(&self, ctx: &AuthContext, tenant_id: Uuid, id: Uuid) -> Result<MessageRecord> {
        ctx.require_tenant_role(tenant_id, Role::Agent)?;
        let row = self
            .store
            .message(id)
            .await?
            .filter(|m| m.tenant_id == tenant_id.to_string())
            .ok_or_else(|| Error::not_found(format!("no message `{id}` in this workspace")))?;
        if row.status != "dead" {
            return Err(Error::failed_precondition(
                "not_dead",
                format!(
                    "message `{id}` is `{}`; only dead messages are replayed",
                    row.status
                ),
            ));
        }
        let revived = self
            .store
            .revive(
                &row,
                &format!("replayed by {}", ctx.actor()),
                self.clock.now_ms(),
            )
            .await?;
        if revived {
            self.engine
                .kick(Uuid::parse_str(&row.conversation_id).map_err(Error::internal)?);
        }
        let row = self
            .store
            .message(id)
            .await?
            .ok_or_else(|| Error::internal_msg("a replayed message vanished"))?;
        row.record()
    }

    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        match scope {
            _ if ctx.platform_admin => {}
            EventScope::Tenant(tenant) => ctx.require_tenant_role(tenant, Role::Admin)?,
            _ => ctx.require_platform_admin()?,
        }
        self.events.read(scope, after_seq, limit).await
    }
}
