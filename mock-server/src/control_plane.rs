//! The Bedrock control plane's inference profile calls:
//! ListInferenceProfiles and GetInferenceProfile, shaped as AWS shapes them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::catalogue::{self, ProfileSummary};
use crate::config::ServerConfig;
use crate::errors::AwsError;
use crate::percent::percent_decode;

/// When every profile of the fake account was created.
const CREATED_AT: &str = "2024-09-30T00:00:00Z";
/// The largest page AWS returns.
const MAX_RESULTS: usize = 1000;

/// `GET /inference-profiles?type=...&maxResults=...&nextToken=...`.
pub(crate) fn list_profiles(
    config: &ServerConfig,
    raw_query: &str,
    region: &str,
) -> Result<Value, AwsError> {
    let mut kind = "SYSTEM_DEFINED".to_owned();
    let mut max_results = MAX_RESULTS;
    let mut start = 0;
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match name {
            "type" => {
                if value != "SYSTEM_DEFINED" && value != "APPLICATION" {
                    return Err(AwsError::validation(format!(
                        "1 validation error detected: Value '{value}' at 'typeEquals' failed to satisfy constraint: Member must satisfy enum value set: [SYSTEM_DEFINED, APPLICATION]"
                    )));
                }
                kind = value;
            }
            "maxResults" => max_results = parse_max_results(&value)?,
            "nextToken" => start = decode_token(&value)?,
            _ => {}
        }
    }
    let profiles = if kind == "APPLICATION" {
        catalogue::application_profiles(config, region)
    } else {
        catalogue::system_profiles(config, region)
    };
    if start > profiles.len() {
        return Err(invalid_token());
    }
    let page: Vec<Value> = profiles
        .iter()
        .skip(start)
        .take(max_results)
        .map(profile_json)
        .collect();
    let mut out = json!({ "inferenceProfileSummaries": page });
    let next = start.saturating_add(max_results);
    if next < profiles.len() {
        out["nextToken"] = Value::String(encode_token(next));
    }
    Ok(out)
}

/// `GET /inference-profiles/{id or ARN}`; `id` decoded from the path.
pub(crate) fn get_profile(
    config: &ServerConfig,
    id: &str,
    region: &str,
) -> Result<Value, AwsError> {
    catalogue::find_profile(config, id, region)
        .map(|p| profile_json(&p))
        // No capture of this text exists; the shape is Bedrock's usual
        // "resource ... not found" wording.
        .ok_or_else(|| {
            AwsError::new(
                404,
                "ResourceNotFoundException",
                format!("Inference profile {id} not found."),
            )
        })
}

fn profile_json(p: &ProfileSummary) -> Value {
    let mut v = json!({
        "inferenceProfileName": p.name,
        "createdAt": CREATED_AT,
        "updatedAt": CREATED_AT,
        "inferenceProfileArn": p.arn,
        "models": p.model_arns.iter().map(|arn| json!({"modelArn": arn})).collect::<Vec<_>>(),
        "inferenceProfileId": p.id,
        "status": "ACTIVE",
        "type": if p.application { "APPLICATION" } else { "SYSTEM_DEFINED" },
    });
    if !p.description.is_empty() {
        v["description"] = Value::String(p.description.clone());
    }
    v
}

fn parse_max_results(value: &str) -> Result<usize, AwsError> {
    let n: i64 = value.parse().map_err(|_| {
        AwsError::validation(format!(
            "1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy constraint: Member must be a number"
        ))
    })?;
    if n < 1 {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )));
    }
    if n > MAX_RESULTS as i64 {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to {MAX_RESULTS}"
        )));
    }
    Ok(n as usize)
}

/// Page tokens are opaque to clients; here, the offset in base64.
fn encode_token(offset: usize) -> String {
    STANDARD.encode(format!("offset:{offset}"))
}

fn decode_token(token: &str) -> Result<usize, AwsError> {
    STANDARD
        .decode(token)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse().ok()))
        .ok_or_else(invalid_token)
}

// No capture of this text exists; AWS's usual wording for a bad token.
fn invalid_token() -> AwsError {
    AwsError::validation("The provided pagination token is invalid.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_through_every_profile_once() {
        let config = ServerConfig::default();
        let mut seen = Vec::new();
        let mut query = "type=SYSTEM_DEFINED&maxResults=4".to_owned();
        loop {
            let page = list_profiles(&config, &query, "us-east-1").unwrap();
            for p in page["inferenceProfileSummaries"].as_array().unwrap() {
                seen.push(p["inferenceProfileId"].as_str().unwrap().to_owned());
            }
            match page.get("nextToken").and_then(Value::as_str) {
                Some(token) => {
                    query = format!(
                        "maxResults=4&nextToken={}",
                        crate::percent::uri_encode(token)
                    )
                }
                None => break,
            }
        }
        let all = catalogue::system_profiles(&config, "us-east-1");
        assert_eq!(seen, all.iter().map(|p| p.id.clone()).collect::<Vec<_>>());
    }

    #[test]
    fn rejects_bad_parameters_with_the_validation_layers_words() {
        let config = ServerConfig::default();
        let err = |q: &str| list_profiles(&config, q, "us-east-1").unwrap_err().message;
        assert!(
            err("maxResults=1001").ends_with("Member must have value less than or equal to 1000")
        );
        assert!(err("maxResults=0").ends_with("Member must have value greater than or equal to 1"));
        assert!(err("type=ALL").contains("Member must satisfy enum value set"));
        assert_eq!(
            err("nextToken=zzz"),
            "The provided pagination token is invalid."
        );
        // "offset:18446744073709551615": a forged token must not overflow.
        assert_eq!(
            err("nextToken=b2Zmc2V0OjE4NDQ2NzQ0MDczNzA5NTUxNjE1"),
            "The provided pagination token is invalid."
        );
        assert_eq!(
            get_profile(&config, "nope", "us-east-1")
                .unwrap_err()
                .status,
            404
        );
    }
}
