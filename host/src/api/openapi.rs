//! The OpenAPI document of the host's HTTP API, generated from the handlers' annotations and
//! served at `/v1/openapi.json`.

use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{hooks, installations, ops, plugins};

/// The JSON body of every error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable, machine-readable name of the problem, e.g. `missing_settings`.
    code: String,
    /// What was wrong and how to fix it.
    message: String,
    /// Structured details, e.g. `{"missing": ["page_id"]}`.
    details: Option<serde_json::Value>,
    /// For failures inside the host or a spoke: the id to quote; the logs have the rest.
    error_id: Option<uuid::Uuid>,
}

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "nave", description = "The nave host: spoke registry, installations, webhook ingress."),
    paths(
        plugins::upload, plugins::list, plugins::versions,
        installations::create, installations::list, installations::get, installations::update,
        installations::remove, installations::events,
        hooks::webhook_route,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    components(schemas(
        ErrorBody, plugins::Uploaded, plugins::PluginSummary, crate::store::PluginVersion,
        crate::store::StoredEvent, crate::runtime::Manifest, crate::runtime::SettingSpec,
        crate::runtime::Role, crate::registry::InstallationView, crate::registry::NewInstallation,
        crate::registry::InstallationChange,
    )),
    modifiers(&OperatorToken),
    security(("operator" = [])),
)]
pub struct ApiDoc;

/// Declares the operator's bearer token.
struct OperatorToken;

impl Modify for OperatorToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "operator",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Serves the document.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
