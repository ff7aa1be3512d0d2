//! Hostile spokes: each misbehaves while a well-behaved spoke keeps answering, and the host
//! turns every misdeed into a clear, recorded error for that call only.

use std::time::{Duration, Instant};

use nave_tests::{CountingTarget, FakeGraph, TestHost, json_of, metric, spoke};
use serde_json::{Value, json};

struct World {
    host: TestHost,
    /// A Facebook installation that must keep answering.
    facebook: String,
    /// A hostile installation with a 500 ms deadline and a 32 MiB memory cap.
    hostile: String,
}

async fn world() -> World {
    let host = TestHost::start().await;
    let graph = FakeGraph::start().await;
    let facebook = host
        .upload_and_install(
            spoke("plugins/facebook"),
            "good",
            json!({"settings": {"page_id": "P", "page_access_token": "T", "app_secret": "S", "verify_token": "V",
                                "graph_api_base": graph.url}, "allowed_hosts": [graph.addr.to_string()]}),
        )
        .await;
    let hostile = host
        .upload_and_install(
            spoke("fixtures/hostile"),
            "evil",
            json!({"deadline_ms": 500, "memory_mib": 32}),
        )
        .await;
    World {
        host,
        facebook,
        hostile,
    }
}

impl World {
    /// Sends `path` to the hostile spoke while the Facebook spoke is asked to verify; returns
    /// the hostile answer after checking the good one.
    async fn misbehave(&self, path: &str) -> (u16, Value, String, Duration) {
        let started = Instant::now();
        let bad = self
            .host
            .http
            .post(self.host.at(&format!("/hooks/{}{path}", self.hostile)))
            .body("x")
            .send();
        let good = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.host
                .http
                .get(self.host.at(&format!(
                    "/hooks/{}?hub.mode=subscribe&hub.verify_token=V&hub.challenge=still-here",
                    self.facebook
                )))
                .send()
                .await
                .unwrap()
        };
        let (bad, good) = tokio::join!(bad, good);
        let good_status = good.status().as_u16();
        assert_eq!(
            (good_status, good.text().await.unwrap().as_str()),
            (200, "still-here"),
            "while {path} ran"
        );
        let bad = bad.unwrap();
        let status = bad.status().as_u16();
        let text = bad.text().await.unwrap();
        let elapsed = started.elapsed();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
            elapsed,
        )
    }
}

#[tokio::test]
async fn an_endless_loop_is_stopped_near_its_deadline() {
    let w = world().await;
    let (status, body, _, elapsed) = w.misbehave("/loop").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (504, Some("spoke_timeout")),
        "{body}"
    );
    assert!(body["error_id"].is_string(), "{body}");
    assert!(
        elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(5),
        "stopped after {elapsed:?}"
    );
    assert_eq!(
        metric(
            &w.host.metrics().await,
            "nave_spoke_failures_total{kind=\"timeout\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn a_memory_bomb_hits_its_cap() {
    let w = world().await;
    let (status, body, _, _) = w.misbehave("/bomb").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("spoke_memory_exceeded")),
        "{body}"
    );
    assert_eq!(
        metric(
            &w.host.metrics().await,
            "nave_spoke_failures_total{kind=\"memory\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn a_trap_is_an_error_for_that_call_only() {
    let w = world().await;
    let (status, body, _, _) = w.misbehave("/trap").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("spoke_trapped")),
        "{body}"
    );
    let (status, _, text, _) = w.misbehave("/ping").await;
    assert_eq!(
        (status, text.as_str()),
        (200, "ok"),
        "the same installation serves the next call"
    );
}

/// What the hostile instance answering `GET /calls` says it served, this call included.
async fn calls(host: &TestHost, installation: &str) -> String {
    let response = host
        .http
        .get(host.at(&format!("/hooks/{installation}/calls")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test]
async fn an_installation_keeps_its_instance_warm_until_a_call_fails_or_it_changes() {
    let w = world().await;
    let host = &w.host;
    // The instance of the first call serves the next ones: it remembers them.
    assert_eq!(calls(host, &w.hostile).await, "1");
    assert_eq!(calls(host, &w.hostile).await, "2");
    assert_eq!(calls(host, &w.hostile).await, "3");

    // A trap ends its instance; the next call gets a fresh one.
    let (status, body, _, _) = w.misbehave("/trap").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("spoke_trapped"))
    );
    assert_eq!(calls(host, &w.hostile).await, "1");

    // So does growing past half the 32 MiB cap, even in a call that answered.
    let (status, _, text, _) = w.misbehave("/alloc?mib=20").await;
    assert_eq!((status, text.as_str()), (200, "allocated 20"));
    assert_eq!(calls(host, &w.hostile).await, "1");
    assert_eq!(calls(host, &w.hostile).await, "2");

    // Another installation of the same spoke, here of the same tenant, never gets it.
    let (status, other) = host
        .install(
            "evil",
            json!({"plugin": "hostile", "version": "0.1.0", "settings": {}}),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    let other = other["id"].as_str().unwrap();
    assert_eq!(calls(host, other).await, "1");
    assert_eq!(calls(host, &w.hostile).await, "3");

    // New settings are a new state of the installation: its instances start over.
    let response = host
        .operator(
            reqwest::Method::PATCH,
            &format!("/v1/tenants/evil/installations/{}", w.hostile),
        )
        .json(&json!({"settings": {"target": "http://127.0.0.1:9"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(calls(host, &w.hostile).await, "1");

    let metrics = host.metrics().await;
    assert!(
        metric(&metrics, "nave_spoke_instances_total{kind=\"warm\"}") >= 5.0,
        "{metrics}"
    );
    assert!(metric(&metrics, "nave_spoke_instances_total{kind=\"fresh\"}") >= 5.0);
}

#[tokio::test]
async fn with_no_warm_instances_every_call_gets_a_fresh_one() {
    let host = TestHost::start_with(|config| config.warm_instances = 0).await;
    let hostile = host
        .upload_and_install(spoke("fixtures/hostile"), "evil", json!({}))
        .await;
    assert_eq!(calls(&host, &hostile).await, "1");
    assert_eq!(calls(&host, &hostile).await, "1");
    assert_eq!(
        metric(
            &host.metrics().await,
            "nave_spoke_instances_total{kind=\"warm\"}"
        ),
        0.0
    );
}

#[tokio::test]
async fn an_oversized_response_is_refused() {
    let w = world().await;
    let (status, body, _, _) = w.misbehave("/big").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("spoke_response_too_large")),
        "{body}"
    );
}

#[tokio::test]
async fn a_log_flood_is_capped() {
    let w = world().await;
    let (status, _, text, _) = w.misbehave("/log-flood").await;
    assert_eq!((status, text.as_str()), (200, "done"));
    let dropped = metric(&w.host.metrics().await, "nave_spoke_log_dropped_total");
    assert!(
        dropped >= 99_000.0,
        "lines over the cap are dropped: {dropped}"
    );
}

async fn egress(host: &TestHost, id: &str, url: &str) -> (u16, String) {
    let response = host
        .http
        .post(host.at(&format!("/hooks/{id}/egress?url={url}")))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn outbound_calls_go_only_to_hosts_declared_and_granted_and_never_to_metadata() {
    let host = TestHost::start().await;
    let target = CountingTarget::start().await;
    let (status, _) = host.upload(spoke("fixtures/hostile")).await;
    assert!(status.is_success());

    // Declared (through the `target` setting) and granted: the positive control.
    let (_, granted) = host
        .install("tee", json!({"plugin": "hostile", "settings": {"target": target.url}, "allowed_hosts": [target.addr.to_string()]}))
        .await;
    let granted = granted["id"].as_str().unwrap().to_owned();
    assert_eq!(
        egress(&host, &granted, &target.url).await,
        (200, "status:200".into())
    );
    assert_eq!(target.hits(), 1);

    // Declared but not granted by the installation.
    let (_, ungranted) = host
        .install(
            "tee",
            json!({"plugin": "hostile", "settings": {"target": target.url}}),
        )
        .await;
    let ungranted = ungranted["id"].as_str().unwrap().to_owned();
    let (status, text) = egress(&host, &ungranted, &target.url).await;
    assert_eq!(status, 502, "{text}");
    assert!(text.starts_with("error:"), "{text}");
    assert_eq!(target.hits(), 1, "a denied request never leaves the host");

    // Granted by the installation but not declared by the spoke.
    let (_, undeclared) = host
        .install(
            "tee",
            json!({"plugin": "hostile", "allowed_hosts": [target.addr.to_string()]}),
        )
        .await;
    let undeclared = undeclared["id"].as_str().unwrap().to_owned();
    assert_eq!(egress(&host, &undeclared, &target.url).await.0, 502);
    assert_eq!(target.hits(), 1);

    // Declared and granted, but the address is the cloud metadata service.
    let metadata = "http://169.254.169.254/latest/meta-data/";
    let (_, cloud) = host
        .install("tee", json!({"plugin": "hostile", "settings": {"target": metadata}, "allowed_hosts": ["169.254.169.254"]}))
        .await;
    let cloud = cloud["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let (status, text) = egress(&host, &cloud, metadata).await;
    assert_eq!(status, 502, "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused before any connection attempt"
    );

    let metrics = host.metrics().await;
    assert_eq!(
        metric(&metrics, "nave_egress_denied_total{kind=\"not_granted\"}"),
        1.0,
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "nave_egress_denied_total{kind=\"not_declared\"}"),
        1.0
    );
    assert_eq!(
        metric(&metrics, "nave_egress_denied_total{kind=\"address\"}"),
        1.0
    );
}

#[tokio::test]
async fn a_failing_spoke_does_not_take_other_calls_down() {
    let w = world().await;
    // Several hostile calls at once, and the good spoke answers each time (checked inside).
    let (a, b, c) = tokio::join!(
        w.misbehave("/loop"),
        w.misbehave("/trap"),
        w.misbehave("/bomb")
    );
    assert_eq!([a.0, b.0, c.0], [504, 502, 502]);
    let (status, body) = json_of(w.host.http.get(w.host.at("/readyz")).send().await.unwrap()).await;
    assert_eq!(
        (status.as_u16(), body["status"].as_str()),
        (200, Some("ready"))
    );
}
