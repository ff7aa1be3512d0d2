//! [`UserClient`]: the [`UserApi`] of a user hub in another process.

use std::future::Future;

use async_trait::async_trait;
use nave_hub_core::clock::to_millis;
use nave_hub_core::grpc::{self, ServiceToken};
use nave_hub_core::pb as common;
use nave_hub_core::wire::{page_from_pb as events_from_pb, scope_to_pb};
use nave_hub_core::{AuthContext, Error, EventPage, EventScope, Result};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::convert::*;
use super::pb::{self, user_client::UserClient as Stub};
use crate::api::UserApi;
use crate::types::{
    ChannelIdentity, Contact, ContactPage, ContactProfile, ContactQuery, Direction,
    MessageActivity, Profile, ProfileChange, ResolvedContact,
};

/// Calls a remote user hub; behaves exactly like a `LocalUser`, errors included.
#[derive(Debug, Clone)]
pub struct UserClient {
    /// The generated stub over a shared HTTP/2 channel (cheap to clone per call).
    stub: Stub<Channel>,
    /// Sent with every call when set.
    token: ServiceToken,
}

impl UserClient {
    /// Connects to `url` (e.g. `http://user:50052`).
    pub async fn connect(url: &str, token: ServiceToken) -> Result<Self> {
        Ok(Self::from_channel(grpc::connect("user", url).await?, token))
    }

    /// Uses an existing channel (e.g. a lazily connecting one).
    pub fn from_channel(channel: Channel, token: ServiceToken) -> Self {
        Self {
            stub: Stub::new(channel),
            token,
        }
    }

    async fn call<Q, R, F, Fut>(&self, ctx: &AuthContext, message: Q, rpc: F) -> Result<R>
    where
        F: FnOnce(Stub<Channel>, Request<Q>) -> Fut,
        Fut: Future<Output = std::result::Result<Response<R>, Status>>,
    {
        grpc::unary(&self.token, ctx, self.stub.clone(), message, rpc).await
    }
}

fn contact_req(tenant_id: Uuid, contact_id: Uuid) -> pb::ContactRequest {
    pb::ContactRequest {
        tenant_id: tenant_id.to_string(),
        contact_id: contact_id.to_string(),
    }
}

fn missing_contact() -> Error {
    Error::internal_msg("user hub replied without the contact")
}

#[async_trait]
impl UserApi for UserClient {
    async fn get_profile(&self, ctx: &AuthContext, user_id: Uuid) -> Result<Profile> {
        let m = pb::UserRequest {
            user_id: user_id.to_string(),
        };
        profile_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.get_profile(r).await })
                .await?,
        )
    }

    async fn update_profile(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        change: ProfileChange,
    ) -> Result<Profile> {
        let m = pb::UpdateProfileRequest {
            user_id: user_id.to_string(),
            change: Some(change_to_pb(change)),
        };
        profile_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.update_profile(r).await })
                .await?,
        )
    }

    async fn set_preferences(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        patch: Map<String, Value>,
    ) -> Result<Profile> {
        let m = pb::SetPreferencesRequest {
            user_id: user_id.to_string(),
            patch_json: Value::Object(patch).to_string(),
        };
        profile_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.set_preferences(r).await })
                .await?,
        )
    }

    async fn resolve_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        identity: ChannelIdentity,
        profile: ContactProfile,
    ) -> Result<ResolvedContact> {
        let m = pb::ResolveContactRequest {
            tenant_id: tenant_id.to_string(),
            identity: Some(identity_to_pb(identity)),
            profile: Some(contact_profile_to_pb(profile)),
        };
        let reply = self
            .call(ctx, m, |mut s, r| async move { s.resolve_contact(r).await })
            .await?;
        Ok(ResolvedContact {
            contact: contact_from_pb(reply.contact.ok_or_else(missing_contact)?)?,
            created: reply.created,
        })
    }

    async fn find_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        installation_id: Uuid,
        channel_user_id: &str,
    ) -> Result<Option<Contact>> {
        let m = pb::FindContactRequest {
            tenant_id: tenant_id.to_string(),
            installation_id: installation_id.to_string(),
            channel_user_id: channel_user_id.to_owned(),
        };
        let reply = self
            .call(ctx, m, |mut s, r| async move { s.find_contact(r).await })
            .await?;
        reply.contact.map(contact_from_pb).transpose()
    }

    async fn get_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        contact_id: Uuid,
    ) -> Result<Contact> {
        let m = contact_req(tenant_id, contact_id);
        contact_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.get_contact(r).await })
                .await?,
        )
    }

    async fn list_contacts(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        query: ContactQuery,
    ) -> Result<ContactPage> {
        let m = pb::ListContactsRequest {
            tenant_id: tenant_id.to_string(),
            search: query.search,
            after: query.after.map(|a| a.to_string()),
            limit: query.limit,
        };
        page_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.list_contacts(r).await })
                .await?,
        )
    }

    async fn update_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        contact_id: Uuid,
        change: ContactProfile,
    ) -> Result<Contact> {
        let m = pb::UpdateContactRequest {
            tenant_id: tenant_id.to_string(),
            contact_id: contact_id.to_string(),
            change: Some(contact_profile_to_pb(change)),
        };
        contact_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.update_contact(r).await })
                .await?,
        )
    }

    async fn merge_contacts(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        keep: Uuid,
        merge: Uuid,
    ) -> Result<Contact> {
        let m = pb::MergeContactsRequest {
            tenant_id: tenant_id.to_string(),
            keep: keep.to_string(),
            merge: merge.to_string(),
        };
        contact_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.merge_contacts(r).await })
                .await?,
        )
    }

    async fn delete_contact(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        contact_id: Uuid,
    ) -> Result<()> {
        let m = contact_req(tenant_id, contact_id);
        self.call(ctx, m, |mut s, r| async move { s.delete_contact(r).await })
            .await?;
        Ok(())
    }

    async fn record_activity(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        identity: ChannelIdentity,
        direction: Direction,
        at: OffsetDateTime,
        profile: Option<ContactProfile>,
    ) -> Result<Contact> {
        let m = pb::RecordActivityRequest {
            tenant_id: tenant_id.to_string(),
            identity: Some(identity_to_pb(identity)),
            direction: direction.as_str().to_owned(),
            at_ms: to_millis(at),
            profile: profile.map(contact_profile_to_pb),
        };
        contact_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.record_activity(r).await })
                .await?,
        )
    }

    async fn record_activities(
        &self,
        ctx: &AuthContext,
        items: Vec<MessageActivity>,
    ) -> Result<()> {
        let m = pb::RecordActivitiesRequest {
            items: items
                .into_iter()
                .map(|item| pb::MessageActivity {
                    tenant_id: item.tenant_id.to_string(),
                    identity: Some(identity_to_pb(item.identity)),
                    direction: item.direction.as_str().to_owned(),
                    at_ms: to_millis(item.at),
                })
                .collect(),
        };
        self.call(
            ctx,
            m,
            |mut s, r| async move { s.record_activities(r).await },
        )
        .await?;
        Ok(())
    }

    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        let m = common::ListEventsRequest {
            scope: Some(scope_to_pb(scope)),
            after_seq,
            limit,
        };
        events_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.list_events(r).await })
                .await?,
        )
    }
}
