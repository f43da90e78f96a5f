//! What the mock takes a request to ask for, for tools that see traffic
//! without serving it: a proxy recording a session, an importer reading a
//! capture. The server identifies requests the same way (`Api::identify`).

use http::Method;

use crate::api::Api;
use crate::bedrock::Bedrock;
use crate::mantle::Mantle;
use crate::operation::{Operation, Protocol};
use crate::routes;
use crate::sso::SsoPortal;
use crate::sts::Sts;

/// A request's operation, and the model or profile it names.
///
/// ```
/// use bedrock_mock_server::{Operation, identify};
///
/// let found = identify("POST", "/model/us.anthropic.claude-opus-5-5/invoke-with-response-stream", "", b"{}")
///     .expect("a runtime path");
/// assert_eq!(found.operation, Operation::InvokeModelWithResponseStream);
/// assert_eq!(found.model.as_deref(), Some("us.anthropic.claude-opus-5-5"));
///
/// // Mantle's operation and model are in its body.
/// let found = identify("POST", "/anthropic/v1/messages", "", br#"{"model":"anthropic.claude-opus-5-5","stream":true}"#).unwrap();
/// assert_eq!(found.operation, Operation::MantleMessagesStream);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Identified {
    /// The operation.
    pub operation: Operation,
    /// The model or profile id, decoded: from the path, or Mantle's body.
    pub model: Option<String>,
}

/// What the mock would take a request with this method, raw path (as
/// sent, percent-encoded), raw query and body to ask for; `None` for a
/// method, path or STS action no operation has.
pub fn identify(method: &str, raw_path: &str, raw_query: &str, body: &[u8]) -> Option<Identified> {
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let route = routes::classify(&method, raw_path);
    let requested = match route.protocol() {
        Protocol::Bedrock => Bedrock.identify(route, raw_query, body),
        Protocol::Mantle => Mantle.identify(route, raw_query, body),
        Protocol::Sts => Sts.identify(route, raw_query, body),
        Protocol::SsoPortal => SsoPortal.identify(route, raw_query, body),
    }
    .ok()?;
    Some(Identified {
        operation: requested.operation,
        model: requested.model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_protocol_is_identified_as_the_server_does() {
        let op = |m, p, q, b: &[u8]| identify(m, p, q, b).map(|i| i.operation);
        assert_eq!(
            op("GET", "/inference-profiles", "maxResults=1000", b""),
            Some(Operation::ListInferenceProfiles)
        );
        assert_eq!(
            op(
                "POST",
                "/",
                "",
                b"Action=GetCallerIdentity&Version=2011-06-15"
            ),
            Some(Operation::GetCallerIdentity)
        );
        assert_eq!(op("POST", "/", "", b"Action=Nope&Version=2011-06-15"), None);
        assert_eq!(
            op("POST", "/v1/messages", "", br#"{"model":"m"}"#),
            Some(Operation::MantleMessages)
        );
        assert_eq!(op("GET", "/nowhere", "", b""), None);
        let arn = identify(
            "POST",
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc/invoke",
            "",
            b"{}",
        )
        .unwrap();
        assert_eq!(
            arn.model.as_deref(),
            Some("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc")
        );
    }
}
