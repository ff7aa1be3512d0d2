//! Health, readiness, metrics and correlation ids.

use axum::http::StatusCode;
use nave_tests::{TestHost, json_of, metric, spoke};
use serde_json::json;

#[tokio::test]
async fn health_and_readiness_answer() {
    let host = TestHost::start().await;
    let (status, body) = json_of(host.http.get(host.at("/healthz")).send().await.unwrap()).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = json_of(host.http.get(host.at("/readyz")).send().await.unwrap()).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
}

#[tokio::test]
async fn a_correlation_id_is_echoed_or_made() {
    let host = TestHost::start().await;
    let given = host
        .http
        .get(host.at("/healthz"))
        .header("x-correlation-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-correlation-id"], "abc-123");
    let made = host.http.get(host.at("/healthz")).send().await.unwrap();
    let id = made.headers()["x-correlation-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

#[tokio::test]
async fn unknown_routes_get_a_json_404() {
    let host = TestHost::start().await;
    let (status, body) = json_of(host.http.get(host.at("/nope")).send().await.unwrap()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("route_not_found"))
    );
}

#[tokio::test]
async fn metrics_are_in_the_prometheus_format() {
    let host = TestHost::start().await;
    let _ = host
        .http
        .post(host.at(&format!("/hooks/{}", uuid::Uuid::now_v7())))
        .send()
        .await
        .unwrap();
    let id = host
        .upload_and_install(
            spoke("fixtures/hello-1"),
            "acme",
            json!({"settings": {"required_thing": "x"}}),
        )
        .await;
    let _ = host
        .http
        .post(host.at(&format!("/hooks/{id}")))
        .send()
        .await
        .unwrap();
    let metrics = host.metrics().await;
    assert!(
        metrics.contains("# TYPE nave_webhook_requests counter"),
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "nave_webhook_requests_total{status=\"404\"}"),
        1.0,
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "nave_webhook_requests_total{status=\"200\"}"),
        1.0,
        "{metrics}"
    );
    let calls =
        "nave_spoke_calls_total{plugin=\"hello\",function=\"handle-webhook\",outcome=\"ok\"}";
    assert_eq!(metric(&metrics, calls), 1.0, "{metrics}");
    let durations =
        "nave_spoke_call_duration_seconds_count{plugin=\"hello\",function=\"handle-webhook\"}";
    assert_eq!(metric(&metrics, durations), 1.0, "{metrics}");
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let host = TestHost::start().await;
    let (status, doc) = json_of(
        host.http
            .get(host.at("/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the document is public: {doc}");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let routes = [
        ("/v1/plugins", &["post", "get"][..]),
        ("/v1/plugins/{name}/versions", &["get"]),
        ("/v1/tenants/{tenant}/installations", &["post", "get"]),
        (
            "/v1/tenants/{tenant}/installations/{id}",
            &["get", "patch", "delete"],
        ),
        ("/v1/tenants/{tenant}/installations/{id}/events", &["get"]),
        ("/v1/tenants/{tenant}/subscriptions", &["post", "get"]),
        (
            "/v1/tenants/{tenant}/subscriptions/{id}",
            &["get", "delete"],
        ),
        ("/v1/apps", &["get", "post"]),
        ("/v1/config/definitions", &["get"]),
        ("/v1/config/watch", &["get"]),
        ("/v1/config/settings/{key}", &["get", "put", "delete"]),
        (
            "/v1/tenants/{tenant}/config/settings/{key}/rollback",
            &["post"],
        ),
        (
            "/v1/tenants/{tenant}/installations/{id}/config/settings/{key}/history",
            &["get"],
        ),
        ("/hooks/{installation}", &["post"]),
        ("/.well-known/jwks.json", &["get"]),
        ("/v1/auth/login", &["post"]),
        ("/v1/tenants", &["post", "get"]),
        (
            "/v1/tenants/{tenant}/members/{user_id}",
            &["patch", "delete"],
        ),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/metrics", &["get"]),
    ];
    for (path, methods) in routes {
        for method in methods {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is documented"
            );
        }
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented, 93,
        "the host's 58 operations (20 of them the config hub's), identity's 10, tenant's 13, user's 3 and app's 9 (the \
         authorization matrix checks each /v1 one against every kind of caller)"
    );
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
