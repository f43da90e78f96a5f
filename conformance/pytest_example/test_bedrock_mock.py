"""boto3 against a mock Bedrock, in pytest: `bedrock-harness serve` as a
fixture, pointed at by the environment it prints (`--print-env json`)."""

import json
import os
import subprocess
import urllib.request

import boto3
import pytest

HARNESS = os.environ.get("BEDROCK_HARNESS", "bedrock-harness")
MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.fixture
def bedrock_mock(monkeypatch):
    """A mock Bedrock on a free port, with the variables it prints set (and
    those it unsets removed) for the test; stopped after it."""
    server = subprocess.Popen(
        [HARNESS, "serve", "--port", "0", "--quiet", "--print-env", "json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        if not line:
            raise RuntimeError(f"{HARNESS} serve did not start (exit {server.wait()})")
        env = json.loads(line)
        for name, value in env["set"].items():
            monkeypatch.setenv(name, value)
        for name in env["unset"]:
            monkeypatch.delenv(name, raising=False)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=10)


def admin(mock, method, call, body=None):
    """One call of the mock's admin API (mock-server/ADMIN.md)."""
    request = urllib.request.Request(
        mock["admin"] + call,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read()
    return json.loads(text) if text else None


def ask(text):
    """One InvokeModel, the client configured by the environment alone:
    region, endpoint and credentials."""
    client = boto3.client("bedrock-runtime")
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
    }
    answer = client.invoke_model(modelId=MODEL, body=json.dumps(body))
    return json.loads(answer["body"].read())


def test_an_invoke_is_answered(bedrock_mock):
    assert ask("hello")["content"] == [{"type": "text", "text": "hi"}]
    [request] = admin(bedrock_mock, "GET", "journal")
    assert (request["operation"], request["status"]) == ("InvokeModel", 200)
    assert request["auth"]["accepted"]


def test_boto3_retries_a_throttled_invoke(bedrock_mock):
    admin(bedrock_mock, "POST", "rules", {
        "when": {"operation": "InvokeModel"},
        "answer": {"error": {"code": "ThrottlingException"}},
        "times": 1,
    })
    assert ask("hello")["content"][0]["text"] == "hi"
    statuses = [r["status"] for r in admin(bedrock_mock, "GET", "journal")]
    assert statuses == [429, 200]
