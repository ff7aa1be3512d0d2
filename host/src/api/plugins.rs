//! `POST /v1/plugins` (upload a component), `GET /v1/plugins`, `GET /v1/plugins/{name}/versions`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Serialize;

use super::CorrelationId;
use super::auth::{Caller, PlatformAdmin};
use crate::App;
use crate::error::{Error, Result};
use crate::store::PluginVersion;

/// What an upload answers: the version's identity from its `describe()`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Uploaded {
    name: String,
    version: String,
    role: String,
    digest: String,
    size: i64,
    created_at: String,
}

impl From<PluginVersion> for Uploaded {
    fn from(p: PluginVersion) -> Uploaded {
        Uploaded {
            name: p.name,
            version: p.version,
            role: p.role,
            digest: p.digest,
            size: p.size,
            created_at: p.created_at,
        }
    }
}

/// Uploads a component: 201 when new, 200 when the same bytes were uploaded before.
#[utoipa::path(post, path = "/v1/plugins", tag = "plugins",
    request_body(content = Vec<u8>, content_type = "application/wasm", description = "The component"),
    responses(
        (status = 201, description = "A new version", body = Uploaded),
        (status = 200, description = "These bytes were uploaded before", body = Uploaded),
        (status = 413, description = "`plugin_too_large`", body = crate::api::openapi::ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = crate::api::openapi::ErrorBody),
        (status = 409, description = "`version_exists`", body = crate::api::openapi::ErrorBody),
        (status = 422, description = "`not_wasm`, `core_module_not_component`, `invalid_component`, `unknown_world`, `unsupported_imports`, `describe_failed`, `describe_timeout`, `invalid_manifest`", body = crate::api::openapi::ErrorBody),
    ))]
pub async fn upload(
    State(app): State<Arc<App>>,
    PlatformAdmin(admin): PlatformAdmin,
    correlation: CorrelationId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Uploaded>)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.split(';').next().map(str::trim) != Some("application/wasm") {
        return Err(Error::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the component as the body with `Content-Type: application/wasm`",
        ));
    }
    let body = body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(_) => Error::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "plugin_too_large",
            format!(
                "the component is over the {}-byte upload limit",
                app.config.limits.max_plugin_bytes
            ),
        ),
        other => Error::client(other.status(), "invalid_body", other.body_text()),
    })?;
    let (plugin, created) = app.registry.upload(body.to_vec(), &correlation.0).await?;
    // The registry has the version either way; a catalogue that is away catches up at the
    // next start (see `subscriptions::sync_catalogue`).
    let uploader = admin.with_correlation_id(correlation.0.clone());
    if let Err(err) =
        crate::subscriptions::record_upload(app.hubs.app.as_ref(), &uploader, &plugin).await
    {
        tracing::warn!(name = %plugin.name, version = %plugin.version, error = %err, code = err.code(), "recording the upload in the app catalogue failed");
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(plugin.into())))
}

/// One entry of the catalogue: a plugin with its versions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PluginSummary {
    name: String,
    role: String,
    description: String,
    latest: String,
    versions: Vec<String>,
}

/// Lists plugins with their versions.
#[utoipa::path(get, path = "/v1/plugins", tag = "plugins",
    responses((status = 200, description = "`{\"plugins\": [PluginSummary]}`", body = Object)))]
pub async fn list(State(app): State<Arc<App>>, _caller: Caller) -> Result<Json<serde_json::Value>> {
    let mut plugins: Vec<PluginSummary> = Vec::new();
    for version in app.registry.versions(None).await? {
        match plugins.last_mut() {
            Some(last) if last.name == version.name => {
                last.latest = version.version.clone();
                last.description = version.manifest.description.clone();
                last.versions.push(version.version);
            }
            _ => plugins.push(PluginSummary {
                name: version.name.clone(),
                role: version.role.clone(),
                description: version.manifest.description.clone(),
                latest: version.version.clone(),
                versions: vec![version.version],
            }),
        }
    }
    Ok(Json(serde_json::json!({ "plugins": plugins })))
}

/// Lists the versions of one plugin with their manifests.
#[utoipa::path(get, path = "/v1/plugins/{name}/versions", tag = "plugins",
    params(("name" = String, Path, description = "The plugin's name")),
    responses(
        (status = 200, description = "`{\"name\", \"versions\": [PluginVersion]}`", body = Object),
        (status = 404, description = "`plugin_not_found`", body = crate::api::openapi::ErrorBody),
    ))]
pub async fn versions(
    State(app): State<Arc<App>>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>> {
    let versions = app.registry.versions(Some(&name)).await?;
    if versions.is_empty() {
        return Err(Error::not_found(
            "plugin_not_found",
            format!("no plugin named {name}"),
        ));
    }
    Ok(Json(
        serde_json::json!({ "name": name, "versions": versions }),
    ))
}
