//! The nave billing hub: plans and entitlements imported from the external billing system, usage
//! counted per monthly period, and quota checks.
//!
//! - [`BillingApi`] is the hub's whole surface. [`LocalBilling`] implements it over the hub's own
//!   database; [`grpc::BillingClient`] implements it over gRPC against [`grpc::serve`].
//! - Plans and tenants' plans are read-only for the platform: [`BillingApi::import_snapshot`]
//!   replaces them all at once from a [`Snapshot`], and nothing else edits them.
//! - [`BillingApi::check_and_count`] counts usage only if it fits the plan, atomically in the
//!   database, so concurrent callers never overshoot a limit.
//!
//! Periods are monthly and start on each tenant's anchor day (1–28) at 00:00 UTC. Messages are
//! counted per period and start again at 0 in each new one. Installations are a gauge: their
//! counter belongs to no period and carries over unchanged.
//!
//! The import is appended to the hub's event log (`billing.snapshot_imported`) in the same
//! transaction. Usage changes are counters, not events, and a refused quota changes nothing.
//!
//! ```no_run
//! # async fn run() -> nave_hub_core::Result<()> {
//! use std::sync::Arc;
//! use nave_hub_core::{AuthContext, DbConfig, SystemClock};
//! use nave_billing::{BillingApi, BillingConfig, LocalBilling, Metric};
//!
//! let db = DbConfig::sqlite_in(std::path::Path::new(".nave"), "billing");
//! let hub = LocalBilling::open(&db, BillingConfig::default(), Arc::new(SystemClock)).await?;
//! let api: Arc<dyn BillingApi> = Arc::new(hub);
//! let tenant = nave_hub_core::ids::new_id();
//! let usage = api
//!     .check_and_count(&AuthContext::system(), tenant, Metric::Messages, 1)
//!     .await?;
//! println!("{} of {:?} messages used", usage.used, usage.limit);
//! # Ok(()) }
//! ```

mod api;
pub mod grpc;
mod local;
mod period;
mod snapshot;
mod store;
mod types;

pub use api::BillingApi;
pub use local::{BillingConfig, LocalBilling};
pub use types::{
    AppsAllowed, Entitlements, ImportReport, Metric, Plan, Snapshot, TenantBilling, TenantPlan,
    Usage,
};

/// The billing hub's default gRPC port.
pub const DEFAULT_GRPC_PORT: u16 = 50055;
