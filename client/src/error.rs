//! The client's error type: a kind to match on and a message that says what
//! to do next; and the kinds of failure a run can end on ([`FailureKind`]),
//! which name both these errors and the service's refusals.

/// What went wrong, to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A required environment variable is not set.
    MissingVariable,
    /// An environment variable has a value the client cannot use.
    InvalidVariable,
    /// A settings file cannot be read, is not JSON, or has a key of the
    /// wrong type.
    Settings,
    /// Neither Bedrock nor Mantle is enabled.
    NoProvider,
    /// A refresh command (`awsAuthRefresh`, `awsCredentialExport`) could
    /// not run, timed out, failed, or printed something unusable.
    Command,
    /// No AWS credentials could be found, or the source refused.
    Credentials,
    /// `awsCredentialExport` gave no usable credentials: it failed, or
    /// printed no STS `Credentials` object with a key, secret and session
    /// token. Not retried; the line is the CLI's for credentials that
    /// cannot be loaded.
    CredentialExport,
    /// A request could not be signed (a malformed URL or header).
    Signing,
    /// A request is not valid HTTP (a header value with a newline, a URL
    /// that does not parse).
    Request,
    /// No connection, or it broke: worth retrying.
    Connection,
    /// No answer in time: worth retrying.
    Timeout,
}

/// An error with a kind and a message that names the variable, file or key
/// at fault and says what to do. Messages never contain secrets.
///
/// ```
/// use bedrock_client::{Error, ErrorKind};
///
/// let e = Error::new(ErrorKind::MissingVariable, "AWS_REGION is not set: export AWS_REGION=us-east-1");
/// assert_eq!(e.kind(), ErrorKind::MissingVariable);
/// assert!(e.to_string().starts_with("AWS_REGION"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, as printed.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// What kind of failure ended a run ([`crate::cli::Outcome`]): a setup or
/// transport error's [`ErrorKind`], a refusal's
/// [`Failure`](crate::failure::Failure) class once the retries ran out, a
/// wrong command line, or a stream that broke. Written in kebab case
/// (`missing-variable`, `model-access`), as reports and scenario files
/// (`expect.error`) name it; that is also its serde form.
///
/// ```
/// use bedrock_client::{ErrorKind, FailureKind};
///
/// assert_eq!(FailureKind::from(ErrorKind::MissingVariable).name(), "missing-variable");
/// assert_eq!("on-demand-throughput".parse(), Ok(FailureKind::OnDemandThroughput));
/// assert!(FailureKind::ALL.iter().all(|k| k.name().parse() == Ok(*k)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The command line is wrong (exit status 2).
    Usage,
    /// [`ErrorKind::MissingVariable`].
    MissingVariable,
    /// [`ErrorKind::InvalidVariable`].
    InvalidVariable,
    /// [`ErrorKind::Settings`].
    Settings,
    /// [`ErrorKind::NoProvider`].
    NoProvider,
    /// [`ErrorKind::Command`].
    Command,
    /// No credentials could be loaded ([`ErrorKind::Credentials`]), or the
    /// service refused them after the refreshes.
    Credentials,
    /// [`ErrorKind::Signing`].
    Signing,
    /// [`ErrorKind::Request`].
    Request,
    /// [`ErrorKind::Connection`], after the retries.
    Connection,
    /// [`ErrorKind::Timeout`], after the retries.
    Timeout,
    /// A refusal worth retrying (throttling, 5xx) after the retries ran
    /// out.
    Retryable,
    /// The account may not use the model.
    ModelAccess,
    /// The on-demand throughput refusal, after the resends.
    OnDemandThroughput,
    /// Any other refusal.
    Final,
    /// The answer began but its stream broke.
    Stream,
}

impl FailureKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [FailureKind; 16] = [
        FailureKind::Usage,
        FailureKind::MissingVariable,
        FailureKind::InvalidVariable,
        FailureKind::Settings,
        FailureKind::NoProvider,
        FailureKind::Command,
        FailureKind::Credentials,
        FailureKind::Signing,
        FailureKind::Request,
        FailureKind::Connection,
        FailureKind::Timeout,
        FailureKind::Retryable,
        FailureKind::ModelAccess,
        FailureKind::OnDemandThroughput,
        FailureKind::Final,
        FailureKind::Stream,
    ];

    /// The kind in kebab case (`model-access`).
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Usage => "usage",
            FailureKind::MissingVariable => "missing-variable",
            FailureKind::InvalidVariable => "invalid-variable",
            FailureKind::Settings => "settings",
            FailureKind::NoProvider => "no-provider",
            FailureKind::Command => "command",
            FailureKind::Credentials => "credentials",
            FailureKind::Signing => "signing",
            FailureKind::Request => "request",
            FailureKind::Connection => "connection",
            FailureKind::Timeout => "timeout",
            FailureKind::Retryable => "retryable",
            FailureKind::ModelAccess => "model-access",
            FailureKind::OnDemandThroughput => "on-demand-throughput",
            FailureKind::Final => "final",
            FailureKind::Stream => "stream",
        }
    }
}

impl From<ErrorKind> for FailureKind {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::MissingVariable => FailureKind::MissingVariable,
            ErrorKind::InvalidVariable => FailureKind::InvalidVariable,
            ErrorKind::Settings => FailureKind::Settings,
            ErrorKind::NoProvider => FailureKind::NoProvider,
            ErrorKind::Command => FailureKind::Command,
            ErrorKind::Credentials => FailureKind::Credentials,
            ErrorKind::CredentialExport => FailureKind::Command,
            ErrorKind::Signing => FailureKind::Signing,
            ErrorKind::Request => FailureKind::Request,
            ErrorKind::Connection => FailureKind::Connection,
            ErrorKind::Timeout => FailureKind::Timeout,
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a [`FailureKind`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFailureKind(pub String);

impl std::fmt::Display for UnknownFailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is not a failure kind", self.0)
    }
}

impl std::error::Error for UnknownFailureKind {}

impl std::str::FromStr for FailureKind {
    type Err = UnknownFailureKind;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        FailureKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| UnknownFailureKind(name.to_owned()))
    }
}

impl serde::Serialize for FailureKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for FailureKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_kinds_are_written_as_scenario_files_name_them() {
        let json = serde_json::to_string(&FailureKind::ALL).unwrap();
        assert_eq!(
            json,
            r#"["usage","missing-variable","invalid-variable","settings","no-provider","command","credentials","signing","request","connection","timeout","retryable","model-access","on-demand-throughput","final","stream"]"#
        );
        let back: Vec<FailureKind> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, FailureKind::ALL);
        let refused = serde_json::from_str::<FailureKind>(r#""none""#).unwrap_err();
        assert!(refused.to_string().contains("`none` is not a failure kind"));
        assert_eq!(FailureKind::ModelAccess.to_string(), "model-access");
    }
}
