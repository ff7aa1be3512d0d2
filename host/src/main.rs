//! `nave`: the command line of the nave host.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use nave::config::{Config, LogFormat, ServeArgs};
use tracing_subscriber::EnvFilter;

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
    Serve(ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
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
    init_tracing(config.log_format);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let address = listener.local_addr()?;
        let app = nave::App::start(config).await?;
        if app.generated_token {
            println!(
                "nave: generated an operator token, kept in {}:\n  {}",
                app.config.data_dir.join("operator.token").display(),
                app.operator_token
            );
        }
        println!("nave: listening on http://{address} (REST under /v1, webhooks under /hooks, /healthz, /metrics)");
        tracing::info!(%address, data_dir = %app.config.data_dir.display(), "nave is serving");
        nave::serve(listener, app, shutdown_signal()).await?;
        tracing::info!("nave stopped");
        Ok(())
    })
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_env("NAVE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
    }
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
