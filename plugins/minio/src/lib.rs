//! The MinIO/S3 processor spoke: stores the attachments of messages in a bucket.
//!
//! - [`store`]: for each attachment, fetch it from the channel's URL, store it path-style at
//!   `{bucket}/{tenant}/{conversation}/{sha256}` with `x-amz-meta-*` metadata (content type,
//!   sha256, source, and for images width and height) and, for images, a JPEG thumbnail
//!   beside it; `HeadObject` first skips what is already stored. The enrichment lists each
//!   file with a presigned `GET` URL (at most seven days).
//! - [`s3`]: the S3 calls and the translation of S3's XML errors; [`sigv4`]: request signing
//!   with the `aws-sigv4` crate, checked against the published AWS test suite.
//! - Install checks the bucket with `HeadBucket`: a missing bucket or refused keys refuse
//!   the installation.
//!
//! The pure parts run as native unit tests; only the calls to the host need a wasm runtime.

pub mod keys;
pub mod media;
pub mod s3;
pub mod settings;
pub mod sigv4;
pub mod store;

use nave_sdk::prelude::*;

use crate::settings::{DEFAULT_MAX_BYTES, DEFAULT_REGION, DEFAULT_THUMBNAIL_SIZE, Settings};
use crate::sigv4::MAX_PRESIGN_SECS;

struct Minio;

impl Spoke for Minio {
    fn describe() -> Manifest {
        Manifest {
            name: "minio".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            role: Role::Processor,
            description: "MinIO/S3: stores message attachments, with image thumbnails and \
                          presigned URLs."
                .into(),
            allowed_hosts: vec![
                "{{ config.endpoint }}".into(),
                "{{ config.media_host }}".into(),
                "*.fbcdn.net".into(),
                "*.fbsbx.com".into(),
            ],
            settings: vec![
                SettingSpec::required("endpoint", "The S3 endpoint, e.g. `http://minio:9000`."),
                SettingSpec::optional("region", "The region signatures are scoped to.")
                    .with_default(DEFAULT_REGION),
                SettingSpec::required("bucket", "The bucket attachments are stored in."),
                SettingSpec::required("access_key", "The S3 access key id."),
                SettingSpec::required("secret_key", "The S3 secret access key.").secret(),
                SettingSpec::optional(
                    "thumbnail_size",
                    "The longest side of image thumbnails, in pixels.",
                )
                .with_default(DEFAULT_THUMBNAIL_SIZE.to_string()),
                SettingSpec::optional(
                    "url_expiry_secs",
                    "How long presigned URLs stay valid, in seconds (at most 604800, 7 days).",
                )
                .with_default(MAX_PRESIGN_SECS.to_string()),
                SettingSpec::optional(
                    "max_bytes",
                    "The largest attachment stored, in bytes; larger ones are refused. The host \
                     also caps what a spoke downloads (limits.max_egress_response_bytes, 8 MiB \
                     by default): raise both for larger files.",
                )
                .with_default(DEFAULT_MAX_BYTES.to_string()),
                SettingSpec::optional(
                    "media_host",
                    "Another host attachments may be fetched from, besides Facebook's CDNs.",
                ),
            ],
        }
    }

    fn install() -> Result<(), SpokeError> {
        s3::Bucket::new(&Settings::load()?).check()
    }
}

impl Processor for Minio {
    fn process(message: Message) -> Result<Enrichment, SpokeError> {
        store::process(&message, &Settings::load()?)
    }
}

nave_sdk::export_processor!(Minio);
