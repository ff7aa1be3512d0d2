//! Staging: every captured phone waits in kv until Odoo has it, so an outage loses nothing.
//!
//! A capture is written under `staged/<sequence>-<fingerprint>` before any call to Odoo. [`flush`]
//! pushes staged captures oldest first, at most [`FLUSH_LIMIT`] per call; a pushed one is
//! deleted and its outcome remembered under `pushed/<fingerprint>` so that the same
//! message processed again is answered from kv. An outage (a retryable error) stops the
//! flush and leaves the rest for the next call; a capture Odoo keeps refusing for another
//! reason is moved to `failed/` after [`MAX_ATTEMPTS`], so it cannot block the queue.

use nave_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Settings;
use crate::crm::{self, Outcome, Session, fnv};

/// Where staged captures wait.
pub const STAGED: &str = "staged/";
/// Where captures Odoo refused too often are kept, for an operator to look at.
pub const FAILED: &str = "failed/";
/// Remembered outcomes, by message and phone.
pub const PUSHED: &str = "pushed/";
/// The last sequence number given to a staged capture.
const SEQUENCE_KEY: &str = "staged-sequence";
/// How many staged captures one call pushes at most, so a long backlog after an outage
/// drains over several calls instead of running one past its deadline.
pub const FLUSH_LIMIT: u32 = 10;
/// How many times a capture may fail for a reason other than an outage.
pub const MAX_ATTEMPTS: u32 = 5;
/// How far staged captures are counted for the `odoo.staged` figure.
const COUNT_LIMIT: u32 = 10_000;
/// The message text kept with a capture, for the lead's description.
const TEXT_LIMIT: usize = 2000;

/// One captured phone number and what Odoo needs to know with it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Capture {
    /// The number, E.164.
    pub phone: String,
    /// The sender's name, when the channel knew it.
    pub name: Option<String>,
    /// The channel, e.g. `facebook`.
    pub platform: String,
    /// The channel's id of the message the number came in.
    pub message_id: String,
    /// The message's text (the start of it), for the lead's description.
    pub text: String,
    /// The partner created for it, once created: a retry then only makes the lead.
    pub partner_id: Option<i64>,
    /// Failures other than outages so far.
    pub attempts: u32,
    /// The last of those failures.
    pub last_error: Option<String>,
}

impl Capture {
    /// The capture of `phone` from `message`.
    pub fn from_message(message: &Message, phone: &str) -> Capture {
        Capture {
            phone: phone.to_owned(),
            name: sender_name(message),
            platform: message.platform.clone(),
            message_id: message.id.clone(),
            text: message
                .text
                .as_deref()
                .unwrap_or_default()
                .chars()
                .take(TEXT_LIMIT)
                .collect(),
            ..Capture::default()
        }
    }

    /// The partner's name: the sender's when known, else the number.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.phone.clone())
    }

    /// The key its outcome is remembered under.
    fn pushed_key(&self) -> String {
        format!("{PUSHED}{}", self.fingerprint())
    }

    /// Which message and phone it is, in 16 hex digits.
    fn fingerprint(&self) -> String {
        fnv(&[&self.platform, &self.message_id, &self.phone])
    }
}

/// The sender's name from the channel's profile, or the `nave.contact_name` metadata.
fn sender_name(message: &Message) -> Option<String> {
    let from_profile = message.sender_profile.as_ref().map(|p| {
        [p.first_name.as_deref(), p.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let from_metadata = message
        .metadata
        .iter()
        .find(|(key, _)| key == "nave.contact_name")
        .map(|(_, value)| value.trim().to_owned());
    from_profile
        .into_iter()
        .chain(from_metadata)
        .find(|name| !name.is_empty())
}

/// The outcome of an earlier push of the same message and phone, if there was one.
pub fn already_pushed(capture: &Capture) -> Result<Option<Outcome>, SpokeError> {
    kv::get_json(&capture.pushed_key())
}

/// Writes a capture to the staging area, after the ones already there.
pub fn stage(capture: &Capture) -> Result<(), SpokeError> {
    let last = kv::get_string(SEQUENCE_KEY)?
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    let next = last + 1;
    kv::set_string(SEQUENCE_KEY, &next.to_string())?;
    // The fingerprint keeps two calls that read the same sequence (two conversations
    // processed at once) from overwriting each other's capture.
    kv::set_json(
        &format!("{STAGED}{next:016}-{}", capture.fingerprint()),
        capture,
    )
}

/// What one flush did.
#[derive(Debug, Default)]
pub struct Report {
    /// Captures pushed, with what Odoo made of them.
    pub pushed: Vec<(Capture, Outcome)>,
    /// Captures Odoo refused this time, with why.
    pub failed: Vec<(Capture, SpokeError)>,
    /// The outage that stopped the flush, if one did.
    pub outage: Option<SpokeError>,
    /// Captures still staged afterwards.
    pub remaining: usize,
}

/// Pushes staged captures, oldest first, at most [`FLUSH_LIMIT`] of them.
///
/// Makes no call to Odoo when nothing is staged. Only an `unauthorized` answer is an
/// error (the captures stay staged until the credentials are fixed); outages end up in
/// [`Report::outage`].
pub fn flush(settings: &Settings) -> Result<Report, SpokeError> {
    let mut report = Report::default();
    let keys = kv::list_keys(STAGED, FLUSH_LIMIT)?;
    if keys.is_empty() {
        return Ok(report);
    }
    match Session::open(settings) {
        Ok(session) => push_each(settings, &session, &keys, &mut report)?,
        Err(e) if e.is_retryable() => report.outage = Some(e),
        Err(e) => return Err(e),
    }
    report.remaining = kv::list_keys(STAGED, COUNT_LIMIT)?.len();
    if let Some(outage) = &report.outage {
        nave_sdk::warn!(
            "Odoo is unreachable, {} capture(s) stay staged: {}",
            report.remaining,
            outage.message()
        );
    }
    Ok(report)
}

fn push_each(
    settings: &Settings,
    session: &Session,
    keys: &[String],
    report: &mut Report,
) -> Result<(), SpokeError> {
    for key in keys {
        let Some(mut capture) = kv::get_json::<Capture>(key)? else {
            continue;
        };
        let result = crm::push(settings, session, &mut capture, |progress| {
            kv::set_json(key, progress)
        });
        match result {
            Ok(outcome) => {
                kv::set_json(&capture.pushed_key(), &outcome)?;
                kv::delete(key)?;
                report.pushed.push((capture, outcome));
            }
            Err(e) if e.is_retryable() => {
                report.outage = Some(e);
                return Ok(());
            }
            Err(e @ SpokeError::Unauthorized(_)) => {
                Session::forget()?;
                return Err(e);
            }
            Err(e) => {
                capture.attempts += 1;
                capture.last_error = Some(e.message().to_owned());
                if capture.attempts >= MAX_ATTEMPTS {
                    nave_sdk::error!(
                        "Odoo refused the capture of {} {} times, giving up: {}",
                        capture.phone,
                        capture.attempts,
                        e.message()
                    );
                    let failed = key.replacen(STAGED, FAILED, 1);
                    kv::set_json(&failed, &capture)?;
                    kv::delete(key)?;
                } else {
                    kv::set_json(key, &capture)?;
                }
                report.failed.push((capture, e));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            platform: "facebook".into(),
            id: "m-1".into(),
            text: Some("call me on 912345678".into()),
            sender_profile: Some(Profile {
                first_name: Some("Ada".into()),
                last_name: Some(" Lovelace ".into()),
                picture_url: None,
            }),
            ..Message::default()
        }
    }

    #[test]
    fn captures_take_the_sender_name_from_the_profile_then_metadata() {
        let capture = Capture::from_message(&message(), "+351912345678");
        assert_eq!(capture.display_name(), "Ada Lovelace");
        assert_eq!(capture.text, "call me on 912345678");

        let mut anonymous = message();
        anonymous.sender_profile = None;
        assert_eq!(
            Capture::from_message(&anonymous, "+351912345678").display_name(),
            "+351912345678"
        );
        anonymous.metadata = vec![("nave.contact_name".into(), "Grace Hopper".into())];
        assert_eq!(
            Capture::from_message(&anonymous, "+351912345678").display_name(),
            "Grace Hopper"
        );
    }

    #[test]
    fn pushed_keys_differ_by_message_and_phone() {
        let a = Capture::from_message(&message(), "+351912345678");
        let b = Capture::from_message(&message(), "+351912345679");
        let mut other = message();
        other.id = "m-2".into();
        let c = Capture::from_message(&other, "+351912345678");
        assert!(a.pushed_key().starts_with(PUSHED));
        assert_ne!(a.pushed_key(), b.pushed_key());
        assert_ne!(a.pushed_key(), c.pushed_key());
    }
}
