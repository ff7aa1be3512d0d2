//! Sign-up, login, refresh rotation with reuse detection, logout and token verification.

use nave_hub_core::clock::{add_ms, from_millis};
use nave_hub_core::ids::{new_id, stored_id};
use nave_hub_core::{AuthContext, Error, NewEvent, Result};
use serde_json::json;
use uuid::Uuid;

use super::{LocalIdentity, normalize_email, user_of};
use crate::password::check_new_password;
use crate::secrets::{REFRESH_PREFIX, digest, generate};
use crate::store::{NewRefresh, Rotation, UserRow};
use crate::tokens::Subject;
use crate::totp;
use crate::types::{AccessClaims, LogIn, SignUp, Tokens};

const WRONG_CREDENTIALS: &str = "email or password is wrong";

impl LocalIdentity {
    pub(super) async fn do_sign_up(&self, ctx: &AuthContext, request: SignUp) -> Result<Tokens> {
        let inner = &self.inner;
        if !inner.config.allow_signup && !ctx.platform_admin {
            return Err(Error::permission_denied(
                "sign-up is closed on this platform; ask a platform administrator for an account",
            ));
        }
        let mut problems = Vec::new();
        let email = match normalize_email(&request.email) {
            Ok(email) => email,
            Err(violation) => {
                problems.push(violation);
                String::new()
            }
        };
        problems.extend(check_new_password(&request.password, &email));
        if !problems.is_empty() {
            return Err(Error::invalid_fields(problems));
        }
        let user = UserRow {
            id: new_id().to_string(),
            email: email.clone(),
            password_hash: inner.passwords.hash_blocking(request.password).await?,
            platform_admin: false,
            totp_secret: None,
            totp_pending_secret: None,
            totp_enabled_at_ms: None,
            totp_last_step: None,
            created_at_ms: inner.clock.now_ms(),
        };
        let event = NewEvent::new(
            "identity.user.signed_up",
            json!({ "user_id": user.id, "email": email }),
        );
        inner
            .store
            .insert_user(&user, &self.record(ctx, event))
            .await?;
        self.open_session(ctx, &user, "sign_up").await
    }

    pub(super) async fn do_log_in(&self, ctx: &AuthContext, request: LogIn) -> Result<Tokens> {
        let inner = &self.inner;
        let email = normalize_email(&request.email).map_err(|v| Error::invalid_fields(vec![v]))?;
        let attempt = self.attempt(ctx, &email);
        self.check_not_locked(&attempt).await?;

        let user = inner.store.user_by_email(&email).await?;
        let hash = user
            .as_ref()
            .map_or_else(|| inner.dummy_hash.clone(), |u| u.password_hash.clone());
        let password_ok = inner
            .passwords
            .verify_blocking(request.password, hash)
            .await?;
        let user = match user {
            Some(user) if password_ok => user,
            _ => return Err(self.failed_login(ctx, &attempt, &email, "password").await?),
        };

        let mut method = "password";
        if let Some(secret) = &user.totp_secret {
            let Some(code) = request
                .totp_code
                .as_deref()
                .filter(|c| !c.trim().is_empty())
            else {
                return Err(Error::unauthenticated_because(
                    "mfa_required",
                    "this account uses two-factor authentication: send the 6-digit code from your authenticator app as `totp_code`",
                ));
            };
            let now_secs = u64::try_from(inner.clock.now().unix_timestamp()).unwrap_or(0);
            let step = totp::check(secret, code, now_secs, user.totp_last_step)?;
            let accepted = match step {
                Some(step) => inner.store.use_totp_step(&user.id, step).await?,
                None => false,
            };
            if !accepted {
                let _ = self.failed_login(ctx, &attempt, &email, "totp").await?;
                return Err(Error::unauthenticated_because(
                    "mfa_invalid",
                    "the one-time code is wrong or was already used; enter the current code",
                ));
            }
            method = "password+totp";
        }
        self.clear_account(&attempt).await?;
        self.open_session(ctx, &user, method).await
    }

    /// Counts and records a failed login; returns the error to show.
    async fn failed_login(
        &self,
        ctx: &AuthContext,
        attempt: &super::throttle::Attempt,
        email: &str,
        factor: &str,
    ) -> Result<Error> {
        let locked = self.count_failure(attempt).await?;
        let event = NewEvent::new(
            "identity.login.failed",
            json!({ "email": email, "factor": factor, "source_ip": ctx.source_ip, "locked": locked }),
        );
        self.inner.events.append(&self.record(ctx, event)).await?;
        Ok(Error::unauthenticated(WRONG_CREDENTIALS))
    }

    /// Starts a session (refresh family) for `user` and issues its first tokens.
    async fn open_session(
        &self,
        ctx: &AuthContext,
        user: &UserRow,
        method: &str,
    ) -> Result<Tokens> {
        let inner = &self.inner;
        let session_id = new_id();
        let now_ms = inner.clock.now_ms();
        let secret = generate(REFRESH_PREFIX);
        let refresh_id = new_id().to_string();
        let hash = digest(&secret);
        let refresh = NewRefresh {
            id: &refresh_id,
            hash: &hash,
            now_ms,
            expires_at_ms: add_ms(now_ms, inner.config.refresh_ttl),
        };
        let event = NewEvent::new(
            "identity.session.started",
            json!({ "session_id": session_id, "user_id": user.id, "method": method, "source_ip": ctx.source_ip }),
        );
        let session = session_id.to_string();
        inner
            .store
            .create_session(&session, &user.id, &refresh, &self.record(ctx, event))
            .await?;
        self.tokens_for(user, session_id, secret, refresh.expires_at_ms)
            .await
    }

    async fn tokens_for(
        &self,
        user: &UserRow,
        session_id: Uuid,
        refresh_token: String,
        refresh_expires_ms: i64,
    ) -> Result<Tokens> {
        let user = user_of(user)?;
        let (access_token, access_expires_ms) = self
            .inner
            .tokens
            .issue(Subject {
                user_id: user.id,
                session_id,
                platform_admin: user.platform_admin,
            })
            .await?;
        Ok(Tokens {
            user,
            session_id,
            access_token,
            access_expires_at: from_millis(access_expires_ms)?,
            refresh_token,
            refresh_expires_at: from_millis(refresh_expires_ms)?,
        })
    }

    pub(super) async fn do_refresh(
        &self,
        ctx: &AuthContext,
        refresh_token: &str,
    ) -> Result<Tokens> {
        let inner = &self.inner;
        let Some(found) = inner
            .store
            .refresh_by_hash(&digest(refresh_token.trim()))
            .await?
        else {
            return Err(Error::unauthenticated(
                "refresh token is not valid; log in again",
            ));
        };
        if found.session_revoked_at_ms.is_some() {
            return Err(Error::unauthenticated_because(
                "session_revoked",
                "this session has ended; log in again",
            ));
        }
        if found.used_at_ms.is_some() {
            return Err(self.reuse_detected(ctx, &found.session_id).await?);
        }
        let now_ms = inner.clock.now_ms();
        if found.expires_at_ms <= now_ms {
            return Err(Error::unauthenticated_because(
                "refresh_token_expired",
                "refresh token has expired; log in again",
            ));
        }
        let user = inner
            .store
            .user_by_id(&found.user_id)
            .await?
            .ok_or_else(|| Error::unauthenticated("the account no longer exists"))?;
        let secret = generate(REFRESH_PREFIX);
        let new_id_str = new_id().to_string();
        let hash = digest(&secret);
        let next = NewRefresh {
            id: &new_id_str,
            hash: &hash,
            now_ms,
            expires_at_ms: add_ms(now_ms, inner.config.refresh_ttl),
        };
        let event = NewEvent::new(
            "identity.session.refreshed",
            json!({ "session_id": found.session_id, "user_id": found.user_id }),
        );
        let rotation = inner
            .store
            .rotate_refresh(
                &found.token_id,
                &found.session_id,
                &next,
                &self.record(ctx, event),
            )
            .await?;
        if rotation == Rotation::AlreadyUsed {
            // A concurrent exchange of the same token won: the same theft signal as a replay.
            return Err(self.reuse_detected(ctx, &found.session_id).await?);
        }
        let session_id = stored_id(&found.session_id)?;
        self.tokens_for(&user, session_id, secret, next.expires_at_ms)
            .await
    }

    /// A used refresh token came back: revoke its whole family.
    async fn reuse_detected(&self, ctx: &AuthContext, session_id: &str) -> Result<Error> {
        let event = NewEvent::new(
            "identity.session.reuse_detected",
            json!({ "session_id": session_id, "source_ip": ctx.source_ip }),
        );
        let now_ms = self.inner.clock.now_ms();
        let record = self.record(ctx, event);
        self.inner
            .store
            .revoke_session(session_id, "refresh_token_reuse", now_ms, &record)
            .await?;
        tracing::warn!(session_id, "refresh token reuse: session revoked");
        Ok(Error::unauthenticated_because(
            "refresh_token_reused",
            "this refresh token was already used, so the session has been ended for safety; log in again",
        ))
    }

    pub(super) async fn do_log_out(&self, ctx: &AuthContext, refresh_token: &str) -> Result<()> {
        let Some(found) = self
            .inner
            .store
            .refresh_by_hash(&digest(refresh_token.trim()))
            .await?
        else {
            return Err(Error::unauthenticated("refresh token is not valid"));
        };
        self.end_session(ctx, &found.session_id, &found.user_id, "logout")
            .await
    }

    async fn end_session(
        &self,
        ctx: &AuthContext,
        session_id: &str,
        user_id: &str,
        reason: &str,
    ) -> Result<()> {
        let event = NewEvent::new(
            "identity.session.revoked",
            json!({ "session_id": session_id, "user_id": user_id, "reason": reason }),
        );
        let now_ms = self.inner.clock.now_ms();
        let record = self.record(ctx, event);
        // Already revoked is fine: logging out twice leaves the same state.
        self.inner
            .store
            .revoke_session(session_id, reason, now_ms, &record)
            .await?;
        Ok(())
    }

    pub(super) async fn do_revoke_session(
        &self,
        ctx: &AuthContext,
        session_id: Uuid,
    ) -> Result<()> {
        let id = session_id.to_string();
        let owner = self.inner.store.session(&id).await?.map(|(user, _)| user);
        let allowed = |user: &String| {
            ctx.platform_admin || ctx.require_user().is_ok_and(|me| me.to_string() == *user)
        };
        match owner {
            Some(user) if allowed(&user) => self.end_session(ctx, &id, &user, "revoked").await,
            // Other people's sessions are reported as missing, not as forbidden.
            _ => Err(Error::not_found(format!("no session {session_id}"))),
        }
    }

    pub(super) async fn do_revoke_all_sessions(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
    ) -> Result<u64> {
        if !ctx.platform_admin && ctx.require_user()? != user_id {
            return Err(Error::permission_denied(
                "only the user or a platform administrator may end these sessions",
            ));
        }
        let event = NewEvent::new(
            "identity.session.revoked_all",
            json!({ "user_id": user_id }),
        );
        let now_ms = self.inner.clock.now_ms();
        let record = self.record(ctx, event);
        self.inner
            .store
            .revoke_user_sessions(&user_id.to_string(), "revoked_all", now_ms, &record)
            .await
    }

    pub(super) async fn do_verify_access_token(
        &self,
        _ctx: &AuthContext,
        token: &str,
    ) -> Result<AccessClaims> {
        let claims = self.inner.tokens.verify(token.trim()).await?;
        match self
            .inner
            .store
            .session(&claims.session_id.to_string())
            .await?
        {
            Some((_, None)) => Ok(claims),
            Some((_, Some(_))) => Err(Error::unauthenticated_because(
                "session_revoked",
                "this session has ended; log in again",
            )),
            None => Err(Error::unauthenticated(
                "access token names an unknown session",
            )),
        }
    }
}
