//! The app hub over gRPC (`proto/app.proto`): [`serve`] exposes any [`AppApi`],
//! [`AppClient`] implements [`AppApi`] against such a server.
//!
//! Errors and the caller's context cross the wire as described in `nave_hub_core::grpc`.
//!
//! [`AppApi`]: crate::AppApi

mod client;
mod convert;
mod server;

/// Types and stubs generated from `proto/app.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("nave.app.v1");
}

pub use client::AppClient;
pub use server::{AppGrpc, serve};
