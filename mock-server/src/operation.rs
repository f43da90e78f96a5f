//! What a request asks for: the [`Operation`], and the wire [`Protocol`]
//! of the endpoint that serves it (which decides how its errors look, how
//! its streams are framed, and how it authenticates).

use serde::{Deserialize, Serialize};

use crate::listed::listed_enum;

listed_enum! {
/// The operations the server knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum Operation {
    /// `POST /model/{id}/invoke`.
    InvokeModel,
    /// `POST /model/{id}/invoke-with-response-stream`.
    InvokeModelWithResponseStream,
    /// `GET /inference-profiles`.
    ListInferenceProfiles,
    /// `GET /inference-profiles/{id}`.
    GetInferenceProfile,
    /// Mantle `POST /v1/messages` (or `/anthropic/v1/messages`) without
    /// `"stream": true`: one JSON answer.
    MantleMessages,
    /// Mantle `POST /v1/messages` with `"stream": true`: Server-Sent Events.
    MantleMessagesStream,
    /// STS `GetCallerIdentity` (`POST /`, `Action=GetCallerIdentity`).
    GetCallerIdentity,
    /// STS `AssumeRole`: temporary credentials for a role, signed by the
    /// caller.
    AssumeRole,
    /// STS `AssumeRoleWithWebIdentity`: temporary credentials for an OIDC
    /// token; not signed.
    AssumeRoleWithWebIdentity,
    /// The IAM Identity Center (SSO) portal's `GetRoleCredentials`
    /// (`GET /federation/credentials`): role credentials for a cached SSO
    /// access token, as the AWS credential chain fetches them for an SSO
    /// profile.
    GetRoleCredentials,
}
}

impl Operation {
    /// The SigV4 service name requests for this operation are signed with.
    pub fn signing_name(self) -> &'static str {
        self.protocol().signing_name()
    }

    /// Whether the operation hands out or checks credentials (STS, the SSO
    /// portal) rather than serving models.
    pub fn serves_credentials(self) -> bool {
        matches!(self.protocol(), Protocol::Sts | Protocol::SsoPortal)
    }

    /// The operation's name, as the journal and scenario files spell it.
    pub fn name(self) -> &'static str {
        match self {
            Operation::InvokeModel => "InvokeModel",
            Operation::InvokeModelWithResponseStream => "InvokeModelWithResponseStream",
            Operation::ListInferenceProfiles => "ListInferenceProfiles",
            Operation::GetInferenceProfile => "GetInferenceProfile",
            Operation::MantleMessages => "MantleMessages",
            Operation::MantleMessagesStream => "MantleMessagesStream",
            Operation::GetCallerIdentity => "GetCallerIdentity",
            Operation::AssumeRole => "AssumeRole",
            Operation::AssumeRoleWithWebIdentity => "AssumeRoleWithWebIdentity",
            Operation::GetRoleCredentials => "GetRoleCredentials",
        }
    }

    /// The operation called `name` (`InvokeModel`), as the journal spells it.
    pub fn named(name: &str) -> Option<Operation> {
        Self::ALL.iter().copied().find(|op| op.name() == name)
    }

    /// The wire protocol of the endpoint that serves it.
    pub(crate) fn protocol(self) -> Protocol {
        match self {
            Operation::InvokeModel
            | Operation::InvokeModelWithResponseStream
            | Operation::ListInferenceProfiles
            | Operation::GetInferenceProfile => Protocol::Bedrock,
            Operation::MantleMessages | Operation::MantleMessagesStream => Protocol::Mantle,
            Operation::GetCallerIdentity
            | Operation::AssumeRole
            | Operation::AssumeRoleWithWebIdentity => Protocol::Sts,
            Operation::GetRoleCredentials => Protocol::SsoPortal,
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The wire protocols the server speaks; each has its own error shape and
/// its own implementation of the request path's protocol steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Protocol {
    /// Bedrock runtime and control plane: REST-JSON, `x-amzn-ErrorType`.
    Bedrock,
    /// Mantle: the Anthropic Messages API, `{"type":"error",...}`.
    Mantle,
    /// STS: the AWS query protocol, XML.
    Sts,
    /// The IAM Identity Center portal: REST-JSON like Bedrock, its own
    /// error namespace, an SSO access token instead of a signature.
    SsoPortal,
}

impl Protocol {
    /// The SigV4 service name.
    pub(crate) fn signing_name(self) -> &'static str {
        match self {
            Protocol::Bedrock => "bedrock",
            Protocol::Mantle => "bedrock-mantle",
            Protocol::Sts => "sts",
            Protocol::SsoPortal => "awsssoportal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serialized_names() {
        for &op in Operation::ALL {
            let json = serde_json::to_value(op).unwrap();
            assert_eq!(json, op.name(), "{op:?}");
            assert_eq!(Operation::named(op.name()), Some(op));
        }
        assert_eq!(Operation::named("Invoke"), None);
    }
}
