//! Webhook ingress throughput: signed Facebook Messenger batches against a bare route of the
//! same server.
//!
//! **Measured:** `POST /hooks/{installation}` of the facebook spoke, the whole way a real
//! delivery goes: axum, the installation look-up, a fresh spoke instance checking the
//! `x-hub-signature-256` HMAC and parsing the batch, the cached sender profile read from kv,
//! and the event stored in SQLite. Every body is a one-message batch with its own `mid`, so
//! nothing is dropped as a duplicate; its 16 senders are looked up at the Graph API (a loopback
//! fake) only at the start.
//!
//! **Baseline:** `GET /healthz` of the same server, which answers a tiny JSON without touching
//! a spoke or the database: what the HTTP stack alone costs. The ratio ingress / hello says how
//! much of that throughput the ingress keeps.
//!
//! The load is closed-loop: 32 keep-alive HTTP/1.1 connections, each sending its next request
//! as soon as the previous answer arrives, for 5 s after 1 s of warm-up. Only 200 answers count
//! as successes; other statuses and transport failures are reported as errors. The host, the
//! fake and the load generator run in this one process and share its cores, so the figures are
//! below what a host on its own machine would do.
//!
//! Run with `cargo xtask bench` (or `cargo bench -p nave-tests --bench ingress` with
//! `NAVE_SPOKES_DIR` set). It prints figures; it asserts nothing about time.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, header};
use hyper_util::rt::TokioIo;
use nave_tests::{
    FACEBOOK_APP_SECRET, FakeGraph, TestHost, facebook_signature, install_facebook, metric,
};
use serde_json::json;
use tokio::net::TcpStream;

const CONNECTIONS: usize = 32;
const WARM_UP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);
/// A request still unanswered after this counts as an error and its connection is replaced.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const SENDERS: usize = 16;
/// Signed bodies made before the run; far more than 6 s can use at the rates seen.
const BODIES: usize = 100_000;
const SECRET: &str = FACEBOOK_APP_SECRET;

/// Makes the request of the given sequence number, or `None` when there is none left.
type MakeRequest = dyn Fn(usize) -> Option<Request<Full<Bytes>>> + Send + Sync;

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    tokio.block_on(run());
}

async fn run() {
    let host =
        TestHost::start_with(|config| config.max_concurrent_calls = CONNECTIONS as u32).await;
    let graph = FakeGraph::start().await;
    let id = install_facebook(&host, &graph, "acme").await;
    let addr: SocketAddr = host
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("host address");
    let hook = format!("/hooks/{id}");

    // Timing a refusal would flatter the ingress: check one delivery is taken as Facebook expects.
    let (check, check_signature) = signed_batch(BODIES);
    let answer = host
        .http
        .post(host.at(&hook))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", check_signature.as_str())
        .body(check)
        .send()
        .await
        .expect("check delivery");
    assert_eq!(answer.status().as_u16(), 200, "a signed batch is accepted");
    assert_eq!(answer.text().await.expect("body"), "EVENT_RECEIVED");

    let bodies: Arc<Vec<(Bytes, String)>> = Arc::new((0..BODIES).map(signed_batch).collect());
    let authority = addr.to_string();

    let hello_make: Arc<MakeRequest> = Arc::new({
        let authority = authority.clone();
        move |_| {
            Some(
                request(Method::GET, "/healthz", &authority)
                    .body(Full::default())
                    .expect("request"),
            )
        }
    });
    let hello = load(addr, hello_make).await;

    let ingress_make: Arc<MakeRequest> = Arc::new(move |n| {
        let (body, signature) = bodies.get(n)?;
        let request = request(Method::POST, &hook, &authority)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-hub-signature-256", signature.as_str())
            .body(Full::new(body.clone()))
            .expect("request");
        Some(request)
    });
    let ingress = load(addr, ingress_make).await;

    let metrics = host.metrics().await;
    let lookups = graph
        .received()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    report(
        &hello,
        &ingress,
        metric(&metrics, "nave_events_stored_total"),
        lookups,
    );
}

/// A one-message Messenger batch with a unique `mid`, and its signature.
fn signed_batch(n: usize) -> (Bytes, String) {
    let time = 1_700_000_000_000u64 + n as u64;
    let body = json!({"object": "page", "entry": [
        {"id": "PAGE1", "time": time, "messaging": [
            {"sender": {"id": format!("USER{}", n % SENDERS)}, "recipient": {"id": "PAGE1"}, "timestamp": time,
             "message": {"mid": format!("m-{n}"), "text": format!("hello {n}")}}
        ]}
    ]});
    let body = serde_json::to_vec(&body).expect("JSON");
    let signature = facebook_signature(SECRET, &body);
    (Bytes::from(body), signature)
}

fn request(method: Method, path: &str, authority: &str) -> hyper::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, authority)
}

/// What the connections of one run saw.
#[derive(Default)]
struct Tally {
    /// Latencies of the 200 answers to requests sent in the measured window.
    latencies: Vec<Duration>,
    /// Other statuses answered in the measured window, by status.
    statuses: BTreeMap<u16, usize>,
    /// Requests of the measured window that got no answer (connection error or timeout).
    transport_errors: usize,
    /// The first transport error, to show what it was.
    first_error: Option<String>,
    /// 200 answers over the whole run, warm-up included (to compare with the events stored).
    all_ok: usize,
    /// A connection stopped because the pre-made bodies ran out.
    exhausted: bool,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.transport_errors += other.transport_errors;
        self.first_error = self.first_error.take().or(other.first_error);
        self.all_ok += other.all_ok;
        self.exhausted |= other.exhausted;
    }

    fn errors(&self) -> usize {
        self.statuses.values().sum::<usize>() + self.transport_errors
    }
}

/// Runs `CONNECTIONS` closed-loop connections for the warm-up then the measured window.
async fn load(addr: SocketAddr, make: Arc<MakeRequest>) -> Tally {
    let next = Arc::new(AtomicUsize::new(0));
    let measured_from = Instant::now() + WARM_UP;
    let until = measured_from + MEASURE;
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            tokio::spawn(connection(
                addr,
                make.clone(),
                next.clone(),
                measured_from,
                until,
            ))
        })
        .collect();
    let all = futures::future::join_all(workers);
    let results = tokio::time::timeout(WARM_UP + MEASURE + REQUEST_TIMEOUT * 2, all)
        .await
        .expect("the load run ends on its own");
    let mut tally = Tally::default();
    for result in results {
        tally.merge(result.expect("connection task"));
    }
    tally
}

/// One keep-alive connection sending requests back to back until `until`.
async fn connection(
    addr: SocketAddr,
    make: Arc<MakeRequest>,
    next: Arc<AtomicUsize>,
    measured_from: Instant,
    until: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut sender = None;
    loop {
        let sent = Instant::now();
        if sent >= until {
            break;
        }
        let Some(request) = make(next.fetch_add(1, Ordering::Relaxed)) else {
            tally.exhausted = true;
            break;
        };
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, send(addr, &mut sender, request)).await;
        let measured = sent >= measured_from;
        match outcome {
            Ok(Ok(200)) => {
                tally.all_ok += 1;
                if measured {
                    tally.latencies.push(sent.elapsed());
                }
            }
            Ok(Ok(status)) if measured => *tally.statuses.entry(status).or_default() += 1,
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                sender = None;
                if measured {
                    tally.transport_errors += 1;
                    tally.first_error.get_or_insert(err);
                }
            }
            Err(_) => {
                sender = None;
                if measured {
                    tally.transport_errors += 1;
                    tally
                        .first_error
                        .get_or_insert(format!("no answer within {REQUEST_TIMEOUT:?}"));
                }
            }
        }
    }
    tally
}

/// Sends one request on the connection, opening it first if needed; returns the status once
/// the whole body has arrived.
async fn send(
    addr: SocketAddr,
    sender: &mut Option<SendRequest<Full<Bytes>>>,
    request: Request<Full<Bytes>>,
) -> Result<u16, String> {
    if sender.is_none() {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|err| format!("connect: {err}"))?;
        stream
            .set_nodelay(true)
            .map_err(|err| format!("nodelay: {err}"))?;
        let (opened, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|err| format!("handshake: {err}"))?;
        tokio::spawn(connection);
        *sender = Some(opened);
    }
    let open = sender.as_mut().expect("opened above");
    open.ready()
        .await
        .map_err(|err| format!("connection: {err}"))?;
    let response = open
        .send_request(request)
        .await
        .map_err(|err| format!("request: {err}"))?;
    let status = response.status().as_u16();
    response
        .into_body()
        .collect()
        .await
        .map_err(|err| format!("body: {err}"))?;
    Ok(status)
}

/// Throughput and latency of one route.
struct Figures {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
}

impl Figures {
    fn of(tally: &Tally) -> Figures {
        let mut times = tally.latencies.clone();
        times.sort_unstable();
        // Nearest rank: the smallest latency at or above the given share of the answers.
        let at = |share: f64| match times.len() {
            0 => f64::NAN,
            len => {
                times[((share * len as f64).ceil() as usize).clamp(1, len) - 1].as_secs_f64() * 1e3
            }
        };
        Figures {
            rate: times.len() as f64 / MEASURE.as_secs_f64(),
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            errors: tally.errors(),
        }
    }

    fn row(&self, name: &str) {
        println!(
            "{name:<36} {:>10.0} {:>9.2} {:>9.2} {:>8}",
            self.rate, self.p50_ms, self.p99_ms, self.errors
        );
    }
}

fn report(hello: &Tally, ingress: &Tally, events_stored: f64, lookups: usize) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let (hello_figures, ingress_figures) = (Figures::of(hello), Figures::of(ingress));
    println!();
    println!("webhook ingress: signed Facebook batches vs GET /healthz of the same host");
    println!(
        "closed loop, {CONNECTIONS} keep-alive HTTP/1.1 connections, {}s warm-up + {}s measured per route",
        WARM_UP.as_secs(),
        MEASURE.as_secs()
    );
    println!(
        "host, fake Graph API and load generator all in this process, sharing its {cores} cores \
         (tokio multi-thread, {cores} workers)"
    );
    println!();
    println!(
        "{:<36} {:>10} {:>9} {:>9} {:>8}",
        "route", "req/s", "p50 ms", "p99 ms", "errors"
    );
    hello_figures.row("GET /healthz (hello)");
    ingress_figures.row("POST /hooks/{id} (facebook, signed)");
    println!();
    println!(
        "ingress / hello: {:.1} %   target: ≥ 50 %",
        100.0 * ingress_figures.rate / hello_figures.rate
    );
    println!();
    for (name, tally) in [("hello", hello), ("ingress", ingress)] {
        if tally.errors() > 0 {
            println!(
                "{name} errors: statuses {:?}, {} without an answer (first: {})",
                tally.statuses,
                tally.transport_errors,
                tally.first_error.as_deref().unwrap_or("-")
            );
        }
        if tally.exhausted {
            println!("{name}: the {BODIES} pre-made bodies ran out before the end; raise BODIES");
        }
    }
    println!(
        "events stored: {events_stored} for {} facebook 200s (warm-up and one check included); \
         profile look-ups at the fake Graph API: {lookups} for {SENDERS} senders",
        ingress.all_ok + 1
    );
    println!();
}
