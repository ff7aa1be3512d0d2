//! The nave user hub: platform users' profiles and preferences, and tenants' end-customer
//! contacts resolved from their channel identities.
//!
//! - [`UserApi`] is the hub's whole surface. [`LocalUser`] implements it over the hub's own
//!   database; [`grpc::UserClient`] implements it over gRPC against [`grpc::serve`].
//! - [`rest::router`] gives the `/v1/me/...` routes for the host to nest; the host serves the
//!   tenant-scoped contact routes itself, over [`UserApi`].
//! - A contact is one end-customer of one tenant, known on each channel installation by a
//!   [`ChannelIdentity`]; every message is counted on its contact ([`UserApi::record_activity`],
//!   or many at once with [`UserApi::record_activities`], which [`ActivityRecorder`] batches),
//!   keeping per-contact counters and first/last-seen times.
//!
//! Every state change is appended to the hub's event log in the same transaction.
//!
//! ```no_run
//! # async fn run() -> nave_hub_core::Result<()> {
//! use std::sync::Arc;
//! use nave_hub_core::{AuthContext, DbConfig, SystemClock};
//! use nave_user::{ChannelIdentity, ContactProfile, LocalUser, UserApi, UserConfig};
//!
//! let db = DbConfig::sqlite_in(std::path::Path::new(".nave"), "user");
//! let hub = LocalUser::open(&db, UserConfig::default(), Arc::new(SystemClock)).await?;
//! let api: Arc<dyn UserApi> = Arc::new(hub);
//! let tenant = nave_hub_core::ids::new_id();
//! let identity = ChannelIdentity {
//!     installation_id: nave_hub_core::ids::new_id(),
//!     channel: "facebook".into(),
//!     channel_user_id: "6543210987".into(),
//! };
//! let profile = ContactProfile { name: Some("Ana Lima".into()), ..Default::default() };
//! let resolved = api
//!     .resolve_contact(&AuthContext::system(), tenant, identity, profile)
//!     .await?;
//! assert!(resolved.created);
//! # Ok(()) }
//! ```

mod api;
pub mod grpc;
mod local;
mod recorder;
pub mod rest;
mod store;
mod types;
pub mod validate;

pub use api::UserApi;
pub use local::{LocalUser, UserConfig};
pub use recorder::ActivityRecorder;
pub use types::{
    ChannelIdentity, Contact, ContactIdentity, ContactPage, ContactProfile, ContactQuery,
    DEFAULT_CONTACT_PAGE, Direction, MAX_CONTACT_PAGE, MessageActivity, Profile, ProfileChange,
    ResolvedContact,
};

/// The user hub's default gRPC port.
pub const DEFAULT_GRPC_PORT: u16 = 50052;
