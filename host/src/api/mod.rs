//! The HTTP surface: REST under `/v1`, webhook ingress under `/hooks`, health and metrics.
//!
//! [`router`] builds the whole app so tests can drive it without a socket. Every request gets
//! a correlation id (taken from `x-correlation-id` when the caller sends a sane one), which is
//! on every log line about it and echoed in the response.

mod audit;
pub mod auth;
mod contacts;
mod conversations;
mod hooks;
mod installations;
mod money;
pub mod openapi;
mod ops;
mod plugins;
mod settings;
mod subscriptions;

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::App;
use crate::error::Error;
use crate::runtime::bindings::types::SpokeError;

/// The header carrying the correlation id.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The correlation id of the request being served.
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

/// The whole HTTP app of a host.
pub fn router(app: Arc<App>) -> Router {
    let limits = &app.config.limits;
    let v1 = Router::new()
        .route("/plugins", post(plugins::upload).get(plugins::list))
        .route("/plugins/{name}/versions", get(plugins::versions))
        .route(
            "/tenants/{tenant}/installations",
            post(installations::create).get(installations::list),
        )
        .route(
            "/tenants/{tenant}/installations/{id}",
            get(installations::get)
                .patch(installations::update)
                .delete(installations::remove),
        )
        .route(
            "/tenants/{tenant}/installations/{id}/events",
            get(installations::events),
        )
        .route(
            "/tenants/{tenant}/subscriptions",
            post(subscriptions::subscribe),
        )
        .route(
            "/tenants/{tenant}/subscriptions/{id}",
            axum::routing::delete(subscriptions::unsubscribe),
        )
        .route("/tenants/{tenant}/audit", get(audit::trail))
        .route("/config/definitions", get(settings::definitions))
        .route("/config/watch", get(settings::watch::watch))
        .route("/config/settings", get(settings::list_global))
        .route(
            "/config/settings/{key}",
            get(settings::get_global)
                .put(settings::set_global)
                .delete(settings::unset_global),
        )
        .route(
            "/config/settings/{key}/history",
            get(settings::history_global),
        )
        .route(
            "/config/settings/{key}/rollback",
            post(settings::rollback_global),
        )
        .route(
            "/tenants/{tenant}/config/settings",
            get(settings::list_tenant),
        )
        .route(
            "/tenants/{tenant}/config/settings/{key}",
            get(settings::get_tenant)
                .put(settings::set_tenant)
                .delete(settings::unset_tenant),
        )
        .route(
            "/tenants/{tenant}/config/settings/{key}/history",
            get(settings::history_tenant),
        )
        .route(
            "/tenants/{tenant}/config/settings/{key}/rollback",
            post(settings::rollback_tenant),
        )
        .route(
            "/tenants/{tenant}/installations/{id}/config/settings",
            get(settings::list_installation),
        )
        .route(
            "/tenants/{tenant}/installations/{id}/config/settings/{key}",
            get(settings::get_installation)
                .put(settings::set_installation)
                .delete(settings::unset_installation),
        )
        .route(
            "/tenants/{tenant}/installations/{id}/config/settings/{key}/history",
            get(settings::history_installation),
        )
        .route(
            "/tenants/{tenant}/installations/{id}/config/settings/{key}/rollback",
            post(settings::rollback_installation),
        )
        .route("/plans", get(money::plans))
        .route("/billing/snapshot", axum::routing::put(money::import))
        .route("/tenants/{tenant}/billing", get(money::tenant_billing))
        .route("/tenants/{tenant}/wallet", get(money::balance))
        .route(
            "/tenants/{tenant}/wallet/transactions",
            get(money::statement),
        )
        .route("/tenants/{tenant}/wallet/credits", post(money::credit))
        .route("/tenants/{tenant}/contacts", get(contacts::list))
        .route(
            "/tenants/{tenant}/contacts/{id}",
            get(contacts::get)
                .patch(contacts::update)
                .delete(contacts::remove),
        )
        .route(
            "/tenants/{tenant}/contacts/{id}/merge",
            post(contacts::merge),
        )
        .route("/tenants/{tenant}/conversations", get(conversations::list))
        .route(
            "/tenants/{tenant}/conversations/{id}",
            get(conversations::get),
        )
        .route(
            "/tenants/{tenant}/conversations/{id}/messages",
            get(conversations::messages).post(conversations::send),
        )
        .route(
            "/tenants/{tenant}/conversations/{id}/take",
            post(conversations::take),
        )
        .route(
            "/tenants/{tenant}/conversations/{id}/hand-back",
            post(conversations::hand_back),
        )
        .route(
            "/tenants/{tenant}/messages/{id}",
            get(conversations::message),
        )
        .route(
            "/tenants/{tenant}/routing-rules",
            get(conversations::rules).put(conversations::put_rules),
        )
        .route(
            "/tenants/{tenant}/dead-letters",
            get(conversations::dead_letters),
        )
        .route(
            "/tenants/{tenant}/dead-letters/{id}/replay",
            post(conversations::replay),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            limits.max_plugin_bytes + 1,
        ))
        .route_layer(middleware::from_fn_with_state(
            app.clone(),
            auth::authenticate,
        ));
    let memberships = Arc::new(nave_tenant::TenantMemberships::new(app.hubs.tenant.clone()));
    let hubs = Router::new()
        .merge(nave_identity::rest::router(
            app.hubs.identity.clone(),
            memberships,
        ))
        .merge(nave_tenant::rest::router(
            app.hubs.tenant.clone(),
            app.hubs.identity.clone(),
        ))
        .merge(nave_user::rest::router(app.hubs.user.clone()).route_layer(
            middleware::from_fn_with_state(app.clone(), auth::authenticate),
        ))
        .merge(
            nave_app::rest::router(app.hubs.app.clone())
                .route_layer(middleware::from_fn_with_state(
                    app.clone(),
                    auth::scope_tenant,
                ))
                .route_layer(middleware::from_fn_with_state(
                    app.clone(),
                    auth::authenticate,
                )),
        );
    let hooks = Router::new()
        .route("/{installation}", get(hooks::webhook).post(hooks::webhook))
        .route(
            "/{installation}/{*rest}",
            get(hooks::webhook).post(hooks::webhook),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            limits.max_webhook_body_bytes,
        ));
    Router::new()
        .nest("/v1", v1)
        .nest("/hooks", hooks)
        .route("/v1/openapi.json", get(openapi::document))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .with_state(app)
        .merge(hubs)
        .fallback(|| async {
            Error::not_found(
                "route_not_found",
                "no such route; see README.md for the API",
            )
        })
        .layer(middleware::from_fn(correlate))
}

/// Gives the request a correlation id, a span carrying it, and echoes it in the response.
async fn correlate(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        correlation_id = %id,
    );
    request.extensions_mut().insert(CorrelationId(id.clone()));
    // The hubs' routes read the id from the header: give them the one chosen here.
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(CORRELATION_HEADER, value);
    }
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    response
}

/// A JSON body whose rejections are API errors with a code.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> Error {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => Error::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected_json",
            "send the body as JSON with `Content-Type: application/json`",
        ),
        JsonRejection::JsonDataError(err) => Error::unprocessable("invalid_body", err.body_text()),
        JsonRejection::JsonSyntaxError(err) => {
            Error::client(StatusCode::BAD_REQUEST, "invalid_json", err.body_text())
        }
        other => Error::client(other.status(), "invalid_body", other.body_text()),
    }
}

/// One line saying what a spoke's error was.
pub fn describe_spoke_error(err: &SpokeError) -> String {
    match err {
        SpokeError::InvalidInput(m) => format!("invalid input: {m}"),
        SpokeError::Unauthorized(m) => format!("unauthorized: {m}"),
        SpokeError::NotFound(m) => format!("not found: {m}"),
        SpokeError::Upstream(u) => format!(
            "upstream error{}{}: {}{}",
            u.status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(),
            u.code.map(|c| format!(" code {c}")).unwrap_or_default(),
            u.message,
            if u.retryable { " (retryable)" } else { "" }
        ),
        SpokeError::Denied(m) => format!("denied: {m}"),
        SpokeError::Internal(m) => format!("internal: {m}"),
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CorrelationId {
    type Rejection = std::convert::Infallible;

    /// The id [`correlate`] gave the request (a fresh one if the middleware did not run).
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CorrelationId>()
            .cloned()
            .unwrap_or_else(|| CorrelationId(uuid::Uuid::now_v7().to_string())))
    }
}
