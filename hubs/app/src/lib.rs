//! The nave app hub: the catalogue of apps (spokes) and tenants' subscriptions to them.
//!
//! - [`AppApi`] is the hub's whole surface. [`LocalApp`] implements it over the hub's own
//!   database; [`grpc::AppClient`] implements it over gRPC against [`grpc::serve`].
//! - **Listings**: each app is a spoke with its name, display name, description, publisher,
//!   role, icon URL, install fee and visibility — public (published by platform admins) or
//!   private to the tenant that uploaded it — and its versions, which the host records on upload.
//! - **Subscriptions**: a tenant's installation of an app as the hub sees it: pinned version,
//!   status, fee held and captured. The host keeps the runtime installation itself (settings,
//!   granted hosts, the calls to the spoke).
//! - **Guards** ([`AppApi::check_guards`]) run before a subscription and report every failure
//!   at once, each with its code; the plan and the balance come from the billing and wallet
//!   hubs' `Api`s.
//! - **The subscription saga** ([`saga`]): guards → hold the fee → record the subscription →
//!   the host's [`saga::Installer`] → capture; a failure undoes what was done.
//!
//! Every change is appended to the hub's event log (`app.*`) in the same transaction; the REST
//! routes are in [`rest`].

mod api;
pub mod grpc;
mod local;
pub mod rest;
pub mod saga;
mod store;
mod types;
mod validate;

pub use api::AppApi;
pub use local::{AppConfig, Dependencies, LocalApp};
pub use types::{
    AppRole, AppVersion, Fee, GuardReport, Listing, ListingChange, NewListing, NewSubscription,
    NewVersion, Subscription, SubscriptionStatus, Visibility,
};

/// The app hub's default gRPC port.
pub const DEFAULT_GRPC_PORT: u16 = 50054;
