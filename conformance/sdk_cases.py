"""The client libraries' cases: boto3, the Anthropic Python SDK, and the
Anthropic TypeScript Bedrock SDK (through `node/cases.mjs`). Each case is
a call and the outcome the library must surface."""

from __future__ import annotations

import json
import subprocess
from typing import Callable

from common import (ACCESS_KEY, API_KEY, HAIKU, MANTLE_HAIKU, PROMPT, REGION, ROOT, SECRET_KEY,
                    Case, error_rule)

NODE_DIR = ROOT / "conformance" / "node"


def all_cases() -> list[Case]:
    return boto3_cases() + anthropic_cases() + typescript_cases()


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
