//! The Facebook Messenger channel spoke.
//!
//! - Webhooks in ([`webhook`]): the subscription handshake (`GET` with
//!   `hub.verify_token`), then signed event batches (`POST` with
//!   `x-hub-signature-256`), turned into messages, postbacks, deliveries and reads.
//!   New senders get their profile looked up once ([`profile`]).
//! - Replies out ([`send`]): the Send API, with long texts split to Messenger's
//!   2000-character limit and attachments sent by URL.
//! - Install ([`graph`]): subscribes the page to the app ("auto-connect"); uninstall
//!   unsubscribes it.
//!
//! The pure parts (signature check, payload parsing, splitting, error mapping) are
//! plain functions with unit tests that run natively; only the functions that call
//! the host need a wasm runtime.

pub mod graph;
pub mod profile;
pub mod send;
pub mod webhook;

use nave_sdk::prelude::*;

/// The Graph API base used when an installation does not give one.
pub const DEFAULT_GRAPH_API_BASE: &str = "https://graph.facebook.com/v21.0";

/// The installation's settings, read once per call.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The id of the Facebook page the installation serves.
    pub page_id: String,
    /// The page access token, for the Send API and profile look-ups.
    pub page_access_token: String,
    /// The app secret, the key of the webhook signatures.
    pub app_secret: String,
    /// The token Facebook echoes back during the subscription handshake.
    pub verify_token: String,
    /// The Graph API base URL, without a trailing `/`.
    pub graph_api_base: String,
}

impl Settings {
    /// Reads the settings; an `invalid-input` error names a missing one.
    pub fn load() -> Result<Self, SpokeError> {
        Ok(Settings {
            page_id: config::require("page_id")?,
            page_access_token: config::require("page_access_token")?,
            app_secret: config::require("app_secret")?,
            verify_token: config::require("verify_token")?,
            graph_api_base: config::get_or("graph_api_base", DEFAULT_GRAPH_API_BASE)
                .trim_end_matches('/')
                .to_owned(),
        })
    }
}

struct Facebook;

impl Spoke for Facebook {
    fn describe() -> Manifest {
        Manifest {
            name: "facebook".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            role: Role::Channel,
            description: "Facebook Messenger: page conversations through the Messenger Platform."
                .into(),
            allowed_hosts: vec!["{{ config.graph_api_base }}".into()],
            settings: vec![
                SettingSpec::required("page_id", "The id of the Facebook page."),
                SettingSpec::required("page_access_token", "A page access token of the page.")
                    .secret(),
                SettingSpec::required("app_secret", "The Facebook app's secret.").secret(),
                SettingSpec::required(
                    "verify_token",
                    "The token given as the webhook's verify token in the app dashboard.",
                )
                .secret(),
                SettingSpec::optional("graph_api_base", "The Graph API base URL.")
                    .with_default(DEFAULT_GRAPH_API_BASE),
            ],
        }
    }

    fn install() -> Result<(), SpokeError> {
        graph::subscribe_page(&Settings::load()?)
    }

    fn uninstall() -> Result<(), SpokeError> {
        graph::unsubscribe_page(&Settings::load()?)
    }
}

impl Channel for Facebook {
    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, SpokeError> {
        webhook::handle(&request, &Settings::load()?)
    }

    fn deliver(message: OutboundMessage) -> Result<DeliveryReceipt, SpokeError> {
        send::deliver(&message, &Settings::load()?)
    }
}

nave_sdk::export_channel!(Facebook);
