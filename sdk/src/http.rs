//! Outbound HTTP through `wasi:http/outgoing-handler`, and query-string helpers.
//!
//! Calls block until the whole response body has arrived. The host only lets a
//! request out to a host the spoke declared in its manifest *and* the
//! installation granted; a refused request fails with [`HttpError::Denied`].
//!
//! ```no_run
//! use nave_sdk::http::Request;
//!
//! # fn run() -> Result<(), nave_sdk::SpokeError> {
//! let response = Request::post("https://api.example.com/v1/things?x=1")
//!     .header("authorization", "Bearer secret")
//!     .json(&serde_json::json!({ "name": "a thing" }))
//!     .send()?;
//! if response.is_success() {
//!     let created: serde_json::Value = response.json()?;
//! }
//! # Ok(()) }
//! ```

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::SpokeError;
use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme,
};
use crate::bindings::wasi::io::streams::StreamError;

/// `blocking-write-and-flush` takes at most 4096 bytes per call.
const WRITE_CHUNK: usize = 4096;
/// How much to ask for per read of a response body.
const READ_CHUNK: u64 = 64 * 1024;

/// An outbound HTTP request, built then sent with [`Request::send`].
#[derive(Clone, Debug)]
pub struct Request {
    /// The method, e.g. `GET`.
    method: String,
    /// The absolute URL, `http://` or `https://`.
    url: String,
    /// Headers in the order they are sent.
    headers: Vec<(String, String)>,
    /// The whole body; empty for none.
    body: Vec<u8>,
}

impl Request {
    /// A request with `method` (e.g. `PATCH`) to the absolute `url`.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Request {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Request::new("GET", url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Request::new("POST", url)
    }

    /// A `PUT` request.
    pub fn put(url: impl Into<String>) -> Self {
        Request::new("PUT", url)
    }

    /// A `DELETE` request.
    pub fn delete(url: impl Into<String>) -> Self {
        Request::new("DELETE", url)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the body to `value` as JSON, with its `content-type`.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        // Plain data always serializes; a map with non-string keys would not.
        let body = serde_json::to_vec(value).unwrap_or_default();
        self.header("content-type", "application/json").body(body)
    }

    /// Sets the body to `pairs` as an HTML form (`application/x-www-form-urlencoded`).
    pub fn form(self, pairs: &[(&str, &str)]) -> Self {
        let body = pairs
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }

    /// Sends the request and reads the whole response.
    ///
    /// Any status is a response; only a request that could not be made or answered
    /// is an error.
    pub fn send(self) -> Result<Response, HttpError> {
        let target = Target::parse(&self.url)?;
        let mut headers: Vec<(String, Vec<u8>)> = self
            .headers
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.into_bytes()))
            .collect();
        // A known length spares servers a chunked body, which some refuse. Only
        // bodiless GET and HEAD requests go without one.
        let sends_body = !self.body.is_empty()
            || !matches!(self.method.to_ascii_uppercase().as_str(), "GET" | "HEAD");
        if sends_body && !headers.iter().any(|(name, _)| name == "content-length") {
            headers.push((
                "content-length".into(),
                self.body.len().to_string().into_bytes(),
            ));
        }
        let fields = Fields::from_list(&headers)
            .map_err(|e| HttpError::InvalidRequest(format!("bad header: {e:?}")))?;
        let request = OutgoingRequest::new(fields);
        let invalid = |what: &str| HttpError::InvalidRequest(format!("bad {what} in {}", self.url));
        request
            .set_method(&method(&self.method))
            .map_err(|()| invalid("method"))?;
        request
            .set_scheme(Some(&target.scheme))
            .map_err(|()| invalid("scheme"))?;
        request
            .set_authority(Some(&target.authority))
            .map_err(|()| invalid("host"))?;
        request
            .set_path_with_query(Some(&target.path_with_query))
            .map_err(|()| invalid("path"))?;
        let outgoing_body = request
            .body()
            .map_err(|()| HttpError::InvalidRequest("body already taken".into()))?;

        // Start the request before writing the body, so a large body streams out
        // instead of filling the host's buffer with nobody reading it.
        let pending = outgoing_handler::handle(request, None).map_err(HttpError::from_code)?;
        write_body(&outgoing_body, &self.body)?;
        OutgoingBody::finish(outgoing_body, None).map_err(HttpError::from_code)?;

        let response = loop {
            match pending.get() {
                Some(result) => break result,
                None => pending.subscribe().block(),
            }
        };
        let response = response
            .map_err(|()| HttpError::Transport("the response was already taken".into()))?
            .map_err(HttpError::from_code)?;

        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
            .collect();
        let incoming = response
            .consume()
            .map_err(|()| HttpError::Body("the response body was already taken".into()))?;
        let body = read_body(&incoming)?;
        // Trailers are not used; finishing releases the body.
        drop(IncomingBody::finish(incoming));
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// An answer to a [`Request`], read whole.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names lower case; values that are not UTF-8 are converted lossily.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The value of the first header called `name`, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body decoded from JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::Decode(e.to_string()))
    }
}

/// Why an outbound request got no response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The URL is not an absolute `http(s)://host/...` URL.
    InvalidUrl(String),
    /// The method, a header or the path was refused before sending.
    InvalidRequest(String),
    /// The host refused the request: its host is not declared or not granted.
    Denied(String),
    /// The connection failed: DNS, TCP, TLS, a timeout, a protocol error.
    Transport(String),
    /// The body could not be written or read whole.
    Body(String),
    /// The response body is not the JSON expected.
    Decode(String),
}

impl HttpError {
    fn from_code(code: ErrorCode) -> Self {
        match code {
            ErrorCode::HttpRequestDenied => HttpError::Denied("HTTP request denied".into()),
            other => HttpError::Transport(format!("{other:?}")),
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::InvalidUrl(m) => write!(f, "invalid URL: {m}"),
            HttpError::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            HttpError::Denied(m) => write!(f, "denied by the host: {m}"),
            HttpError::Transport(m) => write!(f, "transport error: {m}"),
            HttpError::Body(m) => write!(f, "body error: {m}"),
            HttpError::Decode(m) => write!(f, "unexpected response body: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<HttpError> for SpokeError {
    /// A refused request is `denied`, a request the spoke built wrong is `internal`,
    /// a failed exchange is a retryable `upstream` error with no status, and an
    /// unexpected answer a non-retryable one.
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Denied(_) => SpokeError::denied(error.to_string()),
            HttpError::InvalidUrl(_) | HttpError::InvalidRequest(_) => {
                SpokeError::internal(error.to_string())
            }
            HttpError::Transport(_) | HttpError::Body(_) => {
                SpokeError::upstream(None, None, error.to_string(), true)
            }
            HttpError::Decode(_) => SpokeError::upstream(None, None, error.to_string(), false),
        }
    }
}

/// The parts of an absolute URL that wasi:http asks for.
#[derive(Debug, PartialEq)]
struct Target {
    scheme: Scheme,
    authority: String,
    path_with_query: String,
}

impl Target {
    fn parse(url: &str) -> Result<Self, HttpError> {
        let invalid = || HttpError::InvalidUrl(url.to_owned());
        let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(invalid()),
        };
        // A fragment never goes to the server.
        let rest = rest.split('#').next().unwrap_or_default();
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() || authority.contains('@') {
            return Err(invalid());
        }
        let path_with_query = match path {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        Ok(Target {
            scheme,
            authority: authority.to_owned(),
            path_with_query,
        })
    }
}

fn method(name: &str) -> Method {
    match name.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "CONNECT" => Method::Connect,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_owned()),
    }
}

fn write_body(body: &OutgoingBody, bytes: &[u8]) -> Result<(), HttpError> {
    let stream = body
        .write()
        .map_err(|()| HttpError::Body("the request body was already taken".into()))?;
    for chunk in bytes.chunks(WRITE_CHUNK) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| HttpError::Body(stream_error(e)))?;
    }
    Ok(())
}

fn read_body(body: &IncomingBody) -> Result<Vec<u8>, HttpError> {
    let stream = body
        .stream()
        .map_err(|()| HttpError::Body("the response body was already taken".into()))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => return Ok(bytes),
            Err(e) => return Err(HttpError::Body(stream_error(e))),
        }
    }
}

fn stream_error(error: StreamError) -> String {
    match error {
        StreamError::Closed => "the stream closed early".into(),
        StreamError::LastOperationFailed(e) => e.to_debug_string(),
    }
}

/// Splits a query string (`a=1&b=x%20y`) into decoded name and value pairs.
///
/// `+` decodes to a space, as in HTML forms; a pair without `=` has an empty value.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// Decodes one query component: `%XX` escapes and `+` for a space.
///
/// Malformed escapes are kept as they are; invalid UTF-8 is replaced.
pub fn decode(component: &str) -> String {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes.get(i + 1..i + 3).and_then(|h| hex_pair(h[0], h[1])) {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes `component` for a URL query or path segment (RFC 3986 unreserved kept).
pub fn encode(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    for byte in component.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn hex_pair(high: u8, low: u8) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16);
    Some((digit(high)? * 16 + digit(low)?) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        let t = Target::parse("https://graph.facebook.com/v21.0/me?x=1#frag").unwrap();
        assert_eq!(t.scheme, Scheme::Https);
        assert_eq!(t.authority, "graph.facebook.com");
        assert_eq!(t.path_with_query, "/v21.0/me?x=1");
        let t = Target::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path_with_query.as_str()),
            ("127.0.0.1:8080", "/")
        );
        let t = Target::parse("http://h?q=1").unwrap();
        assert_eq!(t.path_with_query, "/?q=1");
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in [
            "ftp://h/",
            "graph.facebook.com/x",
            "https:///x",
            "http://u@h/",
        ] {
            assert!(
                matches!(Target::parse(url), Err(HttpError::InvalidUrl(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn query_components_decode_and_encode() {
        assert_eq!(
            query_pairs("url=http%3A%2F%2Fa%2Fb%3Fc%3D1&flag&x=a+b&&bad=%zz%4"),
            vec![
                ("url".into(), "http://a/b?c=1".into()),
                ("flag".into(), String::new()),
                ("x".into(), "a b".into()),
                ("bad".into(), "%zz%4".into()),
            ]
        );
        assert_eq!(decode("%C3%A9t%C3%A9"), "été");
        assert_eq!(encode("a b/é~"), "a%20b%2F%C3%A9~");
        assert_eq!(decode(&encode("x&y=z é")), "x&y=z é");
    }

    #[test]
    fn errors_map_to_spoke_errors() {
        assert!(matches!(
            SpokeError::from(HttpError::Denied("x".into())),
            SpokeError::Denied(_)
        ));
        assert!(SpokeError::from(HttpError::Transport("reset".into())).is_retryable());
        assert!(matches!(
            SpokeError::from(HttpError::InvalidUrl("x".into())),
            SpokeError::Internal(_)
        ));
    }
}
