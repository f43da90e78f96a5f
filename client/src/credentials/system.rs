//! The real credential sources: the AWS chain, the user's commands, and
//! STS over the network.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::export::ExportProblem;
use super::{AwsCredentials, CredentialSource, from_default_chain_at, run_credential_export};
use crate::command::{OutputSink, run_shell_showing};
use crate::config::{Config, Vars};
use crate::error::{Error, ErrorKind};
use crate::profile::Texts;
use crate::request::invocation_id;
use crate::signing::{Service, ToSign, sign_request};
use crate::transport::{HttpClient, Outgoing};

/// How long `awsAuthRefresh` may take: an SSO login waits for a person in
/// a browser.
pub const AUTH_REFRESH_TIME_LIMIT: Duration = Duration::from_secs(5 * 60);
/// How long the STS check may take.
const STS_TIME_LIMIT: Duration = Duration::from_secs(10);
const GET_CALLER_IDENTITY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// Credentials from the machine: the chain, the configured commands (run
/// with the client's environment), and STS at `AWS_ENDPOINT_URL_STS`,
/// `AWS_ENDPOINT_URL`, or the region's endpoint.
pub struct SystemSources {
    vars: Vars,
    region: String,
    /// The AWS JS SDK's attempts, which its STS check announces.
    sdk_attempts: u32,
    /// The CLI's lines about an `awsCredentialExport` that gave nothing.
    texts: Texts,
    http: HttpClient,
    show: OutputSink,
    stderr: OutputSink,
}

impl SystemSources {
    /// Sources reading `config`'s variables, for its region, as its CLI
    /// version's AWS SDK; `awsAuthRefresh` output goes to `show`, and so do
    /// the CLI's lines about an `awsCredentialExport` that gave nothing
    /// usable.
    pub fn new(config: &Config, http: HttpClient, show: OutputSink) -> Self {
        Self {
            vars: config.vars.clone(),
            region: config.region.clone(),
            sdk_attempts: config.cli.retries.aws_sdk_attempts,
            texts: config.cli.texts.clone(),
            http,
            stderr: Arc::clone(&show),
            show,
        }
    }

    /// The same sources, `awsAuthRefresh`'s output shown nowhere, as
    /// `claude -p` shows it (conformance's `aws-auth-refresh-output`); the
    /// CLI's lines about the export command still go to stderr.
    pub fn hiding_refresh_output(mut self) -> Self {
        self.show = Arc::new(|_: &[u8]| {});
        self
    }

    fn sts_url(&self) -> String {
        let base = self
            .vars
            .get("AWS_ENDPOINT_URL_STS")
            .or_else(|| self.vars.get("AWS_ENDPOINT_URL"))
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("https://sts.{}.amazonaws.com", self.region));
        format!("{base}/")
    }
}

impl CredentialSource for SystemSources {
    async fn chain(&self, now: SystemTime) -> Result<AwsCredentials, Error> {
        from_default_chain_at(&self.vars, &self.region, Some(now)).await
    }

    async fn export(&self, command: &str) -> Result<AwsCredentials, Error> {
        let command = command.to_owned();
        let env = self.vars.all().clone();
        let exported = tokio::task::spawn_blocking(move || run_credential_export(&command, &env))
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::CredentialExport,
                    format!("awsCredentialExport did not finish: {e}"),
                )
            })?;
        exported.map_err(|failure| {
            // What the CLI prints after each run that gave nothing.
            let why = match failure.problem {
                ExportProblem::NoValue => &self.texts.export_no_value,
                ExportProblem::NotSts => &self.texts.export_not_sts,
            };
            (self.stderr)(format!("{}{why}\n", self.texts.export_failed).as_bytes());
            failure.error
        })
    }

    async fn auth_refresh(&self, command: &str) -> Result<(), Error> {
        let command_owned = command.to_owned();
        let env = self.vars.all().clone();
        // Shown as it is printed: the user may have a code to enter.
        let show = Arc::clone(&self.show);
        let output = tokio::task::spawn_blocking(move || {
            run_shell_showing(
                "awsAuthRefresh",
                &command_owned,
                &env,
                AUTH_REFRESH_TIME_LIMIT,
                show,
            )
        })
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Command,
                format!("awsAuthRefresh did not finish: {e}"),
            )
        })??;
        if output.success() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Command,
                format!(
                    "awsAuthRefresh (`{command}`) failed with status {}; run it yourself, or remove awsAuthRefresh from your settings",
                    output
                        .status
                        .map_or_else(|| "a signal".to_owned(), |s| s.to_string())
                ),
            ))
        }
    }

    async fn check(&self, credentials: &AwsCredentials, now: SystemTime) -> Result<(), Error> {
        let request = self.get_caller_identity(credentials, now)?;
        let response = self.http.send(request, STS_TIME_LIMIT).await?;
        if response.status == 200 {
            return Ok(());
        }
        let status = response.status;
        let body = response
            .bytes(64 * 1024, STS_TIME_LIMIT)
            .await
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let code = text
            .split("<Code>")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap_or("unknown error");
        Err(Error::new(
            ErrorKind::Credentials,
            format!("STS GetCallerIdentity refused the credentials: {status} {code}"),
        ))
    }
}

impl SystemSources {
    /// STS `GetCallerIdentity` signed with `credentials` at `now`, as the
    /// AWS JS SDK the CLI uses sends it: it signs these headers,
    /// content-length and its own three included (conformance's
    /// aws-auth-refresh-never-helps); one attempt, as the check is not
    /// retried.
    fn get_caller_identity(
        &self,
        credentials: &AwsCredentials,
        now: SystemTime,
    ) -> Result<Outgoing, Error> {
        let url = self.sts_url();
        let host = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default()
            .to_owned();
        let agent = format!("bedrock-client/{}", env!("CARGO_PKG_VERSION"));
        let signed = vec![
            ("x-amz-user-agent".to_owned(), agent.clone()),
            ("amz-sdk-invocation-id".to_owned(), invocation_id()),
            (
                "amz-sdk-request".to_owned(),
                format!("attempt=1; max={}", self.sdk_attempts),
            ),
            ("host".to_owned(), host),
            // The AWS JS SDK's, without a charset (conformance's
            // aws-auth-refresh-output).
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
            (
                "content-length".to_owned(),
                GET_CALLER_IDENTITY.len().to_string(),
            ),
        ];
        let request = ToSign {
            method: "POST",
            url: &url,
            headers: &signed,
            body: GET_CALLER_IDENTITY.as_bytes(),
        };
        let added = sign_request(&request, credentials, &self.region, Service::Sts, now)?;
        let mut headers = signed;
        headers.extend(added);
        // Sent, not signed, as the AWS JS SDK does; the value is this
        // client's own.
        headers.push((
            "user-agent".to_owned(),
            format!("{agent} os/{} api/sts", std::env::consts::OS),
        ));
        Ok(Outgoing {
            method: http::Method::POST,
            url,
            headers,
            body: Bytes::from_static(GET_CALLER_IDENTITY.as_bytes()),
        })
    }
}
