//! The subscription saga with real billing and wallet hubs and an in-memory installer that
//! records its calls and can be told to fail or to "crash" (hang, so the run's future is cut
//! off as if the process died) at each step; then `resume` finishes or undoes the run.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use nave_app::SubscriptionStatus;
use nave_app::saga::{InstallRequest, Installer, SubscribeRequest, Subscriber};
use nave_billing::{AppsAllowed, BillingApi};
use nave_hub_core::saga::SagaOutcome;
use nave_hub_core::{Error, Result, Role};
use nave_wallet::{Balance, WalletApi};
use uuid::Uuid;

/// What the fake installer does on its next `install`.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Works,
    /// The spoke's `install()` refuses.
    Refuses,
    /// Creates the installation, then the process dies before answering.
    DiesAfterCreating,
}

#[derive(Default)]
struct FakeInstaller {
    mode: Mutex<Option<Mode>>,
    /// Installations by saga run, `true` while installed.
    installed: Mutex<BTreeMap<Uuid, (Uuid, bool)>>,
    install_calls: Mutex<Vec<InstallRequest>>,
    removed: Mutex<Vec<Uuid>>,
}

impl FakeInstaller {
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = Some(mode);
    }
    fn live(&self) -> Vec<Uuid> {
        self.installed
            .lock()
            .unwrap()
            .values()
            .filter(|(_, on)| *on)
            .map(|(id, _)| *id)
            .collect()
    }
}

#[async_trait]
impl Installer for FakeInstaller {
    async fn install(&self, request: InstallRequest) -> Result<Uuid> {
        self.install_calls.lock().unwrap().push(request.clone());
        let mode = self.mode.lock().unwrap().unwrap_or(Mode::Works);
        if mode == Mode::Refuses {
            return Err(Error::failed_precondition(
                "install_refused",
                "the page token is wrong",
            ));
        }
        let id = {
            let mut installed = self.installed.lock().unwrap();
            installed
                .entry(request.run_id)
                .or_insert((nave_hub_core::ids::new_id(), true))
                .0
        };
        if mode == Mode::DiesAfterCreating {
            std::future::pending::<()>().await;
        }
        Ok(id)
    }

    async fn installation_of(&self, run_id: Uuid) -> Result<Option<Uuid>> {
        Ok(self
            .installed
            .lock()
            .unwrap()
            .get(&run_id)
            .map(|(id, _)| *id))
    }

    async fn remove(&self, installation: Uuid) -> Result<()> {
        self.removed.lock().unwrap().push(installation);
        for (id, on) in self.installed.lock().unwrap().values_mut() {
            if *id == installation {
                *on = false;
            }
        }
        Ok(())
    }
}

/// A wallet that "dies" (hangs) on the n-th hold/capture call, to crash around the fee steps.
struct DyingWallet {
    inner: Arc<dyn WalletApi>,
    die_on: Mutex<Option<&'static str>>,
}

macro_rules! pass {
    ($self:ident, $name:literal, $call:expr) => {{
        if *$self.die_on.lock().unwrap() == Some($name) {
            std::future::pending::<()>().await;
        }
        $call.await
    }};
}

#[async_trait]
impl WalletApi for DyingWallet {
    async fn balance(&self, ctx: &nave_hub_core::AuthContext, t: Uuid) -> Result<Balance> {
        self.inner.balance(ctx, t).await
    }
    async fn credit(
        &self,
        ctx: &nave_hub_core::AuthContext,
        t: Uuid,
        r: nave_wallet::Credit,
    ) -> Result<nave_wallet::Transaction> {
        self.inner.credit(ctx, t, r).await
    }
    async fn debit(
        &self,
        ctx: &nave_hub_core::AuthContext,
        t: Uuid,
        r: nave_wallet::Debit,
    ) -> Result<nave_wallet::Transaction> {
        self.inner.debit(ctx, t, r).await
    }
    async fn hold(
        &self,
        ctx: &nave_hub_core::AuthContext,
        t: Uuid,
        r: nave_wallet::NewHold,
    ) -> Result<nave_wallet::Hold> {
        // The hold is placed, then the process dies before the saga records it.
        let hold = self.inner.hold(ctx, t, r).await;
        pass!(self, "hold", async { hold })
    }
    async fn capture(
        &self,
        ctx: &nave_hub_core::AuthContext,
        h: Uuid,
        a: Option<i64>,
        k: String,
    ) -> Result<nave_wallet::Transaction> {
        let captured = self.inner.capture(ctx, h, a, k).await;
        pass!(self, "capture", async { captured })
    }
    async fn release(
        &self,
        ctx: &nave_hub_core::AuthContext,
        h: Uuid,
        k: String,
    ) -> Result<nave_wallet::Transaction> {
        self.inner.release(ctx, h, k).await
    }
    async fn expire_holds(&self, ctx: &nave_hub_core::AuthContext) -> Result<u32> {
        self.inner.expire_holds(ctx).await
    }
    async fn statement(
        &self,
        ctx: &nave_hub_core::AuthContext,
        t: Uuid,
        a: Option<Uuid>,
        l: u32,
    ) -> Result<nave_wallet::StatementPage> {
        self.inner.statement(ctx, t, a, l).await
    }
    async fn check_invariants(
        &self,
        ctx: &nave_hub_core::AuthContext,
        t: Option<Uuid>,
    ) -> Result<nave_wallet::InvariantReport> {
        self.inner.check_invariants(ctx, t).await
    }
    async fn list_events(
        &self,
        ctx: &nave_hub_core::AuthContext,
        s: nave_hub_core::EventScope,
        a: i64,
        l: u32,
    ) -> Result<nave_hub_core::EventPage> {
        self.inner.list_events(ctx, s, a, l).await
    }
}

struct Rig {
    installer: Arc<FakeInstaller>,
    wallet: Arc<DyingWallet>,
    subscriber: Subscriber,
}

fn rig(hub: &Hub, installer: Arc<FakeInstaller>) -> Rig {
    let wallet = Arc::new(DyingWallet {
        inner: Arc::new(hub.wallet.clone()),
        die_on: Mutex::new(None),
    });
    let subscriber = Subscriber::new(
        hub.api.clone(),
        wallet.clone(),
        installer.clone(),
        hub.local.saga_runner(),
    );
    Rig {
        installer,
        wallet,
        subscriber,
    }
}

fn request(app: Uuid) -> SubscribeRequest {
    SubscribeRequest {
        app_id: app,
        version: None,
        settings: serde_json::json!({"page_id": "42"}),
        allowed_hosts: vec!["graph.facebook.com".into()],
        deadline_ms: None,
        memory_mib: None,
    }
}

async fn balance(hub: &Hub, t: Uuid) -> (i64, i64) {
    let b = hub.wallet.balance(&system(), t).await.unwrap();
    (b.available, b.held)
}

#[tokio::test]
async fn a_subscription_installs_and_charges_once() {
    for hub in hubs().await {
        let app = published(&hub, "echo", 300).await;
        let t = tenant(&hub, AppsAllowed::All, Some(1), 1000).await;
        let admin = member(t, Role::Admin);
        let r = rig(&hub, Arc::new(FakeInstaller::default()));
        let sub = r
            .subscriber
            .subscribe(&admin, t, request(app.id))
            .await
            .unwrap();
        assert_eq!(sub.status, SubscriptionStatus::Active, "[{}]", hub.label);
        assert_eq!(
            (sub.version.as_str(), sub.fee.amount, sub.fee_captured),
            ("1.0.0", 300, true)
        );
        assert_eq!(sub.created_by, admin.actor());
        assert_eq!(
            balance(&hub, t).await,
            (700, 0),
            "[{}] the fee was captured",
            hub.label
        );
        let calls = r.installer.install_calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 1, "[{}] installed once", hub.label);
        assert_eq!(
            (calls[0].app_name.as_str(), calls[0].version.as_str()),
            ("echo", "1.0.0")
        );
        assert_eq!(calls[0].settings["page_id"], "42");
        assert_eq!(sub.installation_id, Some(r.installer.live()[0]));
        // The installations gauge follows: the one-installation plan is full now.
        let usage = hub.billing.tenant_billing(&system(), t).await.unwrap();
        assert!(
            usage
                .usage
                .iter()
                .any(|u| u.metric == nave_billing::Metric::Installations && u.used == 1)
        );
        let err = assert_err(
            &hub,
            r.subscriber.subscribe(&admin, t, request(app.id)).await,
            "failed_precondition",
        );
        assert_eq!(reasons(&err), ["installation_limit_reached"]);

        // Guards refuse before anything happens: no hold, no installation.
        let poor = tenant(&hub, AppsAllowed::All, None, 10).await;
        let err = assert_err(
            &hub,
            r.subscriber
                .subscribe(&member(poor, Role::Agent), poor, request(app.id))
                .await,
            "failed_precondition",
        );
        assert_eq!(reasons(&err), ["insufficient_funds", "not_tenant_admin"]);
        assert_eq!(balance(&hub, poor).await, (10, 0));
        assert!(
            hub.api
                .list_subscriptions(&system(), poor)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(r.installer.install_calls.lock().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_refused_install_releases_the_hold_and_fails_the_subscription() {
    for hub in hubs().await {
        let app = published(&hub, "echo", 300).await;
        let t = tenant(&hub, AppsAllowed::All, None, 1000).await;
        let r = rig(&hub, Arc::new(FakeInstaller::default()));
        r.installer.set(Mode::Refuses);
        let err = assert_err(
            &hub,
            r.subscriber
                .subscribe(&member(t, Role::Owner), t, request(app.id))
                .await,
            "failed_precondition",
        );
        assert_eq!(reasons(&err), ["install_refused"]);
        assert_eq!(
            balance(&hub, t).await,
            (1000, 0),
            "[{}] the hold was released",
            hub.label
        );
        let subs = hub.api.list_subscriptions(&system(), t).await.unwrap();
        assert_eq!(subs.len(), 1);
        assert_eq!(
            (subs[0].status, subs[0].fee_captured),
            (SubscriptionStatus::Failed, false)
        );
        assert!(
            r.installer.live().is_empty(),
            "[{}] nothing left installed",
            hub.label
        );
    }
}

/// Where the first process dies.
#[derive(Clone, Copy, Debug)]
enum Crash {
    /// Inside the wallet, right after the hold is placed.
    AfterHold,
    /// After the installer created the installation.
    AfterInstall,
    /// After the capture, before the subscription is activated.
    AfterCapture,
    /// The installer refuses and the process dies while undoing (the installer never answers).
    WhileInstalling,
}

#[tokio::test]
async fn a_crash_at_any_step_ends_active_and_paid_or_failed_and_refunded() {
    for hub in hubs().await {
        let app = published(&hub, "echo", 300).await;
        for crash in [
            Crash::AfterHold,
            Crash::AfterInstall,
            Crash::AfterCapture,
            Crash::WhileInstalling,
        ] {
            let t = tenant(&hub, AppsAllowed::All, None, 1000).await;
            let installer = Arc::new(FakeInstaller::default());
            let first = rig(&hub, installer.clone());
            match crash {
                Crash::AfterHold => *first.wallet.die_on.lock().unwrap() = Some("hold"),
                Crash::AfterCapture => *first.wallet.die_on.lock().unwrap() = Some("capture"),
                Crash::AfterInstall | Crash::WhileInstalling => {
                    installer.set(Mode::DiesAfterCreating)
                }
            }
            let cut = tokio::time::timeout(
                Duration::from_millis(500),
                first
                    .subscriber
                    .subscribe(&member(t, Role::Admin), t, request(app.id)),
            )
            .await;
            assert!(
                cut.is_err(),
                "[{}] {crash:?}: the run was cut off",
                hub.label
            );

            // After the restart.
            installer.set(if matches!(crash, Crash::WhileInstalling) {
                Mode::Refuses
            } else {
                Mode::Works
            });
            let second = rig(&hub, installer.clone());
            let resumed = second.subscriber.resume().await.unwrap();
            assert_eq!(resumed.len(), 1, "[{}] {crash:?}", hub.label);
            let subs = hub.api.list_subscriptions(&system(), t).await.unwrap();
            match (&resumed[0].1, crash) {
                (
                    SagaOutcome::Completed(_),
                    Crash::AfterHold | Crash::AfterInstall | Crash::AfterCapture,
                ) => {
                    assert_eq!(
                        balance(&hub, t).await,
                        (700, 0),
                        "[{}] {crash:?}: charged once",
                        hub.label
                    );
                    assert_eq!(subs.len(), 1);
                    assert_eq!(
                        (subs[0].status, subs[0].fee_captured),
                        (SubscriptionStatus::Active, true)
                    );
                    assert_eq!(
                        installer.live(),
                        [subs[0].installation_id.unwrap()],
                        "[{}] {crash:?}: one installation",
                        hub.label
                    );
                }
                (SagaOutcome::Compensated { .. }, Crash::WhileInstalling) => {
                    // The replayed install step is refused now: everything is undone, including
                    // the installation the dead process had created.
                    assert_eq!(
                        balance(&hub, t).await,
                        (1000, 0),
                        "[{}] {crash:?}: refunded",
                        hub.label
                    );
                    assert_eq!(subs[0].status, SubscriptionStatus::Failed);
                    assert!(
                        installer.live().is_empty(),
                        "[{}] {crash:?}: removed",
                        hub.label
                    );
                    assert_eq!(installer.removed.lock().unwrap().len(), 1);
                }
                (other, _) => panic!("[{}] {crash:?}: unexpected {other:?}", hub.label),
            }
            assert!(second.subscriber.resume().await.unwrap().is_empty());
            let invariants = hub
                .wallet
                .check_invariants(&system(), Some(t))
                .await
                .unwrap();
            assert!(invariants.all_hold());
        }
    }
}
