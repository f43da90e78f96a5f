//! The commented template `bedrock-harness new` writes.

/// The template for scenario `name`: a passing scenario with every
/// section shown. Its `#:schema` line assumes a theme folder under
/// `scenarios/`.
pub fn text(name: &str) -> String {
    TEMPLATE.replace("NAME", name)
}

const TEMPLATE: &str = r#"#:schema ../schema.json
# A scenario: one situation a Claude client meets on Amazon Bedrock, and
# what must happen. Run it with `bedrock-harness run scenarios/NAME.toml`.
# Every key is in scenarios/schema.json; unknown keys are errors.
schema = 1
name = "NAME"
description = "What happens, in a sentence or two."
# The customer report (its title in customer-scenarios.md), the section of
# the Bedrock page, or the golden capture this reproduces.
source = "seed: Quick start"

[client]
# The mock's example access key; or "api-key", or "none" and set your own.
credentials = "keys"
# `bedrock-client` arguments; without a command the runner adds -p PROMPT.
args = []
prompt = "hi"
# `{mock}` is the mock's URL, `{home}` the client's fresh HOME. The runner
# already points every endpoint variable at the mock.
[client.env]
CLAUDE_CODE_USE_BEDROCK = "1"
AWS_REGION = "us-east-1"

# Settings files, as TOML tables written out as JSON:
# [client.settings.user]
# awsAuthRefresh = "echo 'Attempting SSO login...'"
# [client.settings.user.env]
# ANTHROPIC_DEFAULT_OPUS_MODEL = "us.anthropic.claude-opus-4-6-v1"

# Refresh commands as built-in actions: issue-next, no-op, fail, print-garbage.
# [client.refresh]
# export = "issue-next"

# The fake account: the fields of bedrock_mock_server::ServerConfig.
# Everything left out is the default account (us-east-1, the Claude
# catalogue, AKIDEXAMPLE).
[server]
# regions = ["us-east-1", "us-west-2"]
# [server.model_state]
# "anthropic.claude-opus-5-5" = "not_found"
# [[server.rules]]
# when = { operation = "InvokeModelWithResponseStream" }
# answer = { error = { code = "ThrottlingException" } }
# times = 2

# [clock]
# start = "2026-11-25T12:00:00Z"

[expect]
exit = 0
error = "none"
stdout = ["hi"]
# The requests, in order (runs of one operation in any order among
# themselves); `order = "subsequence"` or `"set"` to loosen.
[[expect.requests]]
operation = "ListInferenceProfiles"
[[expect.requests]]
operation = "InvokeModel"
repeat = 3
[[expect.requests]]
operation = "InvokeModelWithResponseStream"
model = "us.anthropic.claude-opus-5-5"
status = 200
[expect.counts]
requests = 5
retries = 0
"#;
