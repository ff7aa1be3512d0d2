//! The tenant hub over gRPC (`proto/tenant.proto`): [`serve`] exposes any [`TenantApi`],
//! [`TenantClient`] implements [`TenantApi`] against such a server.
//!
//! Errors and the caller's context cross the wire as described in `nave_hub_core::grpc`.
//!
//! [`TenantApi`]: crate::TenantApi

mod client;
mod convert;
mod server;

/// Types and stubs generated from `proto/tenant.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("nave.tenant.v1");
}

pub use client::TenantClient;
pub use server::{TenantGrpc, serve};
