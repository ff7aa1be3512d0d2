//! Input checks of the app hub: each names the field and says how to fix it, and [`Checks`]
//! collects every violation of a request so a client can fix them all at once.

use nave_hub_core::{Error, FieldViolation, Result};

/// Longest app name.
const NAME_MAX: usize = 64;
/// Longest display name and publisher.
const LABEL_MAX: usize = 100;
/// Longest description.
const DESCRIPTION_MAX: usize = 2000;
/// Longest icon URL.
const URL_MAX: usize = 2048;
/// The largest fee: 10^12 minor units, the wallet's largest amount.
pub const MAX_FEE: i64 = 1_000_000_000_000;

/// The violations found so far.
#[derive(Debug, Default)]
pub struct Checks(Vec<FieldViolation>);

impl Checks {
    /// Records a violation.
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// A spoke's manifest name: 1–64 of `a-z`, `0-9`, `-`, not starting or ending with `-`.
    pub fn app_name(&mut self, field: &str, name: &str) {
        let ok = !name.is_empty()
            && name.len() <= NAME_MAX
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if !ok {
            self.fail(
                field,
                format!(
                    "`{name}` is not an app name: use the spoke's manifest name, 1–{NAME_MAX} of \
                     a-z, 0-9 and `-` (e.g. `facebook`)"
                ),
            );
        }
    }

    /// A required label of 1–100 characters.
    pub fn label(&mut self, field: &str, value: &str) {
        let n = value.trim().chars().count();
        if n == 0 || n > LABEL_MAX {
            self.fail(
                field,
                format!("required, 1–{LABEL_MAX} characters (got {n})"),
            );
        }
    }

    /// A description of at most 2000 characters.
    pub fn description(&mut self, value: &str) {
        let n = value.chars().count();
        if n > DESCRIPTION_MAX {
            self.fail(
                "description",
                format!("at most {DESCRIPTION_MAX} characters (got {n})"),
            );
        }
    }

    /// An absolute http(s) URL with a host.
    pub fn icon_url(&mut self, value: &str) {
        let parsed = url::Url::parse(value);
        let ok = value.len() <= URL_MAX
            && parsed.as_ref().is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some_and(|h| !h.is_empty())
            });
        if !ok {
            self.fail(
                "icon_url",
                format!(
                    "`{value}` is not an http(s) URL: give an absolute address such as \
                     https://example.com/icon.png (at most {URL_MAX} characters)"
                ),
            );
        }
    }

    /// A fee in minor units: 0 up to [`MAX_FEE`].
    pub fn fee(&mut self, amount: i64) {
        if !(0..=MAX_FEE).contains(&amount) {
            self.fail(
                "install_fee",
                format!("must be 0–{MAX_FEE} minor units (e.g. cents), got {amount}"),
            );
        }
    }

    /// A semver version such as `1.2.0`.
    pub fn version(&mut self, value: &str) {
        if semver::Version::parse(value).is_err() {
            self.fail(
                "version",
                format!("`{value}` is not a semver version such as `1.2.0`"),
            );
        }
    }

    /// A SHA-256 digest: 64 lowercase hex digits.
    pub fn sha256(&mut self, value: &str) {
        let ok = value.len() == 64
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !ok {
            self.fail(
                "sha256",
                "must be the component's SHA-256 as 64 lowercase hex digits",
            );
        }
    }

    /// `Ok` when nothing failed, else every violation at once.
    pub fn done(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_fields(self.0))
        }
    }
}

/// The newest of some versions by semver precedence (unparsable ones are ignored).
pub fn newest<'a>(versions: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    versions
        .into_iter()
        .filter_map(|v| semver::Version::parse(v).ok().map(|p| (p, v)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_urls_and_versions() {
        let mut c = Checks::default();
        c.app_name("name", "facebook-2");
        c.icon_url("https://cdn.example.com/fb.png");
        c.version("1.10.0-beta.1");
        c.sha256(&"a".repeat(64));
        c.fee(0);
        assert!(c.done().is_ok());

        let mut c = Checks::default();
        c.app_name("name", "Facebook");
        c.icon_url("javascript:alert(1)");
        c.icon_url("ftp://example.com/x.png");
        c.version("1.2");
        c.sha256("ABC");
        c.fee(-1);
        let err = c.done().unwrap_err();
        let fields: Vec<_> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "icon_url",
                "icon_url",
                "version",
                "sha256",
                "install_fee"
            ]
        );
    }

    #[test]
    fn newest_follows_semver_not_text() {
        assert_eq!(newest(["1.9.0", "1.10.0", "1.10.0-rc.1"]), Some("1.10.0"));
        assert_eq!(newest([]), None);
    }
}
