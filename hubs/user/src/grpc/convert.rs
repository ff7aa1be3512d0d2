//! Conversions between the domain types and the generated protobuf messages.

use nave_hub_core::clock::{from_millis, to_millis};
use nave_hub_core::ids::parse_id;
use nave_hub_core::{Error, Result};
use serde_json::{Map, Value};

use super::pb;
use crate::types::{
    ChannelIdentity, Contact, ContactIdentity, ContactPage, ContactProfile, Direction, Profile,
    ProfileChange,
};

pub fn json_object(field: &str, text: &str) -> Result<Map<String, Value>> {
    if text.is_empty() {
        return Ok(Map::new());
    }
    serde_json::from_str(text)
        .map_err(|e| Error::invalid(field, format!("send a JSON object: {e}")))
}

pub fn profile_to_pb(p: Profile) -> pb::Profile {
    pb::Profile {
        user_id: p.user_id.to_string(),
        display_name: p.display_name,
        avatar_url: p.avatar_url,
        locale: p.locale,
        time_zone: p.time_zone,
        preferences_json: Value::Object(p.preferences).to_string(),
        updated_at_ms: to_millis(p.updated_at),
    }
}

pub fn profile_from_pb(p: pb::Profile) -> Result<Profile> {
    Ok(Profile {
        user_id: parse_id("user_id", &p.user_id)?,
        display_name: p.display_name,
        avatar_url: p.avatar_url,
        locale: p.locale,
        time_zone: p.time_zone,
        preferences: json_object("preferences_json", &p.preferences_json)?,
        updated_at: from_millis(p.updated_at_ms)?,
    })
}

pub fn change_to_pb(c: ProfileChange) -> pb::ProfileChange {
    pb::ProfileChange {
        display_name: c.display_name,
        avatar_url: c.avatar_url,
        locale: c.locale,
        time_zone: c.time_zone,
    }
}

pub fn change_from_pb(c: Option<pb::ProfileChange>) -> ProfileChange {
    let c = c.unwrap_or_default();
    ProfileChange {
        display_name: c.display_name,
        avatar_url: c.avatar_url,
        locale: c.locale,
        time_zone: c.time_zone,
    }
}

pub fn identity_to_pb(i: ChannelIdentity) -> pb::ChannelIdentity {
    pb::ChannelIdentity {
        installation_id: i.installation_id.to_string(),
        channel: i.channel,
        channel_user_id: i.channel_user_id,
    }
}

pub fn identity_from_pb(i: Option<pb::ChannelIdentity>) -> Result<ChannelIdentity> {
    let i = i.ok_or_else(|| Error::invalid("identity", "send the channel identity"))?;
    Ok(ChannelIdentity {
        installation_id: parse_id("identity.installation_id", &i.installation_id)?,
        channel: i.channel,
        channel_user_id: i.channel_user_id,
    })
}

pub fn contact_profile_to_pb(p: ContactProfile) -> pb::ContactProfile {
    pb::ContactProfile {
        name: p.name,
        first_name: p.first_name,
        last_name: p.last_name,
        picture_url: p.picture_url,
        locale: p.locale,
        time_zone: p.time_zone,
        email: p.email,
        phone: p.phone,
    }
}

pub fn contact_profile_from_pb(p: pb::ContactProfile) -> ContactProfile {
    ContactProfile {
        name: p.name,
        first_name: p.first_name,
        last_name: p.last_name,
        picture_url: p.picture_url,
        locale: p.locale,
        time_zone: p.time_zone,
        email: p.email,
        phone: p.phone,
    }
}

pub fn contact_to_pb(c: Contact) -> pb::Contact {
    pb::Contact {
        id: c.id.to_string(),
        tenant_id: c.tenant_id.to_string(),
        profile: Some(pb::ContactProfile {
            name: c.name,
            first_name: c.first_name,
            last_name: c.last_name,
            picture_url: c.picture_url,
            locale: c.locale,
            time_zone: c.time_zone,
            email: c.email,
            phone: c.phone,
        }),
        identities: c
            .identities
            .into_iter()
            .map(|i| pb::ContactIdentity {
                installation_id: i.installation_id.to_string(),
                channel: i.channel,
                channel_user_id: i.channel_user_id,
                created_at_ms: to_millis(i.created_at),
            })
            .collect(),
        messages_in: c.messages_in,
        messages_out: c.messages_out,
        first_seen_at_ms: c.first_seen_at.map(to_millis),
        last_seen_at_ms: c.last_seen_at.map(to_millis),
        created_at_ms: to_millis(c.created_at),
        updated_at_ms: to_millis(c.updated_at),
    }
}

pub fn contact_from_pb(c: pb::Contact) -> Result<Contact> {
    let p = contact_profile_from_pb(c.profile.unwrap_or_default());
    Ok(Contact {
        id: parse_id("id", &c.id)?,
        tenant_id: parse_id("tenant_id", &c.tenant_id)?,
        name: p.name,
        first_name: p.first_name,
        last_name: p.last_name,
        picture_url: p.picture_url,
        locale: p.locale,
        time_zone: p.time_zone,
        email: p.email,
        phone: p.phone,
        identities: c
            .identities
            .into_iter()
            .map(|i| {
                Ok(ContactIdentity {
                    installation_id: parse_id("installation_id", &i.installation_id)?,
                    channel: i.channel,
                    channel_user_id: i.channel_user_id,
                    created_at: from_millis(i.created_at_ms)?,
                })
            })
            .collect::<Result<Vec<_>>>()?,
        messages_in: c.messages_in,
        messages_out: c.messages_out,
        first_seen_at: c.first_seen_at_ms.map(from_millis).transpose()?,
        last_seen_at: c.last_seen_at_ms.map(from_millis).transpose()?,
        created_at: from_millis(c.created_at_ms)?,
        updated_at: from_millis(c.updated_at_ms)?,
    })
}

pub fn page_to_pb(p: ContactPage) -> pb::ContactPage {
    pb::ContactPage {
        contacts: p.contacts.into_iter().map(contact_to_pb).collect(),
        next: p.next.map(|n| n.to_string()),
    }
}

pub fn page_from_pb(p: pb::ContactPage) -> Result<ContactPage> {
    Ok(ContactPage {
        contacts: p
            .contacts
            .into_iter()
            .map(contact_from_pb)
            .collect::<Result<Vec<_>>>()?,
        next: p.next.as_deref().map(|n| parse_id("next", n)).transpose()?,
    })
}

pub fn direction(value: &str) -> Result<Direction> {
    match value {
        "in" => Ok(Direction::In),
        "out" => Ok(Direction::Out),
        other => Err(Error::invalid(
            "direction",
            format!("unknown direction `{other}` (in or out)"),
        )),
    }
}
