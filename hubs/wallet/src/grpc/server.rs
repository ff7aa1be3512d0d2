//! The wallet hub's gRPC server: each rpc reads the caller's context, calls the wrapped
//! [`WalletApi`] and converts the result. No logic lives here.

use std::future::Future;
use std::sync::Arc;

use nave_hub_core::grpc::{ServiceToken, incoming_context};
use nave_hub_core::ids::parse_id;
use nave_hub_core::{Error, Result};
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::convert::*;
use super::pb::{self, wallet_server::Wallet, wallet_server::WalletServer};
use crate::api::WalletApi;
use crate::types::{Credit, CreditSource, Debit, NewHold};
use nave_hub_core::pb as common;
use nave_hub_core::wire::{page_to_pb, scope_from_pb};

type Reply<T> = std::result::Result<Response<T>, Status>;

/// Serves a [`WalletApi`] over gRPC.
#[derive(Clone)]
pub struct WalletGrpc {
    /// The implementation called for every rpc (normally a `LocalWallet`).
    api: Arc<dyn WalletApi>,
    /// Required from callers when set.
    token: ServiceToken,
}

impl WalletGrpc {
    /// Wraps `api`; callers must send `token` when it is set.
    pub fn new(api: Arc<dyn WalletApi>, token: ServiceToken) -> Self {
        Self { api, token }
    }

    /// The tonic service, for adding to a shared `tonic::transport::Server`.
    pub fn into_service(self) -> WalletServer<Self> {
        WalletServer::new(self)
    }
}

/// Serves `api` on `listener` until `shutdown` completes (bind `127.0.0.1:0` in tests).
pub async fn serve(
    listener: TcpListener,
    api: Arc<dyn WalletApi>,
    token: ServiceToken,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(WalletGrpc::new(api, token).into_service())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(Error::internal)
}

fn id(field: &str, value: &str) -> std::result::Result<uuid::Uuid, Status> {
    parse_id(field, value).map_err(Status::from)
}

fn ok<T>(message: T) -> Reply<T> {
    Ok(Response::new(message))
}

#[tonic::async_trait]
impl Wallet for WalletGrpc {
    async fn balance(&self, request: Request<pb::BalanceRequest>) -> Reply<pb::BalanceInfo> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        ok(balance_to_pb(self.api.balance(&ctx, tenant).await?))
    }

    async fn credit(&self, request: Request<pb::CreditRequest>) -> Reply<pb::Transaction> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let credit = Credit {
            amount: m.amount,
            source: CreditSource::parse("source", &m.source)?,
            memo: m.memo,
            idempotency_key: m.idempotency_key,
        };
        ok(transaction_to_pb(
            self.api.credit(&ctx, tenant, credit).await?,
        ))
    }

    async fn debit(&self, request: Request<pb::DebitRequest>) -> Reply<pb::Transaction> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let debit = Debit {
            amount: m.amount,
            reason: m.reason,
            memo: m.memo,
            idempotency_key: m.idempotency_key,
        };
        ok(transaction_to_pb(
            self.api.debit(&ctx, tenant, debit).await?,
        ))
    }

    async fn hold(&self, request: Request<pb::HoldRequest>) -> Reply<pb::HoldInfo> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let hold = NewHold {
            amount: m.amount,
            reason: m.reason,
            idempotency_key: m.idempotency_key,
            expires_in_secs: m.expires_in_secs,
        };
        ok(hold_to_pb(self.api.hold(&ctx, tenant, hold).await?))
    }

    async fn capture(&self, request: Request<pb::CaptureRequest>) -> Reply<pb::Transaction> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let hold = id("hold_id", &m.hold_id)?;
        ok(transaction_to_pb(
            self.api
                .capture(&ctx, hold, m.amount, m.idempotency_key)
                .await?,
        ))
    }

    async fn release(&self, request: Request<pb::ReleaseRequest>) -> Reply<pb::Transaction> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let hold = id("hold_id", &m.hold_id)?;
        ok(transaction_to_pb(
            self.api.release(&ctx, hold, m.idempotency_key).await?,
        ))
    }

    async fn expire_holds(
        &self,
        request: Request<pb::ExpireHoldsRequest>,
    ) -> Reply<pb::ExpireHoldsReply> {
        let ctx = incoming_context(&self.token, &request)?;
        ok(pb::ExpireHoldsReply {
            expired: self.api.expire_holds(&ctx).await?,
        })
    }

    async fn statement(&self, request: Request<pb::StatementRequest>) -> Reply<pb::StatementPage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = id("tenant_id", &m.tenant_id)?;
        let after = m.after.as_deref().map(|a| id("after", a)).transpose()?;
        ok(statement_to_pb(
            self.api.statement(&ctx, tenant, after, m.limit).await?,
        ))
    }

    async fn check_invariants(
        &self,
        request: Request<pb::CheckInvariantsRequest>,
    ) -> Reply<pb::InvariantReport> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let tenant = m
            .tenant_id
            .as_deref()
            .map(|t| id("tenant_id", t))
            .transpose()?;
        ok(report_to_pb(self.api.check_invariants(&ctx, tenant).await?))
    }

    async fn list_events(
        &self,
        request: Request<common::ListEventsRequest>,
    ) -> Reply<common::EventPage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let scope = scope_from_pb(m.scope).map_err(Status::from)?;
        let page = self
            .api
            .list_events(&ctx, scope, m.after_seq, m.limit)
            .await?;
        ok(page_to_pb(page))
    }
}
