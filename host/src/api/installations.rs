//! Installations of spokes by tenants: create, list, read, change (upgrade, roll back), remove,
//! and the inbound events stored for one.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use nave_tenant::Permission;

use super::auth::Caller;
use super::{ApiJson, CorrelationId};
use crate::App;
use crate::error::{Error, Result};
use crate::registry::{InstallationChange, InstallationView, NewInstallation};

/// Installs a spoke for a tenant; runs its `install()`.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/installations", tag = "installations",
    params(("tenant" = String, Path, description = "The tenant's slug or id")), request_body = NewInstallation,
    responses(
        (status = 201, body = InstallationView),
        (status = 404, description = "`plugin_not_found`", body = crate::api::openapi::ErrorBody),
        (status = 422, description = "`missing_settings`, `unknown_settings`, `invalid_host`, `invalid_limit`, `install_refused`", body = crate::api::openapi::ErrorBody),
    ))]
pub async fn create(
    State(app): State<Arc<App>>,
    caller: Caller,
    correlation: CorrelationId,
    Path(tenant): Path<String>,
    ApiJson(new): ApiJson<NewInstallation>,
) -> Result<(StatusCode, Json<InstallationView>)> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ManageInstallations)
        .await?;
    let tenant = access.tenant_key();
    let installation = app.registry.install(&tenant, new, &correlation.0).await?;
    Ok((StatusCode::CREATED, Json(installation.view())))
}

/// Lists a tenant's installations.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/installations", tag = "installations",
    params(("tenant" = String, Path, description = "The tenant's slug or id")), responses((status = 200, description = "`{\"installations\": [InstallationView]}`", body = Object)))]
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewInstallations)
        .await?;
    let tenant = access.tenant_key();
    let list: Vec<InstallationView> = app
        .registry
        .tenant_installations(&tenant)
        .iter()
        .map(|i| i.view())
        .collect();
    Ok(Json(json!({ "installations": list })))
}

/// Reads one installation.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/installations/{id}", tag = "installations",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = uuid::Uuid, Path, description = "The installation id")),
    responses((status = 200, body = InstallationView), (status = 404, description = "`installation_not_found`", body = crate::api::openapi::ErrorBody)))]
pub async fn get(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<Json<InstallationView>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewInstallations)
        .await?;
    let tenant = access.tenant_key();
    Ok(Json(app.registry.tenant_installation(&tenant, id)?.view()))
}

/// Changes an installation: version, settings, granted hosts, limits.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}/installations/{id}", tag = "installations",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = uuid::Uuid, Path, description = "The installation id")), request_body = InstallationChange,
    responses(
        (status = 200, body = InstallationView),
        (status = 404, description = "`installation_not_found`, `plugin_not_found`", body = crate::api::openapi::ErrorBody),
        (status = 422, description = "`missing_settings`, `unknown_settings`, `invalid_host`, `invalid_limit`", body = crate::api::openapi::ErrorBody),
    ))]
pub async fn update(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
    ApiJson(change): ApiJson<InstallationChange>,
) -> Result<Json<InstallationView>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ManageInstallations)
        .await?;
    let tenant = access.tenant_key();
    Ok(Json(app.registry.update(&tenant, id, change).await?.view()))
}

/// Runs `uninstall()` and removes the installation.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/installations/{id}", tag = "installations",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = uuid::Uuid, Path, description = "The installation id")),
    responses(
        (status = 200, description = "`{\"id\", \"removed\": true, \"uninstall_error\"}`", body = Object),
        (status = 404, description = "`installation_not_found`", body = crate::api::openapi::ErrorBody),
    ))]
pub async fn remove(
    State(app): State<Arc<App>>,
    caller: Caller,
    correlation: CorrelationId,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<Json<Value>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ManageInstallations)
        .await?;
    let tenant = access.tenant_key();
    let uninstall_error = app.registry.remove(&tenant, id, &correlation.0).await?;
    Ok(Json(
        json!({ "id": id, "removed": true, "uninstall_error": uninstall_error }),
    ))
}

/// Paging of the events list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only events after this `seq`.
    #[serde(default)]
    after: i64,
    /// At most this many (1-500, default 100).
    limit: Option<u32>,
}

/// The inbound events stored for an installation, oldest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/installations/{id}/events", tag = "installations",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = uuid::Uuid, Path, description = "The installation id"), EventsQuery),
    responses(
        (status = 200, description = "`{\"events\": [StoredEvent], \"next_after\"}`", body = Object),
        (status = 404, description = "`installation_not_found`", body = crate::api::openapi::ErrorBody),
    ))]
pub async fn events(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewConversations)
        .await?;
    let tenant = access.tenant_key();
    let Query(query) = query
        .map_err(|r| Error::client(StatusCode::BAD_REQUEST, "invalid_query", r.body_text()))?;
    app.registry.tenant_installation(&tenant, id)?;
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let events = app.store.events(id, query.after, limit).await?;
    let next = events.last().map(|e| e.seq);
    Ok(Json(json!({ "events": events, "next_after": next })))
}
