"""What every conformance case shares: the mock (`bedrock-harness serve`
as a child process), the example account, the journal's normal form, and
the golden files the journals are compared with."""

from __future__ import annotations

import difflib
import json
import re
import subprocess
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

    def start_case(self, rules: list[dict], config: dict | None = None) -> None:
        """The mock back at its start, `config`'s fields of the account
        changed (`ServerConfig`, JSON), `rules` mounted."""
        self.admin("POST", "reset")
        if config:
            account = self.admin("GET", "config")
            account.update(config)
            self.admin("PUT", "config", account)
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


def error_rule(operation: str, code: str, model: str | None = None, **extra) -> dict:
    """A rule answering `operation` (on models matching the `model` glob,
    when given) with the error `code`; `extra` goes into the error
    (`message`, `status`)."""
    when = {"operation": operation} if model is None else {"operation": operation, "model": model}
    return {"when": when, "answer": {"error": {"code": code, **extra}}}


def check_outcome(expect: dict, got: dict) -> list[str]:
    """Each key of `expect` whose value `got` does not have."""
    return [f"{key}: expected {value!r}, got {got.get(key)!r}"
            for key, value in expect.items() if got.get(key) != value]


def check_golden(client: str, name: str, journal: list[dict], update: bool,
                 view: Callable[[list[dict]], list] | None = None) -> list[str]:
    """Where `journal` (normalized, or as `view` shows it) differs from
    `golden/<client>/<name>.json`; with `update`, writes that file instead."""
    path = GOLDEN / client / f"{name}.json"
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
