//! Input rules for profiles, preferences, channel identities and contacts, each failing with
//! `invalid_argument` naming the field and saying how to fix it.

use nave_hub_core::{Error, FieldViolation, Result};
use serde_json::{Map, Value};

use crate::types::{ChannelIdentity, ContactProfile, ProfileChange};

/// The default limit on the number of a profile's preference keys.
pub const MAX_PREFERENCE_KEYS: usize = 64;
/// The default limit on the serialized size of all of a profile's preferences, in bytes.
pub const MAX_PREFERENCES_BYTES: usize = 16 * 1024;

/// Collects violations so a client learns about every bad field at once.
#[derive(Default)]
struct Violations(Vec<FieldViolation>);

impl Violations {
    fn check(&mut self, field: &str, ok: bool, message: &str) {
        if !ok {
            self.0.push(FieldViolation {
                field: field.to_owned(),
                message: message.to_owned(),
            });
        }
    }

    fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_fields(self.0))
        }
    }
}

/// Trims every field; an empty result means "clear".
pub fn normalize_profile_change(change: &mut ProfileChange) {
    for field in [
        &mut change.display_name,
        &mut change.avatar_url,
        &mut change.locale,
        &mut change.time_zone,
    ]
    .into_iter()
    .flatten()
    {
        *field = field.trim().to_owned();
    }
}

/// Checks a profile change (after [`normalize_profile_change`]); `raw_blank_name` says the client
/// sent a display name of spaces only, which is refused rather than taken as "clear".
pub fn check_profile_change(change: &ProfileChange, raw_blank_name: bool) -> Result<()> {
    let mut v = Violations::default();
    v.check(
        "display_name",
        !raw_blank_name,
        "must not be only spaces: send 1 to 100 characters, or \"\" to clear it",
    );
    if let Some(name) = change.display_name.as_deref().filter(|s| !s.is_empty()) {
        v.check(
            "display_name",
            name.chars().count() <= 100,
            "use at most 100 characters",
        );
    }
    if let Some(url) = non_empty(&change.avatar_url) {
        v.check("avatar_url", is_url(url), URL_RULE);
    }
    if let Some(locale) = non_empty(&change.locale) {
        v.check(
            "locale",
            is_language_tag(locale, false),
            "use a BCP 47 language tag such as `en` or `pt-BR` (2 to 35 letters, digits and hyphens)",
        );
    }
    if let Some(tz) = non_empty(&change.time_zone) {
        v.check("time_zone", is_iana_zone(tz), TZ_RULE);
    }
    v.finish()
}

const URL_RULE: &str =
    "use an https:// (or http://) URL of at most 2048 characters, without spaces";
const TZ_RULE: &str =
    "use an IANA time zone name such as `Europe/Lisbon` or `America/Sao_Paulo`, or `UTC`";

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

/// An absolute http(s) URL with a host, no whitespace, at most 2048 characters.
pub fn is_url(value: &str) -> bool {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            value.len() <= 2048
                && !rest.is_empty()
                && !rest.starts_with('/')
                && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// A BCP 47-looking tag: 2–35 characters of letters, digits and `-` (and `_` from channels),
/// starting with 2–8 letters.
pub fn is_language_tag(value: &str, allow_underscore: bool) -> bool {
    let sep = |c: char| c == '-' || (allow_underscore && c == '_');
    let ok_chars = value.chars().all(|c| c.is_ascii_alphanumeric() || sep(c));
    let primary = value.split(sep).next().unwrap_or_default();
    (2..=35).contains(&value.len())
        && ok_chars
        && (2..=8).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && value.split(sep).all(|s| !s.is_empty() && s.len() <= 8)
}

/// An IANA-looking zone name: `UTC`, or `Area/Location[/More]` segments of letters, digits, `_`,
/// `-` and `+`, each starting with a letter.
pub fn is_iana_zone(value: &str) -> bool {
    if value == "UTC" {
        return true;
    }
    let segments: Vec<&str> = value.split('/').collect();
    value.len() <= 64
        && (2..=3).contains(&segments.len())
        && segments.iter().all(|s| {
            s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
        })
}

/// A UTC offset as channels send it: `+01:00`, `-0530`, `-7`, `5.5`.
fn is_utc_offset(value: &str) -> bool {
    let body = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (hours, minutes) = match body.split_once([':', '.']) {
        Some((h, m)) => (h, Some(m)),
        None if body.len() == 4 => (&body[..2], Some(&body[2..])),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    digits(hours)
        && hours.parse::<u8>().is_ok_and(|h| h <= 14)
        && minutes.is_none_or(|m| digits(m) && m.parse::<u8>().is_ok_and(|m| m < 60))
}

/// `local@domain.tld`, one `@`, no spaces, at most 254 characters.
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    value.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// E.164: `+` then 7–15 digits.
pub fn is_phone(value: &str) -> bool {
    value.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Trims every field of contact data.
pub fn normalize_contact(profile: &mut ContactProfile) {
    for field in contact_fields_mut(profile).into_iter().flatten() {
        *field = field.trim().to_owned();
    }
}

/// The eight optional fields of a contact profile, in a fixed order.
pub fn contact_fields_mut(p: &mut ContactProfile) -> [&mut Option<String>; 8] {
    [
        &mut p.name,
        &mut p.first_name,
        &mut p.last_name,
        &mut p.picture_url,
        &mut p.locale,
        &mut p.time_zone,
        &mut p.email,
        &mut p.phone,
    ]
}

/// Checks contact data (after [`normalize_contact`]); empty values are not checked.
pub fn check_contact(profile: &ContactProfile) -> Result<()> {
    let mut v = Violations::default();
    let len = |v: &mut Violations, field: &str, value: &Option<String>, max: usize| {
        if let Some(s) = non_empty(value) {
            v.check(
                field,
                s.chars().count() <= max,
                &format!("use at most {max} characters"),
            );
        }
    };
    len(&mut v, "name", &profile.name, 200);
    len(&mut v, "first_name", &profile.first_name, 100);
    len(&mut v, "last_name", &profile.last_name, 100);
    if let Some(url) = non_empty(&profile.picture_url) {
        v.check("picture_url", is_url(url), URL_RULE);
    }
    if let Some(locale) = non_empty(&profile.locale) {
        v.check(
            "locale",
            is_language_tag(locale, true),
            "use a language tag such as `en`, `pt-BR` or `pt_BR`",
        );
    }
    if let Some(tz) = non_empty(&profile.time_zone) {
        v.check(
            "time_zone",
            is_iana_zone(tz) || is_utc_offset(tz),
            "use an IANA time zone such as `Europe/Lisbon`, `UTC`, or a UTC offset such as \
             `+01:00` or `-7`",
        );
    }
    if let Some(email) = non_empty(&profile.email) {
        v.check(
            "email",
            is_email(email),
            "use an email address such as `ana@example.com`",
        );
    }
    if let Some(phone) = non_empty(&profile.phone) {
        v.check(
            "phone",
            is_phone(phone),
            "use the E.164 form: `+`, country code and number, 7 to 15 digits, no spaces \
             (e.g. `+351912345678`)",
        );
    }
    v.finish()
}

/// Checks a channel identity: a channel name of `a-z0-9_-` (1–64) and a channel user id of
/// 1–256 characters.
pub fn check_identity(identity: &ChannelIdentity) -> Result<()> {
    let mut v = Violations::default();
    let channel = &identity.channel;
    v.check(
        "identity.channel",
        (1..=64).contains(&channel.len())
            && channel
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'),
        "use the channel's name: 1 to 64 lowercase letters, digits, `_` or `-` (e.g. `facebook`)",
    );
    v.check(
        "identity.channel_user_id",
        valid_channel_user_id(&identity.channel_user_id),
        "send the user's id on the channel: 1 to 256 characters, no control characters",
    );
    v.finish()
}

/// 1–256 characters without control characters.
pub fn valid_channel_user_id(value: &str) -> bool {
    (1..=256).contains(&value.chars().count()) && !value.chars().any(char::is_control)
}

/// Merges `patch` into `prefs` (`null` removes a key) and checks the limits on the result.
pub fn merge_preferences(
    prefs: &mut Map<String, Value>,
    patch: Map<String, Value>,
    max_keys: usize,
    max_bytes: usize,
) -> Result<()> {
    let mut v = Violations::default();
    for key in patch.keys() {
        v.check(
            &format!("preferences.{key}"),
            is_preference_key(key),
            "keys are 1 to 64 characters of `a-z`, `0-9`, `_`, `.` and `-`",
        );
    }
    v.finish()?;
    for (key, value) in patch {
        if value.is_null() {
            prefs.remove(&key);
        } else {
            prefs.insert(key, value);
        }
    }
    if prefs.len() > max_keys {
        return Err(Error::invalid(
            "preferences",
            format!(
                "at most {max_keys} keys are kept (this would make {}): remove some \
                 by setting them to null",
                prefs.len()
            ),
        ));
    }
    let size = Value::Object(prefs.clone()).to_string().len();
    if size > max_bytes {
        return Err(Error::invalid(
            "preferences",
            format!(
                "all preferences together must stay within {max_bytes} bytes of JSON \
                 (this would make {size}): store smaller values"
            ),
        ));
    }
    Ok(())
}

fn is_preference_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        for tz in [
            "UTC",
            "Europe/Lisbon",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+3",
        ] {
            assert!(is_iana_zone(tz), "{tz}");
        }
        for tz in [
            "Lisbon",
            "Europe/",
            "/Lisbon",
            "Europe/Lis bon",
            "utc/x/y/z",
        ] {
            assert!(!is_iana_zone(tz), "{tz}");
        }
        for off in ["+01:00", "-7", "5.5", "-0530", "0"] {
            assert!(is_utc_offset(off), "{off}");
        }
        for off in ["+25", "abc", "+1:75", ""] {
            assert!(!is_utc_offset(off), "{off}");
        }
        assert!(is_language_tag("pt-BR", false));
        assert!(is_language_tag("en", false));
        assert!(!is_language_tag("pt_BR", false));
        assert!(is_language_tag("pt_BR", true));
        assert!(!is_language_tag("e", false));
        assert!(!is_language_tag("12", false));
        assert!(is_phone("+351912345678"));
        assert!(!is_phone("351912345678"));
        assert!(!is_phone("+12 345"));
        assert!(is_email("ana@example.com"));
        assert!(!is_email("ana@example"));
        assert!(!is_email("a na@example.com"));
        assert!(is_url("https://cdn.example.com/a.png"));
        assert!(!is_url("ftp://x"));
        assert!(!is_url("https://"));
    }

    #[test]
    fn preferences_merge_and_limits() {
        let mut prefs = Map::new();
        let patch = serde_json::json!({"theme": "dark", "beta": true});
        merge_preferences(&mut prefs, patch.as_object().unwrap().clone(), 64, 16384).unwrap();
        let patch = serde_json::json!({"beta": null});
        merge_preferences(&mut prefs, patch.as_object().unwrap().clone(), 64, 16384).unwrap();
        assert_eq!(
            Value::Object(prefs.clone()),
            serde_json::json!({"theme": "dark"})
        );
        let bad = serde_json::json!({"Theme": 1});
        let err =
            merge_preferences(&mut prefs, bad.as_object().unwrap().clone(), 64, 16384).unwrap_err();
        assert_eq!(err.fields()[0].field, "preferences.Theme");
    }
}
