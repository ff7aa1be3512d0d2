//! The message hub: conversations, messages in and out, routing rules, the inbound pipeline and
//! the outbox — the platform's single decision point for every message (DESIGN.md section 5).
//!
//! - [`types`]: conversations, messages, rules, and the channel-side types (mirrors of the WIT
//!   records).
//! - [`store`]: the hub's own tables, SQLite or PostgreSQL.
//! - [`engine`]: the workers: order per conversation, routing, quota and wallet hold, processors,
//!   bot, outbox delivery with retries, back-off and dead letters.
//! - [`api`]: [`MessageApi`] and its in-process implementation [`LocalMessages`].
//! - [`spokes`]: what the hub needs from the spoke runtime, implemented by the host.
//! - [`grpc`]: [`MessageApi`] over gRPC: [`grpc::serve`] and [`grpc::MessageClient`].

pub mod api;
pub mod engine;
pub mod grpc;
pub mod rules;
pub mod spokes;
pub mod store;
pub mod types;

pub use api::{LocalMessages, MessageApi};
pub use engine::{Engine, EngineConfig, EngineStats, Peers};
pub use spokes::{FixedTariff, InstalledSpoke, SpokeFailure, SpokeRole, Spokes, Tariff};
pub use store::MessageStore;
pub use types::*;

/// The message hub's default gRPC port.
pub const DEFAULT_GRPC_PORT: u16 = 50058;
