//! [`WalletClient`]: the [`WalletApi`] of a wallet hub in another process.

use std::future::Future;

use async_trait::async_trait;
use nave_hub_core::grpc::{self, ServiceToken};
use nave_hub_core::{AuthContext, EventPage, EventScope, Result};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::convert::*;
use super::pb::{self, wallet_client::WalletClient as Stub};
use crate::api::WalletApi;
use crate::types::{
    Balance, Credit, Debit, Hold, InvariantReport, NewHold, StatementPage, Transaction,
};
use nave_hub_core::pb as common;
use nave_hub_core::wire::{page_from_pb, scope_to_pb};

/// Calls a remote wallet hub; behaves exactly like a `LocalWallet`, errors included.
#[derive(Debug, Clone)]
pub struct WalletClient {
    /// The generated stub over a shared HTTP/2 channel (cheap to clone per call).
    stub: Stub<Channel>,
    /// Sent with every call when set.
    token: ServiceToken,
}

impl WalletClient {
    /// Connects to `url` (e.g. `http://wallet:50056`).
    pub async fn connect(url: &str, token: ServiceToken) -> Result<Self> {
        Ok(Self::from_channel(
            grpc::connect("wallet", url).await?,
            token,
        ))
    }

    /// Uses an existing channel (e.g. a lazily connecting one).
    pub fn from_channel(channel: Channel, token: ServiceToken) -> Self {
        Self {
            stub: Stub::new(channel),
            token,
        }
    }

    async fn call<Q, R, F, Fut>(&self, ctx: &AuthContext, message: Q, rpc: F) -> Result<R>
    where
        F: FnOnce(Stub<Channel>, Request<Q>) -> Fut,
        Fut: Future<Output = std::result::Result<Response<R>, Status>>,
    {
        grpc::unary(&self.token, ctx, self.stub.clone(), message, rpc).await
    }
}

#[async_trait]
impl WalletApi for WalletClient {
    async fn balance(&self, ctx: &AuthContext, tenant_id: Uuid) -> Result<Balance> {
        let m = pb::BalanceRequest {
            tenant_id: tenant_id.to_string(),
        };
        balance_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.balance(r).await })
                .await?,
        )
    }

    async fn credit(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: Credit,
    ) -> Result<Transaction> {
        let m = pb::CreditRequest {
            tenant_id: tenant_id.to_string(),
            amount: request.amount,
            source: request.source.as_str().to_owned(),
            memo: request.memo,
            idempotency_key: request.idempotency_key,
        };
        transaction_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.credit(r).await })
                .await?,
        )
    }

    async fn debit(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: Debit,
    ) -> Result<Transaction> {
        let m = pb::DebitRequest {
            tenant_id: tenant_id.to_string(),
            amount: request.amount,
            reason: request.reason,
            memo: request.memo,
            idempotency_key: request.idempotency_key,
        };
        transaction_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.debit(r).await })
                .await?,
        )
    }

    async fn hold(&self, ctx: &AuthContext, tenant_id: Uuid, request: NewHold) -> Result<Hold> {
        let m = pb::HoldRequest {
            tenant_id: tenant_id.to_string(),
            amount: request.amount,
            reason: request.reason,
            idempotency_key: request.idempotency_key,
            expires_in_secs: request.expires_in_secs,
        };
        hold_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.hold(r).await })
                .await?,
        )
    }

    async fn capture(
        &self,
        ctx: &AuthContext,
        hold_id: Uuid,
        amount: Option<i64>,
        idempotency_key: String,
    ) -> Result<Transaction> {
        let m = pb::CaptureRequest {
            hold_id: hold_id.to_string(),
            amount,
            idempotency_key,
        };
        transaction_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.capture(r).await })
                .await?,
        )
    }

    async fn release(
        &self,
        ctx: &AuthContext,
        hold_id: Uuid,
        idempotency_key: String,
    ) -> Result<Transaction> {
        let m = pb::ReleaseRequest {
            hold_id: hold_id.to_string(),
            idempotency_key,
        };
        transaction_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.release(r).await })
                .await?,
        )
    }

    async fn expire_holds(&self, ctx: &AuthContext) -> Result<u32> {
        let reply = self
            .call(ctx, pb::ExpireHoldsRequest {}, |mut s, r| async move {
                s.expire_holds(r).await
            })
            .await?;
        Ok(reply.expired)
    }

    async fn statement(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<StatementPage> {
        let m = pb::StatementRequest {
            tenant_id: tenant_id.to_string(),
            after: after.map(|a| a.to_string()),
            limit,
        };
        statement_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.statement(r).await })
                .await?,
        )
    }

    async fn check_invariants(
        &self,
        ctx: &AuthContext,
        tenant_id: Option<Uuid>,
    ) -> Result<InvariantReport> {
        let m = pb::CheckInvariantsRequest {
            tenant_id: tenant_id.map(|t| t.to_string()),
        };
        Ok(report_from_pb(
            self.call(
                ctx,
                m,
                |mut s, r| async move { s.check_invariants(r).await },
            )
            .await?,
        ))
    }

    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        let m = common::ListEventsRequest {
            scope: Some(scope_to_pb(scope)),
            after_seq,
            limit,
        };
        page_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.list_events(r).await })
                .await?,
        )
    }
}
