//! The default AWS credential chain, as every AWS SDK resolves it: the
//! environment's keys, the shared config and credentials files and their
//! profiles (`credential_process`, SSO, `role_arn`), web identity, the
//! container endpoint, instance metadata. This is `aws-config`'s chain,
//! wrapped, not re-implemented: it is given the client's environment (the
//! process's with the settings' `env` over it) instead of reading the
//! process's own, so the settings apply without the client changing its
//! own environment.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_async::time::StaticTimeSource;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_types::os_shim_internal::Env;
use aws_types::region::Region;

use super::AwsCredentials;
use crate::config::Vars;
use crate::error::{Error, ErrorKind};
use crate::secret::Secret;

/// How long the whole chain may take: `credential_process` and the SSO and
/// STS calls have no limit of their own.
const CHAIN_TIME_LIMIT: Duration = Duration::from_secs(60);

/// Resolves credentials from the chain for `region`, reading `vars` as
/// the environment (`AWS_PROFILE` among them), at `now` when given: the
/// chain judges cached SSO tokens' expiry and signs its STS calls at that
/// time (a session on a virtual clock), instead of the system's.
pub async fn from_default_chain_at(
    vars: &Vars,
    region: &str,
    now: Option<SystemTime>,
) -> Result<AwsCredentials, Error> {
    let env: HashMap<String, String> = vars
        .all()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .env(Env::from(env))
        .region(Region::new(region.to_owned()))
        .http_client(http);
    if let Some(now) = now {
        loader = loader.time_source(StaticTimeSource::new(now));
    }
    let config = loader.load().await;
    let Some(provider) = config.credentials_provider() else {
        return Err(no_credentials("the chain has no provider".to_owned()));
    };
    let credentials = tokio::time::timeout(CHAIN_TIME_LIMIT, provider.provide_credentials())
        .await
        .map_err(|_| {
            no_credentials(format!(
                "the chain did not answer within {} s (a credential_process or SSO call hung)",
                CHAIN_TIME_LIMIT.as_secs()
            ))
        })?
        .map_err(|e| no_credentials(chain_error(&e)))?;
    Ok(AwsCredentials {
        access_key_id: credentials.access_key_id().to_owned(),
        secret_access_key: Secret::new(credentials.secret_access_key()),
        session_token: credentials.session_token().map(Secret::new),
        expires_at: credentials.expiry(),
    })
}

/// The chain's error with its causes (aws-config puts the useful part,
/// "no credentials in the environment, profile default not found ...",
/// in the sources), each cut to its first line and 200 characters: a
/// `credential_process` error carries the process's whole stderr.
fn chain_error(error: &(dyn std::error::Error + 'static)) -> String {
    let line = |e: &dyn std::error::Error| -> String {
        let text = e.to_string();
        text.lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect()
    };
    let mut message = line(error);
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&line(cause));
        source = cause.source();
    }
    message
}

fn no_credentials(detail: String) -> Error {
    Error::new(
        ErrorKind::Credentials,
        format!(
            "no AWS credentials: {detail}. Set AWS_PROFILE, run `aws sso login`, export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use AWS_BEARER_TOKEN_BEDROCK"
        ),
    )
}

#[cfg(test)]
mod tests;
