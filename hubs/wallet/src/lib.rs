//! The nave wallet hub: a wallet per tenant over a double-entry ledger.
//!
//! - [`WalletApi`] is the hub's whole surface. [`LocalWallet`] implements it over the hub's own
//!   database; [`grpc::WalletClient`] implements it over gRPC against [`grpc::serve`].
//! - Every movement is a [`Transaction`] whose [`Posting`]s sum to zero, stored append-only;
//!   balances are a projection updated in the same database transaction ([`accounts`] names
//!   the accounts).
//! - Credits, debits, holds, captures and releases are idempotent by a caller-chosen key.
//! - A tenant's balances never go negative, also under concurrent debits: the check and the
//!   decrement are one guarded SQL `UPDATE`.
//!
//! Every change is appended to the hub's event log in the same transaction.
//!
//! ```no_run
//! # async fn run() -> nave_hub_core::Result<()> {
//! use std::sync::Arc;
//! use nave_hub_core::{AuthContext, DbConfig, SystemClock};
//! use nave_wallet::{Credit, CreditSource, Debit, LocalWallet, WalletApi, WalletConfig};
//!
//! let db = DbConfig::sqlite_in(std::path::Path::new(".nave"), "wallet");
//! let hub = LocalWallet::open(&db, WalletConfig::default(), Arc::new(SystemClock)).await?;
//! let api: Arc<dyn WalletApi> = Arc::new(hub);
//! let system = AuthContext::system();
//! let tenant = nave_hub_core::ids::new_id();
//! api.credit(&system, tenant, Credit {
//!     amount: 500,
//!     source: CreditSource::TopUp,
//!     memo: "first top-up".into(),
//!     idempotency_key: "topup-1".into(),
//! }).await?;
//! api.debit(&system, tenant, Debit {
//!     amount: 2,
//!     reason: "message".into(),
//!     memo: String::new(),
//!     idempotency_key: "msg-42".into(),
//! }).await?;
//! assert_eq!(api.balance(&system, tenant).await?.available, 498);
//! # Ok(()) }
//! ```

pub mod accounts;
mod api;
pub mod grpc;
mod local;
mod store;
mod types;

pub use api::WalletApi;
pub use local::{LocalWallet, WalletConfig};
pub use types::{
    Balance, Credit, CreditSource, Debit, Hold, HoldStatus, InvariantReport, NewHold, Posting,
    StatementEntry, StatementPage, Transaction, TransactionKind,
};

/// The wallet hub's default gRPC port.
pub const DEFAULT_GRPC_PORT: u16 = 50056;
