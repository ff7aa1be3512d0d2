//! The user hub over gRPC (`proto/user.proto`): [`serve`] exposes any [`UserApi`],
//! [`UserClient`] implements [`UserApi`] against such a server.
//!
//! Errors and the caller's context cross the wire as described in `nave_hub_core::grpc`.
//!
//! [`UserApi`]: crate::UserApi

mod client;
mod convert;
mod server;

/// Types and stubs generated from `proto/user.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("nave.user.v1");
}

pub use client::UserClient;
pub use server::{UserGrpc, serve};
