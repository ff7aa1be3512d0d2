//! What the spoke does in Odoo: find the partner behind a phone number, or create it
//! with a CRM lead.
//!
//! A [`Session`] holds the user id and whether `res.partner` still has a `mobile`
//! field (gone from Odoo 18.2 on), learnt once with `authenticate` and `fields_get` and
//! cached in kv. Searches and creates only name the fields that exist.

use nave_sdk::prelude::*;
use phonenumber::Mode;
use serde::{Deserialize, Serialize};

use crate::Settings;
use crate::rpc;
use crate::stage::Capture;
use crate::xmlrpc::Value;

/// The kv key of the cached session.
const SESSION_KEY: &str = "session";

/// The user id and the partner model's shape, for one set of credentials.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// The Odoo user id `authenticate` answered.
    pub uid: i64,
    /// Whether `res.partner` has a `mobile` field.
    pub has_mobile: bool,
    /// A fingerprint of the URL, database, login and API key it was learnt with, so a
    /// change of settings is noticed.
    pub credentials: String,
}

impl Session {
    /// The cached session when it was learnt with these settings, else a fresh one
    /// (authenticate, then `fields_get`), cached.
    pub fn open(settings: &Settings) -> Result<Session, SpokeError> {
        let credentials = settings.fingerprint();
        if let Some(session) = kv::get_json::<Session>(SESSION_KEY)?
            && session.credentials == credentials
        {
            return Ok(session);
        }
        Session::refresh(settings)
    }

    /// Authenticates and learns the partner model's fields, replacing the cache.
    pub fn refresh(settings: &Settings) -> Result<Session, SpokeError> {
        let uid = rpc::authenticate(settings)?;
        let fields = rpc::execute_kw(
            settings,
            uid,
            "res.partner",
            "fields_get",
            vec![],
            vec![("attributes", Value::Array(vec![Value::string("type")]))],
        )?;
        if !matches!(fields, Value::Struct(_)) {
            return Err(SpokeError::upstream(
                Some(200),
                None,
                "Odoo answered res.partner.fields_get without a field map",
                false,
            ));
        }
        let session = Session {
            uid,
            has_mobile: fields.get("mobile").is_some(),
            credentials: settings.fingerprint(),
        };
        kv::set_json(SESSION_KEY, &session)?;
        Ok(session)
    }

    /// Forgets the cached session, after Odoo refused it.
    pub fn forget() -> Result<(), SpokeError> {
        kv::delete(SESSION_KEY)
    }
}

/// What pushing one capture did in Odoo.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    /// The partner found or created.
    pub partner_id: i64,
    /// The lead created with a new partner (none when the partner existed).
    pub lead_id: Option<i64>,
}

/// Finds the partner with the capture's phone, or creates it and a lead.
///
/// `capture.partner_id` is set by the caller once a partner was created, so that a
/// retry after a failed lead creation creates only the lead, and only if none exists.
pub fn push(
    settings: &Settings,
    session: &Session,
    capture: &mut Capture,
    save_progress: impl Fn(&Capture) -> Result<(), SpokeError>,
) -> Result<Outcome, SpokeError> {
    // A capture that already has a partner is a retry after its lead failed: the lead
    // may have been made even so (the answer lost), hence the search first.
    let (partner_id, resumed) = match capture.partner_id {
        Some(id) => (id, true),
        None => {
            if let Some(id) = find_partner(settings, session, &capture.phone)? {
                return Ok(Outcome {
                    partner_id: id,
                    lead_id: None,
                });
            }
            let id = create(settings, session, "res.partner", partner_values(capture))?;
            capture.partner_id = Some(id);
            save_progress(capture)?;
            (id, false)
        }
    };
    let existing = if resumed {
        find_lead(settings, session, partner_id)?
    } else {
        None
    };
    let lead_id = match existing {
        Some(id) => id,
        None => create(
            settings,
            session,
            "crm.lead",
            lead_values(settings, capture, partner_id),
        )?,
    };
    Ok(Outcome {
        partner_id,
        lead_id: Some(lead_id),
    })
}

/// The ways a number may be stored in a phone field: E.164, international and national
/// formats, with and without spacing.
pub fn phone_variants(e164: &str) -> Vec<String> {
    let mut variants = vec![e164.to_owned()];
    if let Ok(number) = phonenumber::parse(None, e164) {
        for mode in [Mode::International, Mode::National] {
            let formatted = number.format().mode(mode).to_string();
            let compact: String = formatted
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect();
            for variant in [formatted, compact] {
                if !variants.contains(&variant) {
                    variants.push(variant);
                }
            }
        }
    }
    variants
}

/// The search domain matching `phone` (and `mobile` when the model has it) against
/// the number's variants.
pub fn partner_domain(e164: &str, has_mobile: bool) -> Value {
    let variants = Value::Array(
        phone_variants(e164)
            .into_iter()
            .map(Value::String)
            .collect(),
    );
    let term = |field: &str| {
        Value::Array(vec![
            Value::string(field),
            Value::string("in"),
            variants.clone(),
        ])
    };
    if has_mobile {
        Value::Array(vec![Value::string("|"), term("phone"), term("mobile")])
    } else {
        Value::Array(vec![term("phone")])
    }
}

fn find_partner(
    settings: &Settings,
    session: &Session,
    e164: &str,
) -> Result<Option<i64>, SpokeError> {
    first_id(search_read(
        settings,
        session,
        "res.partner",
        partner_domain(e164, session.has_mobile),
    )?)
}

fn find_lead(
    settings: &Settings,
    session: &Session,
    partner_id: i64,
) -> Result<Option<i64>, SpokeError> {
    let domain = Value::Array(vec![Value::Array(vec![
        Value::string("partner_id"),
        Value::string("="),
        Value::Int(partner_id),
    ])]);
    first_id(search_read(settings, session, "crm.lead", domain)?)
}

fn search_read(
    settings: &Settings,
    session: &Session,
    model: &str,
    domain: Value,
) -> Result<Value, SpokeError> {
    rpc::execute_kw(
        settings,
        session.uid,
        model,
        "search_read",
        vec![domain],
        vec![
            ("fields", Value::Array(vec![Value::string("id")])),
            ("limit", Value::Int(1)),
            ("order", Value::string("id asc")),
        ],
    )
}

fn first_id(records: Value) -> Result<Option<i64>, SpokeError> {
    let records = records.as_array().ok_or_else(|| {
        SpokeError::upstream(
            Some(200),
            None,
            "Odoo answered search_read without a list",
            false,
        )
    })?;
    Ok(records
        .first()
        .and_then(|r| r.get("id"))
        .and_then(Value::as_i64))
}

fn create(
    settings: &Settings,
    session: &Session,
    model: &str,
    values: Value,
) -> Result<i64, SpokeError> {
    let answer = rpc::execute_kw(settings, session.uid, model, "create", vec![values], vec![])?;
    // Odoo 17+ answers a list of ids when given a list; a single dict gives a single id.
    answer
        .as_i64()
        .or_else(|| answer.as_array().and_then(|ids| ids.first()?.as_i64()))
        .ok_or_else(|| {
            SpokeError::upstream(
                Some(200),
                None,
                format!("Odoo answered {model}.create with {answer:?} instead of an id"),
                false,
            )
        })
}

fn partner_values(capture: &Capture) -> Value {
    Value::structure([
        ("name", Value::string(capture.display_name())),
        ("phone", Value::string(&capture.phone)),
    ])
}

fn lead_values(settings: &Settings, capture: &Capture, partner_id: i64) -> Value {
    let mut values = vec![
        ("name", Value::string(settings.lead_title(capture))),
        ("partner_id", Value::Int(partner_id)),
        ("phone", Value::string(&capture.phone)),
        ("contact_name", Value::string(capture.display_name())),
    ];
    if !capture.text.is_empty() {
        values.push(("description", Value::string(&capture.text)));
    }
    if let Some(team) = settings.team_id {
        values.push(("team_id", Value::Int(team)));
    }
    if let Some(stage) = settings.stage_id {
        values.push(("stage_id", Value::Int(stage)));
    }
    Value::structure(values)
}

/// A short stable fingerprint of `parts` (FNV-1a, 64 bits), for kv keys and cache checks;
/// not a cryptographic hash.
pub fn fnv(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_cover_the_usual_spellings() {
        assert_eq!(
            phone_variants("+351912345678"),
            [
                "+351912345678",
                "+351 912 345 678",
                "912 345 678",
                "912345678"
            ]
        );
        assert_eq!(
            phone_variants("+14155552671"),
            [
                "+14155552671",
                "+1 415-555-2671",
                "(415) 555-2671",
                "4155552671"
            ]
        );
    }

    #[test]
    fn the_domain_names_mobile_only_when_it_exists() {
        let with = partner_domain("+351912345678", true);
        let items = with.as_array().unwrap();
        assert_eq!(items[0], Value::string("|"));
        assert_eq!(items[2].as_array().unwrap()[0], Value::string("mobile"));
        let without = partner_domain("+351912345678", false);
        let items = without.as_array().unwrap();
        assert_eq!(items.len(), 1);
        let term = items[0].as_array().unwrap();
        assert_eq!(term[0], Value::string("phone"));
        assert_eq!(term[1], Value::string("in"));
        assert!(
            term[2]
                .as_array()
                .unwrap()
                .contains(&Value::string("+351912345678"))
        );
    }

    #[test]
    fn fingerprints_are_stable_and_separate_parts() {
        assert_eq!(fnv(&["a", "b"]), fnv(&["a", "b"]));
        assert_ne!(fnv(&["ab", ""]), fnv(&["a", "b"]));
        assert_eq!(fnv(&["x"]).len(), 16);
    }
}
