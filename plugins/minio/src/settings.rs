//! The installation's settings, read and checked once per call.

use nave_sdk::prelude::*;

use crate::sigv4::MAX_PRESIGN_SECS;

/// The region used when an installation does not give one.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The longest side of thumbnails, in pixels, when not set.
pub const DEFAULT_THUMBNAIL_SIZE: u32 = 256;
/// The largest attachment stored, in bytes, when not set: 8 MiB, the host's default cap on a
/// response to a spoke (`limits.max_egress_response_bytes`), so that by default a file too
/// large is refused by this setting, with its name, rather than cut off by the host.
pub const DEFAULT_MAX_BYTES: u64 = 8 << 20;

/// What one installation stores where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The S3 endpoint, e.g. `http://minio:9000`, without a trailing `/`.
    pub endpoint: String,
    /// The region the signatures are scoped to.
    pub region: String,
    /// The bucket files go to (path-style: `{endpoint}/{bucket}/{key}`).
    pub bucket: String,
    /// The access key id.
    pub access_key: String,
    /// The secret access key.
    pub secret_key: String,
    /// The longest side of thumbnails, in pixels.
    pub thumbnail_size: u32,
    /// How long presigned URLs stay valid, in seconds (at most seven days).
    pub url_expiry_secs: u64,
    /// The largest attachment stored, in bytes.
    pub max_bytes: u64,
}

impl Settings {
    /// Reads the installation's settings from the host.
    pub fn load() -> Result<Self, SpokeError> {
        Settings::from_lookup(config::get)
    }

    /// Reads and checks settings through `get`; an `invalid-input` error names the bad one.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SpokeError> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let require = |name: &str| {
            get(name).ok_or_else(|| {
                SpokeError::invalid_input(format!("the setting `{name}` is not set"))
            })
        };
        let endpoint = require("endpoint")?.trim_end_matches('/').to_owned();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
            || endpoint
                .split_once("://")
                .is_some_and(|(_, rest)| rest.is_empty() || rest.contains('/'))
        {
            return Err(SpokeError::invalid_input(format!(
                "the setting `endpoint` must be the server's base URL such as `http://minio:9000`, not `{endpoint}`"
            )));
        }
        let bucket = require("bucket")?;
        if !valid_bucket(&bucket) {
            return Err(SpokeError::invalid_input(format!(
                "the setting `bucket` is not a valid S3 bucket name: `{bucket}` (3-63 characters: lower-case letters, digits, `.` and `-`)"
            )));
        }
        let number = |name: &str, default: u64, max: u64| -> Result<u64, SpokeError> {
            let Some(text) = get(name) else {
                return Ok(default);
            };
            match text.parse::<u64>() {
                Ok(value) if (1..=max).contains(&value) => Ok(value),
                _ => Err(SpokeError::invalid_input(format!(
                    "the setting `{name}` must be a whole number from 1 to {max}, not `{text}`"
                ))),
            }
        };
        Ok(Settings {
            endpoint,
            region: get("region").unwrap_or_else(|| DEFAULT_REGION.to_owned()),
            bucket,
            access_key: require("access_key")?,
            secret_key: require("secret_key")?,
            thumbnail_size: number("thumbnail_size", DEFAULT_THUMBNAIL_SIZE.into(), 4096)? as u32,
            url_expiry_secs: number("url_expiry_secs", MAX_PRESIGN_SECS, MAX_PRESIGN_SECS)?,
            max_bytes: number("max_bytes", DEFAULT_MAX_BYTES, 1 << 30)?,
        })
    }
}

/// S3's rules for bucket names, the ones a typo breaks.
fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, SpokeError> {
        let mut map: HashMap<String, String> = [
            ("endpoint", "http://127.0.0.1:9000/"),
            ("bucket", "media"),
            ("access_key", "ak"),
            ("secret_key", "sk"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            map.insert(k.to_string(), v.to_string());
        }
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    fn invalid(result: Result<Settings, SpokeError>) -> String {
        match result {
            Err(SpokeError::InvalidInput(message)) => message,
            other => panic!("expected invalid-input, got {other:?}"),
        }
    }

    #[test]
    fn defaults_fill_what_is_not_given() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.endpoint, "http://127.0.0.1:9000");
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.thumbnail_size, 256);
        assert_eq!(s.url_expiry_secs, 604_800);
        assert_eq!(s.max_bytes, 8 << 20);
    }

    #[test]
    fn bad_values_name_the_setting() {
        assert!(invalid(settings(&[("url_expiry_secs", "604801")])).contains("`url_expiry_secs`"));
        assert!(invalid(settings(&[("url_expiry_secs", "0")])).contains("from 1 to 604800"));
        assert!(invalid(settings(&[("thumbnail_size", "big")])).contains("`thumbnail_size`"));
        assert!(invalid(settings(&[("bucket", "My_Bucket")])).contains("`bucket`"));
        assert!(invalid(settings(&[("endpoint", "minio:9000")])).contains("`endpoint`"));
        assert!(invalid(settings(&[("endpoint", "http://m/x")])).contains("`endpoint`"));
        assert!(invalid(settings(&[("secret_key", " ")])).contains("`secret_key` is not set"));
    }
}
