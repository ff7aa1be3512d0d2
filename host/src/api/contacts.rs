//! A workspace's contacts — the people who write in through its channels — kept by the user
//! hub: list and search, read, correct, merge two into one, erase.
//!
//! Reading needs `view_conversations` (every member); changing needs `manage_contacts`
//! (agents and up). Spokes add contacts through the `contacts` import; the host counts every
//! inbound message on its sender's contact.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use nave_tenant::Permission;
use nave_user::{Contact, ContactPage, ContactProfile, ContactQuery};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiJson;
use super::auth::Caller;
use crate::App;
use crate::error::{Error, Result};

/// Search and paging of the contacts list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only contacts whose name, email or phone contains this text (any case).
    search: Option<String>,
    /// The `next` of the previous page.
    after: Option<Uuid>,
    /// At most this many (1-200, default 50).
    limit: Option<u32>,
}

/// A workspace's contacts, oldest first, a page at a time.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/contacts", tag = "contacts",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ListQuery),
    responses(
        (status = 200, body = ContactPage),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`: no such tenant, or not yours", body = nave_hub_core::ErrorBody),
    ))]
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: std::result::Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ContactPage>> {
    let Query(query) = query
        .map_err(|r| Error::client(StatusCode::BAD_REQUEST, "invalid_query", r.body_text()))?;
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewConversations)
        .await?;
    let page = app
        .hubs
        .user
        .list_contacts(
            &access.ctx,
            access.tenant.id,
            ContactQuery {
                search: query.search,
                after: query.after,
                limit: query.limit.unwrap_or(50),
            },
        )
        .await?;
    Ok(Json(page))
}

/// One contact, with its channel identities and counters.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/contacts/{id}", tag = "contacts",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The contact id")),
    responses(
        (status = 200, body = Contact),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn get(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<Json<Contact>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewConversations)
        .await?;
    let contact = app
        .hubs
        .user
        .get_contact(&access.ctx, access.tenant.id, id)
        .await?;
    Ok(Json(contact))
}

/// Corrects a contact's profile: fields given overwrite, `""` clears one.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}/contacts/{id}", tag = "contacts",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The contact id")),
    request_body = ContactProfile,
    responses(
        (status = 200, body = Contact),
        (status = 400, description = "`invalid_argument`, naming the field", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn update(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
    ApiJson(change): ApiJson<ContactProfile>,
) -> Result<Json<Contact>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ManageContacts)
        .await?;
    let contact = app
        .hubs
        .user
        .update_contact(&access.ctx, access.tenant.id, id, change)
        .await?;
    Ok(Json(contact))
}

/// What to merge into a contact.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The contact folded into this one and then removed.
    merge: Uuid,
}

/// Folds another contact into this one: identities move over, empty fields are filled,
/// counters add up; the other contact is removed.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/contacts/{id}/merge", tag = "contacts",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The contact that remains")),
    request_body = MergeBody,
    responses(
        (status = 200, body = Contact),
        (status = 400, description = "`invalid_argument`: a contact merged into itself", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn merge(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
    ApiJson(body): ApiJson<MergeBody>,
) -> Result<Json<Contact>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ManageContacts)
        .await?;
    let contact = app
        .hubs
        .user
        .merge_contacts(&access.ctx, access.tenant.id, id, body.merge)
        .await?;
    Ok(Json(contact))
}

/// Erases a contact and its channel identities.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/contacts/{id}", tag = "contacts",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The contact id")),
    responses(
        (status = 204, description = "erased"),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn remove(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<StatusCode> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ManageContacts)
        .await?;
    app.hubs
        .user
        .delete_contact(&access.ctx, access.tenant.id, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
