//! Storing a message's attachments: fetch, hash, `HeadObject`, `PutObject`, presign.
//!
//! Each attachment with a URL is fetched from the channel (a host the installation granted),
//! stored under `{tenant}/{conversation}/{sha256}` unless it is already there, and, for
//! images, given a JPEG thumbnail at `{key}.thumb.jpg`. The thumbnail is written before the
//! original and each is checked on its own, so a call cut short leaves nothing a later call
//! would wrongly skip.

use std::time::{Duration, SystemTime};

use nave_sdk::http::Request;
use nave_sdk::prelude::*;
use sha2::{Digest, Sha256};

use crate::keys::{object_key, sanitize, thumbnail_key};
use crate::media::{mime_type, picture};
use crate::s3::Bucket;
use crate::settings::Settings;

/// The metadata key of the tenant id the message hub sets.
pub const META_TENANT: &str = "nave.tenant";
/// The metadata key of the platform's conversation id the message hub sets.
pub const META_CONVERSATION: &str = "nave.conversation";
/// The original's `x-amz-meta-*` entry naming its thumbnail's key.
const META_THUMBNAIL: &str = "thumbnail";

/// Stores every attachment of `message` and says where.
pub fn process(message: &Message, settings: &Settings) -> Result<Enrichment, SpokeError> {
    let meta = |name: &str| {
        message
            .metadata
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let tenant = sanitize(
        meta(META_TENANT).unwrap_or_default(),
        "the message metadata `nave.tenant`",
    )?;
    let conversation = sanitize(
        meta(META_CONVERSATION).unwrap_or(&message.conversation),
        "the conversation (metadata `nave.conversation` or the message's `conversation`)",
    )?;
    let bucket = Bucket::new(settings);
    // One clock reading for every URL of the message, so they all expire together.
    let now = SystemTime::now();
    let expires = Duration::from_secs(settings.url_expiry_secs);
    let mut enrichment = Enrichment {
        contact_fields: Vec::new(),
        files: Vec::new(),
        metadata: Vec::new(),
    };
    for attachment in &message.attachments {
        let Some(url) = attachment.url.as_deref().filter(|u| !u.is_empty()) else {
            continue;
        };
        let bytes = fetch(url, settings.max_bytes)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let key = object_key(&tenant, &conversation, &sha256);
        let mime = mime_type(attachment.mime_type.as_deref(), &bytes);
        let thumbnail = store_one(&bucket, settings, url, &key, &sha256, &mime, &bytes)?;
        if let Some(thumb_key) = thumbnail {
            let thumb_url = bucket.presigned_get(&thumb_key, now, expires)?;
            enrichment
                .metadata
                .push((format!("minio.thumbnail.{sha256}"), thumb_key));
            enrichment
                .metadata
                .push((format!("minio.thumbnail_url.{sha256}"), thumb_url));
        }
        enrichment.files.push(StoredFile {
            source_url: url.to_owned(),
            url: Some(bucket.presigned_get(&key, now, expires)?),
            key,
            mime_type: Some(mime),
            sha256,
            size: bytes.len() as u64,
        });
    }
    Ok(enrichment)
}

/// Stores one file (and its thumbnail) unless already stored; the thumbnail's key, if any.
fn store_one(
    bucket: &Bucket,
    settings: &Settings,
    source: &str,
    key: &str,
    sha256: &str,
    mime: &str,
    bytes: &[u8],
) -> Result<Option<String>, SpokeError> {
    let thumb_key = thumbnail_key(key);
    if let Some(existing) = bucket.head(key)? {
        match existing.meta(META_THUMBNAIL) {
            None => return Ok(None),
            Some(_) if bucket.head(&thumb_key)?.is_some() => return Ok(Some(thumb_key)),
            // The thumbnail went missing: make it again below.
            Some(_) => {}
        }
        debug!("{key} is stored but its thumbnail is not; making it again");
    }
    let picture = match picture(bytes, settings.thumbnail_size) {
        Ok(picture) => picture,
        Err(reason) => {
            warn!(
                "{source} looks like an image but does not decode ({reason}); storing it as a file"
            );
            None
        }
    };
    let mut metadata = vec![
        ("content-type", mime.to_owned()),
        ("sha256", sha256.to_owned()),
        ("source", source.to_owned()),
    ];
    if let Some(picture) = &picture {
        metadata.push(("width", picture.width.to_string()));
        metadata.push(("height", picture.height.to_string()));
        metadata.push((META_THUMBNAIL, thumb_key.clone()));
        if bucket.head(&thumb_key)?.is_none() {
            let thumb_sha = hex::encode(Sha256::digest(&picture.thumbnail));
            bucket.put(
                &thumb_key,
                &picture.thumbnail,
                "image/jpeg",
                &[
                    ("content-type", "image/jpeg".to_owned()),
                    ("sha256", thumb_sha),
                    ("source", source.to_owned()),
                    ("thumbnail-of", key.to_owned()),
                    ("max-side", settings.thumbnail_size.to_string()),
                ],
            )?;
        }
    }
    if bucket.head(key)?.is_none() {
        bucket.put(key, bytes, mime, &metadata)?;
        info!("stored {} bytes of {mime} as {key}", bytes.len());
    }
    Ok(picture.map(|_| thumb_key))
}

/// The bytes at `url`, refused past `max_bytes`.
fn fetch(url: &str, max_bytes: u64) -> Result<Vec<u8>, SpokeError> {
    let too_big = |size: u64| {
        SpokeError::invalid_input(format!(
            "the attachment at {url} is {size} bytes, more than the {max_bytes} bytes allowed \
             (setting `max_bytes`)"
        ))
    };
    let response = Request::get(url)
        .send()
        .map_err(|e| match SpokeError::from(e) {
            SpokeError::Denied(m) => SpokeError::denied(format!(
                "{m}: the attachment host of {url} is not granted; declare it in the setting \
             `media_host` and grant it to the installation"
            )),
            SpokeError::Upstream(mut u) => {
                u.message = format!("fetching the attachment {url}: {}", u.message);
                SpokeError::Upstream(u)
            }
            other => other,
        })?;
    if !response.is_success() {
        let status = response.status;
        return Err(SpokeError::upstream(
            Some(status),
            None,
            format!("fetching the attachment {url} answered {status}"),
            status >= 500 || status == 429,
        ));
    }
    if let Some(size) = response
        .header("content-length")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|size| *size > max_bytes)
    {
        return Err(too_big(size));
    }
    if response.body.len() as u64 > max_bytes {
        return Err(too_big(response.body.len() as u64));
    }
    Ok(response.body)
}
