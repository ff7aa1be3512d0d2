//! The Odoo processor spoke: phone numbers people write become Odoo partners and CRM leads.
//!
//! - Capture ([`phone`]): numbers found in a message's text, normalized to E.164 with
//!   the installation's default country.
//! - Staging ([`stage`]): each capture is written to kv first, then pushed; an Odoo outage
//!   leaves it staged for the next call, so nothing is lost.
//! - Push ([`crm`]): over XML-RPC ([`rpc`], with its own codec in [`xmlrpc`]), the partner
//!   with that phone is looked up (`search_read` on `phone`, and `mobile` while the model
//!   has it: `fields_get` tells, since Odoo 18.2 dropped it); a new one is created with a
//!   `crm.lead` in the configured team and stage.
//! - Install: authenticates, so wrong credentials refuse the installation.
//!
//! `process` answers the number in `contact-fields` (`phone`) and metadata
//! `odoo.partner_id`, `odoo.lead_id` and `odoo.staged` (how many captures still wait).

pub mod crm;
pub mod phone;
pub mod rpc;
pub mod stage;
pub mod xmlrpc;

use nave_sdk::prelude::*;
use phonenumber::country::Id;

use crate::stage::Capture;

/// The default country used when an installation does not give one.
pub const DEFAULT_COUNTRY: &str = "US";
/// The lead title used when an installation does not give one.
pub const DEFAULT_LEAD_TITLE: &str = "{name} ({platform})";

/// The installation's settings, read once per call.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Odoo's base URL, without a trailing `/`.
    pub url: String,
    /// The database name.
    pub db: String,
    /// The login of the user the spoke acts as.
    pub login: String,
    /// That user's API key (or password).
    pub api_key: String,
    /// The country of numbers written without an international prefix.
    pub country: Id,
    /// The sales team new leads go to.
    pub team_id: Option<i64>,
    /// The pipeline stage new leads start in.
    pub stage_id: Option<i64>,
    /// The title of new leads, with `{name}`, `{phone}` and `{platform}` filled in.
    pub lead_title: String,
}

impl Settings {
    /// Reads and checks the settings; an `invalid-input` error names the bad one.
    pub fn load() -> Result<Self, SpokeError> {
        Self::from_lookup(config::get)
    }

    /// Reads and checks the settings from `lookup` (the config import, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SpokeError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let require = |name: &str| {
            get(name).ok_or_else(|| {
                SpokeError::invalid_input(format!("the setting `{name}` is not set"))
            })
        };
        let url = require("url")?.trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(SpokeError::invalid_input(format!(
                "the setting `url` must be Odoo's base URL starting with https:// (or http://), \
                 such as https://mycompany.odoo.com, not `{url}`"
            )));
        }
        let country_code = get("default_country").unwrap_or_else(|| DEFAULT_COUNTRY.into());
        let country = phone::country(&country_code).ok_or_else(|| {
            SpokeError::invalid_input(format!(
                "the setting `default_country` must be an ISO 3166 alpha-2 country code \
                 such as PT or US, not `{country_code}`"
            ))
        })?;
        Ok(Settings {
            url,
            db: require("db")?,
            login: require("login")?,
            api_key: require("api_key")?,
            country,
            team_id: record_id(&get, "team_id")?,
            stage_id: record_id(&get, "stage_id")?,
            lead_title: get("lead_title").unwrap_or_else(|| DEFAULT_LEAD_TITLE.into()),
        })
    }

    /// A fingerprint of what identifies the Odoo user, to notice a change of settings.
    pub fn fingerprint(&self) -> String {
        crm::fnv(&[&self.url, &self.db, &self.login, &self.api_key])
    }

    /// The title of the lead for `capture`.
    pub fn lead_title(&self, capture: &Capture) -> String {
        self.lead_title
            .replace("{name}", &capture.display_name())
            .replace("{phone}", &capture.phone)
            .replace("{platform}", &capture.platform)
    }
}

/// An optional positive integer setting: the id of an Odoo record.
fn record_id(get: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<i64>, SpokeError> {
    get(name)
        .map(|value| match value.parse::<i64>() {
            Ok(id) if id > 0 => Ok(id),
            _ => Err(SpokeError::invalid_input(format!(
                "the setting `{name}` must be the numeric id of an Odoo record (e.g. 1), \
                 not `{value}`"
            ))),
        })
        .transpose()
}

struct Odoo;

impl Spoke for Odoo {
    fn describe() -> Manifest {
        Manifest {
            name: "odoo".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            role: Role::Processor,
            description: "Odoo CRM: phone numbers in messages become partners and leads.".into(),
            allowed_hosts: vec!["{{ config.url }}".into()],
            settings: vec![
                SettingSpec::required("url", "Odoo's base URL, e.g. https://mycompany.odoo.com."),
                SettingSpec::required("db", "The Odoo database name."),
                SettingSpec::required("login", "The login of the Odoo user the spoke acts as."),
                SettingSpec::required("api_key", "An API key of that user.").secret(),
                SettingSpec::optional(
                    "default_country",
                    "The ISO 3166 country (e.g. PT) of numbers written without +.",
                )
                .with_default(DEFAULT_COUNTRY),
                SettingSpec::optional("team_id", "The id of the sales team new leads go to."),
                SettingSpec::optional("stage_id", "The id of the stage new leads start in."),
                SettingSpec::optional(
                    "lead_title",
                    "The title of new leads; {name}, {phone} and {platform} are filled in.",
                )
                .with_default(DEFAULT_LEAD_TITLE),
            ],
        }
    }

    fn install() -> Result<(), SpokeError> {
        let settings = Settings::load()?;
        crm::Session::refresh(&settings)?;
        // Captures left by an earlier installation of the same id go out now.
        if let Err(e) = stage::flush(&settings) {
            nave_sdk::warn!("staged captures not pushed at install: {}", e.message());
        }
        Ok(())
    }
}

impl Processor for Odoo {
    fn process(message: Message) -> Result<Enrichment, SpokeError> {
        let settings = Settings::load()?;
        let phones = phone::find_numbers(
            message.text.as_deref().unwrap_or_default(),
            settings.country,
        );
        let mut known = Vec::new();
        for phone in &phones {
            let capture = Capture::from_message(&message, phone);
            match stage::already_pushed(&capture)? {
                Some(outcome) => known.push((phone.clone(), outcome)),
                None => stage::stage(&capture)?,
            }
        }
        let report = stage::flush(&settings)?;
        Ok(enrichment(&message, &phones, known, &report))
    }
}

/// What `process` answers: the first number found, and what Odoo made of it.
fn enrichment(
    message: &Message,
    phones: &[String],
    mut known: Vec<(String, crm::Outcome)>,
    report: &stage::Report,
) -> Enrichment {
    let mut enrichment = Enrichment {
        contact_fields: Vec::new(),
        files: Vec::new(),
        metadata: Vec::new(),
    };
    let ours = |capture: &Capture| {
        capture.message_id == message.id && capture.platform == message.platform
    };
    known.extend(
        report
            .pushed
            .iter()
            .filter(|(capture, _)| ours(capture))
            .map(|(capture, outcome)| (capture.phone.clone(), outcome.clone())),
    );
    if let Some(first) = phones.first() {
        enrichment
            .contact_fields
            .push(("phone".into(), first.clone()));
        if let Some((_, outcome)) = known.iter().find(|(phone, _)| phone == first) {
            let metadata = &mut enrichment.metadata;
            metadata.push(("odoo.partner_id".into(), outcome.partner_id.to_string()));
            if let Some(lead) = outcome.lead_id {
                metadata.push(("odoo.lead_id".into(), lead.to_string()));
            }
        }
        if phones.len() > 1 {
            enrichment
                .metadata
                .push(("odoo.phones".into(), phones.join(",")));
        }
    }
    if let Some((_, error)) = report.failed.iter().find(|(capture, _)| ours(capture)) {
        enrichment
            .metadata
            .push(("odoo.error".into(), error.message().to_owned()));
    }
    // Said whenever captures were in play: this message's, or earlier ones pushed now.
    let touched = !report.pushed.is_empty() || !report.failed.is_empty();
    if !phones.is_empty() || touched || report.remaining > 0 {
        enrichment
            .metadata
            .push(("odoo.staged".into(), report.remaining.to_string()));
    }
    enrichment
}

nave_sdk::export_processor!(Odoo);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, SpokeError> {
        let mut map: HashMap<String, String> = [
            ("url", "https://odoo.example.com/"),
            ("db", "prod"),
            ("login", "bot@example.com"),
            ("api_key", "k"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in pairs {
            map.insert((*k).to_owned(), (*v).to_owned());
        }
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn settings_have_defaults_and_trim_the_url() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.url, "https://odoo.example.com");
        assert_eq!(s.country, Id::US);
        assert_eq!((s.team_id, s.stage_id), (None, None));
        let s = settings(&[
            ("default_country", "pt"),
            ("team_id", "3"),
            ("stage_id", " 7 "),
        ])
        .unwrap();
        assert_eq!(
            (s.country, s.team_id, s.stage_id),
            (Id::PT, Some(3), Some(7))
        );
    }

    #[test]
    fn bad_settings_are_named() {
        for (pairs, name) in [
            (vec![("default_country", "Portugal")], "default_country"),
            (vec![("team_id", "sales")], "team_id"),
            (vec![("stage_id", "0")], "stage_id"),
            (vec![("url", "odoo.example.com")], "url"),
            (vec![("db", " ")], "db"),
        ] {
            match settings(&pairs) {
                Err(SpokeError::InvalidInput(m)) => {
                    assert!(m.contains(&format!("`{name}`")), "{m}")
                }
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn lead_titles_fill_in_the_capture() {
        let s = settings(&[("lead_title", "Lead {name} / {phone} via {platform}")]).unwrap();
        let capture = Capture {
            phone: "+351912345678".into(),
            name: Some("Ada".into()),
            platform: "facebook".into(),
            ..Capture::default()
        };
        assert_eq!(
            s.lead_title(&capture),
            "Lead Ada / +351912345678 via facebook"
        );
    }
}
