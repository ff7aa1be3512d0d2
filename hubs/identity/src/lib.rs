//! The nave identity hub: accounts, sessions, tokens, API keys and multi-factor login.
//!
//! - [`IdentityApi`] is the hub's whole surface. [`LocalIdentity`] implements it over the hub's
//!   own database; [`grpc::IdentityClient`] implements it over gRPC against [`grpc::serve`].
//! - [`rest::router`] gives the `/v1/auth/*`, `/v1/api-keys` and `/.well-known/jwks.json` routes
//!   for the host to nest.
//!
//! Passwords are hashed with argon2id; access tokens are short-lived EdDSA JWTs with a `kid`;
//! refresh tokens are opaque, stored as SHA-256, rotated on every use, and a reused one revokes
//! its whole session. Every state change is appended to the hub's event log.
//!
//! ```no_run
//! # async fn run() -> nave_hub_core::Result<()> {
//! use std::sync::Arc;
//! use nave_hub_core::{AuthContext, DbConfig, SystemClock};
//! use nave_identity::{IdentityApi, IdentityConfig, LocalIdentity, SignUp};
//!
//! let db = DbConfig::sqlite_in(std::path::Path::new(".nave"), "identity");
//! let hub = LocalIdentity::open(&db, IdentityConfig::default(), Arc::new(SystemClock)).await?;
//! if let Some(admin) = hub.bootstrap_admin("admin@example.com", None).await? {
//!     println!("platform admin {} password {:?}", admin.email, admin.generated_password);
//! }
//! let api: Arc<dyn IdentityApi> = Arc::new(hub.clone());
//! let signup = SignUp { email: "ann@example.com".into(), password: "a long enough password".into() };
//! let tokens = api.sign_up(&AuthContext::anonymous(), signup).await?;
//! let claims = api.verify_access_token(&AuthContext::anonymous(), &tokens.access_token).await?;
//! assert_eq!(claims.user_id, tokens.user.id);
//! # Ok(()) }
//! ```

mod api;
mod config;
pub mod grpc;
mod local;
mod password;
pub mod rest;
mod seal;
mod secrets;
mod store;
mod tokens;
pub mod totp;
mod types;

pub use api::IdentityApi;
pub use config::{IdentityConfig, PasswordCost, ThrottlePolicy};
pub use local::LocalIdentity;
pub use password::MIN_PASSWORD_CHARS;
pub use rest::{Memberships, NoMemberships};
pub use seal::SealKey;
pub use secrets::API_KEY_PREFIX;
pub use tokens::{Claims, LEEWAY};
pub use types::{
    AccessClaims, ApiKey, BootstrappedAdmin, CreatedApiKey, Jwk, Jwks, LogIn, MfaEnrollment,
    NewApiKey, SignUp, Tokens, User,
};

/// The identity hub's default gRPC port.
pub const DEFAULT_GRPC_PORT: u16 = 50051;
