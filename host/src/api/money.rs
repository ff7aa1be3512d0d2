//! Plans, entitlements, usage and wallets: the billing and wallet hubs behind REST.
//!
//! A workspace's admins and owners read its plan, usage, balance and statement
//! (`view_billing`); platform admins import the plan snapshot from the outside billing system
//! and top wallets up. Nobody edits plans here: the snapshot is the only way in.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use nave_billing::{ImportReport, Plan, Snapshot, TenantBilling};
use nave_tenant::Permission;
use nave_wallet::{Balance, Credit, StatementPage, Transaction};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiJson;
use super::auth::{Caller, PlatformAdmin};
use crate::App;
use crate::error::{Error, Result};

/// Every plan on offer.
#[utoipa::path(get, path = "/v1/plans", tag = "billing",
    responses(
        (status = 200, body = [Plan]),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn plans(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<Vec<Plan>>> {
    Ok(Json(app.hubs.billing.list_plans(&caller.0).await?))
}

/// Replaces the plans and every workspace's plan with a snapshot from the billing system;
/// all or nothing, and the same snapshot again changes nothing.
#[utoipa::path(put, path = "/v1/billing/snapshot", tag = "billing", request_body = Snapshot,
    responses(
        (status = 200, body = ImportReport),
        (status = 400, description = "`invalid_argument`, with every problem's field path", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`: platform admins only", body = nave_hub_core::ErrorBody),
    ))]
pub async fn import(
    State(app): State<Arc<App>>,
    admin: PlatformAdmin,
    ApiJson(snapshot): ApiJson<Snapshot>,
) -> Result<Json<ImportReport>> {
    Ok(Json(
        app.hubs.billing.import_snapshot(&admin.0, snapshot).await?,
    ))
}

/// A workspace's plan, current period and usage.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/billing", tag = "billing",
    params(("tenant" = String, Path, description = "The tenant's slug or id")),
    responses(
        (status = 200, body = TenantBilling),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`: admins and owners", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`: no such workspace, or no plan yet", body = nave_hub_core::ErrorBody),
    ))]
pub async fn tenant_billing(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<TenantBilling>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewBilling)
        .await?;
    Ok(Json(
        app.hubs
            .billing
            .tenant_billing(&access.ctx, access.tenant.id)
            .await?,
    ))
}

/// A workspace's wallet balance: available and held.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/wallet", tag = "wallet",
    params(("tenant" = String, Path, description = "The tenant's slug or id")),
    responses(
        (status = 200, body = Balance),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`: admins and owners", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn balance(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Balance>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewBilling)
        .await?;
    Ok(Json(
        app.hubs
            .wallet
            .balance(&access.ctx, access.tenant.id)
            .await?,
    ))
}

/// Paging of the statement.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatementQuery {
    /// The `next` of the previous page.
    after: Option<Uuid>,
    /// At most this many (1-200, default 50).
    limit: Option<u32>,
}

/// A workspace's wallet statement, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/wallet/transactions", tag = "wallet",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), StatementQuery),
    responses(
        (status = 200, body = StatementPage),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`: admins and owners", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn statement(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: std::result::Result<Query<StatementQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<StatementPage>> {
    let Query(query) = query
        .map_err(|r| Error::client(StatusCode::BAD_REQUEST, "invalid_query", r.body_text()))?;
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewBilling)
        .await?;
    let page = app
        .hubs
        .wallet
        .statement(
            &access.ctx,
            access.tenant.id,
            query.after,
            query.limit.unwrap_or(50),
        )
        .await?;
    Ok(Json(page))
}

/// Tops a workspace's wallet up (or grants a promotion); idempotent on `idempotency_key`.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/wallet/credits", tag = "wallet",
    params(("tenant" = String, Path, description = "The tenant's slug or id")),
    request_body = Credit,
    responses(
        (status = 201, body = Transaction),
        (status = 400, description = "`invalid_argument`", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`: platform admins only", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
        (status = 409, description = "`conflict`: the key was used for another request", body = nave_hub_core::ErrorBody),
    ))]
pub async fn credit(
    State(app): State<Arc<App>>,
    admin: PlatformAdmin,
    Path(tenant): Path<String>,
    ApiJson(credit): ApiJson<Credit>,
) -> Result<(StatusCode, Json<Transaction>)> {
    let access = Caller(admin.0)
        .in_tenant(&app, &tenant, Permission::ViewBilling)
        .await?;
    let transaction = app
        .hubs
        .wallet
        .credit(&access.ctx, access.tenant.id, credit)
        .await?;
    Ok((StatusCode::CREATED, Json(transaction)))
}
