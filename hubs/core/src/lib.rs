//! What every nave hub shares.
//!
//! A hub (identity, tenant, user, ...) is one crate that owns one database and exposes an async
//! `Api` trait with a local and a gRPC implementation (see `DESIGN.md`, section 4). This crate holds
//! the pieces that are the same for all of them:
//!
//! - [`db`]: the database handle over SQLite or PostgreSQL and the migrations run at start-up;
//! - [`events`]: the hub's append-only event log (audit and replay);
//! - [`context`]: the [`AuthContext`] every `Api` method receives (who calls, for which tenant);
//! - [`error`]: the one [`Error`] type, mapped to HTTP in [`http`] and to gRPC in [`grpc`];
//! - [`ids`] and [`clock`]: uuid v7 ids, an injectable clock and time conversions;
//! - [`wire`]: the `nave.common.v1` messages every hub's gRPC API shares (the event log).
//!
//! With the `testing` feature, [`testing`] gives each test a fresh database of either backend.

pub mod clock;
pub mod context;
pub mod db;
pub mod error;
pub mod events;
pub mod grpc;
pub mod http;
pub mod ids;
pub mod saga;
#[cfg(feature = "testing")]
pub mod testing;
pub mod wire;
pub mod writer;

pub use wire::pb;

pub use clock::{Clock, ManualClock, SystemClock};
pub use context::{AuthContext, Principal, Role, TenantScope};
pub use db::{Backend, Db, DbConfig, HubMigrations};
pub use error::{Error, ErrorBody, FieldViolation, Precondition, Result};
pub use events::{Event, EventLog, EventPage, EventScope, NewEvent};
