//! The cost of one spoke call, against a native call measured in the same run.
//!
//! **Measured:** `Runtime::describe` on the `hello` fixture, the whole way a real call goes: an
//! instance slot, a fresh wasmtime store, instantiation from the pre-linked component, the call
//! to `describe()` and the conversion of its manifest. The component is compiled once before
//! (compilation is cached and is not a per-call cost). The same call in a warm instance (kept
//! from the installation's previous call, as installations' calls run) is timed beside it.
//!
//! **Baseline:** a plain Rust function building the same [`Manifest`] that `describe()` returns,
//! behind `black_box` so the optimiser keeps it. The ratio says how many native calls one spoke
//! call costs.
//!
//! Each call is timed on its own (the ~25 ns of `Instant::now` is in both figures); the table
//! gives the median, p90 and p99 of 5,000 sequential calls after 500 warm-up calls, then the
//! throughput of two tasks calling at once on a two-worker tokio runtime.
//!
//! Run with `cargo xtask bench` (or `cargo bench -p nave-tests --bench spoke_call` with
//! `NAVE_SPOKES_DIR` set). It prints figures; it asserts nothing about time.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nave::Config;
use nave::metrics::Metrics;
use nave::runtime::{CallContext, LoadedSpoke, Manifest, Role, Runtime, SettingSpec};
use nave::store::Store;
use sha2::{Digest, Sha256};

const WARM_UP: usize = 500;
const CALLS: usize = 5_000;
const TASKS: usize = 2;

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    tokio.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::for_tests(dir.path());
    let store = Store::open(dir.path()).await.expect("store");
    let users = nave_user::LocalUser::open(
        &nave_hub_core::DbConfig::sqlite_in(dir.path(), "user"),
        nave_user::UserConfig::default(),
        Arc::new(nave_hub_core::SystemClock),
    )
    .await
    .expect("user hub");
    let runtime = Arc::new(
        Runtime::new(&config, store, Arc::new(Metrics::new()), Arc::new(users)).expect("runtime"),
    );
    let wasm = nave_tests::spoke("fixtures/hello-1");
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&wasm)));
    let (spoke, _) = runtime.load(&digest, &wasm).expect("hello loads");
    let spoke = Arc::new(spoke);
    let ctx = CallContext::detached("hello", "1.0.0", &runtime, "bench");

    // A wrong answer would mean timing an error path: check once that both sides agree.
    let described = runtime.describe(&spoke, &ctx).await.expect("describe");
    assert_eq!(
        described,
        native_manifest(black_box("1.0.0")),
        "the baseline must build what the spoke returns"
    );

    for _ in 0..WARM_UP {
        black_box(runtime.describe(&spoke, &ctx).await.expect("describe"));
        black_box(native_manifest(black_box("1.0.0")));
    }

    let mut spoke_times = Vec::with_capacity(CALLS);
    let started = Instant::now();
    for _ in 0..CALLS {
        let call = Instant::now();
        black_box(runtime.describe(&spoke, &ctx).await.expect("describe"));
        spoke_times.push(call.elapsed());
    }
    let sequential_rate = CALLS as f64 / started.elapsed().as_secs_f64();

    // An installation's calls: the instance of each call is kept for the next.
    let pool = runtime.warm_pool();
    let warm_ctx = CallContext {
        warm: Arc::downgrade(&pool),
        ..ctx.clone()
    };
    let mut warm_times = Vec::with_capacity(CALLS);
    black_box(runtime.describe(&spoke, &warm_ctx).await.expect("describe"));
    for _ in 0..CALLS {
        let call = Instant::now();
        black_box(runtime.describe(&spoke, &warm_ctx).await.expect("describe"));
        warm_times.push(call.elapsed());
    }
    assert_eq!(pool.idle(), 1, "the warm calls reused one instance");

    let mut native_times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let call = Instant::now();
        black_box(native_manifest(black_box("1.0.0")));
        native_times.push(call.elapsed());
    }

    let concurrent_rate = concurrent(&runtime, &spoke, &ctx).await;

    let spoke = Summary::of(spoke_times);
    let warm = Summary::of(warm_times);
    let native = Summary::of(native_times);
    println!();
    println!(
        "spoke call: Runtime::describe on fixtures/hello-1 (fresh store + instantiate + call)"
    );
    println!("{CALLS} sequential calls after {WARM_UP} warm-up calls; each timed on its own");
    println!();
    println!(
        "{:<34} {:>10} {:>10} {:>10}",
        "", "median µs", "p90 µs", "p99 µs"
    );
    spoke.row("spoke call (describe)");
    warm.row("spoke call, warm instance");
    native.row("native baseline (build Manifest)");
    spoke.ratio_row("ratio spoke / native (×)", &native);
    warm.ratio_row("ratio warm / native (×)", &native);
    println!();
    println!("target: median ≤ 10 µs  (measured {:.1} µs)", spoke.median);
    println!();
    println!("{:<34} {:>12}", "throughput", "calls/s");
    println!("{:<34} {:>12.0}", "1 task, sequential", sequential_rate);
    println!(
        "{:<34} {:>12.0}",
        format!("{TASKS} tasks × {CALLS} calls, 2 workers"),
        concurrent_rate
    );
    println!();
}

/// Runs `TASKS` tasks of `CALLS` calls each at once; returns calls per second.
async fn concurrent(runtime: &Arc<Runtime>, spoke: &Arc<LoadedSpoke>, ctx: &CallContext) -> f64 {
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (runtime, spoke, ctx) = (runtime.clone(), spoke.clone(), ctx.clone());
            tokio::spawn(async move {
                for _ in 0..CALLS {
                    black_box(runtime.describe(&spoke, &ctx).await.expect("describe"));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    (TASKS * CALLS) as f64 / started.elapsed().as_secs_f64()
}

/// What `hello` 1.0.0's `describe()` returns, built natively.
fn native_manifest(version: &str) -> Manifest {
    Manifest {
        name: "hello".into(),
        version: version.into(),
        role: Role::Channel,
        description: format!("Says hello, version {version}."),
        allowed_hosts: vec![],
        settings: vec![
            SettingSpec {
                name: "required_thing".into(),
                description: "Anything; it must be given.".into(),
                secret: false,
                required: true,
                default_value: None,
            },
            SettingSpec {
                name: "password".into(),
                description: "A secret, to test secret handling.".into(),
                secret: true,
                required: false,
                default_value: None,
            },
        ],
    }
}

/// Median, p90 and p99 of a set of timings, in µs.
struct Summary {
    median: f64,
    p90: f64,
    p99: f64,
}

impl Summary {
    fn of(mut times: Vec<Duration>) -> Summary {
        times.sort_unstable();
        // Nearest rank: the smallest time at or above the given share of the calls.
        let at = |share: f64| {
            let rank = ((share * times.len() as f64).ceil() as usize).clamp(1, times.len());
            times[rank - 1].as_secs_f64() * 1e6
        };
        Summary {
            median: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
        }
    }

    /// How many times `baseline` each figure is.
    fn ratio_row(&self, name: &str, baseline: &Summary) {
        println!(
            "{name:<34} {:>10.0} {:>10.0} {:>10.0}",
            self.median / baseline.median,
            self.p90 / baseline.p90,
            self.p99 / baseline.p99
        );
    }

    fn row(&self, name: &str) {
        println!(
            "{name:<34} {:>10.2} {:>10.2} {:>10.2}",
            self.median, self.p90, self.p99
        );
    }
}
