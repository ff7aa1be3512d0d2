//! Outbound HTTP of spokes: declared and granted hosts only, checked again after DNS.
//!
//! A request leaves the host only when its host matches an entry the spoke declared in
//! `describe()` **and** an entry the installation granted (Zed's rule). The name is then
//! resolved here, every address outside the operator's allowed private ranges that is
//! loopback, private, link-local (cloud metadata), multicast or otherwise special is
//! dropped, and the connection goes to one of the remaining vetted addresses — never to a
//! second resolution a hostile DNS server could answer differently.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Scheme;
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper::client::conn::http1::SendRequest;
use ipnet::IpNet;
use tokio_rustls::rustls;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::connections::{Connections, Destination};
use crate::metrics::{KindLabels, Metrics};

/// Ranges no spoke reaches unless the operator allows them.
static SPECIAL_RANGES: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "64:ff9b::/96",
        "100::/64",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ]
    .iter()
    .map(|range| range.parse().expect("valid range"))
    .collect()
});

/// One host pattern: `example.com`, `example.com:8443`, `*.example.com` or `127.0.0.1:9000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    host: String,
    port: Option<u16>,
    wildcard: bool,
}

impl HostPattern {
    /// Parses a pattern; a URL (`https://host:port/path`) is reduced to its host and port.
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let text = text.trim();
        let authority = match text.split_once("://") {
            Some((_, rest)) => rest.split(['/', '?', '#']).next().unwrap_or_default(),
            None => text,
        };
        if authority.is_empty() || authority.contains(['/', '@', ' ', '?', '#']) {
            return Err(format!("`{text}` is not a host, host:port or URL"));
        }
        let (host, port) =
            split_host_port(authority).ok_or_else(|| format!("`{text}` has an invalid port"))?;
        let (wildcard, host) = match host.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, host),
        };
        if host.is_empty() || host.contains('*') {
            return Err(format!("`{text}`: only a leading `*.` wildcard is allowed"));
        }
        Ok(HostPattern {
            host: host.to_ascii_lowercase(),
            port,
            wildcard,
        })
    }

    /// Whether a request to `host:port` matches; a pattern without a port matches the
    /// scheme's default port only.
    pub fn matches(&self, host: &str, port: u16, default_port: u16) -> bool {
        let port_ok = self.port.unwrap_or(default_port) == port;
        let host = host.to_ascii_lowercase();
        let host_ok = if self.wildcard {
            host.strip_suffix(&self.host)
                .is_some_and(|head| head.ends_with('.') && head.len() > 1)
        } else {
            host == self.host
        };
        port_ok && host_ok
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        let bracket = self.host.contains(':');
        match (bracket, self.port) {
            (true, Some(port)) => write!(f, "[{}]:{port}", self.host),
            (true, None) => write!(f, "[{}]", self.host),
            (false, Some(port)) => write!(f, "{}:{port}", self.host),
            (false, None) => f.write_str(&self.host),
        }
    }
}

fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        Some(_) => Some((authority, None)), // a bare IPv6 address
        None => Some((authority, None)),
    }
}

/// The operator's egress rules, shared by every call.
pub struct EgressPolicy {
    allow_private: Vec<IpNet>,
    breakers: super::breaker::Breakers,
    timeout: Duration,
    max_response_bytes: u64,
    tls: Arc<rustls::ClientConfig>,
    connections: Arc<Connections>,
    metrics: Arc<Metrics>,
}

impl EgressPolicy {
    /// Rules with the operator's allowed private ranges and limits.
    pub fn new(
        allow_private: Vec<IpNet>,
        timeout: Duration,
        max_response_bytes: u64,
        breaker: super::breaker::BreakerConfig,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<EgressPolicy> {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(EgressPolicy {
            allow_private,
            breakers: super::breaker::Breakers::new(breaker, metrics.clone()),
            timeout,
            max_response_bytes,
            tls: Arc::new(tls),
            connections: Arc::new(Connections::default()),
            metrics,
        })
    }

    /// Whether a spoke may connect to `ip`.
    pub fn ip_allowed(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        if self.allow_private.iter().any(|range| range.contains(&ip)) {
            return true;
        }
        !SPECIAL_RANGES.iter().any(|range| range.contains(&ip))
    }

    fn deny(&self, reason: &'static str) {
        self.metrics
            .egress_denied
            .get_or_create(&KindLabels { kind: reason })
            .inc();
    }

    /// Sends through the host's circuit breaker: an open circuit refuses at once; a 5xx or no
    /// answer counts as a failure of the host.
    async fn send(
        self: Arc<Self>,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let uri = request.uri();
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme() == Some(&Scheme::HTTPS) {
                443
            } else {
                80
            });
        let host = format!("{}:{port}", uri.host().unwrap_or_default());
        if self.breakers.admit(&host).is_err() {
            tracing::debug!(%host, "outbound call refused: the host's circuit is open");
            return Err(HttpError::ConnectionRefused);
        }
        let result = self.clone().send_now(request, options).await;
        let answered = matches!(&result, Ok(response) if !response.status().is_server_error());
        self.breakers.record(&host, answered);
        result
    }

    async fn send_now(
        self: Arc<Self>,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let uri = request.uri().clone();
        let tls = uri.scheme() == Some(&Scheme::HTTPS);
        let host = uri.host().ok_or(HttpError::HttpRequestUriInvalid)?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let connect_timeout = options
            .and_then(|o| o.connect_timeout)
            .unwrap_or(self.timeout)
            .min(self.timeout);
        let first_byte_timeout = options
            .and_then(|o| o.first_byte_timeout)
            .unwrap_or(self.timeout)
            .min(self.timeout);

        // Only the origin-form goes on the wire; the Host header carries the authority.
        *request.uri_mut() = http::Uri::builder()
            .path_and_query(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
            .build()
            .map_err(|_| HttpError::HttpRequestUriInvalid)?;
        let to = Destination {
            tls,
            host: host.clone(),
            port,
        };
        // A kept-alive connection first. One the server closed meanwhile hands the request back
        // unsent, and it goes on the next one, or on a new connection.
        while let Some(mut sender) = self.connections.take(&to) {
            match tokio::time::timeout(first_byte_timeout, sender.try_send_request(request)).await {
                Err(_) => return Err(HttpError::ConnectionReadTimeout),
                Ok(Ok(response)) => return Ok(self.capped(response, to, sender)),
                Ok(Err(mut err)) => match err.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(HttpError::from(err.into_error())),
                },
            }
        }

        let resolved = tokio::time::timeout(
            connect_timeout,
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        .map_err(|_| HttpError::DnsTimeout)?
        .map_err(|err| HttpError::DnsError {
            rcode: Some(err.to_string()),
            info_code: None,
        })?;
        let vetted: Vec<SocketAddr> = resolved.filter(|addr| self.ip_allowed(addr.ip())).collect();
        let Some(addr) = vetted.first().copied() else {
            self.deny("address");
            tracing::warn!(%host, port, "spoke egress refused: the host resolves to a private or special address");
            return Err(HttpError::DestinationIpProhibited);
        };

        let stream = tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| HttpError::ConnectionTimeout)?
            .map_err(|_| HttpError::ConnectionRefused)?;
        let _ = stream.set_nodelay(true);
        let io: Box<dyn Io> = if tls {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|_| HttpError::HttpRequestUriInvalid)?;
            let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
            let stream = tokio::time::timeout(connect_timeout, connector.connect(name, stream))
                .await
                .map_err(|_| HttpError::ConnectionTimeout)?
                .map_err(|_| HttpError::TlsProtocolError)?;
            Box::new(stream)
        } else {
            Box::new(stream)
        };
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
                .await
                .map_err(|_| HttpError::ConnectionTerminated)?;
        // The connection task ends once the sender is dropped (with the body, or by the pool).
        tokio::spawn(async move {
            let _ = connection.await;
        });

        let response = tokio::time::timeout(first_byte_timeout, sender.send_request(request))
            .await
            .map_err(|_| HttpError::ConnectionReadTimeout)?
            .map_err(HttpError::from)?;
        Ok(self.capped(response, to, sender))
    }

    /// The response with its body capped, its connection going back to the pool once the
    /// body has been read to the end.
    fn capped(
        &self,
        response: http::Response<hyper::body::Incoming>,
        to: Destination,
        sender: SendRequest<WasiBody>,
    ) -> http::Response<WasiBody> {
        let limit = self.max_response_bytes;
        let mut release = Some(Release {
            connections: self.connections.clone(),
            to,
            sender,
        });
        if response.body().is_end_stream()
            && let Some(release) = release.take()
        {
            release.connections.give_back(release.to, release.sender);
        }
        response.map(|body| {
            CappedBody {
                inner: body,
                remaining: limit,
                limit,
                release,
            }
            .boxed_unsync()
        })
    }
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Io for T {}

/// A connection to give back once its response ended.
struct Release {
    connections: Arc<Connections>,
    to: Destination,
    sender: SendRequest<WasiBody>,
}

/// A response body that fails once it grows past the operator's cap, and gives its connection
/// back when it ends.
struct CappedBody {
    inner: hyper::body::Incoming,
    remaining: u64,
    limit: u64,
    release: Option<Release>,
}

impl CappedBody {
    fn ended(&mut self) {
        if let Some(release) = self.release.take() {
            release.connections.give_back(release.to, release.sender);
        }
    }
}

impl Body for CappedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > self.remaining {
                        return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(Some(
                            self.limit,
                        )))));
                    }
                    self.remaining -= len;
                }
                if self.inner.is_end_stream() {
                    self.ended();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => {
                // The connection is in an unknown state: dropped with the body.
                self.release = None;
                Poll::Ready(Some(Err(HttpError::from(err))))
            }
            Poll::Ready(None) => {
                self.ended();
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

/// The egress rules of one call: the policy plus what the spoke declared and the tenant granted.
pub struct EgressHooks {
    /// The operator's rules.
    pub policy: Arc<EgressPolicy>,
    /// Hosts the spoke declared in `describe()`, templates resolved.
    pub declared: Arc<[HostPattern]>,
    /// Hosts the installation granted.
    pub granted: Arc<[HostPattern]>,
}

impl EgressHooks {
    fn check(&self, uri: &http::Uri) -> Result<(), HttpError> {
        let tls = uri.scheme() == Some(&Scheme::HTTPS);
        let default_port = if tls { 443 } else { 80 };
        let Some(host) = uri.host() else {
            return Err(HttpError::HttpRequestUriInvalid);
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(default_port);
        let declared = self
            .declared
            .iter()
            .any(|p| p.matches(host, port, default_port));
        let granted = self
            .granted
            .iter()
            .any(|p| p.matches(host, port, default_port));
        if declared && granted {
            return Ok(());
        }
        let reason = if declared {
            "not_granted"
        } else {
            "not_declared"
        };
        self.policy.deny(reason);
        tracing::warn!(%host, port, reason, "spoke egress refused");
        Err(HttpError::HttpRequestDenied)
    }
}

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                    ),
                    HttpError,
                >,
            > + Send,
    > {
        let checked = self.check(request.uri());
        let policy = self.policy.clone();
        Box::new(async move {
            checked?;
            let response = policy.send(request, options).await?;
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str]) -> EgressPolicy {
        EgressPolicy::new(
            allow.iter().map(|r| r.parse().unwrap()).collect(),
            Duration::from_secs(1),
            1024,
            crate::runtime::breaker::BreakerConfig {
                failure_threshold: 5,
                open_for: Duration::from_secs(1),
            },
            Arc::new(Metrics::new()),
        )
        .unwrap()
    }

    #[test]
    fn special_addresses_are_refused_unless_allowed() {
        let strict = policy(&[]);
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "169.254.169.254",
            "192.168.1.1",
            "::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "fd00:ec2::254",
        ] {
            assert!(
                !strict.ip_allowed(ip.parse().unwrap()),
                "{ip} must be refused"
            );
        }
        assert!(strict.ip_allowed("93.184.216.34".parse().unwrap()));
        assert!(strict.ip_allowed("2606:2800:220:1::1".parse().unwrap()));
        let loopback = policy(&["127.0.0.0/8"]);
        assert!(loopback.ip_allowed("127.0.0.1".parse().unwrap()));
        assert!(!loopback.ip_allowed("169.254.169.254".parse().unwrap()));
    }

    /// A loopback HTTP server that answers `ok` and counts the connections it accepted.
    async fn counting_server() -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_request| async {
                        Ok::<_, std::convert::Infallible>(http::Response::new(
                            http_body_util::Full::new(Bytes::from_static(b"ok")),
                        ))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (address, accepted)
    }

    fn get(address: SocketAddr) -> http::Request<WasiBody> {
        http::Request::get(format!("http://{address}/"))
            .header("host", address.to_string())
            .body(
                http_body_util::Empty::new()
                    .map_err(|never: std::convert::Infallible| match never {})
                    .boxed_unsync(),
            )
            .unwrap()
    }

    #[tokio::test]
    async fn a_connection_read_to_the_end_carries_the_next_request() {
        let (address, accepted) = counting_server().await;
        let policy = Arc::new(policy(&["127.0.0.0/8"]));
        for _ in 0..3 {
            let response = policy.clone().send(get(address), None).await.unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"ok");
            // Given back by a task once hyper is done with the exchange.
            for _ in 0..100 {
                if policy.connections.idle_count() == 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(policy.connections.idle_count(), 1);
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);

        // A body dropped unread takes its connection with it: the next request opens another.
        let response = policy.clone().send(get(address), None).await.unwrap();
        assert_eq!(policy.connections.idle_count(), 0);
        drop(response);
        let response = policy.clone().send(get(address), None).await.unwrap();
        response.into_body().collect().await.unwrap();
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn host_patterns_match_host_and_port() {
        let plain = HostPattern::parse("graph.facebook.com").unwrap();
        assert!(plain.matches("Graph.Facebook.com", 443, 443));
        assert!(!plain.matches("graph.facebook.com", 8443, 443));
        assert!(!plain.matches("evil-graph.facebook.com", 443, 443));
        let url = HostPattern::parse("http://127.0.0.1:4000/v21.0").unwrap();
        assert_eq!(url.to_string(), "127.0.0.1:4000");
        assert!(url.matches("127.0.0.1", 4000, 80));
        let wild = HostPattern::parse("*.example.com").unwrap();
        assert!(wild.matches("api.example.com", 443, 443));
        assert!(!wild.matches("example.com", 443, 443));
        assert!(!wild.matches("badexample.com", 443, 443));
        let v6 = HostPattern::parse("[::1]:8080").unwrap();
        assert!(v6.matches("::1", 8080, 80));
        assert!(HostPattern::parse("a/b").is_err());
        assert!(HostPattern::parse("host:notaport").is_err());
        assert!(HostPattern::parse("ex*ample.com").is_err());
    }
}
