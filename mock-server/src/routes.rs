//! Which operation a request names, read from the raw path.
//!
//! Routing is done here rather than by a path-matching router because model
//! ids arrive in several encodings (`:` raw or `%3A`, ARNs with `%2F`), and
//! both SigV4 and the journal need the path exactly as sent.

use http::Method;

use crate::operation::{Operation, Protocol};
use crate::percent::percent_decode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// A Bedrock operation, with the decoded model or profile id it names.
    Aws {
        operation: Operation,
        target: Option<String>,
    },
    /// Mantle's Messages endpoint; the body names the model and says
    /// whether to stream.
    Mantle,
    /// STS at `/`; the action is in the form body or the query.
    Sts,
    /// The SSO portal's `GetRoleCredentials`.
    SsoPortal,
    /// Another path under Mantle's prefixes: not found, in Mantle's shape.
    UnknownMantle,
    /// No operation has this method and path.
    Unknown,
}

impl Route {
    /// The protocol of the endpoint that answers: the one the path
    /// belongs to; Bedrock's for a path nobody has.
    pub(crate) fn protocol(&self) -> Protocol {
        match self {
            Route::Aws { operation, .. } => operation.protocol(),
            Route::Mantle | Route::UnknownMantle => Protocol::Mantle,
            Route::Sts => Protocol::Sts,
            Route::SsoPortal => Protocol::SsoPortal,
            Route::Unknown => Protocol::Bedrock,
        }
    }
}

/// The route of a request, from its method and raw path (admin calls
/// never get here: the server's router sends them to `admin`).
pub(crate) fn classify(method: &Method, raw_path: &str) -> Route {
    let aws = |operation, target: Option<&str>| Route::Aws {
        operation,
        target: target.map(percent_decode),
    };
    // Mantle's base URL ends in `/anthropic`; clients given a bare host as
    // base URL (Claude Code in the captures) post to `/v1/messages`.
    if matches!(raw_path, "/v1/messages" | "/anthropic/v1/messages") && *method == Method::POST {
        return Route::Mantle;
    }
    // Other Anthropic API paths (`/v1/messages/count_tokens`, `/v1/models`)
    // are Mantle's to refuse, so a Mantle client sees a 404 in the shape
    // it parses, not a Bedrock authentication error.
    if raw_path.starts_with("/v1/") || raw_path.starts_with("/anthropic/") {
        return Route::UnknownMantle;
    }
    // STS's query protocol posts a form to `/` (or, rarely, GETs `/?Action=`).
    if raw_path == "/" {
        return if *method == Method::POST || *method == Method::GET {
            Route::Sts
        } else {
            Route::Unknown
        };
    }
    if raw_path == "/federation/credentials" {
        return if *method == Method::GET {
            Route::SsoPortal
        } else {
            Route::Unknown
        };
    }
    if let Some(rest) = raw_path.strip_prefix("/model/") {
        if *method != Method::POST {
            return Route::Unknown;
        }
        // A `/` inside the id must be sent as `%2F`; a raw one splits the
        // path into segments no operation has.
        return match rest.split_once('/') {
            Some((id, "invoke")) if !id.is_empty() => aws(Operation::InvokeModel, Some(id)),
            Some((id, "invoke-with-response-stream")) if !id.is_empty() => {
                aws(Operation::InvokeModelWithResponseStream, Some(id))
            }
            _ => Route::Unknown,
        };
    }
    if *method != Method::GET {
        return Route::Unknown;
    }
    match raw_path.strip_prefix("/inference-profiles") {
        Some("" | "/") => aws(Operation::ListInferenceProfiles, None),
        Some(rest) => match rest.strip_prefix('/') {
            Some(id) if !id.contains('/') => aws(Operation::GetInferenceProfile, Some(id)),
            _ => Route::Unknown,
        },
        None => Route::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(method: Method, path: &str) -> Option<(Operation, Option<String>)> {
        match classify(&method, path) {
            Route::Aws { operation, target } => Some((operation, target)),
            _ => None,
        }
    }

    #[test]
    fn accepts_every_encoding_real_clients_send() {
        let id = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
        for path in [
            "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke",
            "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke",
            "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3a0/invoke",
        ] {
            assert_eq!(
                target(Method::POST, path),
                Some((Operation::InvokeModel, Some(id.to_owned())))
            );
        }
        let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
        assert_eq!(
            target(
                Method::POST,
                "/model/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile%2Fabc123/invoke-with-response-stream"
            ),
            Some((
                Operation::InvokeModelWithResponseStream,
                Some(arn.to_owned())
            ))
        );
        assert_eq!(
            target(
                Method::GET,
                "/inference-profiles/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc123"
            ),
            Some((Operation::GetInferenceProfile, Some(arn.to_owned())))
        );
        assert_eq!(
            target(Method::GET, "/inference-profiles"),
            Some((Operation::ListInferenceProfiles, None))
        );
    }

    #[test]
    fn mantle_and_sts_are_told_by_path() {
        for path in ["/v1/messages", "/anthropic/v1/messages"] {
            assert_eq!(classify(&Method::POST, path), Route::Mantle, "{path}");
        }
        assert_eq!(classify(&Method::POST, "/"), Route::Sts);
        assert_eq!(classify(&Method::GET, "/"), Route::Sts);
        for (method, path) in [
            (Method::GET, "/v1/messages"),
            (Method::POST, "/v1/messages/count_tokens"),
            (Method::POST, "/anthropic/v1/complete"),
        ] {
            assert_eq!(classify(&method, path), Route::UnknownMantle, "{path}");
        }
    }

    #[test]
    fn anything_else_is_unknown() {
        for (method, path) in [
            (Method::GET, "/model/x/invoke"),
            (Method::POST, "/model//invoke"),
            (Method::POST, "/model/a/b/invoke"),
            (Method::POST, "/model/x/converse"),
            (Method::POST, "/inference-profiles"),
            (Method::GET, "/inference-profiles/a/b"),
            (Method::DELETE, "/"),
            (Method::GET, "/../etc/passwd"),
        ] {
            assert_eq!(classify(&method, path), Route::Unknown, "{method} {path}");
        }
    }
}
