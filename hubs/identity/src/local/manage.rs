//! MFA enrolment, API keys, signing-key rotation and account look-up.

use nave_hub_core::clock::from_millis;
use nave_hub_core::ids::{new_id, stored_id};
use nave_hub_core::{AuthContext, Error, NewEvent, Result, Role};
use serde_json::json;
use uuid::Uuid;

use super::{LocalIdentity, user_of};
use crate::secrets::{API_KEY_PREFIX, digest, generate};
use crate::store::ApiKeyRow;
use crate::totp;
use crate::types::{ApiKey, CreatedApiKey, Jwk, MfaEnrollment, NewApiKey, User};

/// Characters of an API key kept in the clear to tell keys apart (`nave_ak_` and 6 more).
const SHOWN_PREFIX: usize = API_KEY_PREFIX.len() + 6;

fn api_key_of(row: ApiKeyRow) -> Result<ApiKey> {
    Ok(ApiKey {
        id: stored_id(&row.id)?,
        name: row.name,
        prefix: row.prefix,
        tenant_id: stored_id(&row.tenant_id)?,
        role: row.role,
        created_by: row.created_by,
        created_at: from_millis(row.created_at_ms)?,
        revoked_at: row.revoked_at_ms.map(from_millis).transpose()?,
    })
}

impl LocalIdentity {
    pub(super) async fn do_enroll_mfa(&self, ctx: &AuthContext) -> Result<MfaEnrollment> {
        let inner = &self.inner;
        let user_id = ctx.require_user()?;
        let user = inner
            .store
            .user_by_id(&user_id.to_string())
            .await?
            .ok_or_else(|| Error::unauthenticated("the account no longer exists"))?;
        if user.totp_secret.is_some() {
            return Err(Error::conflict(
                "two-factor authentication is already on for this account",
            ));
        }
        let secret = totp::new_secret();
        let otpauth_url = totp::otpauth_url(&secret, &inner.config.totp_issuer, &user.email)?;
        let event = NewEvent::new(
            "identity.mfa.enrollment_started",
            json!({ "user_id": user.id }),
        );
        inner
            .store
            .set_pending_totp(&user.id, &secret, &self.record(ctx, event))
            .await?;
        Ok(MfaEnrollment {
            secret,
            otpauth_url,
        })
    }

    pub(super) async fn do_confirm_mfa(&self, ctx: &AuthContext, code: &str) -> Result<()> {
        let inner = &self.inner;
        let user_id = ctx.require_user()?;
        let user = inner
            .store
            .user_by_id(&user_id.to_string())
            .await?
            .ok_or_else(|| Error::unauthenticated("the account no longer exists"))?;
        let Some(pending) = user.totp_pending_secret else {
            return Err(Error::conflict(
                "no two-factor enrolment is in progress; start one with mfa/enroll first",
            ));
        };
        let now_secs = u64::try_from(inner.clock.now().unix_timestamp()).unwrap_or(0);
        let Some(step) = totp::check(&pending, code, now_secs, None)? else {
            return Err(Error::invalid(
                "code",
                "wrong code; enter the 6-digit code your authenticator app shows now",
            ));
        };
        let event = NewEvent::new("identity.mfa.enabled", json!({ "user_id": user.id }));
        let done = inner
            .store
            .enable_totp(
                &user.id,
                &pending,
                step,
                inner.clock.now_ms(),
                &self.record(ctx, event),
            )
            .await?;
        if !done {
            return Err(Error::conflict(
                "the enrolment changed meanwhile; start it again",
            ));
        }
        Ok(())
    }

    pub(super) async fn do_create_api_key(
        &self,
        ctx: &AuthContext,
        request: NewApiKey,
    ) -> Result<CreatedApiKey> {
        let inner = &self.inner;
        let role: Role = request.role.trim().parse()?;
        let name = request.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::invalid("name", "must be 1 to 100 characters"));
        }
        if !ctx.platform_admin {
            ctx.require_user()?;
            ctx.require_tenant_role(request.tenant_id, Role::Admin)?;
            let mine = ctx.tenant.map(|s| s.role).unwrap_or(Role::Viewer);
            if !mine.includes(role) {
                return Err(Error::permission_denied(format!(
                    "you are {mine} in this tenant and cannot create a key with the {role} role"
                )));
            }
        }
        let secret = generate(API_KEY_PREFIX);
        let row = ApiKeyRow {
            id: new_id().to_string(),
            prefix: secret.chars().take(SHOWN_PREFIX).collect(),
            name,
            tenant_id: request.tenant_id.to_string(),
            role: role.as_str().to_owned(),
            created_by: ctx.actor(),
            created_at_ms: inner.clock.now_ms(),
            revoked_at_ms: None,
        };
        let event = NewEvent::new(
            "identity.api_key.created",
            json!({ "key_id": row.id, "name": row.name, "role": row.role, "prefix": row.prefix }),
        )
        .in_tenant(request.tenant_id);
        inner
            .store
            .insert_api_key(&row, &digest(&secret), &self.record(ctx, event))
            .await?;
        Ok(CreatedApiKey {
            key: api_key_of(row)?,
            secret,
        })
    }

    pub(super) async fn do_list_api_keys(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
    ) -> Result<Vec<ApiKey>> {
        ctx.require_tenant_role(tenant_id, Role::Admin)?;
        self.inner
            .store
            .api_keys_of_tenant(&tenant_id.to_string())
            .await?
            .into_iter()
            .map(api_key_of)
            .collect()
    }

    pub(super) async fn do_revoke_api_key(&self, ctx: &AuthContext, key_id: Uuid) -> Result<()> {
        let inner = &self.inner;
        let not_found = || Error::not_found(format!("no API key {key_id}"));
        let row = inner
            .store
            .api_key(&key_id.to_string())
            .await?
            .ok_or_else(not_found)?;
        let tenant_id = stored_id(&row.tenant_id)?;
        // Keys of tenants the caller is not a member of are reported as missing.
        ctx.require_tenant_role(tenant_id, Role::Admin)
            .map_err(|e| match e {
                Error::NotFound(_) => not_found(),
                other => other,
            })?;
        let event = NewEvent::new(
            "identity.api_key.revoked",
            json!({ "key_id": row.id, "name": row.name }),
        )
        .in_tenant(tenant_id);
        inner
            .store
            .revoke_api_key(&row.id, inner.clock.now_ms(), &self.record(ctx, event))
            .await?;
        Ok(())
    }

    pub(super) async fn do_verify_api_key(
        &self,
        _ctx: &AuthContext,
        secret: &str,
    ) -> Result<ApiKey> {
        let secret = secret.trim();
        if !secret.starts_with(API_KEY_PREFIX) {
            return Err(Error::unauthenticated("not a nave API key"));
        }
        let row = self
            .inner
            .store
            .api_key_by_hash(&digest(secret))
            .await?
            .ok_or_else(|| Error::unauthenticated("API key is not valid"))?;
        if row.revoked_at_ms.is_some() {
            return Err(Error::unauthenticated_because(
                "api_key_revoked",
                "this API key has been revoked; create a new one",
            ));
        }
        api_key_of(row)
    }

    pub(super) async fn do_rotate_signing_key(&self, ctx: &AuthContext) -> Result<Jwk> {
        ctx.require_platform_admin()?;
        let previous = self.inner.tokens.current_kid()?;
        let event = NewEvent::new(
            "identity.signing_key.rotated",
            json!({ "previous_kid": previous }),
        );
        let jwk = self.inner.tokens.rotate(&self.record(ctx, event)).await?;
        tracing::info!(kid = %jwk.kid, %previous, "signing key rotated");
        Ok(jwk)
    }

    pub(super) async fn do_get_user(&self, ctx: &AuthContext, user_id: Uuid) -> Result<User> {
        let is_self = ctx.require_user().is_ok_and(|me| me == user_id);
        if !is_self && !ctx.platform_admin {
            ctx.require_user()?;
            return Err(Error::not_found(format!("no user {user_id}")));
        }
        let row = self
            .inner
            .store
            .user_by_id(&user_id.to_string())
            .await?
            .ok_or_else(|| Error::not_found(format!("no user {user_id}")))?;
        user_of(&row)
    }
}
