//! What goes on the wire for each call: the headers ([`model_call_headers`],
//! [`control_plane_headers`], in the CLI's [`wire_order`]), the bodies
//! ([`MessagesRequest`]), shaped per model from the catalogue
//! ([`turn_request`]), and who the client says it is ([`Identity`]).
//! Everything here is a pure function of the [`Config`](crate::Config) and
//! the call, so each variable's effect on the wire is tested without a
//! server.

mod body;
mod headers;
mod identity;
mod shape;

pub use body::{Content, Dropped, Message, MessagesRequest, TextBlock, Thinking};
pub use headers::{
    CallKind, ModelCall, control_plane_headers, is_signed, model_call_headers, wire_order,
};
pub use identity::Identity;
pub(crate) use identity::{invocation_id, random_bytes};
pub use shape::turn_request;

/// `/model/{id}/{operation}` with the id as the CLI writes it: `:` raw,
/// `/` (in ARNs) as `%2F`, anything else outside the unreserved set
/// percent-encoded.
pub fn model_path(model: &str, operation: &str) -> String {
    let mut path = String::from("/model/");
    for byte in model.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:".contains(&byte) {
            path.push(byte as char);
        } else {
            path.push_str(&format!("%{byte:02X}"));
        }
    }
    path.push('/');
    path.push_str(operation);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_paths_are_written_as_the_cli_writes_them() {
        assert_eq!(
            model_path("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "invoke"),
            "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke"
        );
        assert_eq!(
            model_path(
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2",
                "invoke-with-response-stream"
            ),
            "/model/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile%2Fa1b2/invoke-with-response-stream"
        );
    }
}
