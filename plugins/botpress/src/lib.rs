//! The Botpress bot spoke: answers people's messages with a Botpress bot.
//!
//! The installation's `api` setting picks the API:
//!
//! - `converse` ([`converse`]): Botpress v12's Converse API on a self-hosted server,
//!   one synchronous call per message;
//! - `chat` ([`chat`]): Botpress Cloud's Chat API, users and conversations created once
//!   per contact, the bot's replies read back from the conversation; with an encryption
//!   key the spoke signs user keys itself ([`jwt`]).
//!
//! Which Botpress user speaks for a platform contact lives in the spoke's kv
//! ([`users`]). Text, choice/quick-reply and image replies (and cards, files, locations)
//! become outbound messages to the sender ([`replies`]); errors map to the contract's
//! kinds in [`errors`]. The pure parts are plain functions with unit tests that run
//! natively; only the functions that call the host need a wasm runtime.

pub mod chat;
pub mod converse;
pub mod errors;
pub mod jwt;
pub mod replies;
pub mod settings;
pub mod users;

use nave_sdk::prelude::*;

use settings::{Api, Settings};

struct Botpress;

impl Spoke for Botpress {
    fn describe() -> Manifest {
        Manifest {
            name: "botpress".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            role: Role::Bot,
            description:
                "Botpress: answers with a Botpress bot, through the v12 Converse API or the Cloud Chat API."
                    .into(),
            allowed_hosts: vec![
                "{{ config.base_url }}".into(),
                "chat.botpress.cloud".into(),
            ],
            settings: settings::specs(),
        }
    }

    /// Refuses an installation whose settings are incomplete or contradictory.
    fn install() -> Result<(), SpokeError> {
        Settings::load().map(|_| ())
    }
}

impl Bot for Botpress {
    fn converse(message: Message) -> Result<Vec<OutboundMessage>, SpokeError> {
        let settings = Settings::load()?;
        match &settings.api {
            Api::Converse {
                bot_id,
                auth_token,
                included_contexts,
            } => converse::converse(
                &settings.base_url,
                bot_id,
                auth_token.as_deref(),
                included_contexts,
                &message,
            ),
            Api::Chat {
                webhook_id,
                encryption_key,
                reply_timeout_ms,
            } => chat::ChatApi::new(
                &settings.base_url,
                webhook_id,
                encryption_key.as_deref(),
                *reply_timeout_ms,
            )
            .converse(&message),
        }
    }
}

/// Logs the reply types that became nothing: unknown to the spoke, or `typing` indicators.
pub(crate) fn log_skipped(skipped: &[String]) {
    for kind in skipped {
        if kind == "typing" {
            nave_sdk::debug!("skipped a `typing` indicator from Botpress");
        } else {
            nave_sdk::info!("skipped a Botpress reply of unsupported type `{kind}`");
        }
    }
}

nave_sdk::export_bot!(Botpress);
