//! The identity hub's gRPC server: each rpc reads the caller's context, calls the wrapped
//! [`IdentityApi`] and converts the result. No logic lives here.

use std::future::Future;
use std::sync::Arc;

use nave_hub_core::grpc::{ServiceToken, incoming_context};
use nave_hub_core::ids::parse_id;
use nave_hub_core::{Error, Result};
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::convert::*;
use super::pb::{self, identity_server::Identity, identity_server::IdentityServer};
use crate::api::IdentityApi;
use crate::types::{LogIn, NewApiKey, SignUp};
use nave_hub_core::pb as common;
use nave_hub_core::wire::{page_to_pb, scope_from_pb};

type Reply<T> = std::result::Result<Response<T>, Status>;

/// Serves an [`IdentityApi`] over gRPC.
#[derive(Clone)]
pub struct IdentityGrpc {
    /// The implementation called for every rpc (normally a `LocalIdentity`).
    api: Arc<dyn IdentityApi>,
    /// Required from callers when set.
    token: ServiceToken,
}

impl IdentityGrpc {
    /// Wraps `api`; callers must send `token` when it is set.
    pub fn new(api: Arc<dyn IdentityApi>, token: ServiceToken) -> Self {
        Self { api, token }
    }

    /// The tonic service, for adding to a shared `tonic::transport::Server`.
    pub fn into_service(self) -> IdentityServer<Self> {
        IdentityServer::new(self)
    }
}

/// Serves `api` on `listener` until `shutdown` completes (bind `127.0.0.1:0` in tests).
pub async fn serve(
    listener: TcpListener,
    api: Arc<dyn IdentityApi>,
    token: ServiceToken,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(IdentityGrpc::new(api, token).into_service())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(Error::internal)
}

fn id(field: &str, value: &str) -> std::result::Result<uuid::Uuid, Status> {
    parse_id(field, value).map_err(Status::from)
}

#[tonic::async_trait]
impl Identity for IdentityGrpc {
    async fn sign_up(&self, request: Request<pb::SignUpRequest>) -> Reply<pb::Tokens> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let signup = SignUp {
            email: m.email,
            password: m.password,
        };
        Ok(Response::new(tokens_to_pb(
            self.api.sign_up(&ctx, signup).await?,
        )))
    }

    async fn log_in(&self, request: Request<pb::LogInRequest>) -> Reply<pb::Tokens> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let login = LogIn {
            email: m.email,
            password: m.password,
            totp_code: m.totp_code,
        };
        Ok(Response::new(tokens_to_pb(
            self.api.log_in(&ctx, login).await?,
        )))
    }

    async fn refresh(&self, request: Request<pb::RefreshTokenRequest>) -> Reply<pb::Tokens> {
        let ctx = incoming_context(&self.token, &request)?;
        let token = request.into_inner().refresh_token;
        Ok(Response::new(tokens_to_pb(
            self.api.refresh(&ctx, &token).await?,
        )))
    }

    async fn log_out(&self, request: Request<pb::RefreshTokenRequest>) -> Reply<pb::Empty> {
        let ctx = incoming_context(&self.token, &request)?;
        let token = request.into_inner().refresh_token;
        self.api.log_out(&ctx, &token).await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn revoke_session(&self, request: Request<pb::IdRequest>) -> Reply<pb::Empty> {
        let ctx = incoming_context(&self.token, &request)?;
        let session = id("session_id", &request.into_inner().id)?;
        self.api.revoke_session(&ctx, session).await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn revoke_all_sessions(&self, request: Request<pb::IdRequest>) -> Reply<pb::CountReply> {
        let ctx = incoming_context(&self.token, &request)?;
        let user = id("user_id", &request.into_inner().id)?;
        let count = self.api.revoke_all_sessions(&ctx, user).await?;
        Ok(Response::new(pb::CountReply { count }))
    }

    async fn verify_access_token(
        &self,
        request: Request<pb::TokenRequest>,
    ) -> Reply<pb::AccessClaims> {
        let ctx = incoming_context(&self.token, &request)?;
        let token = request.into_inner().token;
        let claims = self.api.verify_access_token(&ctx, &token).await?;
        Ok(Response::new(claims_to_pb(claims)))
    }

    async fn get_jwks(&self, request: Request<pb::Empty>) -> Reply<pb::Jwks> {
        let ctx = incoming_context(&self.token, &request)?;
        Ok(Response::new(jwks_to_pb(self.api.jwks(&ctx).await?)))
    }

    async fn rotate_signing_key(&self, request: Request<pb::Empty>) -> Reply<pb::Jwk> {
        let ctx = incoming_context(&self.token, &request)?;
        Ok(Response::new(jwk_to_pb(
            self.api.rotate_signing_key(&ctx).await?,
        )))
    }

    async fn enroll_mfa(&self, request: Request<pb::Empty>) -> Reply<pb::MfaEnrollment> {
        let ctx = incoming_context(&self.token, &request)?;
        Ok(Response::new(mfa_to_pb(self.api.enroll_mfa(&ctx).await?)))
    }

    async fn confirm_mfa(&self, request: Request<pb::CodeRequest>) -> Reply<pb::Empty> {
        let ctx = incoming_context(&self.token, &request)?;
        let code = request.into_inner().code;
        self.api.confirm_mfa(&ctx, &code).await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Reply<pb::CreatedApiKey> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let new = NewApiKey {
            name: m.name,
            tenant_id: id("tenant_id", &m.tenant_id)?,
            role: m.role,
        };
        let created = self.api.create_api_key(&ctx, new).await?;
        Ok(Response::new(pb::CreatedApiKey {
            key: Some(api_key_to_pb(created.key)),
            secret: created.secret,
        }))
    }

    async fn list_api_keys(&self, request: Request<pb::IdRequest>) -> Reply<pb::ApiKeyList> {
        let ctx = incoming_context(&self.token, &request)?;
        let tenant = id("tenant_id", &request.into_inner().id)?;
        let keys = self.api.list_api_keys(&ctx, tenant).await?;
        Ok(Response::new(pb::ApiKeyList {
            keys: keys.into_iter().map(api_key_to_pb).collect(),
        }))
    }

    async fn revoke_api_key(&self, request: Request<pb::IdRequest>) -> Reply<pb::Empty> {
        let ctx = incoming_context(&self.token, &request)?;
        let key = id("key_id", &request.into_inner().id)?;
        self.api.revoke_api_key(&ctx, key).await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn verify_api_key(&self, request: Request<pb::TokenRequest>) -> Reply<pb::ApiKey> {
        let ctx = incoming_context(&self.token, &request)?;
        let secret = request.into_inner().token;
        Ok(Response::new(api_key_to_pb(
            self.api.verify_api_key(&ctx, &secret).await?,
        )))
    }

    async fn get_user(&self, request: Request<pb::IdRequest>) -> Reply<pb::User> {
        let ctx = incoming_context(&self.token, &request)?;
        let user = id("user_id", &request.into_inner().id)?;
        Ok(Response::new(user_to_pb(
            self.api.get_user(&ctx, user).await?,
        )))
    }

    async fn list_events(
        &self,
        request: Request<common::ListEventsRequest>,
    ) -> Reply<common::EventPage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let scope = scope_from_pb(m.scope)?;
        let page = self
            .api
            .list_events(&ctx, scope, m.after_seq, m.limit)
            .await?;
        Ok(Response::new(page_to_pb(page)))
    }
}
