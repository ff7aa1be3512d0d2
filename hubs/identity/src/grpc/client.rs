//! [`IdentityClient`]: the [`IdentityApi`] of an identity hub in another process.

use std::future::Future;

use async_trait::async_trait;
use nave_hub_core::grpc::{self, ServiceToken};
use nave_hub_core::{AuthContext, EventPage, EventScope, Result};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::convert::*;
use super::pb::{self, identity_client::IdentityClient as Stub};
use crate::api::IdentityApi;
use crate::types::{
    AccessClaims, ApiKey, CreatedApiKey, Jwk, Jwks, LogIn, MfaEnrollment, NewApiKey, SignUp,
    Tokens, User,
};
use nave_hub_core::pb as common;
use nave_hub_core::wire::{page_from_pb, scope_to_pb};

/// Calls a remote identity hub; behaves exactly like a `LocalIdentity`, errors included.
#[derive(Debug, Clone)]
pub struct IdentityClient {
    /// The generated stub over a shared HTTP/2 channel (cheap to clone per call).
    stub: Stub<Channel>,
    /// Sent with every call when set.
    token: ServiceToken,
}

impl IdentityClient {
    /// Connects to `url` (e.g. `http://identity:50051`).
    pub async fn connect(url: &str, token: ServiceToken) -> Result<Self> {
        Ok(Self::from_channel(
            grpc::connect("identity", url).await?,
            token,
        ))
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

fn id(id: Uuid) -> pb::IdRequest {
    pb::IdRequest { id: id.to_string() }
}

#[async_trait]
impl IdentityApi for IdentityClient {
    async fn sign_up(&self, ctx: &AuthContext, request: SignUp) -> Result<Tokens> {
        let m = pb::SignUpRequest {
            email: request.email,
            password: request.password,
        };
        tokens_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.sign_up(r).await })
                .await?,
        )
    }

    async fn log_in(&self, ctx: &AuthContext, request: LogIn) -> Result<Tokens> {
        let m = pb::LogInRequest {
            email: request.email,
            password: request.password,
            totp_code: request.totp_code,
        };
        tokens_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.log_in(r).await })
                .await?,
        )
    }

    async fn refresh(&self, ctx: &AuthContext, refresh_token: &str) -> Result<Tokens> {
        let m = pb::RefreshTokenRequest {
            refresh_token: refresh_token.to_owned(),
        };
        tokens_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.refresh(r).await })
                .await?,
        )
    }

    async fn log_out(&self, ctx: &AuthContext, refresh_token: &str) -> Result<()> {
        let m = pb::RefreshTokenRequest {
            refresh_token: refresh_token.to_owned(),
        };
        self.call(ctx, m, |mut s, r| async move { s.log_out(r).await })
            .await?;
        Ok(())
    }

    async fn revoke_session(&self, ctx: &AuthContext, session_id: Uuid) -> Result<()> {
        self.call(ctx, id(session_id), |mut s, r| async move {
            s.revoke_session(r).await
        })
        .await?;
        Ok(())
    }

    async fn revoke_all_sessions(&self, ctx: &AuthContext, user_id: Uuid) -> Result<u64> {
        let reply = self
            .call(ctx, id(user_id), |mut s, r| async move {
                s.revoke_all_sessions(r).await
            })
            .await?;
        Ok(reply.count)
    }

    async fn verify_access_token(&self, ctx: &AuthContext, token: &str) -> Result<AccessClaims> {
        let m = pb::TokenRequest {
            token: token.to_owned(),
        };
        claims_from_pb(
            self.call(
                ctx,
                m,
                |mut s, r| async move { s.verify_access_token(r).await },
            )
            .await?,
        )
    }

    async fn jwks(&self, ctx: &AuthContext) -> Result<Jwks> {
        let reply = self
            .call(
                ctx,
                pb::Empty {},
                |mut s, r| async move { s.get_jwks(r).await },
            )
            .await?;
        Ok(jwks_from_pb(reply))
    }

    async fn rotate_signing_key(&self, ctx: &AuthContext) -> Result<Jwk> {
        let reply = self
            .call(ctx, pb::Empty {}, |mut s, r| async move {
                s.rotate_signing_key(r).await
            })
            .await?;
        Ok(jwk_from_pb(reply))
    }

    async fn enroll_mfa(&self, ctx: &AuthContext) -> Result<MfaEnrollment> {
        let reply = self
            .call(ctx, pb::Empty {}, |mut s, r| async move {
                s.enroll_mfa(r).await
            })
            .await?;
        Ok(mfa_from_pb(reply))
    }

    async fn confirm_mfa(&self, ctx: &AuthContext, code: &str) -> Result<()> {
        let m = pb::CodeRequest {
            code: code.to_owned(),
        };
        self.call(ctx, m, |mut s, r| async move { s.confirm_mfa(r).await })
            .await?;
        Ok(())
    }

    async fn create_api_key(&self, ctx: &AuthContext, request: NewApiKey) -> Result<CreatedApiKey> {
        let m = pb::CreateApiKeyRequest {
            name: request.name,
            tenant_id: request.tenant_id.to_string(),
            role: request.role,
        };
        created_key_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.create_api_key(r).await })
                .await?,
        )
    }

    async fn list_api_keys(&self, ctx: &AuthContext, tenant_id: Uuid) -> Result<Vec<ApiKey>> {
        let reply = self
            .call(ctx, id(tenant_id), |mut s, r| async move {
                s.list_api_keys(r).await
            })
            .await?;
        reply.keys.into_iter().map(api_key_from_pb).collect()
    }

    async fn revoke_api_key(&self, ctx: &AuthContext, key_id: Uuid) -> Result<()> {
        self.call(ctx, id(key_id), |mut s, r| async move {
            s.revoke_api_key(r).await
        })
        .await?;
        Ok(())
    }

    async fn verify_api_key(&self, ctx: &AuthContext, secret: &str) -> Result<ApiKey> {
        let m = pb::TokenRequest {
            token: secret.to_owned(),
        };
        api_key_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.verify_api_key(r).await })
                .await?,
        )
    }

    async fn get_user(&self, ctx: &AuthContext, user_id: Uuid) -> Result<User> {
        user_from_pb(
            self.call(
                ctx,
                id(user_id),
                |mut s, r| async move { s.get_user(r).await },
            )
            .await?,
        )
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
        page_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.list_events(r).await })
                .await?,
        )
    }
}
