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
    for code, raised, status in ANTHROPIC_ERRORS:
        cases.append(Case(
            client, f"bedrock-error-{code}", f"{status} {code} as the SDK's {raised}",
            anthropic_bedrock_create, {"raised": raised, "status": status},
            [error_rule("InvokeModel", code)],
        ))
    return cases


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
    for code, raised, status in TYPESCRIPT_ERRORS:
        cases.append(Case(
            client, f"bedrock-error-{code}", f"{status} {code} as the SDK's {raised}",
            typescript("create"), {"raised": raised, "status": status},
            [error_rule("InvokeModel", code)],
        ))
    return cases


TYPESCRIPT_ERRORS = [
    ("ThrottlingException", "RateLimitError", 429),
    ("AccessDeniedException", "PermissionDeniedError", 403),
    ("ValidationException", "BadRequestError", 400),
    ("ResourceNotFoundException", "NotFoundError", 404),
    ("InternalServerException", "InternalServerError", 500),
    ("ServiceUnavailableException", "ServiceUnavailableError", 503),
]


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
            "anthropic-typescript": f"@anthropic-ai/bedrock-sdk "
                                    f"{npm_version('@anthropic-ai/bedrock-sdk')} "
                                    f"(@anthropic-ai/sdk {npm_version('@anthropic-ai/sdk')})"}


def check_outcome(expect: dict, got: dict) -> list[str]:
    return [f"{key}: expected {value!r}, got {got.get(key)!r}"
            for key, value in expect.items() if got.get(key) != value]


def check_golden(case: Case, journal: list[dict], update: bool) -> list[str]:
    path = GOLDEN / case.client / f"{case.name}.json"
    text = json.dumps([normalize(e) for e in journal], indent=2, sort_keys=True) + "\n"
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
    try:
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

    width = 21 + max((len(c.name) for c, _ in results), default=10) + 1
    print(f"{'client':<21} {'case':<{width - 21}}  result")
    for case, problems in results:
        mark = "ok" if not problems else "MISMATCH"
        print(f"{case.client:<21} {case.name:<{width - 21}}  {mark}")
    print()
    for client, version in versions().items():
        ran = [p for c, p in results if c.client == client]
        if ran:
            ok = sum(1 for p in ran if not p)
            print(f"{client}: {version}: {ok}/{len(ran)} cases match")
    failed = [(c, p) for c, p in results if p]
    for case, problems in failed:
        print(f"\n{case.client}/{case.name} ({case.what}):")
        for line in problems:
            print(f"  {line}")
    if args.update:
        print(f"\ngolden files written under {GOLDEN.relative_to(ROOT)}")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
