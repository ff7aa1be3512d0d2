//! The config hub over gRPC (`proto/config.proto`): [`serve`] exposes any [`ConfigApi`],
//! [`ConfigClient`] implements [`ConfigApi`] against such a server.
//!
//! Errors and the caller's context cross the wire as described in `nave_hub_core::grpc`; values
//! travel as JSON text; `Watch` is a server stream.
//!
//! [`ConfigApi`]: crate::ConfigApi

mod client;
mod convert;
mod server;

/// Types and stubs generated from `proto/config.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("nave.config.v1");
}

pub use client::ConfigClient;
pub use server::{ConfigGrpc, serve};
