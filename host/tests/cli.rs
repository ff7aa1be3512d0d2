//! The `nave` binary itself: `serve` configured by flags and variables, and the admin
//! commands talking to it over HTTP.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use http::Method;
use nave::client::AdminClient;

const ADMIN_EMAIL: &str = "ops@example.com";

fn spokes_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NAVE_SPOKES_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("spokes")
}

/// A `nave serve` process; stopped with SIGTERM when dropped.
struct Server {
    child: Child,
    url: String,
    /// The platform admin's password, printed once at first start.
    admin_password: String,
}

impl Server {
    fn start(data_dir: &std::path::Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nave"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("NAVE_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("NAVE_SPOKE_DEADLINE_MS", "1500")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("nave starts");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut url = None;
        let mut admin_password = None;
        let mut lines = stdout.lines();
        while let Some(line) = lines.next() {
            let line = line.expect("stdout line");
            if line.starts_with(&format!("nave: created the platform admin {ADMIN_EMAIL}")) {
                admin_password = lines
                    .next()
                    .map(|l| l.expect("password line").trim().to_owned());
            }
            if let Some(rest) = line.strip_prefix("nave: listening on ") {
                url = rest.split_whitespace().next().map(str::to_owned);
                break;
            }
        }
        Server {
            child,
            url: url.expect("nave prints where it listens"),
            admin_password: admin_password.expect("the first start prints the admin's password"),
        }
    }

    fn admin(&self, args: &[&str]) -> (bool, serde_json::Value, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_nave"))
            .args(args)
            .args(["--url", &self.url])
            .env("NAVE_EMAIL", ADMIN_EMAIL)
            .env("NAVE_PASSWORD", &self.admin_password)
            .output()
            .expect("nave runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (
            output.status.success(),
            serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
            stderr,
        )
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().expect("nave exits")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn serve_and_the_admin_commands_work_together() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let echo = spokes_dir().join("plugins/echo.wasm");
    assert!(
        echo.exists(),
        "build the spokes first: cargo xtask build-plugins"
    );

    let (ok, answer, stderr) = server.admin(&["plugins", "upload", echo.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert_eq!(answer["uploaded"][0]["name"], "echo");

    let (ok, answer, stderr) = server.admin(&["tenants", "create", "acme", "--name", "Acme"]);
    assert!(ok, "{stderr}");
    assert_eq!(
        (answer["slug"].as_str(), answer["role"].as_str()),
        (Some("acme"), Some("owner"))
    );

    let (ok, answer, stderr) = server.admin(&[
        "installations",
        "create",
        "acme",
        "--plugin",
        "echo",
        "--setting",
        "greeting=yo",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(answer["settings"]["greeting"], "yo");
    let id = answer["id"].as_str().unwrap().to_owned();

    let (ok, _, stderr) = server.admin(&["installations", "create", "acme", "--plugin", "nope"]);
    assert!(!ok, "a refused request fails the command");
    assert!(stderr.contains("plugin_not_found"), "{stderr}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = AdminClient::new(&server.url, "").unwrap();
    let (status, body) = runtime
        .block_on(client.send(
            Method::POST,
            &format!("/hooks/{id}"),
            "text/plain",
            b"ping".to_vec(),
        ))
        .unwrap();
    assert_eq!((status.as_u16(), &body[..]), (200, &b"yo: ping"[..]));

    let (ok, answer, _) = server.admin(&["installations", "list", "acme"]);
    assert!(ok);
    assert_eq!(answer["installations"][0]["id"], id.as_str());

    let status = server.stop();
    assert!(status.success(), "SIGTERM stops nave cleanly: {status}");
}

#[test]
fn a_bad_config_is_refused_with_what_to_fix() {
    let output = Command::new(env!("CARGO_BIN_EXE_nave"))
        .args(["serve", "--spoke-deadline-ms", "999999"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("spoke_deadline_ms"), "{stderr}");
}
