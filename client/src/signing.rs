//! SigV4 as Claude Code signs: with the AWS SDKs' signer (`aws-sigv4`),
//! `x-amz-content-sha256` always sent and signed, the `host` header as sent
//! (port included), and only the headers the real CLI signs: the caller
//! passes those (for STS, `content-length` among them, as the AWS JS SDK
//! signs it), and adds `user-agent` and the like after signing.
//!
//! The credentials it signs with ([`AwsCredentials`]) are defined here, a
//! plain value; loading and renewing them is [`crate::credentials`]' work,
//! which signs its own STS check with this signer.

use std::time::SystemTime;

use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4::SigningParams;

use crate::error::{Error, ErrorKind};
use crate::secret::Secret;

/// A set of AWS credentials. The secret parts never print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    /// `AKIA...` or `ASIA...`; not a secret, shown in logs and status.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// The session token of temporary credentials.
    pub session_token: Option<Secret>,
    /// When temporary credentials stop working, if known.
    pub expires_at: Option<SystemTime>,
}

impl AwsCredentials {
    /// Whether the credentials are known to have expired at `now`; such
    /// credentials are refreshed before use instead of being sent.
    pub fn expired_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// Whether they should be reloaded before signing at `now`: expired,
    /// or expiring within `margin` (the AWS JS SDK's five minutes, as the
    /// profile has it).
    pub fn due_for_refresh(&self, now: SystemTime, margin: std::time::Duration) -> bool {
        self.expired_at(now + margin)
    }
}

/// The SigV4 service names the client signs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Bedrock runtime and control plane.
    Bedrock,
    /// The Mantle endpoint.
    BedrockMantle,
    /// STS.
    Sts,
}

impl Service {
    /// The signing name.
    pub fn name(self) -> &'static str {
        match self {
            Service::Bedrock => "bedrock",
            Service::BedrockMantle => "bedrock-mantle",
            Service::Sts => "sts",
        }
    }
}

/// What to sign: the request as it will be sent.
#[derive(Debug, Clone, Copy)]
pub struct ToSign<'a> {
    /// `GET`, `POST`.
    pub method: &'a str,
    /// The whole URL, path exactly as it will be sent.
    pub url: &'a str,
    /// The headers to sign, `host` among them.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
}

/// Signs `request` for `service` in `region` at `time`, and returns the
/// headers to add: `x-amz-date`, `x-amz-content-sha256`,
/// `x-amz-security-token` (temporary credentials), `authorization`.
///
/// ```
/// use std::time::SystemTime;
/// use bedrock_client::credentials::AwsCredentials;
/// use bedrock_client::provider::{sign_request, Service, ToSign};
/// use bedrock_client::Secret;
///
/// let credentials = AwsCredentials {
///     access_key_id: "AKIDEXAMPLE".into(),
///     secret_access_key: Secret::new("secret"),
///     session_token: None,
///     expires_at: None,
/// };
/// let headers = vec![("host".to_owned(), "127.0.0.1:18080".to_owned())];
/// let request = ToSign { method: "GET", url: "http://127.0.0.1:18080/inference-profiles", headers: &headers, body: b"" };
/// let added = sign_request(&request, &credentials, "us-east-1", Service::Bedrock, SystemTime::now()).unwrap();
/// assert!(added.iter().any(|(n, v)| n == "authorization" && v.contains("/us-east-1/bedrock/aws4_request")));
/// ```
pub fn sign_request(
    request: &ToSign<'_>,
    credentials: &AwsCredentials,
    region: &str,
    service: Service,
    time: SystemTime,
) -> Result<Vec<(String, String)>, Error> {
    let identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.expose().to_owned(),
        credentials
            .session_token
            .as_ref()
            .map(|t| t.expose().to_owned()),
        credentials.expires_at,
        "bedrock-client",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service.name())
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| signing_error(&e))?
        .into();
    let signable = SignableRequest::new(
        request.method,
        request.url,
        request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(request.body),
    )
    .map_err(|e| signing_error(&e))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| signing_error(&e))?
        .into_parts();
    let (headers, _query) = instructions.into_parts();
    Ok(headers
        .iter()
        .map(|h| (h.name().to_owned(), h.value().to_owned()))
        .collect())
}

/// The signer's errors name a malformed URL or header; they carry no key.
fn signing_error(e: &dyn std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Signing,
        format!("the request could not be signed: {e}"),
    )
}
