//! Subscribing a tenant to an app and unsubscribing it: the routes of the app hub that need
//! this host's installer (the app hub's own routes list and read subscriptions).
//!
//! Subscribing runs the subscription saga (guards → hold the fee → record → install → capture);
//! a failure undoes every step and answers with the failing step's error.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use nave_app::Subscription;
use nave_app::saga::SubscribeRequest;
use nave_tenant::Permission;
use serde::Deserialize;
use uuid::Uuid;

use super::ApiJson;
use super::auth::Caller;
use crate::App;
use crate::error::Result;

/// What a tenant asks for when subscribing.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeBody {
    /// The app: its listing id, or its name as the tenant's catalogue shows it.
    pub app: String,
    /// The version to pin; the newest when absent.
    pub version: Option<String>,
    /// The installation's settings, by name (string values).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Outbound hosts granted to the spoke.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// A call deadline other than the operator's default.
    pub deadline_ms: Option<u64>,
    /// A memory cap other than the operator's default.
    pub memory_mib: Option<u64>,
}

/// Subscribes the tenant to an app: pays the install fee and installs the spoke.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/subscriptions", tag = "apps",
    params(("tenant" = String, Path, description = "The tenant's slug or id")), request_body = SubscribeBody,
    responses(
        (status = 201, description = "Installed and paid for", body = nave_app::Subscription),
        (status = 400, description = "`invalid_argument`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`: a platform admin who is not a member", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`: no such tenant or app", body = nave_hub_core::ErrorBody),
        (status = 409, description = "`failed_precondition`: `reasons` lists every failed guard \
            (`not_tenant_admin`, `app_unlisted`, `app_has_no_version`, `app_not_in_plan`, \
            `installation_limit_reached`, `insufficient_funds`), or why the installation failed \
            (`missing_settings`, `unknown_settings`, `install_refused`, `invalid_host`, \
            `invalid_limit`, `plugin_not_found`); nothing was kept or charged", body = nave_hub_core::ErrorBody),
    ))]
pub async fn subscribe(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<SubscribeBody>,
) -> Result<(StatusCode, Json<Subscription>)> {
    // Members get this far; whether they may subscribe is a guard (`not_tenant_admin`), so it
    // is reported together with every other reason.
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewInstallations)
        .await?;
    if access.tenant.role.is_none() {
        // A platform admin who is not a member reads a workspace but does not spend its money,
        // as with `POST /v1/tenants/{tenant}/installations`.
        return Err(nave_hub_core::Error::permission_denied(
            "only the workspace's admins and owners may subscribe it to apps",
        )
        .into());
    }
    let tenant_id = access.tenant.id;
    let app_id = match Uuid::parse_str(&body.app) {
        Ok(id) => id,
        Err(_) => {
            app.hubs
                .app
                .find_listing(&access.ctx, Some(tenant_id), &body.app)
                .await?
                .id
        }
    };
    let request = SubscribeRequest {
        app_id,
        version: body.version,
        settings: body.settings,
        allowed_hosts: body.allowed_hosts,
        deadline_ms: body.deadline_ms,
        memory_mib: body.memory_mib,
    };
    let subscription = app
        .subscriber
        .subscribe(&access.ctx, tenant_id, request)
        .await?;
    Ok((StatusCode::CREATED, Json(subscription)))
}

/// Unsubscribes: runs the spoke's `uninstall()`, removes the installation and cancels the
/// subscription (the install fee is not refunded).
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/subscriptions/{id}", tag = "apps",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The subscription id")),
    responses(
        (status = 200, description = "The cancelled subscription", body = nave_app::Subscription),
        (status = 403, description = "`permission_denied`: admins and owners only", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
        (status = 409, description = "`failed_precondition`: not active", body = nave_hub_core::ErrorBody),
    ))]
pub async fn unsubscribe(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<Json<Subscription>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ManageInstallations)
        .await?;
    let found = app.hubs.app.get_subscription(&access.ctx, id).await?;
    if found.tenant_id != access.tenant.id {
        return Err(nave_hub_core::Error::not_found(format!("no subscription `{id}`")).into());
    }
    Ok(Json(app.subscriber.unsubscribe(&access.ctx, id).await?))
}
