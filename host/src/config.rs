//! The one typed configuration of a nave host, read from flags, `NAVE_*` variables and a TOML file.
//!
//! Precedence, highest first: command-line flag, environment variable, config file, default.
//! Nothing else in the host reads the environment.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
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
    /// Spoke instances kept warm between calls, across installations; 0 runs every call in a
    /// fresh instance [default: 64].
    #[arg(long, env = "NAVE_WARM_INSTANCES")]
    pub warm_instances: Option<u32>,
    /// Hubs this process runs, comma-separated [default: identity,tenant,user,billing,wallet,app,config].
    #[arg(long, env = "NAVE_HUBS", value_delimiter = ',')]
    pub hubs: Option<Vec<HubName>>,
    /// Where a hub this process does not run serves gRPC, as HUB=URL (repeatable),
    /// e.g. `identity=http://10.0.0.5:50051`.
    #[arg(long = "hub-url", env = "NAVE_HUB_URLS", value_delimiter = ',', value_parser = parse_hub_pair::<String>)]
    pub hub_urls: Vec<(HubName, String)>,
    /// A PostgreSQL database of a hub this process runs, as HUB=URL (repeatable); hubs without
    /// one use `<data dir>/<hub>.db` (SQLite).
    #[arg(long = "hub-database", env = "NAVE_HUB_DATABASES", value_delimiter = ',', value_parser = parse_hub_pair::<String>, hide_env_values = true)]
    pub hub_databases: Vec<(HubName, String)>,
    /// Serve a local hub's gRPC API on an address, as HUB=ADDR (repeatable), e.g.
    /// `identity=0.0.0.0:50051` (default ports: identity 50051, user 50052, tenant 50053, app 50054,
    /// billing 50055, wallet 50056, config 50057).
    #[arg(long = "grpc-listen", env = "NAVE_GRPC_LISTEN", value_delimiter = ',', value_parser = parse_hub_pair::<SocketAddr>)]
    pub grpc_listen: Vec<(HubName, SocketAddr)>,
    /// Shared secret of the hubs' gRPC calls (≥ 16 characters); needed with --hub-url or --grpc-listen.
    #[arg(long, env = "NAVE_SERVICE_TOKEN", hide_env_values = true)]
    pub service_token: Option<String>,
    /// Email of the platform admin created on first start [default: admin@nave.localhost].
    #[arg(long, env = "NAVE_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Password of that admin; generated and printed once when unset.
    #[arg(long, env = "NAVE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Whether anyone may sign up [default: true]; otherwise users join through the admin.
    #[arg(long, env = "NAVE_ALLOW_SIGNUP")]
    pub allow_signup: Option<bool>,
    /// PostgreSQL URL of the message hub's database [default: SQLite in the data folder].
    #[arg(long, env = "NAVE_MESSAGE_DATABASE", hide_env_values = true)]
    pub message_database: Option<String>,
    /// What one processed message costs, in the wallet's minor units [default: 0, free].
    #[arg(long, env = "NAVE_MESSAGE_COST")]
    pub message_cost: Option<i64>,
    /// Serve the message hub's gRPC API on this address (its port is 50058 by convention);
    /// needs --service-token.
    #[arg(long, env = "NAVE_MESSAGE_GRPC_LISTEN")]
    pub message_grpc_listen: Option<SocketAddr>,
    /// Log format: `text` or `json` [default: text].
    #[arg(long, env = "NAVE_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Which log lines to write, as a tracing filter, e.g. `info,nave=debug` [default: info].
    #[arg(long, env = "NAVE_LOG")]
    pub log: Option<String>,
}

/// A hub the host can run in-process or reach over gRPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HubName {
    /// Accounts, sessions, tokens, API keys.
    Identity,
    /// Workspaces, members, roles.
    Tenant,
    /// Profiles, preferences, contacts.
    User,
    /// Plans, entitlements, usage.
    Billing,
    /// Wallets over a double-entry ledger.
    Wallet,
    /// The app catalogue and tenants' subscriptions.
    App,
    /// Runtime settings scoped global → tenant → installation.
    Config,
}

impl HubName {
    /// Every hub this host knows.
    pub const ALL: [HubName; 7] = [
        HubName::Identity,
        HubName::Tenant,
        HubName::User,
        HubName::Billing,
        HubName::Wallet,
        HubName::App,
        HubName::Config,
    ];

    /// The hub's name (`identity`, ...), also its SQLite file name.
    pub fn as_str(self) -> &'static str {
        match self {
            HubName::Identity => "identity",
            HubName::Tenant => "tenant",
            HubName::User => "user",
            HubName::Billing => "billing",
            HubName::Wallet => "wallet",
            HubName::App => "app",
            HubName::Config => "config",
        }
    }

    /// The hub's default gRPC port.
    pub fn default_grpc_port(self) -> u16 {
        match self {
            HubName::Identity => 50051,
            HubName::User => 50052,
            HubName::Tenant => 50053,
            HubName::App => 50054,
            HubName::Billing => 50055,
            HubName::Wallet => 50056,
            HubName::Config => nave_config::DEFAULT_GRPC_PORT,
        }
    }
}

impl fmt::Display for HubName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HubName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        HubName::ALL
            .into_iter()
            .find(|h| h.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown hub `{s}`; the hubs are identity, tenant, user, billing, wallet, app and config"
                )
            })
    }
}

impl clap::ValueEnum for HubName {
    fn value_variants<'a>() -> &'a [Self] {
        &HubName::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

fn parse_hub_pair<T: FromStr>(text: &str) -> Result<(HubName, T), String>
where
    T::Err: fmt::Display,
{
    let (hub, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not HUB=VALUE (e.g. identity=...)"))?;
    let value = value
        .trim()
        .parse()
        .map_err(|e| format!("`{value}`: {e}"))?;
    Ok((hub.parse()?, value))
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
    secret_key: Option<String>,
    #[serde(default)]
    allow_private_egress: Vec<IpNet>,
    plugins_dir: Option<PathBuf>,
    spoke_deadline_ms: Option<u64>,
    spoke_memory_mib: Option<u64>,
    max_concurrent_calls: Option<u32>,
    warm_instances: Option<u32>,
    log_format: Option<LogFormat>,
    log: Option<String>,
    hubs: Option<Vec<HubName>>,
    #[serde(default)]
    hub_urls: BTreeMap<HubName, String>,
    #[serde(default)]
    hub_databases: BTreeMap<HubName, String>,
    #[serde(default)]
    grpc_listen: BTreeMap<HubName, SocketAddr>,
    service_token: Option<String>,
    admin_email: Option<String>,
    admin_password: Option<String>,
    allow_signup: Option<bool>,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    messages: MessagesConfig,
}

/// Where the hubs run and how the platform admin is created.
#[derive(Debug, Clone)]
pub struct HubsConfig {
    /// Hubs run in this process.
    pub local: Vec<HubName>,
    /// gRPC URLs of the hubs run elsewhere.
    pub remote: BTreeMap<HubName, String>,
    /// PostgreSQL URLs of local hubs; the others use SQLite in the data folder.
    pub databases: BTreeMap<HubName, String>,
    /// Addresses where local hubs serve gRPC.
    pub grpc_listen: BTreeMap<HubName, SocketAddr>,
    /// Shared secret of gRPC calls between hubs.
    pub service_token: Option<String>,
    /// Email of the bootstrap platform admin.
    pub admin_email: String,
    /// Its password; generated (and printed once) when `None`.
    pub admin_password: Option<String>,
    /// Whether anyone may sign up.
    pub allow_signup: bool,
    /// Cheapest argon2id parameters; only tests set this (no flag exposes it).
    pub insecure_fast_password_hashing: bool,
}

impl HubsConfig {
    /// Whether `hub` runs in this process.
    pub fn is_local(&self, hub: HubName) -> bool {
        self.local.contains(&hub)
    }
}

/// How the message hub works through messages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessagesConfig {
    /// PostgreSQL URL of the hub's database; SQLite in the data folder when unset.
    pub database: Option<String>,
    /// What one processed message costs, in the wallet's minor units; 0 is free (no hold).
    pub message_cost: i64,
    /// Conversations worked on at once.
    pub concurrency: usize,
    /// The first retry of a failed step waits up to this long (ms); each further one doubles it.
    pub retry_base_ms: u64,
    /// No retry waits longer than this (ms).
    pub retry_max_ms: u64,
    /// Attempts at a step before the message goes to the dead letters.
    pub max_attempts: u32,
    /// Where the hub serves its gRPC API, if anywhere (the bound address is
    /// `App::message_grpc_address`, so port 0 works).
    pub grpc_listen: Option<SocketAddr>,
}

impl Default for MessagesConfig {
    fn default() -> Self {
        MessagesConfig {
            database: None,
            message_cost: 0,
            concurrency: 64,
            retry_base_ms: 500,
            retry_max_ms: 300_000,
            max_attempts: 8,
            grpc_listen: None,
        }
    }
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
    /// Failures in a row (no answer or a 5xx) after which an outside host's circuit opens;
    /// 0 turns circuit breakers off.
    pub circuit_failure_threshold: u32,
    /// How long an open circuit refuses calls before one probe, in milliseconds.
    pub circuit_open_ms: u64,
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
            circuit_failure_threshold: 5,
            circuit_open_ms: 10_000,
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
    /// Instances kept warm between the calls of their installation, across all of them.
    pub warm_instances: u32,
    /// Log line format.
    pub log_format: LogFormat,
    /// The tracing filter of log lines.
    pub log: String,
    /// Where the hubs run.
    pub hubs: HubsConfig,
    /// Size and time limits.
    pub limits: Limits,
    /// The message hub's work.
    pub messages: MessagesConfig,
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
            warm_instances: args.warm_instances.or(file.warm_instances).unwrap_or(64),
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            log: args.log.or(file.log).unwrap_or_else(|| "info".into()),
            hubs: HubsConfig {
                local: args
                    .hubs
                    .or(file.hubs)
                    .unwrap_or_else(|| HubName::ALL.to_vec()),
                remote: merged(file.hub_urls, args.hub_urls),
                databases: merged(file.hub_databases, args.hub_databases),
                grpc_listen: merged(file.grpc_listen, args.grpc_listen),
                service_token: args.service_token.or(file.service_token),
                admin_email: args
                    .admin_email
                    .or(file.admin_email)
                    .unwrap_or_else(|| "admin@nave.localhost".into()),
                admin_password: args.admin_password.or(file.admin_password),
                allow_signup: args.allow_signup.or(file.allow_signup).unwrap_or(true),
                insecure_fast_password_hashing: false,
            },
            limits: file.limits,
            messages: MessagesConfig {
                database: args.message_database.or(file.messages.database),
                message_cost: args.message_cost.unwrap_or(file.messages.message_cost),
                grpc_listen: args.message_grpc_listen.or(file.messages.grpc_listen),
                ..file.messages
            },
        };
        config.validate()?;
        Ok(config)
    }

    /// A configuration for tests: everything under `data_dir`, loopback egress allowed.
    pub fn for_tests(data_dir: &Path) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_path_buf(),
            secret_key: None,
            allow_private_egress: vec!["127.0.0.0/8".parse().expect("valid range")],
            plugins_dir: None,
            spoke_deadline: Duration::from_secs(2),
            spoke_memory_bytes: 64 << 20,
            max_concurrent_calls: 32,
            warm_instances: 16,
            log_format: LogFormat::Text,
            log: "info".into(),
            hubs: HubsConfig {
                local: HubName::ALL.to_vec(),
                remote: BTreeMap::new(),
                databases: BTreeMap::new(),
                grpc_listen: BTreeMap::new(),
                service_token: None,
                admin_email: "admin@nave.localhost".into(),
                admin_password: Some("test admin password".into()),
                allow_signup: true,
                insecure_fast_password_hashing: true,
            },
            limits: Limits {
                circuit_open_ms: 300,
                ..Limits::default()
            },
            // Quick retries, so outage tests run in seconds.
            messages: MessagesConfig {
                retry_base_ms: 50,
                retry_max_ms: 1000,
                ..MessagesConfig::default()
            },
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
        self.validate_hubs()?;
        let messages = &self.messages;
        if messages.message_cost < 0 {
            return Err(ConfigError::Invalid {
                name: "message_cost",
                message: "must be 0 (free) or more minor units".into(),
            });
        }
        if messages.concurrency == 0 || messages.max_attempts == 0 || messages.retry_base_ms == 0 {
            return Err(ConfigError::Invalid {
                name: "messages",
                message: "concurrency, max_attempts and retry_base_ms must be at least 1".into(),
            });
        }
        if !(1..=10_000).contains(&self.max_concurrent_calls) {
            return Err(ConfigError::Invalid {
                name: "max_concurrent_calls",
                message: "must be between 1 and 10000".into(),
            });
        }
        if self.warm_instances > 10_000 {
            return Err(ConfigError::Invalid {
                name: "warm_instances",
                message: "must be between 0 and 10000".into(),
            });
        }
        Ok(())
    }
}

impl Config {
    fn validate_hubs(&self) -> Result<(), ConfigError> {
        let hubs = &self.hubs;
        let invalid = |name, message: String| Err(ConfigError::Invalid { name, message });
        for hub in HubName::ALL {
            match (hubs.is_local(hub), hubs.remote.get(&hub)) {
                (true, Some(_)) => {
                    return invalid(
                        "hub_urls",
                        format!("`{hub}` runs here (see --hubs) and cannot also have a URL"),
                    );
                }
                (false, None) => {
                    return invalid(
                        "hub_urls",
                        format!(
                            "`{hub}` does not run here (see --hubs): give its gRPC URL with --hub-url {hub}=http://HOST:{}",
                            hub.default_grpc_port()
                        ),
                    );
                }
                _ => {}
            }
        }
        for (hub, name) in hubs
            .databases
            .keys()
            .map(|h| (h, "hub_databases"))
            .chain(hubs.grpc_listen.keys().map(|h| (h, "grpc_listen")))
        {
            if !hubs.is_local(*hub) {
                return invalid(name, format!("`{hub}` does not run here (see --hubs)"));
            }
        }
        let needs_token = !hubs.remote.is_empty()
            || !hubs.grpc_listen.is_empty()
            || self.messages.grpc_listen.is_some();
        match &hubs.service_token {
            Some(token) if token.len() < 16 => {
                invalid("service_token", "must be at least 16 characters".into())
            }
            None if needs_token => invalid(
                "service_token",
                "hubs talking over gRPC need a shared --service-token (≥ 16 characters)".into(),
            ),
            _ => Ok(()),
        }
    }
}

/// The file's entries, overridden by the command line's.
fn merged<T>(file: BTreeMap<HubName, T>, flags: Vec<(HubName, T)>) -> BTreeMap<HubName, T> {
    let mut all = file;
    all.extend(flags);
    all
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
    fn hubs_run_here_or_have_a_url_and_grpc_needs_a_service_token() {
        let defaults = Config::resolve(ServeArgs::default()).unwrap();
        assert_eq!(defaults.hubs.local, HubName::ALL.to_vec());
        assert!(defaults.hubs.service_token.is_none());

        let refuse = |args: ServeArgs, name: &str| {
            let err = Config::resolve(args).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        };
        // A hub that runs nowhere.
        refuse(
            ServeArgs {
                hubs: Some(vec![HubName::Tenant, HubName::User]),
                ..ServeArgs::default()
            },
            "--hub-url identity=",
        );
        // A hub that runs here and elsewhere.
        refuse(
            ServeArgs {
                hub_urls: vec![(HubName::Identity, "http://10.0.0.5:50051".into())],
                service_token: Some("0123456789abcdef".into()),
                ..ServeArgs::default()
            },
            "cannot also have a URL",
        );
        // gRPC without the shared token.
        refuse(
            ServeArgs {
                grpc_listen: vec![(HubName::Tenant, "127.0.0.1:50053".parse().unwrap())],
                ..ServeArgs::default()
            },
            "service_token",
        );
        refuse(
            ServeArgs {
                message_grpc_listen: Some("127.0.0.1:50058".parse().unwrap()),
                ..ServeArgs::default()
            },
            "service_token",
        );
        let split = Config::resolve(ServeArgs {
            hubs: Some(vec![
                HubName::User,
                HubName::Billing,
                HubName::Wallet,
                HubName::App,
                HubName::Config,
            ]),
            hub_urls: vec![
                (HubName::Identity, "http://10.0.0.5:50051".into()),
                (HubName::Tenant, "http://10.0.0.5:50053".into()),
            ],
            service_token: Some("0123456789abcdef".into()),
            ..ServeArgs::default()
        })
        .unwrap();
        assert!(!split.hubs.is_local(HubName::Identity));
        assert_eq!(split.hubs.remote.len(), 2);
        assert_eq!(
            parse_hub_pair::<SocketAddr>("tenant=127.0.0.1:1")
                .unwrap()
                .0,
            HubName::Tenant
        );
        assert_eq!(
            parse_hub_pair::<String>("app=http://x").unwrap().0,
            HubName::App
        );
        assert_eq!(
            parse_hub_pair::<String>("config=http://x").unwrap().0,
            HubName::Config
        );
        assert!(parse_hub_pair::<String>("inbox=http://x").is_err());
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
