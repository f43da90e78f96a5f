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
///
/// A gateway in front of Bedrock is often reached at a base URL with a
/// path of its own (`https://gw.example/bedrock`, LiteLLM's `/bedrock`
/// passthrough, `/v1/b`): clients keep that prefix and append the
/// operation's path. So a model or inference-profile path is found after
/// any prefix, before the prefix is taken for Mantle's (`/v1/`,
/// `/anthropic/`); the journal keeps the path as sent.
pub(crate) fn classify(method: &Method, raw_path: &str) -> Route {
    if let Some(route) = model_route(method, raw_path) {
        return route;
    }
    if let Some(route) = inference_profiles_route(method, raw_path) {
        return route;
    }
    // Mantle's base URL ends in `/anthropic`; clients given a bare host as
    // base URL (Claude Code in the captures) post to `/v1/messages`; behind
    // a gateway, either follows the gateway's prefix.
    if raw_path.ends_with("/v1/messages") && *method == Method::POST {
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
    Route::Unknown
}

/// `…/model/{id}/invoke` and `…/model/{id}/invoke-with-response-stream`,
/// after any prefix (which may hold `/model/` itself); `None` when no
/// `/model/` segment leads to one.
fn model_route(method: &Method, raw_path: &str) -> Option<Route> {
    // Every `/` in turn: the matches may overlap (`/model/model/…`).
    raw_path.match_indices('/').find_map(|(at, _)| {
        let rest = raw_path[at..].strip_prefix("/model/")?;
        // A `/` inside the id must be sent as `%2F`; a raw one splits the
        // path into segments no operation has.
        let (operation, id) = match rest.split_once('/') {
            Some((id, "invoke")) if !id.is_empty() => (Operation::InvokeModel, id),
            Some((id, "invoke-with-response-stream")) if !id.is_empty() => {
                (Operation::InvokeModelWithResponseStream, id)
            }
            _ => return None,
        };
        Some(if *method == Method::POST {
            Route::Aws {
                operation,
                target: Some(percent_decode(id)),
            }
        } else {
            Route::Unknown
        })
    })
}

/// `…/inference-profiles` and `…/inference-profiles/{id}` (GET), after
/// any prefix; `None` when the path has no such segment.
fn inference_profiles_route(method: &Method, raw_path: &str) -> Option<Route> {
    let at = raw_path.rfind("/inference-profiles")?;
    let rest = &raw_path[at + "/inference-profiles".len()..];
    let target = match rest.strip_prefix('/') {
        None if rest.is_empty() => None,
        Some("") => None,
        Some(id) if !id.contains('/') => Some(percent_decode(id)),
        _ => return None,
    };
    if *method != Method::GET {
        return Some(Route::Unknown);
    }
    let operation = if target.is_some() {
        Operation::GetInferenceProfile
    } else {
        Operation::ListInferenceProfiles
    };
    Some(Route::Aws { operation, target })
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
    fn a_gateways_prefix_is_kept_and_what_follows_it_is_routed() {
        let id = "us.anthropic.claude-opus-5-5";
        for prefix in ["/bedrock", "/v1/b", "/anthropic/gw", "/a/model/b", "/model"] {
            assert_eq!(
                target(Method::POST, &format!("{prefix}/model/{id}/invoke")),
                Some((Operation::InvokeModel, Some(id.to_owned()))),
                "{prefix}"
            );
            assert_eq!(
                target(
                    Method::POST,
                    &format!("{prefix}/model/{id}/invoke-with-response-stream")
                ),
                Some((
                    Operation::InvokeModelWithResponseStream,
                    Some(id.to_owned())
                )),
                "{prefix}"
            );
            assert_eq!(
                target(Method::GET, &format!("{prefix}/inference-profiles")),
                Some((Operation::ListInferenceProfiles, None)),
                "{prefix}"
            );
            assert_eq!(
                target(Method::GET, &format!("{prefix}/inference-profiles/{id}")),
                Some((Operation::GetInferenceProfile, Some(id.to_owned()))),
                "{prefix}"
            );
        }
        // Mantle behind a gateway, and the prefix alone.
        assert_eq!(
            classify(&Method::POST, "/gw/anthropic/v1/messages"),
            Route::Mantle
        );
        assert_eq!(classify(&Method::POST, "/v1/b/v1/messages"), Route::Mantle);
        assert_eq!(classify(&Method::POST, "/v1/b"), Route::UnknownMantle);
        for (method, path) in [
            (Method::POST, "/bedrock"),
            (Method::POST, "/bedrock/model/x/converse"),
            (Method::GET, "/bedrock/model/x/invoke"),
            (Method::POST, "/bedrock/inference-profiles"),
        ] {
            assert_eq!(classify(&method, path), Route::Unknown, "{method} {path}");
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
