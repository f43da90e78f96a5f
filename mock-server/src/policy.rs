//! Explicit denies of the account's policies (`denies`): an invoke request
//! one matches is refused before Bedrock looks at it, with the
//! AccessDeniedException AWS's authorization sends, naming the caller, the
//! action and the resource.

use crate::config::{Deny, PolicyKind, ServerConfig};
use crate::errors::AwsError;
use crate::operation::Operation;
use crate::rules::glob;

/// What is asked of IAM: who, which action, from where, on what.
pub(crate) struct Request<'a> {
    /// The caller's identity ARN.
    pub principal: &'a str,
    pub operation: Operation,
    pub region: &'a str,
    /// The resources authorized, in the order a refusal names them.
    pub resources: &'a [String],
}

/// The first deny that matches `request`, as AWS's refusal.
pub(crate) fn check_denies(config: &ServerConfig, request: &Request<'_>) -> Result<(), AwsError> {
    for deny in &config.denies {
        if let Some(resource) = denied_resource(deny, request) {
            return Err(refusal(config, deny, request, resource));
        }
    }
    Ok(())
}

/// The resource `deny` denies `request` on, if it applies.
fn denied_resource<'r>(deny: &Deny, request: &Request<'r>) -> Option<&'r str> {
    let action = deny.actions.is_empty() || deny.actions.contains(&request.operation);
    let region = deny.regions.is_empty() || deny.regions.iter().any(|r| glob(r, request.region));
    if !(action && region) {
        return None;
    }
    request
        .resources
        .iter()
        .find(|arn| deny.resources.is_empty() || deny.resources.iter().any(|p| glob(p, arn)))
        .map(String::as_str)
}

/// AWS's words, from users' reports: `… with an explicit deny in a service
/// control policy: arn:aws:organizations::…` (aws-samples/sample-badgers#33,
/// tinovyatkin/amazon-bedrock-copilot-chat#396) and `… with an explicit
/// deny in an identity-based policy` (posit-dev/positron#10683), sent as
/// `{"Message":…}` by the authorization layer.
fn refusal(config: &ServerConfig, deny: &Deny, request: &Request<'_>, resource: &str) -> AwsError {
    let policy = match deny.policy {
        PolicyKind::ServiceControlPolicy => format!(
            "a service control policy: {}",
            deny.policy_arn
                .clone()
                .unwrap_or_else(|| example_scp_arn(config))
        ),
        PolicyKind::IdentityBased => "an identity-based policy".to_owned(),
    };
    AwsError::front_door(format!(
        "User: {} is not authorized to perform: bedrock:{} on resource: {resource} with an explicit deny in {policy}",
        request.principal,
        request.operation.name()
    ))
}

/// The SCP a deny names when its file gives none: the account's own
/// organization, an example id.
fn example_scp_arn(config: &ServerConfig) -> String {
    format!(
        "arn:aws:organizations::{}:policy/o-exampleorgid/service_control_policy/p-examplescp",
        config.account_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deny(policy: PolicyKind) -> Deny {
        Deny {
            policy,
            policy_arn: None,
            actions: Vec::new(),
            regions: Vec::new(),
            resources: Vec::new(),
        }
    }

    fn request<'a>(resources: &'a [String], region: &'a str) -> Request<'a> {
        Request {
            principal: "arn:aws:sts::123456789012:assumed-role/dev/s1",
            operation: Operation::InvokeModelWithResponseStream,
            region,
            resources,
        }
    }

    #[test]
    fn names_the_caller_the_action_and_the_first_denied_resource() {
        let resources = vec![
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-opus-4-6-v1".to_owned(),
            "arn:aws:bedrock:::foundation-model/anthropic.claude-opus-4-6-v1".to_owned(),
        ];
        let global_models = Deny {
            resources: vec!["arn:aws:bedrock:::foundation-model/*".to_owned()],
            ..deny(PolicyKind::ServiceControlPolicy)
        };
        let config = ServerConfig::default().deny(global_models);
        let e = check_denies(&config, &request(&resources, "us-east-1")).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (403, "AccessDeniedException"));
        assert_eq!(
            e.message,
            "User: arn:aws:sts::123456789012:assumed-role/dev/s1 is not authorized to perform: bedrock:InvokeModelWithResponseStream on resource: arn:aws:bedrock:::foundation-model/anthropic.claude-opus-4-6-v1 with an explicit deny in a service control policy: arn:aws:organizations::123456789012:policy/o-exampleorgid/service_control_policy/p-examplescp"
        );
        assert_eq!(
            String::from_utf8(e.body()).unwrap(),
            format!(r#"{{"Message":"{}"}}"#, e.message)
        );
    }

    #[test]
    fn a_deny_applies_only_to_its_actions_and_regions() {
        let resources = vec!["arn:aws:bedrock:eu-west-1::foundation-model/x".to_owned()];
        let eu_only = Deny {
            regions: vec!["eu-*".to_owned()],
            actions: vec![Operation::InvokeModel],
            ..deny(PolicyKind::IdentityBased)
        };
        let config = ServerConfig::default().deny(eu_only);
        assert!(check_denies(&config, &request(&resources, "eu-west-1")).is_ok());
        let invoke = Request {
            operation: Operation::InvokeModel,
            ..request(&resources, "eu-west-1")
        };
        let e = check_denies(&config, &invoke).unwrap_err();
        assert!(
            e.message
                .ends_with("bedrock:InvokeModel on resource: arn:aws:bedrock:eu-west-1::foundation-model/x with an explicit deny in an identity-based policy"),
            "{}",
            e.message
        );
        let us = Request {
            region: "us-east-1",
            ..invoke
        };
        assert!(check_denies(&config, &us).is_ok());
    }
}
