//! The wallet hub over gRPC (`proto/wallet.proto`): [`serve`] exposes any [`WalletApi`],
//! [`WalletClient`] implements [`WalletApi`] against such a server.
//!
//! Errors and the caller's context cross the wire as described in `nave_hub_core::grpc`.
//!
//! [`WalletApi`]: crate::WalletApi

mod client;
mod convert;
mod server;

/// Types and stubs generated from `proto/wallet.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("nave.wallet.v1");
}

pub use client::WalletClient;
pub use server::{WalletGrpc, serve};
