//! Subscribing to an app as a saga: `guards` → `hold_fee` → `create_subscription` → `install`
//! → `capture`; any failure undoes what was done (release the hold, mark the subscription
//! failed, remove the installation).
//!
//! # Where it runs
//!
//! The `install` step needs the wasm runtime, which lives in the host. So the saga runs where
//! the [`Installer`] is — in the host process — and drives the app hub through its [`AppApi`]
//! (`check_guards`, `create_subscription`, `activate_subscription`, `fail_subscription`) and
//! the wallet through its [`WalletApi`], local or over gRPC alike. Its progress is kept by a
//! [`SagaRunner`] over a database of that process ([`crate::LocalApp::saga_runner`] when the app
//! hub runs there too); [`Subscriber::resume`] at start-up finishes or compensates the runs a
//! crash interrupted.
//!
//! # Idempotency
//!
//! Every effect is keyed on the saga run's id, so a step replayed after a crash finds its effect
//! in place: the hold's and the capture's idempotency keys derive from it, the subscription's id
//! *is* it, and the installer is asked for "the installation of run X". A compensation accepts
//! that its step may never have happened.

use std::sync::Arc;

use async_trait::async_trait;
use nave_hub_core::saga::{Saga, SagaContext, SagaOutcome, SagaRunner};
use nave_hub_core::{AuthContext, Error, Result, Role};
use nave_wallet::{NewHold, WalletApi};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::AppApi;
use crate::local::as_system;
use crate::types::{Fee, NewSubscription, Subscription};

/// What the host's installer needs to create a runtime installation for a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallRequest {
    /// The saga run: the installer is idempotent per run (a replay returns the same installation).
    pub run_id: Uuid,
    /// The subscription the installation belongs to.
    pub subscription_id: Uuid,
    /// The subscribing tenant.
    pub tenant_id: Uuid,
    /// The app's listing.
    pub app_id: Uuid,
    /// The spoke's name (the host's plugin registry key).
    pub app_name: String,
    /// The version to pin.
    pub version: String,
    /// The installation's settings, handed to the spoke's `install()`.
    pub settings: serde_json::Value,
    /// Outbound hosts the tenant grants the spoke.
    pub allowed_hosts: Vec<String>,
    /// A call deadline other than the operator's default, in milliseconds.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
    /// A memory cap other than the operator's default, in MiB.
    #[serde(default)]
    pub memory_mib: Option<u64>,
    /// The request that started the subscription, for the host's logs.
    pub correlation_id: String,
}

/// The host side of a subscription: the runtime installation and the spoke's hooks.
#[async_trait]
pub trait Installer: Send + Sync {
    /// Creates the runtime installation and calls the spoke's `install()`; returns the
    /// installation's id. Idempotent for a given `request.run_id`.
    async fn install(&self, request: InstallRequest) -> Result<Uuid>;

    /// The installation made for saga run `run_id`, if `install` got that far — so a
    /// compensation after a crash mid-install can remove what it cannot otherwise name.
    async fn installation_of(&self, run_id: Uuid) -> Result<Option<Uuid>>;

    /// Calls the spoke's `uninstall()` and removes the installation; succeeds if it is gone
    /// already (compensation and unsubscribing).
    async fn remove(&self, installation: Uuid) -> Result<()>;
}

/// What a tenant asks for when subscribing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscribeRequest {
    /// The listing.
    pub app_id: Uuid,
    /// The version to pin; the newest when left out.
    #[serde(default)]
    pub version: Option<String>,
    /// The installation's settings.
    #[serde(default)]
    pub settings: serde_json::Value,
    /// Outbound hosts granted to the spoke.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// A call deadline other than the operator's default, in milliseconds.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
    /// A memory cap other than the operator's default, in MiB.
    #[serde(default)]
    pub memory_mib: Option<u64>,
}

/// A run's progress, saved after every step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubscribeState {
    /// Who subscribes: the guards are checked for them and events name them.
    pub requester: AuthContext,
    /// The tenant.
    pub tenant_id: Uuid,
    /// What was asked.
    pub request: SubscribeRequest,
    /// From the guards: the app's name.
    pub app_name: Option<String>,
    /// From the guards: the version to pin.
    pub version: Option<String>,
    /// From the guards: the fee.
    pub fee: Option<Fee>,
    /// The wallet hold, once placed.
    pub hold_id: Option<Uuid>,
    /// The subscription, once recorded.
    pub subscription_id: Option<Uuid>,
    /// The runtime installation, once made.
    pub installation_id: Option<Uuid>,
}

const STEPS: &[&str] = &[
    "guards",
    "hold_fee",
    "create_subscription",
    "install",
    "capture",
];
const GUARDS: usize = 0;
const HOLD_FEE: usize = 1;
const CREATE: usize = 2;
const INSTALL: usize = 3;
const CAPTURE: usize = 4;

/// The subscription saga over the hubs' `Api`s and the host's [`Installer`].
pub struct SubscribeSaga {
    /// The app hub (local or gRPC).
    pub app: Arc<dyn AppApi>,
    /// The wallet hub (local or gRPC).
    pub wallet: Arc<dyn WalletApi>,
    /// The host's installer.
    pub installer: Arc<dyn Installer>,
}

fn hold_key(run: &SagaContext) -> String {
    format!("app-subscribe:{}:hold", run.id)
}

fn ctx_of(state: &SubscribeState, run: &SagaContext) -> AuthContext {
    as_system(
        &state
            .requester
            .clone()
            .with_correlation_id(run.correlation_id.clone()),
    )
}

impl SubscribeSaga {
    fn fee(state: &SubscribeState) -> Result<&Fee> {
        state
            .fee
            .as_ref()
            .ok_or_else(|| Error::internal_msg("subscribe saga: the guards left no fee"))
    }

    async fn hold(&self, state: &mut SubscribeState, run: &SagaContext) -> Result<()> {
        let amount = Self::fee(state)?.amount;
        if amount == 0 {
            return Ok(());
        }
        let hold = self
            .wallet
            .hold(
                &ctx_of(state, run),
                state.tenant_id,
                NewHold {
                    amount,
                    reason: "install_fee".into(),
                    idempotency_key: hold_key(run),
                    expires_in_secs: None,
                },
            )
            .await?;
        state.hold_id = Some(hold.id);
        Ok(())
    }

    async fn release(&self, state: &mut SubscribeState, run: &SagaContext) -> Result<()> {
        let Some(fee) = &state.fee else {
            return Ok(());
        };
        if fee.amount == 0 {
            return Ok(());
        }
        let ctx = ctx_of(state, run);
        let hold_id = match state.hold_id {
            Some(id) => id,
            // Crashed before the hold's id was saved: replaying the hold with its key returns
            // the hold if it was placed; if it was not, it is placed now and released below.
            None => match self.hold(state, run).await {
                Ok(()) => state.hold_id.unwrap_or_default(),
                Err(e) if e.code() == "failed_precondition" => return Ok(()),
                Err(e) => return Err(e),
            },
        };
        match self
            .wallet
            .release(&ctx, hold_id, format!("app-subscribe:{}:release", run.id))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.reasons().iter().any(|r| r.code == "hold_settled") => {
                tracing::warn!(hold = %hold_id, run = %run.id, "the install fee hold was settled already; nothing to release");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn install(&self, state: &mut SubscribeState, run: &SagaContext) -> Result<()> {
        let missing = || Error::internal_msg("subscribe saga: a step before install left no data");
        let request = InstallRequest {
            run_id: run.id,
            subscription_id: state.subscription_id.ok_or_else(missing)?,
            tenant_id: state.tenant_id,
            app_id: state.request.app_id,
            app_name: state.app_name.clone().ok_or_else(missing)?,
            version: state.version.clone().ok_or_else(missing)?,
            settings: state.request.settings.clone(),
            allowed_hosts: state.request.allowed_hosts.clone(),
            deadline_ms: state.request.deadline_ms,
            memory_mib: state.request.memory_mib,
            correlation_id: run.correlation_id.clone(),
        };
        state.installation_id = Some(self.installer.install(request).await?);
        Ok(())
    }

    async fn capture(&self, state: &mut SubscribeState, run: &SagaContext) -> Result<()> {
        let ctx = ctx_of(state, run);
        if let Some(hold) = state.hold_id {
            self.wallet
                .capture(
                    &ctx,
                    hold,
                    None,
                    format!("app-subscribe:{}:capture", run.id),
                )
                .await?;
        }
        let installation = state
            .installation_id
            .ok_or_else(|| Error::internal_msg("subscribe saga: no installation to activate"))?;
        self.app
            .activate_subscription(&ctx, run.id, installation)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Saga for SubscribeSaga {
    type State = SubscribeState;

    fn kind(&self) -> &'static str {
        "app.subscribe"
    }

    fn steps(&self) -> &'static [&'static str] {
        STEPS
    }

    async fn run(&self, step: usize, state: &mut SubscribeState, run: &SagaContext) -> Result<()> {
        match step {
            GUARDS => {
                let report = self
                    .app
                    .check_guards(&state.requester, state.tenant_id, state.request.app_id)
                    .await?;
                state.app_name = Some(report.app_name);
                state.version = Some(
                    state
                        .request
                        .version
                        .clone()
                        .unwrap_or(report.latest_version),
                );
                state.fee = Some(report.fee);
                Ok(())
            }
            HOLD_FEE => self.hold(state, run).await,
            CREATE => {
                let sub = self
                    .app
                    .create_subscription(
                        &ctx_of(state, run),
                        state.tenant_id,
                        NewSubscription {
                            id: run.id,
                            app_id: state.request.app_id,
                            version: state.version.clone().unwrap_or_default(),
                            fee: Self::fee(state)?.clone(),
                            hold_id: state.hold_id,
                            requested_by: state.requester.actor(),
                        },
                    )
                    .await?;
                state.subscription_id = Some(sub.id);
                Ok(())
            }
            INSTALL => self.install(state, run).await,
            CAPTURE => self.capture(state, run).await,
            _ => Err(Error::internal_msg(format!(
                "subscribe saga has no step {step}"
            ))),
        }
    }

    async fn compensate(
        &self,
        step: usize,
        state: &mut SubscribeState,
        run: &SagaContext,
    ) -> Result<()> {
        match step {
            HOLD_FEE => self.release(state, run).await,
            CREATE => {
                let reason = "the subscription could not be completed; everything was undone";
                match self
                    .app
                    .fail_subscription(&ctx_of(state, run), run.id, reason.into())
                    .await
                {
                    Err(Error::NotFound(_)) => Ok(()),
                    other => other.map(|_| ()),
                }
            }
            INSTALL => {
                let installation = match state.installation_id {
                    Some(id) => Some(id),
                    None => self.installer.installation_of(run.id).await?,
                };
                if let Some(id) = installation {
                    self.installer.remove(id).await?;
                }
                state.installation_id = None;
                Ok(())
            }
            // Nothing of their own to undo: the guards change nothing; a capture that happened
            // cannot be undone by a release, and the steps before handle the rest.
            _ => Ok(()),
        }
    }
}

/// Subscribes and unsubscribes tenants: runs the [`SubscribeSaga`] and resumes interrupted runs.
pub struct Subscriber {
    saga: SubscribeSaga,
    runner: SagaRunner,
}

impl Subscriber {
    /// A subscriber over the hubs' `Api`s, the host's installer and a saga runner.
    pub fn new(
        app: Arc<dyn AppApi>,
        wallet: Arc<dyn WalletApi>,
        installer: Arc<dyn Installer>,
        runner: SagaRunner,
    ) -> Self {
        Self {
            saga: SubscribeSaga {
                app,
                wallet,
                installer,
            },
            runner,
        }
    }

    /// Subscribes `tenant_id` to an app: returns the active subscription, or the error of the
    /// step that failed (for the guards, every failed guard) after everything was undone.
    #[tracing::instrument(skip_all, fields(tenant = %tenant_id, app = %request.app_id, correlation_id = %ctx.correlation_id))]
    pub async fn subscribe(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: SubscribeRequest,
    ) -> Result<Subscription> {
        // Strangers get `not_found` before any run is recorded; members' rights are a guard.
        if ctx.principal != nave_hub_core::Principal::System {
            ctx.require_tenant_role(tenant_id, Role::Viewer)?;
        }
        let state = SubscribeState {
            requester: ctx.clone(),
            tenant_id,
            request,
            app_name: None,
            version: None,
            fee: None,
            hold_id: None,
            subscription_id: None,
            installation_id: None,
        };
        let (run_id, outcome) = self
            .runner
            .start(&self.saga, ctx, Some(tenant_id), state)
            .await?;
        match outcome {
            SagaOutcome::Completed(_) => self.saga.app.get_subscription(ctx, run_id).await,
            SagaOutcome::Compensated { error, .. } => Err(error),
        }
    }

    /// Finishes or compensates every run a crash interrupted; call once at start-up.
    pub async fn resume(&self) -> Result<Vec<(Uuid, SagaOutcome<SubscribeState>)>> {
        self.runner.resume(&self.saga).await
    }

    /// Cancels a subscription: the installer calls the spoke's `uninstall()` and removes the
    /// installation, then the subscription is marked `cancelled`.
    pub async fn unsubscribe(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
    ) -> Result<Subscription> {
        let sub = self.saga.app.get_subscription(ctx, subscription_id).await?;
        ctx_may_manage(ctx, sub.tenant_id)?;
        if sub.status != crate::types::SubscriptionStatus::Active {
            // Nothing installed to remove; the hub answers (cancelled already, or not active).
            return self
                .saga
                .app
                .cancel_subscription(ctx, subscription_id)
                .await;
        }
        if let Some(installation) = sub.installation_id {
            self.saga.installer.remove(installation).await?;
        }
        self.saga
            .app
            .cancel_subscription(ctx, subscription_id)
            .await
    }
}

/// The tenant's admins and owners, platform admins and the platform manage subscriptions.
fn ctx_may_manage(ctx: &AuthContext, tenant_id: Uuid) -> Result<()> {
    if ctx.principal == nave_hub_core::Principal::System {
        return Ok(());
    }
    ctx.require_tenant_role(tenant_id, Role::Admin)
}
