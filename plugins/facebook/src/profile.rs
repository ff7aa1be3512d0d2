//! Sender profiles: looked up once per person through the Graph API and kept as the
//! platform's contact for that person (the `contacts` import), so every later message, and
//! every other part of the platform, knows who wrote.
//!
//! A failed look-up never fails the webhook: Facebook would resend the whole
//! batch. It is logged and the message goes on without a profile (and the next
//! message from that person tries again).

use nave_sdk::contacts::{self, ContactProfile};
use nave_sdk::http::Request;
use nave_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Settings, graph};

/// The fields asked of the Graph API.
const FIELDS: &str = "first_name,last_name,profile_pic";

/// A person's profile as the Graph API gives it.
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

impl From<&GraphProfile> for ContactProfile {
    fn from(profile: &GraphProfile) -> Self {
        let name = [&profile.first_name, &profile.last_name]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        ContactProfile {
            name: Some(name).filter(|n| !n.is_empty()),
            first_name: profile.first_name.clone(),
            last_name: profile.last_name.clone(),
            picture_url: profile.profile_pic.clone(),
            ..ContactProfile::default()
        }
    }
}

/// The message's view of a contact the platform already knows, if it has a name or picture.
fn known(contact: &contacts::Contact) -> Option<Profile> {
    let p = &contact.profile;
    let has_any = p.first_name.is_some() || p.last_name.is_some() || p.picture_url.is_some();
    has_any.then(|| Profile {
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        picture_url: p.picture_url.clone(),
    })
}

/// Fills `sender_profile` of every message and postback, looking up the senders
/// not seen before.
pub fn attach_profiles(events: &mut [InboundEvent], settings: &Settings) {
    for event in events {
        if let InboundEvent::Message(message) | InboundEvent::Postback(message) = event {
            message.sender_profile = profile(&message.sender, settings);
        }
    }
}

/// The profile of `psid`: from the platform's contact, or looked up and stored there.
fn profile(psid: &str, settings: &Settings) -> Option<Profile> {
    match contacts::lookup(psid) {
        Ok(Some(contact)) => {
            if let Some(profile) = known(&contact) {
                return Some(profile);
            }
        }
        Ok(None) => {}
        Err(error) => nave_sdk::warn!("cannot read the contact of {psid}: {error:?}"),
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
            if let Err(error) = contacts::resolve(psid, &ContactProfile::from(&profile)) {
                nave_sdk::warn!("cannot store the contact of {psid}: {error:?}");
            }
            Some(Profile::from(profile))
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
        let contact = ContactProfile::from(&profile);
        assert_eq!(contact.name.as_deref(), Some("Ann Lee"));
        assert_eq!(contact.picture_url.as_deref(), Some("https://p/1"));
        assert_eq!(
            serde_json::from_str::<GraphProfile>("{}").unwrap(),
            GraphProfile::default()
        );
        assert_eq!(ContactProfile::from(&GraphProfile::default()).name, None);
    }
}
