//! Warm instances: the calls of one installation reuse the instance an earlier call of that
//! installation left, instead of instantiating the spoke for every call.
//!
//! Instantiating is most of what a short call costs (a store, a WASI context, an instance slot
//! reset, the guest's own start-up), and the message flow makes three calls per message. Like
//! wasmCloud's pooled components and Zed's long-lived extensions, and unlike Spin's instance per
//! request, an instance here outlives its call, within limits that keep the isolation that
//! matters:
//!
//! - **One installation, one settings version.** Each [`WarmPool`] belongs to one
//!   [`crate::registry::Installation`]; changing an installation's settings, hosts or version
//!   builds a new one, with an empty pool. What a guest keeps in its memory between calls is
//!   never seen by another installation, let alone another tenant.
//! - **Only instances that returned.** A call that trapped or ran out of time or memory drops
//!   its instance; so does a call whose caller gave up on it half-way. A spoke's own error
//!   (`spoke-error`) is an answer: its instance is kept.
//! - **Bounded.** An instance is dropped after [`MAX_CALLS`] calls, when its memory grew past
//!   half of its cap, or after [`MAX_IDLE`] unused. At most `warm_instances` (the operator's
//!   setting) are kept across the host, and one installation keeps at most a quarter of them.
//!
//! Every call still gets its own deadline, memory cap, log budget, egress rules and call
//! context (tenant, installation, correlation id).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use wasmtime::Store;

use super::SpokeInstance;
use super::state::SpokeState;

/// Calls an instance serves before it is dropped: whatever a guest leaks per call stays bounded.
pub const MAX_CALLS: u32 = 1_000;

/// How long an unused instance is kept.
pub const MAX_IDLE: Duration = Duration::from_secs(60);

/// How often idle instances are looked over.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// An instance between two calls.
pub(super) struct Warm {
    pub(super) store: Store<SpokeState>,
    pub(super) instance: SpokeInstance,
    /// The load of the spoke it is an instance of ([`super::LoadedSpoke`]).
    pub(super) spoke: u64,
    /// Calls it served so far.
    pub(super) calls: u32,
    idle_since: Instant,
}

impl Warm {
    pub(super) fn new(
        store: Store<SpokeState>,
        instance: SpokeInstance,
        spoke: u64,
        calls: u32,
    ) -> Warm {
        Warm {
            store,
            instance,
            spoke,
            calls,
            idle_since: Instant::now(),
        }
    }

    fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.idle_since) >= MAX_IDLE
    }
}

/// What the pools of one runtime share: the host-wide cap and the list the sweeper walks.
#[derive(Debug)]
pub(super) struct WarmBudget {
    /// Most instances kept across the host.
    max: usize,
    /// Instances kept now.
    kept: AtomicUsize,
    pools: Mutex<Vec<Weak<WarmPool>>>,
}

impl WarmBudget {
    pub(super) fn new(max: usize) -> Arc<WarmBudget> {
        Arc::new(WarmBudget {
            max,
            kept: AtomicUsize::new(0),
            pools: Mutex::new(Vec::new()),
        })
    }

    /// A pool for one installation.
    pub(super) fn pool(self: &Arc<Self>) -> Arc<WarmPool> {
        let pool = Arc::new(WarmPool {
            idle: Mutex::new(VecDeque::new()),
            budget: self.clone(),
            most: (self.max / 4).max(1),
        });
        if self.max > 0 {
            let mut pools = self.pools.lock().expect("warm pools lock");
            pools.retain(|pool| pool.strong_count() > 0);
            pools.push(Arc::downgrade(&pool));
        }
        pool
    }

    /// Drops the instances unused for [`MAX_IDLE`], every [`SWEEP_EVERY`], until the runtime is
    /// gone. Runs on the current tokio runtime, if there is one: the pools are swept at every
    /// call anyway, and this only frees the memory of installations no longer called.
    pub(super) fn spawn_sweeper(self: &Arc<Self>) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let budget = Arc::downgrade(self);
        handle.spawn(async move {
            let mut every = tokio::time::interval(SWEEP_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(budget) = budget.upgrade() else {
                    return;
                };
                let pools: Vec<Arc<WarmPool>> = {
                    let mut pools = budget.pools.lock().expect("warm pools lock");
                    pools.retain(|pool| pool.strong_count() > 0);
                    pools.iter().filter_map(Weak::upgrade).collect()
                };
                for pool in pools {
                    pool.sweep();
                }
            }
        });
    }
}

/// The instances one installation keeps between calls.
pub struct WarmPool {
    /// Most recently used at the back.
    idle: Mutex<VecDeque<Warm>>,
    budget: Arc<WarmBudget>,
    /// Most instances this pool keeps.
    most: usize,
}

impl std::fmt::Debug for WarmPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarmPool")
            .field("idle", &self.idle.lock().map(|idle| idle.len()).ok())
            .field("most", &self.most)
            .finish()
    }
}

impl WarmPool {
    /// The most recently used instance of the loaded spoke `spoke`, if one is kept.
    pub(super) fn take(&self, spoke: u64) -> Option<Warm> {
        let now = Instant::now();
        let mut dropped = Vec::new();
        let found = {
            let mut idle = self.idle.lock().expect("warm pool lock");
            let mut found = None;
            while let Some(warm) = idle.pop_back() {
                self.budget.kept.fetch_sub(1, Ordering::Relaxed);
                if warm.spoke == spoke && !warm.expired(now) {
                    found = Some(warm);
                    break;
                }
                dropped.push(warm);
            }
            found
        };
        // Stores are dropped outside the lock: freeing an instance slot takes a while.
        drop(dropped);
        found
    }

    /// Keeps `warm` for the next call, if there is room here and across the host.
    pub(super) fn keep(&self, mut warm: Warm) {
        let now = Instant::now();
        warm.idle_since = now;
        let mut dropped = Vec::new();
        {
            let mut idle = self.idle.lock().expect("warm pool lock");
            self.expire(&mut idle, now, &mut dropped);
            let room = idle.len() < self.most
                && self
                    .budget
                    .kept
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |kept| {
                        (kept < self.budget.max).then_some(kept + 1)
                    })
                    .is_ok();
            if room {
                idle.push_back(warm);
            } else {
                dropped.push(warm);
            }
        }
        drop(dropped);
    }

    /// Drops the instances unused for [`MAX_IDLE`].
    fn sweep(&self) {
        let mut dropped = Vec::new();
        let mut idle = self.idle.lock().expect("warm pool lock");
        self.expire(&mut idle, Instant::now(), &mut dropped);
        drop(idle);
        drop(dropped);
    }

    /// Moves the instances unused for [`MAX_IDLE`] (the oldest, at the front) to `dropped`.
    fn expire(&self, idle: &mut VecDeque<Warm>, now: Instant, dropped: &mut Vec<Warm>) {
        while idle.front().is_some_and(|oldest| oldest.expired(now)) {
            dropped.extend(idle.pop_front());
            self.budget.kept.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Instances kept now.
    pub fn idle(&self) -> usize {
        self.idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }
}

impl Drop for WarmPool {
    fn drop(&mut self) {
        let idle = self.idle.get_mut().map(|idle| idle.len()).unwrap_or(0);
        self.budget.kept.fetch_sub(idle, Ordering::Relaxed);
    }
}
