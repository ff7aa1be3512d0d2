//! AWS Signature Version 4 over the `aws-sigv4` crate (the signer of the AWS SDK for Rust).
//!
//! Two ways to sign: [`sign_headers`] gives the `authorization`, `x-amz-date` (and, for S3,
//! `x-amz-content-sha256`) headers of a request; [`presign`] gives a URL whose query carries
//! the signature, valid for a while, that anyone can fetch with a plain `GET`.
//!
//! [`Options::s3`] is what S3 wants (paths signed as sent, the payload hash in a header);
//! [`Options::generic`] is what other AWS services and the published test suite use. The
//! suite runs against this module in `tests.rs` (vectors under `tests/vectors/`).

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime_api::client::identity::Identity;
use nave_sdk::http::encode;

/// The longest validity of a presigned URL that S3 accepts: seven days.
pub const MAX_PRESIGN_SECS: u64 = 7 * 24 * 3600;

/// Who signs, and for which region and service.
#[derive(Clone, Debug)]
pub struct Signer {
    /// The access key id, e.g. `AKIAIOSFODNN7EXAMPLE`.
    pub access_key: String,
    /// The secret access key.
    pub secret_key: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
    /// The service name in the scope, `s3` for S3.
    pub service: String,
}

/// How the canonical request is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Whether `.`, `..` and repeated `/` in the path are resolved before signing.
    pub normalize_path: bool,
    /// Whether the (already encoded) path is encoded once more, as every service but S3 wants.
    pub double_encode: bool,
    /// Whether the payload hash is also sent and signed as `x-amz-content-sha256`.
    pub content_sha256_header: bool,
}

impl Options {
    /// What S3 wants: the path as sent, and `x-amz-content-sha256`.
    pub fn s3() -> Self {
        Options {
            normalize_path: false,
            double_encode: false,
            content_sha256_header: true,
        }
    }

    /// What other services and the AWS test suite use.
    pub fn generic() -> Self {
        Options {
            normalize_path: true,
            double_encode: true,
            content_sha256_header: false,
        }
    }

    fn settings(self, location: SignatureLocation, expires: Option<Duration>) -> SigningSettings {
        let mut settings = SigningSettings::default();
        settings.signature_location = location;
        settings.expires_in = expires;
        settings.uri_path_normalization_mode = if self.normalize_path {
            UriPathNormalizationMode::Enabled
        } else {
            UriPathNormalizationMode::Disabled
        };
        settings.percent_encoding_mode = if self.double_encode {
            PercentEncodingMode::Double
        } else {
            PercentEncodingMode::Single
        };
        settings.payload_checksum_kind = if self.content_sha256_header {
            PayloadChecksumKind::XAmzSha256
        } else {
            PayloadChecksumKind::NoHeader
        };
        settings
    }
}

/// The body as the signature covers it.
#[derive(Clone, Debug)]
pub enum Payload<'a> {
    /// These bytes, hashed here.
    Bytes(&'a [u8]),
    /// The hex SHA-256 of the body, computed by the caller.
    Sha256(String),
    /// `UNSIGNED-PAYLOAD`: the body is not covered (presigned URLs).
    Unsigned,
}

/// The parts of a request the signature covers.
#[derive(Clone, Debug)]
pub struct Unsigned<'a> {
    /// The method, e.g. `PUT`.
    pub method: &'a str,
    /// The absolute URL, already percent-encoded.
    pub url: &'a str,
    /// Headers to sign besides `host`, which comes from the URL unless given here.
    pub headers: &'a [(String, String)],
    /// The body, or how it is covered.
    pub payload: Payload<'a>,
}

/// Why a request could not be signed: the URL or a header is malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignError(pub String);

impl std::fmt::Display for SignError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot sign the request: {}", self.0)
    }
}

impl Signer {
    /// The headers to add to `request` (`authorization`, `x-amz-date`, ...) to sign it at `time`.
    pub fn sign_headers(
        &self,
        request: Unsigned<'_>,
        time: SystemTime,
        options: Options,
    ) -> Result<Vec<(String, String)>, SignError> {
        let settings = options.settings(SignatureLocation::Headers, None);
        let (instructions, _) = self.sign(request, time, settings)?;
        let (headers, _) = instructions.into_parts();
        Ok(headers
            .into_iter()
            .map(|h| (h.name().to_owned(), h.value().to_owned()))
            .collect())
    }

    /// The request's URL with the query parameters of a signature valid for `expires` from
    /// `time`.
    pub fn presign(
        &self,
        request: Unsigned<'_>,
        time: SystemTime,
        expires: Duration,
        options: Options,
    ) -> Result<String, SignError> {
        let url = request.url;
        let settings = options.settings(SignatureLocation::QueryParams, Some(expires));
        let (instructions, _) = self.sign(request, time, settings)?;
        let (_, params) = instructions.into_parts();
        let mut signed = url.to_owned();
        let mut separator = if url.contains('?') { '&' } else { '?' };
        for (name, value) in params {
            signed.push(separator);
            signed.push_str(name);
            signed.push('=');
            signed.push_str(&encode(&value));
            separator = '&';
        }
        Ok(signed)
    }

    /// Signs and returns the instructions and the hex signature.
    fn sign(
        &self,
        request: Unsigned<'_>,
        time: SystemTime,
        settings: SigningSettings,
    ) -> Result<(aws_sigv4::http_request::SigningInstructions, String), SignError> {
        let identity: Identity = Credentials::new(
            self.access_key.clone(),
            self.secret_key.clone(),
            None,
            None,
            "nave-minio-settings",
        )
        .into();
        let params = SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| SignError(e.to_string()))?
            .into();
        let body = match &request.payload {
            Payload::Bytes(bytes) => SignableBody::Bytes(bytes),
            Payload::Sha256(hash) => SignableBody::Precomputed(hash.clone()),
            Payload::Unsigned => SignableBody::UnsignedPayload,
        };
        let signable = SignableRequest::new(
            request.method,
            Cow::Borrowed(request.url),
            request
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
            body,
        )
        .map_err(|e| SignError(e.to_string()))?;
        let output = sign(signable, &params).map_err(|e| SignError(e.to_string()))?;
        let (instructions, signature) = output.into_parts();
        Ok((instructions, signature))
    }
}

#[cfg(test)]
#[path = "sigv4_tests.rs"]
mod tests;
