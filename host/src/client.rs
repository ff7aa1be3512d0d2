//! A small HTTP/1 client for the admin commands of the `nave` binary, which talk to a running
//! host's REST API.

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use tokio::net::TcpStream;

/// Where a running host is and how to authenticate to it.
#[derive(Debug, Clone)]
pub struct AdminClient {
    base: Uri,
    token: String,
}

impl AdminClient {
    /// Signs in with an email and password and returns a client with the access token.
    pub async fn log_in(base: &str, email: &str, password: &str) -> anyhow::Result<AdminClient> {
        let anonymous = AdminClient::new(base, "")?;
        let body =
            serde_json::to_vec(&serde_json::json!({ "email": email, "password": password }))?;
        let tokens = anonymous
            .json(Method::POST, "/v1/auth/login", "application/json", body)
            .await
            .context("signing in")?;
        let token = tokens["access_token"]
            .as_str()
            .context("the login answer has no access_token")?;
        AdminClient::new(base, token)
    }

    /// A client for `base` (e.g. `http://127.0.0.1:8080`) with an access token or API key.
    pub fn new(base: &str, token: &str) -> anyhow::Result<AdminClient> {
        let base: Uri = base
            .parse()
            .with_context(|| format!("`{base}` is not a URL"))?;
        if base.scheme_str() != Some("http") || base.authority().is_none() {
            bail!(
                "the host URL must look like http://HOST:PORT (HTTPS admin calls go through a proxy)"
            );
        }
        Ok(AdminClient {
            base,
            token: token.to_owned(),
        })
    }

    /// Sends one request; returns the status and the body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let authority = self.base.authority().expect("checked in new").clone();
        let port = authority.port_u16().unwrap_or(80);
        let stream = TcpStream::connect((authority.host(), port))
            .await
            .with_context(|| {
                format!("connecting to {authority}; is `nave serve` running there?")
            })?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, authority.as_str())
            .header(http::header::CONTENT_TYPE, content_type);
        if !self.token.is_empty() {
            request = request.header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            );
        }
        let request = request.body(Full::new(Bytes::from(body)))?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Sends a request and returns its JSON answer, or the API's error as an error.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<serde_json::Value> {
        let (status, body) = self.send(method, path, content_type, body).await?;
        let value: serde_json::Value =
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        if !status.is_success() {
            let code = value["code"].as_str().unwrap_or("error");
            let message = value["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            bail!("{status} {code}: {message}");
        }
        Ok(value)
    }
}
