//! Prometheus metrics of the host, served at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of one spoke call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The plugin's name.
    pub plugin: String,
    /// The exported function, e.g. `handle-webhook`.
    pub function: &'static str,
    /// `ok`, `spoke_error`, or a failure kind (`timeout`, `memory`, `trap`, ...).
    pub outcome: &'static str,
}

/// Labels of a spoke call's duration.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FunctionLabels {
    /// The plugin's name.
    pub plugin: String,
    /// The exported function.
    pub function: &'static str,
}

/// A single `kind` or `result` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// The kind.
    pub kind: &'static str,
}

/// Labels of an outside host: `name:port`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HostLabels {
    /// The host and port.
    pub host: String,
}

/// Labels of a webhook request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    /// The HTTP status answered.
    pub status: u16,
}

/// Every metric the host exports.
pub struct Metrics {
    registry: Registry,
    /// Spoke calls by plugin, function and outcome.
    pub spoke_calls: Family<CallLabels, Counter>,
    /// Spoke call durations, seconds.
    pub spoke_call_seconds: Family<FunctionLabels, Histogram>,
    /// Failed spoke calls by kind.
    pub spoke_failures: Family<KindLabels, Counter>,
    /// Webhook requests by answered status.
    pub webhook_requests: Family<StatusLabels, Counter>,
    /// Inbound events stored (new, not duplicates).
    pub events_stored: Counter,
    /// Webhook deliveries refused by an installation's rate limit.
    pub webhooks_throttled: Counter,
    /// Compiled-code cache look-ups by result (`hit`, `miss`).
    pub compile_cache: Family<KindLabels, Counter>,
    /// Instances spoke calls ran in, by kind (`warm`: kept from an earlier call of the
    /// installation, `fresh`: instantiated for the call).
    pub spoke_instances: Family<KindLabels, Counter>,
    /// Outbound requests of spokes refused, by reason.
    pub egress_denied: Family<KindLabels, Counter>,
    /// Spoke log lines dropped over the per-call cap.
    pub spoke_log_dropped: Counter,
    /// Circuit state per outside host: 0 closed, 1 open, 2 half-open.
    pub circuit_state: Family<HostLabels, Gauge>,
    /// Times a host's circuit opened.
    pub circuit_opened: Family<HostLabels, Counter>,
    /// Calls refused by an open circuit.
    pub circuit_refused: Family<HostLabels, Counter>,
    /// Messages by how the message hub settled them (`processed`, `refused`, `delivered`, ...);
    /// read from the hub's counters when scraped.
    pub messages: Family<KindLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh set of metrics, registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("nave");
        let spoke_calls = Family::<CallLabels, Counter>::default();
        let spoke_call_seconds = Family::<FunctionLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 30.0,
            ])
        });
        let spoke_failures = Family::<KindLabels, Counter>::default();
        let webhook_requests = Family::<StatusLabels, Counter>::default();
        let events_stored = Counter::default();
        let webhooks_throttled = Counter::default();
        let compile_cache = Family::<KindLabels, Counter>::default();
        let spoke_instances = Family::<KindLabels, Counter>::default();
        let egress_denied = Family::<KindLabels, Counter>::default();
        let spoke_log_dropped = Counter::default();
        let circuit_state = Family::<HostLabels, Gauge>::default();
        let circuit_opened = Family::<HostLabels, Counter>::default();
        let circuit_refused = Family::<HostLabels, Counter>::default();
        let messages = Family::<KindLabels, Gauge>::default();
        registry.register(
            "circuit_state",
            "Circuit breaker state per outside host: 0 closed, 1 open, 2 half-open",
            circuit_state.clone(),
        );
        registry.register(
            "circuit_opened",
            "Times a host's circuit opened",
            circuit_opened.clone(),
        );
        registry.register(
            "circuit_refused",
            "Outbound calls refused by an open circuit",
            circuit_refused.clone(),
        );
        registry.register(
            "messages",
            "Messages the message hub settled since start, by outcome",
            messages.clone(),
        );
        registry.register(
            "spoke_calls",
            "Spoke calls by plugin, function and outcome",
            spoke_calls.clone(),
        );
        registry.register(
            "spoke_call_duration_seconds",
            "Duration of spoke calls, instantiation included",
            spoke_call_seconds.clone(),
        );
        registry.register(
            "spoke_failures",
            "Failed spoke calls by kind",
            spoke_failures.clone(),
        );
        registry.register(
            "webhook_requests",
            "Webhook requests by answered status",
            webhook_requests.clone(),
        );
        registry.register(
            "events_stored",
            "Inbound events stored, duplicates excluded",
            events_stored.clone(),
        );
        registry.register(
            "webhooks_throttled",
            "Webhook deliveries refused by their installation's rate limit (ingress.rate_limit_per_minute)",
            webhooks_throttled.clone(),
        );
        registry.register(
            "compile_cache",
            "Compiled-code cache look-ups by result",
            compile_cache.clone(),
        );
        registry.register(
            "spoke_instances",
            "Instances spoke calls ran in: warm (kept from an earlier call of the installation) or fresh",
            spoke_instances.clone(),
        );
        registry.register(
            "egress_denied",
            "Outbound requests of spokes refused, by reason",
            egress_denied.clone(),
        );
        registry.register(
            "spoke_log_dropped",
            "Spoke log lines dropped over the per-call cap",
            spoke_log_dropped.clone(),
        );
        Metrics {
            registry,
            spoke_calls,
            spoke_call_seconds,
            spoke_failures,
            webhook_requests,
            events_stored,
            webhooks_throttled,
            compile_cache,
            spoke_instances,
            egress_denied,
            spoke_log_dropped,
            circuit_state,
            circuit_opened,
            circuit_refused,
            messages,
        }
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
