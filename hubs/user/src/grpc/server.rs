//! The user hub's gRPC server: each rpc reads the caller's context, calls the wrapped
//! [`UserApi`] and converts the result. No logic lives here.

use std::future::Future;
use std::sync::Arc;

use nave_hub_core::clock::from_millis;
use nave_hub_core::grpc::{ServiceToken, incoming_context};
use nave_hub_core::ids::parse_id;
use nave_hub_core::pb as common;
use nave_hub_core::wire::{page_to_pb as events_to_pb, scope_from_pb};
use nave_hub_core::{Error, Result};
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::convert::*;
use super::pb::{self, user_server::User, user_server::UserServer};
use crate::api::UserApi;
use crate::types::{ContactQuery, MessageActivity};

type Reply<T> = std::result::Result<Response<T>, Status>;

/// Serves a [`UserApi`] over gRPC.
#[derive(Clone)]
pub struct UserGrpc {
    /// The implementation called for every rpc (normally a `LocalUser`).
    api: Arc<dyn UserApi>,
    /// Required from callers when set.
    token: ServiceToken,
}

impl UserGrpc {
    /// Wraps `api`; callers must send `token` when it is set.
    pub fn new(api: Arc<dyn UserApi>, token: ServiceToken) -> Self {
        Self { api, token }
    }

    /// The tonic service, for adding to a shared `tonic::transport::Server`.
    pub fn into_service(self) -> UserServer<Self> {
        UserServer::new(self)
    }
}

/// Serves `api` on `listener` until `shutdown` completes (bind `127.0.0.1:0` in tests).
pub async fn serve(
    listener: TcpListener,
    api: Arc<dyn UserApi>,
    token: ServiceToken,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(UserGrpc::new(api, token).into_service())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(Error::internal)
}

fn id(field: &str, value: &str) -> std::result::Result<uuid::Uuid, Status> {
    parse_id(field, value).map_err(Status::from)
}

fn ok<T>(message: T) -> Reply<T> {
    Ok(Response::new(message))
}

#[tonic::async_trait]
impl User for UserGrpc {
    async fn get_profile(&self, request: Request<pb::UserRequest>) -> Reply<pb::Profile> {
        let ctx = incoming_context(&self.token, &request)?;
        let user = id("user_id", &request.into_inner().user_id)?;
        ok(profile_to_pb(self.api.get_profile(&ctx, user).await?))
    }

    async fn update_profile(
        &self,
        request: Request<pb::UpdateProfileRequest>,
    ) -> Reply<pb::Profile> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let user = id("user_id", &m.user_id)?;
        let change = change_from_pb(m.change);
        ok(profile_to_pb(
            self.api.update_profile(&ctx, user, change).await?,
        ))
    }

    async fn set_preferences(
        &self,
        request: Request<pb::SetPreferencesRequest>,
    ) -> Reply<pb::Profile> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let user = id("user_id", &m.user_id)?;
        let patch = json_object("patch_json", &m.patch_json)?;
        ok(profile_to_pb(
            self.api.set_preferences(&ctx, user, patch).await?,
        ))
    }

    async fn resolve_contact(
        &self,
        request: Request<pb::ResolveContactRequest>,
    ) -> Reply<pb::ResolvedContact> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let identity = identity_from_pb(m.identity)?;
        let profile = contact_profile_from_pb(m.profile.unwrap_or_default());
        let resolved = self
            .api
            .resolve_contact(&ctx, tenant, identity, profile)
            .await?;
        ok(pb::ResolvedContact {
            contact: Some(contact_to_pb(resolved.contact)),
            created: resolved.created,
        })
    }

    async fn find_contact(
        &self,
        request: Request<pb::FindContactRequest>,
    ) -> Reply<pb::FoundContact> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let installation = id("installation_id", &m.installation_id)?;
        let found = self
            .api
            .find_contact(&ctx, tenant, installation, &m.channel_user_id)
            .await?;
        ok(pb::FoundContact {
            contact: found.map(contact_to_pb),
        })
    }

    async fn get_contact(&self, request: Request<pb::ContactRequest>) -> Reply<pb::Contact> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let contact = id("contact_id", &m.contact_id)?;
        ok(contact_to_pb(
            self.api.get_contact(&ctx, tenant, contact).await?,
        ))
    }

    async fn list_contacts(
        &self,
        request: Request<pb::ListContactsRequest>,
    ) -> Reply<pb::ContactPage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let query = ContactQuery {
            search: m.search,
            after: m.after.as_deref().map(|a| id("after", a)).transpose()?,
            limit: m.limit,
        };
        ok(page_to_pb(
            self.api.list_contacts(&ctx, tenant, query).await?,
        ))
    }

    async fn update_contact(
        &self,
        request: Request<pb::UpdateContactRequest>,
    ) -> Reply<pb::Contact> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let contact = id("contact_id", &m.contact_id)?;
        let change = contact_profile_from_pb(m.change.unwrap_or_default());
        ok(contact_to_pb(
            self.api
                .update_contact(&ctx, tenant, contact, change)
                .await?,
        ))
    }

    async fn merge_contacts(
        &self,
        request: Request<pb::MergeContactsRequest>,
    ) -> Reply<pb::Contact> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let keep = id("keep", &m.keep)?;
        let merge = id("merge", &m.merge)?;
        ok(contact_to_pb(
            self.api.merge_contacts(&ctx, tenant, keep, merge).await?,
        ))
    }

    async fn delete_contact(&self, request: Request<pb::ContactRequest>) -> Reply<pb::Empty> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let contact = id("contact_id", &m.contact_id)?;
        self.api.delete_contact(&ctx, tenant, contact).await?;
        ok(pb::Empty {})
    }

    async fn record_activity(
        &self,
        request: Request<pb::RecordActivityRequest>,
    ) -> Reply<pb::Contact> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let identity = identity_from_pb(m.identity)?;
        let direction = direction(&m.direction)?;
        let at = from_millis(m.at_ms)
            .map_err(|_| Status::from(Error::invalid("at_ms", "not a representable instant")))?;
        let profile = m.profile.map(contact_profile_from_pb);
        ok(contact_to_pb(
            self.api
                .record_activity(&ctx, tenant, identity, direction, at, profile)
                .await?,
        ))
    }

    async fn record_activities(
        &self,
        request: Request<pb::RecordActivitiesRequest>,
    ) -> Reply<pb::Empty> {
        let ctx = incoming_context(&self.token, &request)?;
        let items = request
            .into_inner()
            .items
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                let item = |field: &str| format!("items[{i}].{field}");
                Ok(MessageActivity {
                    tenant_id: parse_id(&item("tenant_id"), &m.tenant_id)?,
                    identity: identity_from_pb(m.identity)?,
                    direction: direction(&m.direction)?,
                    at: from_millis(m.at_ms).map_err(|_| {
                        Error::invalid(item("at_ms"), "not a representable instant")
                    })?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.api.record_activities(&ctx, items).await?;
        ok(pb::Empty {})
    }

    async fn list_events(
        &self,
        request: Request<common::ListEventsRequest>,
    ) -> Reply<common::EventPage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let scope = scope_from_pb(m.scope).map_err(Status::from)?;
        let page = self
            .api
            .list_events(&ctx, scope, m.after_seq, m.limit)
            .await?;
        ok(events_to_pb(page))
    }
}
