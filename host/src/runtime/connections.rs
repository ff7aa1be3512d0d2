//! Keep-alive connections of spoke egress, reused across calls.
//!
//! A spoke call is short and its instance is thrown away, but the outside hosts it talks to
//! (the Graph API, a bot, a CRM) are the same call after call. Opening a TCP connection (and a
//! TLS session) for each request would cost more than the request itself, so a connection whose
//! response was read to the end goes back here, keyed by scheme, host name and port, and the
//! next request to the same place takes it.
//!
//! Sharing is safe across installations: a connection only ever reaches the address the policy
//! vetted when it was opened, and each request still passes the declared-and-granted check of its
//! own call before it gets here. A connection is given back only after its response ended (a
//! body dropped half-read closes it), and only once hyper says it can carry another request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::client::conn::http1::SendRequest;
use wasmtime_wasi_http::WasiBody;

/// Idle connections kept per host.
const MAX_IDLE_PER_HOST: usize = 64;
/// An idle connection older than this is closed rather than reused: servers drop idle
/// connections on their own schedule, and a stale one would fail the request it is given.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a connection goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Destination {
    /// Over TLS.
    pub tls: bool,
    /// The host name (or address) as the request named it; also the TLS server name.
    pub host: String,
    /// The port.
    pub port: u16,
}

struct Idle {
    sender: SendRequest<WasiBody>,
    since: Instant,
}

/// Idle connections by destination.
#[derive(Default)]
pub struct Connections {
    idle: Mutex<HashMap<Destination, Vec<Idle>>>,
}

impl Connections {
    /// An idle connection to `to` that can take a request now, if there is one.
    pub fn take(&self, to: &Destination) -> Option<SendRequest<WasiBody>> {
        let mut idle = self.idle.lock().expect("connections lock");
        let list = idle.get_mut(to)?;
        // Most recently used first: the one least likely to have been closed by the server.
        while let Some(candidate) = list.pop() {
            if candidate.since.elapsed() < IDLE_TIMEOUT
                && !candidate.sender.is_closed()
                && candidate.sender.is_ready()
            {
                return Some(candidate.sender);
            }
        }
        idle.remove(to);
        None
    }

    /// Gives back a connection whose response ended, once it can carry another request.
    pub fn give_back(self: &Arc<Self>, to: Destination, mut sender: SendRequest<WasiBody>) {
        let connections = self.clone();
        tokio::spawn(async move {
            // Ready once hyper finished the previous exchange; an error means the server
            // closed it (e.g. `Connection: close`), and it is dropped.
            if sender.ready().await.is_err() {
                return;
            }
            let mut idle = connections.idle.lock().expect("connections lock");
            let list = idle.entry(to).or_default();
            list.retain(|c| c.since.elapsed() < IDLE_TIMEOUT && !c.sender.is_closed());
            if list.len() < MAX_IDLE_PER_HOST {
                list.push(Idle {
                    sender,
                    since: Instant::now(),
                });
            }
        });
    }

    /// Idle connections kept now, over every destination.
    #[cfg(test)]
    pub fn idle_count(&self) -> usize {
        self.idle
            .lock()
            .expect("connections lock")
            .values()
            .map(Vec::len)
            .sum()
    }
}
