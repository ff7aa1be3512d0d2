//! The identity hub over gRPC (`proto/identity.proto`): [`serve`] exposes any [`IdentityApi`],
//! [`IdentityClient`] implements [`IdentityApi`] against such a server.
//!
//! Errors and the caller's context cross the wire as described in `nave_hub_core::grpc`.
//!
//! [`IdentityApi`]: crate::IdentityApi

mod client;
mod convert;
mod server;

/// Types and stubs generated from `proto/identity.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("nave.identity.v1");
}

pub use client::IdentityClient;
pub use server::{IdentityGrpc, serve};
