//! Which Botpress user speaks for a platform contact, kept in the spoke's kv.
//!
//! The contact is the message's `nave.contact` metadata when the message hub set it,
//! else the channel's sender id. Its Botpress user (and, on the Chat API, the user key
//! and conversation) is created once and reused for every later message, so the bot
//! keeps its memory of the person. Keys are scoped by API and bot/webhook, so changing
//! either setting starts afresh instead of reusing users of another bot.

use nave_sdk::prelude::*;
use serde::{Deserialize, Serialize};

/// The metadata key the message hub puts the platform contact id under.
pub const CONTACT_METADATA: &str = "nave.contact";

/// A Botpress user standing for one platform contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotpressUser {
    /// The user's id in Botpress.
    pub user_id: String,
    /// The Chat API key Botpress issued for the user; `None` on the Converse API and when
    /// the spoke signs keys itself (it is derived again on every call, never stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_key: Option<String>,
    /// The Chat API conversation the contact's messages go to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
}

/// The contact a message comes from: `nave.contact`, else the channel sender.
pub fn contact_of(message: &Message) -> Result<String, SpokeError> {
    message
        .metadata
        .iter()
        .find(|(key, _)| key == CONTACT_METADATA)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
        .or_else(|| Some(message.sender.trim()).filter(|s| !s.is_empty()))
        .map(str::to_owned)
        .ok_or_else(|| {
            SpokeError::invalid_input(format!(
                "the message has neither a `{CONTACT_METADATA}` metadata entry nor a sender, so no Botpress user can speak for it"
            ))
        })
}

/// The kv key of `contact`'s user for one API (`converse`, `chat`) and bot or webhook.
pub fn kv_key(api: &str, scope: &str, contact: &str) -> String {
    format!("users/{api}/{scope}/{contact}")
}

/// The stored user under `key`, if any.
pub fn load(key: &str) -> Result<Option<BotpressUser>, SpokeError> {
    kv::get_json(key)
}

/// Stores `user` under `key`.
pub fn save(key: &str, user: &BotpressUser) -> Result<(), SpokeError> {
    kv::set_json(key, user)
}

/// Forgets the user under `key`, e.g. when Botpress no longer knows it.
pub fn forget(key: &str) -> Result<(), SpokeError> {
    kv::delete(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(sender: &str, metadata: &[(&str, &str)]) -> Message {
        Message {
            sender: sender.into(),
            metadata: metadata
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_contact_is_the_platform_contact_else_the_sender() {
        let contact = "0193c1d2-0000-7000-8000-000000000001";
        assert_eq!(
            contact_of(&message(
                "psid-1",
                &[("nave.tenant", "t"), (CONTACT_METADATA, contact)]
            )),
            Ok(contact.to_owned())
        );
        assert_eq!(
            contact_of(&message("psid-1", &[(CONTACT_METADATA, " ")])),
            Ok("psid-1".into())
        );
        assert!(matches!(
            contact_of(&message("", &[])),
            Err(SpokeError::InvalidInput(m)) if m.contains(CONTACT_METADATA)
        ));
    }

    #[test]
    fn stored_users_round_trip_without_empty_fields() {
        let user = BotpressUser {
            user_id: "u1".into(),
            user_key: None,
            conversation_id: Some("c1".into()),
        };
        let json = serde_json::to_string(&user).unwrap();
        assert_eq!(json, r#"{"user_id":"u1","conversation_id":"c1"}"#);
        assert_eq!(serde_json::from_str::<BotpressUser>(&json).unwrap(), user);
        assert_eq!(kv_key("chat", "wh-1", "c-9"), "users/chat/wh-1/c-9");
    }
}
