//! The whole message flow under load: signed Facebook webhooks in, Botpress (v12 Converse API,
//! a loopback fake) answering through the real Botpress spoke, replies out through the real
//! Facebook spoke to the Graph API fake — on SQLite, in one process.
//!
//! **Measured:**
//! - at a fixed rate, the latency from sending the webhook to the reply arriving at the fake
//!   Graph API (p50, p99, max), and whether every message was answered;
//! - the highest sustained rate: bursts of messages sent as fast as 32 connections allow, and
//!   the rate at which replies came back until the last one, with nothing lost; the median of
//!   three bursts.
//!
//! **Baseline:** `GET /healthz` of the same server over the same client, closed-loop: what the
//! HTTP stack alone does on this machine in this run.
//!
//! The host, the fakes and the load generator share the process and its cores. Run with
//! `cargo xtask bench` (or `cargo bench -p nave-tests --bench chatbot` with `NAVE_SPOKES_DIR`
//! set). It prints figures; it asserts nothing about time.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nave_tests::botpress::{FakeBotpress, install_botpress};
use nave_tests::{FACEBOOK_APP_SECRET, FakeGraph, TestHost, facebook_signature, install_facebook};
use serde_json::json;

/// Distinct senders (conversations) unless `NAVE_BENCH_SENDERS` says otherwise; each
/// conversation is worked on in order. `NAVE_BENCH_CALLS` (spoke calls at once),
/// `NAVE_BENCH_WARM` (warm instances kept) and `NAVE_BENCH_CONVERSATIONS` (conversations worked
/// on at once) override the platform's defaults.
const SENDERS: usize = 64;

/// The allocator the `nave` binary runs with (host/src/main.rs), so the in-process host is
/// measured as it ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
const CONNECTIONS: usize = 32;
/// Messages in one burst of the sustained run.
const BURST: usize = 4000;
/// Bursts in the sustained run; their median is its figure.
const BURSTS: usize = 3;

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    tokio.block_on(run());
}

struct Bench {
    host: TestHost,
    graph: FakeGraph,
    facebook: String,
    client: reqwest::Client,
}

async fn setup() -> Bench {
    let host = TestHost::start_with(|config| {
        config.log = "warn".into();
        config.messages.retry_base_ms = 200;
        // The platform's defaults, not the tests' smaller instance pool; both may be overridden.
        config.max_concurrent_calls = env_or("NAVE_BENCH_CALLS", 128);
        config.warm_instances = env_or("NAVE_BENCH_WARM", 64);
        config.messages.concurrency = env_or(
            "NAVE_BENCH_CONVERSATIONS",
            nave::config::MessagesConfig::default().concurrency,
        );
    })
    .await;
    let graph = FakeGraph::start().await;
    let botpress = FakeBotpress::start().await;
    let facebook = install_facebook(&host, &graph, "acme").await;
    let bot = install_botpress(
        &host,
        &botpress,
        "acme",
        json!({"api": "converse", "bot_id": "welcome-bot"}),
    )
    .await;
    // A quota no run reaches: refused messages get no reply, and would read as lost.
    host.import_plans_with(&["acme"], 100_000_000).await;
    host.set_routing_rules("acme", json!([{ "name": "bot", "then": { "bot": bot } }]))
        .await;
    // Keep the fake Botpress alive for the whole run.
    std::mem::forget(botpress);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS * 2)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    Bench {
        host,
        graph,
        facebook,
        client,
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn senders() -> usize {
    static SENDERS_SET: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SENDERS_SET.get_or_init(|| env_or("NAVE_BENCH_SENDERS", SENDERS))
}

fn body(i: usize) -> Vec<u8> {
    let sender = format!("PSID{}", i % senders());
    serde_json::to_vec(&json!({"object": "page", "entry": [
        {"id": "PAGE1", "time": 1700000000000u64, "messaging": [
            {"sender": {"id": sender}, "recipient": {"id": "PAGE1"}, "timestamp": 1700000000001u64,
             "message": {"mid": format!("mid-{i}"), "text": format!("q{i}")}}
        ]}
    ]}))
    .expect("json")
}

async fn post(b: &Bench, i: usize) -> bool {
    let body = body(i);
    let signature = facebook_signature(FACEBOOK_APP_SECRET, &body);
    b.client
        .post(b.host.at(&format!("/hooks/{}", b.facebook)))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .map(|r| r.status() == 200)
        .unwrap_or(false)
}

/// Sends messages `first..first + count` as fast as [`CONNECTIONS`] connections allow; returns
/// how long the webhooks took to be accepted, the replies that arrived, and how long until the
/// last of them.
async fn burst(b: &Arc<Bench>, first: usize, count: usize) -> (Duration, usize, Duration) {
    let skip = b.graph.sent_count();
    let start = Instant::now();
    let counter = Arc::new(AtomicUsize::new(first));
    let end = first + count;
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (b, counter) = (b.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    break;
                }
                post(&b, i).await;
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let accepted = start.elapsed();
    let got = wait_replies(b, skip, count, Duration::from_secs(15)).await;
    (accepted, got, start.elapsed())
}

/// Waits until `count` replies arrived since `skip`, or `patience` passed without progress.
async fn wait_replies(b: &Bench, skip: usize, count: usize, patience: Duration) -> usize {
    let mut last = (0, Instant::now());
    loop {
        let got = b.graph.sent_count().saturating_sub(skip);
        if got >= count {
            return got;
        }
        if got != last.0 {
            last = (got, Instant::now());
        } else if last.1.elapsed() > patience {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn hello(b: &Bench) -> f64 {
    let done = Arc::new(AtomicUsize::new(0));
    let end = Instant::now() + Duration::from_secs(3);
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, url, done) = (b.client.clone(), b.host.at("/healthz"), done.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                if client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
                {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    done.load(Ordering::Relaxed) as f64 / 3.0
}

/// Sends `rate` messages a second for `seconds`; returns the latency of each reply.
async fn fixed_rate(b: &Bench, first: usize, rate: u32, seconds: u32) -> (usize, Vec<Duration>) {
    let b = Arc::new(b);
    let total = (rate * seconds) as usize;
    let skip = b.graph.sent_count();
    let mut sent_at = HashMap::with_capacity(total);
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut posts = tokio::task::JoinSet::new();
    for i in first..first + total {
        ticker.tick().await;
        sent_at.insert(format!("You said: q{i}"), Instant::now());
        let (client, url, body) = (
            b.client.clone(),
            b.host.at(&format!("/hooks/{}", b.facebook)),
            body(i),
        );
        posts.spawn(async move {
            let signature = facebook_signature(FACEBOOK_APP_SECRET, &body);
            client
                .post(url)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", signature)
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        });
    }
    while posts.join_next().await.is_some() {}
    let got = wait_replies(&b, skip, total, Duration::from_secs(10)).await;
    let mut latencies: Vec<Duration> = b
        .graph
        .sent_timed()
        .into_iter()
        .skip(skip)
        .filter_map(|(_, text, at)| sent_at.get(&text).map(|t| at.duration_since(*t)))
        .collect();
    latencies.sort();
    (got, latencies)
}

async fn run() {
    let b = setup().await;
    // Warm-up: instances, connections, SQLite pages.
    let mut next = 0;
    for _ in 0..50 {
        post(&b, next).await;
        next += 1;
    }
    wait_replies(&b, 0, 50, Duration::from_secs(10)).await;

    let hello = hello(&b).await;
    println!("chatbot/hello: {hello:.0} req/s (GET /healthz, {CONNECTIONS} connections)");

    for rate in [100u32, 250, 500, 1000] {
        let seconds = 4;
        let (got, latencies) = fixed_rate(&b, next, rate, seconds).await;
        next += (rate * seconds) as usize;
        let total = (rate * seconds) as usize;
        println!(
            "chatbot/fixed {rate} msg/s for {seconds} s: answered {got}/{total}; webhook → reply p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(&latencies, 50.0).as_secs_f64() * 1e3,
            percentile(&latencies, 99.0).as_secs_f64() * 1e3,
            latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );
    }

    // Sustained: bursts through 32 connections, replies counted until the last; one burst is
    // at the mercy of the shared machine, so the median of three is the figure.
    let b = Arc::new(b);
    let mut rates = Vec::with_capacity(BURSTS);
    for round in 1..=BURSTS {
        let (accepted, got, all) = burst(&b, next, BURST).await;
        next += BURST;
        let rate = got as f64 / all.as_secs_f64();
        rates.push(rate);
        println!(
            "chatbot/sustained ({round} of {BURSTS}): {BURST} webhooks accepted in {:.2} s ({:.0}/s); {got}/{BURST} replies in {:.2} s → {rate:.0} messages/s end to end",
            accepted.as_secs_f64(),
            BURST as f64 / accepted.as_secs_f64(),
            all.as_secs_f64(),
        );
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "chatbot/sustained: median of {BURSTS} bursts {median:.0} messages/s end to end ({:.1} % of hello)",
        100.0 * median / hello,
    );
    // Why a message went dead, if one did.
    let tenant = b.host.tenant_id("acme").await;
    if let Ok(response) = b
        .host
        .operator(
            reqwest::Method::GET,
            &format!("/v1/tenants/{tenant}/dead-letters"),
        )
        .send()
        .await
        && let Ok(page) = response.json::<serde_json::Value>().await
    {
        for dead in page["items"].as_array().into_iter().flatten() {
            println!(
                "chatbot/dead: {} message: {}",
                dead["direction"], dead["last_error"]
            );
        }
    }
    // What the pipeline did meanwhile: retries and dead letters would explain a slow run.
    for line in b.host.metrics().await.lines().filter(|line| {
        line.starts_with("nave_messages")
            || line.starts_with("nave_circuit_opened")
            || line.starts_with("nave_spoke_instances")
            || (line.starts_with("nave_spoke_call_duration_seconds_") && !line.contains("_bucket"))
    }) {
        println!("chatbot/metrics ({} senders): {line}", senders());
    }
}
