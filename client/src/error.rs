//! The client's error type: a kind to match on and a message that says what
//! to do next.

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

impl ErrorKind {
    /// The kind in kebab case (`missing-variable`), for reports.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::MissingVariable => "missing-variable",
            ErrorKind::InvalidVariable => "invalid-variable",
            ErrorKind::Settings => "settings",
            ErrorKind::NoProvider => "no-provider",
            ErrorKind::Command => "command",
            ErrorKind::Credentials => "credentials",
            ErrorKind::Signing => "signing",
            ErrorKind::Request => "request",
            ErrorKind::Connection => "connection",
            ErrorKind::Timeout => "timeout",
        }
    }
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
