//! Circuit breakers per outside host, on the spokes' outbound HTTP.
//!
//! Every installation that calls the same outside host (say a Botpress server that is down)
//! shares one breaker. After [`BreakerConfig::failure_threshold`] failures in a row (no answer,
//! or a 5xx), the circuit **opens**: calls to that host fail at once, without a connection, for
//! [`BreakerConfig::open_for`]; the message hub's retries with back-off then wait instead of
//! piling load on a host that is struggling. Then one call goes through as a **probe**
//! (half-open): an answer closes the circuit, a failure opens it again.
//!
//! The state of each host is in `/metrics` (`nave_circuit_state`: 0 closed, 1 open, 2
//! half-open), with how often circuits opened and how many calls they refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics::{HostLabels, Metrics};

/// When circuits open and for how long.
#[derive(Debug, Clone, Copy)]
pub struct BreakerConfig {
    /// Failures in a row that open the circuit; 0 turns breakers off.
    pub failure_threshold: u32,
    /// How long an open circuit refuses calls before a probe.
    pub open_for: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen,
}

impl State {
    fn gauge(self) -> i64 {
        match self {
            State::Closed { .. } => 0,
            State::Open { .. } => 1,
            State::HalfOpen => 2,
        }
    }
}

/// The breakers of every outside host.
pub struct Breakers {
    config: BreakerConfig,
    hosts: Mutex<HashMap<String, State>>,
    metrics: Arc<Metrics>,
}

/// Why a call was refused without being tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open;

impl Breakers {
    /// Breakers with `config`, reporting to `metrics`.
    pub fn new(config: BreakerConfig, metrics: Arc<Metrics>) -> Breakers {
        Breakers {
            config,
            hosts: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    fn set(&self, hosts: &mut HashMap<String, State>, host: &str, state: State) {
        let before = hosts.insert(host.to_owned(), state);
        if before.map(State::gauge) != Some(state.gauge()) {
            let labels = HostLabels {
                host: host.to_owned(),
            };
            self.metrics
                .circuit_state
                .get_or_create(&labels)
                .set(state.gauge());
            if matches!(state, State::Open { .. }) {
                self.metrics.circuit_opened.get_or_create(&labels).inc();
                tracing::warn!(%host, open_for = ?self.config.open_for, "circuit opened: the host keeps failing");
            } else if matches!(state, State::Closed { .. }) {
                tracing::info!(%host, "circuit closed: the host answers again");
            }
        }
    }

    /// Whether a call to `host` (`name:port`) may go out now. An open circuit whose time is up
    /// lets exactly one call through as a probe.
    pub fn admit(&self, host: &str) -> Result<(), Open> {
        if self.config.failure_threshold == 0 {
            return Ok(());
        }
        let mut hosts = self.hosts.lock().expect("breakers lock");
        let state = hosts
            .get(host)
            .copied()
            .unwrap_or(State::Closed { failures: 0 });
        match state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if Instant::now() >= until => {
                self.set(&mut hosts, host, State::HalfOpen);
                Ok(())
            }
            State::Open { .. } | State::HalfOpen => {
                self.metrics
                    .circuit_refused
                    .get_or_create(&HostLabels {
                        host: host.to_owned(),
                    })
                    .inc();
                Err(Open)
            }
        }
    }

    /// Records how a call to `host` ended: `true` when the host answered (any status below 500).
    pub fn record(&self, host: &str, answered: bool) {
        if self.config.failure_threshold == 0 {
            return;
        }
        let mut hosts = self.hosts.lock().expect("breakers lock");
        let state = hosts
            .get(host)
            .copied()
            .unwrap_or(State::Closed { failures: 0 });
        let next = match (state, answered) {
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) if failures + 1 < self.config.failure_threshold => {
                State::Closed {
                    failures: failures + 1,
                }
            }
            (_, false) => State::Open {
                until: Instant::now() + self.config.open_for,
            },
        };
        self.set(&mut hosts, host, next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breakers(open_for: Duration) -> Breakers {
        Breakers::new(
            BreakerConfig {
                failure_threshold: 3,
                open_for,
            },
            Arc::new(Metrics::new()),
        )
    }

    #[test]
    fn failures_in_a_row_open_the_circuit_and_an_answer_resets_the_count() {
        let b = breakers(Duration::from_secs(60));
        b.record("a:80", false);
        b.record("a:80", false);
        b.record("a:80", true);
        b.record("a:80", false);
        b.record("a:80", false);
        assert_eq!(
            b.admit("a:80"),
            Ok(()),
            "two failures in a row: still closed"
        );
        b.record("a:80", false);
        assert_eq!(b.admit("a:80"), Err(Open));
        assert_eq!(b.admit("b:80"), Ok(()), "other hosts are not affected");
        let text = b.metrics.encode();
        assert!(
            text.contains("nave_circuit_state{host=\"a:80\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("nave_circuit_refused_total{host=\"a:80\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn after_the_open_time_one_probe_goes_through_and_decides() {
        let b = breakers(Duration::from_millis(1));
        for _ in 0..3 {
            b.record("a:80", false);
        }
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(b.admit("a:80"), Ok(()), "the probe");
        assert_eq!(b.admit("a:80"), Err(Open), "only one probe at a time");
        b.record("a:80", false);
        assert_eq!(b.admit("a:80"), Err(Open), "a failed probe opens it again");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(b.admit("a:80"), Ok(()));
        b.record("a:80", true);
        assert_eq!(b.admit("a:80"), Ok(()));
        assert_eq!(b.admit("a:80"), Ok(()), "closed again");
        assert!(
            b.metrics
                .encode()
                .contains("nave_circuit_state{host=\"a:80\"} 0")
        );
    }
}
