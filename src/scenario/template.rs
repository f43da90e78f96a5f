//! The commented template `bedrock-harness new` writes, and the path of
//! its `#:schema` line.

use std::path::{Component, Path, PathBuf};

/// The template for scenario `name`: a passing scenario with every
/// section shown, its first line `#:schema SCHEMA` when a schema is
/// given (editors such as taplo read it, a path relative to the file).
pub fn text(name: &str, schema: Option<&str>) -> String {
    let body = TEMPLATE.replace("NAME", name);
    match schema {
        Some(schema) => format!("#:schema {schema}\n{body}"),
        None => body,
    }
}

/// `target` as a path relative to the folder `from`, `/`-separated, as a
/// `#:schema` line names it (taplo reads such a path relative to the
/// file, so it resolves wherever the file was written, in the project or
/// not). Both must be absolute and without `.` or `..`; `None` when they
/// share no root (another drive).
pub fn relative_path(from: &Path, target: &Path) -> Option<String> {
    let from: Vec<Component<'_>> = from.components().collect();
    let target: Vec<Component<'_>> = target.components().collect();
    if from.first() != target.first() {
        return None;
    }
    let common = from.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    path.extend(&target[common..]);
    let text = path.to_string_lossy().replace('\\', "/");
    // A path in the same folder says so, as taplo's own examples do.
    Some(if text.starts_with("..") {
        text
    } else {
        format!("./{text}")
    })
}

const TEMPLATE: &str = r#"# A scenario: one situation a Claude client meets on Amazon Bedrock, and
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_path_is_relative_to_the_written_file() {
        let schema = Path::new("/p/scenarios/schema.json");
        let from = |dir: &str| relative_path(Path::new(dir), schema);
        assert_eq!(from("/p/scenarios").as_deref(), Some("./schema.json"));
        assert_eq!(from("/p/scenarios/auth").as_deref(), Some("../schema.json"));
        assert_eq!(
            from("/p/scenarios/customers/acme/2026").as_deref(),
            Some("../../../schema.json")
        );
        assert_eq!(from("/p").as_deref(), Some("./scenarios/schema.json"));
        assert_eq!(
            from("/tmp/x").as_deref(),
            Some("../../p/scenarios/schema.json")
        );
        assert!(text("a-1", None).starts_with("# A scenario"));
        assert!(text("a-1", Some("./s.json")).starts_with("#:schema ./s.json\n# A scenario"));
        assert!(text("a-1", None).contains("name = \"a-1\""));
    }
}
