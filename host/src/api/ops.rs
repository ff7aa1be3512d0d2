//! `/healthz` (the process answers), `/readyz` (the database answers), `/metrics` (Prometheus).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use crate::App;

/// Liveness: the process serves requests.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Object)))]
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, body = Object), (status = 503, body = Object)))]
pub async fn readyz(State(app): State<Arc<App>>) -> impl IntoResponse {
    if app.store.ping().await {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": "the database does not answer" })),
        )
    }
}

/// The metrics in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text")))]
pub async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    let stats = &app.message_engine.stats;
    for (kind, counter) in [
        ("processed", &stats.processed),
        ("refused", &stats.refused),
        ("delivered", &stats.delivered),
        ("retried", &stats.retries),
        ("dead", &stats.dead),
    ] {
        let value = counter.load(std::sync::atomic::Ordering::Relaxed);
        app.metrics
            .messages
            .get_or_create(&crate::metrics::KindLabels { kind })
            .set(i64::try_from(value).unwrap_or(i64::MAX));
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
}
