//! The installation's settings, read and checked once per call.
//!
//! Which API the spoke talks is a setting (`api`), and each API needs its own
//! identifiers: the v12 Converse API a `bot_id` on a self-hosted server, the Cloud
//! Chat API a `webhook_id`. [`Settings::from_lookup`] takes any lookup function so
//! the checks run natively in unit tests.

use nave_sdk::prelude::*;

/// The Chat API's base URL when an installation does not give one.
pub const DEFAULT_CHAT_BASE_URL: &str = "https://chat.botpress.cloud";
/// How long a call waits for the bot's replies on the Chat API by default, in milliseconds.
///
/// Below the host's default call deadline (2 s) so a slow bot ends in an empty answer, not a
/// timed-out call.
pub const DEFAULT_REPLY_TIMEOUT_MS: u64 = 1500;
/// The longest wait an installation may ask for, in milliseconds (the host's highest call deadline).
pub const MAX_REPLY_TIMEOUT_MS: u64 = 30_000;

/// The two Botpress APIs the spoke can talk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Api {
    /// Botpress v12's Converse API: one synchronous call answers with the replies.
    Converse {
        /// The bot's id on the server.
        bot_id: String,
        /// A Botpress token for the `/secured` route, when the server requires one.
        auth_token: Option<String>,
        /// The contexts the NLU may match in (`includedContexts`); empty for Botpress's default.
        included_contexts: Vec<String>,
    },
    /// Botpress Cloud's Chat API: users, conversations and messages, replies read back.
    Chat {
        /// The Chat integration's webhook id, the first segment of every path.
        webhook_id: String,
        /// The integration's encryption key: when set, user keys are JWTs the spoke signs.
        encryption_key: Option<String>,
        /// How long to wait for the bot's replies, in milliseconds.
        reply_timeout_ms: u64,
    },
}

/// The installation's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The base URL without a trailing `/`: the v12 server, or the Chat API's host.
    pub base_url: String,
    /// The API and what it needs.
    pub api: Api,
}

impl Settings {
    /// Reads the settings of the installation the call runs for.
    pub fn load() -> Result<Self, SpokeError> {
        Settings::from_lookup(config::get)
    }

    /// Reads and checks the settings through `get`; an `invalid-input` error names the
    /// setting at fault and how to fix it.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SpokeError> {
        let value = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let require = |name: &str, why: &str| {
            value(name).ok_or_else(|| {
                SpokeError::invalid_input(format!("the setting `{name}` is not set: {why}"))
            })
        };
        let api = value("api").unwrap_or_default();
        let (api, default_base) = match api.as_str() {
            "converse" => (
                Api::Converse {
                    bot_id: require("bot_id", "give the id of the bot on the Botpress server")?,
                    auth_token: value("auth_token"),
                    included_contexts: value("included_contexts")
                        .map(|list| {
                            list.split(',')
                                .map(|c| c.trim().to_owned())
                                .filter(|c| !c.is_empty())
                                .collect()
                        })
                        .unwrap_or_default(),
                },
                None,
            ),
            "chat" => (
                Api::Chat {
                    webhook_id: require(
                        "webhook_id",
                        "give the webhook id shown in the Chat integration's configuration",
                    )?,
                    encryption_key: value("encryption_key"),
                    reply_timeout_ms: reply_timeout(value("reply_timeout_ms"))?,
                },
                Some(DEFAULT_CHAT_BASE_URL),
            ),
            other => {
                return Err(SpokeError::invalid_input(format!(
                    "the setting `api` must be `converse` (Botpress v12) or `chat` (Botpress Cloud), not `{other}`"
                )));
            }
        };
        let base_url = match (value("base_url"), default_base) {
            (Some(url), _) => url,
            (None, Some(default)) => default.to_owned(),
            (None, None) => {
                return Err(SpokeError::invalid_input(
                    "the setting `base_url` is not set: give the Botpress server's URL, e.g. `https://botpress.example.com`",
                ));
            }
        };
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(SpokeError::invalid_input(format!(
                "the setting `base_url` must start with `http://` or `https://`, not `{base_url}`"
            )));
        }
        Ok(Settings {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api,
        })
    }
}

fn reply_timeout(value: Option<String>) -> Result<u64, SpokeError> {
    let Some(value) = value else {
        return Ok(DEFAULT_REPLY_TIMEOUT_MS);
    };
    match value.parse::<u64>() {
        Ok(ms) if (1..=MAX_REPLY_TIMEOUT_MS).contains(&ms) => Ok(ms),
        _ => Err(SpokeError::invalid_input(format!(
            "the setting `reply_timeout_ms` must be a number of milliseconds between 1 and {MAX_REPLY_TIMEOUT_MS}, not `{value}`"
        ))),
    }
}

/// The settings the spoke declares in its manifest.
pub fn specs() -> Vec<SettingSpec> {
    vec![
        SettingSpec::required(
            "api",
            "Which Botpress API to talk: `converse` (Botpress v12 Converse API) or `chat` (Botpress Cloud Chat API).",
        ),
        SettingSpec::optional(
            "base_url",
            "The Botpress server's URL (converse, required) or the Chat API's host (chat, default https://chat.botpress.cloud).",
        ),
        SettingSpec::optional("bot_id", "The bot's id on the Botpress v12 server (converse)."),
        SettingSpec::optional(
            "auth_token",
            "A Botpress token for the secured Converse route, when the server requires authentication (converse).",
        )
        .secret(),
        SettingSpec::optional(
            "included_contexts",
            "Comma-separated NLU contexts to match in, e.g. `global,sales` (converse).",
        ),
        SettingSpec::optional(
            "webhook_id",
            "The webhook id of the bot's Chat integration (chat).",
        ),
        SettingSpec::optional(
            "encryption_key",
            "The Chat integration's encryption key; when set, the spoke signs user keys itself (chat).",
        )
        .secret(),
        SettingSpec::optional(
            "reply_timeout_ms",
            "How long to wait for the bot's replies, in milliseconds; keep it below the installation's call deadline (chat).",
        )
        .with_default(DEFAULT_REPLY_TIMEOUT_MS.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, SpokeError> {
        Settings::from_lookup(|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    fn invalid(result: Result<Settings, SpokeError>, naming: &str) {
        match result {
            Err(SpokeError::InvalidInput(message)) => {
                assert!(message.contains(naming), "{message} should name {naming}")
            }
            other => panic!("expected invalid-input naming {naming}, got {other:?}"),
        }
    }

    #[test]
    fn converse_needs_a_server_and_a_bot() {
        let settings = load(&[
            ("api", "converse"),
            ("base_url", "https://bp.example.com/"),
            ("bot_id", "welcome"),
            ("included_contexts", "global, sales,,"),
        ])
        .unwrap();
        assert_eq!(settings.base_url, "https://bp.example.com");
        assert_eq!(
            settings.api,
            Api::Converse {
                bot_id: "welcome".into(),
                auth_token: None,
                included_contexts: vec!["global".into(), "sales".into()],
            }
        );
        invalid(load(&[("api", "converse"), ("bot_id", "b")]), "`base_url`");
        invalid(
            load(&[("api", "converse"), ("base_url", "https://x")]),
            "`bot_id`",
        );
        invalid(
            load(&[
                ("api", "converse"),
                ("base_url", "bp.local"),
                ("bot_id", "b"),
            ]),
            "`base_url`",
        );
    }

    #[test]
    fn chat_defaults_to_botpress_cloud() {
        let settings = load(&[
            ("api", "chat"),
            ("webhook_id", "wh-1"),
            ("encryption_key", " "),
        ])
        .unwrap();
        assert_eq!(settings.base_url, DEFAULT_CHAT_BASE_URL);
        assert_eq!(
            settings.api,
            Api::Chat {
                webhook_id: "wh-1".into(),
                encryption_key: None,
                reply_timeout_ms: DEFAULT_REPLY_TIMEOUT_MS,
            }
        );
        invalid(load(&[("api", "chat")]), "`webhook_id`");
        for bad in ["0", "soon", "999999"] {
            invalid(
                load(&[
                    ("api", "chat"),
                    ("webhook_id", "w"),
                    ("reply_timeout_ms", bad),
                ]),
                "`reply_timeout_ms`",
            );
        }
    }

    #[test]
    fn the_api_must_be_one_of_the_two() {
        invalid(load(&[("api", "webchat")]), "`api`");
        invalid(load(&[]), "`api`");
    }
}
