//! The message hub over gRPC (`proto/message.proto`): [`serve`] exposes any [`MessageApi`],
//! [`MessageClient`] implements [`MessageApi`] against such a server.
//!
//! Errors and the caller's context cross the wire as described in `nave_hub_core::grpc`. The
//! channel-side records, agent messages and routing rules travel as JSON text (see the proto).
//!
//! [`MessageApi`]: crate::MessageApi

mod client;
mod convert;
mod server;

/// Types and stubs generated from `proto/message.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("nave.message.v1");
}

pub use client::MessageClient;
pub use server::{MessageGrpc, serve};
