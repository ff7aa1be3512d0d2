//! The host side of the `nave:spoke` imports: `kv`, `config` and `log`.
//!
//! Thin adapters: each checks that the call may use the capability, translates, and hands
//! the work to the store or the tracing subscriber.

use super::bindings::types::SpokeError;
use super::bindings::{config, kv, log, types};
use super::state::SpokeState;
use crate::store::KvError;

const MAX_KEY_BYTES: usize = 512;
const MAX_LOG_LINE_BYTES: usize = 4096;

impl types::Host for SpokeState {}

impl SpokeState {
    /// The installation of this call, or the error a spoke gets when there is none.
    fn installation(&self) -> Result<uuid::Uuid, SpokeError> {
        if self.ctx.installation.is_nil() {
            return Err(SpokeError::Denied(
                "kv is only available in calls for an installation, not in describe()".into(),
            ));
        }
        Ok(self.ctx.installation)
    }
}

fn check_key(key: &str) -> Result<(), SpokeError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(SpokeError::InvalidInput(format!(
            "kv keys must be 1 to {MAX_KEY_BYTES} bytes; this one is {}",
            key.len()
        )));
    }
    Ok(())
}

/// A kv failure of the host's own: not the spoke's bug, and it may pass (a busy database), so
/// a spoke that passes it on gets its call retried.
fn db_failure(err: impl std::fmt::Display) -> SpokeError {
    tracing::error!(error = %err, "kv store failed");
    SpokeError::Upstream(types::UpstreamError {
        status: None,
        code: None,
        message: "the host's kv store is unavailable; try again".into(),
        retryable: true,
    })
}

/// The kv operations as plain results; the trait impl below only wraps them. They take
/// `&mut self` because the state is `Send` but not `Sync`.
impl SpokeState {
    async fn kv_get(&mut self, key: &str) -> Result<Option<Vec<u8>>, SpokeError> {
        let installation = self.installation()?;
        self.services
            .store
            .kv_get(installation, key)
            .await
            .map_err(db_failure)
    }

    async fn kv_set(&mut self, key: &str, value: &[u8]) -> Result<(), SpokeError> {
        let installation = self.installation()?;
        check_key(key)?;
        let limits = &self.services.limits;
        if value.len() > limits.max_kv_value_bytes {
            return Err(SpokeError::InvalidInput(format!(
                "kv values are at most {} bytes; this one is {}",
                limits.max_kv_value_bytes,
                value.len()
            )));
        }
        let stored = self
            .services
            .store
            .kv_set(installation, key, value, limits.kv_quota_bytes);
        match stored.await {
            Ok(()) => Ok(()),
            Err(err @ KvError::Quota { .. }) => Err(SpokeError::Denied(err.to_string())),
            Err(KvError::Db(err)) => Err(db_failure(err)),
        }
    }

    async fn kv_delete(&mut self, key: &str) -> Result<(), SpokeError> {
        let installation = self.installation()?;
        self.services
            .store
            .kv_delete(installation, key)
            .await
            .map_err(db_failure)
    }

    async fn kv_list(&mut self, prefix: &str, limit: u32) -> Result<Vec<String>, SpokeError> {
        let installation = self.installation()?;
        let limit = limit.clamp(1, 1000);
        self.services
            .store
            .kv_keys(installation, prefix, limit)
            .await
            .map_err(db_failure)
    }
}

impl kv::Host for SpokeState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, SpokeError>> {
        Ok(self.kv_get(&key).await)
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), SpokeError>> {
        Ok(self.kv_set(&key, &value).await)
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), SpokeError>> {
        Ok(self.kv_delete(&key).await)
    }

    async fn list_keys(
        &mut self,
        prefix: String,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<String>, SpokeError>> {
        Ok(self.kv_list(&prefix, limit).await)
    }
}

impl config::Host for SpokeState {
    fn get(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self.ctx.settings.get(&name).cloned())
    }

    fn get_all(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self
            .ctx
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

impl log::Host for SpokeState {
    fn log(
        &mut self,
        level: log::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        if self.log_lines >= self.services.limits.max_log_lines_per_call {
            self.log_dropped += 1;
            self.services.metrics.spoke_log_dropped.inc();
            return Ok(());
        }
        self.log_lines += 1;
        let mut message = message;
        truncate(&mut message, MAX_LOG_LINE_BYTES);
        let fields = if fields.is_empty() {
            String::new()
        } else {
            let mut text = fields
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            truncate(&mut text, MAX_LOG_LINE_BYTES);
            text
        };
        let ctx = &self.ctx;
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(
                    target: "nave::spoke",
                    $level,
                    tenant = %ctx.tenant,
                    installation = %ctx.installation,
                    plugin = %ctx.plugin,
                    version = %ctx.version,
                    correlation_id = %ctx.correlation_id,
                    fields = %fields,
                    "{message}"
                )
            };
        }
        match level {
            log::Level::Trace => emit!(tracing::Level::TRACE),
            log::Level::Debug => emit!(tracing::Level::DEBUG),
            log::Level::Info => emit!(tracing::Level::INFO),
            log::Level::Warn => emit!(tracing::Level::WARN),
            log::Level::Error => emit!(tracing::Level::ERROR),
        }
        Ok(())
    }
}

fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}
