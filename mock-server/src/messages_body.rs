//! The checks of an Anthropic Messages body that Bedrock's runtime and
//! Mantle share, in the Anthropic API validator's words (`field:
//! problem`). Each says what is wrong, if anything; the endpoint wraps it
//! in its own error (Bedrock's ValidationException, Mantle's
//! `invalid_request_error`) and reports the first problem only.

use serde_json::{Map, Value};

/// A body's top-level object.
pub(crate) type Fields = Map<String, Value>;

/// `max_tokens`: required, an integer of 1 or more.
pub(crate) fn max_tokens_problem(fields: &Fields) -> Option<&'static str> {
    match fields.get("max_tokens") {
        None => Some("max_tokens: Field required"),
        Some(v) if v.as_u64().is_some_and(|n| n >= 1) => None,
        Some(v) if v.is_u64() || v.is_i64() => {
            Some("max_tokens: Input should be greater than or equal to 1")
        }
        Some(_) => Some("max_tokens: Input should be a valid integer"),
    }
}

/// `messages`: required, a list of at least one.
pub(crate) fn messages_problem(fields: &Fields) -> Option<&'static str> {
    match fields.get("messages") {
        None => Some("messages: Field required"),
        Some(Value::Array(m)) if m.is_empty() => Some("messages: at least one message is required"),
        Some(Value::Array(_)) => None,
        Some(_) => Some("messages: Input should be a valid list"),
    }
}

/// The first of `names` the body has, which the endpoint does not take.
pub(crate) fn extra_field_problem(fields: &Fields, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|name| fields.contains_key(**name))
        .map(|name| format!("{name}: Extra inputs are not permitted"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Fields {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn each_field_is_named_with_its_problem() {
        assert_eq!(
            max_tokens_problem(&fields("{}")),
            Some("max_tokens: Field required")
        );
        assert_eq!(
            max_tokens_problem(&fields(r#"{"max_tokens": 0}"#)),
            Some("max_tokens: Input should be greater than or equal to 1")
        );
        assert_eq!(
            max_tokens_problem(&fields(r#"{"max_tokens": "1"}"#)),
            Some("max_tokens: Input should be a valid integer")
        );
        assert_eq!(max_tokens_problem(&fields(r#"{"max_tokens": 1}"#)), None);
        assert_eq!(
            messages_problem(&fields(r#"{"messages": {}}"#)),
            Some("messages: Input should be a valid list")
        );
        assert_eq!(
            extra_field_problem(&fields(r#"{"stream": true}"#), &["model", "stream"]).as_deref(),
            Some("stream: Extra inputs are not permitted")
        );
    }
}
