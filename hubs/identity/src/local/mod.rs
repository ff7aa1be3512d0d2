//! [`LocalIdentity`]: the identity hub running in this process, over its own database.
//!
//! - `sessions`: sign-up, login (with throttling and MFA), refresh rotation, logout, verification;
//! - `manage`: MFA enrolment, API keys, signing-key rotation, accounts and the event log.

mod manage;
mod sessions;
mod throttle;

use std::sync::Arc;

use async_trait::async_trait;
use nave_hub_core::clock::from_millis;
use nave_hub_core::ids::{new_id, stored_id};
use nave_hub_core::{
    AuthContext, Clock, DbConfig, Error, EventLog, EventPage, EventScope, FieldViolation, NewEvent,
    Result,
};
use serde_json::json;
use uuid::Uuid;

use crate::api::IdentityApi;
use crate::config::IdentityConfig;
use crate::password::{PasswordHashing, check_new_password};
use crate::seal::KeySealer;
use crate::store::{IdentityStore, UserRow};
use crate::tokens::TokenService;
use crate::types::{
    AccessClaims, ApiKey, BootstrappedAdmin, CreatedApiKey, Jwk, Jwks, LogIn, MfaEnrollment,
    NewApiKey, SignUp, Tokens, User,
};

/// The identity hub in this process. Cheap to clone; clones share one hub.
#[derive(Clone, Debug)]
pub struct LocalIdentity {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: IdentityStore,
    events: EventLog,
    tokens: TokenService,
    passwords: PasswordHashing,
    clock: Arc<dyn Clock>,
    config: IdentityConfig,
    /// Hash checked when a login names no account, so that case takes as long as a wrong password.
    dummy_hash: String,
}

impl LocalIdentity {
    /// Opens the hub: connects to its database, runs migrations and makes sure a signing key exists.
    ///
    /// With [`IdentityConfig::signing_key_seal`] set, private signing keys stored unsealed are
    /// sealed now; opening fails if the signing key was sealed with another seal key.
    pub async fn open(
        db: &DbConfig,
        config: IdentityConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let store = IdentityStore::open(db).await?;
        let tokens = TokenService::start(
            store.clone(),
            clock.clone(),
            config.issuer.clone(),
            config.audience.clone(),
            config.access_ttl,
            KeySealer::new(config.signing_key_seal.as_ref()),
        )
        .await?;
        let passwords = PasswordHashing::new(config.password_cost)?;
        let dummy_hash = passwords
            .hash_blocking("not a real password, only for timing".into())
            .await?;
        Ok(Self {
            inner: Arc::new(Inner {
                events: EventLog::new(store.db().clone()),
                store,
                tokens,
                passwords,
                clock,
                config,
                dummy_hash,
            }),
        })
    }

    /// Creates the platform admin account if none exists yet (first start).
    ///
    /// With `password: None` a random password is generated and returned once, for the host to
    /// print. Returns `None` when a platform admin already exists.
    pub async fn bootstrap_admin(
        &self,
        email: &str,
        password: Option<String>,
    ) -> Result<Option<BootstrappedAdmin>> {
        let inner = &self.inner;
        if inner.store.has_platform_admin().await? {
            return Ok(None);
        }
        let email = normalize_email(email).map_err(|v| Error::invalid_fields(vec![v]))?;
        let generated = password.is_none();
        let password = password.unwrap_or_else(|| crate::secrets::generate(""));
        let problems = check_new_password(&password, &email);
        if !problems.is_empty() {
            return Err(Error::invalid_fields(problems));
        }
        let ctx = AuthContext::system();
        let user = UserRow {
            id: new_id().to_string(),
            email: email.clone(),
            password_hash: inner.passwords.hash_blocking(password.clone()).await?,
            platform_admin: true,
            totp_secret: None,
            totp_pending_secret: None,
            totp_enabled_at_ms: None,
            totp_last_step: None,
            created_at_ms: inner.clock.now_ms(),
        };
        let event = NewEvent::new(
            "identity.admin.bootstrapped",
            json!({ "user_id": user.id, "email": email, "generated_password": generated }),
        );
        inner
            .store
            .insert_user(&user, &self.record(&ctx, event))
            .await?;
        Ok(Some(BootstrappedAdmin {
            email,
            generated_password: generated.then_some(password),
        }))
    }

    /// The kid of the key that signs new access tokens.
    pub fn current_kid(&self) -> Result<String> {
        self.inner.tokens.current_kid()
    }

    fn record(&self, ctx: &AuthContext, event: NewEvent) -> nave_hub_core::events::EventRecord {
        event.record(ctx, self.inner.clock.now_ms())
    }
}

/// Trims and lower-cases an email address and checks its shape.
fn normalize_email(raw: &str) -> std::result::Result<String, FieldViolation> {
    let email = raw.trim().to_lowercase();
    let bad = |message: &str| FieldViolation {
        field: "email".into(),
        message: message.into(),
    };
    if email.len() > 254 {
        return Err(bad("must be at most 254 characters"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(bad("must be an email address like name@example.com"));
    };
    if local.is_empty()
        || domain.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || email.chars().any(char::is_whitespace)
    {
        return Err(bad("must be an email address like name@example.com"));
    }
    Ok(email)
}

fn user_of(row: &UserRow) -> Result<User> {
    Ok(User {
        id: stored_id(&row.id)?,
        email: row.email.clone(),
        platform_admin: row.platform_admin,
        mfa_enabled: row.totp_enabled_at_ms.is_some(),
        created_at: from_millis(row.created_at_ms)?,
    })
}

#[async_trait]
impl IdentityApi for LocalIdentity {
    async fn sign_up(&self, ctx: &AuthContext, request: SignUp) -> Result<Tokens> {
        self.do_sign_up(ctx, request).await
    }

    async fn log_in(&self, ctx: &AuthContext, request: LogIn) -> Result<Tokens> {
        self.do_log_in(ctx, request).await
    }

    async fn refresh(&self, ctx: &AuthContext, refresh_token: &str) -> Result<Tokens> {
        self.do_refresh(ctx, refresh_token).await
    }

    async fn log_out(&self, ctx: &AuthContext, refresh_token: &str) -> Result<()> {
        self.do_log_out(ctx, refresh_token).await
    }

    async fn revoke_session(&self, ctx: &AuthContext, session_id: Uuid) -> Result<()> {
        self.do_revoke_session(ctx, session_id).await
    }

    async fn revoke_all_sessions(&self, ctx: &AuthContext, user_id: Uuid) -> Result<u64> {
        self.do_revoke_all_sessions(ctx, user_id).await
    }

    async fn verify_access_token(&self, ctx: &AuthContext, token: &str) -> Result<AccessClaims> {
        self.do_verify_access_token(ctx, token).await
    }

    async fn jwks(&self, _ctx: &AuthContext) -> Result<Jwks> {
        self.inner.tokens.jwks().await
    }

    async fn rotate_signing_key(&self, ctx: &AuthContext) -> Result<Jwk> {
        self.do_rotate_signing_key(ctx).await
    }

    async fn enroll_mfa(&self, ctx: &AuthContext) -> Result<MfaEnrollment> {
        self.do_enroll_mfa(ctx).await
    }

    async fn confirm_mfa(&self, ctx: &AuthContext, code: &str) -> Result<()> {
        self.do_confirm_mfa(ctx, code).await
    }

    async fn create_api_key(&self, ctx: &AuthContext, request: NewApiKey) -> Result<CreatedApiKey> {
        self.do_create_api_key(ctx, request).await
    }

    async fn list_api_keys(&self, ctx: &AuthContext, tenant_id: Uuid) -> Result<Vec<ApiKey>> {
        self.do_list_api_keys(ctx, tenant_id).await
    }

    async fn revoke_api_key(&self, ctx: &AuthContext, key_id: Uuid) -> Result<()> {
        self.do_revoke_api_key(ctx, key_id).await
    }

    async fn verify_api_key(&self, ctx: &AuthContext, secret: &str) -> Result<ApiKey> {
        self.do_verify_api_key(ctx, secret).await
    }

    async fn get_user(&self, ctx: &AuthContext, user_id: Uuid) -> Result<User> {
        self.do_get_user(ctx, user_id).await
    }

    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        match scope {
            EventScope::All | EventScope::Platform => ctx.require_platform_admin()?,
            EventScope::Tenant(tenant) => {
                ctx.require_tenant_role(tenant, nave_hub_core::Role::Admin)?
            }
        }
        self.inner.events.read(scope, after_seq, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email("  Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        for bad in [
            "ann",
            "@example.com",
            "ann@",
            "ann@localhost",
            "a b@example.com",
            "a@b@c.d",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
