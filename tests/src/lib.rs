//! Shared helpers for the end-to-end tests: a real host on `127.0.0.1:0`, the compiled
//! spokes built by `cargo xtask build-plugins`, and a loopback fake of the Graph API that
//! records what it receives; [`botpress`] holds the Botpress fake, [`odoo`] the loopback fake
//! of Odoo's XML-RPC API, and [`s3`] a loopback S3 server and a fake CDN.

pub mod botpress;
pub mod odoo;
pub mod s3;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use nave::{App, Config};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The platform admin of test hosts (see `Config::for_tests`).
pub const ADMIN_EMAIL: &str = "admin@nave.localhost";
/// Its password.
pub const ADMIN_PASSWORD: &str = "test admin password";

/// Polls `check` until it gives a value; panics naming `what` after 30 s.
pub async fn until<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The bytes of a built spoke: `plugins/NAME.wasm` or `fixtures/NAME.wasm`.
pub fn spoke(path: &str) -> Vec<u8> {
    let dir = std::env::var_os("NAVE_SPOKES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
            target.join("spokes")
        });
    let file = dir.join(format!("{path}.wasm"));
    std::fs::read(&file).unwrap_or_else(|err| {
        panic!(
            "cannot read {}: {err}; build the spokes first with `cargo xtask build-plugins` (or run `cargo xtask test`)",
            file.display()
        )
    })
}

/// A running host with its own data folder.
pub struct TestHost {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The app, for calls the REST API does not offer yet.
    pub app: Arc<App>,
    /// An HTTP client.
    pub http: reqwest::Client,
    /// The data folder (kept for restarts).
    pub dir: Arc<tempfile::TempDir>,
    /// An access token of the platform admin.
    pub admin_token: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestHost {
    /// Starts a host with the test configuration.
    pub async fn start() -> TestHost {
        TestHost::start_with(|_| {}).await
    }

    /// Starts a host after `adjust` changed the test configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestHost {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let mut config = Config::for_tests(dir.path());
        adjust(&mut config);
        TestHost::start_in(dir, config).await
    }

    async fn start_in(dir: Arc<tempfile::TempDir>, config: Config) -> TestHost {
        let app = App::start(config).await.expect("host starts");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = app.clone();
        let task = tokio::spawn(async move {
            nave::serve(listener, serving, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
        let mut host = TestHost {
            url,
            app,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            dir,
            admin_token: String::new(),
            stop: Some(stop),
            task: Some(task),
        };
        host.admin_token = host.log_in(ADMIN_EMAIL, ADMIN_PASSWORD).await["access_token"]
            .as_str()
            .expect("admin access token")
            .to_owned();
        host
    }

    /// Signs in; returns the tokens (`access_token`, `refresh_token`, `user`).
    pub async fn log_in(&self, email: &str, password: &str) -> Value {
        let response = self
            .http
            .post(self.at("/v1/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login");
        let (status, tokens) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "login of {email}: {tokens}");
        tokens
    }

    /// Creates an account; returns its user id and an access token.
    pub async fn sign_up(&self, email: &str) -> (String, String) {
        let response = self
            .http
            .post(self.at("/v1/auth/signup"))
            .json(&json!({ "email": email, "password": "a long enough password" }))
            .send()
            .await
            .expect("signup");
        let (status, tokens) = json_of(response).await;
        assert_eq!(status, StatusCode::CREATED, "signup of {email}: {tokens}");
        (
            tokens["user"]["id"].as_str().expect("user id").to_owned(),
            tokens["access_token"]
                .as_str()
                .expect("access token")
                .to_owned(),
        )
    }

    /// Makes sure a workspace with this slug exists, owned by the platform admin.
    pub async fn ensure_tenant(&self, slug: &str) {
        let response = self
            .operator(Method::POST, "/v1/tenants")
            .json(&json!({ "slug": slug, "name": format!("The {slug} team") }))
            .send()
            .await
            .expect("create tenant");
        let (status, body) = json_of(response).await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::CONFLICT,
            "create tenant {slug}: {status} {body}"
        );
    }

    /// The id of a workspace, by slug.
    pub async fn tenant_id(&self, slug: &str) -> String {
        let response = self
            .operator(Method::GET, &format!("/v1/tenants/{slug}"))
            .send()
            .await
            .expect("get tenant");
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "get tenant {slug}: {body}");
        body["id"].as_str().expect("tenant id").to_owned()
    }

    /// Imports a billing snapshot giving each workspace (by slug) the `team` plan: 10,000
    /// messages a month, 20 installations, every app.
    pub async fn import_plans(&self, slugs: &[&str]) {
        self.import_plans_with(slugs, 10_000).await;
    }

    /// [`TestHost::import_plans`] with another monthly message quota.
    pub async fn import_plans_with(&self, slugs: &[&str], messages_per_period: u64) {
        let mut tenants = Vec::new();
        for slug in slugs {
            self.ensure_tenant(slug).await;
            tenants.push(json!({ "tenant_id": self.tenant_id(slug).await, "plan": "team" }));
        }
        let snapshot = json!({
            "plans": [{ "code": "team", "name": "Team", "entitlements": {
                "messages_per_period": messages_per_period, "installations": 20, "apps": "all" } }],
            "tenants": tenants,
        });
        let response = self
            .operator(Method::PUT, "/v1/billing/snapshot")
            .json(&snapshot)
            .send()
            .await
            .expect("import snapshot");
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "import snapshot: {body}");
    }

    /// Replaces a workspace's routing rules, asserting it worked.
    pub async fn set_routing_rules(&self, slug: &str, rules: Value) {
        let response = self
            .operator(Method::PUT, &format!("/v1/tenants/{slug}/routing-rules"))
            .json(&json!({ "rules": rules }))
            .send()
            .await
            .expect("routing rules");
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "routing rules: {body}");
    }

    /// Adds a user to a workspace with a role, as the platform admin (its owner).
    pub async fn add_member(&self, slug: &str, user_id: &str, role: &str) {
        let response = self
            .operator(Method::POST, &format!("/v1/tenants/{slug}/members"))
            .json(&json!({ "user_id": user_id, "role": role }))
            .send()
            .await
            .expect("add member");
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::CREATED, "add {role} to {slug}: {body}");
    }

    /// Stops this host and starts a new one on the same data folder and configuration.
    pub async fn restart(mut self) -> TestHost {
        let config = self.app.config.clone();
        self.shutdown().await;
        let dir = self.dir.clone();
        drop(self);
        TestHost::start_in(dir, config).await
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// `url + path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A request as the platform admin, who owns every workspace made by [`Self::ensure_tenant`].
    pub fn operator(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.at(path))
            .bearer_auth(&self.admin_token)
    }

    /// Uploads a component; returns the status and the JSON answer.
    pub async fn upload(&self, wasm: Vec<u8>) -> (StatusCode, Value) {
        let response = self
            .operator(Method::POST, "/v1/plugins")
            .header("content-type", "application/wasm")
            .body(wasm)
            .send()
            .await
            .expect("upload");
        json_of(response).await
    }

    /// Installs for `tenant`; returns the status and the JSON answer.
    pub async fn install(&self, tenant: &str, body: Value) -> (StatusCode, Value) {
        self.ensure_tenant(tenant).await;
        let response = self
            .operator(Method::POST, &format!("/v1/tenants/{tenant}/installations"))
            .json(&body)
            .send()
            .await
            .expect("install");
        json_of(response).await
    }

    /// Uploads then installs, asserting both succeed; returns the installation id.
    pub async fn upload_and_install(&self, wasm: Vec<u8>, tenant: &str, mut body: Value) -> String {
        let (status, plugin) = self.upload(wasm).await;
        assert!(status.is_success(), "upload: {status} {plugin}");
        body["plugin"] = plugin["name"].clone();
        if body.get("version").is_none() {
            body["version"] = plugin["version"].clone();
        }
        let (status, installation) = self.install(tenant, body).await;
        assert_eq!(status, StatusCode::CREATED, "install: {installation}");
        installation["id"].as_str().expect("id").to_owned()
    }

    /// The stored events of an installation.
    pub async fn events(&self, tenant: &str, id: &str) -> Vec<Value> {
        let response = self
            .operator(
                Method::GET,
                &format!("/v1/tenants/{tenant}/installations/{id}/events?limit=500"),
            )
            .send()
            .await
            .expect("events");
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["events"].as_array().expect("events").clone()
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.at("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The status and JSON body of a response (`null` when the body is not JSON).
pub async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The value of a metric line starting with `prefix` (name and labels), summed over matches.
pub fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`, as Facebook signs webhooks.
pub fn facebook_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The app secret of [`install_facebook`]'s installation, to sign webhooks with.
pub const FACEBOOK_APP_SECRET: &str = "app-secret-1";

/// Uploads the Facebook spoke and installs it for `tenant` against the fake Graph API:
/// page `PAGE1`, page token `PAGE-TOKEN`, verify token `verify-me`, Graph base `/v21.0`.
pub async fn install_facebook(host: &TestHost, graph: &FakeGraph, tenant: &str) -> String {
    host.upload_and_install(
        spoke("plugins/facebook"),
        tenant,
        json!({
            "settings": {
                "page_id": "PAGE1",
                "page_access_token": "PAGE-TOKEN",
                "app_secret": FACEBOOK_APP_SECRET,
                "verify_token": "verify-me",
                "graph_api_base": format!("{}/v21.0", graph.url),
            },
            "allowed_hosts": [graph.addr.to_string()],
        }),
    )
    .await
}

/// One request a fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query.
    pub query: String,
    /// The body.
    pub body: Bytes,
}

impl Recorded {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// One query parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    }
}

#[derive(Default)]
struct FakeState {
    received: Vec<Recorded>,
    /// Graph errors to answer the next Send API calls with.
    failures: Vec<(u16, Value)>,
    /// While set, the Send API answers 503 (an outage).
    down: bool,
    /// Texts the Send API accepted, as (recipient, text), in order.
    sent: Vec<(String, String)>,
    /// When each of `sent` arrived.
    sent_at: Vec<std::time::Instant>,
}

/// A loopback fake of the Graph API: Send API, page subscription, user profiles.
#[derive(Clone)]
pub struct FakeGraph {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT`, for granting.
    pub addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
}

impl FakeGraph {
    /// Starts the fake on a free loopback port; it stops with the test's runtime.
    pub async fn start() -> FakeGraph {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new().fallback(graph).with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeGraph {
            url: format!("http://{addr}"),
            addr,
            state,
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().received.clone()
    }

    /// Requests received on a path.
    pub fn received_on(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.received()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }

    /// Starts or ends an outage of the Send API: while down it answers 503.
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    /// The texts the Send API accepted, as (recipient PSID, text), in order.
    pub fn sent(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().sent.clone()
    }

    /// How many texts the Send API accepted.
    pub fn sent_count(&self) -> usize {
        self.state.lock().unwrap().sent.len()
    }

    /// The texts the Send API accepted with when each arrived, in order.
    pub fn sent_timed(&self) -> Vec<(String, String, std::time::Instant)> {
        let state = self.state.lock().unwrap();
        state
            .sent
            .iter()
            .zip(&state.sent_at)
            .map(|((to, text), at)| (to.clone(), text.clone(), *at))
            .collect()
    }

    /// Waits until the Send API accepted at least `count` texts (at most 20 s); returns them.
    pub async fn wait_for_sent(&self, count: usize) -> Vec<(String, String)> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let sent = self.sent();
            if sent.len() >= count || std::time::Instant::now() > deadline {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Makes the next Send API call fail with a Graph error.
    pub fn fail_next_send(&self, status: u16, code: i64, message: &str) {
        let body = json!({ "error": { "message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC" } });
        self.state.lock().unwrap().failures.push((status, body));
    }
}

/// A request's body (up to 1 MiB) in an allocation of its own, for a fake that keeps what it
/// received. The body hyper hands over shares the connection's read buffer: kept as is, every
/// recorded request would pin a whole buffer (kilobytes), and a load run's fakes would grow by
/// tens of megabytes a second and take the machine's time faulting in fresh pages.
pub async fn kept_body(request: Request) -> Bytes {
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    Bytes::copy_from_slice(&body)
}

async fn graph(State(state): State<Arc<Mutex<FakeState>>>, request: Request) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let body = kept_body(request).await;
    let recorded = Recorded {
        method: method.clone(),
        path: path.clone(),
        query,
        body,
    };
    let mut state = state.lock().unwrap();
    state.received.push(recorded.clone());
    let count = state.received.len();
    if path.ends_with("/me/messages") {
        if state.down {
            let body = json!({ "error": { "message": "An unexpected error has occurred. Please retry your request later.", "type": "OAuthException", "code": 2, "is_transient": true } });
            return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
        }
        if !state.failures.is_empty() {
            let (status, body) = state.failures.remove(0);
            return (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
        }
        let sent = serde_json::from_slice::<Value>(&recorded.body).unwrap_or_default();
        let recipient = sent["recipient"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Some(text) = sent["message"]["text"].as_str() {
            state.sent.push((recipient.clone(), text.to_owned()));
            state.sent_at.push(std::time::Instant::now());
        }
        return axum::Json(
            json!({ "recipient_id": recipient, "message_id": format!("m_{count}") }),
        )
        .into_response();
    }
    if path.ends_with("/subscribed_apps") {
        return axum::Json(json!({ "success": true })).into_response();
    }
    if method == "GET" {
        let psid = path.rsplit('/').next().unwrap_or_default();
        return axum::Json(json!({
            "first_name": "Ada", "last_name": "Lovelace",
            "profile_pic": format!("https://example.com/{psid}.jpg"), "id": psid
        }))
        .into_response();
    }
    (StatusCode::NOT_FOUND, "no such fake route").into_response()
}

/// A loopback HTTP server that counts the requests it receives and answers 200 "target".
pub struct CountingTarget {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    hits: Arc<Mutex<u32>>,
}

impl CountingTarget {
    /// Starts it on a free loopback port.
    pub async fn start() -> CountingTarget {
        let hits = Arc::new(Mutex::new(0));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let counter = hits.clone();
        let app = Router::new().fallback(move || {
            let counter = counter.clone();
            async move {
                *counter.lock().unwrap() += 1;
                "target"
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        CountingTarget {
            url: format!("http://{addr}"),
            addr,
            hits,
        }
    }

    /// How many requests arrived.
    pub fn hits(&self) -> u32 {
        *self.hits.lock().unwrap()
    }
}
