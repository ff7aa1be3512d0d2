//! `nave`: the command line of the nave host.

use std::process::ExitCode;

use anyhow::Context;
use std::path::PathBuf;
use std::pin::Pin;

use clap::{Args, Parser, Subcommand};
use http::Method;
use nave::client::AdminClient;
use nave::config::{Config, LogFormat, ServeArgs};
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;

/// mimalloc: under load glibc's malloc cost an eighth of the message flow's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// nave — a multi-tenant chatbot platform whose integrations are WebAssembly components.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the host: REST API, webhook ingress and spoke runtime, on SQLite in the data folder.
    Serve(Box<ServeArgs>),
    /// Manages the plugins of a running host.
    Plugins {
        #[command(flatten)]
        host: HostArgs,
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Manages workspaces (tenants) on a running host.
    Tenants {
        #[command(flatten)]
        host: HostArgs,
        #[command(subcommand)]
        command: TenantsCommand,
    },
    /// Manages the installations of a running host.
    Installations {
        #[command(flatten)]
        host: HostArgs,
        #[command(subcommand)]
        command: InstallationsCommand,
    },
}

/// Where the running host is.
#[derive(Debug, Args)]
struct HostArgs {
    /// The host's base URL.
    #[arg(
        long,
        env = "NAVE_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// An access token or API key; or sign in with --email and --password.
    #[arg(long, env = "NAVE_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// The account to sign in as (e.g. the platform admin printed at first start).
    #[arg(long, env = "NAVE_EMAIL", global = true)]
    email: Option<String>,
    /// Its password.
    #[arg(long, env = "NAVE_PASSWORD", hide_env_values = true, global = true)]
    password: Option<String>,
}

#[derive(Debug, Subcommand)]
enum TenantsCommand {
    /// Creates a workspace; the signed-in user becomes its owner.
    Create {
        /// Its slug: 3-40 of a-z, 0-9 and `-`, starting with a letter.
        slug: String,
        /// Its display name [default: the slug].
        #[arg(long)]
        name: Option<String>,
    },
    /// Lists the signed-in user's workspaces.
    List,
}

#[derive(Debug, Subcommand)]
enum PluginsCommand {
    /// Uploads components (`.wasm` files).
    Upload {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Lists the plugins and their versions.
    List,
}

#[derive(Debug, Subcommand)]
enum InstallationsCommand {
    /// Lists a tenant's installations.
    List {
        /// The tenant.
        tenant: String,
    },
    /// Installs a plugin for a tenant.
    Create {
        /// The tenant.
        tenant: String,
        /// The plugin's name.
        #[arg(long)]
        plugin: String,
        /// The version; the highest when absent.
        #[arg(long)]
        version: Option<String>,
        /// A setting as NAME=VALUE (repeatable).
        #[arg(long = "setting", value_parser = parse_setting)]
        settings: Vec<(String, String)>,
        /// A host the spoke may call (repeatable).
        #[arg(long = "allow-host")]
        allowed_hosts: Vec<String>,
    },
    /// Upgrades or rolls back an installation.
    SetVersion {
        /// The tenant.
        tenant: String,
        /// The installation's id.
        id: String,
        /// The version to run.
        version: String,
    },
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Plugins { host, command } => {
            admin(host, |client| Box::pin(plugins(client, command)))
        }
        Command::Tenants { host, command } => {
            admin(host, |client| Box::pin(tenants(client, command)))
        }
        Command::Installations { host, command } => {
            admin(host, |client| Box::pin(installations(client, command)))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("nave: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::resolve(args)?;
    init_tracing(config.log_format, &config.log)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let address = listener.local_addr()?;
        let app = nave::App::start(config).await?;
        if let Some(admin) = &app.hubs.bootstrapped_admin {
            match &admin.generated_password {
                Some(password) => println!(
                    "nave: created the platform admin {} with the password (shown once, keep it):\n  {password}",
                    admin.email
                ),
                None => println!(
                    "nave: created the platform admin {} with the configured password",
                    admin.email
                ),
            }
        }
        println!("nave: listening on http://{address} (REST under /v1, webhooks under /hooks, /healthz, /metrics)");
        tracing::info!(%address, data_dir = %app.config.data_dir.display(), "nave is serving");
        nave::serve(listener, app, shutdown_signal()).await?;
        tracing::info!("nave stopped");
        Ok(())
    })
}

fn init_tracing(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_new(filter).with_context(|| format!("invalid log filter `{filter}`"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

type AdminFuture = Pin<Box<dyn Future<Output = anyhow::Result<Value>>>>;

/// Runs one admin command against a running host and prints its JSON answer.
fn admin(host: HostArgs, command: impl FnOnce(AdminClient) -> AdminFuture) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = runtime.block_on(async move {
        let client = match (host.token, host.email, host.password) {
            (Some(token), _, _) => AdminClient::new(&host.url, &token)?,
            (None, Some(email), Some(password)) => {
                AdminClient::log_in(&host.url, &email, &password).await?
            }
            _ => anyhow::bail!(
                "sign in with --email and --password (NAVE_EMAIL, NAVE_PASSWORD), or give an access token or API key with --token (NAVE_TOKEN)"
            ),
        };
        command(client).await
    })?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}

async fn plugins(client: AdminClient, command: PluginsCommand) -> anyhow::Result<Value> {
    match command {
        PluginsCommand::Upload { files } => {
            let mut uploaded = Vec::new();
            for file in files {
                let wasm =
                    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                let answer = client
                    .json(Method::POST, "/v1/plugins", "application/wasm", wasm)
                    .await
                    .with_context(|| format!("uploading {}", file.display()))?;
                uploaded.push(answer);
            }
            Ok(json!({ "uploaded": uploaded }))
        }
        PluginsCommand::List => {
            client
                .json(Method::GET, "/v1/plugins", "application/json", vec![])
                .await
        }
    }
}

async fn tenants(client: AdminClient, command: TenantsCommand) -> anyhow::Result<Value> {
    match command {
        TenantsCommand::Create { slug, name } => {
            let name = name.unwrap_or_else(|| slug.clone());
            let body = serde_json::to_vec(&json!({ "slug": slug, "name": name }))?;
            client
                .json(Method::POST, "/v1/tenants", "application/json", body)
                .await
        }
        TenantsCommand::List => {
            client
                .json(Method::GET, "/v1/tenants", "application/json", vec![])
                .await
        }
    }
}

async fn installations(
    client: AdminClient,
    command: InstallationsCommand,
) -> anyhow::Result<Value> {
    match command {
        InstallationsCommand::List { tenant } => {
            let path = format!("/v1/tenants/{tenant}/installations");
            client
                .json(Method::GET, &path, "application/json", vec![])
                .await
        }
        InstallationsCommand::Create {
            tenant,
            plugin,
            version,
            settings,
            allowed_hosts,
        } => {
            let body = json!({
                "plugin": plugin,
                "version": version,
                "settings": settings.into_iter().map(|(k, v)| (k, Value::String(v))).collect::<serde_json::Map<_, _>>(),
                "allowed_hosts": allowed_hosts,
            });
            let path = format!("/v1/tenants/{tenant}/installations");
            client
                .json(
                    Method::POST,
                    &path,
                    "application/json",
                    serde_json::to_vec(&body)?,
                )
                .await
        }
        InstallationsCommand::SetVersion {
            tenant,
            id,
            version,
        } => {
            let body = serde_json::to_vec(&json!({ "version": version }))?;
            let path = format!("/v1/tenants/{tenant}/installations/{id}");
            client
                .json(Method::PATCH, &path, "application/json", body)
                .await
        }
    }
}
