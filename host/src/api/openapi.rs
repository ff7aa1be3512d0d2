//! The OpenAPI document of the host's HTTP API, generated from the handlers' annotations and
//! served at `/v1/openapi.json`.

use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    audit, contacts, conversations, hooks, installations, money, ops, plugins, settings,
    subscriptions,
};

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
    info(title = "nave", description = "The nave platform: accounts, workspaces, spoke registry, installations, runtime settings, webhook ingress."),
    paths(
        plugins::upload, plugins::list, plugins::versions,
        installations::create, installations::list, installations::get, installations::update,
        installations::remove, installations::events,
        subscriptions::subscribe, subscriptions::unsubscribe,
        audit::trail, money::plans, money::import, money::tenant_billing, money::balance,
        money::statement, money::credit, contacts::list, contacts::get, contacts::update, contacts::merge, contacts::remove,
        conversations::list, conversations::get, conversations::messages, conversations::send,
        conversations::take, conversations::hand_back, conversations::message,
        conversations::rules, conversations::put_rules, conversations::dead_letters,
        conversations::replay,
        settings::definitions, settings::watch::watch,
        settings::list_global, settings::get_global, settings::set_global, settings::unset_global,
        settings::history_global, settings::rollback_global,
        settings::list_tenant, settings::get_tenant, settings::set_tenant, settings::unset_tenant,
        settings::history_tenant, settings::rollback_tenant,
        settings::list_installation, settings::get_installation, settings::set_installation,
        settings::unset_installation, settings::history_installation,
        settings::rollback_installation,
        hooks::webhook_route,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    components(schemas(
        ErrorBody, plugins::Uploaded, plugins::PluginSummary, crate::store::PluginVersion,
        crate::store::StoredEvent, crate::runtime::Manifest, crate::runtime::SettingSpec,
        crate::runtime::Role, crate::registry::InstallationView, crate::registry::NewInstallation,
        crate::registry::InstallationChange, subscriptions::SubscribeBody, contacts::MergeBody, audit::AuditPage, audit::AuditEntry, nave_user::Contact,
        nave_billing::Plan, nave_billing::Entitlements, nave_billing::Snapshot,
        nave_billing::TenantPlan, nave_billing::ImportReport, nave_billing::TenantBilling,
        nave_billing::Usage, nave_wallet::Balance, nave_wallet::Credit,
        nave_wallet::StatementPage, nave_wallet::Transaction,
        nave_user::ContactPage, nave_user::ContactProfile, nave_user::ContactIdentity,
        conversations::RulesBody, nave_message::Conversation, nave_message::ConversationPage,
        nave_message::ConversationMode, nave_message::MessageRecord, nave_message::MessagePage,
        nave_message::MessageDetail, nave_message::StatusChange, nave_message::MessageStatus,
        nave_message::Direction, nave_message::ChannelMessage, nave_message::Reply,
        nave_message::Attachment, nave_message::Choice, nave_message::SenderProfile,
        nave_message::SendReason, nave_message::Enrichment, nave_message::StoredFile,
        nave_message::RoutingRules, nave_message::RoutingRule, nave_message::RuleConditions,
        nave_message::RuleActions, nave_message::AgentMessage,
        settings::DefinitionList, settings::SettingList, settings::ChangeList, settings::SetBody,
        settings::RollbackBody, nave_config::SettingDefView, nave_config::Kind,
        nave_config::ScopeKind, nave_config::Resolved, nave_config::Origin, nave_config::Change,
        nave_config::ChangeAction, nave_config::Scope, nave_config::ChangeNotice,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

/// Declares the bearer credential: a user's access token (JWT) or a tenant's API key.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An access token from `POST /v1/auth/login`, or an API key (`nave_ak_…`)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The whole document: the host's routes and those of the hubs it serves.
pub fn full() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(nave_identity::rest::IdentityApiDoc::openapi());
    doc.merge(nave_tenant::rest::TenantApiDoc::openapi());
    doc.merge(nave_user::rest::UserApiDoc::openapi());
    doc.merge(nave_app::rest::AppApiDoc::openapi());
    doc
}

/// Serves the document (built once).
pub async fn document() -> Json<&'static utoipa::openapi::OpenApi> {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    Json(DOC.get_or_init(full))
}
