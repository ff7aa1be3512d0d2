//! [`IdentityApi`]: everything the identity hub does, as one async trait.
//!
//! [`crate::LocalIdentity`] implements it over the hub's own database and
//! [`crate::grpc::IdentityClient`] over gRPC, so callers hold an `Arc<dyn IdentityApi>` and do not
//! care where the hub runs. Every method takes the caller's [`AuthContext`].

use async_trait::async_trait;
use nave_hub_core::{AuthContext, EventPage, EventScope, Result};
use uuid::Uuid;

use crate::types::{
    AccessClaims, ApiKey, CreatedApiKey, Jwk, Jwks, LogIn, MfaEnrollment, NewApiKey, SignUp,
    Tokens, User,
};

/// The identity hub: credentials, sessions, tokens, API keys and MFA.
#[async_trait]
pub trait IdentityApi: Send + Sync {
    /// Creates an account (password ≥ 12 characters) and signs it in.
    async fn sign_up(&self, ctx: &AuthContext, request: SignUp) -> Result<Tokens>;

    /// Signs in; throttled after repeated failures per account and per `ctx.source_ip`.
    /// Fails with `unauthenticated` reason `mfa_required` when the account needs a TOTP code.
    async fn log_in(&self, ctx: &AuthContext, request: LogIn) -> Result<Tokens>;

    /// Exchanges a refresh token for new tokens. Presenting an already-used refresh token revokes
    /// its whole session, since one of the two holders must be a thief.
    async fn refresh(&self, ctx: &AuthContext, refresh_token: &str) -> Result<Tokens>;

    /// Ends the session the refresh token belongs to.
    async fn log_out(&self, ctx: &AuthContext, refresh_token: &str) -> Result<()>;

    /// Ends one session; allowed to its user and to platform admins.
    async fn revoke_session(&self, ctx: &AuthContext, session_id: Uuid) -> Result<()>;

    /// Ends every session of a user; allowed to that user and platform admins. Returns how many.
    async fn revoke_all_sessions(&self, ctx: &AuthContext, user_id: Uuid) -> Result<u64>;

    /// Checks an access token (signature, algorithm, issuer, audience, expiry, session not revoked).
    async fn verify_access_token(&self, ctx: &AuthContext, token: &str) -> Result<AccessClaims>;

    /// The public keys that verify current access tokens.
    async fn jwks(&self, ctx: &AuthContext) -> Result<Jwks>;

    /// Signs new tokens with a fresh key (platform admins); tokens signed before stay valid.
    async fn rotate_signing_key(&self, ctx: &AuthContext) -> Result<Jwk>;

    /// Starts TOTP enrolment for the calling user.
    async fn enroll_mfa(&self, ctx: &AuthContext) -> Result<MfaEnrollment>;

    /// Completes TOTP enrolment with a current code; from then on login needs a code.
    async fn confirm_mfa(&self, ctx: &AuthContext, code: &str) -> Result<()>;

    /// Creates an API key for a tenant (tenant admins, up to their own role; platform admins).
    async fn create_api_key(&self, ctx: &AuthContext, request: NewApiKey) -> Result<CreatedApiKey>;

    /// Lists a tenant's API keys, revoked ones included.
    async fn list_api_keys(&self, ctx: &AuthContext, tenant_id: Uuid) -> Result<Vec<ApiKey>>;

    /// Revokes an API key; it stops verifying at once.
    async fn revoke_api_key(&self, ctx: &AuthContext, key_id: Uuid) -> Result<()>;

    /// Checks an API key secret and returns the key (tenant and role it grants).
    async fn verify_api_key(&self, ctx: &AuthContext, secret: &str) -> Result<ApiKey>;

    /// One account; allowed to that user and platform admins.
    async fn get_user(&self, ctx: &AuthContext, user_id: Uuid) -> Result<User>;

    /// Reads the hub's event log (platform admins; tenant admins for their tenant's events).
    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage>;
}
