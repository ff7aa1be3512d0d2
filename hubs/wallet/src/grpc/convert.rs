//! Conversions between the domain types and the generated protobuf messages.
//!
//! `*_from_pb` run in the client on replies from our own server, so a malformed value there is
//! reported as the field that was wrong rather than trusted.

use nave_hub_core::clock::{from_millis, to_millis};
use nave_hub_core::ids::parse_id;
use nave_hub_core::{Error, Result};

use super::pb;
use crate::types::{
    Balance, Hold, HoldStatus, InvariantReport, Posting, StatementEntry, StatementPage,
    Transaction, TransactionKind,
};

fn kind(value: &str) -> Result<TransactionKind> {
    TransactionKind::parse(value)
        .map_err(|_| Error::internal_msg(format!("wallet hub sent unknown kind `{value}`")))
}

pub fn balance_to_pb(b: Balance) -> pb::BalanceInfo {
    pb::BalanceInfo {
        tenant_id: b.tenant_id.to_string(),
        currency: b.currency,
        available: b.available,
        held: b.held,
    }
}

pub fn balance_from_pb(b: pb::BalanceInfo) -> Result<Balance> {
    Ok(Balance {
        tenant_id: parse_id("tenant_id", &b.tenant_id)?,
        currency: b.currency,
        available: b.available,
        held: b.held,
    })
}

pub fn transaction_to_pb(t: Transaction) -> pb::Transaction {
    pb::Transaction {
        id: t.id.to_string(),
        tenant_id: t.tenant_id.to_string(),
        kind: t.kind.as_str().to_owned(),
        reason: t.reason,
        memo: t.memo,
        idempotency_key: t.idempotency_key,
        hold_id: t.hold_id.map(|h| h.to_string()),
        postings: t
            .postings
            .into_iter()
            .map(|p| pb::Posting {
                account: p.account,
                amount: p.amount,
            })
            .collect(),
        actor: t.actor,
        correlation_id: t.correlation_id,
        created_at_ms: to_millis(t.created_at),
    }
}

pub fn transaction_from_pb(t: pb::Transaction) -> Result<Transaction> {
    Ok(Transaction {
        id: parse_id("id", &t.id)?,
        tenant_id: parse_id("tenant_id", &t.tenant_id)?,
        kind: kind(&t.kind)?,
        reason: t.reason,
        memo: t.memo,
        idempotency_key: t.idempotency_key,
        hold_id: t
            .hold_id
            .as_deref()
            .map(|h| parse_id("hold_id", h))
            .transpose()?,
        postings: t
            .postings
            .into_iter()
            .map(|p| Posting {
                account: p.account,
                amount: p.amount,
            })
            .collect(),
        actor: t.actor,
        correlation_id: t.correlation_id,
        created_at: from_millis(t.created_at_ms)?,
    })
}

pub fn hold_to_pb(h: Hold) -> pb::HoldInfo {
    pb::HoldInfo {
        id: h.id.to_string(),
        tenant_id: h.tenant_id.to_string(),
        amount: h.amount,
        reason: h.reason,
        status: h.status.as_str().to_owned(),
        captured: h.captured,
        created_at_ms: to_millis(h.created_at),
        expires_at_ms: h.expires_at.map(to_millis),
    }
}

pub fn hold_from_pb(h: pb::HoldInfo) -> Result<Hold> {
    Ok(Hold {
        id: parse_id("id", &h.id)?,
        tenant_id: parse_id("tenant_id", &h.tenant_id)?,
        amount: h.amount,
        reason: h.reason,
        status: HoldStatus::parse(&h.status)?,
        captured: h.captured,
        created_at: from_millis(h.created_at_ms)?,
        expires_at: h.expires_at_ms.map(from_millis).transpose()?,
    })
}

pub fn statement_to_pb(s: StatementPage) -> pb::StatementPage {
    pb::StatementPage {
        entries: s
            .entries
            .into_iter()
            .map(|e| pb::StatementEntry {
                transaction_id: e.transaction_id.to_string(),
                kind: e.kind.as_str().to_owned(),
                reason: e.reason,
                memo: e.memo,
                amount: e.amount,
                held_change: e.held_change,
                available_after: e.available_after,
                held_after: e.held_after,
                created_at_ms: to_millis(e.created_at),
            })
            .collect(),
        next: s.next.map(|n| n.to_string()),
    }
}

pub fn statement_from_pb(s: pb::StatementPage) -> Result<StatementPage> {
    let entries = s
        .entries
        .into_iter()
        .map(|e| {
            Ok(StatementEntry {
                transaction_id: parse_id("transaction_id", &e.transaction_id)?,
                kind: kind(&e.kind)?,
                reason: e.reason,
                memo: e.memo,
                amount: e.amount,
                held_change: e.held_change,
                available_after: e.available_after,
                held_after: e.held_after,
                created_at: from_millis(e.created_at_ms)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(StatementPage {
        entries,
        next: s.next.as_deref().map(|n| parse_id("next", n)).transpose()?,
    })
}

pub fn report_to_pb(r: InvariantReport) -> pb::InvariantReport {
    pb::InvariantReport {
        transactions_balanced: r.transactions_balanced,
        balances_match_postings: r.balances_match_postings,
        no_negative_tenant_balance: r.no_negative_tenant_balance,
        checked_accounts: r.checked_accounts,
    }
}

pub fn report_from_pb(r: pb::InvariantReport) -> InvariantReport {
    InvariantReport {
        transactions_balanced: r.transactions_balanced,
        balances_match_postings: r.balances_match_postings,
        no_negative_tenant_balance: r.no_negative_tenant_balance,
        checked_accounts: r.checked_accounts,
    }
}
