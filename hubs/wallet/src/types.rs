//! The wallet hub's domain types, as callers see them.
//!
//! Amounts are always integer minor units (`i64`, e.g. cents) of the platform's one currency;
//! floating point never touches money.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use nave_hub_core::{Error, Result};

/// A tenant's wallet as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Balance {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The platform's currency (ISO 4217, e.g. `EUR`).
    pub currency: String,
    /// What the tenant can spend now, in minor units.
    pub available: i64,
    /// What is reserved by open holds, in minor units.
    pub held: i64,
}

/// Where a credit's money comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreditSource {
    /// Money paid in from outside (from `platform:funding`).
    TopUp,
    /// Money the platform gives away (from `platform:promotions`).
    Promotion,
}

impl CreditSource {
    /// The source's wire name (`top_up`, `promotion`).
    pub fn as_str(self) -> &'static str {
        match self {
            CreditSource::TopUp => "top_up",
            CreditSource::Promotion => "promotion",
        }
    }

    /// Parses a wire name, naming `field` in the error.
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        match value {
            "top_up" => Ok(CreditSource::TopUp),
            "promotion" => Ok(CreditSource::Promotion),
            other => Err(Error::invalid(
                field,
                format!("unknown credit source `{other}`; use `top_up` or `promotion`"),
            )),
        }
    }
}

/// What [`crate::WalletApi::credit`] needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Credit {
    /// Minor units to add; more than zero.
    pub amount: i64,
    /// Where the money comes from.
    pub source: CreditSource,
    /// Free text shown on the statement (at most 500 characters; empty if left out).
    #[serde(default)]
    pub memo: String,
    /// 1–128 characters chosen by the caller; a retry with the same key and request returns
    /// the first result instead of crediting twice.
    pub idempotency_key: String,
}

/// What [`crate::WalletApi::debit`] needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Debit {
    /// Minor units to charge; more than zero.
    pub amount: i64,
    /// What is charged, e.g. `message` or `install_fee` (1–64 characters).
    pub reason: String,
    /// Free text shown on the statement (at most 500 characters; empty if left out).
    #[serde(default)]
    pub memo: String,
    /// 1–128 characters; see [`Credit::idempotency_key`].
    pub idempotency_key: String,
}

/// What [`crate::WalletApi::hold`] needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewHold {
    /// Minor units to reserve; more than zero.
    pub amount: i64,
    /// What the hold is for, e.g. `message` (1–64 characters).
    pub reason: String,
    /// 1–128 characters; see [`Credit::idempotency_key`].
    pub idempotency_key: String,
    /// Seconds until [`crate::WalletApi::expire_holds`] gives the money back; never if `None`.
    pub expires_in_secs: Option<u64>,
}

/// Where a hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldStatus {
    /// The money is reserved.
    Held,
    /// Charged (fully or partly; the rest went back to available).
    Captured,
    /// Given back to available on request.
    Released,
    /// Given back to available because it expired.
    Expired,
}

impl HoldStatus {
    /// The status's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            HoldStatus::Held => "held",
            HoldStatus::Captured => "captured",
            HoldStatus::Released => "released",
            HoldStatus::Expired => "expired",
        }
    }

    /// Parses a wire name; an unknown one read back from our own data is a bug.
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "held" => Ok(HoldStatus::Held),
            "captured" => Ok(HoldStatus::Captured),
            "released" => Ok(HoldStatus::Released),
            "expired" => Ok(HoldStatus::Expired),
            other => Err(Error::internal_msg(format!(
                "unknown hold status `{other}`"
            ))),
        }
    }
}

/// Money reserved from a tenant's available balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hold {
    /// Its id (to capture or release it).
    pub id: Uuid,
    /// The tenant whose money is held.
    pub tenant_id: Uuid,
    /// Minor units reserved.
    pub amount: i64,
    /// What it is for.
    pub reason: String,
    /// Where it stands now.
    pub status: HoldStatus,
    /// Minor units charged, once captured.
    pub captured: Option<i64>,
    /// When it was placed.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it expires, if it does.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// What a transaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    /// Money in: a top-up or a promotion.
    Credit,
    /// A charge from available.
    Debit,
    /// Available moved to held.
    Hold,
    /// Held moved to revenue (and any rest back to available).
    Capture,
    /// Held moved back to available on request.
    Release,
    /// Held moved back to available because the hold expired.
    Expiry,
}

impl TransactionKind {
    /// The kind's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionKind::Credit => "credit",
            TransactionKind::Debit => "debit",
            TransactionKind::Hold => "hold",
            TransactionKind::Capture => "capture",
            TransactionKind::Release => "release",
            TransactionKind::Expiry => "expiry",
        }
    }

    /// Parses a wire name; an unknown one read back from our own data is a bug.
    pub fn parse(value: &str) -> Result<Self> {
        Ok(match value {
            "credit" => TransactionKind::Credit,
            "debit" => TransactionKind::Debit,
            "hold" => TransactionKind::Hold,
            "capture" => TransactionKind::Capture,
            "release" => TransactionKind::Release,
            "expiry" => TransactionKind::Expiry,
            other => {
                return Err(Error::internal_msg(format!(
                    "unknown transaction kind `{other}`"
                )));
            }
        })
    }
}

/// One leg of a transaction: a signed amount on one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Posting {
    /// The account, e.g. `tenant:<id>:available` or `platform:revenue` (see [`crate::accounts`]).
    pub account: String,
    /// Minor units added (positive) or taken (negative).
    pub amount: i64,
}

/// One append-only ledger entry; its postings sum to zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transaction {
    /// Its id.
    pub id: Uuid,
    /// The tenant whose wallet it moved.
    pub tenant_id: Uuid,
    /// What it did.
    pub kind: TransactionKind,
    /// The credit source, debit reason or hold reason.
    pub reason: String,
    /// Free text from the request.
    pub memo: String,
    /// The key it was requested with (`None` for expiries, which no one requests).
    pub idempotency_key: Option<String>,
    /// The hold it placed or settled, for hold kinds.
    pub hold_id: Option<Uuid>,
    /// Its legs, by account name.
    pub postings: Vec<Posting>,
    /// Who requested it (event-log actor string).
    pub actor: String,
    /// The correlation id of the request.
    pub correlation_id: String,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One line of a tenant's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatementEntry {
    /// The transaction.
    pub transaction_id: Uuid,
    /// What it did.
    pub kind: TransactionKind,
    /// The credit source, debit reason or hold reason.
    pub reason: String,
    /// Free text from the request.
    pub memo: String,
    /// Signed change of the available balance.
    pub amount: i64,
    /// Signed change of the held balance.
    pub held_change: i64,
    /// The available balance right after it.
    pub available_after: i64,
    /// The held balance right after it.
    pub held_after: i64,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A page of a statement, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatementPage {
    /// Entries, newest first.
    pub entries: Vec<StatementEntry>,
    /// Pass as `after` for the next (older) page; `None` on the last one.
    pub next: Option<Uuid>,
}

/// The result of recomputing the ledger, see [`crate::WalletApi::check_invariants`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InvariantReport {
    /// Every transaction's postings sum to zero.
    pub transactions_balanced: bool,
    /// Every stored balance equals the sum of its account's postings.
    pub balances_match_postings: bool,
    /// No tenant account is below zero.
    pub no_negative_tenant_balance: bool,
    /// How many accounts were compared.
    pub checked_accounts: u64,
}

impl InvariantReport {
    /// Whether every invariant holds.
    pub fn all_hold(&self) -> bool {
        self.transactions_balanced
            && self.balances_match_postings
            && self.no_negative_tenant_balance
    }
}
