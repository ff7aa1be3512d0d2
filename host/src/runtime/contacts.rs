//! The host side of the `contacts` import: a spoke's view of the user hub's contacts.
//!
//! Every call is scoped here, not by the spoke: the tenant and installation come from the call
//! context and the channel is the spoke's name, so a spoke can only reach the contacts behind
//! its own channel users. Calls go to the user hub as the platform (`system`) acting in the
//! tenant, with the request's correlation id.

use nave_hub_core::{AuthContext, Role};
use nave_user::{ChannelIdentity, Contact as HubContact, ContactProfile as HubProfile};
use uuid::Uuid;

use super::bindings::contacts::{self, Contact, ContactProfile};
use super::bindings::types::SpokeError;
use super::state::SpokeState;

/// Longest channel user id a spoke may pass.
const MAX_CHANNEL_USER_ID: usize = 256;

impl SpokeState {
    /// The tenant, the hub context and the channel identity of a call about `channel_user_id`.
    fn contact_scope(
        &self,
        channel_user_id: &str,
    ) -> Result<(Uuid, AuthContext, ChannelIdentity), SpokeError> {
        let tenant = Uuid::parse_str(&self.ctx.tenant)
            .ok()
            .filter(|_| !self.ctx.installation.is_nil())
            .ok_or_else(|| {
                SpokeError::Denied(
                    "contacts are only available in calls for an installation, not in describe()"
                        .into(),
                )
            })?;
        if channel_user_id.is_empty() || channel_user_id.len() > MAX_CHANNEL_USER_ID {
            return Err(SpokeError::InvalidInput(format!(
                "channel user ids are 1 to {MAX_CHANNEL_USER_ID} bytes; this one is {}",
                channel_user_id.len()
            )));
        }
        let ctx = AuthContext::system()
            .in_tenant(tenant, Role::Agent)
            .with_correlation_id(self.ctx.correlation_id.clone());
        let identity = ChannelIdentity {
            installation_id: self.ctx.installation,
            channel: self.ctx.plugin.clone(),
            channel_user_id: channel_user_id.to_owned(),
        };
        Ok((tenant, ctx, identity))
    }

    async fn contacts_lookup(
        &mut self,
        channel_user_id: &str,
    ) -> Result<Option<Contact>, SpokeError> {
        let (tenant, ctx, identity) = self.contact_scope(channel_user_id)?;
        self.services
            .contacts
            .find_contact(
                &ctx,
                tenant,
                identity.installation_id,
                &identity.channel_user_id,
            )
            .await
            .map(|found| found.map(contact_of))
            .map_err(hub_failure)
    }

    async fn contacts_resolve(
        &mut self,
        channel_user_id: &str,
        profile: ContactProfile,
    ) -> Result<Contact, SpokeError> {
        let (tenant, ctx, identity) = self.contact_scope(channel_user_id)?;
        self.services
            .contacts
            .resolve_contact(&ctx, tenant, identity, hub_profile(profile))
            .await
            .map(|resolved| contact_of(resolved.contact))
            .map_err(hub_failure)
    }
}

impl contacts::Host for SpokeState {
    async fn lookup(
        &mut self,
        channel_user_id: String,
    ) -> wasmtime::Result<Result<Option<Contact>, SpokeError>> {
        Ok(self.contacts_lookup(&channel_user_id).await)
    }

    async fn resolve(
        &mut self,
        channel_user_id: String,
        profile: ContactProfile,
    ) -> wasmtime::Result<Result<Contact, SpokeError>> {
        Ok(self.contacts_resolve(&channel_user_id, profile).await)
    }
}

/// A hub error as the spoke sees it: its own mistakes in detail, the platform's in general.
fn hub_failure(err: nave_hub_core::Error) -> SpokeError {
    match err {
        nave_hub_core::Error::InvalidArgument { .. } => SpokeError::InvalidInput(err.to_string()),
        nave_hub_core::Error::NotFound(message) => SpokeError::NotFound(message),
        other => {
            tracing::error!(error = %other, "the user hub failed a contacts call");
            SpokeError::Internal("the platform's contacts are unavailable; try again".into())
        }
    }
}

fn hub_profile(p: ContactProfile) -> HubProfile {
    HubProfile {
        name: p.name,
        first_name: p.first_name,
        last_name: p.last_name,
        picture_url: p.picture_url,
        locale: p.locale,
        time_zone: p.time_zone,
        email: p.email,
        phone: p.phone,
    }
}

fn contact_of(c: HubContact) -> Contact {
    Contact {
        id: c.id.to_string(),
        profile: ContactProfile {
            name: c.name,
            first_name: c.first_name,
            last_name: c.last_name,
            picture_url: c.picture_url,
            locale: c.locale,
            time_zone: c.time_zone,
            email: c.email,
            phone: c.phone,
        },
        messages_in: c.messages_in,
        messages_out: c.messages_out,
    }
}
