//! Sender profiles: looked up once per person through the Graph API and cached
//! in kv under `profile:{psid}`.
//!
//! A failed look-up never fails the webhook: Facebook would resend the whole
//! batch. It is logged and the message goes on without a profile (and the next
//! message from that person tries again).

use nave_sdk::http::Request;
use nave_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Settings, graph};

/// The fields asked of the Graph API.
const FIELDS: &str = "first_name,last_name,profile_pic";

/// A person's profile as the Graph API gives it, and as it is cached.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphProfile {
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// A URL of the profile picture; it expires after a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_pic: Option<String>,
}

impl From<GraphProfile> for Profile {
    fn from(profile: GraphProfile) -> Self {
        Profile {
            first_name: profile.first_name,
            last_name: profile.last_name,
            picture_url: profile.profile_pic,
        }
    }
}

/// The kv key a sender's profile is cached under.
pub fn cache_key(psid: &str) -> String {
    format!("profile:{psid}")
}

/// Fills `sender_profile` of every message and postback, looking up the senders
/// not seen before.
pub fn attach_profiles(events: &mut [InboundEvent], settings: &Settings) {
    for event in events {
        if let InboundEvent::Message(message) | InboundEvent::Postback(message) = event {
            message.sender_profile = profile(&message.sender, settings).map(Profile::from);
        }
    }
}

/// The profile of `psid`: from the cache, or looked up and cached.
fn profile(psid: &str, settings: &Settings) -> Option<GraphProfile> {
    let key = cache_key(psid);
    match kv::get_json::<GraphProfile>(&key) {
        Ok(Some(cached)) => return Some(cached),
        Ok(None) => {}
        Err(error) => nave_sdk::warn!("cannot read the cached profile of {psid}: {error:?}"),
    }
    let url = graph::url(
        &settings.graph_api_base,
        &nave_sdk::http::encode(psid),
        &[
            ("fields", FIELDS),
            ("access_token", &settings.page_access_token),
        ],
    );
    let looked_up = graph::call(Request::get(url)).and_then(|answer| {
        serde_json::from_value::<GraphProfile>(answer)
            .map_err(|e| SpokeError::upstream(Some(200), None, e.to_string(), false))
    });
    match looked_up {
        Ok(profile) => {
            if let Err(error) = kv::set_json(&key, &profile) {
                nave_sdk::warn!("cannot cache the profile of {psid}: {error:?}");
            }
            Some(profile)
        }
        Err(error) => {
            nave_sdk::warn!("profile look-up of {psid} failed: {error:?}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_profiles_decode_and_convert() {
        let answer =
            r#"{"first_name":"Ann","last_name":"Lee","profile_pic":"https://p/1","id":"9"}"#;
        let profile: GraphProfile = serde_json::from_str(answer).unwrap();
        assert_eq!(
            Profile::from(profile.clone()),
            Profile {
                first_name: Some("Ann".into()),
                last_name: Some("Lee".into()),
                picture_url: Some("https://p/1".into()),
            }
        );
        let cached = serde_json::to_string(&profile).unwrap();
        assert_eq!(
            serde_json::from_str::<GraphProfile>(&cached).unwrap(),
            profile
        );
        assert_eq!(
            serde_json::from_str::<GraphProfile>("{}").unwrap(),
            GraphProfile::default()
        );
        assert_eq!(cache_key("123"), "profile:123");
    }
}
