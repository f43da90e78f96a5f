//! The Bedrock control plane's inference profile calls:
//! ListInferenceProfiles and GetInferenceProfile, shaped as AWS shapes them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

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
) -> Result<ProfileList, AwsError> {
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
    let next = start.saturating_add(max_results);
    let next_token = (next < profiles.len()).then(|| encode_token(next));
    let page = profiles
        .into_iter()
        .skip(start)
        .take(max_results)
        .map(Profile::from)
        .collect();
    Ok(ProfileList {
        inference_profile_summaries: page,
        next_token,
    })
}

/// `GET /inference-profiles/{id or ARN}`; `id` decoded from the path.
pub(crate) fn get_profile(
    config: &ServerConfig,
    id: &str,
    region: &str,
) -> Result<Profile, AwsError> {
    catalogue::find_profile(config, id, region)
        .map(Profile::from)
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

/// ListInferenceProfiles' answer: the page, then the token of the next
/// one (absent on the last page).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProfileList {
    inference_profile_summaries: Vec<Profile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// An inference profile, its fields in the order Bedrock sends them
/// (serde writes a struct's fields in declaration order, whatever
/// serde_json's features); `description` last, and only when it has one.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Profile {
    inference_profile_name: String,
    created_at: &'static str,
    updated_at: &'static str,
    inference_profile_arn: String,
    models: Vec<ProfileModel>,
    inference_profile_id: String,
    status: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProfileModel {
    model_arn: String,
}

impl From<ProfileSummary> for Profile {
    fn from(p: ProfileSummary) -> Self {
        Profile {
            inference_profile_name: p.name,
            created_at: CREATED_AT,
            updated_at: CREATED_AT,
            inference_profile_arn: p.arn,
            models: p
                .model_arns
                .into_iter()
                .map(|model_arn| ProfileModel { model_arn })
                .collect(),
            inference_profile_id: p.id,
            status: "ACTIVE",
            kind: if p.application {
                "APPLICATION"
            } else {
                "SYSTEM_DEFINED"
            },
            description: p.description,
        }
    }
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

    /// A page of profiles byte for byte: Bedrock's key order, not the
    /// sorted order of a `serde_json::Value` built without `preserve_order`.
    #[test]
    fn a_profile_list_keeps_bedrocks_key_order() {
        let summary = |description: &str| ProfileSummary {
            name: "US Claude X".into(),
            description: description.into(),
            arn: "arn:aws:bedrock:us-east-1:1:inference-profile/us.x".into(),
            id: "us.x".into(),
            model_arns: vec!["arn:m1".into(), "arn:m2".into()],
            application: false,
        };
        let list = ProfileList {
            inference_profile_summaries: vec![summary("Routes X").into(), summary("").into()],
            next_token: Some("NA==".into()),
        };
        let profile = |description: &str| {
            format!(
                concat!(
                    r#"{{"inferenceProfileName":"US Claude X","createdAt":"2024-09-30T00:00:00Z","#,
                    r#""updatedAt":"2024-09-30T00:00:00Z","#,
                    r#""inferenceProfileArn":"arn:aws:bedrock:us-east-1:1:inference-profile/us.x","#,
                    r#""models":[{{"modelArn":"arn:m1"}},{{"modelArn":"arn:m2"}}],"#,
                    r#""inferenceProfileId":"us.x","status":"ACTIVE","type":"SYSTEM_DEFINED"{}}}"#
                ),
                description
            )
        };
        assert_eq!(
            serde_json::to_string(&list).unwrap(),
            format!(
                r#"{{"inferenceProfileSummaries":[{},{}],"nextToken":"NA=="}}"#,
                profile(r#","description":"Routes X""#),
                profile("")
            )
        );
    }

    #[test]
    fn pages_through_every_profile_once() {
        let config = ServerConfig::default();
        let mut seen = Vec::new();
        let mut query = "type=SYSTEM_DEFINED&maxResults=4".to_owned();
        loop {
            let page = list_profiles(&config, &query, "us-east-1").unwrap();
            let page = serde_json::to_value(page).unwrap();
            for p in page["inferenceProfileSummaries"].as_array().unwrap() {
                seen.push(p["inferenceProfileId"].as_str().unwrap().to_owned());
            }
            match page.get("nextToken").and_then(serde_json::Value::as_str) {
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
