#!/usr/bin/env python3
"""Real third-party clients against `bedrock-harness serve`.

Each case mounts rules on one running mock, drives a real client at it,
and checks two things:

- the outcome, as the client surfaces it: the answer's text, or the
  exception class and error code the client raised (sdk_cases.py), or the
  CLI's exit status and output (claude_code.py);
- the requests the client sent, as the mock journaled them, normalized
  (dates, ids and signatures replaced) and compared with
  `conformance/golden/<client>/<case>.json`, so a change in a future
  release of a client shows up as a diff (common.py).

For the Claude Code CLI, each case runs for each pinned version of the CLI
(`node/package.json`), and `bedrock-client` runs it too as that version
(`--cli-version`): it must match the CLI but for the differences
claude_code.KNOWN_DIFFERENCES explains.

It also runs the root README's pytest example
(`pytest_example/`, the same file as the README's block) as a user
would: pytest, its fixture starting its own `serve --print-env json`.

Prints a table client x case, each client's version and match count (the
CLI's per version, with bedrock-client's fidelity as that version), and
exits 1 on any mismatch, on an unexplained difference, or when a client is
missing. `--update` rewrites the golden files instead of comparing them.

Run it through `conformance/run`, which installs the pinned clients first.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

import claude_code
import sdk_cases
from common import GOLDEN, ROOT, Case, Mock, check_golden, check_outcome


def versions() -> dict[str, str]:
    """Each client's installed version, for the table."""
    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    def npm_version(package: str) -> str:
        try:
            manifest = sdk_cases.NODE_DIR / "node_modules" / package / "package.json"
            return json.loads(manifest.read_text())["version"]
        except (OSError, ValueError, KeyError):
            return "not installed"

    clis = {f"claude-code@{v}": f"@anthropic-ai/claude-code "
                                f"{npm_version(claude_code.ALIAS_PREFIX + v)}"
            for v in claude_code.cli_versions()}
    return {"boto3": f"boto3 {version('boto3')} (botocore {version('botocore')})",
            "pytest": f"pytest {version('pytest')} (boto3 {version('boto3')})",
            "anthropic-python": f"anthropic {version('anthropic')}",
            "anthropic-typescript": f"@anthropic-ai/bedrock-sdk "
                                    f"{npm_version('@anthropic-ai/bedrock-sdk')} "
                                    f"(@anthropic-ai/sdk {npm_version('@anthropic-ai/sdk')})",
            **clis}


def run_sdk_case(mock: Mock, case: Case, update: bool) -> list[str]:
    """What is wrong with one library case (nothing: an empty list)."""
    mock.start_case(case.rules)
    try:
        got = case.run(mock.url)
        problems = check_outcome(case.expect, got)
    except Exception:  # noqa: BLE001 - a crash is a result too
        got = {}
        problems = ["the case itself failed:\n" + traceback.format_exc()]
    problems += check_golden(case.client, case.name, mock.journal(), update)
    if problems:
        problems.insert(0, f"got {json.dumps(got, sort_keys=True)}")
    return problems


PYTEST_EXAMPLE = Case(
    client="pytest", name="example",
    what="the README's pytest fixture: boto3 set up by serve --print-env json alone, "
         "an invoke answered, a throttled invoke retried",
    run=lambda url: {}, expect={})


def run_pytest_example(harness: Path) -> list[str]:
    """What is wrong with the README's pytest example, run by pytest with
    `harness` as its `bedrock-harness` (nothing: an empty list)."""
    folder = ROOT / "conformance" / "pytest_example"
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
            env={**os.environ, "BEDROCK_HARNESS": str(harness)},
            capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        return ["pytest did not finish within 300 s"]
    if run.returncode == 0:
        return []
    return [f"pytest exited {run.returncode}:", *(run.stdout + run.stderr).splitlines()]


def print_table(results: list[tuple[Case, list[str]]],
                cli: list[claude_code.CliResult]) -> None:
    """The table client x case: whether each matched, and for the CLI's
    cases, how bedrock-client compared."""
    names = [c.name for c, _ in results] + [r.case.name for r in cli]
    width = max((len(n) for n in names), default=10)
    print(f"{'client':<21} {'case':<{width}}  result    fidelity of bedrock-client")
    for case, problems in results:
        print(f"{case.client:<21} {case.name:<{width}}  {'MISMATCH' if problems else 'ok'}")
    for r in cli:
        mark = "MISMATCH" if r.problems else "ok"
        client = f"claude-code@{r.version}"
        print(f"{client:<21} {r.case.name:<{width}}  {mark:<8}  {fidelity_column(r)}")
    print()


def fidelity_column(result: claude_code.CliResult) -> str:
    if not result.differences:
        return "identical"
    unknown = result.unknown()
    if unknown:
        return f"{len(unknown)} UNKNOWN differences"
    return f"identical but for {len(result.differences)} known"


def cli_summary(version: str, installed: str, results: list[claude_code.CliResult]) -> str:
    """One version's line: the CLI against its goldens, and bedrock-client's
    fidelity as that version: (cases identical apart from declared
    differences) / (cases run)."""
    ok = sum(1 for r in results if not r.problems)
    identical = sum(1 for r in results if not r.differences)
    explained = sum(1 for r in results if not r.unknown())
    return (f"claude-code@{version}: {installed}: {ok}/{len(results)} cases match; "
            f"bedrock-client --cli-version {version}: fidelity {explained}/{len(results)} "
            f"(identical apart from declared differences), identical in "
            f"{identical}/{len(results)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--harness", type=Path,
                        default=ROOT / "target" / "debug" / "bedrock-harness",
                        help="bedrock-harness; bedrock-client is taken from its folder")
    parser.add_argument("--update", action="store_true",
                        help="rewrite the golden files instead of comparing")
    parser.add_argument("--filter", default="", help="only cases whose name contains this")
    parser.add_argument("--slow", action="store_true",
                        help="also the cases that take minutes on a real clock "
                             "(for the newest CLI version only)")
    parser.add_argument("--cli-version", action="append", dest="cli_versions",
                        choices=claude_code.cli_versions(), metavar="VERSION",
                        help="only this version of the Claude Code CLI (repeatable; "
                             f"default: every pinned one, {', '.join(claude_code.cli_versions())})")
    args = parser.parse_args()

    cases = [c for c in sdk_cases.all_cases() if args.filter in f"{c.client}/{c.name}"]
    runs = claude_code.wanted_cases(args.filter, args.slow,
                                    args.cli_versions or claude_code.cli_versions())
    missing = sorted({v for v, _ in runs if not claude_code.claude(v).exists()})
    mock = Mock(args.harness)
    results: list[tuple[Case, list[str]]] = []
    cli: list[claude_code.CliResult] = []
    try:
        cli = claude_code.cli_results(mock, args.harness.parent / "bedrock-client",
                                      args.update, [(v, c) for v, c in runs if v not in missing])
        results = [(case, run_sdk_case(mock, case, args.update)) for case in cases]
    finally:
        mock.close()
    if args.filter in f"{PYTEST_EXAMPLE.client}/{PYTEST_EXAMPLE.name}":
        results.append((PYTEST_EXAMPLE, run_pytest_example(args.harness)))

    print_table(results, cli)
    known_versions = versions()
    for client, version in known_versions.items():
        ran = [p for c, p in results if c.client == client]
        if ran:
            print(f"{client}: {version}: {sum(1 for p in ran if not p)}/{len(ran)} cases match")
    for version in claude_code.cli_versions():
        ran = [r for r in cli if r.version == version]
        if ran:
            print(cli_summary(version, known_versions[f"claude-code@{version}"], ran))
    for version in missing:
        print(f"claude-code@{version}: MISSING ({claude_code.claude(version)} is not there: "
              "npm ci in conformance/node); its cases did not run")
    for r in cli:
        name = f"claude-code@{r.version}/{r.case.name}"
        if r.problems:
            print(f"\n{name} ({r.case.what}):")
            for line in r.problems:
                print(f"  {line}")
        if r.differences:
            print(f"\nfidelity {name}: bedrock-client differs ({r.case.what}):")
            for line in r.differences:
                why = claude_code.known(r.case.name, line, r.version)
                print(f"  {line}" + (f"   [known: {why}]" if why else "   [UNKNOWN]"))
    failed = [(c, p) for c, p in results if p]
    for case, problems in failed:
        print(f"\n{case.client}/{case.name} ({case.what}):")
        for line in problems:
            print(f"  {line}")
    if args.update:
        print(f"\ngolden files written under {GOLDEN.relative_to(ROOT)}")
    cli_failed = any(r.problems or r.unknown() for r in cli)
    nothing_ran = not results and not cli
    return 1 if failed or cli_failed or missing or nothing_ran else 0


if __name__ == "__main__":
    sys.exit(main())
