//! The one place where hub errors and auth contexts cross gRPC.
//!
//! Errors travel as a gRPC status whose code matches the kind and whose `details` carry the JSON
//! [`ErrorBody`], so a gRPC client rebuilds exactly the error a local call would have returned.
//! The [`AuthContext`] travels as `x-nave-*` request metadata.
//!
//! Trust: a hub's gRPC port trusts the context its caller sends, because callers are the
//! platform's own processes. Run hub ports on a private network and set a shared service token
//! ([`ServiceToken`]) so only those processes can call; mTLS can replace the token later.

use std::future::Future;
use std::net::IpAddr;

use subtle::ConstantTimeEq;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::context::{AuthContext, Principal, TenantScope};
use crate::error::{Error, ErrorBody};
use crate::ids::parse_id;

const CORRELATION: &str = "x-nave-correlation-id";
const PRINCIPAL: &str = "x-nave-principal";
const PLATFORM_ADMIN: &str = "x-nave-platform-admin";
const TENANT: &str = "x-nave-tenant-id";
const ROLE: &str = "x-nave-role";
const SOURCE_IP: &str = "x-nave-source-ip";
const SERVICE_TOKEN: &str = "x-nave-service-token";

/// Converts a hub error to the gRPC status sent to the client.
pub fn to_status(error: &Error) -> Status {
    let code = match error {
        Error::InvalidArgument { .. } => Code::InvalidArgument,
        Error::Unauthenticated { .. } => Code::Unauthenticated,
        Error::PermissionDenied(_) => Code::PermissionDenied,
        Error::NotFound(_) => Code::NotFound,
        Error::Conflict(_) => Code::AlreadyExists,
        Error::FailedPrecondition { .. } => Code::FailedPrecondition,
        Error::Throttled { .. } => Code::ResourceExhausted,
        Error::Unavailable(_) => Code::Unavailable,
        Error::Internal(_) => Code::Internal,
    };
    let body = error.to_body();
    let details = serde_json::to_vec(&body).unwrap_or_default();
    Status::with_details(code, body.message, details.into())
}

/// Rebuilds the hub error from a gRPC status received by a client.
pub fn from_status(status: &Status) -> Error {
    if let Ok(body) = serde_json::from_slice::<ErrorBody>(status.details()) {
        return Error::from_body(body);
    }
    // A status without our details: from tonic itself (transport) or a foreign server.
    let message = status.message().to_owned();
    match status.code() {
        Code::InvalidArgument | Code::OutOfRange => Error::InvalidArgument {
            message,
            fields: Vec::new(),
        },
        Code::Unauthenticated => Error::unauthenticated(message),
        Code::PermissionDenied => Error::PermissionDenied(message),
        Code::NotFound => Error::NotFound(message),
        Code::AlreadyExists | Code::Aborted => Error::Conflict(message),
        Code::FailedPrecondition => Error::FailedPrecondition {
            message,
            reasons: Vec::new(),
        },
        Code::ResourceExhausted => Error::throttled(message, None),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            Error::Unavailable(format!("hub unavailable: {message}"))
        }
        _ => Error::internal_msg(format!("gRPC {:?}: {message}", status.code())),
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        to_status(&error)
    }
}

/// Writes a context into outgoing request metadata.
pub fn write_context(ctx: &AuthContext, metadata: &mut MetadataMap) -> Result<(), Error> {
    let mut put = |key: &'static str, value: String| -> Result<(), Error> {
        let value = MetadataValue::try_from(value.as_str())
            .map_err(|_| Error::invalid(key, "contains characters not allowed in metadata"))?;
        metadata.insert(key, value);
        Ok(())
    };
    put(CORRELATION, ctx.correlation_id.clone())?;
    put(PRINCIPAL, ctx.principal.to_string())?;
    if ctx.platform_admin {
        put(PLATFORM_ADMIN, "1".into())?;
    }
    if let Some(scope) = ctx.tenant {
        put(TENANT, scope.tenant_id.to_string())?;
        put(ROLE, scope.role.as_str().into())?;
    }
    if let Some(ip) = ctx.source_ip {
        put(SOURCE_IP, ip.to_string())?;
    }
    Ok(())
}

/// Reads the caller's context from incoming request metadata.
pub fn read_context(metadata: &MetadataMap) -> Result<AuthContext, Error> {
    let get = |key: &str| metadata.get(key).and_then(|v| v.to_str().ok());
    let principal = match get(PRINCIPAL).unwrap_or("anonymous") {
        "anonymous" => Principal::Anonymous,
        "system" => Principal::System,
        other => match other.split_once(':') {
            Some(("user", id)) => Principal::User(parse_id(PRINCIPAL, id)?),
            Some(("api_key", id)) => Principal::ApiKey(parse_id(PRINCIPAL, id)?),
            _ => {
                return Err(Error::invalid(
                    PRINCIPAL,
                    format!("unknown principal `{other}`"),
                ));
            }
        },
    };
    let tenant = match (get(TENANT), get(ROLE)) {
        (Some(tenant), Some(role)) => Some(TenantScope {
            tenant_id: parse_id(TENANT, tenant)?,
            role: role.parse()?,
        }),
        (None, None) => None,
        _ => {
            return Err(Error::invalid(
                TENANT,
                "tenant id and role must be sent together",
            ));
        }
    };
    let source_ip = match get(SOURCE_IP) {
        Some(ip) => Some(
            ip.parse::<IpAddr>()
                .map_err(|_| Error::invalid(SOURCE_IP, "not an IP address"))?,
        ),
        None => None,
    };
    Ok(AuthContext {
        principal,
        platform_admin: get(PLATFORM_ADMIN) == Some("1"),
        tenant,
        correlation_id: get(CORRELATION)
            .map(str::to_owned)
            .unwrap_or_else(|| crate::ids::new_id().to_string()),
        source_ip,
    })
}

/// The shared secret hub processes present to each other over gRPC (none: accept any caller).
#[derive(Clone, Default)]
pub struct ServiceToken(Option<String>);

impl std::fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "ServiceToken(set)"
        } else {
            "ServiceToken(none)"
        })
    }
}

impl ServiceToken {
    /// A token to require (server side) or to send (client side); `None` disables the check.
    pub fn new(token: Option<String>) -> Self {
        Self(token.filter(|t| !t.is_empty()))
    }

    /// Adds the token to outgoing metadata, if one is set.
    pub fn write(&self, metadata: &mut MetadataMap) -> Result<(), Error> {
        if let Some(token) = &self.0 {
            let value = MetadataValue::try_from(token.as_str())
                .map_err(|_| Error::internal_msg("service token is not valid metadata"))?;
            metadata.insert(SERVICE_TOKEN, value);
        }
        Ok(())
    }

    /// Checks incoming metadata against the token, in constant time.
    pub fn check(&self, metadata: &MetadataMap) -> Result<(), Error> {
        let Some(expected) = &self.0 else {
            return Ok(());
        };
        let sent = metadata
            .get(SERVICE_TOKEN)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if bool::from(sent.ct_eq(expected.as_bytes())) {
            Ok(())
        } else {
            Err(Error::unauthenticated(
                "this hub port accepts calls from nave processes only (missing or wrong service token)",
            ))
        }
    }
}

/// Reads and authorizes the context of an incoming gRPC request.
pub fn incoming_context<T>(
    token: &ServiceToken,
    request: &tonic::Request<T>,
) -> Result<AuthContext, Status> {
    token.check(request.metadata()).map_err(Status::from)?;
    read_context(request.metadata()).map_err(Status::from)
}

/// Builds an outgoing gRPC request carrying the context and the service token.
pub fn outgoing_request<T>(
    token: &ServiceToken,
    ctx: &AuthContext,
    message: T,
) -> Result<tonic::Request<T>, Error> {
    let mut request = tonic::Request::new(message);
    write_context(ctx, request.metadata_mut())?;
    token.write(request.metadata_mut())?;
    Ok(request)
}

/// Opens a channel to the gRPC address of `hub` (e.g. `identity` at `http://identity:50051`).
pub async fn connect(hub: &str, url: &str) -> Result<Channel, Error> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| Error::invalid(format!("{hub}_url"), format!("not a usable URL: {e}")))?
        .tcp_nodelay(true);
    endpoint
        .connect()
        .await
        .map_err(|e| Error::Unavailable(format!("cannot reach the {hub} hub at {url}: {e}")))
}

/// Sends one unary call with the caller's context and the service token, and turns a failed
/// status back into the error the hub returned, so a client behaves like the local hub.
pub async fn unary<S, Q, R, F, Fut>(
    token: &ServiceToken,
    ctx: &AuthContext,
    stub: S,
    message: Q,
    rpc: F,
) -> Result<R, Error>
where
    F: FnOnce(S, tonic::Request<Q>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<R>, Status>>,
{
    let request = outgoing_request(token, ctx, message)?;
    rpc(stub, request)
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| from_status(&status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Role;

    #[test]
    fn errors_survive_a_status_round_trip() {
        let e = Error::throttled("locked", Some(60));
        let back = from_status(&to_status(&e));
        assert_eq!(back.to_body(), e.to_body());
        let e = Error::invalid("email", "not an email");
        assert_eq!(from_status(&to_status(&e)).fields(), e.fields());
        let e =
            Error::failed_precondition("insufficient_funds", "the wallet holds 3, this needs 5");
        let back = from_status(&to_status(&e));
        assert_eq!(
            (back.code(), back.reasons()),
            ("failed_precondition", e.reasons())
        );
    }

    #[test]
    fn foreign_statuses_map_by_code() {
        let e = from_status(&Status::unavailable("connection refused"));
        assert_eq!(e.code(), "unavailable");
        let e = from_status(&Status::unknown("boom"));
        assert_eq!(e.code(), "internal");
    }

    #[test]
    fn context_round_trips_through_metadata() {
        let ctx = AuthContext::user(crate::ids::new_id())
            .in_tenant(crate::ids::new_id(), Role::Agent)
            .with_source_ip("10.0.0.7".parse().unwrap());
        let mut md = MetadataMap::new();
        write_context(&ctx, &mut md).unwrap();
        assert_eq!(read_context(&md).unwrap(), ctx);
    }

    #[test]
    fn service_token_is_enforced() {
        let token = ServiceToken::new(Some("s3cret".into()));
        let mut md = MetadataMap::new();
        assert_eq!(token.check(&md).unwrap_err().code(), "unauthenticated");
        token.write(&mut md).unwrap();
        assert!(token.check(&md).is_ok());
        assert!(ServiceToken::default().check(&MetadataMap::new()).is_ok());
    }
}
