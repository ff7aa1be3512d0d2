//! The few S3 calls the spoke makes — `HeadBucket`, `HeadObject`, `PutObject` — path-style and
//! signed with SigV4, plus presigned `GET` URLs and the translation of S3's XML errors.

use std::time::{Duration, SystemTime};

use nave_sdk::http::{Request, Response, encode};
use nave_sdk::prelude::*;
use sha2::{Digest, Sha256};

use crate::settings::Settings;
use crate::sigv4::{Options, Payload, Signer, Unsigned};

/// A bucket on one S3 endpoint, with the keys to sign for it.
#[derive(Clone, Debug)]
pub struct Bucket {
    /// The endpoint's base URL, without a trailing `/`.
    endpoint: String,
    /// The bucket's name.
    name: String,
    /// Signs every request.
    signer: Signer,
}

/// What `HeadObject` tells of a stored object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its size in bytes.
    pub size: Option<u64>,
    /// Its `x-amz-meta-*` entries, names without the prefix.
    pub metadata: Vec<(String, String)>,
}

impl ObjectInfo {
    /// The value of the user metadata entry `name`.
    pub fn meta(&self, name: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

impl Bucket {
    /// The bucket of the installation's settings.
    pub fn new(settings: &Settings) -> Self {
        Bucket {
            endpoint: settings.endpoint.clone(),
            name: settings.bucket.clone(),
            signer: Signer {
                access_key: settings.access_key.clone(),
                secret_key: settings.secret_key.clone(),
                region: settings.region.clone(),
                service: "s3".into(),
            },
        }
    }

    /// `{endpoint}/{bucket}/{key}`, each key segment percent-encoded.
    pub fn url(&self, key: &str) -> String {
        let mut url = format!("{}/{}", self.endpoint, self.name);
        if !key.is_empty() {
            let path: Vec<String> = key.split('/').map(encode).collect();
            url.push('/');
            url.push_str(&path.join("/"));
        }
        url
    }

    /// Checks that the bucket exists and the keys may use it (`HeadBucket`).
    pub fn check(&self) -> Result<(), SpokeError> {
        let response = self.send("HEAD", "", Vec::new(), &[])?;
        match response.status {
            200..=299 => Ok(()),
            404 => Err(SpokeError::not_found(format!(
                "the bucket `{}` does not exist on {}; create it or fix the setting `bucket`",
                self.name, self.endpoint
            ))),
            status => Err(s3_error(status, &response.body)),
        }
    }

    /// The object under `key`, or `None` when there is none (`HeadObject`).
    pub fn head(&self, key: &str) -> Result<Option<ObjectInfo>, SpokeError> {
        let response = self.send("HEAD", key, Vec::new(), &[])?;
        match response.status {
            200..=299 => Ok(Some(ObjectInfo {
                size: response
                    .header("content-length")
                    .and_then(|v| v.parse().ok()),
                metadata: response
                    .headers
                    .iter()
                    .filter_map(|(name, value)| {
                        let name = name.to_ascii_lowercase();
                        let short = name.strip_prefix("x-amz-meta-")?;
                        Some((short.to_owned(), value.clone()))
                    })
                    .collect(),
            })),
            404 => Ok(None),
            status => Err(s3_error(status, &response.body)),
        }
    }

    /// Stores `body` under `key` with its content type and `x-amz-meta-*` entries (`PutObject`).
    pub fn put(
        &self,
        key: &str,
        body: &[u8],
        content_type: &str,
        metadata: &[(&str, String)],
    ) -> Result<(), SpokeError> {
        let mut headers = vec![("content-type".to_owned(), header_safe(content_type))];
        for (name, value) in metadata {
            headers.push((format!("x-amz-meta-{name}"), header_safe(value)));
        }
        let response = self.send("PUT", key, headers, body)?;
        if response.is_success() {
            Ok(())
        } else {
            Err(s3_error(response.status, &response.body))
        }
    }

    /// A URL that fetches `key` with a plain `GET` until `time + expires`.
    pub fn presigned_get(
        &self,
        key: &str,
        time: SystemTime,
        expires: Duration,
    ) -> Result<String, SpokeError> {
        self.signer
            .presign(
                Unsigned {
                    method: "GET",
                    url: &self.url(key),
                    headers: &[],
                    payload: Payload::Unsigned,
                },
                time,
                expires,
                Options::s3(),
            )
            .map_err(|e| SpokeError::internal(e.to_string()))
    }

    /// Signs and sends one request to `key` (the bucket itself when empty).
    fn send(
        &self,
        method: &str,
        key: &str,
        headers: Vec<(String, String)>,
        body: &[u8],
    ) -> Result<Response, SpokeError> {
        let url = self.url(key);
        let hash = hex::encode(Sha256::digest(body));
        let signed = self
            .signer
            .sign_headers(
                Unsigned {
                    method,
                    url: &url,
                    headers: &headers,
                    payload: Payload::Sha256(hash),
                },
                SystemTime::now(),
                Options::s3(),
            )
            .map_err(|e| SpokeError::internal(e.to_string()))?;
        let mut request = Request::new(method, url).body(body.to_vec());
        for (name, value) in headers.into_iter().chain(signed) {
            request = request.header(name, value);
        }
        request.send().map_err(|e| match SpokeError::from(e) {
            SpokeError::Upstream(mut u) => {
                u.message = format!("S3 at {}: {}", self.endpoint, u.message);
                SpokeError::Upstream(u)
            }
            other => other,
        })
    }
}

/// `value` with anything but printable ASCII percent-encoded, so it can be a header value.
pub fn header_safe(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if (0x20..0x7f).contains(&byte) && byte != b'%' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The text of the first `<tag>…</tag>` in `xml`, entities for `&`, `<`, `>`, quotes decoded.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// Maps an S3 error answer (`<Error><Code>…</Code><Message>…</Message></Error>`) to a
/// [`SpokeError`].
///
/// Rejected keys (`403` with `SignatureDoesNotMatch`, `InvalidAccessKeyId`, or a bodiless
/// `403` to a `HEAD`) are `unauthorized`; `5xx` and `429`/`SlowDown` are retryable `upstream`
/// errors; anything else is a non-retryable `upstream` error with `Code: Message`.
pub fn s3_error(status: u16, body: &[u8]) -> SpokeError {
    let text = String::from_utf8_lossy(body);
    let code = xml_text(&text, "Code");
    let message = xml_text(&text, "Message").unwrap_or_default();
    let described = match &code {
        Some(code) => format!("{code}: {message}"),
        None if text.trim().is_empty() => format!("S3 answered {status} with no details"),
        None => format!(
            "S3 answered {status}: {}",
            text.chars().take(200).collect::<String>()
        ),
    };
    let rejected_keys = matches!(
        code.as_deref(),
        Some("SignatureDoesNotMatch" | "InvalidAccessKeyId" | "AccessDenied" | "InvalidSecurity")
    ) || (status == 403 && code.is_none());
    if status == 403 && rejected_keys {
        return SpokeError::unauthorized(format!(
            "S3 refused the keys: {described}; check the settings `access_key` and `secret_key`"
        ));
    }
    let retryable = status >= 500 || status == 429 || code.as_deref() == Some("SlowDown");
    SpokeError::upstream(Some(status), None, described, retryable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> Bucket {
        Bucket::new(&Settings {
            endpoint: "http://127.0.0.1:9000".into(),
            region: "us-east-1".into(),
            bucket: "media".into(),
            access_key: "ak".into(),
            secret_key: "sk".into(),
            thumbnail_size: 256,
            url_expiry_secs: 60,
            max_bytes: 10,
        })
    }

    #[test]
    fn urls_are_path_style() {
        assert_eq!(bucket().url(""), "http://127.0.0.1:9000/media");
        assert_eq!(
            bucket().url("t/c/ab.thumb.jpg"),
            "http://127.0.0.1:9000/media/t/c/ab.thumb.jpg"
        );
        assert_eq!(bucket().url("t/a b"), "http://127.0.0.1:9000/media/t/a%20b");
    }

    #[test]
    fn presigned_urls_carry_the_expiry_and_the_signature() {
        let url = bucket()
            .presigned_get("t/c/ab", SystemTime::now(), Duration::from_secs(604_800))
            .unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:9000/media/t/c/ab?X-Amz-Algorithm=AWS4-HMAC-SHA256")
        );
        assert!(url.contains("&X-Amz-Expires=604800&"));
        assert!(url.contains("&X-Amz-Signature="));
    }

    #[test]
    fn s3_xml_errors_become_spoke_errors() {
        let xml = |code: &str, message: &str| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                 <Message>{message}</Message><Resource>/media/x</Resource></Error>"
            )
        };
        let e = s3_error(
            403,
            xml("SignatureDoesNotMatch", "The signature &amp; more").as_bytes(),
        );
        assert!(matches!(&e, SpokeError::Unauthorized(m)
            if m.contains("SignatureDoesNotMatch: The signature & more") && m.contains("`secret_key`")));
        assert!(matches!(
            s3_error(403, xml("InvalidAccessKeyId", "no such key").as_bytes()),
            SpokeError::Unauthorized(_)
        ));
        assert!(matches!(s3_error(403, b""), SpokeError::Unauthorized(_)));
        match s3_error(503, xml("ServiceUnavailable", "Please reduce").as_bytes()) {
            SpokeError::Upstream(u) => {
                assert!(u.retryable);
                assert_eq!(u.status, Some(503));
                assert_eq!(u.message, "ServiceUnavailable: Please reduce");
            }
            other => panic!("{other:?}"),
        }
        match s3_error(400, xml("EntityTooLarge", "too big").as_bytes()) {
            SpokeError::Upstream(u) => {
                assert!(!u.retryable);
                assert_eq!(u.message, "EntityTooLarge: too big");
            }
            other => panic!("{other:?}"),
        }
        match s3_error(502, b"<html>bad gateway</html>") {
            SpokeError::Upstream(u) => assert!(u.retryable && u.message.contains("bad gateway")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn header_values_stay_printable_ascii() {
        assert_eq!(header_safe("image/png"), "image/png");
        assert_eq!(header_safe("a\né%"), "a%0A%C3%A9%25");
    }
}
