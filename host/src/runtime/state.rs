//! What one spoke call owns: its WASI context (no files, no environment, no sockets), its
//! egress rules, its memory cap and who it runs for.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use uuid::Uuid;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::egress::{EgressHooks, HostPattern};
use super::{HostServices, Runtime, WarmPool};

/// Who and what a spoke call runs for.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The tenant owning the installation.
    pub tenant: String,
    /// The installation; the nil id for calls outside any (e.g. `describe()` at upload).
    pub installation: Uuid,
    /// The plugin's name, for logs and metrics.
    pub plugin: String,
    /// The plugin version running, for logs.
    pub version: String,
    /// The installation's settings in clear, defaults applied.
    pub settings: Arc<BTreeMap<String, String>>,
    /// Hosts the spoke declared, templates resolved.
    pub declared_hosts: Arc<[HostPattern]>,
    /// Hosts the installation granted.
    pub granted_hosts: Arc<[HostPattern]>,
    /// Wall-clock deadline of the call.
    pub deadline: Duration,
    /// Linear-memory cap of the instance, in bytes.
    pub memory_bytes: u64,
    /// The correlation id of the request that caused the call.
    pub correlation_id: String,
    /// Where the installation's calls keep their instances between calls; none (a fresh
    /// instance for the call, dropped after it) when it is gone or was never set.
    pub warm: Weak<WarmPool>,
}

impl CallContext {
    /// A context with no installation: no settings, no kv, no egress.
    pub fn detached(
        plugin: &str,
        version: &str,
        runtime: &Runtime,
        correlation_id: &str,
    ) -> CallContext {
        CallContext {
            tenant: String::new(),
            installation: Uuid::nil(),
            plugin: plugin.to_owned(),
            version: version.to_owned(),
            settings: Arc::default(),
            declared_hosts: Arc::from([]),
            granted_hosts: Arc::from([]),
            deadline: runtime.defaults().deadline,
            memory_bytes: runtime.defaults().memory_bytes,
            correlation_id: correlation_id.to_owned(),
            warm: Weak::new(),
        }
    }
}

/// The `T` of a spoke call's `Store<T>`.
pub struct SpokeState {
    pub(super) wasi: WasiCtx,
    pub(super) http: WasiHttpCtx,
    pub(super) table: ResourceTable,
    pub(super) egress: EgressHooks,
    pub(super) limiter: MemoryCap,
    pub(super) ctx: Arc<CallContext>,
    pub(super) services: Arc<HostServices>,
    /// Log lines written so far in this call, to enforce the cap.
    pub(super) log_lines: u32,
    /// Log lines dropped over the cap, reported once at the end of the call.
    pub(super) log_dropped: u32,
}

impl SpokeState {
    pub(super) fn new(ctx: Arc<CallContext>, services: Arc<HostServices>) -> SpokeState {
        // The builder's defaults already give no preopens, no environment, no arguments and
        // sockets with every address denied; name lookups and sockets are turned off outright.
        let wasi = WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        SpokeState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            egress: EgressHooks {
                policy: services.egress.clone(),
                declared: ctx.declared_hosts.clone(),
                granted: ctx.granted_hosts.clone(),
            },
            limiter: MemoryCap {
                max_bytes: ctx.memory_bytes as usize,
                hit: false,
                largest: 0,
            },
            ctx,
            services,
            log_lines: 0,
            log_dropped: 0,
        }
    }

    /// Readies a warm instance's state for another call of its installation: that call's
    /// context, memory cap, egress rules and log budget. False when the instance is already
    /// larger than the call's memory cap (the cap was lowered meanwhile).
    pub(super) fn next_call(&mut self, ctx: Arc<CallContext>) -> bool {
        self.egress.declared = ctx.declared_hosts.clone();
        self.egress.granted = ctx.granted_hosts.clone();
        self.limiter.max_bytes = ctx.memory_bytes as usize;
        self.limiter.hit = false;
        self.log_lines = 0;
        self.log_dropped = 0;
        self.ctx = ctx;
        self.limiter.largest <= self.limiter.max_bytes
    }

    /// Whether the instance is worth keeping for another call: its memory stayed under half
    /// of its cap.
    pub(super) fn lean(&self) -> bool {
        self.limiter.largest <= self.limiter.max_bytes / 2
    }
}

impl WasiView for SpokeState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for SpokeState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.egress,
        }
    }
}

/// Caps linear memory and tables, and remembers whether the cap was hit so the failure that
/// follows (usually an abort in the guest's allocator) is reported as `memory`.
pub(super) struct MemoryCap {
    max_bytes: usize,
    pub(super) hit: bool,
    /// The largest size a memory of the instance was given, in bytes.
    largest: usize,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.hit = true;
            return Ok(false);
        }
        self.largest = self.largest.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
