//! Where a request goes and how it authenticates, per endpoint, as Claude
//! Code does it: a Bedrock API key as `Authorization: Bearer` on every call
//! (control plane included, no SigV4 headers at all), SigV4 for the
//! endpoint's service and the model's region, or nothing when a gateway
//! authenticates. The provider's calls (probes, turns, discovery) use
//! these.

use std::time::SystemTime;

use crate::catalogue::Family;
use crate::config::{Auth, Config, default_bedrock_url, default_mantle_url};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind};
use crate::signing::{AwsCredentials, Service, ToSign, sign_request};

/// Which region setting a request uses:
/// `ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION` moves the Haiku tier's startup
/// probes (Invoke and Mantle alike); everything else, a turn on a Haiku
/// model included, goes to `AWS_REGION`, as the CLI 2.1.328 and 2.1.332
/// send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelRegion {
    /// `AWS_REGION`.
    Main,
    /// The small/fast model's region, when one is set.
    SmallFast,
}

impl ModelRegion {
    /// The region of a model of `family`: the small/fast one for Haiku.
    pub fn of(family: Option<Family>) -> Self {
        if family == Some(Family::Haiku) {
            ModelRegion::SmallFast
        } else {
            ModelRegion::Main
        }
    }
}

/// The region a request for a model in `region` is sent to and signed for.
pub fn region_for(config: &Config, region: ModelRegion) -> &str {
    match (&config.small_fast_region, region) {
        (Some(small_fast), ModelRegion::SmallFast) => small_fast,
        _ => &config.region,
    }
}

/// The base URL a request goes to: the one configured, or, when it is the
/// region's default, the default of the request's region, so that a
/// small/fast model in another region is sent to that region's host as
/// well as signed for it.
pub fn base_url_for(config: &Config, endpoint: Endpoint, region: ModelRegion) -> String {
    let region = region_for(config, region);
    let (configured, default, default_here) = match endpoint {
        Endpoint::Bedrock => (
            &config.bedrock_base_url,
            default_bedrock_url(&config.region),
            default_bedrock_url(region),
        ),
        Endpoint::Mantle => (
            &config.mantle_base_url,
            default_mantle_url(&config.region),
            default_mantle_url(region),
        ),
    };
    if *configured == default {
        default_here
    } else {
        configured.clone()
    }
}

/// The headers that authenticate `request` under `auth`: for SigV4, those
/// the signer adds (`credentials` must then be given); for a bearer key,
/// `authorization`; for skipped auth, none.
pub fn authorization_headers(
    request: &ToSign<'_>,
    auth: &Auth,
    credentials: Option<&AwsCredentials>,
    region: &str,
    service: Service,
    time: SystemTime,
) -> Result<Vec<(String, String)>, Error> {
    match auth {
        Auth::Skipped => Ok(Vec::new()),
        Auth::BearerKey(key) => Ok(vec![(
            "authorization".to_owned(),
            format!("Bearer {}", key.expose()),
        )]),
        Auth::AwsCredentials { .. } => {
            let credentials = credentials.ok_or_else(|| {
                Error::new(
                    ErrorKind::Credentials,
                    "SigV4 needs AWS credentials and none were loaded",
                )
            })?;
            sign_request(request, credentials, region, service, time)
        }
    }
}

#[cfg(test)]
mod tests;
