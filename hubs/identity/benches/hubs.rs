//! What identity hub calls cost, each against a baseline measured in the same run.
//!
//! **Measured**, on a hub over SQLite in a temporary folder with a seal key (as the host runs it):
//!
//! - **login**: `log_in` on [`LocalIdentity`] at the default argon2id cost (19 MiB, 2 passes):
//!   throttle check, user lookup, password check on the blocking pool, new session and tokens.
//!   Baseline: one argon2id verification of the same password at the same cost, on this thread,
//!   so the difference is what the hub adds around the hash.
//! - **access-token verification**: `verify_access_token` in-process (baseline: signature,
//!   claims and the session lookup) and through [`IdentityClient`] against [`grpc::serve`] on
//!   `127.0.0.1:0` (the same, plus a gRPC round trip on loopback).
//! - **a cheap call**: `jwks` in-process (baseline) and through gRPC; the difference is the
//!   cost of crossing the process boundary. Target: a gRPC hub call on loopback has p99 ≤ 1 ms.
//!
//! Each call is timed on its own, sequentially, after warm-up calls; ops/s is calls divided by
//! the wall time of the whole measured loop. Server and client share one two-worker tokio
//! runtime, so the figures include the scheduling a host process would add; on a small machine
//! busy with other work, the p99 of a call is mostly time spent waiting for a core.
//!
//! Run with `cargo xtask bench` or `cargo bench -p nave-identity --bench hubs`. It prints
//! figures; it asserts nothing about time.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use nave_hub_core::grpc::ServiceToken;
use nave_hub_core::{AuthContext, DbConfig, SystemClock};
use nave_identity::grpc::{self, IdentityClient};
use nave_identity::{IdentityApi, IdentityConfig, LocalIdentity, LogIn, SealKey, SignUp};
use tokio::sync::oneshot;

/// Logins are slow by design (argon2id); fewer of them still give a stable median.
const LOGIN_WARM_UP: usize = 5;
const LOGINS: usize = 60;
const WARM_UP: usize = 500;
const CALLS: usize = 4_000;
/// The target for one gRPC hub call on loopback.
const TARGET_P99: Duration = Duration::from_millis(1);

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "correct horse battery staple";

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    tokio.block_on(run());
}

/// Times `$n` sequential evaluations of `$call` (an expression, awaited inside if async).
macro_rules! measure {
    ($n:expr, $call:expr) => {{
        let mut times = Vec::with_capacity($n);
        let started = Instant::now();
        for _ in 0..$n {
            let call = Instant::now();
            black_box($call);
            times.push(call.elapsed());
        }
        Summary::of(times, started.elapsed())
    }};
}

/// Runs `$n` untimed evaluations of `$call`.
macro_rules! warm_up {
    ($n:expr, $call:expr) => {
        for _ in 0..$n {
            black_box($call);
        }
    };
}

async fn run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = IdentityConfig {
        signing_key_seal: Some(SealKey::new(rand::random())),
        ..IdentityConfig::default()
    };
    let db = DbConfig::sqlite_in(dir.path(), "identity");
    let hub = LocalIdentity::open(&db, config, Arc::new(SystemClock))
        .await
        .expect("identity hub opens");
    let anon = AuthContext::anonymous();
    let signup = SignUp {
        email: EMAIL.into(),
        password: PASSWORD.into(),
    };
    let tokens = hub.sign_up(&anon, signup).await.expect("sign up");
    let token = tokens.access_token.as_str();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local address");
    let service_token = ServiceToken::new(Some("bench-service-token".into()));
    let (stop, stopped) = oneshot::channel::<()>();
    let served: Arc<dyn IdentityApi> = Arc::new(hub.clone());
    let server = tokio::spawn(grpc::serve(
        listener,
        served,
        service_token.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let client = IdentityClient::connect(&format!("http://{addr}"), service_token)
        .await
        .expect("gRPC client connects");

    // A wrong answer would mean timing an error path: check once that every side agrees.
    let local_claims = hub.verify_access_token(&anon, token).await.expect("verify");
    let remote_claims = client
        .verify_access_token(&anon, token)
        .await
        .expect("verify");
    assert_eq!(local_claims, remote_claims, "gRPC and local verify agree");
    assert_eq!(
        hub.jwks(&anon).await.expect("jwks"),
        client.jwks(&anon).await.expect("jwks"),
        "gRPC and local JWKS agree"
    );
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default());
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("salt");
    let phc = argon2
        .hash_password(PASSWORD.as_bytes(), &salt)
        .expect("hash")
        .to_string();
    let phc = PasswordHash::new(&phc).expect("PHC string");
    let argon2_ok = || argon2.verify_password(PASSWORD.as_bytes(), &phc).is_ok();
    assert!(argon2_ok(), "the baseline verifies the right password");

    let login = || LogIn {
        email: EMAIL.into(),
        password: PASSWORD.into(),
        totp_code: None,
    };
    warm_up!(
        LOGIN_WARM_UP,
        hub.log_in(&anon, login()).await.expect("log in")
    );
    warm_up!(LOGIN_WARM_UP, argon2_ok());
    let log_in = measure!(LOGINS, hub.log_in(&anon, login()).await.expect("log in"));
    let argon2_only = measure!(LOGINS, argon2_ok());

    warm_up!(
        WARM_UP,
        hub.verify_access_token(&anon, token).await.expect("verify")
    );
    warm_up!(
        WARM_UP,
        client
            .verify_access_token(&anon, token)
            .await
            .expect("verify")
    );
    let verify_local = measure!(
        CALLS,
        hub.verify_access_token(&anon, token).await.expect("verify")
    );
    let verify_grpc = measure!(
        CALLS,
        client
            .verify_access_token(&anon, token)
            .await
            .expect("verify")
    );

    warm_up!(WARM_UP, hub.jwks(&anon).await.expect("jwks"));
    warm_up!(WARM_UP, client.jwks(&anon).await.expect("jwks"));
    let jwks_local = measure!(CALLS, hub.jwks(&anon).await.expect("jwks"));
    let jwks_grpc = measure!(CALLS, client.jwks(&anon).await.expect("jwks"));

    let _ = stop.send(());
    let _ = server.await;

    println!();
    println!("identity hub: SQLite in a tempdir, sealed signing keys, 2-worker tokio runtime");
    println!(
        "login: {LOGINS} calls after {LOGIN_WARM_UP} warm-up; others: {CALLS} calls after \
         {WARM_UP} warm-up; each call timed on its own"
    );
    println!();
    Summary::header();
    log_in.row("login (log_in, argon2id default)");
    argon2_only.row("  baseline: argon2id verify only");
    Summary::difference("  hub work around the hash", &log_in, &argon2_only);
    println!();
    verify_local.row("verify token, in-process");
    verify_grpc.row("verify token, gRPC loopback");
    Summary::difference(
        "  gRPC cost (gRPC − in-process)",
        &verify_grpc,
        &verify_local,
    );
    println!();
    jwks_local.row("jwks, in-process");
    jwks_grpc.row("jwks, gRPC loopback");
    Summary::difference("  gRPC cost (gRPC − in-process)", &jwks_grpc, &jwks_local);
    println!();
    for (name, summary) in [("jwks", &jwks_grpc), ("verify token", &verify_grpc)] {
        let met = summary.p99 <= TARGET_P99;
        println!(
            "target: gRPC hub call on loopback p99 ≤ {} µs: {name} p99 = {:.0} µs, {}",
            TARGET_P99.as_micros(),
            micros(summary.p99),
            if met { "met" } else { "NOT met" }
        );
    }
    println!();
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Median, p99 and mean of a set of timings, and the rate of the loop that produced them.
struct Summary {
    calls: usize,
    p50: Duration,
    p99: Duration,
    mean: Duration,
    ops_per_sec: f64,
}

impl Summary {
    fn of(mut times: Vec<Duration>, wall: Duration) -> Summary {
        times.sort_unstable();
        let calls = times.len();
        // Nearest rank: the smallest time at or above the given share of the calls.
        let at = |share: f64| {
            let rank = ((share * calls as f64).ceil() as usize).clamp(1, calls);
            times[rank - 1]
        };
        Summary {
            calls,
            p50: at(0.5),
            p99: at(0.99),
            mean: times.iter().sum::<Duration>() / calls as u32,
            ops_per_sec: calls as f64 / wall.as_secs_f64(),
        }
    }

    fn header() {
        println!(
            "{:<36} {:>6} {:>11} {:>11} {:>11} {:>10}",
            "", "calls", "p50 µs", "p99 µs", "mean µs", "ops/s"
        );
    }

    fn row(&self, name: &str) {
        println!(
            "{name:<36} {:>6} {:>11.1} {:>11.1} {:>11.1} {:>10.0}",
            self.calls,
            micros(self.p50),
            micros(self.p99),
            micros(self.mean),
            self.ops_per_sec
        );
    }

    /// A row of `a − b` per statistic (percentiles of the two runs, not of per-call differences).
    fn difference(name: &str, a: &Summary, b: &Summary) {
        let minus = |x: Duration, y: Duration| micros(x) - micros(y);
        println!(
            "{name:<36} {:>6} {:>11.1} {:>11.1} {:>11.1} {:>10}",
            "",
            minus(a.p50, b.p50),
            minus(a.p99, b.p99),
            minus(a.mean, b.mean),
            ""
        );
    }
}
