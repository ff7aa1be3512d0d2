//! The message hub's domain types: what channels send in, what goes back out, and the
//! conversations, messages and routing rules clients read over REST.
//!
//! The channel-side types mirror the WIT records of `nave:spoke/types` field for field (same
//! names, same serde shape as the host's generated bindings), so the host converts between the
//! two with serde instead of hand-written copies that could drift.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A file, image or other media attached to a message (WIT `attachment`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    /// `image`, `video`, `audio`, `file`, `location`, `fallback` or a platform's own kind.
    pub kind: String,
    /// Where the media can be fetched, when it has a URL.
    pub url: Option<String>,
    /// The MIME type, when known.
    pub mime_type: Option<String>,
    /// The platform's own data for kinds without a URL, as JSON text.
    pub payload: Option<String>,
}

/// A button or quick reply (WIT `choice`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Choice {
    /// The label shown.
    pub title: String,
    /// The value sent back when chosen.
    pub payload: String,
}

/// The profile a channel knows of a sender (WIT `profile`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SenderProfile {
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// A URL of the profile picture.
    pub picture_url: Option<String>,
}

/// A message a person wrote on a channel, normalized (WIT `message`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChannelMessage {
    /// The platform, e.g. `facebook`.
    pub platform: String,
    /// The channel's own id of this message.
    pub id: String,
    /// The channel's conversation id.
    pub conversation: String,
    /// The channel's id of the sender (for Messenger: the PSID).
    pub sender: String,
    /// The channel's id of the recipient (for Messenger: the page id).
    pub recipient: String,
    /// The text, when there is any.
    pub text: Option<String>,
    /// Attached media, in order.
    pub attachments: Vec<Attachment>,
    /// The payload of a quick reply or postback button.
    pub payload: Option<String>,
    /// When the person sent it, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// What the channel knows of the sender.
    pub sender_profile: Option<SenderProfile>,
    /// Anything else, as key and value.
    pub metadata: Vec<(String, String)>,
}

impl ChannelMessage {
    /// The value of a metadata entry.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets a metadata entry, replacing an earlier value.
    pub fn set_meta(&mut self, key: &str, value: impl Into<String>) {
        self.metadata.retain(|(k, _)| k != key);
        self.metadata.push((key.to_owned(), value.into()));
    }
}

/// Why a message is sent (WIT `send-reason`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum SendReason {
    /// A reply to a message the person sent recently.
    #[default]
    Response,
    /// A message the business sends on its own, within the platform's window.
    Update,
    /// A message outside the window, allowed by a platform tag.
    Tagged(String),
}

/// A message to send to a person through a channel (WIT `outbound-message`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reply {
    /// The channel's conversation id.
    pub conversation: String,
    /// The channel's id of the person.
    pub recipient: String,
    /// The text.
    pub text: Option<String>,
    /// Media to send, in order.
    pub attachments: Vec<Attachment>,
    /// Quick replies offered with it.
    pub choices: Vec<Choice>,
    /// Why it is sent.
    pub reason: SendReason,
    /// Anything else, as key and value.
    pub metadata: Vec<(String, String)>,
}

/// A file a processor stored (WIT `stored-file`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredFile {
    /// Where the channel had it.
    pub source_url: String,
    /// The key it was stored under.
    pub key: String,
    /// A URL clients may fetch it from for a while.
    pub url: Option<String>,
    /// Its MIME type.
    pub mime_type: Option<String>,
    /// The hex SHA-256 of its bytes.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// What a processor added to a message (WIT `enrichment`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Enrichment {
    /// Fields learnt about the sender, e.g. `phone` in E.164.
    pub contact_fields: Vec<(String, String)>,
    /// Files stored.
    pub files: Vec<StoredFile>,
    /// Anything else, as key and value.
    pub metadata: Vec<(String, String)>,
}

/// Whether a message came in from a person or goes out to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Written by a person on the channel.
    In,
    /// Sent by the bot or an agent.
    Out,
}

impl Direction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// In: stored, waiting for its turn in the conversation.
    Received,
    /// In: routed, processed and answered (or no rule asked for anything).
    Processed,
    /// In: not worked on because the plan or the wallet did not allow it.
    Refused,
    /// Out: waiting to be delivered.
    Queued,
    /// Out: the channel accepted it.
    Delivered,
    /// A step failed in a way that may pass; it is tried again at `next_attempt_at`.
    Retrying,
    /// It failed for good; visible in the dead letters and replayable.
    Dead,
}

impl MessageStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Received => "received",
            MessageStatus::Processed => "processed",
            MessageStatus::Refused => "refused",
            MessageStatus::Queued => "queued",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Retrying => "retrying",
            MessageStatus::Dead => "dead",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<MessageStatus> {
        Some(match text {
            "received" => MessageStatus::Received,
            "processed" => MessageStatus::Processed,
            "refused" => MessageStatus::Refused,
            "queued" => MessageStatus::Queued,
            "delivered" => MessageStatus::Delivered,
            "retrying" => MessageStatus::Retrying,
            "dead" => MessageStatus::Dead,
            _ => return None,
        })
    }
}

/// Who answers a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationMode {
    /// The routed bot answers.
    Bot,
    /// A rule handed it to people; no agent has taken it yet. The bot stays silent.
    Waiting,
    /// An agent holds it; the bot stays silent.
    Human,
}

impl ConversationMode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationMode::Bot => "bot",
            ConversationMode::Waiting => "waiting",
            ConversationMode::Human => "human",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<ConversationMode> {
        Some(match text {
            "bot" => ConversationMode::Bot,
            "waiting" => ConversationMode::Waiting,
            "human" => ConversationMode::Human,
            _ => return None,
        })
    }
}

/// A conversation between a tenant's channel and one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Conversation {
    /// The platform's id.
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The channel installation it came through.
    pub installation_id: Uuid,
    /// The platform, e.g. `facebook`.
    pub platform: String,
    /// The channel's id of the conversation.
    pub channel_conversation: String,
    /// The channel's id of the person (for Messenger: the PSID).
    pub sender: String,
    /// The channel's id of the business side (for Messenger: the page id).
    pub recipient: String,
    /// The platform contact behind the person, once known.
    pub contact_id: Option<Uuid>,
    /// Who answers it.
    pub mode: ConversationMode,
    /// The agent holding it, in `human` mode.
    pub assignee: Option<Uuid>,
    /// Messages in and out.
    pub messages: i64,
    /// When it started (ms since the epoch).
    pub created_at_ms: i64,
    /// When its last message came or went (ms since the epoch).
    pub last_message_at_ms: i64,
}

/// One message of a conversation, in or out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageRecord {
    /// The platform's id.
    pub id: Uuid,
    /// Its position in the hub's order.
    pub seq: i64,
    /// The conversation.
    pub conversation_id: Uuid,
    /// In or out.
    pub direction: Direction,
    /// In: the channel's message id. Out: the ids the channel gave it, once delivered.
    pub channel_id: Option<String>,
    /// `contact` for inbound; `bot:<installation>` or `agent:<user>` for outbound.
    pub author: String,
    /// Inbound: the message as the channel normalized it.
    pub inbound: Option<ChannelMessage>,
    /// Outbound: what is sent.
    pub outbound: Option<Reply>,
    /// Where it stands.
    pub status: MessageStatus,
    /// Attempts made at the failing step.
    pub attempts: i64,
    /// When it is tried again, while `retrying` (ms since the epoch).
    pub next_attempt_at_ms: Option<i64>,
    /// The last failure, while `retrying`, `dead` or `refused`.
    pub last_error: Option<String>,
    /// What processors added (inbound).
    pub enrichment: Option<Enrichment>,
    /// The inbound message a reply answers.
    pub reply_to: Option<Uuid>,
    /// When it was stored (ms since the epoch).
    pub created_at_ms: i64,
    /// When it last changed (ms since the epoch).
    pub updated_at_ms: i64,
}

/// One status a message went through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusChange {
    /// The status.
    pub status: MessageStatus,
    /// Why, when there is more to say (an error, the rule that matched, ...).
    pub detail: Option<String>,
    /// When (ms since the epoch).
    pub at_ms: i64,
}

/// A page of conversations; pass `next` back as `after` for the following one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConversationPage {
    /// The conversations.
    pub items: Vec<Conversation>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// A page of messages; pass `next` back as `after` for the following one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessagePage {
    /// The messages.
    pub items: Vec<MessageRecord>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// One message with every status it went through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageDetail {
    /// The message.
    pub message: MessageRecord,
    /// Its statuses, oldest first.
    pub history: Vec<StatusChange>,
}

/// Filters of the conversation list.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    /// Only this channel installation's.
    pub installation_id: Option<Uuid>,
    /// Only this contact's.
    pub contact_id: Option<Uuid>,
    /// Only those in this mode.
    pub mode: Option<ConversationMode>,
    /// Only those this agent holds.
    pub assignee: Option<Uuid>,
    /// Only those whose last message is older than this cursor (`<last_ms>:<id>`).
    pub after: Option<String>,
    /// Page size, 1–200.
    pub limit: u32,
}

/// When a routing rule applies. Every condition given must hold; none given matches everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleConditions {
    /// Only messages from this channel installation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation_id: Option<Uuid>,
    /// Only messages whose text matches this regular expression (Rust `regex` syntax; add
    /// `(?i)` for any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_pattern: Option<String>,
    /// Only messages with (true) or without (false) attachments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_attachment: Option<bool>,
    /// Only postbacks and quick replies whose payload equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// What a matching rule does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleActions {
    /// Processor installations to run, in order.
    #[serde(default)]
    pub processors: Vec<Uuid>,
    /// The bot installation that answers, unless a person holds the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<Uuid>,
    /// Hands the conversation to people: the bot stays silent until an agent hands it back.
    #[serde(default)]
    pub handoff: bool,
}

/// One routing rule; the first rule whose conditions hold decides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    /// A name for people (1–100 characters).
    pub name: String,
    /// When it applies.
    #[serde(default)]
    pub when: RuleConditions,
    /// What it does.
    #[serde(rename = "then")]
    pub actions: RuleActions,
}

/// A tenant's ordered routing rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoutingRules {
    /// The rules, first match wins.
    pub rules: Vec<RoutingRule>,
    /// Bumped by every change; send it back as `expected_version` to refuse lost updates.
    pub version: i64,
}

/// A message an agent sends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentMessage {
    /// The text (1–4000 characters) unless there are attachments.
    #[serde(default)]
    pub text: Option<String>,
    /// Media to send, by URL.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Quick replies to offer.
    #[serde(default)]
    pub choices: Vec<Choice>,
}

/// An inbound event for [`crate::MessageApi::ingest`], from the host's webhook inbox.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The channel installation.
    pub installation_id: Uuid,
    /// The message (or postback).
    pub message: ChannelMessage,
    /// The webhook's correlation id.
    pub correlation_id: String,
}
