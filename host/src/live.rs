//! Live settings: the config hub's values that the host applies on every call — a spoke call's
//! deadline and memory cap, the price of a message — held in memory and kept current from the
//! hub's change stream, so a call never waits on a config lookup and a change applies to the
//! next call without a restart.
//!
//! The cache holds what is set at each scope (not resolved values), so one tenant-wide change
//! reaches every installation of the tenant. Each entry carries the version that set it and an
//! older version never overwrites a newer one, so the two ways changes arrive — the REST route
//! that made the change ([`LiveSettings::apply`] at once) and the watch stream — can race freely.
//!
//! Resolution, nearest first; the host's own settings are the fallback and its limits the
//! ceiling:
//!
//! | setting | order |
//! |---|---|
//! | `spoke.deadline_ms`, `spoke.memory_mib` | installation scope, the installation's own `deadline_ms`/`memory_mib`, tenant, global, `--spoke-deadline-ms`/`--spoke-memory-mib`; at most `limits.max_spoke_*` |
//! | `billing.message_cost` | tenant, global, `[messages] message_cost` |
//! | `ingress.rate_limit_per_minute` | installation, tenant, global (each installation its own allowance); none set or 0: no limit |

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::StreamExt;
use nave_config::{Change, ChangeNotice, ConfigApi, Scope};
use nave_hub_core::AuthContext;
use tokio::sync::watch;
use uuid::Uuid;

use crate::config::Config;
use crate::store::InstallationRecord;

/// The call deadline, in milliseconds.
pub const DEADLINE: &str = "spoke.deadline_ms";
/// The memory cap of a spoke instance, in MiB.
pub const MEMORY: &str = "spoke.memory_mib";
/// The price of one handled message, in the wallet's minor units.
pub const MESSAGE_COST: &str = "billing.message_cost";
/// The most webhook deliveries an installation takes a minute; 0: no limit.
pub const WEBHOOK_RATE: &str = "ingress.rate_limit_per_minute";
/// The settings this host applies; changes of others are not fetched.
const KEYS: [&str; 4] = [DEADLINE, MEMORY, MESSAGE_COST, WEBHOOK_RATE];

/// How long the change stream must stay quiet after start before the replay of past changes
/// counts as done (the stream does not mark where the replay ends).
const QUIET: Duration = Duration::from_millis(100);
/// How long a start waits for that replay before it serves with what it has.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(10);
/// Wait before reconnecting to a change stream that ended or failed.
const RECONNECT: Duration = Duration::from_secs(1);

/// One setting at one scope: the version that last changed it and its value then (`None`:
/// unset there).
#[derive(Debug, Clone, Copy)]
struct Entry {
    version: u64,
    value: Option<i64>,
}

/// The live values of one host, shared by the registry, the message pipeline and the REST
/// routes of the config hub.
#[derive(Debug)]
pub struct LiveSettings {
    /// By (scope storage key, setting key).
    entries: RwLock<HashMap<(String, &'static str), Entry>>,
    /// The operator's defaults and ceilings.
    fallback: Fallback,
    /// Whether the replay of past changes is done.
    caught_up: watch::Sender<bool>,
    /// The task following the hub's changes, stopped with the host.
    follower: Mutex<Option<tokio::task::AbortHandle>>,
}

/// What applies where no scope sets a value, and the most a scope may ask for.
#[derive(Debug, Clone, Copy)]
struct Fallback {
    deadline_ms: u64,
    memory_mib: u64,
    max_deadline_ms: u64,
    max_memory_mib: u64,
    message_cost: i64,
}

impl LiveSettings {
    /// An empty cache over the operator's defaults and limits.
    pub fn new(config: &Config) -> LiveSettings {
        LiveSettings {
            entries: RwLock::default(),
            fallback: Fallback {
                deadline_ms: config.spoke_deadline.as_millis() as u64,
                memory_mib: config.spoke_memory_bytes >> 20,
                max_deadline_ms: config.limits.max_spoke_deadline_ms,
                max_memory_mib: config.limits.max_spoke_memory_mib,
                message_cost: config.messages.message_cost,
            },
            caught_up: watch::Sender::new(false),
            follower: Mutex::default(),
        }
    }

    /// Takes in a change (from the route that made it, or the stream); older than what is
    /// held, or of a setting the host does not apply, it changes nothing.
    pub fn apply(&self, change: &Change) {
        let Some(key) = KEYS.iter().copied().find(|k| *k == change.key) else {
            return;
        };
        let value = change.value.as_ref().and_then(serde_json::Value::as_i64);
        let mut entries = self.entries.write().expect("live settings lock");
        let entry = entries
            .entry((change.scope.storage_key(), key))
            .or_insert(Entry {
                version: 0,
                value: None,
            });
        if change.version > entry.version {
            *entry = Entry {
                version: change.version,
                value,
            };
        }
    }

    /// The value of `key` at the nearest of `scopes` that sets it.
    fn nearest(&self, key: &str, scopes: &[Scope]) -> Option<i64> {
        let entries = self.entries.read().expect("live settings lock");
        scopes.iter().find_map(|scope| {
            let found = KEYS.iter().copied().find(|k| *k == key)?;
            entries.get(&(scope.storage_key(), found))?.value
        })
    }

    /// The deadline and memory cap (bytes) of the next call of an installation.
    pub fn call_limits(&self, record: &InstallationRecord) -> (Duration, u64) {
        let f = self.fallback;
        let limit = |key: &str, own: Option<u64>, default: u64, max: u64| {
            let Ok(tenant) = Uuid::parse_str(&record.tenant) else {
                return own.unwrap_or(default).min(max);
            };
            let installation = Scope::Installation {
                tenant_id: tenant,
                installation_id: record.id,
            };
            let wider = [Scope::Tenant(tenant), Scope::Global];
            let from_config = |scopes: &[Scope]| {
                self.nearest(key, scopes)
                    .and_then(|v| u64::try_from(v).ok())
                    .filter(|v| *v > 0)
            };
            from_config(&[installation])
                .or(own)
                .or_else(|| from_config(&wider))
                .unwrap_or(default)
                .min(max)
        };
        let deadline_ms = limit(
            DEADLINE,
            record.deadline_ms,
            f.deadline_ms,
            f.max_deadline_ms,
        );
        let memory_mib = limit(MEMORY, record.memory_mib, f.memory_mib, f.max_memory_mib);
        (Duration::from_millis(deadline_ms), memory_mib << 20)
    }

    /// The webhook deliveries an installation takes a minute, `None` for no limit: the
    /// installation's setting, else its tenant's, else the global one (each installation has
    /// its own allowance of that size); 0 at the nearest scope that sets it lifts the limit.
    pub fn webhook_rate(&self, record: &InstallationRecord) -> Option<u32> {
        let tenant = Uuid::parse_str(&record.tenant).ok()?;
        let scopes = [
            Scope::Installation {
                tenant_id: tenant,
                installation_id: record.id,
            },
            Scope::Tenant(tenant),
            Scope::Global,
        ];
        self.nearest(WEBHOOK_RATE, &scopes)
            .and_then(|rate| u32::try_from(rate).ok())
            .filter(|rate| *rate > 0)
    }

    /// The price of one message of `tenant`.
    pub fn message_cost(&self, tenant: Uuid) -> i64 {
        self.nearest(MESSAGE_COST, &[Scope::Tenant(tenant), Scope::Global])
            .filter(|cost| *cost >= 0)
            .unwrap_or(self.fallback.message_cost)
    }

    /// Waits until the replay of past changes is done, or `CATCH_UP_LIMIT` passed; `false` in
    /// the second case.
    pub async fn caught_up(&self) -> bool {
        let mut done = self.caught_up.subscribe();
        tokio::time::timeout(CATCH_UP_LIMIT, done.wait_for(|d| *d))
            .await
            .is_ok()
    }

    /// Follows the config hub's changes until [`LiveSettings::stop`]: replays them all from
    /// the first, then applies new ones as they come; reconnects after the stream ends.
    pub fn follow(self: &Arc<Self>, hub: Arc<dyn ConfigApi>) {
        let live = self.clone();
        let task = tokio::spawn(async move {
            let mut last = 0;
            loop {
                last = live.follow_once(hub.as_ref(), last).await;
                // Whatever was replayed is what there is until the hub is back.
                live.caught_up.send_replace(true);
                tokio::time::sleep(RECONNECT).await;
            }
        });
        let previous = self
            .follower
            .lock()
            .expect("follower lock")
            .replace(task.abort_handle());
        if let Some(previous) = previous {
            previous.abort();
        }
    }

    /// Stops following the hub's changes (the host is stopping).
    pub fn stop(&self) {
        if let Some(task) = self.follower.lock().expect("follower lock").take() {
            task.abort();
        }
    }

    /// One watch from `after`; returns the last version taken in.
    async fn follow_once(&self, hub: &dyn ConfigApi, mut after: u64) -> u64 {
        let system = AuthContext::system();
        let mut changes = match hub.watch(&system, after).await {
            Ok(changes) => changes,
            Err(error) => {
                tracing::warn!(%error, "cannot watch the config hub; retrying");
                return after;
            }
        };
        loop {
            let next = if *self.caught_up.borrow() {
                changes.next().await
            } else {
                match tokio::time::timeout(QUIET, changes.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        self.caught_up.send_replace(true);
                        tracing::debug!(after, "live settings caught up with the config hub");
                        continue;
                    }
                }
            };
            let notice = match next {
                Some(Ok(notice)) => notice,
                Some(Err(error)) => {
                    tracing::warn!(%error, "the config hub's change stream failed; reconnecting");
                    return after;
                }
                None => return after,
            };
            if let Err(error) = self.refresh(hub, &system, &notice).await {
                tracing::warn!(%error, key = %notice.key, "reading a config change failed; reconnecting");
                return after;
            }
            after = notice.version;
        }
    }

    /// Reads what is set now where `notice` says something changed.
    async fn refresh(
        &self,
        hub: &dyn ConfigApi,
        system: &AuthContext,
        notice: &ChangeNotice,
    ) -> nave_hub_core::Result<()> {
        if !KEYS.contains(&notice.key.as_str()) {
            return Ok(());
        }
        if let Some(newest) = hub
            .history(system, notice.scope, &notice.key, 1)
            .await?
            .first()
        {
            self.apply(newest);
        }
        Ok(())
    }
}

/// The message hub's price list: `billing.message_cost` of the tenant, from the cache.
pub struct LiveTariff(pub Arc<LiveSettings>);

#[async_trait::async_trait]
impl nave_message::Tariff for LiveTariff {
    async fn message_cost(&self, tenant_id: Uuid) -> i64 {
        self.0.message_cost(tenant_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nave_config::ChangeAction;
    use serde_json::json;

    fn change(version: u64, key: &str, scope: Scope, value: Option<i64>) -> Change {
        Change {
            version,
            key: key.into(),
            scope,
            action: if value.is_some() {
                ChangeAction::Set
            } else {
                ChangeAction::Unset
            },
            value: value.map(|v| json!(v)),
            previous: None,
            masked: false,
            rolled_back_to: None,
            actor: "system".into(),
            correlation_id: "c".into(),
            at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn record(tenant: Uuid, own_deadline: Option<u64>) -> InstallationRecord {
        InstallationRecord {
            id: Uuid::now_v7(),
            tenant: tenant.to_string(),
            plugin: "p".into(),
            version: "1.0.0".into(),
            settings: Default::default(),
            allowed_hosts: vec![],
            deadline_ms: own_deadline,
            memory_mib: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn nearest_scope_wins_and_the_host_is_fallback_and_ceiling() {
        let mut config = Config::for_tests(std::path::Path::new("."));
        config.limits.max_spoke_memory_mib = 100;
        let live = LiveSettings::new(&config);
        let tenant = Uuid::now_v7();
        let own = record(tenant, Some(1500));
        let plain = record(tenant, None);
        let at = |r: &InstallationRecord| Scope::Installation {
            tenant_id: tenant,
            installation_id: r.id,
        };
        assert_eq!(live.call_limits(&plain), (Duration::from_secs(2), 64 << 20));
        live.apply(&change(1, DEADLINE, Scope::Global, Some(900)));
        live.apply(&change(2, DEADLINE, Scope::Tenant(tenant), Some(800)));
        live.apply(&change(3, MEMORY, Scope::Tenant(tenant), Some(200)));
        assert_eq!(
            live.call_limits(&plain),
            (Duration::from_millis(800), 100 << 20),
            "tenant over global; the host's ceiling caps"
        );
        assert_eq!(live.call_limits(&own).0, Duration::from_millis(1500));
        live.apply(&change(4, DEADLINE, at(&own), Some(300)));
        assert_eq!(live.call_limits(&own).0, Duration::from_millis(300));
        // A late, older notice does not undo a newer change; an unset falls back a level.
        live.apply(&change(2, DEADLINE, at(&own), Some(5000)));
        assert_eq!(live.call_limits(&own).0, Duration::from_millis(300));
        live.apply(&change(5, DEADLINE, at(&own), None));
        assert_eq!(live.call_limits(&own).0, Duration::from_millis(1500));
    }

    #[test]
    fn the_message_cost_is_the_tenants_else_the_global_else_the_operators() {
        let mut config = Config::for_tests(std::path::Path::new("."));
        config.messages.message_cost = 3;
        let live = LiveSettings::new(&config);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(live.message_cost(a), 3);
        live.apply(&change(1, MESSAGE_COST, Scope::Global, Some(5)));
        live.apply(&change(2, MESSAGE_COST, Scope::Tenant(a), Some(0)));
        assert_eq!((live.message_cost(a), live.message_cost(b)), (0, 5));
    }
}
