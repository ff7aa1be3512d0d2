//! The MinIO/S3 spoke against a real S3 server on loopback (`s3s-fs`, signatures checked),
//! with attachments served by a fake CDN, read back with an independent S3 client.

use std::time::Duration;

use nave::runtime::CallError;
use nave::runtime::bindings::types::{Attachment, Message, SpokeError};
use nave_tests::s3::{
    BROKEN_JPEG, FakeCdn, S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, TEST_PDF, TestS3,
};
use nave_tests::{TestHost, spoke};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const BUCKET: &str = "media";
const TENANT: &str = "0190b4c2-7a1e-7cc0-9b1a-5d7c9e2f0a11";

fn settings(s3: &TestS3, cdn: &FakeCdn, secret: &str, bucket: &str) -> Value {
    json!({
        "settings": {
            "endpoint": s3.endpoint,
            "bucket": bucket,
            "access_key": S3_ACCESS_KEY,
            "secret_key": secret,
            "media_host": cdn.host,
        },
        "allowed_hosts": [s3.host, cdn.host],
    })
}

fn message(cdn: &FakeCdn, conversation: &str) -> Message {
    let attachment = |kind: &str, path: &str, mime: &str| Attachment {
        kind: kind.into(),
        url: Some(format!("{}{path}", cdn.url)),
        mime_type: Some(mime.into()),
        payload: None,
    };
    Message {
        platform: "facebook".into(),
        id: "m-1".into(),
        conversation: "page-1:psid-2".into(),
        sender: "psid-2".into(),
        recipient: "page-1".into(),
        text: None,
        attachments: vec![
            attachment("image", "/photo.png", "image/png"),
            attachment("file", "/doc.pdf", "application/pdf"),
        ],
        payload: None,
        timestamp_ms: 1,
        sender_profile: None,
        metadata: vec![
            ("nave.tenant".into(), TENANT.into()),
            ("nave.conversation".into(), conversation.into()),
            ("nave.installation".into(), "set-by-the-test".into()),
        ],
    }
}

/// An S3 client that owes nothing to the spoke: rusty-s3 signs, reqwest fetches.
struct Reader {
    bucket: rusty_s3::Bucket,
    credentials: rusty_s3::Credentials,
    http: reqwest::Client,
}

impl Reader {
    fn new(s3: &TestS3) -> Reader {
        Reader {
            bucket: rusty_s3::Bucket::new(
                s3.endpoint.parse().unwrap(),
                rusty_s3::UrlStyle::Path,
                BUCKET,
                S3_REGION,
            )
            .unwrap(),
            credentials: rusty_s3::Credentials::new(S3_ACCESS_KEY, S3_SECRET_KEY),
            http: reqwest::Client::new(),
        }
    }

    async fn get(&self, key: &str) -> reqwest::Response {
        use rusty_s3::S3Action;
        let url = self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign(Duration::from_secs(60));
        self.http.get(url).send().await.unwrap()
    }
}

fn meta<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(format!("x-amz-meta-{name}"))
        .unwrap_or_else(|| panic!("no x-amz-meta-{name}"))
        .to_str()
        .unwrap()
}

async fn process(
    host: &TestHost,
    id: &str,
    message: &Message,
) -> Result<nave::runtime::Enrichment, CallError> {
    let installation = host.app.registry.installation(id.parse().unwrap()).unwrap();
    let ctx = installation.call_context("minio-test");
    host.app
        .runtime
        .process(&installation.spoke, &ctx, message)
        .await
}

fn files_in(dir: &std::path::Path) -> usize {
    let mut count = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                count += 1;
            }
        }
    }
    count
}

#[tokio::test]
async fn attachments_are_stored_with_metadata_thumbnails_and_presigned_urls() {
    let (s3, cdn) = (TestS3::start().await, FakeCdn::start().await);
    s3.create_bucket(BUCKET);
    let host = TestHost::start().await;
    let id = host
        .upload_and_install(
            spoke("plugins/minio"),
            "acme",
            settings(&s3, &cdn, S3_SECRET_KEY, BUCKET),
        )
        .await;
    let conversation = "0190b4c2-0000-7000-8000-00000000c0de";
    let enrichment = process(&host, &id, &message(&cdn, conversation))
        .await
        .unwrap();

    let png_sha = hex::encode(Sha256::digest(cdn.png.as_slice()));
    let pdf_sha = hex::encode(Sha256::digest(TEST_PDF));
    assert_eq!(enrichment.files.len(), 2);
    let (image, pdf) = (&enrichment.files[0], &enrichment.files[1]);
    assert_eq!(image.key, format!("{TENANT}/{conversation}/{png_sha}"));
    assert_eq!(image.sha256, png_sha);
    assert_eq!(image.size, cdn.png.len() as u64);
    assert_eq!(image.mime_type.as_deref(), Some("image/png"));
    assert_eq!(image.source_url, format!("{}/photo.png", cdn.url));
    assert_eq!(pdf.key, format!("{TENANT}/{conversation}/{pdf_sha}"));
    assert_eq!(pdf.size, TEST_PDF.len() as u64);

    // Read back with another client: bytes and x-amz-meta-*.
    let reader = Reader::new(&s3);
    let stored = reader.get(&image.key).await;
    assert_eq!(stored.status(), 200);
    assert_eq!(meta(&stored, "content-type"), "image/png");
    assert_eq!(meta(&stored, "sha256"), png_sha);
    assert_eq!(meta(&stored, "source"), format!("{}/photo.png", cdn.url));
    assert_eq!(meta(&stored, "width"), "800");
    assert_eq!(meta(&stored, "height"), "400");
    assert_eq!(stored.bytes().await.unwrap().as_ref(), cdn.png.as_slice());
    let stored = reader.get(&pdf.key).await;
    assert_eq!(meta(&stored, "content-type"), "application/pdf");
    assert_eq!(meta(&stored, "sha256"), pdf_sha);
    assert!(stored.headers().get("x-amz-meta-width").is_none());
    assert_eq!(stored.bytes().await.unwrap().as_ref(), TEST_PDF);

    // The thumbnail beside the image: a JPEG whose longest side is 256.
    let thumb_key = format!("{}.thumb.jpg", image.key);
    let meta_of = |name: &str| {
        enrichment
            .metadata
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        meta_of(&format!("minio.thumbnail.{png_sha}")),
        Some(thumb_key.clone())
    );
    assert_eq!(meta_of(&format!("minio.thumbnail.{pdf_sha}")), None);
    let thumb = reader.get(&thumb_key).await;
    assert_eq!(thumb.status(), 200);
    let thumb = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (256, 128));

    // The presigned URLs fetch the same bytes with a plain GET, for at most 7 days.
    for (file, bytes) in [(image, cdn.png.as_slice()), (pdf, TEST_PDF)] {
        let url = file.url.as_deref().unwrap();
        let expires: u64 = query_param(url, "X-Amz-Expires").parse().unwrap();
        assert!(expires <= 604_800, "{url}");
        let got = reqwest::get(url).await.unwrap();
        assert_eq!(got.status(), 200, "{url}");
        assert_eq!(got.bytes().await.unwrap().as_ref(), bytes);
    }
    let thumb_url = meta_of(&format!("minio.thumbnail_url.{png_sha}")).unwrap();
    assert_eq!(reqwest::get(&thumb_url).await.unwrap().status(), 200);

    // The same message again: fetched again, but nothing new is written.
    let puts = s3.put_count();
    assert_eq!(puts, 3, "image, thumbnail and PDF");
    let again = process(&host, &id, &message(&cdn, conversation))
        .await
        .unwrap();
    assert_eq!(s3.put_count(), puts, "HeadObject found them all");
    assert_eq!(again.files.len(), 2);
    assert_eq!(again.files[0].key, image.key);
    assert_eq!(
        meta_of(&format!("minio.thumbnail.{png_sha}")),
        Some(thumb_key)
    );
    assert_eq!(cdn.hits("/photo.png"), 2);
}

fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {url}"))
        .to_owned()
}

#[tokio::test]
async fn s3_down_is_a_retryable_upstream_error_and_nothing_is_half_written() {
    let (s3, cdn) = (TestS3::start().await, FakeCdn::start().await);
    s3.create_bucket(BUCKET);
    let host = TestHost::start().await;
    let id = host
        .upload_and_install(
            spoke("plugins/minio"),
            "acme",
            settings(&s3, &cdn, S3_SECRET_KEY, BUCKET),
        )
        .await;
    s3.down();
    let result = process(&host, &id, &message(&cdn, "conv-down")).await;
    match result {
        Err(CallError::Spoke(SpokeError::Upstream(e))) => {
            assert!(e.retryable, "{e:?}");
            assert_eq!(e.status, Some(503));
            // The first call, a HeadObject, gets a bodiless 503.
            assert!(e.message.contains("503"), "{}", e.message);
        }
        other => panic!("expected a retryable upstream error, got {other:?}"),
    }
    assert_eq!(files_in(&s3.bucket_dir(BUCKET)), 0, "nothing written");
    s3.up();
    let enrichment = process(&host, &id, &message(&cdn, "conv-down"))
        .await
        .unwrap();
    assert_eq!(enrichment.files.len(), 2, "works again once S3 is back");
    assert_eq!(s3.put_count(), 3);
}

#[tokio::test]
async fn wrong_keys_and_a_missing_bucket_refuse_the_installation() {
    let (s3, cdn) = (TestS3::start().await, FakeCdn::start().await);
    s3.create_bucket(BUCKET);
    let host = TestHost::start().await;
    let (status, plugin) = host.upload(spoke("plugins/minio")).await;
    assert!(status.is_success(), "{plugin}");
    let install = |secret: &str, bucket: &str| {
        let mut body = settings(&s3, &cdn, secret, bucket);
        body["plugin"] = plugin["name"].clone();
        body["version"] = plugin["version"].clone();
        body
    };

    let (status, answer) = host
        .install("acme", install("not-the-secret", BUCKET))
        .await;
    assert!(!status.is_success(), "{answer}");
    let text = answer.to_string();
    assert!(text.contains("unauthorized"), "{text}");
    assert!(text.contains("secret_key"), "{text}");

    let (status, answer) = host
        .install("acme", install(S3_SECRET_KEY, "no-such-bucket"))
        .await;
    assert!(!status.is_success(), "{answer}");
    let text = answer.to_string();
    assert!(text.contains("NotFound"), "{text}");
    assert!(text.contains("no-such-bucket"), "{text}");
    assert_eq!(s3.put_count(), 0);
}

#[tokio::test]
async fn a_secret_key_changed_to_a_wrong_one_makes_processing_unauthorized() {
    let (s3, cdn) = (TestS3::start().await, FakeCdn::start().await);
    s3.create_bucket(BUCKET);
    let host = TestHost::start().await;
    let id = host
        .upload_and_install(
            spoke("plugins/minio"),
            "acme",
            settings(&s3, &cdn, S3_SECRET_KEY, BUCKET),
        )
        .await;
    let response = host
        .operator(
            axum::http::Method::PATCH,
            &format!("/v1/tenants/acme/installations/{id}"),
        )
        .json(&json!({"settings": {"secret_key": "not-the-secret"}}))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
    match process(&host, &id, &message(&cdn, "conv-keys")).await {
        Err(CallError::Spoke(SpokeError::Unauthorized(m))) => {
            assert!(m.contains("`secret_key`"), "{m}");
        }
        other => panic!("expected unauthorized, got {other:?}"),
    }
    assert_eq!(s3.put_count(), 0);
    assert_eq!(files_in(&s3.bucket_dir(BUCKET)), 0);
}

#[tokio::test]
async fn oversized_files_are_refused_and_broken_images_are_stored_as_files() {
    let (s3, cdn) = (TestS3::start().await, FakeCdn::start().await);
    s3.create_bucket(BUCKET);
    let host = TestHost::start().await;
    let mut body = settings(&s3, &cdn, S3_SECRET_KEY, BUCKET);
    body["settings"]["max_bytes"] = json!("1000");
    let id = host
        .upload_and_install(spoke("plugins/minio"), "acme", body)
        .await;

    let mut broken = message(&cdn, "conv-broken");
    broken.attachments.truncate(1);
    broken.attachments[0].url = Some(format!("{}/broken.jpg", cdn.url));
    broken.attachments[0].mime_type = Some("image/jpeg".into());
    let enrichment = process(&host, &id, &broken).await.unwrap();
    assert_eq!(enrichment.files.len(), 1);
    let file = &enrichment.files[0];
    assert_eq!(file.size, BROKEN_JPEG.len() as u64);
    assert!(
        enrichment.metadata.is_empty(),
        "no thumbnail: {:?}",
        enrichment.metadata
    );
    let stored = Reader::new(&s3).get(&file.key).await;
    assert_eq!(meta(&stored, "content-type"), "image/jpeg");
    assert!(stored.headers().get("x-amz-meta-width").is_none());
    assert_eq!(stored.bytes().await.unwrap().as_ref(), BROKEN_JPEG);
    assert_eq!(s3.put_count(), 1, "the file only, no thumbnail");

    let mut big = message(&cdn, "conv-big");
    big.attachments.truncate(1);
    match process(&host, &id, &big).await {
        Err(CallError::Spoke(SpokeError::InvalidInput(m))) => {
            assert!(m.contains(&format!("is {} bytes", cdn.png.len())), "{m}");
            assert!(m.contains("`max_bytes`"), "{m}");
        }
        other => panic!("expected invalid-input, got {other:?}"),
    }
    assert_eq!(s3.put_count(), 1, "nothing stored");
}
