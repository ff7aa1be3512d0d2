//! Conversions between the domain types and the protobuf messages.

use nave_hub_core::clock::{from_millis, to_millis};
use nave_hub_core::ids::parse_id;
use nave_hub_core::{Error, Result};

use super::pb;
use crate::types::{AccessClaims, ApiKey, CreatedApiKey, Jwk, Jwks, MfaEnrollment, Tokens, User};

pub fn user_to_pb(u: User) -> pb::User {
    pb::User {
        id: u.id.to_string(),
        email: u.email,
        platform_admin: u.platform_admin,
        mfa_enabled: u.mfa_enabled,
        created_at_ms: to_millis(u.created_at),
    }
}

pub fn user_from_pb(u: pb::User) -> Result<User> {
    Ok(User {
        id: parse_id("id", &u.id)?,
        email: u.email,
        platform_admin: u.platform_admin,
        mfa_enabled: u.mfa_enabled,
        created_at: from_millis(u.created_at_ms)?,
    })
}

pub fn tokens_to_pb(t: Tokens) -> pb::Tokens {
    pb::Tokens {
        user: Some(user_to_pb(t.user)),
        session_id: t.session_id.to_string(),
        access_token: t.access_token,
        access_expires_at_ms: to_millis(t.access_expires_at),
        refresh_token: t.refresh_token,
        refresh_expires_at_ms: to_millis(t.refresh_expires_at),
    }
}

pub fn tokens_from_pb(t: pb::Tokens) -> Result<Tokens> {
    let user = t
        .user
        .ok_or_else(|| Error::internal_msg("identity hub sent tokens without a user"))?;
    Ok(Tokens {
        user: user_from_pb(user)?,
        session_id: parse_id("session_id", &t.session_id)?,
        access_token: t.access_token,
        access_expires_at: from_millis(t.access_expires_at_ms)?,
        refresh_token: t.refresh_token,
        refresh_expires_at: from_millis(t.refresh_expires_at_ms)?,
    })
}

pub fn claims_to_pb(c: AccessClaims) -> pb::AccessClaims {
    pb::AccessClaims {
        user_id: c.user_id.to_string(),
        session_id: c.session_id.to_string(),
        token_id: c.token_id.to_string(),
        platform_admin: c.platform_admin,
        issued_at_ms: to_millis(c.issued_at),
        expires_at_ms: to_millis(c.expires_at),
        kid: c.kid,
    }
}

pub fn claims_from_pb(c: pb::AccessClaims) -> Result<AccessClaims> {
    Ok(AccessClaims {
        user_id: parse_id("user_id", &c.user_id)?,
        session_id: parse_id("session_id", &c.session_id)?,
        token_id: parse_id("token_id", &c.token_id)?,
        platform_admin: c.platform_admin,
        issued_at: from_millis(c.issued_at_ms)?,
        expires_at: from_millis(c.expires_at_ms)?,
        kid: c.kid,
    })
}

pub fn jwk_to_pb(k: Jwk) -> pb::Jwk {
    pb::Jwk {
        kty: k.kty,
        crv: k.crv,
        x: k.x,
        kid: k.kid,
        alg: k.alg,
        r#use: k.use_,
    }
}

pub fn jwk_from_pb(k: pb::Jwk) -> Jwk {
    Jwk {
        kty: k.kty,
        crv: k.crv,
        x: k.x,
        kid: k.kid,
        alg: k.alg,
        use_: k.r#use,
    }
}

pub fn jwks_to_pb(j: Jwks) -> pb::Jwks {
    pb::Jwks {
        keys: j.keys.into_iter().map(jwk_to_pb).collect(),
    }
}

pub fn jwks_from_pb(j: pb::Jwks) -> Jwks {
    Jwks {
        keys: j.keys.into_iter().map(jwk_from_pb).collect(),
    }
}

pub fn mfa_to_pb(m: MfaEnrollment) -> pb::MfaEnrollment {
    pb::MfaEnrollment {
        secret: m.secret,
        otpauth_url: m.otpauth_url,
    }
}

pub fn mfa_from_pb(m: pb::MfaEnrollment) -> MfaEnrollment {
    MfaEnrollment {
        secret: m.secret,
        otpauth_url: m.otpauth_url,
    }
}

pub fn api_key_to_pb(k: ApiKey) -> pb::ApiKey {
    pb::ApiKey {
        id: k.id.to_string(),
        name: k.name,
        prefix: k.prefix,
        tenant_id: k.tenant_id.to_string(),
        role: k.role,
        created_by: k.created_by,
        created_at_ms: to_millis(k.created_at),
        revoked_at_ms: k.revoked_at.map(to_millis),
    }
}

pub fn api_key_from_pb(k: pb::ApiKey) -> Result<ApiKey> {
    Ok(ApiKey {
        id: parse_id("id", &k.id)?,
        name: k.name,
        prefix: k.prefix,
        tenant_id: parse_id("tenant_id", &k.tenant_id)?,
        role: k.role,
        created_by: k.created_by,
        created_at: from_millis(k.created_at_ms)?,
        revoked_at: k.revoked_at_ms.map(from_millis).transpose()?,
    })
}

pub fn created_key_from_pb(k: pb::CreatedApiKey) -> Result<CreatedApiKey> {
    let key = k
        .key
        .ok_or_else(|| Error::internal_msg("identity hub sent a created key without its record"))?;
    Ok(CreatedApiKey {
        key: api_key_from_pb(key)?,
        secret: k.secret,
    })
}
