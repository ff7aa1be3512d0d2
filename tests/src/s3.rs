//! A real S3 server on loopback (`s3s-fs` over a temp folder, signatures checked) and a fake
//! CDN that serves attachments, for the MinIO spoke's tests.
//!
//! [`TestS3`] counts `PutObject` requests and can be switched down (every request answered
//! `503 ServiceUnavailable`) and back up at run time. [`FakeCdn`] serves a generated PNG and
//! a small PDF (and a broken JPEG) and counts the hits per path.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;

/// The access key of every [`TestS3`].
pub const S3_ACCESS_KEY: &str = "nave-test-access";
/// Its secret key.
pub const S3_SECRET_KEY: &str = "nave-test-secret-key-0123456789";
/// The region signatures are checked for.
pub const S3_REGION: &str = "us-east-1";

/// A loopback S3 server with signature checking on.
pub struct TestS3 {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// `127.0.0.1:PORT`, to grant to installations.
    pub host: String,
    /// The folder the buckets live in (one sub-folder per bucket).
    root: tempfile::TempDir,
    /// PutObject requests that reached the server while up.
    puts: Arc<AtomicU32>,
    /// When set, every request is answered 503.
    down: Arc<AtomicBool>,
}

impl TestS3 {
    /// Starts a server on `127.0.0.1:0` with no buckets.
    pub async fn start() -> TestS3 {
        let root = tempfile::tempdir().expect("temp dir");
        let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(S3_ACCESS_KEY, S3_SECRET_KEY));
        let service = builder.build();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let puts = Arc::new(AtomicU32::new(0));
        let down = Arc::new(AtomicBool::new(false));
        let (count, switch) = (puts.clone(), down.clone());
        tokio::spawn(async move {
            let server = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let (service, count, switch) = (service.clone(), count.clone(), switch.clone());
                let front = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let service = service.clone();
                    let down = switch.load(Ordering::SeqCst);
                    // A PUT to `/bucket/key` is a PutObject; `/bucket` alone would be CreateBucket.
                    let is_put_object = request.method() == hyper::Method::PUT
                        && request.uri().path().trim_matches('/').contains('/');
                    if is_put_object && !down {
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    async move {
                        if down {
                            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                                <Error><Code>ServiceUnavailable</Code>\
                                <Message>The test S3 is switched down.</Message></Error>";
                            let response = hyper::Response::builder()
                                .status(503)
                                .header("content-type", "application/xml")
                                .body(s3s::Body::from(body.to_owned()))
                                .expect("response");
                            return Ok::<_, s3s::HttpError>(response);
                        }
                        Service::call(&service, request).await
                    }
                });
                let conn = server
                    .serve_connection(TokioIo::new(socket), front)
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        TestS3 {
            endpoint: format!("http://{addr}"),
            host: addr.to_string(),
            root,
            puts,
            down,
        }
    }

    /// Creates the bucket `name` (a folder under the server's root).
    pub fn create_bucket(&self, name: &str) {
        std::fs::create_dir_all(self.root.path().join(name)).expect("bucket folder");
    }

    /// The folder of the bucket `name`, to look at what is stored.
    pub fn bucket_dir(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// How many PutObject requests reached the server while it was up.
    pub fn put_count(&self) -> u32 {
        self.puts.load(Ordering::SeqCst)
    }

    /// Answers every request with 503 until [`TestS3::up`].
    pub fn down(&self) {
        self.down.store(true, Ordering::SeqCst);
    }

    /// Serves again.
    pub fn up(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// A PNG of `width` × `height` with a gradient, so thumbnails have something to show.
pub fn test_png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 200])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

/// A small, valid one-page PDF.
pub const TEST_PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n\
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n\
trailer<</Root 1 0 R>>\n%%EOF\n";

/// Bytes that start like a JPEG and then are not one.
pub const BROKEN_JPEG: &[u8] = b"\xFF\xD8\xFF\xE0 this is not really a JPEG";

/// A loopback CDN serving `/photo.png` (800 × 400), `/doc.pdf` and `/broken.jpg`, counting
/// hits per path.
#[derive(Clone)]
pub struct FakeCdn {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT`, to grant to installations.
    pub host: String,
    /// The PNG served at `/photo.png`.
    pub png: Arc<Vec<u8>>,
    hits: Arc<Mutex<HashMap<String, u32>>>,
}

impl FakeCdn {
    /// Starts the CDN on `127.0.0.1:0`.
    pub async fn start() -> FakeCdn {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let cdn = FakeCdn {
            url: format!("http://{addr}"),
            host: addr.to_string(),
            png: Arc::new(test_png(800, 400)),
            hits: Arc::default(),
        };
        let app = Router::new()
            .route("/{file}", axum::routing::get(serve))
            .with_state(cdn.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        cdn
    }

    /// How many times `path` (e.g. `/photo.png`) was fetched.
    pub fn hits(&self, path: &str) -> u32 {
        self.hits
            .lock()
            .expect("hits")
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

async fn serve(
    State(cdn): State<FakeCdn>,
    Path(file): Path<String>,
) -> Result<impl IntoResponse, Infallible> {
    *cdn.hits
        .lock()
        .expect("hits")
        .entry(format!("/{file}"))
        .or_default() += 1;
    Ok(match file.as_str() {
        "photo.png" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "image/png")],
            cdn.png.to_vec(),
        ),
        "doc.pdf" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/pdf")],
            TEST_PDF.to_vec(),
        ),
        "broken.jpg" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "image/jpeg")],
            BROKEN_JPEG.to_vec(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            b"no such file".to_vec(),
        ),
    })
}
