//! What goes on the wire for each call: the headers ([`model_call_headers`],
//! [`control_plane_headers`], in the CLI's [`wire_order`]), the bodies
//! ([`MessagesRequest`]), and who the client says it is ([`Identity`]).
//! Everything here is a pure function of the [`Config`](crate::Config) and
//! the call, so each variable's effect on the wire is tested without a
//! server.

mod body;
mod headers;
mod identity;

pub use body::{BEDROCK_ANTHROPIC_VERSION, Content, Message, MessagesRequest, TextBlock};
pub use headers::{
    ANTHROPIC_VERSION_HEADER, CallKind, ModelCall, control_plane_headers, is_signed,
    model_call_headers, wire_order,
};
pub use identity::Identity;
pub(crate) use identity::random_bytes;
