//! `cargo xtask run | test | build-plugins | bench`: the project's chores, in Rust.
//!
//! Spokes and test fixtures are built here for `wasm32-wasip2` (release: small and fast) and
//! copied under `<target>/spokes/`, where the host and the tests find them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const WASM_TARGET: &str = "wasm32-wasip2";

/// First-party spokes: (package, file name under spokes/plugins).
const PLUGINS: &[(&str, &str)] = &[
    ("nave-spoke-facebook", "facebook"),
    ("nave-spoke-botpress", "botpress"),
    ("nave-spoke-odoo", "odoo"),
    ("nave-spoke-minio", "minio"),
];

/// Test fixtures: (package, features, file name under spokes/fixtures).
///
/// `not-a-spoke` is a binary (a wasi:cli command), so its artifact keeps the package's dashes.
const FIXTURES: &[(&str, &str, &str)] = &[
    ("nave-fixture-hostile", "", "hostile"),
    ("nave-fixture-hello", "", "hello-1"),
    ("nave-fixture-hello", "v2", "hello-2"),
    ("nave-fixture-describe-trap", "", "describe-trap"),
    ("nave-fixture-describe-loop", "", "describe-loop"),
    ("nave-fixture-not-a-spoke", "", "not-a-spoke"),
    ("nave-fixture-echo-bot", "", "echo-bot"),
];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = args
        .split_first()
        .map(|(c, r)| (c.as_str(), r))
        .unwrap_or(("help", &[]));
    match command {
        "build-plugins" => build_plugins().map(|_| ()),
        "test" => test(rest),
        "run" => run(rest),
        "bench" => bench(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 run [ARGS]       build the spokes and the host, then `nave serve` with the first-party spokes\n  \
                 test [ARGS]      build the spokes and fixtures, then run every test (ARGS go to cargo test)\n  \
                 build-plugins    build the spokes and test fixtures for {WASM_TARGET}\n  \
                 bench            run the benchmarks and print their figures"
            );
            if command == "help" {
                Ok(())
            } else {
                bail!("unknown command `{command}`")
            }
        }
    }
}

/// The checkout `cargo xtask` runs in. `cargo run` names it at run time; the path compiled in
/// is only a fallback, since a binary cached in a shared target folder may have been built in
/// another checkout.
fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target"),
    }
}

/// Where built spokes are copied.
fn spokes_dir() -> PathBuf {
    target_dir().join("spokes")
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

fn status(command: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .with_context(|| format!("running {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn ensure_wasm_target() -> anyhow::Result<()> {
    let output = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match output {
        Ok(output)
            if String::from_utf8_lossy(&output.stdout)
                .lines()
                .any(|l| l.trim() == WASM_TARGET) =>
        {
            Ok(())
        }
        Ok(_) => status(Command::new("rustup").args(["target", "add", WASM_TARGET])),
        Err(_) => {
            eprintln!("xtask: rustup not found; assuming the {WASM_TARGET} target is installed");
            Ok(())
        }
    }
}

/// Builds one package (or example) for wasm and copies its output to `dest`.
fn build_wasm(
    package: &str,
    features: &str,
    example: Option<&str>,
    artifact: &str,
    dest: &Path,
) -> anyhow::Result<()> {
    let mut command = cargo();
    command.args(["build", "--release", "--target", WASM_TARGET, "-p", package]);
    if !features.is_empty() {
        command.args(["--features", features]);
    }
    if let Some(example) = example {
        command.args(["--example", example]);
    }
    status(&mut command)?;
    let mut built = target_dir().join(WASM_TARGET).join("release");
    if example.is_some() {
        built = built.join("examples");
    }
    let built = built.join(format!("{artifact}.wasm"));
    std::fs::copy(&built, dest)
        .with_context(|| format!("copying {} to {}", built.display(), dest.display()))?;
    Ok(())
}

/// Builds every spoke and fixture; returns the spokes folder.
fn build_plugins() -> anyhow::Result<PathBuf> {
    ensure_wasm_target()?;
    let root = spokes_dir();
    let plugins = root.join("plugins");
    let fixtures = root.join("fixtures");
    std::fs::create_dir_all(&plugins)?;
    std::fs::create_dir_all(&fixtures)?;
    for (package, name) in PLUGINS {
        build_wasm(
            package,
            "",
            None,
            &package.replace('-', "_"),
            &plugins.join(format!("{name}.wasm")),
        )?;
    }
    build_wasm(
        "nave-sdk",
        "",
        Some("echo"),
        "echo",
        &plugins.join("echo.wasm"),
    )?;
    for (package, features, name) in FIXTURES {
        let artifact = if *name == "not-a-spoke" {
            package.to_string()
        } else {
            package.replace('-', "_")
        };
        build_wasm(
            package,
            features,
            None,
            &artifact,
            &fixtures.join(format!("{name}.wasm")),
        )?;
    }
    println!("xtask: spokes in {}", root.display());
    Ok(root)
}

fn test(extra: &[String]) -> anyhow::Result<()> {
    let spokes = build_plugins()?;
    let mut command = cargo();
    command
        .args(["test", "--workspace"])
        .args(
            FIXTURES
                .iter()
                .flat_map(|(package, _, _)| ["--exclude", package]),
        )
        .env("NAVE_SPOKES_DIR", &spokes)
        .args(extra);
    status(&mut command)
}

fn run(extra: &[String]) -> anyhow::Result<()> {
    let spokes = build_plugins()?;
    status(cargo().args(["build", "--release", "-p", "nave"]))?;
    let nave = target_dir().join("release").join("nave");
    let data_dir = workspace_root().join(".nave");
    println!(
        "xtask: starting nave with data in {} and the spokes of {}",
        data_dir.display(),
        spokes.join("plugins").display()
    );
    let mut command = Command::new(nave);
    command
        .arg("serve")
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--plugins-dir")
        .arg(spokes.join("plugins"))
        .args(extra);
    status(&mut command)
}

/// Runs the host's benches (`extra` goes to that `cargo bench`), then the hubs' bench.
fn bench(extra: &[String]) -> anyhow::Result<()> {
    let spokes = build_plugins()?;
    let mut command = cargo();
    command
        .args(["bench", "-p", "nave-tests"])
        .env("NAVE_SPOKES_DIR", &spokes)
        .args(extra);
    status(&mut command)?;
    // Hub calls (login, token verification, gRPC round trips) need no spokes.
    status(cargo().args(["bench", "-p", "nave-identity", "--bench", "hubs"]))
}
