"""The Claude Code CLI's cases, and `bedrock-client` run beside it: each
case runs, for each pinned version of the CLI, both the CLI and
bedrock-client as that version (`--cli-version`) with the same variables,
settings, account and rules, checks the CLI's outcome and its golden file
(`golden/claude-code/<version>/<case>.json`), and lists where
bedrock-client's requests and output differ from the CLI's."""

from __future__ import annotations

import json
import re
import math
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import ACCESS_KEY, API_KEY, REGION, SECRET_KEY, Mock, check_golden, error_rule
from sdk_cases import NODE_DIR

# Each version of the CLI is installed under the npm alias
# `claude-code-<version>` (node/package.json): the versions bedrock-client
# has a profile of (client/data/profiles/), as a cargo test checks.
ALIAS_PREFIX = "claude-code-"


def cli_versions() -> list[str]:
    """The versions of the CLI node/package.json pins, oldest first."""
    manifest = json.loads((NODE_DIR / "package.json").read_text())
    versions = [name[len(ALIAS_PREFIX):] for name in manifest["dependencies"]
                if name.startswith(ALIAS_PREFIX)]
    return sorted(versions, key=lambda v: [int(part) for part in v.split(".")])


def claude(version: str) -> Path:
    """The installed CLI of `version` (its postinstall puts the native
    binary in place of the package's `bin/claude.exe`)."""
    return NODE_DIR / "node_modules" / f"{ALIAS_PREFIX}{version}" / "bin" / "claude.exe"


OPUS_PROBE_404 = error_rule("InvokeModel", "ResourceNotFoundException", "*claude-opus-5-5",
                            message="Model not found.")


@dataclass
class CliCase:
    """A `claude -p` run: its variables beyond the common ones, arguments,
    the mock's rules, and what must come out. bedrock-client runs the same
    way beside it for the fidelity comparison."""

    name: str
    what: str
    env: dict
    args: list = field(default_factory=list)
    rules: list = field(default_factory=list)
    exit: int = 0
    stdout: str = "hi"
    # Fields of the mock's account to change (`ServerConfig`, JSON).
    config: dict = field(default_factory=dict)
    # ~/.claude/settings.json, `{mock}` standing for the mock's URL.
    settings: dict | None = None
    # Minutes long on a real clock: run only with `--slow` (CI does), and
    # only for the newest version.
    slow: bool = False
    # What stdout must hold instead of `stdout`, for the versions that
    # print something else.
    stdout_by_version: dict = field(default_factory=dict)

    def expected_stdout(self, version: str) -> str:
        return self.stdout_by_version.get(version, self.stdout)
    # Files to write under HOME before the run (path: text).
    files: dict = field(default_factory=dict)
    # Stop the client with SIGTERM once a request of this operation has
    # reached the mock (the case's rules stall it).
    sigterm_after: str | None = None
    # Compare the gaps between requests too, each rounded to a band
    # (`gap_band`): the retry schedule's shape.
    timing: bool = False
    # Compare each turn message's role, content type and caching marker
    # too (`message_shapes`).
    message_shapes: bool = False
    # A conversation instead of one prompt: each a user message on stdin,
    # `-p --input-format stream-json --output-format stream-json --verbose`;
    # stdout is then compared as `events_view` shows it.
    turns: list = field(default_factory=list)


# The file under HOME the cases' refresh commands append a line to.
REFRESH_RUNS = "refresh-runs"
# An SSO sign-in that "succeeds" without renewing anything.
NO_OP_REFRESH = f'echo "Attempting SSO login..."; echo run >> "$HOME/{REFRESH_RUNS}"'
# Session credentials in the environment that the account holds expired.
STALE = {"AWS_ACCESS_KEY_ID": "ASIASTALEEXAMPLE0001",
         "AWS_SECRET_ACCESS_KEY": "staleSecret/K7MDENG+bPxRfiCYSTALEKEY",
         "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLEstaleTOKEN"}
STALE_ACCOUNT = {"credentials": [{"access_key_id": STALE["AWS_ACCESS_KEY_ID"],
                                  "secret_access_key": STALE["AWS_SECRET_ACCESS_KEY"],
                                  "session_token": STALE["AWS_SESSION_TOKEN"],
                                  "expires_at": "2020-01-01T00:00:00Z"}]}

# Session credentials the account holds valid.
FRESH_SESSION = {"access_key_id": "ASIAFRESHEXAMPLE0001",
                 "secret_access_key": "freshSecret/K7MDENG+bPxRfiCYFRESHKEY",
                 "session_token": "IQoJb3JpZ2luX2VjEXAMPLEfreshTOKEN",
                 "expires_at": "2099-01-01T00:00:00Z"}


def profile(name: str, key: str, secret: str, token: str) -> str:
    """A shared credentials file holding one profile."""
    return (f"[{name}]\naws_access_key_id={key}\naws_secret_access_key={secret}\n"
            f"aws_session_token={token}\n")


# The `dev` profile with FRESH_SESSION, for printf.
FRESH_PROFILE = profile("dev", FRESH_SESSION["access_key_id"], FRESH_SESSION["secret_access_key"],
                        FRESH_SESSION["session_token"]).replace("\n", "\\n")


def export_printing(document: dict) -> str:
    """An awsCredentialExport printing `document`, counting its runs."""
    return f"echo run >> \"$HOME/{REFRESH_RUNS}\"; echo '{json.dumps(document)}'"


# An IAM policy's refusal, in AWS's words (the CLI tells it from the
# model-access refusal by "is not authorized to perform").
IAM_DENIAL = ("User: arn:aws:iam::123456789012:user/dev is not authorized to perform: "
              "bedrock:InvokeModelWithResponseStream on resource: arn:aws:bedrock:us-east-1:"
              ":foundation-model/anthropic.claude-opus-5-5 because no identity-based policy "
              "allows the bedrock:InvokeModelWithResponseStream action")

# The on-demand throughput 400, in AWS's words (U+2019 as AWS sends it).
ON_DEMAND_OPUS_5_5 = ("Invocation of model ID anthropic.claude-opus-5-5 with on-demand throughput "
                      "isn\u2019t supported. Retry your request with the ID or ARN of an inference "
                      "profile that contains this model.")

CLI_CASES = [
    CliCase("happy", "defaults: discovery, three probes, the turn",
            {"CLAUDE_CODE_USE_BEDROCK": "1"}),
    CliCase("tiers-pinned", "all three tiers pinned: no probes",
            {"CLAUDE_CODE_USE_BEDROCK": "1",
             "ANTHROPIC_DEFAULT_OPUS_MODEL": "us.anthropic.claude-opus-4-5-20251101-v1:0",
             "ANTHROPIC_DEFAULT_SONNET_MODEL": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
             "ANTHROPIC_DEFAULT_HAIKU_MODEL": "us.anthropic.claude-haiku-4-5-20251001-v1:0"}),
    CliCase("fallback-404", "the default Opus probe answers 404: fallback and the notice",
            {"CLAUDE_CODE_USE_BEDROCK": "1"}, rules=[OPUS_PROBE_404]),
    CliCase("bearer-key", "AWS_BEARER_TOKEN_BEDROCK instead of access keys",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_BEARER_TOKEN_BEDROCK": API_KEY,
             "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}),
    CliCase("tier-and-guardrail-headers", "a service tier and two custom headers",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "ANTHROPIC_BEDROCK_SERVICE_TIER": "priority",
             "ANTHROPIC_CUSTOM_HEADERS":
                 "X-Amzn-Bedrock-GuardrailIdentifier: gr-abc123\nX-Amzn-Bedrock-GuardrailVersion: 1"}),
    CliCase("model-access-403", "the turn refused: no access to the model",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[error_rule("InvokeModelWithResponseStream", "AccessDeniedException")],
            exit=1, stdout="API Error: 403 You don't have access to the model with the specified model ID."),
    CliCase("model-access-403-opus-only", "only the default Opus refused on the turn",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[error_rule("InvokeModelWithResponseStream", "AccessDeniedException",
                              "*claude-opus-5-5")]),
    CliCase("probe-403-default", "the default Opus refused (403) on its probe and turn",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[{"when": {"model": "*claude-opus-5-5"},
                    "answer": {"error": {"code": "AccessDeniedException"}}}]),
    CliCase("probe-400-default", "the default Opus's probe refused with a 400",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[error_rule("InvokeModel", "ValidationException", "*claude-opus-5-5")]),
    CliCase("probe-429-default", "the default Opus's probe throttled: kept",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[error_rule("InvokeModel", "ThrottlingException", "*claude-opus-5-5")]),
    CliCase("turn-400-default", "the default Opus's turn refused with a 400",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[error_rule("InvokeModelWithResponseStream", "ValidationException",
                              "*claude-opus-5-5")]),
    CliCase("turn-400-all", "every turn refused with a 400: down the whole ladder",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[error_rule("InvokeModelWithResponseStream", "ValidationException")],
            exit=1, stdout="API Error (us.anthropic.claude-sonnet-4-5-20250929-v1:0): 400 "
                           "The provided model identifier is invalid.. Try --model to switch to "
                           "us.anthropic.claude-sonnet-4-20250514-v1:0.",
            # Sonnet 4 retired on 2026-10-14: 2.1.332 suggests no retired model.
            stdout_by_version={"2.1.332": "API Error (us.anthropic.claude-sonnet-4-5-20250929-v1:0): "
                                          "400 The provided model identifier is invalid.. Run "
                                          "--model to pick a different model."}),
    CliCase("turn-403-iam", "an IAM policy denies the default Opus: sent again, then Opus 5 probed",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[error_rule("InvokeModelWithResponseStream", "AccessDeniedException",
                              "*claude-opus-5-5", message=IAM_DENIAL)]),
    CliCase("sonnet-alias-refused", "--model sonnet, every turn refused: the Sonnet ladder",
            {"CLAUDE_CODE_USE_BEDROCK": "1"}, args=["--model", "sonnet"],
            rules=[error_rule("InvokeModelWithResponseStream", "AccessDeniedException")],
            exit=1, stdout="API Error: 403 You don't have access to the model"),
    CliCase("haiku-alias-refused", "--model haiku, every turn refused: the Haiku ladder",
            {"CLAUDE_CODE_USE_BEDROCK": "1"}, args=["--model", "haiku"],
            rules=[error_rule("InvokeModelWithResponseStream", "AccessDeniedException")],
            exit=1, stdout="API Error: 403 You don't have access to the model"),
    CliCase("explicit-id-refused", "--model with the default's id: its tier not probed, no ladder",
            {"CLAUDE_CODE_USE_BEDROCK": "1"}, args=["--model", "us.anthropic.claude-opus-5-5"],
            rules=[error_rule("InvokeModelWithResponseStream", "AccessDeniedException")],
            exit=1, stdout="API Error: 403 You don't have access to the model"),
    CliCase("tier-check-refused", "every turn refused, and Sonnet 4's probe: the tier check goes on",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[error_rule("InvokeModelWithResponseStream", "AccessDeniedException"),
                   error_rule("InvokeModel", "AccessDeniedException", "*claude-sonnet-4-2*")],
            exit=1, stdout="API Error: 403 You don't have access to the model"),
    CliCase("expired-session-export",
            "an expired session in the environment, awsCredentialExport issuing a fresh one",
            {"CLAUDE_CODE_USE_BEDROCK": "1", **STALE},
            config={
                **STALE_ACCOUNT,
                "next_credentials": [{"access_key_id": "ASIAFRESHEXAMPLE0001",
                                      "secret_access_key": "freshSecret/K7MDENG+bPxRfiCYFRESHKEY",
                                      "session_token": "IQoJb3JpZ2luX2VjEXAMPLEfreshTOKEN",
                                      "expires_at": "2099-01-01T00:00:00Z"}],
            },
            settings={"awsCredentialExport":
                      'curl -sf -X POST "{mock}/__bedrock_mock/credentials/next"'}),
    CliCase("on-demand-400", "a base model id that needs an inference profile",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            args=["--model", "anthropic.claude-sonnet-4-5-20250929-v1:0"],
            exit=1, stdout="with on-demand throughput isn\u2019t supported"),
    CliCase("on-demand-400-opus-4-7", "a base Opus 4.7 id: two rounds of resends, six calls",
            {"CLAUDE_CODE_USE_BEDROCK": "1"}, args=["--model", "anthropic.claude-opus-4-7"],
            exit=1, stdout="Try --model to switch to us.anthropic.claude-opus-4-6-v1."),
    CliCase("on-demand-400-retired", "a retired model's base id: one call, a warning, no suggestion",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            args=["--model", "anthropic.claude-3-7-sonnet-20250219-v1:0"],
            exit=1, stdout="Run --model to pick a different model."),
    CliCase("retired-model-warning", "--model Sonnet 4, retired: the warning, then the answer",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            args=["--model", "us.anthropic.claude-sonnet-4-20250514-v1:0"]),
    CliCase("turn-400-malformed", "--model sonnet, a 400 nothing explains: sent again without tool search",
            {"CLAUDE_CODE_USE_BEDROCK": "1"}, args=["--model", "sonnet"],
            rules=[error_rule("InvokeModelWithResponseStream", "ValidationException",
                              message="Malformed input request: #/messages/0: extraneous key "
                                      "[foo] is not permitted, please reformat your input and "
                                      "try again.")],
            exit=1, stdout="API Error: 400 Malformed input request"),
    CliCase("export-revoked-first",
            "awsCredentialExport hands out a deleted key, then a good one",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_ACCESS_KEY_ID": None,
             "AWS_SECRET_ACCESS_KEY": None},
            config={"next_credentials": [
                {"access_key_id": "ASIADELETEDEXAMPLE01",
                 "secret_access_key": "deletedSecret/K7MDENG+bPxRfiCYDELETEDKEY",
                 "session_token": "IQoJb3JpZ2luX2VjEXAMPLEdeletedTOKEN",
                 "revoked_at": "2026-11-25T11:00:00Z"},
                {"access_key_id": "ASIAFRESHEXAMPLE0002",
                 "secret_access_key": "freshSecret/K7MDENG+bPxRfiCYFRESHKEY2",
                 "session_token": "IQoJb3JpZ2luX2VjEXAMPLEfreshTOKEN2",
                 "expires_at": "2099-01-01T00:00:00Z"}]},
            settings={"awsCredentialExport":
                      'curl -sf -X POST "{mock}/__bedrock_mock/credentials/next"'}),
    CliCase("aws-auth-refresh-never-helps-short",
            "an expired session and an awsAuthRefresh that never renews it, 2 retries",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_MAX_RETRIES": "2", **STALE},
            config=STALE_ACCOUNT, settings={"awsAuthRefresh": NO_OP_REFRESH},
            exit=1, stdout="API Error: 403 The security token included in the request is expired"),
    CliCase("aws-auth-refresh-never-helps",
            "an expired session and an awsAuthRefresh that never renews it (4 min)",
            {"CLAUDE_CODE_USE_BEDROCK": "1", **STALE},
            config=STALE_ACCOUNT, settings={"awsAuthRefresh": NO_OP_REFRESH},
            exit=1, stdout="API Error: 403 The security token included in the request is expired",
            slow=True),
    CliCase("mantle-403", "Mantle refuses the turn with 403 permission_error, 2 retries",
            {"CLAUDE_CODE_USE_MANTLE": "1", "CLAUDE_CODE_MAX_RETRIES": "2"},
            rules=[error_rule("MantleMessagesStream", "permission_error")],
            exit=1, stdout="AWS authentication failed · refresh your AWS credentials"),
    CliCase("mantle-401", "Mantle refuses the turn with 401 authentication_error, 2 retries",
            {"CLAUDE_CODE_USE_MANTLE": "1", "CLAUDE_CODE_MAX_RETRIES": "2"},
            rules=[error_rule("MantleMessagesStream", "authentication_error")],
            exit=1, stdout="Not logged in \u00b7 Please run /login"),
    CliCase("mantle-only", "CLAUDE_CODE_USE_MANTLE=1", {"CLAUDE_CODE_USE_MANTLE": "1"}),
    CliCase("both-endpoints-anthropic-model", "both endpoints, --model anthropic.claude-haiku-4-5",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_USE_MANTLE": "1"},
            args=["--model", "anthropic.claude-haiku-4-5"]),
    CliCase("stream-exception", "an exception frame mid-stream: one non-streaming retry",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[{"when": {"operation": "InvokeModelWithResponseStream"},
                    "answer": {"stream_exception": {"after_events": 3,
                                                    "exception": "internalServerException"}}}]),
    CliCase("every-call-403", "every call refused (403 model access), probes included: the turn "
            "is sent once, its ladder skips what the probes found refused",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[{"when": {}, "answer": {"error": {"code": "AccessDeniedException"}}}],
            exit=1, stdout="API Error: 403 You don't have access to the model"),
    CliCase("on-demand-400-every-call", "the on-demand throughput 400 on every call: every "
            "tier's older versions probed, then the Sonnet default for Opus",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[error_rule(operation, "ValidationException", message=ON_DEMAND_OPUS_5_5)
                   for operation in ("InvokeModel", "InvokeModelWithResponseStream")],
            exit=1, stdout="with on-demand throughput isn\u2019t supported"),
    CliCase("opus-404-every-version", "every Opus version 404: the Sonnet default probed again "
            "before Opus takes it",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[{"when": {"model": "*claude-opus*"},
                    "answer": {"error": {"code": "ResourceNotFoundException",
                                         "message": "Model not found."}}}]),
    CliCase("aws-auth-refresh-output",
            "an expired profile, awsAuthRefresh writing fresh keys and printing on stdout and "
            "stderr: -p shows none of it",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_ACCESS_KEY_ID": None,
             "AWS_SECRET_ACCESS_KEY": None, "AWS_PROFILE": "dev"},
            config={"credentials": [*STALE_ACCOUNT["credentials"], FRESH_SESSION]},
            files={".aws/credentials": profile("dev", STALE["AWS_ACCESS_KEY_ID"],
                                               STALE["AWS_SECRET_ACCESS_KEY"],
                                               STALE["AWS_SESSION_TOKEN"])},
            settings={"awsAuthRefresh":
                      'echo "Attempting SSO login..."; echo "sso: token cache written" >&2; '
                      f"printf '{FRESH_PROFILE}' > \"$HOME/.aws/credentials\"; "
                      f'echo run >> "$HOME/{REFRESH_RUNS}"'}),
    CliCase("credential-export-stderr",
            "awsCredentialExport printing diagnostics on stderr before its JSON: not shown",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_ACCESS_KEY_ID": None,
             "AWS_SECRET_ACCESS_KEY": None},
            config={"next_credentials": [FRESH_SESSION]},
            settings={"awsCredentialExport":
                      'echo "fetching credentials for role dev" >&2; '
                      f'echo run >> "$HOME/{REFRESH_RUNS}"; '
                      'curl -sf -X POST "{mock}/__bedrock_mock/credentials/next"'}),
    CliCase("credential-export-fails",
            "awsCredentialExport failing (exit 3, a reason on stderr): the CLI's line per run, "
            "nothing sent",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_ACCESS_KEY_ID": None,
             "AWS_SECRET_ACCESS_KEY": None},
            settings={"awsCredentialExport":
                      f'echo run >> "$HOME/{REFRESH_RUNS}"; echo "sso session expired" >&2; exit 3'},
            exit=1, stdout="API Error: Could not load AWS credentials"),
    CliCase("sigterm-mid-turn", "SIGTERM while the turn's stream stalls: exit 143, nothing printed",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[{"when": {"operation": "InvokeModelWithResponseStream"},
                    "stall": {"seconds": 60, "after_events": 3}}],
            sigterm_after="InvokeModelWithResponseStream", exit=143, stdout=""),
    CliCase("credential-export-top-level",
            "awsCredentialExport printing `aws configure export-credentials`'s shape "
            "(AccessKeyId at the top, Version 1): taken, run once",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_ACCESS_KEY_ID": None,
             "AWS_SECRET_ACCESS_KEY": None},
            config={"credentials": [FRESH_SESSION]},
            settings={"awsCredentialExport": export_printing({
                "Version": 1, "AccessKeyId": FRESH_SESSION["access_key_id"],
                "SecretAccessKey": FRESH_SESSION["secret_access_key"],
                "SessionToken": FRESH_SESSION["session_token"],
                "Expiration": FRESH_SESSION["expires_at"]})}),
    CliCase("credential-export-no-expiration",
            "awsCredentialExport printing STS's shape without Expiration: taken, run once",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_ACCESS_KEY_ID": None,
             "AWS_SECRET_ACCESS_KEY": None},
            config={"credentials": [FRESH_SESSION]},
            settings={"awsCredentialExport": export_printing({"Credentials": {
                "AccessKeyId": FRESH_SESSION["access_key_id"],
                "SecretAccessKey": FRESH_SESSION["secret_access_key"],
                "SessionToken": FRESH_SESSION["session_token"]}})}),
    CliCase("credential-export-not-json", "awsCredentialExport printing something not JSON",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_ACCESS_KEY_ID": None,
             "AWS_SECRET_ACCESS_KEY": None},
            settings={"awsCredentialExport":
                      f'echo run >> "$HOME/{REFRESH_RUNS}"; echo "AccessKeyId=ASIAFRESHEXAMPLE0001"'},
            exit=1, stdout="API Error: Could not load AWS credentials"),
    *[CliCase(f"expired-token-retries-{retries}",
              f"an expired session, CLAUDE_CODE_MAX_RETRIES={retries}: the turn's retries and "
              "two renewals, and the gaps between them",
              {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_MAX_RETRIES": str(retries), **STALE},
              config=STALE_ACCOUNT, exit=1,
              stdout="API Error: 403 The security token included in the request is expired",
              timing=True)
      for retries in (1, 2, 3)],
    CliCase("prompt-caching-disabled", "DISABLE_PROMPT_CACHING=1: no markers; the prompt still "
            "a list of blocks, Opus 5.5's system message a string",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "DISABLE_PROMPT_CACHING": "1"}, message_shapes=True),
    CliCase("prompt-caching-on", "prompt caching on, Opus 5.5: the marker on its system message, "
            "the last", {"CLAUDE_CODE_USE_BEDROCK": "1"}, message_shapes=True),
    CliCase("prompt-caching-on-sonnet", "prompt caching on, --model sonnet (no system message): "
            "the marker on the prompt's last block",
            {"CLAUDE_CODE_USE_BEDROCK": "1"}, args=["--model", "sonnet"], message_shapes=True),
    CliCase("turn-limits-max-output-tokens", "CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096: the turn's "
            "max_tokens", {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "4096"}),
    CliCase("turn-limits-max-output-tokens-above", "CLAUDE_CODE_MAX_OUTPUT_TOKENS above the "
            "model's: the model's max_tokens",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "200000"}),
    CliCase("turn-limits-budget-follows", "--model sonnet, CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096: "
            "the thinking budget one below",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "4096"},
            args=["--model", "sonnet"]),
    CliCase("turn-limits-max-thinking-tokens", "--model sonnet, MAX_THINKING_TOKENS=2048: the "
            "thinking budget", {"CLAUDE_CODE_USE_BEDROCK": "1", "MAX_THINKING_TOKENS": "2048"},
            args=["--model", "sonnet"]),
    CliCase("turn-limits-thinking-off", "CLAUDE_CODE_DISABLE_THINKING=1: no thinking, the betas "
            "kept", {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_DISABLE_THINKING": "1"}),
    CliCase("turn-limits-effort", "CLAUDE_CODE_EFFORT_LEVEL=low: the turn's effort",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_EFFORT_LEVEL": "low"}),
    CliCase("small-fast-model", "ANTHROPIC_SMALL_FAST_MODEL: the Haiku tier is not probed",
            {"CLAUDE_CODE_USE_BEDROCK": "1",
             "ANTHROPIC_SMALL_FAST_MODEL": "us.anthropic.claude-3-5-haiku-20241022-v1:0"}),
    CliCase("conversation-two-turns", "-p --input-format stream-json, two user messages: one "
            "session, the second turn's history (the environment message unmarked, the answer, "
            "the marker on the new prompt), the stream-json turns' display-updates beta "
            "refused and dropped once for the session",
            {"CLAUDE_CODE_USE_BEDROCK": "1"}, turns=["say hi", "and again"],
            stdout="index=1 completed", message_shapes=True),
    CliCase("conversation-first-fails", "a conversation whose first turn gets 503 (no retries): "
            "its result is the error, the session goes on, the second turn carries both prompts "
            "in one message and is answered; exit 0",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_MAX_RETRIES": "0"},
            rules=[{**error_rule("InvokeModelWithResponseStream", "ServiceUnavailableException"),
                    "times": 1}],
            turns=["say hi", "and again"], stdout="index=1 completed", message_shapes=True),
    CliCase("conversation-last-fails", "a conversation whose every turn gets 503 (no retries): "
            "both results are the error, exit 1",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_MAX_RETRIES": "0"},
            rules=[error_rule("InvokeModelWithResponseStream", "ServiceUnavailableException")],
            turns=["say hi", "and again"], exit=1, stdout="status=503 index=1 api_error"),
    CliCase("subagent-model-and-names", "CLAUDE_CODE_SUBAGENT_MODEL and "
            "ANTHROPIC_DEFAULT_OPUS_MODEL_NAME: nothing changes on the wire in -p",
            {"CLAUDE_CODE_USE_BEDROCK": "1",
             "CLAUDE_CODE_SUBAGENT_MODEL": "us.anthropic.claude-3-5-haiku-20241022-v1:0",
             "ANTHROPIC_DEFAULT_OPUS_MODEL_NAME": "Team Opus"}),
]


# Fidelity differences the suite knows, each explained in DIFFERENCES.md:
# (case name pattern, difference pattern, why), and a fourth item, the
# versions it holds for, when not all. Anything else fails the run.
KNOWN_DIFFERENCES = [
    (r".*", r"#\d+ body\.tools: CLI '<list>', ours None",
     "deliberate: bedrock-client offers the model no tools"),
    (r"credential-export-not-json", r"stderr: CLI '.*JSON Parse error: .*', "
     r"ours '.*awsCredentialExport did not return a valid value.*'",
     "the CLI prints its JSON parser's message (Bun's), bedrock-client serde's position"),
]


def known(case: str, difference: str, version: str) -> str | None:
    """Why `difference` in `case` as `version` is expected, if it is."""
    for case_pattern, pattern, why, *versions in KNOWN_DIFFERENCES:
        if versions and version not in versions[0]:
            continue
        if re.fullmatch(case_pattern, case) and re.fullmatch(pattern, difference):
            return why
    return None


def cli_env(url: str, home: Path, extra: dict) -> dict:
    """The CLI's whole environment: every endpoint it reads pinned to the
    mock, nothing inherited, a fresh HOME (DEVELOPERS.md)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
        "TERM": "dumb",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": url, "AWS_ENDPOINT_URL_STS": url,
        "ANTHROPIC_BEDROCK_BASE_URL": url, "ANTHROPIC_BEDROCK_MANTLE_BASE_URL": url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION,
    }
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_cli(program: Path, case: CliCase, url: str, scratch: Path,
            options: tuple = (), mock: Mock | None = None) -> dict:
    """Runs `program` (the CLI, or bedrock-client with `options`) as
    `claude -p` on `case`, HOME and the project folder fresh in `scratch`;
    with `mock`, times the requests' arrivals (cases with `timing`) and
    stops the run with SIGTERM where the case says."""
    home = scratch / "home"
    project = scratch / "project"
    for folder in (home, project):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    if case.settings is not None:
        (home / ".claude").mkdir()
        text = json.dumps(case.settings).replace("{mock}", url)
        (home / ".claude" / "settings.json").write_text(text)
    for name, text in case.files.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(text)
    arrivals = ArrivalClock(mock) if case.timing and mock is not None else None
    if case.turns:
        mode = [*CONVERSATION_ARGS]
        stdin = "".join(json.dumps({"type": "user", "message": {"role": "user", "content": t}})
                        + "\n" for t in case.turns)
    else:
        mode = ["-p", "say hi", "--output-format", "text"]
        stdin = None
    process = subprocess.Popen(
        [str(program), *options, *mode, *case.args],
        env=cli_env(url, home, case.env), cwd=project, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        text=True)
    if case.sigterm_after is not None and mock is not None:
        stop_when_sent(process, mock, case.sigterm_after)
    try:
        stdout, stderr = process.communicate(stdin, timeout=600 if case.slow else 180)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    if case.turns:
        stdout = events_view(stdout)
    # The refresh commands of the cases append a line here each time they run.
    runs = home / REFRESH_RUNS
    return {"exit": process.returncode, "stdout": stdout.strip(), "stderr": stderr.strip(),
            "refresh_runs": len(runs.read_text().splitlines()) if runs.exists() else 0,
            "arrivals": arrivals.stop() if arrivals else None}


# The CLI's multi-turn form without a terminal.
CONVERSATION_ARGS = ("-p", "--input-format", "stream-json", "--output-format", "stream-json",
                     "--verbose")


def events_view(stdout: str) -> str:
    """What a conversation's stream-json events say that bedrock-client can
    say too (DIFFERENCES.md), one line per event: its type and subtype, an
    init's model, an assistant message's text (and `<synthetic>` for an
    error's), a result's error flag, status, text and index."""
    lines = []
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            lines.append(f"not JSON: {line}")
            continue
        kind = event.get("type")
        if kind == "system":
            lines.append(f"system {event.get('subtype')} model={event.get('model')}")
        elif kind == "assistant":
            message = event.get("message", {})
            texts = [b.get("text") for b in message.get("content", []) if b.get("type") == "text"]
            synthetic = " <synthetic>" if message.get("model") == "<synthetic>" else ""
            lines.append(f"assistant{synthetic} {json.dumps(texts)} "
                         f"status={event.get('api_error_status')}")
        elif kind == "result":
            lines.append(f"result {event.get('subtype')} is_error={event.get('is_error')} "
                         f"status={event.get('api_error_status')} index={event.get('result_index')} "
                         f"{event.get('terminal_reason')} {json.dumps(event.get('result'))}")
        else:
            lines.append(f"{kind}")
    return "\n".join(lines)


class ArrivalClock:
    """When each request reached the mock, by polling its journal's count
    every 10 ms (the journal's own times are whole seconds)."""

    def __init__(self, mock: Mock):
        self.mock = mock
        self.times: list[float] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.thread.start()

    def poll(self) -> None:
        while True:
            finishing = self.done.is_set()
            count = self.mock.admin("GET", "journal/count")["requests"]
            now = time.monotonic()
            self.times.extend([now] * (count - len(self.times)))
            if finishing:
                return
            time.sleep(0.01)

    def stop(self) -> list[float]:
        self.done.set()
        self.thread.join()
        return self.times


# Below this a gap is "at once": the point where rounding on the log scale
# would call it the schedule's first step (0.5 s). A busy CI machine can
# take over 0.25 s to send a request at once (a credential refresh, a
# re-sign), and no step of the schedule lies below 0.5 s.
AT_ONCE = 0.5 / math.sqrt(2)


def gap_band(seconds: float) -> str:
    """A gap between requests as the retry schedule's step it is nearest
    (0.5 s doubling), or `<0.35` for requests sent at once: jitter (up to
    a quarter more) and the run's own latency stay inside a band."""
    if seconds < AT_ONCE:
        return "<0.35"
    return f"{0.5 * 2 ** round(math.log2(seconds / 0.5)):g}"


def with_gaps(journal: list[dict], arrivals: list[float] | None) -> list[dict]:
    """`journal` with each entry's `gap_band` from the one before (when
    the arrivals were timed)."""
    if arrivals is None:
        return journal
    if len(arrivals) != len(journal):
        return [{**entry, "gap_band": "?"} for entry in journal]
    starts = [arrivals[0], *arrivals[:-1]]
    return [{**entry, "gap_band": gap_band(now - before)}
            for entry, now, before in zip(journal, arrivals, starts)]


def with_shapes(case: CliCase, journal: list[dict]) -> list[dict]:
    """`journal` with each turn's `message_shapes`, when `case` asks."""
    if not case.message_shapes:
        return journal
    return [{**entry, "message_shapes": shapes} if (shapes := message_shapes(entry.get("body", "")))
            is not None else entry for entry in journal]


def stop_when_sent(process: subprocess.Popen, mock: Mock, operation: str) -> None:
    """SIGTERM to `process` half a second after a request of `operation`
    reached `mock` (within a minute; the run's own limit covers the rest)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if any(entry.get("operation") == operation for entry in mock.journal()):
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            return
        time.sleep(0.05)


def body_summary(body: str) -> Any:
    """What a body says that matters across clients: its top-level fields,
    the scalar and short ones whole, and every `cache_control` in it."""
    try:
        value = json.loads(body)
    except ValueError:
        return body[:200]
    if not isinstance(value, dict):
        return "<not an object>"
    summary: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, (int, float, bool)) or item is None:
            summary[key] = item
        elif isinstance(item, str) and len(item) <= 80:
            summary[key] = item
        elif isinstance(item, list) and all(isinstance(x, str) for x in item):
            summary[key] = item
        elif key == "thinking" or key == "output_config":
            summary[key] = item
        else:
            summary[key] = f"<{type(item).__name__}>"
    controls: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "cache_control" in node:
                controls.add(json.dumps(node["cache_control"], sort_keys=True))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(value)
    summary["cache_control"] = sorted(controls)
    return summary


FIDELITY_HEADERS = ("anthropic-beta", "anthropic-version", "x-amzn-bedrock-service-tier",
                    "x-amzn-bedrock-guardrailidentifier", "x-amzn-bedrock-guardrailversion",
                    "x-stainless-timeout", "x-stainless-retry-count")


def sts_headers(headers: list) -> dict:
    """What an STS call's headers say across clients: their names (not the
    transport's `connection`) and `content-type`; the user agents' values
    are each client's own."""
    names = sorted({n.lower() for n, _ in headers} - {"connection"})
    types = [v for n, v in headers if n.lower() == "content-type"]
    return {"names": names, "content-type": types[0] if types else None}


def message_shapes(body: str) -> list | None:
    """Each message of a turn's body: its role, whether its content is a
    string or blocks, and whether its last block carries a caching marker
    (None for a probe or a body that is not JSON)."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("max_tokens") == 1:
        return None
    shapes = []
    for message in value.get("messages", []):
        content = message.get("content")
        cached = isinstance(content, list) and bool(content) and "cache_control" in content[-1]
        shapes.append([message.get("role"), type(content).__name__, cached])
    return shapes


def fidelity_view(journal: list[dict]) -> list[dict]:
    """The requests as the fidelity comparison sees them: operation,
    endpoint, model, signed header names, the headers and body fields that
    matter (and an STS call's header names and content type). Probes sent
    at once are put in model order (their arrival order is a race)."""
    view = []
    for entry in journal:
        headers = {n.lower(): v for n, v in entry["headers"]}
        auth = headers.get("authorization", "")
        signed = re.search(r"SignedHeaders=([^,]+)", auth)
        extra = {}
        if entry.get("operation") == "GetCallerIdentity":
            extra["sts_headers"] = sts_headers(entry["headers"])
        if "message_shapes" in entry:
            extra["message_shapes"] = entry["message_shapes"]
        view.append({
            "operation": entry.get("operation"),
            "model": entry.get("model_id"),
            "auth": entry["auth"].get("scheme"),
            # Which key signed: not a secret, and what a refresh changes.
            "access_key_id": entry["auth"].get("access_key_id"),
            "signed_headers": signed.group(1).split(";") if signed else None,
            "headers": {n: headers[n] for n in FIDELITY_HEADERS if n in headers},
            "body": body_summary(entry.get("body", "")),
            "status": entry["status"],
            "frames": [f for f in entry.get("frames", []) if not f.startswith("chunk:content_block_delta")],
            **({"gap_band": entry["gap_band"]} if "gap_band" in entry else {}),
            **extra,
        })
    return sort_probes(view)


def is_probe(item: dict) -> bool:
    return isinstance(item["body"], dict) and item["body"].get("max_tokens") == 1


def sort_probes(view: list[dict]) -> list[dict]:
    """Each run of consecutive probes in model order."""
    out: list[dict] = []
    probes: list[dict] = []
    for item in view:
        if is_probe(item):
            probes.append(item)
            continue
        out.extend(sorted(probes, key=lambda r: r["model"] or ""))
        probes = []
        out.append(item)
    out.extend(sorted(probes, key=lambda r: r["model"] or ""))
    return out


def differences(a: list[dict], b: list[dict]) -> list[str]:
    """Where bedrock-client's requests (b) differ from the CLI's (a)."""
    out = []
    if len(a) != len(b):
        out.append(f"{len(a)} requests from the CLI, {len(b)} from bedrock-client")
    for n, (x, y) in enumerate(zip(a, b), 1):
        for key in x:
            if x[key] != y[key]:
                if isinstance(x[key], dict) and isinstance(y[key], dict):
                    for k in sorted(set(x[key]) | set(y[key])):
                        if x[key].get(k) != y[key].get(k):
                            out.append(f"#{n} {key}.{k}: CLI {x[key].get(k)!r}, ours {y[key].get(k)!r}")
                else:
                    out.append(f"#{n} {key}: CLI {x[key]!r}, ours {y[key]!r}")
    return out


@dataclass
class CliResult:
    case: CliCase
    # The CLI's version, which bedrock-client ran as too.
    version: str
    # Where the CLI's outcome or requests are not what the case expects.
    problems: list[str]
    # Where bedrock-client's requests or output differ from the CLI's.
    differences: list[str]

    def unknown(self) -> list[str]:
        """The differences KNOWN_DIFFERENCES does not explain."""
        return [d for d in self.differences if not known(self.case.name, d, self.version)]


def wanted_cases(wanted: str, slow: bool, versions: list[str]) -> list[tuple[str, CliCase]]:
    """Each (version, case) to run: the case's `claude-code@<version>/<name>`
    or `claude-code/<name>` contains `wanted`; the slow ones only with
    `slow`, and only for the newest pinned version (minutes each)."""
    newest = cli_versions()[-1]
    return [(version, case) for version in versions for case in CLI_CASES
            if (wanted in f"claude-code@{version}/{case.name}"
                or wanted in f"claude-code/{case.name}")
            and (not case.slow or (slow and version == newest))]


def cli_results(mock: Mock, bedrock_client: Path, update: bool,
                runs: list[tuple[str, CliCase]]) -> list[CliResult]:
    """Each of `runs`: the CLI of its version, then bedrock-client as that
    version."""
    scratch = Path(tempfile.mkdtemp(prefix="conformance-"))
    try:
        return [run_case(mock, bedrock_client, update, version, case, scratch)
                for version, case in runs]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_case(mock: Mock, bedrock_client: Path, update: bool, version: str,
             case: CliCase, scratch: Path) -> CliResult:
    problems: list[str] = []
    mock.start_case(case.rules, case.config)
    got = run_cli(claude(version), case, mock.url, scratch, mock=mock)
    cli_journal = with_shapes(case, with_gaps(mock.journal(), got.pop("arrivals")))
    if got["exit"] != case.exit:
        problems.append(f"exit {got['exit']}, expected {case.exit}")
    stdout = case.expected_stdout(version)
    if stdout not in got["stdout"]:
        problems.append(f"stdout {got['stdout']!r} lacks {stdout!r}")
    problems += check_golden(f"claude-code/{version}", case.name, cli_journal, update,
                             view=fidelity_view)
    mock.start_case(case.rules, case.config)
    ours = run_cli(bedrock_client, case, mock.url, scratch, ("--cli-version", version), mock)
    our_journal = with_shapes(case, with_gaps(mock.journal(), ours.pop("arrivals")))
    fidelity = differences(fidelity_view(cli_journal), fidelity_view(our_journal))
    for key in ("exit", "stdout", "stderr", "refresh_runs"):
        if ours[key] != got[key]:
            label = "refresh runs" if key == "refresh_runs" else key
            fidelity.append(f"{label}: CLI {got[key]!r}, ours {ours[key]!r}")
    if problems:
        problems.insert(0, f"got {json.dumps(got)}")
    return CliResult(case, version, problems, fidelity)
