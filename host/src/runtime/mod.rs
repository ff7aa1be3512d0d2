//! The spoke runtime: one wasmtime engine with the pooling allocator, compiled spokes
//! cached on disk, and every call run under a deadline and a memory cap, in an instance of its
//! installation kept warm from an earlier call ([`warm`]) or a fresh one.
//!
//! A trap, a timeout or a limit hit ends that call with a [`CallError::Failed`] naming the
//! [`FailureKind`]; its instance is dropped with its store, and nothing else is affected.

pub mod bindings;
pub mod breaker;
mod cache;
mod connections;
mod contacts;
pub mod egress;
mod host;
mod manifest;
mod state;
mod warm;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};

use crate::config::{Config, Limits};
use crate::metrics::{CallLabels, FunctionLabels, KindLabels, Metrics};
use bindings::types::{DeliveryReceipt, HttpRequest, Message, OutboundMessage, SpokeError};
pub use cache::CacheOutcome;
pub use egress::{EgressPolicy, HostPattern};
pub use manifest::{Manifest, Role, SettingSpec};
pub use state::CallContext;
use state::SpokeState;
pub use warm::WarmPool;
use warm::{Warm, WarmBudget};

/// What a channel's `handle-webhook` returned.
pub type WebhookOutcome = bindings::channel::exports::nave::spoke::channel::WebhookOutcome;
/// What a processor's `process` returned.
pub type Enrichment = bindings::processor::exports::nave::spoke::processor::Enrichment;

/// How often the epoch advances; deadlines are rounded up to it.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Why a spoke call failed (as opposed to the spoke returning its own error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// It ran past its deadline.
    Timeout,
    /// It hit its linear-memory cap.
    Memory,
    /// It trapped: a panic, an `unreachable`, an out-of-bounds access.
    Trap,
    /// It asked for something it may not have.
    Denied,
    /// It returned more than the host accepts.
    TooLarge,
    /// Every call slot is busy; try again.
    Busy,
    /// The spoke was built for another role than the call needs.
    WrongRole,
}

impl FailureKind {
    /// The machine-readable name used in API errors, logs and metrics.
    pub fn code(self) -> &'static str {
        match self {
            FailureKind::Timeout => "spoke_timeout",
            FailureKind::Memory => "spoke_memory_exceeded",
            FailureKind::Trap => "spoke_trapped",
            FailureKind::Denied => "spoke_denied",
            FailureKind::TooLarge => "spoke_response_too_large",
            FailureKind::Busy => "spoke_busy",
            FailureKind::WrongRole => "spoke_wrong_role",
        }
    }

    /// The short kind: `timeout`, `memory`, `trap`, ...
    pub fn kind(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::Memory => "memory",
            FailureKind::Trap => "trap",
            FailureKind::Denied => "denied",
            FailureKind::TooLarge => "too_large",
            FailureKind::Busy => "busy",
            FailureKind::WrongRole => "wrong_role",
        }
    }

    /// The status a client sees when this ends its request.
    pub fn http_status(self) -> http::StatusCode {
        match self {
            FailureKind::Timeout => http::StatusCode::GATEWAY_TIMEOUT,
            FailureKind::Busy => http::StatusCode::SERVICE_UNAVAILABLE,
            _ => http::StatusCode::BAD_GATEWAY,
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

/// How a spoke call ended, when it did not return a value.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The call failed: the instance was discarded.
    #[error("{kind}: {message}")]
    Failed {
        /// What kind of failure.
        kind: FailureKind,
        /// Details for the logs.
        message: String,
    },
    /// The spoke returned an error of its own.
    #[error("spoke error: {0:?}")]
    Spoke(SpokeError),
}

impl CallError {
    fn failed(kind: FailureKind, message: impl Into<String>) -> CallError {
        CallError::Failed {
            kind,
            message: message.into(),
        }
    }
}

/// Defaults every installation starts from.
#[derive(Debug, Clone, Copy)]
pub struct CallDefaults {
    /// Deadline of one call.
    pub deadline: Duration,
    /// Memory cap of one instance, in bytes.
    pub memory_bytes: u64,
}

/// What the import implementations need from the host, shared by every call.
pub(crate) struct HostServices {
    pub(crate) store: crate::store::Store,
    pub(crate) limits: Limits,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) egress: Arc<EgressPolicy>,
    /// The user hub, behind the `contacts` import.
    pub(crate) contacts: Arc<dyn nave_user::UserApi>,
}

/// A compiled spoke version, ready to instantiate.
pub struct LoadedSpoke {
    /// `sha256:<hex>` of its bytes.
    pub digest: String,
    /// The role its exports give it.
    pub role: Role,
    /// Which load this is, unique in the process: what a warm instance is an instance of.
    load: u64,
    pre: SpokePre,
}

enum SpokePre {
    Channel(bindings::channel::ChannelSpokePre<SpokeState>),
    Bot(bindings::bot::BotSpokePre<SpokeState>),
    Processor(bindings::processor::ProcessorSpokePre<SpokeState>),
}

enum SpokeInstance {
    Channel(bindings::channel::ChannelSpoke),
    Bot(bindings::bot::BotSpoke),
    Processor(bindings::processor::ProcessorSpoke),
}

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not a valid component for this engine.
    #[error("the component does not compile: {0}")]
    Invalid(String),
    /// It exports none of the nave worlds.
    #[error(
        "the component exports none of nave:spoke/channel, nave:spoke/bot or nave:spoke/processor (version 0.1.x)"
    )]
    UnknownWorld,
    /// It imports something the host does not provide.
    #[error("the component imports what the host does not provide: {0}")]
    UnsupportedImports(String),
    /// The host failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The spoke runtime of one host.
pub struct Runtime {
    engine: Engine,
    linker: Linker<SpokeState>,
    defaults: CallDefaults,
    services: Arc<HostServices>,
    cache: cache::CompiledCache,
    permits: Arc<Semaphore>,
    warm: Arc<WarmBudget>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// Builds the engine, the linker and the epoch ticker from the operator's config.
    pub fn new(
        config: &Config,
        store: crate::store::Store,
        metrics: Arc<Metrics>,
        contacts: Arc<dyn nave_user::UserApi>,
    ) -> anyhow::Result<Runtime> {
        // Warm instances keep their slots between calls: the pool has room for them besides
        // the calls running.
        let slots = config.max_concurrent_calls + config.warm_instances;
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(slots)
            .total_core_instances(slots * 4)
            .total_memories(slots * 2)
            .total_tables(slots * 4)
            .total_stacks(slots)
            .max_memory_size((config.limits.max_spoke_memory_mib << 20) as usize)
            // Calls without a warm instance get a fresh one, so resetting a slot is on the hot
            // path: keep its pages resident and reset only the dirty ones (PAGEMAP_SCAN where
            // the kernel has it) instead of handing them back to the kernel and faulting them in
            // again, and batch what is still decommitted so TLB shootdowns are amortized.
            .linear_memory_keep_resident(16 << 20)
            .table_keep_resident(1 << 20)
            .pagemap_scan(wasmtime::Enabled::Auto)
            .decommit_batch_size(32);
        let mut wasm = wasmtime::Config::new();
        wasm.wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm)
            .map_err(|err| anyhow::anyhow!("creating the wasm engine: {err:#}"))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        bindings::kv::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        bindings::config::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        bindings::log::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        bindings::contacts::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;

        let egress = EgressPolicy::new(
            config.allow_private_egress.clone(),
            Duration::from_millis(config.limits.egress_timeout_ms),
            config.limits.max_egress_response_bytes,
            breaker::BreakerConfig {
                failure_threshold: config.limits.circuit_failure_threshold,
                open_for: Duration::from_millis(config.limits.circuit_open_ms),
            },
            metrics.clone(),
        )?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.weak(), stop_ticker.clone());
        let warm = WarmBudget::new(config.warm_instances as usize);
        warm.spawn_sweeper();
        Ok(Runtime {
            cache: cache::CompiledCache::new(config.data_dir.join("cache"), &engine)?,
            engine,
            linker,
            defaults: CallDefaults {
                deadline: config.spoke_deadline,
                memory_bytes: config.spoke_memory_bytes,
            },
            services: Arc::new(HostServices {
                store,
                limits: config.limits.clone(),
                metrics,
                egress: Arc::new(egress),
                contacts,
            }),
            permits: Arc::new(Semaphore::new(config.max_concurrent_calls as usize)),
            warm,
            stop_ticker,
        })
    }

    /// The operator's default deadline and memory cap.
    pub fn defaults(&self) -> CallDefaults {
        self.defaults
    }

    /// The operator's limits.
    pub fn limits(&self) -> &Limits {
        &self.services.limits
    }

    /// A pool for one installation's warm instances (see [`CallContext::warm`]).
    pub fn warm_pool(&self) -> Arc<WarmPool> {
        self.warm.pool()
    }

    /// Compiles (or loads from the cache) a component and prepares it for instantiation.
    ///
    /// CPU-heavy on a cache miss: call it from a blocking task.
    pub fn load(
        &self,
        digest: &str,
        wasm: &[u8],
    ) -> Result<(LoadedSpoke, CacheOutcome), LoadError> {
        let (component, outcome) = self.cache.load(&self.engine, digest, wasm)?;
        let result = match outcome {
            CacheOutcome::Hit => "hit",
            CacheOutcome::Miss => "miss",
        };
        self.services
            .metrics
            .compile_cache
            .get_or_create(&KindLabels { kind: result })
            .inc();
        let role = role_of(&self.engine, &component).ok_or(LoadError::UnknownWorld)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|err| LoadError::UnsupportedImports(format!("{err:#}")))?;
        let pre = match role {
            Role::Channel => bindings::channel::ChannelSpokePre::new(pre).map(SpokePre::Channel),
            Role::Bot => bindings::bot::BotSpokePre::new(pre).map(SpokePre::Bot),
            Role::Processor => {
                bindings::processor::ProcessorSpokePre::new(pre).map(SpokePre::Processor)
            }
        }
        .map_err(|err| LoadError::Invalid(format!("{err:#}")))?;
        Ok((
            LoadedSpoke {
                digest: digest.to_owned(),
                role,
                load: {
                    static LOADS: AtomicU64 = AtomicU64::new(0);
                    LOADS.fetch_add(1, Ordering::Relaxed)
                },
                pre,
            },
            outcome,
        ))
    }

    /// Calls `describe()`.
    pub async fn describe(
        &self,
        spoke: &LoadedSpoke,
        ctx: &CallContext,
    ) -> Result<Manifest, CallError> {
        let mut call = self.begin(spoke, ctx, "describe").await?;
        let result = call
            .within_deadline(async |store, instance| {
                let manifest = match instance {
                    SpokeInstance::Channel(b) => b.nave_spoke_spoke().call_describe(store).await,
                    SpokeInstance::Bot(b) => b.nave_spoke_spoke().call_describe(store).await,
                    SpokeInstance::Processor(b) => b.nave_spoke_spoke().call_describe(store).await,
                };
                manifest.map(Ok)
            })
            .await;
        let manifest = self.finish(call, result)?;
        Ok(Manifest::from(manifest))
    }

    /// Calls `install()` with the installation's settings.
    pub async fn install(&self, spoke: &LoadedSpoke, ctx: &CallContext) -> Result<(), CallError> {
        let mut call = self.begin(spoke, ctx, "install").await?;
        let result = call
            .within_deadline(async |store, instance| match instance {
                SpokeInstance::Channel(b) => b.nave_spoke_spoke().call_install(store).await,
                SpokeInstance::Bot(b) => b.nave_spoke_spoke().call_install(store).await,
                SpokeInstance::Processor(b) => b.nave_spoke_spoke().call_install(store).await,
            })
            .await;
        self.finish(call, result)
    }

    /// Calls `uninstall()`.
    pub async fn uninstall(&self, spoke: &LoadedSpoke, ctx: &CallContext) -> Result<(), CallError> {
        let mut call = self.begin(spoke, ctx, "uninstall").await?;
        let result = call
            .within_deadline(async |store, instance| match instance {
                SpokeInstance::Channel(b) => b.nave_spoke_spoke().call_uninstall(store).await,
                SpokeInstance::Bot(b) => b.nave_spoke_spoke().call_uninstall(store).await,
                SpokeInstance::Processor(b) => b.nave_spoke_spoke().call_uninstall(store).await,
            })
            .await;
        self.finish(call, result)
    }

    /// Calls a channel's `handle-webhook`.
    pub async fn handle_webhook(
        &self,
        spoke: &LoadedSpoke,
        ctx: &CallContext,
        request: &HttpRequest,
    ) -> Result<WebhookOutcome, CallError> {
        let max = self.services.limits.max_spoke_response_bytes;
        let mut call = self.begin(spoke, ctx, "handle-webhook").await?;
        let result = call
            .within_deadline(async |store, instance| match instance {
                SpokeInstance::Channel(b) => {
                    let outcome = b
                        .nave_spoke_channel()
                        .call_handle_webhook(store, request)
                        .await?;
                    // A failure of the call: the instance that built it is not kept either.
                    if let Ok(outcome) = &outcome
                        && outcome.response.body.len() > max
                    {
                        return Err(wasmtime::Error::msg(TooLarge {
                            bytes: outcome.response.body.len(),
                            max,
                        }));
                    }
                    Ok(outcome)
                }
                _ => Err(wrong_role(Role::Channel)),
            })
            .await;
        self.finish(call, result)
    }

    /// Calls a channel's `deliver`.
    pub async fn deliver(
        &self,
        spoke: &LoadedSpoke,
        ctx: &CallContext,
        message: &OutboundMessage,
    ) -> Result<DeliveryReceipt, CallError> {
        let mut call = self.begin(spoke, ctx, "deliver").await?;
        let result = call
            .within_deadline(async |store, instance| match instance {
                SpokeInstance::Channel(b) => {
                    b.nave_spoke_channel().call_deliver(store, message).await
                }
                _ => Err(wrong_role(Role::Channel)),
            })
            .await;
        self.finish(call, result)
    }

    /// Calls a bot's `converse`.
    pub async fn converse(
        &self,
        spoke: &LoadedSpoke,
        ctx: &CallContext,
        message: &Message,
    ) -> Result<Vec<OutboundMessage>, CallError> {
        let mut call = self.begin(spoke, ctx, "converse").await?;
        let result = call
            .within_deadline(async |store, instance| match instance {
                SpokeInstance::Bot(b) => b.nave_spoke_bot().call_converse(store, message).await,
                _ => Err(wrong_role(Role::Bot)),
            })
            .await;
        self.finish(call, result)
    }

    /// Calls a processor's `process`.
    pub async fn process(
        &self,
        spoke: &LoadedSpoke,
        ctx: &CallContext,
        message: &Message,
    ) -> Result<Enrichment, CallError> {
        let mut call = self.begin(spoke, ctx, "process").await?;
        let result = call
            .within_deadline(async |store, instance| match instance {
                SpokeInstance::Processor(b) => {
                    b.nave_spoke_processor().call_process(store, message).await
                }
                _ => Err(wrong_role(Role::Processor)),
            })
            .await;
        self.finish(call, result)
    }

    /// Takes a call slot and an instance: the installation's warm one if it keeps one, else
    /// the spoke instantiated in a fresh store.
    async fn begin(
        &self,
        spoke: &LoadedSpoke,
        ctx: &CallContext,
        function: &'static str,
    ) -> Result<Call, CallError> {
        let started = Instant::now();
        let permit = tokio::time::timeout(ctx.deadline, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                CallError::failed(
                    FailureKind::Busy,
                    "no call slot became free before the deadline",
                )
            })?
            .expect("the semaphore is never closed");
        let ticks = ctx
            .deadline
            .as_micros()
            .div_ceil(EPOCH_TICK.as_micros())
            .max(1) as u64;
        let pool = ctx.warm.upgrade();
        let ctx = Arc::new(ctx.clone());
        if let Some(pool) = &pool
            && let Some(mut warm) = pool.take(spoke.load)
            && warm.store.data_mut().next_call(ctx.clone())
        {
            warm.store.set_epoch_deadline(ticks);
            self.count_instance("warm");
            return Ok(Call {
                store: warm.store,
                instance: warm.instance,
                function,
                started,
                deadline: ctx.deadline,
                calls: warm.calls,
                pool: Some(pool.clone()),
                spoke: warm.spoke,
                _permit: permit,
            });
        }
        let state = SpokeState::new(ctx.clone(), self.services.clone());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        let instance = match &spoke.pre {
            SpokePre::Channel(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(SpokeInstance::Channel),
            SpokePre::Bot(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(SpokeInstance::Bot),
            SpokePre::Processor(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(SpokeInstance::Processor),
        };
        let instance = match instance {
            Ok(instance) => instance,
            Err(err) => {
                let err = classify(err, store.data());
                self.record_failure(&ctx.plugin, function, &err);
                return Err(err);
            }
        };
        self.count_instance("fresh");
        Ok(Call {
            store,
            instance,
            function,
            started,
            deadline: ctx.deadline,
            calls: 0,
            pool,
            spoke: spoke.load,
            _permit: permit,
        })
    }

    fn count_instance(&self, kind: &'static str) {
        self.services
            .metrics
            .spoke_instances
            .get_or_create(&KindLabels { kind })
            .inc();
    }

    /// Records the call's outcome and turns it into the caller's result; keeps the instance
    /// warm for the installation's next call if it answered and stayed within bounds.
    fn finish<T>(&self, call: Call, result: CallResult<T>) -> Result<T, CallError> {
        let Call {
            store,
            instance,
            function,
            started,
            calls,
            pool,
            spoke,
            ..
        } = call;
        let state = store.data();
        let plugin = state.ctx.plugin.clone();
        self.services
            .metrics
            .spoke_call_seconds
            .get_or_create(&FunctionLabels {
                plugin: plugin.clone(),
                function,
            })
            .observe(started.elapsed().as_secs_f64());
        if state.log_dropped > 0 {
            tracing::warn!(
                plugin = %plugin,
                installation = %state.ctx.installation,
                correlation_id = %state.ctx.correlation_id,
                dropped = state.log_dropped,
                "spoke log lines over the per-call cap were dropped"
            );
        }
        let result = match result {
            CallResult::Returned(Ok(Ok(value))) => Ok(value),
            CallResult::Returned(Ok(Err(spoke_error))) => Err(CallError::Spoke(spoke_error)),
            CallResult::Returned(Err(err)) => Err(classify(err, state)),
            CallResult::TimedOut => Err(CallError::failed(
                FailureKind::Timeout,
                format!("still running after its {:?} deadline", state.ctx.deadline),
            )),
        };
        let answered = match &result {
            Ok(_) => {
                self.count(&plugin, function, "ok");
                true
            }
            Err(CallError::Spoke(_)) => {
                self.count(&plugin, function, "spoke_error");
                true
            }
            Err(err) => {
                self.record_failure(&plugin, function, err);
                false
            }
        };
        if let Some(pool) = pool
            && answered
            && calls + 1 < warm::MAX_CALLS
            && store.data().lean()
        {
            pool.keep(Warm::new(store, instance, spoke, calls + 1));
        }
        result
    }

    fn count(&self, plugin: &str, function: &'static str, outcome: &'static str) {
        self.services
            .metrics
            .spoke_calls
            .get_or_create(&CallLabels {
                plugin: plugin.to_owned(),
                function,
                outcome,
            })
            .inc();
    }

    fn record_failure(&self, plugin: &str, function: &'static str, err: &CallError) {
        if let CallError::Failed { kind, message } = err {
            self.count(plugin, function, kind.kind());
            self.services
                .metrics
                .spoke_failures
                .get_or_create(&KindLabels { kind: kind.kind() })
                .inc();
            tracing::warn!(plugin, function, kind = kind.kind(), %message, "spoke call failed; instance discarded");
        }
    }
}

fn wrong_role(expected: Role) -> wasmtime::Error {
    wasmtime::Error::msg(WrongRole(expected))
}

#[derive(Debug, thiserror::Error)]
#[error("the spoke is not a {0} spoke")]
struct WrongRole(Role);

#[derive(Debug, thiserror::Error)]
#[error("response body of {bytes} bytes is over the {max}-byte cap")]
struct TooLarge {
    bytes: usize,
    max: usize,
}

/// One call in progress: its store, instance and call slot.
struct Call {
    store: Store<SpokeState>,
    instance: SpokeInstance,
    function: &'static str,
    started: Instant,
    deadline: Duration,
    /// Calls the instance served before this one.
    calls: u32,
    /// Where the instance goes after the call, if it is kept.
    pool: Option<Arc<WarmPool>>,
    /// The `load` of the [`LoadedSpoke`] the instance is of.
    spoke: u64,
    _permit: OwnedSemaphorePermit,
}

enum CallResult<T> {
    Returned(wasmtime::Result<Result<T, SpokeError>>),
    TimedOut,
}

impl Call {
    /// Runs `f` on the instance, ending it when the deadline passes while it waits on the host
    /// (the epoch deadline ends it while it computes).
    async fn within_deadline<T>(
        &mut self,
        f: impl AsyncFnOnce(
            &mut Store<SpokeState>,
            &SpokeInstance,
        ) -> wasmtime::Result<Result<T, SpokeError>>,
    ) -> CallResult<T> {
        let grace = EPOCH_TICK * 4;
        match tokio::time::timeout(self.deadline + grace, f(&mut self.store, &self.instance)).await
        {
            Ok(result) => CallResult::Returned(result),
            Err(_) => CallResult::TimedOut,
        }
    }
}

/// Names the failure behind a wasmtime error.
fn classify(err: wasmtime::Error, state: &SpokeState) -> CallError {
    if state.limiter.hit {
        return CallError::failed(
            FailureKind::Memory,
            format!(
                "hit its {} MiB memory cap: {err:#}",
                state.ctx.memory_bytes >> 20
            ),
        );
    }
    if let Some(role) = err.downcast_ref::<WrongRole>() {
        return CallError::failed(FailureKind::WrongRole, role.to_string());
    }
    if let Some(big) = err.downcast_ref::<TooLarge>() {
        return CallError::failed(FailureKind::TooLarge, big.to_string());
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => CallError::failed(
            FailureKind::Timeout,
            format!("interrupted at its {:?} deadline", state.ctx.deadline),
        ),
        _ => CallError::failed(FailureKind::Trap, format!("{err:#}")),
    }
}

/// The role a component's exports give it.
fn role_of(engine: &Engine, component: &Component) -> Option<Role> {
    let ty = component.component_type();
    let mut role = None;
    for (name, _) in ty.exports(engine) {
        let Some((interface, version)) = name.split_once('@') else {
            continue;
        };
        if !version.starts_with("0.1.") {
            continue;
        }
        role = match interface {
            "nave:spoke/channel" => Some(Role::Channel),
            "nave:spoke/bot" => Some(Role::Bot),
            "nave:spoke/processor" => Some(Role::Processor),
            _ => role,
        };
    }
    role
}

/// Advances the engine's epoch every tick until the runtime is dropped.
fn spawn_epoch_ticker(engine: wasmtime::EngineWeak, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("nave-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .expect("spawning the epoch thread");
}
