//! The billing hub over gRPC (`proto/billing.proto`): [`serve`] exposes any [`BillingApi`],
//! [`BillingClient`] implements [`BillingApi`] against such a server.
//!
//! Errors and the caller's context cross the wire as described in `nave_hub_core::grpc`.
//!
//! [`BillingApi`]: crate::BillingApi

mod client;
mod convert;
mod server;

/// Types and stubs generated from `proto/billing.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("nave.billing.v1");
}

pub use client::BillingClient;
pub use server::{BillingGrpc, serve};
