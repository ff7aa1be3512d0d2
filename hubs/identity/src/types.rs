//! The identity hub's domain types: what [`crate::IdentityApi`] takes and returns.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A platform account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    /// Account id.
    pub id: Uuid,
    /// Normalized (trimmed, lower-case) email address, unique.
    pub email: String,
    /// Whether the account administers the whole platform.
    pub platform_admin: bool,
    /// Whether login needs a TOTP code.
    pub mfa_enabled: bool,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Sign-up input.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignUp {
    /// Email address; becomes the login name.
    pub email: String,
    /// Password, at least 12 characters.
    pub password: String,
}

/// Login input.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogIn {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
    /// The current code of the authenticator app, when the account has MFA.
    #[serde(default)]
    pub totp_code: Option<String>,
}

/// What a successful sign-up, login or refresh returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tokens {
    /// The signed-in account.
    pub user: User,
    /// The session (refresh token family) these tokens belong to.
    pub session_id: Uuid,
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// When the access token expires.
    #[serde(with = "time::serde::rfc3339")]
    pub access_expires_at: OffsetDateTime,
    /// Opaque, single-use token to get new tokens; keep it secret.
    pub refresh_token: String,
    /// When the refresh token expires.
    #[serde(with = "time::serde::rfc3339")]
    pub refresh_expires_at: OffsetDateTime,
}

/// The checked content of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessClaims {
    /// `sub`: the user.
    pub user_id: Uuid,
    /// `sid`: the session it was issued in.
    pub session_id: Uuid,
    /// `jti`: this token's id.
    pub token_id: Uuid,
    /// `adm`: platform administrator.
    pub platform_admin: bool,
    /// `iat`.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// `exp`.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The header's `kid`: which signing key signed it.
    pub kid: String,
}

/// One public key in JWKS form (RFC 7517, OKP keys of RFC 8037).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    /// Key type: `OKP`.
    pub kty: String,
    /// Curve: `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    /// Key id, matched against the token header's `kid`.
    pub kid: String,
    /// Algorithm: `EdDSA`.
    pub alg: String,
    /// Use: `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// The `/.well-known/jwks.json` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwks {
    /// Every key a currently valid token may be signed with, newest first.
    pub keys: Vec<Jwk>,
}

/// A TOTP enrolment in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MfaEnrollment {
    /// Base32 secret, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://` URL, for a QR code.
    pub otpauth_url: String,
}

/// Input to create an API key.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewApiKey {
    /// A name to recognize the key by (e.g. "Odoo sync").
    pub name: String,
    /// The tenant the key acts in.
    pub tenant_id: Uuid,
    /// The role it acts with: `owner`, `admin`, `agent` or `viewer`.
    pub role: String,
}

/// An API key as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKey {
    /// Key id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The first characters of the secret, to tell keys apart.
    pub prefix: String,
    /// The tenant it acts in.
    pub tenant_id: Uuid,
    /// The role it acts with.
    pub role: String,
    /// Who created it (event-log actor form).
    pub created_by: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was revoked, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A newly created API key with its secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    /// The key's record.
    pub key: ApiKey,
    /// The secret to put in `Authorization: Bearer`; it cannot be shown again.
    pub secret: String,
}

/// The platform admin account created on first start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrappedAdmin {
    /// Its email.
    pub email: String,
    /// The generated password, when none was configured; print it once.
    pub generated_password: Option<String>,
}
