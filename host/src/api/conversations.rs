//! A workspace's conversations and messages, kept by the message hub: read them, reply as an
//! agent, take a conversation from the bot and hand it back, edit the routing rules, and
//! replay dead letters.
//!
//! Reading needs `view_conversations` (every member); replying, taking, handing back and the dead
//! letters need `send_messages` (agents and up); the routing rules are read with
//! `view_installations` and changed with `manage_installations` (admins and up).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use nave_message::{
    AgentMessage, Conversation, ConversationFilter, ConversationMode, ConversationPage,
    MessageDetail, MessagePage, MessageRecord, RoutingRule, RoutingRules,
};
use nave_tenant::Permission;
use serde::Deserialize;
use uuid::Uuid;

use super::ApiJson;
use super::auth::Caller;
use crate::App;
use crate::error::{Error, Result};

type QueryResult<T> = std::result::Result<Query<T>, axum::extract::rejection::QueryRejection>;

fn query<T>(query: QueryResult<T>) -> Result<T> {
    query
        .map(|Query(q)| q)
        .map_err(|r| Error::client(StatusCode::BAD_REQUEST, "invalid_query", r.body_text()))
}

/// Filters and paging of the conversation list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConversationQuery {
    /// Only this channel installation's.
    installation: Option<Uuid>,
    /// Only this contact's.
    contact: Option<Uuid>,
    /// Only those in this mode: `bot`, `waiting` or `human`.
    mode: Option<ConversationMode>,
    /// Only those this agent (a user id) holds.
    assignee: Option<Uuid>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// At most this many (1-200, default 50).
    limit: Option<u32>,
}

/// A workspace's conversations, most recently active first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/conversations", tag = "conversations",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ConversationQuery),
    responses(
        (status = 200, body = ConversationPage),
        (status = 400, description = "`invalid_query`, `invalid_argument` (a cursor not from this API)", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`: no such tenant, or not yours", body = nave_hub_core::ErrorBody),
    ))]
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    q: QueryResult<ConversationQuery>,
) -> Result<Json<ConversationPage>> {
    let q = query(q)?;
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewConversations)
        .await?;
    let filter = ConversationFilter {
        installation_id: q.installation,
        contact_id: q.contact,
        mode: q.mode,
        assignee: q.assignee,
        after: q.after,
        limit: q.limit.unwrap_or(50),
    };
    Ok(Json(
        app.messages
            .list_conversations(&access.ctx, access.tenant.id, filter)
            .await?,
    ))
}

/// One conversation.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/conversations/{id}", tag = "conversations",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The conversation id")),
    responses(
        (status = 200, body = Conversation),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn get(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<Json<Conversation>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewConversations)
        .await?;
    Ok(Json(
        app.messages
            .get_conversation(&access.ctx, access.tenant.id, id)
            .await?,
    ))
}

/// Paging of a message list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessageQuery {
    /// The `next` of the previous page (a message's `seq`).
    after: Option<i64>,
    /// At most this many (1-200, default 50).
    limit: Option<u32>,
}

/// A conversation's messages, in and out, in order.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/conversations/{id}/messages", tag = "conversations",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The conversation id"), MessageQuery),
    responses(
        (status = 200, body = MessagePage),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn messages(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
    q: QueryResult<MessageQuery>,
) -> Result<Json<MessagePage>> {
    let q = query(q)?;
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewConversations)
        .await?;
    Ok(Json(
        app.messages
            .list_messages(
                &access.ctx,
                access.tenant.id,
                id,
                q.after.unwrap_or(0),
                q.limit.unwrap_or(50),
            )
            .await?,
    ))
}

/// Sends a message as an agent: it is queued, then delivered through the conversation's channel
/// (with retries); follow its status on the message.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/conversations/{id}/messages", tag = "conversations",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The conversation id")),
    request_body = AgentMessage,
    responses(
        (status = 202, description = "Queued for delivery", body = MessageRecord),
        (status = 400, description = "`invalid_argument`, naming the field", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn send(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
    ApiJson(message): ApiJson<AgentMessage>,
) -> Result<(StatusCode, Json<MessageRecord>)> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::SendMessages)
        .await?;
    let queued = app
        .messages
        .send_message(&access.ctx, access.tenant.id, id, message)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}

/// The calling agent takes the conversation: the bot stays silent until it is handed back.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/conversations/{id}/take", tag = "conversations",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The conversation id")),
    responses(
        (status = 200, body = Conversation),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied` (also for API keys: only people take conversations)", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn take(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<Json<Conversation>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::SendMessages)
        .await?;
    Ok(Json(
        app.messages
            .take_conversation(&access.ctx, access.tenant.id, id)
            .await?,
    ))
}

/// Hands the conversation back to the bot.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/conversations/{id}/hand-back", tag = "conversations",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The conversation id")),
    responses(
        (status = 200, body = Conversation),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn hand_back(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<Json<Conversation>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::SendMessages)
        .await?;
    Ok(Json(
        app.messages
            .hand_back(&access.ctx, access.tenant.id, id)
            .await?,
    ))
}

/// One message with every status it went through.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/messages/{id}", tag = "conversations",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The message id")),
    responses(
        (status = 200, body = MessageDetail),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn message(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<Json<MessageDetail>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewConversations)
        .await?;
    Ok(Json(
        app.messages
            .get_message(&access.ctx, access.tenant.id, id)
            .await?,
    ))
}

/// The workspace's routing rules, in order; the first whose conditions hold decides.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/routing-rules", tag = "conversations",
    params(("tenant" = String, Path, description = "The tenant's slug or id")),
    responses(
        (status = 200, body = RoutingRules),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn rules(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<RoutingRules>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ViewInstallations)
        .await?;
    Ok(Json(
        app.messages
            .routing_rules(&access.ctx, access.tenant.id)
            .await?,
    ))
}

/// A new list of routing rules.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    /// The rules, first match wins; they replace the current ones.
    rules: Vec<RoutingRule>,
    /// The `version` read before; the change is refused (409) if the rules changed since.
    expected_version: Option<i64>,
}

/// Replaces the workspace's routing rules; every problem is reported at once.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/routing-rules", tag = "conversations",
    params(("tenant" = String, Path, description = "The tenant's slug or id")),
    request_body = RulesBody,
    responses(
        (status = 200, body = RoutingRules),
        (status = 400, description = "`invalid_argument`, naming each field (`rules[1].then.bot`, ...)", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
        (status = 409, description = "`conflict`: the rules changed since `expected_version`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn put_rules(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<RulesBody>,
) -> Result<Json<RoutingRules>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::ManageInstallations)
        .await?;
    Ok(Json(
        app.messages
            .put_routing_rules(
                &access.ctx,
                access.tenant.id,
                body.rules,
                body.expected_version,
            )
            .await?,
    ))
}

/// Messages that failed for good (a spoke or an outside system kept failing), oldest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/dead-letters", tag = "conversations",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), MessageQuery),
    responses(
        (status = 200, body = MessagePage),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn dead_letters(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    q: QueryResult<MessageQuery>,
) -> Result<Json<MessagePage>> {
    let q = query(q)?;
    let access = caller
        .in_tenant(&app, &tenant, Permission::SendMessages)
        .await?;
    Ok(Json(
        app.messages
            .dead_letters(
                &access.ctx,
                access.tenant.id,
                q.after.unwrap_or(0),
                q.limit.unwrap_or(50),
            )
            .await?,
    ))
}

/// Puts a dead message back in line with its attempts reset; the work it still needs is done
/// again (what finished before is not repeated).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/dead-letters/{id}/replay", tag = "conversations",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The message id")),
    responses(
        (status = 200, body = MessageRecord),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
        (status = 409, description = "`failed_precondition` `not_dead`: the message is not dead", body = nave_hub_core::ErrorBody),
    ))]
pub async fn replay(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<Json<MessageRecord>> {
    let access = caller
        .in_tenant(&app, &tenant, Permission::SendMessages)
        .await?;
    Ok(Json(
        app.messages
            .replay(&access.ctx, access.tenant.id, id)
            .await?,
    ))
}
