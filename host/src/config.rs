//! The one typed configuration of a nave host, read from flags, `NAVE_*` variables and a TOML file.
//!
//! Precedence, highest first: command-line flag, environment variable, config file, default.
//! Nothing else in the host reads the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use ipnet::IpNet;
use serde::Deserialize;

/// Flags of `nave serve`; each is also read from its `NAVE_*` variable.
///
/// Every field is optional here so that a value absent from the command line and the
/// environment can come from the config file.
#[derive(Debug, Default, Clone, Args)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below (keys as the flags, with `_` for `-`).
    #[arg(long, env = "NAVE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "NAVE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Folder for the database, compiled-code cache and generated keys [default: ./.nave].
    #[arg(long, env = "NAVE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Bearer token for the /v1 routes; generated and stored in the data folder when unset.
    #[arg(long, env = "NAVE_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,
    /// Base64 of the 32-byte key that seals secrets at rest; generated when unset.
    #[arg(long, env = "NAVE_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// A private address range spokes may reach (repeatable), e.g. 127.0.0.0/8.
    #[arg(
        long = "allow-private-egress",
        env = "NAVE_ALLOW_PRIVATE_EGRESS",
        value_delimiter = ','
    )]
    pub allow_private_egress: Vec<IpNet>,
    /// Register every `.wasm` file of this folder at start-up (idempotent).
    #[arg(long, env = "NAVE_PLUGINS_DIR")]
    pub plugins_dir: Option<PathBuf>,
    /// Default deadline of one spoke call, in milliseconds [default: 2000].
    #[arg(long, env = "NAVE_SPOKE_DEADLINE_MS")]
    pub spoke_deadline_ms: Option<u64>,
    /// Default linear-memory cap of one spoke instance, in MiB [default: 64].
    #[arg(long, env = "NAVE_SPOKE_MEMORY_MIB")]
    pub spoke_memory_mib: Option<u64>,
    /// Spoke calls running at once; also the size of the instance pool [default: 128].
    #[arg(long, env = "NAVE_MAX_CONCURRENT_CALLS")]
    pub max_concurrent_calls: Option<u32>,
    /// Log format: `text` or `json` [default: text].
    #[arg(long, env = "NAVE_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Which log lines to write, as a tracing filter, e.g. `info,nave=debug` [default: info].
    #[arg(long, env = "NAVE_LOG")]
    pub log: Option<String>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

/// The config file: the same keys as the flags, plus limits that rarely change.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    operator_token: Option<String>,
    secret_key: Option<String>,
    #[serde(default)]
    allow_private_egress: Vec<IpNet>,
    plugins_dir: Option<PathBuf>,
    spoke_deadline_ms: Option<u64>,
    spoke_memory_mib: Option<u64>,
    max_concurrent_calls: Option<u32>,
    log_format: Option<LogFormat>,
    log: Option<String>,
    #[serde(default)]
    limits: Limits,
}

/// Size and time limits on what clients and spokes may send or take.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest accepted plugin upload, in bytes.
    pub max_plugin_bytes: usize,
    /// Largest accepted webhook body, in bytes.
    pub max_webhook_body_bytes: usize,
    /// Largest HTTP body a spoke may return to the host, in bytes.
    pub max_spoke_response_bytes: usize,
    /// Log lines one spoke call may write; the rest are counted and dropped.
    pub max_log_lines_per_call: u32,
    /// Bytes of keys and values one installation may keep in its kv store.
    pub kv_quota_bytes: u64,
    /// Largest kv value, in bytes.
    pub max_kv_value_bytes: usize,
    /// Deadline of one outbound HTTP request of a spoke, in milliseconds.
    pub egress_timeout_ms: u64,
    /// Largest response body an outbound request may read, in bytes.
    pub max_egress_response_bytes: u64,
    /// Highest deadline an installation may ask for, in milliseconds.
    pub max_spoke_deadline_ms: u64,
    /// Highest memory cap an installation may ask for, in MiB; also the pool's slot size.
    pub max_spoke_memory_mib: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_plugin_bytes: 32 << 20,
            max_webhook_body_bytes: 1 << 20,
            max_spoke_response_bytes: 1 << 20,
            max_log_lines_per_call: 200,
            kv_quota_bytes: 4 << 20,
            max_kv_value_bytes: 256 << 10,
            egress_timeout_ms: 10_000,
            max_egress_response_bytes: 8 << 20,
            max_spoke_deadline_ms: 30_000,
            max_spoke_memory_mib: 256,
        }
    }
}

/// The resolved configuration of one host.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the REST API and webhook ingress listen.
    pub listen: SocketAddr,
    /// Where the database, cache and generated keys live.
    pub data_dir: PathBuf,
    /// The bearer token of the /v1 routes; `None` makes the host generate one.
    pub operator_token: Option<String>,
    /// The key sealing secrets at rest, base64; `None` makes the host generate one.
    pub secret_key: Option<String>,
    /// Private ranges spokes may reach despite the default refusal.
    pub allow_private_egress: Vec<IpNet>,
    /// Plugins registered at start-up.
    pub plugins_dir: Option<PathBuf>,
    /// Default deadline of a spoke call.
    pub spoke_deadline: Duration,
    /// Default memory cap of a spoke instance, in bytes.
    pub spoke_memory_bytes: u64,
    /// Spoke calls at once, and instance pool slots.
    pub max_concurrent_calls: u32,
    /// Log line format.
    pub log_format: LogFormat,
    /// The tracing filter of log lines.
    pub log: String,
    /// Size and time limits.
    pub limits: Limits,
}

/// A configuration that cannot be used, with what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file named by --config.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has unknown keys.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file named by --config.
        path: PathBuf,
        /// The TOML error, naming the key and line.
        source: toml::de::Error,
    },
    /// A value is out of range.
    #[error("invalid setting {name}: {message}")]
    Invalid {
        /// The setting's name.
        name: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },
}

impl Config {
    /// Resolves flags and variables over the config file over defaults.
    pub fn resolve(args: ServeArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let mut allow = file.allow_private_egress;
        allow.extend(args.allow_private_egress);
        let config = Config {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            data_dir: args
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(".nave")),
            operator_token: args.operator_token.or(file.operator_token),
            secret_key: args.secret_key.or(file.secret_key),
            allow_private_egress: allow,
            plugins_dir: args.plugins_dir.or(file.plugins_dir),
            spoke_deadline: Duration::from_millis(
                args.spoke_deadline_ms
                    .or(file.spoke_deadline_ms)
                    .unwrap_or(2000),
            ),
            spoke_memory_bytes: args
                .spoke_memory_mib
                .or(file.spoke_memory_mib)
                .unwrap_or(64)
                << 20,
            max_concurrent_calls: args
                .max_concurrent_calls
                .or(file.max_concurrent_calls)
                .unwrap_or(128),
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            log: args.log.or(file.log).unwrap_or_else(|| "info".into()),
            limits: file.limits,
        };
        config.validate()?;
        Ok(config)
    }

    /// A configuration for tests: everything under `data_dir`, loopback egress allowed.
    pub fn for_tests(data_dir: &Path) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_path_buf(),
            operator_token: Some("test-operator-token".into()),
            secret_key: None,
            allow_private_egress: vec!["127.0.0.0/8".parse().expect("valid range")],
            plugins_dir: None,
            spoke_deadline: Duration::from_secs(2),
            spoke_memory_bytes: 64 << 20,
            max_concurrent_calls: 32,
            log_format: LogFormat::Text,
            log: "info".into(),
            limits: Limits::default(),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let max_deadline = self.limits.max_spoke_deadline_ms;
        if self.spoke_deadline.is_zero() || self.spoke_deadline.as_millis() > max_deadline as u128 {
            return Err(ConfigError::Invalid {
                name: "spoke_deadline_ms",
                message: format!(
                    "must be between 1 and limits.max_spoke_deadline_ms ({max_deadline})"
                ),
            });
        }
        let max_memory = self.limits.max_spoke_memory_mib;
        if self.spoke_memory_bytes == 0 || self.spoke_memory_bytes > max_memory << 20 {
            return Err(ConfigError::Invalid {
                name: "spoke_memory_mib",
                message: format!(
                    "must be between 1 and limits.max_spoke_memory_mib ({max_memory})"
                ),
            });
        }
        if !(1..=10_000).contains(&self.max_concurrent_calls) {
            return Err(ConfigError::Invalid {
                name: "max_concurrent_calls",
                message: "must be between 1 and 10000".into(),
            });
        }
        Ok(())
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("nave.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "listen = \"127.0.0.1:9000\"\nspoke_deadline_ms = 500\nallow_private_egress = [\"10.0.0.0/8\"]\n",
        );
        let args = ServeArgs {
            config: Some(path),
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            allow_private_egress: vec!["127.0.0.0/8".parse().unwrap()],
            ..ServeArgs::default()
        };
        let config = Config::resolve(args).unwrap();
        assert_eq!(config.listen.port(), 9100);
        assert_eq!(config.spoke_deadline, Duration::from_millis(500));
        assert_eq!(config.spoke_memory_bytes, 64 << 20);
        assert_eq!(config.allow_private_egress.len(), 2);
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "listn = \"127.0.0.1:9000\"\n");
        let err = Config::resolve(ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
    }

    #[test]
    fn a_deadline_over_the_limit_is_refused() {
        let err = Config::resolve(ServeArgs {
            spoke_deadline_ms: Some(60_000),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("spoke_deadline_ms"), "{err}");
    }
}
