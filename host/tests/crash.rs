//! The real `nave` binary killed (SIGKILL) while a subscription's saga is in flight — the fee
//! held, the spoke's `install()` still running — and started again on the same data folder:
//! the subscription ends active with its fee captured once, or failed with the wallet whole;
//! never half of each.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use nave::client::AdminClient;
use serde_json::{Value, json};

const ADMIN_EMAIL: &str = "ops@example.com";
const ADMIN_PASSWORD: &str = "a long enough admin password";
/// How long the spoke's `install()` sleeps: long enough to be killed in the middle of it.
const INSTALL_MS: u64 = 3000;
const FEE: i64 = 300;
const CREDIT: i64 = 1000;

fn hostile() -> Vec<u8> {
    let dir = std::env::var_os("NAVE_SPOKES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
                .join("spokes")
        });
    let file = dir.join("fixtures/hostile.wasm");
    std::fs::read(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the spokes first: cargo xtask build-plugins",
            file.display()
        )
    })
}

/// A `nave serve` process; killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// Starts `nave serve` on `data_dir` and waits (at most a minute) until it listens.
    fn start(data_dir: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nave"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("NAVE_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("NAVE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("nave starts");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (found, url) = std::sync::mpsc::channel();
        // Reading stdout blocks; a thread keeps the wait bounded and drains the pipe after.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in stdout.lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("nave: listening on ")
                    && !sent
                {
                    let _ = found.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                    sent = true;
                }
            }
        });
        let url = url
            .recv_timeout(Duration::from_secs(60))
            .expect("nave listens within a minute");
        Server { child, url }
    }

    /// SIGKILL: no shutdown, no flushing, nothing the process can do about it.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("nave is gone");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn json_call(client: &AdminClient, method: Method, path: &str, body: Value) -> Value {
    let body = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    client
        .json(method.clone(), path, "application/json", body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e:#}"))
}

async fn wallet(client: &AdminClient) -> (i64, i64) {
    let body = json_call(client, Method::GET, "/v1/tenants/acme/wallet", Value::Null).await;
    (
        body["available"].as_i64().unwrap(),
        body["held"].as_i64().unwrap(),
    )
}

/// Polls `check` every 50 ms until it gives a value; panics after 30 s.
async fn until<T, F: Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_killed_mid_subscription_ends_paid_and_installed_or_unpaid_and_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let admin = AdminClient::log_in(&server.url, ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let (status, body) = admin
        .send(Method::POST, "/v1/plugins", "application/wasm", hostile())
        .await
        .unwrap();
    assert!(status.is_success(), "upload: {status} {body:?}");
    let tenant = json_call(
        &admin,
        Method::POST,
        "/v1/tenants",
        json!({"slug": "acme", "name": "Acme"}),
    )
    .await;
    let tenant_id = tenant["id"].as_str().unwrap().to_owned();
    json_call(
        &admin,
        Method::PUT,
        "/v1/billing/snapshot",
        json!({
            "plans": [{"code": "team", "name": "Team", "entitlements": {
                "messages_per_period": 1000, "installations": 10, "apps": "all"}}],
            "tenants": [{"tenant_id": tenant_id, "plan": "team"}],
        }),
    )
    .await;
    json_call(
        &admin,
        Method::PATCH,
        "/v1/apps/hostile",
        json!({"install_fee": FEE}),
    )
    .await;
    json_call(
        &admin,
        Method::POST,
        "/v1/tenants/acme/wallet/credits",
        json!({"amount": CREDIT, "source": "top_up", "idempotency_key": "top-up"}),
    )
    .await;

    // Subscribe; the spoke's install() takes 3 s, and the host dies 0.5 s into it.
    let subscribing = admin.clone();
    let request = tokio::spawn(async move {
        let body = json!({
            "app": "hostile",
            "settings": {"install_sleep_ms": INSTALL_MS.to_string()},
            "deadline_ms": 10_000,
        });
        subscribing
            .send(
                Method::POST,
                "/v1/tenants/acme/subscriptions",
                "application/json",
                serde_json::to_vec(&body).unwrap(),
            )
            .await
    });
    until("the fee held and the subscription pending", || async {
        let (_, held) = wallet(&admin).await;
        let subs = json_call(
            &admin,
            Method::GET,
            &format!("/v1/tenants/{tenant_id}/subscriptions"),
            Value::Null,
        )
        .await;
        let pending = subs.to_string().contains("\"pending\"");
        (held == FEE && pending).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!request.is_finished(), "install() is still running");
    server.kill();
    let cut = request.await.unwrap();
    assert!(
        cut.is_err() || cut.as_ref().is_ok_and(|(s, _)| *s != StatusCode::CREATED),
        "the request died with the host: {cut:?}"
    );

    // Restarted on the same folder, the host finishes or undoes the run before it serves.
    let server = Server::start(dir.path());
    let admin = AdminClient::log_in(&server.url, ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let subs = json_call(
        &admin,
        Method::GET,
        &format!("/v1/tenants/{tenant_id}/subscriptions"),
        Value::Null,
    )
    .await;
    let subs = subs
        .as_array()
        .unwrap_or_else(|| panic!("a list of subscriptions: {subs}"))
        .clone();
    assert_eq!(subs.len(), 1, "{subs:?}");
    let installations = json_call(
        &admin,
        Method::GET,
        "/v1/tenants/acme/installations",
        Value::Null,
    )
    .await;
    let installations = installations["installations"].as_array().unwrap().clone();
    let statement = json_call(
        &admin,
        Method::GET,
        "/v1/tenants/acme/wallet/transactions",
        Value::Null,
    )
    .await;
    let kinds: Vec<&str> = statement["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    let captures = kinds.iter().filter(|k| **k == "capture").count();
    println!("the interrupted run ended {}", subs[0]["status"]);
    match subs[0]["status"].as_str() {
        Some("active") => {
            assert_eq!(installations.len(), 1, "{installations:?}");
            assert_eq!(wallet(&admin).await, (CREDIT - FEE, 0), "paid once");
            assert_eq!(captures, 1, "one capture: {kinds:?}");
            // The installation is really there: its spoke answers.
            let id = installations[0]["id"].as_str().unwrap();
            let (status, body) = admin
                .send(
                    Method::POST,
                    &format!("/hooks/{id}"),
                    "text/plain",
                    b"hi".to_vec(),
                )
                .await
                .unwrap();
            assert_eq!((status.as_u16(), &body[..]), (200, &b"ok"[..]));
        }
        Some("failed") => {
            assert!(installations.is_empty(), "{installations:?}");
            assert_eq!(wallet(&admin).await, (CREDIT, 0), "the wallet is whole");
            assert_eq!(captures, 0, "nothing captured: {kinds:?}");
        }
        other => panic!("the run ended neither active nor failed: {other:?} {subs:?}"),
    }
}
