//! Webhook ingress: `GET|POST /hooks/{installation}[/{rest}]` → the channel spoke's
//! `handle-webhook`; its events are stored (once per channel id) before its response is
//! returned as is, so a platform that retries on failure loses nothing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{CorrelationId, describe_spoke_error};
use crate::App;
use crate::error::Error;
use crate::metrics::StatusLabels;
use crate::runtime::bindings::types::{HttpRequest, InboundEvent, SpokeError};
use crate::runtime::{CallError, Role};
use crate::store::NewEvent;

/// Serves one webhook request.
pub async fn webhook(
    State(app): State<Arc<App>>,
    correlation: CorrelationId,
    method: Method,
    uri: Uri,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let response = match handle(&app, &correlation.0, method, uri, params, headers, body).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    };
    app.metrics
        .webhook_requests
        .get_or_create(&StatusLabels {
            status: response.status().as_u16(),
        })
        .inc();
    response
}

async fn handle(
    app: &App,
    correlation_id: &str,
    method: Method,
    uri: Uri,
    params: HashMap<String, String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let body = body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(_) => Error::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "webhook bodies are limited to {} bytes",
                app.config.limits.max_webhook_body_bytes
            ),
        ),
        other => Error::client(other.status(), "invalid_body", other.body_text()),
    })?;
    let installation = params
        .get("installation")
        .and_then(|id| Uuid::parse_str(id).ok())
        .and_then(|id| app.registry.installation(id))
        .ok_or_else(|| {
            Error::not_found(
                "installation_not_found",
                "no installation has this webhook URL",
            )
        })?;
    if installation.manifest.role != Role::Channel {
        return Err(Error::not_found(
            "not_a_channel",
            format!(
                "installation {} is a {} spoke; only channels take webhooks",
                installation.record.id, installation.manifest.role
            ),
        ));
    }

    if let Some(per_minute) = app.live.webhook_rate(&installation.record) {
        let now = std::time::Instant::now();
        if let Err(wait) = app.throttle.admit(installation.record.id, per_minute, now) {
            app.metrics.webhooks_throttled.inc();
            return Ok(throttled(per_minute, wait));
        }
    }

    let request = HttpRequest {
        method: method.as_str().to_owned(),
        path: format!(
            "/{}",
            params.get("rest").map(String::as_str).unwrap_or_default()
        ),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    let ctx = installation.call_context(correlation_id);
    let outcome = match app
        .runtime
        .handle_webhook(&installation.spoke, &ctx, &request)
        .await
    {
        Ok(outcome) => outcome,
        Err(CallError::Spoke(err)) => return Ok(spoke_error_response(&err)),
        Err(CallError::Failed { kind, message }) => return Err(Error::Spoke { kind, message }),
    };

    let events: Vec<NewEvent> = outcome.events.iter().map(to_new_event).collect();
    let received = events.len();
    let new = app
        .store
        .insert_events(
            installation.record.id,
            &installation.record.tenant,
            correlation_id,
            events,
        )
        .await?;
    let stored = new.iter().filter(|n| **n).count() as u64;
    app.metrics.events_stored.inc_by(stored);
    if stored > 0 {
        app.inbox.notify();
    }
    count_inbound(app, &installation, &outcome.events, &new).await;
    if received > 0 {
        tracing::debug!(installation = %installation.record.id, received, stored, "webhook events stored");
    }
    Ok(spoke_response(outcome.response))
}

/// Queues each new message for counting on its sender's contact (messages in, first and last
/// seen) in the user hub; one task applies them in batches, after the answer, so the channel
/// is not kept waiting. A failure is only logged (the message itself is stored).
async fn count_inbound(
    app: &App,
    installation: &crate::registry::Installation,
    events: &[InboundEvent],
    new: &[bool],
) {
    let Ok(tenant) = Uuid::parse_str(&installation.record.tenant) else {
        return;
    };
    let senders: Vec<(String, u64)> = events
        .iter()
        .zip(new)
        .filter(|(_, new)| **new)
        .filter_map(|(event, _)| match event {
            InboundEvent::Message(m) | InboundEvent::Postback(m) if !m.sender.is_empty() => {
                Some((m.sender.clone(), m.timestamp_ms))
            }
            _ => None,
        })
        .collect();
    if senders.is_empty() {
        return;
    }
    for (sender, timestamp_ms) in senders {
        let at =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(timestamp_ms) * 1_000_000)
                .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
        let activity = nave_user::MessageActivity {
            tenant_id: tenant,
            identity: nave_user::ChannelIdentity {
                installation_id: installation.record.id,
                channel: installation.record.plugin.clone(),
                channel_user_id: sender,
            },
            direction: nave_user::Direction::In,
            at,
        };
        // A full queue slows webhooks down rather than growing without bound.
        app.activity.record(activity).await;
    }
}

/// 429 for a delivery over the installation's allowance, with when to come back; channels
/// deliver it again then.
fn throttled(per_minute: u32, wait: std::time::Duration) -> Response {
    let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let body = json!({
        "code": "rate_limited",
        "message": format!(
            "this installation takes {per_minute} webhook deliveries a minute \
             (ingress.rate_limit_per_minute); retry after {retry_after} s"
        ),
    });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        HeaderValue::from(retry_after),
    );
    response
}

/// The spoke's answer, as is but for headers the host owns.
fn spoke_response(answer: crate::runtime::bindings::types::HttpResponse) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value))
        else {
            continue;
        };
        if is_host_owned(&name) {
            continue;
        }
        headers.append(name, value);
    }
    response
}

/// Framing and connection headers are the host's to set.
fn is_host_owned(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "content-length"
            | "transfer-encoding"
            | "connection"
            | "keep-alive"
            | "upgrade"
            | "trailer"
            | "te"
            | "proxy-connection"
            | "x-correlation-id"
    )
}

/// A spoke that returned an error instead of a response.
fn spoke_error_response(err: &SpokeError) -> Response {
    let status = match err {
        SpokeError::InvalidInput(_) => StatusCode::BAD_REQUEST,
        SpokeError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        SpokeError::Denied(_) => StatusCode::FORBIDDEN,
        SpokeError::NotFound(_) => StatusCode::NOT_FOUND,
        SpokeError::Upstream(_) => StatusCode::BAD_GATEWAY,
        SpokeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let error_id = Uuid::now_v7();
    tracing::warn!(%error_id, error = %describe_spoke_error(err), "spoke returned an error for a webhook");
    let body = json!({
        "code": "spoke_error",
        "message": describe_spoke_error(err),
        "error_id": error_id,
    });
    (status, axum::Json(body)).into_response()
}

fn to_new_event(event: &InboundEvent) -> NewEvent {
    let (kind, id, payload) = match event {
        InboundEvent::Message(m) => ("message", &m.id, serde_json::to_string(m)),
        InboundEvent::Postback(m) => ("postback", &m.id, serde_json::to_string(m)),
        InboundEvent::Delivery(r) => ("delivery", &r.id, serde_json::to_string(r)),
        InboundEvent::Read(r) => ("read", &r.id, serde_json::to_string(r)),
    };
    let payload = payload.expect("event types serialize");
    // A spoke that gives no id still gets de-duplication, on the event's content.
    let channel_id = if id.is_empty() {
        format!("sha256:{}", hex::encode(Sha256::digest(&payload)))
    } else {
        id.clone()
    };
    NewEvent {
        channel_id,
        kind,
        payload,
    }
}

/// The webhook route as documented; [`webhook`] serves it. (utoipa cannot read the handler's
/// map-of-path-parameters extractor, so the description stands on this signature-only item.)
#[utoipa::path(post, path = "/hooks/{installation}", tag = "webhooks",
    params(("installation" = uuid::Uuid, Path, description = "The installation id")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The platform's request, passed to the spoke as is"),
    responses(
        (status = 200, description = "The spoke's own response, as is"),
        (status = 404, description = "`installation_not_found`, `not_a_channel`", body = crate::api::openapi::ErrorBody),
        (status = 413, description = "`body_too_large`", body = crate::api::openapi::ErrorBody),
        (status = 502, description = "`spoke_trapped`, `spoke_memory_exceeded`, `spoke_response_too_large`, `spoke_error`", body = crate::api::openapi::ErrorBody),
        (status = 504, description = "`spoke_timeout`", body = crate::api::openapi::ErrorBody),
    ))]
#[allow(dead_code, reason = "only documents the route")]
pub(super) fn webhook_route() {}
