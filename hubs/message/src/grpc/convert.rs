//! Conversions between the domain types and the generated protobuf messages.
//!
//! `*_from_pb` run in the client on replies from our own server, so a malformed value there is
//! reported as the field that was wrong rather than trusted. JSON-carried fields are decoded
//! with [`from_json`], which names the field on failure.

use nave_hub_core::ids::parse_id;
use nave_hub_core::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::pb;
use crate::types::{
    Conversation, ConversationMode, ConversationPage, Direction, MessageDetail, MessagePage,
    MessageRecord, MessageStatus, StatusChange,
};

/// Encodes a value carried as JSON text.
pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(Error::internal)
}

/// Decodes a value carried as JSON text; a bad value is an invalid `field`.
pub fn from_json<T: DeserializeOwned>(field: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::invalid(field, format!("not valid JSON: {e}")))
}

fn opt_id(field: &str, value: Option<&str>) -> Result<Option<Uuid>> {
    value.map(|v| parse_id(field, v)).transpose()
}

/// A conversation mode from the wire.
pub fn mode(field: &str, value: &str) -> Result<ConversationMode> {
    ConversationMode::parse(value)
        .ok_or_else(|| Error::invalid(field, "one of `bot`, `waiting` or `human`"))
}

fn status(value: &str) -> Result<MessageStatus> {
    MessageStatus::parse(value)
        .ok_or_else(|| Error::internal_msg(format!("message hub sent unknown status `{value}`")))
}

pub fn conversation_to_pb(c: Conversation) -> pb::Conversation {
    pb::Conversation {
        id: c.id.to_string(),
        tenant_id: c.tenant_id.to_string(),
        installation_id: c.installation_id.to_string(),
        platform: c.platform,
        channel_conversation: c.channel_conversation,
        sender: c.sender,
        recipient: c.recipient,
        contact_id: c.contact_id.map(|i| i.to_string()),
        mode: c.mode.as_str().to_owned(),
        assignee: c.assignee.map(|i| i.to_string()),
        messages: c.messages,
        created_at_ms: c.created_at_ms,
        last_message_at_ms: c.last_message_at_ms,
    }
}

pub fn conversation_from_pb(c: pb::Conversation) -> Result<Conversation> {
    Ok(Conversation {
        id: parse_id("id", &c.id)?,
        tenant_id: parse_id("tenant_id", &c.tenant_id)?,
        installation_id: parse_id("installation_id", &c.installation_id)?,
        platform: c.platform,
        channel_conversation: c.channel_conversation,
        sender: c.sender,
        recipient: c.recipient,
        contact_id: opt_id("contact_id", c.contact_id.as_deref())?,
        mode: mode("mode", &c.mode)?,
        assignee: opt_id("assignee", c.assignee.as_deref())?,
        messages: c.messages,
        created_at_ms: c.created_at_ms,
        last_message_at_ms: c.last_message_at_ms,
    })
}

pub fn conversation_page_to_pb(p: ConversationPage) -> pb::ConversationPage {
    pb::ConversationPage {
        items: p.items.into_iter().map(conversation_to_pb).collect(),
        next: p.next,
    }
}

pub fn conversation_page_from_pb(p: pb::ConversationPage) -> Result<ConversationPage> {
    Ok(ConversationPage {
        items: p
            .items
            .into_iter()
            .map(conversation_from_pb)
            .collect::<Result<_>>()?,
        next: p.next,
    })
}

pub fn record_to_pb(m: MessageRecord) -> Result<pb::MessageRecord> {
    Ok(pb::MessageRecord {
        id: m.id.to_string(),
        seq: m.seq,
        conversation_id: m.conversation_id.to_string(),
        direction: m.direction.as_str().to_owned(),
        channel_id: m.channel_id,
        author: m.author,
        inbound_json: m.inbound.as_ref().map(to_json).transpose()?,
        outbound_json: m.outbound.as_ref().map(to_json).transpose()?,
        status: m.status.as_str().to_owned(),
        attempts: m.attempts,
        next_attempt_at_ms: m.next_attempt_at_ms,
        last_error: m.last_error,
        enrichment_json: m.enrichment.as_ref().map(to_json).transpose()?,
        reply_to: m.reply_to.map(|r| r.to_string()),
        created_at_ms: m.created_at_ms,
        updated_at_ms: m.updated_at_ms,
    })
}

pub fn record_from_pb(m: pb::MessageRecord) -> Result<MessageRecord> {
    let direction = match m.direction.as_str() {
        "in" => Direction::In,
        "out" => Direction::Out,
        other => {
            return Err(Error::internal_msg(format!(
                "message hub sent unknown direction `{other}`"
            )));
        }
    };
    Ok(MessageRecord {
        id: parse_id("id", &m.id)?,
        seq: m.seq,
        conversation_id: parse_id("conversation_id", &m.conversation_id)?,
        direction,
        channel_id: m.channel_id,
        author: m.author,
        inbound: m
            .inbound_json
            .map(|j| from_json("inbound_json", &j))
            .transpose()?,
        outbound: m
            .outbound_json
            .map(|j| from_json("outbound_json", &j))
            .transpose()?,
        status: status(&m.status)?,
        attempts: m.attempts,
        next_attempt_at_ms: m.next_attempt_at_ms,
        last_error: m.last_error,
        enrichment: m
            .enrichment_json
            .map(|j| from_json("enrichment_json", &j))
            .transpose()?,
        reply_to: opt_id("reply_to", m.reply_to.as_deref())?,
        created_at_ms: m.created_at_ms,
        updated_at_ms: m.updated_at_ms,
    })
}

pub fn message_page_to_pb(p: MessagePage) -> Result<pb::MessagePage> {
    Ok(pb::MessagePage {
        items: p
            .items
            .into_iter()
            .map(record_to_pb)
            .collect::<Result<_>>()?,
        next: p.next,
    })
}

pub fn message_page_from_pb(p: pb::MessagePage) -> Result<MessagePage> {
    Ok(MessagePage {
        items: p
            .items
            .into_iter()
            .map(record_from_pb)
            .collect::<Result<_>>()?,
        next: p.next,
    })
}

pub fn detail_to_pb(d: MessageDetail) -> Result<pb::MessageDetail> {
    Ok(pb::MessageDetail {
        message: Some(record_to_pb(d.message)?),
        history: d
            .history
            .into_iter()
            .map(|h| pb::StatusChange {
                status: h.status.as_str().to_owned(),
                detail: h.detail,
                at_ms: h.at_ms,
            })
            .collect(),
    })
}

pub fn detail_from_pb(d: pb::MessageDetail) -> Result<MessageDetail> {
    Ok(MessageDetail {
        message: record_from_pb(
            d.message
                .ok_or_else(|| Error::internal_msg("message hub sent a detail without message"))?,
        )?,
        history: d
            .history
            .into_iter()
            .map(|h| {
                Ok(StatusChange {
                    status: status(&h.status)?,
                    detail: h.detail,
                    at_ms: h.at_ms,
                })
            })
            .collect::<Result<_>>()?,
    })
}
