//! The nave tenant hub: workspaces, memberships, roles, permissions and invitations.
//!
//! - [`TenantApi`] is the hub's whole surface. [`LocalTenant`] implements it over the hub's own
//!   database; [`grpc::TenantClient`] implements it over gRPC against [`grpc::serve`].
//! - [`permissions`] holds the role × permission matrix as code ([`allows`]).
//! - [`rest::router`] gives the `/v1/tenants` routes for the host to nest.
//! - [`TenantMemberships`] (and [`LocalTenant`] itself) implement the identity hub's
//!   [`nave_identity::Memberships`], so the identity routes learn users' roles from this hub.
//!
//! Every state change is appended to the hub's event log in the same transaction.
//!
//! ```no_run
//! # async fn run() -> nave_hub_core::Result<()> {
//! use std::sync::Arc;
//! use nave_hub_core::{AuthContext, DbConfig, SystemClock};
//! use nave_tenant::{LocalTenant, NewTenant, Permission, TenantApi, TenantConfig};
//!
//! let db = DbConfig::sqlite_in(std::path::Path::new(".nave"), "tenant");
//! let hub = LocalTenant::open(&db, TenantConfig::default(), Arc::new(SystemClock)).await?;
//! let api: Arc<dyn TenantApi> = Arc::new(hub);
//! let ann = AuthContext::user(nave_hub_core::ids::new_id());
//! let acme = api
//!     .create_tenant(&ann, NewTenant { slug: "acme".into(), name: "Acme".into() })
//!     .await?;
//! let user = ann.require_user()?;
//! api.check(&AuthContext::system(), user, acme.id, Permission::DeleteTenant).await?;
//! # Ok(()) }
//! ```

mod api;
pub mod grpc;
mod local;
mod memberships;
pub mod permissions;
pub mod rest;
mod store;
mod types;

pub use api::TenantApi;
pub use local::{LocalTenant, TenantConfig};
pub use memberships::TenantMemberships;
pub use permissions::{Permission, allows};
pub use types::{
    CreatedInvitation, Invitation, InvitationStatus, Member, NewInvitation, NewTenant, Tenant,
};

/// The tenant hub's default gRPC port.
pub const DEFAULT_GRPC_PORT: u16 = 50053;
