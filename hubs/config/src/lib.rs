//! The nave config hub: typed runtime settings that the operator and tenants change live,
//! without restarts.
//!
//! - Keys are declared, never free-form: [`BUILTIN`] plus [`ConfigConfig::extra`], each a
//!   [`SettingDef`] with a [`Kind`] (integer range, bool, string, secret), a default and the
//!   scopes it may be set at. Values are checked against it before they are stored.
//! - Values are set at a [`Scope`] — global, a tenant, or an installation of a tenant — and
//!   resolved nearest scope first: installation, else tenant, else global, else the default.
//! - Every set, unset and rollback is a new version of one hub-wide counter, kept as a
//!   [`Change`] with its actor and correlation id; any earlier version can be restored.
//! - Secrets are sealed with ChaCha20-Poly1305 and shown as [`MASK`] to everyone but the platform.
//! - Changes are announced: [`LocalConfig::subscribe`] in process, [`ConfigApi::watch`] (and the
//!   gRPC `Watch` stream) with a replay from the store so a reconnecting watcher misses nothing.
//!
//! [`ConfigApi`] is the hub's whole surface. [`LocalConfig`] implements it over the hub's own
//! database; [`grpc::ConfigClient`] implements it over gRPC against [`grpc::serve`]. Every change
//! is appended to the hub's event log in the same transaction.
//!
//! ```no_run
//! # async fn run() -> nave_hub_core::Result<()> {
//! use std::sync::Arc;
//! use nave_config::{ConfigApi, ConfigConfig, LocalConfig, Origin, ResolveAt, Scope};
//! use nave_hub_core::{AuthContext, DbConfig, SystemClock};
//!
//! let db = DbConfig::sqlite_in(std::path::Path::new(".nave"), "config");
//! let hub = LocalConfig::open(&db, ConfigConfig::default(), Arc::new(SystemClock)).await?;
//! let api: Arc<dyn ConfigApi> = Arc::new(hub);
//! let system = AuthContext::system();
//! let tenant = nave_hub_core::ids::new_id();
//! api.set(&system, Scope::Tenant(tenant), "spoke.deadline_ms", 5000.into(), None).await?;
//! let deadline = api
//!     .resolve(&system, "spoke.deadline_ms", ResolveAt::tenant(tenant), false)
//!     .await?;
//! assert_eq!((deadline.value, deadline.from), (5000.into(), Origin::Tenant));
//! # Ok(()) }
//! ```

mod api;
pub mod grpc;
mod local;
mod registry;
mod seal;
mod store;
mod types;

pub use api::ConfigApi;
pub use local::{ConfigConfig, LocalConfig};
pub use registry::{BUILTIN, DefaultValue, Kind, SECRET_MAX_LEN, SettingDef, SettingDefView};
pub use types::{
    Change, ChangeAction, ChangeNotice, MASK, Origin, ResolveAt, Resolved, Scope, ScopeKind,
};

/// The config hub's default gRPC port.
pub const DEFAULT_GRPC_PORT: u16 = 50057;
