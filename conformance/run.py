#!/usr/bin/env python3
"""Real third-party clients against `bedrock-harness serve`.

Each case mounts rules on one running mock, drives a real client at it
(boto3, the Anthropic Python SDK), and checks two things:

- the outcome, as the client surfaces it: the answer's text, or the
  exception class and error code the client raised;
- the requests the client sent, as the mock journaled them, normalized
  (dates, ids and signatures replaced) and compared with
  `conformance/golden/<client>/<case>.json`, so a change in a future
  release of a client shows up as a diff.

Prints a table client x case and exits 1 on any mismatch. `--update`
rewrites the golden files instead of comparing them.

Run it through `conformance/run`, which installs the pinned clients into
`conformance/.venv` first.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.metadata
import json
import re
import subprocess
import sys
import traceback
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "conformance" / "golden"

# The mock's default account (`bedrock_mock_server::config`).
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
API_KEY = "ABSKQmVkcm9ja0FQSUtleS1tb2NrLWFjY291bnQtZXhhbXBsZQ=="
REGION = "us-east-1"
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
MANTLE_HAIKU = "anthropic.claude-haiku-4-5"
PROMPT = {"role": "user", "content": "Say hi"}


class Mock:
    """A `bedrock-harness serve` child process on 127.0.0.1."""

    def __init__(self, harness: Path):
        self.process = subprocess.Popen(
            [str(harness), "serve", "--port", "0", "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.process.stdout.readline().strip()
        if not line.startswith("bedrock mock listening on http://"):
            self.close()
            raise RuntimeError(f"serve said {line!r}, not its URL")
        self.url = line.rsplit(" ", 1)[1]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/__bedrock_mock/{path}", data=data, method=method
        )
        request.add_header("content-type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
        return json.loads(text) if text else None

    def start_case(self, rules: list[dict]) -> None:
        self.admin("POST", "reset")
        for rule in rules:
            self.admin("POST", "rules", rule)

    def journal(self) -> list[dict]:
        return self.admin("GET", "journal")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# ---------------------------------------------------------------- journal

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
SCOPE_DATE = re.compile(r"(Credential=[A-Z0-9]+/)\d{8}/")
PORT = re.compile(r"127\.0\.0\.1:\d+")


def normalize_value(name: str, value: str) -> str:
    value = PORT.sub("127.0.0.1:{port}", value)
    value = UUID.sub("<uuid>", value)
    value = AMZ_DATE.sub("<amz-date>", value)
    if name == "authorization":
        value = SCOPE_DATE.sub(r"\1<date>/", value)
    if name in ("x-stainless-os", "x-stainless-arch", "x-stainless-runtime-version"):
        return "<machine>"
    if name == "user-agent" or name == "x-amz-user-agent":
        # The Python and OS versions are the machine's, not the client's.
        value = re.sub(r"Python/[\d.]+", "Python/<v>", value)
        value = re.sub(r"(os|md)/[\w#.+-]+(#[\w.+-]+)?", r"\1/<machine>", value)
        value = re.sub(r"lang/python#[\d.]+", "lang/python#<v>", value)
        # botocore's feature ids come in set order, which varies by run.
        value = re.sub(r"(^| )m/[\w,]+", r"\1m/<features>", value)
    return value


def normalize(entry: dict) -> dict:
    """The parts of a journal entry that say what the client sent and what
    the mock answered, without what changes from run to run."""
    return {
        "method": entry["method"],
        "path": entry["raw_path"],
        "query": entry.get("query", ""),
        "operation": entry.get("operation"),
        "model_id": entry.get("model_id"),
        "auth": {
            k: entry["auth"].get(k)
            for k in ("scheme", "region", "service", "accepted")
        },
        "headers": [[n, normalize_value(n, v)] for n, v in entry["headers"]],
        "body": normalize_value("body", entry.get("body", "")),
        "status": entry["status"],
        "error_type": entry.get("error_type"),
        "frames": entry.get("frames", []),
    }


# ------------------------------------------------------------------ cases


@dataclass
class Case:
    client: str
    name: str
    what: str
    run: Callable[[str], dict]
    expect: dict
    rules: list = field(default_factory=list)


def error_rule(operation: str, code: str, **extra) -> dict:
    return {"when": {"operation": operation}, "answer": {"error": {"code": code, **extra}}}


# boto3 ----------------------------------------------------------------


def boto3_client(url: str, service: str = "bedrock-runtime", secret: str = SECRET_KEY,
                 key: str = ACCESS_KEY, attempts: int = 1):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"mode": "standard", "max_attempts": attempts}),
    )


def invoke_body() -> str:
    return json.dumps({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [PROMPT],
    })


def botocore_error(error: Exception, client) -> dict:
    from botocore.exceptions import ClientError

    if not isinstance(error, ClientError):
        return {"raised": type(error).__name__, "message": str(error)}
    code = error.response["Error"]["Code"]
    modeled = getattr(client.exceptions, code, None)
    return {
        "raised": type(error).__name__,
        "client_error": True,
        "code": code,
        # An event-stream error has no HTTP status of its own.
        "status": error.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
        "modeled_class": modeled is not None and isinstance(error, modeled),
        "message": error.response["Error"].get("Message"),
    }


def boto3_invoke(**client_options) -> Callable[[str], dict]:
    def run(url: str) -> dict:
        client = boto3_client(url, **client_options)
        try:
            answer = client.invoke_model(modelId=HAIKU, body=invoke_body())
        except Exception as error:  # noqa: BLE001 - the class is the result
            return botocore_error(error, client)
        message = json.loads(answer["body"].read())
        return {"text": "".join(b.get("text", "") for b in message["content"])}

    return run


def boto3_stream(url: str) -> dict:
    client = boto3_client(url)
    text = ""
    try:
        answer = client.invoke_model_with_response_stream(modelId=HAIKU, body=invoke_body())
        for event in answer["body"]:
            if "chunk" in event:
                data = json.loads(event["chunk"]["bytes"])
                if data.get("type") == "content_block_delta":
                    text += data["delta"].get("text", "")
    except Exception as error:  # noqa: BLE001
        result = botocore_error(error, client)
        result["text_before"] = text
        return result
    return {"text": text}


def boto3_profiles(url: str) -> dict:
    client = boto3_client(url, service="bedrock")
    answer = client.list_inference_profiles()
    ids = [p["inferenceProfileId"] for p in answer["inferenceProfileSummaries"]]
    return {"has_haiku_profile": HAIKU in ids, "all_system_defined": all(
        p["type"] == "SYSTEM_DEFINED" for p in answer["inferenceProfileSummaries"])}


BOTO3_ERRORS = [
    # (code, status) as botocore must surface them.
    ("ThrottlingException", 429),
    ("AccessDeniedException", 403),
    ("ValidationException", 400),
    ("ResourceNotFoundException", 404),
    ("ServiceUnavailableException", 503),
    ("InternalServerException", 500),
    ("ModelTimeoutException", 408),
    ("ModelNotReadyException", 429),
    ("ModelErrorException", 424),
    ("ServiceQuotaExceededException", 400),
]


def boto3_cases() -> list[Case]:
    cases = [
        Case("boto3", "invoke-model", "invoke_model answers", boto3_invoke(),
             {"text": "hi"}),
        Case("boto3", "invoke-stream", "invoke_model_with_response_stream answers",
             boto3_stream, {"text": "hi"}),
        Case("boto3", "list-inference-profiles", "bedrock list_inference_profiles",
             boto3_profiles, {"has_haiku_profile": True, "all_system_defined": True}),
        Case("boto3", "throttled-then-answered",
             "standard retries: two 429s, then the answer",
             boto3_invoke(attempts=3), {"text": "hi"},
             [dict(error_rule("InvokeModel", "ThrottlingException"), times=2)]),
        Case("boto3", "bad-signature", "a wrong secret key",
             boto3_invoke(secret="wrong/secret/key"),
             # Not modeled for bedrock-runtime: a plain ClientError.
             {"raised": "ClientError", "code": "InvalidSignatureException", "status": 403}),
        Case("boto3", "unknown-key", "an access key the account does not know",
             boto3_invoke(key="AKIDUNKNOWN00000000"),
             {"raised": "ClientError", "code": "UnrecognizedClientException", "status": 403}),
        Case("boto3", "stream-exception",
             "an exception frame after the first text delta",
             boto3_stream,
             {"raised": "EventStreamError", "client_error": True, "code": "throttlingException",
              "text_before": "hi"},
             [{"when": {"operation": "InvokeModelWithResponseStream"},
               "answer": {"stream_exception": {"after_events": 3,
                                               "exception": "throttlingException"}}}]),
        Case("boto3", "stream-bad-message-crc",
             "a frame with a wrong message CRC",
             boto3_stream, {"raised": "ChecksumMismatch"},
             [{"when": {"operation": "InvokeModelWithResponseStream"},
               "fault": {"kind": "bad_message_crc", "at_event": 2}}]),
    ]
    for code, status in BOTO3_ERRORS:
        cases.append(Case(
            "boto3", f"error-{code}", f"{status} {code} as botocore's modeled exception",
            boto3_invoke(),
            {"raised": code, "client_error": True, "code": code, "status": status,
             "modeled_class": True},
            [error_rule("InvokeModel", code)],
        ))
    return cases


# Anthropic Python SDK -------------------------------------------------


def anthropic_error(error: Exception) -> dict:
    import anthropic

    result = {"raised": type(error).__name__}
    if isinstance(error, anthropic.APIStatusError):
        result["status"] = error.status_code
    return result


def bedrock_sdk(url: str):
    import anthropic

    return anthropic.AnthropicBedrock(
        aws_access_key=ACCESS_KEY,
        aws_secret_key=SECRET_KEY,
        aws_region=REGION,
        base_url=url,
        max_retries=0,
    )


def anthropic_bedrock_create(url: str) -> dict:
    try:
        message = bedrock_sdk(url).messages.create(
            model=HAIKU, max_tokens=64, messages=[PROMPT])
    except Exception as error:  # noqa: BLE001
        return anthropic_error(error)
    return {"text": "".join(getattr(b, "text", "") for b in message.content)}


def anthropic_bedrock_stream(url: str) -> dict:
    text = ""
    try:
        with bedrock_sdk(url).messages.stream(
                model=HAIKU, max_tokens=64, messages=[PROMPT]) as stream:
            for piece in stream.text_stream:
                text += piece
    except Exception as error:  # noqa: BLE001
        result = anthropic_error(error)
        result["text_before"] = text
        return result
    return {"text": text}


def anthropic_mantle(stream: bool) -> Callable[[str], dict]:
    def run(url: str) -> dict:
        import anthropic

        client = anthropic.Anthropic(api_key=API_KEY, base_url=f"{url}/anthropic",
                                     max_retries=0)
        text = ""
        try:
            if stream:
                with client.messages.stream(model=MANTLE_HAIKU, max_tokens=64,
                                            messages=[PROMPT]) as s:
                    for piece in s.text_stream:
                        text += piece
            else:
                message = client.messages.create(model=MANTLE_HAIKU, max_tokens=64,
                                                 messages=[PROMPT])
                text = "".join(getattr(b, "text", "") for b in message.content)
        except Exception as error:  # noqa: BLE001
            result = anthropic_error(error)
            result["text_before"] = text
            return result
        return {"text": text}

    return run


ANTHROPIC_ERRORS = [
    ("ThrottlingException", "RateLimitError", 429),
    ("AccessDeniedException", "PermissionDeniedError", 403),
    ("ValidationException", "BadRequestError", 400),
    ("ResourceNotFoundException", "NotFoundError", 404),
    ("InternalServerException", "InternalServerError", 500),
    # anthropic 2.14 has a class of its own for 503.
    ("ServiceUnavailableException", "ServiceUnavailableError", 503),
]


def anthropic_cases() -> list[Case]:
    client = "anthropic-python"
    cases = [
        Case(client, "bedrock-create", "AnthropicBedrock messages.create", anthropic_bedrock_create,
             {"text": "hi"}),
        Case(client, "bedrock-stream", "AnthropicBedrock messages.stream", anthropic_bedrock_stream,
             {"text": "hi"}),
        Case(client, "mantle-create", "Anthropic at the Mantle path, API key", anthropic_mantle(False),
             {"text": "hi"}),
        Case(client, "mantle-stream", "the same, streaming (SSE)", anthropic_mantle(True),
             {"text": "hi"}),
        # The SDK's event-stream decoder raises the exception frame as an
        # APIStatusError carrying the stream's own status, 200.
        Case(client, "bedrock-stream-exception", "an exception frame after the first text delta",
             anthropic_bedrock_stream,
             {"raised": "APIStatusError", "status": 200, "text_before": "hi"},
             [{"when": {"operation": "InvokeModelWithResponseStream"},
               "answer": {"stream_exception": {"after_events": 3,
                                               "exception": "internalServerException"}}}]),
        Case(client, "mantle-stream-error-event", "Mantle `event: error` after two events",
             anthropic_mantle(True), {"raised": "APIStatusError"},
             [{"when": {"operation": "MantleMessagesStream"},
               "answer": {"stream_exception": {"after_events": 2,
                                               "exception": "overloaded_error"}}}]),
    ]
    return cases + sdk_error_cases(client, anthropic_bedrock_create)


def sdk_error_cases(client: str, create: Callable[[str], dict]) -> list[Case]:
    """Each of ANTHROPIC_ERRORS on InvokeModel, as an Anthropic SDK's class."""
    return [
        Case(client, f"bedrock-error-{code}", f"{status} {code} as the SDK's {raised}",
             create, {"raised": raised, "status": status}, [error_rule("InvokeModel", code)])
        for code, raised, status in ANTHROPIC_ERRORS
    ]


# Anthropic TypeScript Bedrock SDK --------------------------------------

NODE_DIR = ROOT / "conformance" / "node"


def typescript(kind: str) -> Callable[[str], dict]:
    def run(url: str) -> dict:
        done = subprocess.run(["node", str(NODE_DIR / "cases.mjs"), kind, url],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or not done.stdout.strip():
            raise RuntimeError(f"node exited {done.returncode}: {done.stderr.strip()}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run


def typescript_cases() -> list[Case]:
    client = "anthropic-typescript"
    cases = [
        Case(client, "bedrock-create", "AnthropicBedrock messages.create", typescript("create"),
             {"text": "hi"}),
        Case(client, "bedrock-stream", "AnthropicBedrock messages.stream", typescript("stream"),
             {"text": "hi"}),
        Case(client, "bedrock-stream-exception", "an exception frame after the first text delta",
             typescript("stream"), {"raised": "APIError", "status": None, "text_before": "hi"},
             [{"when": {"operation": "InvokeModelWithResponseStream"},
               "answer": {"stream_exception": {"after_events": 3,
                                               "exception": "internalServerException"}}}]),
    ]
    # The TypeScript SDK raises the same classes as the Python one.
    return cases + sdk_error_cases(client, typescript("create"))


# Claude Code CLI, and bedrock-client beside it ------------------------

CLAUDE = NODE_DIR / "node_modules" / ".bin" / "claude"
BEDROCK_CLIENT = ROOT / "target" / "debug" / "bedrock-client"
OPUS_PROBE_404 = {"when": {"operation": "InvokeModel", "model": "*claude-opus-5-5"},
                  "answer": {"error": {"code": "ResourceNotFoundException",
                                       "message": "Model not found."}}}


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
            rules=[{"when": {"operation": "InvokeModelWithResponseStream",
                             "model": "*claude-opus-5-5"},
                    "answer": {"error": {"code": "AccessDeniedException"}}}]),
    CliCase("probe-403-default", "the default Opus refused (403) on its probe and turn",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[{"when": {"model": "*claude-opus-5-5"},
                    "answer": {"error": {"code": "AccessDeniedException"}}}]),
    CliCase("probe-400-default", "the default Opus's probe refused with a 400",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[{"when": {"operation": "InvokeModel", "model": "*claude-opus-5-5"},
                    "answer": {"error": {"code": "ValidationException"}}}]),
    CliCase("probe-429-default", "the default Opus's probe throttled: kept",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[{"when": {"operation": "InvokeModel", "model": "*claude-opus-5-5"},
                    "answer": {"error": {"code": "ThrottlingException"}}}]),
    CliCase("turn-400-default", "the default Opus's turn refused with a 400",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[{"when": {"operation": "InvokeModelWithResponseStream",
                             "model": "*claude-opus-5-5"},
                    "answer": {"error": {"code": "ValidationException"}}}]),
    CliCase("expired-session-export",
            "an expired session in the environment, awsCredentialExport issuing a fresh one",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_ACCESS_KEY_ID": "ASIASTALEEXAMPLE0001",
             "AWS_SECRET_ACCESS_KEY": "staleSecret/K7MDENG+bPxRfiCYSTALEKEY",
             "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLEstaleTOKEN"},
            config={
                "credentials": [{"access_key_id": "ASIASTALEEXAMPLE0001",
                                 "secret_access_key": "staleSecret/K7MDENG+bPxRfiCYSTALEKEY",
                                 "session_token": "IQoJb3JpZ2luX2VjEXAMPLEstaleTOKEN",
                                 "expires_at": "2020-01-01T00:00:00Z"}],
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
    CliCase("mantle-only", "CLAUDE_CODE_USE_MANTLE=1", {"CLAUDE_CODE_USE_MANTLE": "1"}),
    CliCase("both-endpoints-anthropic-model", "both endpoints, --model anthropic.claude-haiku-4-5",
            {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_USE_MANTLE": "1"},
            args=["--model", "anthropic.claude-haiku-4-5"]),
    CliCase("stream-exception", "an exception frame mid-stream: one non-streaming retry",
            {"CLAUDE_CODE_USE_BEDROCK": "1"},
            rules=[{"when": {"operation": "InvokeModelWithResponseStream"},
                    "answer": {"stream_exception": {"after_events": 3,
                                                    "exception": "internalServerException"}}}]),
]


# Fidelity differences the suite knows, each explained in DIFFERENCES.md:
# (case name pattern, difference pattern, why). Anything else fails the run.
KNOWN_DIFFERENCES = [
    (r".*", r"#\d+ body\.tools: CLI '<list>', ours None",
     "deliberate: bedrock-client offers the model no tools"),
    (r"model-access-403.*|turn-400-default", r".*",
     "open: the CLI's turn-time fallback after a refusal (DIFFERENCES.md)"),
    (r"on-demand-400", r".*",
     "open: the on-demand throughput 400 (DIFFERENCES.md)"),
]


def known(case: str, difference: str) -> str | None:
    for case_pattern, pattern, why in KNOWN_DIFFERENCES:
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


def run_cli(program: Path, case: CliCase, url: str, scratch: Path) -> dict:
    home = scratch / "home"
    project = scratch / "project"
    for folder in (home, project):
        subprocess.run(["rm", "-rf", str(folder)], check=True)
        folder.mkdir(parents=True)
    if case.settings is not None:
        (home / ".claude").mkdir()
        text = json.dumps(case.settings).replace("{mock}", url)
        (home / ".claude" / "settings.json").write_text(text)
    done = subprocess.run(
        [str(program), "-p", "say hi", "--output-format", "text", *case.args],
        env=cli_env(url, home, case.env), cwd=project, capture_output=True,
        text=True, timeout=180)
    return {"exit": done.returncode, "stdout": done.stdout.strip(), "stderr": done.stderr.strip()}


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


def fidelity_view(journal: list[dict]) -> list[dict]:
    """The requests as the fidelity comparison sees them: operation,
    endpoint, model, signed header names, the headers and body fields that
    matter. Probes sent at once are put in model order (their arrival
    order is a race)."""
    view = []
    for entry in journal:
        headers = {n.lower(): v for n, v in entry["headers"]}
        auth = headers.get("authorization", "")
        signed = re.search(r"SignedHeaders=([^,]+)", auth)
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


def start_cli_case(mock: Mock, case: CliCase) -> None:
    """The mock back at its start, the case's account changes made, its
    rules mounted."""
    mock.admin("POST", "reset")
    if case.config:
        config = mock.admin("GET", "config")
        config.update(case.config)
        mock.admin("PUT", "config", config)
    for rule in case.rules:
        mock.admin("POST", "rules", rule)


def cli_results(mock: Mock, update: bool, wanted: str) -> list[tuple[str, str, list[str], list[str]]]:
    """(case, what, problems, fidelity differences) for each CLI case."""
    results = []
    scratch = Path(subprocess.run(["mktemp", "-d"], capture_output=True, text=True,
                                  check=True).stdout.strip())
    for case in CLI_CASES:
        if wanted not in f"claude-code/{case.name}":
            continue
        problems: list[str] = []
        start_cli_case(mock, case)
        got = run_cli(CLAUDE, case, mock.url, scratch)
        cli_journal = mock.journal()
        if got["exit"] != case.exit:
            problems.append(f"exit {got['exit']}, expected {case.exit}")
        if case.stdout not in got["stdout"]:
            problems.append(f"stdout {got['stdout']!r} lacks {case.stdout!r}")
        golden_case = Case("claude-code", case.name, case.what, lambda _: {}, {})
        problems += check_golden(golden_case, cli_journal, update, view=fidelity_view)
        start_cli_case(mock, case)
        ours = run_cli(BEDROCK_CLIENT, case, mock.url, scratch)
        fidelity = differences(fidelity_view(cli_journal), fidelity_view(mock.journal()))
        if ours["exit"] != got["exit"]:
            fidelity.append(f"exit: CLI {got['exit']}, ours {ours['exit']}")
        if ours["stdout"] != got["stdout"]:
            fidelity.append(f"stdout: CLI {got['stdout']!r}, ours {ours['stdout']!r}")
        if ours["stderr"] != got["stderr"]:
            fidelity.append(f"stderr: CLI {got['stderr']!r}, ours {ours['stderr']!r}")
        if problems:
            problems.insert(0, f"got {json.dumps(got)}")
        results.append((case.name, case.what, problems, fidelity))
    subprocess.run(["rm", "-rf", str(scratch)], check=False)
    return results


# ---------------------------------------------------------------- driving


def versions() -> dict[str, str]:
    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    def npm_version(package: str) -> str:
        try:
            manifest = NODE_DIR / "node_modules" / package / "package.json"
            return json.loads(manifest.read_text())["version"]
        except (OSError, ValueError, KeyError):
            return "not installed"

    return {"boto3": f"boto3 {version('boto3')} (botocore {version('botocore')})",
            "anthropic-python": f"anthropic {version('anthropic')}",
            "claude-code": f"@anthropic-ai/claude-code "
                           f"{npm_version('@anthropic-ai/claude-code')}",
            "anthropic-typescript": f"@anthropic-ai/bedrock-sdk "
                                    f"{npm_version('@anthropic-ai/bedrock-sdk')} "
                                    f"(@anthropic-ai/sdk {npm_version('@anthropic-ai/sdk')})"}


def check_outcome(expect: dict, got: dict) -> list[str]:
    return [f"{key}: expected {value!r}, got {got.get(key)!r}"
            for key, value in expect.items() if got.get(key) != value]


def check_golden(case: Case, journal: list[dict], update: bool,
                 view: Callable[[list[dict]], list] | None = None) -> list[str]:
    path = GOLDEN / case.client / f"{case.name}.json"
    shown = view(journal) if view else [normalize(e) for e in journal]
    text = json.dumps(shown, indent=2, sort_keys=True) + "\n"
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return []
    if not path.exists():
        return [f"no golden file {path.relative_to(ROOT)} (run with --update to write it)"]
    recorded = path.read_text()
    if recorded == text:
        return []
    diff = difflib.unified_diff(recorded.splitlines(), text.splitlines(),
                                "golden", "this run", lineterm="", n=2)
    return ["the requests differ from the golden file:", *list(diff)[:40]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--harness", type=Path,
                        default=ROOT / "target" / "debug" / "bedrock-harness")
    parser.add_argument("--update", action="store_true",
                        help="rewrite the golden files instead of comparing")
    parser.add_argument("--filter", default="", help="only cases whose name contains this")
    args = parser.parse_args()

    cases = [c for c in boto3_cases() + anthropic_cases() + typescript_cases()
             if args.filter in f"{c.client}/{c.name}"]
    mock = Mock(args.harness)
    results: list[tuple[Case, list[str]]] = []
    cli: list[tuple[str, str, list[str], list[str]]] = []
    try:
        if CLAUDE.exists():
            cli = cli_results(mock, args.update, args.filter)
        for case in cases:
            mock.start_case(case.rules)
            try:
                got = case.run(mock.url)
                problems = check_outcome(case.expect, got)
            except Exception:  # noqa: BLE001 - a crash is a result too
                got = {}
                problems = ["the case itself failed:\n" + traceback.format_exc()]
            problems += check_golden(case, mock.journal(), args.update)
            results.append((case, problems))
            if problems:
                got_text = json.dumps(got, sort_keys=True)
                problems.insert(0, f"got {got_text}")
    finally:
        mock.close()

    names = [c.name for c, _ in results] + [name for name, *_ in cli]
    width = 21 + max((len(n) for n in names), default=10) + 1
    print(f"{'client':<21} {'case':<{width - 21}}  result    fidelity of bedrock-client")
    for case, problems in results:
        mark = "ok" if not problems else "MISMATCH"
        print(f"{case.client:<21} {case.name:<{width - 21}}  {mark}")
    for name, _, problems, fidelity in cli:
        mark = "ok" if not problems else "MISMATCH"
        unknown = [d for d in fidelity if not known(name, d)]
        if not fidelity:
            same = "identical"
        elif not unknown:
            same = f"identical but for {len(fidelity)} known"
        else:
            same = f"{len(unknown)} UNKNOWN differences"
        print(f"{'claude-code':<21} {name:<{width - 21}}  {mark:<8}  {same}")
    print()
    for client, version in versions().items():
        ran = [p for c, p in results if c.client == client]
        if ran:
            ok = sum(1 for p in ran if not p)
            print(f"{client}: {version}: {ok}/{len(ran)} cases match")
    if cli:
        ok = sum(1 for _, _, p, _ in cli if not p)
        identical = sum(1 for *_, f in cli if not f)
        explained = sum(1 for name, *_, f in cli if all(known(name, d) for d in f))
        print(f"claude-code: {versions()['claude-code']}: {ok}/{len(cli)} cases match; "
              f"bedrock-client identical in {identical}/{len(cli)} "
              f"({100 * identical // len(cli)} %), identical but for known differences "
              f"in {explained}/{len(cli)}")
    elif CLAUDE.exists() is False:
        print("claude-code: not installed (npm ci in conformance/node), its cases skipped")
    failed = [(c, p) for c, p in results if p]
    for name, what, problems, fidelity in cli:
        if problems:
            print(f"\nclaude-code/{name} ({what}):")
            for line in problems:
                print(f"  {line}")
        if fidelity:
            print(f"\nfidelity claude-code/{name}: bedrock-client differs ({what}):")
            for line in fidelity:
                why = known(name, line)
                print(f"  {line}" + (f"   [known: {why}]" if why else "   [UNKNOWN]"))
    for case, problems in failed:
        print(f"\n{case.client}/{case.name} ({case.what}):")
        for line in problems:
            print(f"  {line}")
    if args.update:
        print(f"\ngolden files written under {GOLDEN.relative_to(ROOT)}")
    unexplained = any(not known(name, d) for name, _, _, f in cli for d in f)
    cli_failed = any(p for _, _, p, _ in cli)
    nothing_ran = not results and not cli
    return 1 if failed or cli_failed or unexplained or nothing_ran else 0


if __name__ == "__main__":
    sys.exit(main())
