//! Comparing a run with the scenario's `[expect]`: each difference is one
//! readable line, and the request list gets a side-by-side listing. What a
//! client's run cannot be held to (the virtual clock of a program on the
//! real clock, `bedrock-client`'s own failure kinds and counts) is listed
//! as not checked, with why, and never counted as held.

use std::time::Duration;

use bedrock_client::FailureKind;
use bedrock_mock_server::{FrameRecord, Operation, RecordedRequest, Times, glob};

use super::format::{Expect, ExpectedRequest, Order, Scenario};
use super::observed::{ClientSide, Ended, ProcessEnd, Run};

/// How a run compares with its expectations.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Every way the run differs; empty when it passes.
    pub differences: Vec<String>,
    /// Expectations this run cannot be held to, each with why.
    pub not_checked: Vec<String>,
}

/// One comparison's finding.
enum Finding {
    Differs(String),
    NotChecked(String),
}

use Finding::{Differs, NotChecked};

/// Compares `run` with `expect` (`snapshot` is its journal as text, for
/// the leak check).
pub fn compare(expect: &Expect, run: &Run, snapshot: &str) -> Comparison {
    let (expect, mut not_checked) = checkable(expect, run);
    let mut findings: Vec<Finding> = Vec::new();
    findings.extend(time_limit(run));
    findings.extend(compare_exit(&expect, run));
    findings.extend(compare_failure_kind(&expect, run));
    findings.extend(compare_output(&expect, run).into_iter().map(Differs));
    if !expect.requests.is_empty() {
        let found = compare_requests(&expect.requests, expect.order, &run.journal, run.at_once());
        findings.extend(found.into_iter().map(Differs));
    }
    findings.extend(compare_counts(&expect, run));
    findings.extend(compare_files(&expect, run).into_iter().map(Differs));
    findings.extend(compare_clock(&expect, run));
    if let Some(unmet) = &run.unmet_rules {
        // The mock's message is many lines: indented under this finding.
        let unmet = unmet.trim_end().replace('\n', "\n    ");
        findings.push(Differs(format!("server rules: {unmet}")));
    }
    if expect.no_secrets {
        findings.extend(leaks(run, snapshot).into_iter().map(Differs));
    }
    let mut differences = Vec::new();
    for finding in findings {
        match finding {
            Differs(text) => differences.push(text),
            NotChecked(text) => not_checked.push(text),
        }
    }
    Comparison {
        differences,
        not_checked,
    }
}

/// Compares `run` with `scenario`'s `[expect]` and, with `[[clients]]`,
/// each client's run with its own (its findings named with its name).
pub fn compare_clients(scenario: &Scenario, run: &Run, snapshot: &str) -> Comparison {
    let mut whole = compare(&scenario.expect, run, snapshot);
    for (named, client) in scenario.clients.iter().zip(&run.clients) {
        let own = compare(&named.expect, &client.run, snapshot);
        let named_as = |text: String| format!("{}: {text}", named.name);
        whole
            .differences
            .extend(own.differences.into_iter().map(named_as));
        whole
            .not_checked
            .extend(own.not_checked.into_iter().map(named_as));
    }
    whole
}

/// Request headers whose values are times: on the real clock they are
/// whenever the request was sent.
const TIME_HEADERS: [&str; 2] = ["x-amz-date", "date"];

/// `expect` without what `run`'s client cannot show, and what was left
/// out: of a program, the request headers that carry the real time, and
/// printed texts that name `bedrock-client` (its own words: what it says
/// of itself no other client prints).
fn checkable(expect: &Expect, run: &Run) -> (Expect, Vec<String>) {
    let mut expect = expect.clone();
    let mut left_out = Vec::new();
    if let ClientSide::Process(_) = run.client {
        for (n, row) in expect.requests.iter_mut().enumerate() {
            row.headers.retain(|name, value| {
                let timed = TIME_HEADERS.contains(&name.to_ascii_lowercase().as_str());
                if timed && value != "*" {
                    left_out.push(format!(
                        "requests[{n}].headers.{name} = {value:?}: not checked (real clock)"
                    ));
                }
                !timed || value == "*"
            });
        }
        for (stream, wanted, exact) in [
            ("stdout", &mut expect.stdout, &mut expect.stdout_exact),
            ("stderr", &mut expect.stderr, &mut expect.stderr_exact),
        ] {
            let own = |text: &str| text.contains(BEDROCK_CLIENT);
            for text in wanted.iter().filter(|t| own(t)) {
                left_out.push(format!(
                    "{stream} containing {text:?}: not checked (bedrock-client's own words)"
                ));
            }
            wanted.retain(|t| !own(t));
            if let Some(text) = exact.take_if(|t| own(t)) {
                left_out.push(format!(
                    "{stream}_exact = {text:?}: not checked (bedrock-client's own words)"
                ));
            }
        }
    }
    (expect, left_out)
}

/// How `bedrock-client` names itself in what it prints.
const BEDROCK_CLIENT: &str = "bedrock-client";

/// A program stopped at the time limit failed, whatever else held.
fn time_limit(run: &Run) -> Option<Finding> {
    match run.client {
        ClientSide::Process(ProcessEnd {
            ended: Ended::TimedOut(limit),
            ..
        }) => Some(Differs(format!(
            "the client did not finish within the time limit ({} s): it was stopped, with everything it started",
            limit.as_secs()
        ))),
        _ => None,
    }
}

/// The exit status, as `bedrock-client`'s `Exit` gives it in-process or
/// as the program exited.
fn compare_exit(expect: &Expect, run: &Run) -> Option<Finding> {
    let exit = expect.exit?;
    let got = match &run.client {
        ClientSide::InProcess(session) => i32::from(session.outcome.exit.code()),
        ClientSide::Process(end) => match end.ended {
            Ended::Exited(code) => code,
            Ended::Signalled(signal) => {
                return Some(Differs(format!(
                    "exit status: expected {exit}, but signal {signal} stopped the client"
                )));
            }
            // Said by `time_limit`.
            Ended::TimedOut(_) => return None,
        },
    };
    (i32::from(exit) != got).then(|| Differs(format!("exit status: expected {exit}, got {got}")))
}

fn compare_failure_kind(expect: &Expect, run: &Run) -> Option<Finding> {
    let kind = expect.error.as_ref()?;
    let Some(session) = run.session() else {
        return Some(NotChecked(format!(
            "error = {kind:?}: not checked (bedrock-client's own failure kind)"
        )));
    };
    let got = session.outcome.error.map_or("none", FailureKind::name);
    (kind != got).then(|| Differs(format!("failure kind: expected `{kind}`, got `{got}`")))
}

/// What the client printed: exactly, or containing and lacking fragments.
fn compare_output(expect: &Expect, run: &Run) -> Vec<String> {
    let mut out = Vec::new();
    for (stream, text, exact) in [
        ("stdout", &run.stdout, &expect.stdout_exact),
        ("stderr", &run.stderr, &expect.stderr_exact),
    ] {
        if let Some(exact) = exact
            && exact != text
        {
            out.push(format!(
                "{stream} is not exactly {exact:?}; it was:\n{}",
                indent(text)
            ));
        }
    }
    for (stream, text, wanted, unwanted) in [
        ("stdout", &run.stdout, &expect.stdout, &expect.stdout_lacks),
        ("stderr", &run.stderr, &expect.stderr, &expect.stderr_lacks),
    ] {
        for fragment in wanted.iter().filter(|f| !text.contains(f.as_str())) {
            out.push(format!(
                "{stream} lacks {fragment:?}; it was:\n{}",
                indent(text)
            ));
        }
        for fragment in unwanted.iter().filter(|f| text.contains(f.as_str())) {
            out.push(format!("{stream} contains {fragment:?}, which it must not"));
        }
    }
    out
}

/// Files the client left under HOME: written, with and without fragments.
fn compare_files(expect: &Expect, run: &Run) -> Vec<String> {
    let mut out = Vec::new();
    for (path, fragments) in &expect.files {
        let Some(text) = run.files.get(path).and_then(Option::as_ref) else {
            out.push(format!("file ~/{path} was not written"));
            continue;
        };
        for fragment in fragments.iter().filter(|f| !text.contains(f.as_str())) {
            out.push(format!(
                "file ~/{path} lacks {fragment:?}; it was:\n{}",
                indent(text)
            ));
        }
    }
    for (path, fragments) in &expect.files_lack {
        let text = run.files.get(path).and_then(Option::as_deref).unwrap_or("");
        for fragment in fragments.iter().filter(|f| text.contains(f.as_str())) {
            out.push(format!(
                "file ~/{path} contains {fragment:?}, which it must not"
            ));
        }
    }
    out
}

fn compare_clock(expect: &Expect, run: &Run) -> Option<Finding> {
    let seconds = expect.virtual_seconds?;
    let Some(session) = run.session() else {
        return Some(NotChecked(format!(
            "virtual_seconds = {seconds}: not checked (real clock)"
        )));
    };
    let got = session.virtual_time.as_secs_f64();
    ((got - seconds).abs() > 0.001).then(|| {
        Differs(format!(
            "the session's clock moved {got:.3} s, not {seconds:.3} s"
        ))
    })
}

/// Secrets found in any output, named by where (never printed).
pub fn leaks(run: &Run, snapshot: &str) -> Vec<String> {
    let journal = serde_json::to_string(&run.journal).unwrap_or_default();
    let trace = run.session().map_or("", |s| s.trace.as_str());
    let outputs = [
        ("stdout", run.stdout.as_str()),
        ("stderr", run.stderr.as_str()),
        ("the trace log", trace),
        ("the journal", journal.as_str()),
        ("the snapshot", snapshot),
    ];
    let mut out = Vec::new();
    for (place, text) in outputs {
        for (n, secret) in run.secrets.iter().enumerate() {
            if disguises(secret).iter().any(|s| text.contains(s.as_str())) {
                out.push(format!(
                    "secret #{} of the scenario appears in {place}",
                    n + 1
                ));
            }
        }
        if has_signature(text) {
            out.push(format!("a SigV4 signature appears in {place}"));
        }
    }
    out
}

/// A secret as it may appear in an output: as is, percent-encoded (in a
/// URL or query), and escaped inside a JSON string (AWS secret keys hold
/// `/` and `+`).
fn disguises(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned()];
    let percent: String = secret
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_owned();
    for form in [percent, json] {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

/// `text` with every one of `secrets` (in any of its disguises) replaced
/// by `<secret #n>`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for (n, secret) in secrets.iter().enumerate() {
        for form in disguises(secret) {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), &format!("<secret #{}>", n + 1));
            }
        }
    }
    out
}

/// Whether `text` holds `Signature=` followed by 64 hex digits.
fn has_signature(text: &str) -> bool {
    text.match_indices("Signature=").any(|(at, m)| {
        let rest = &text[at + m.len()..];
        rest.len() >= 64 && rest.as_bytes()[..64].iter().all(u8::is_ascii_hexdigit)
    })
}

fn compare_counts(expect: &Expect, run: &Run) -> Vec<Finding> {
    let counts = &expect.counts;
    let journal = &run.journal;
    let client = ClientCounts::of(run);
    let mut checks: Vec<(String, Option<Times>, Result<u32, &str>)> = vec![
        ("requests".into(), counts.requests, Ok(count(journal.len()))),
        ("retries".into(), counts.retries, Ok(retries(journal))),
        (
            "awsCredentialExport runs".into(),
            counts.exports,
            client.exports,
        ),
        (
            "awsAuthRefresh runs".into(),
            counts.auth_refreshes,
            client.auth_refreshes,
        ),
        ("STS checks".into(), counts.sts_checks, client.sts_checks),
        (
            "credential chain loads".into(),
            counts.chain_loads,
            client.chain_loads,
        ),
        (
            "credentials issued".into(),
            counts.credentials_issued,
            Ok(count(run.issued_at.len())),
        ),
    ];
    for (name, wanted) in &counts.operations {
        let got = operation_count(journal, Operation::named(name));
        checks.push((format!("{name} requests"), Some(*wanted), Ok(got)));
    }
    checks
        .into_iter()
        .filter_map(|(name, wanted, got)| {
            let wanted = wanted?;
            match got {
                Ok(got) => (!wanted.admits(got))
                    .then(|| Differs(format!("{name}: expected {wanted}, got {got}"))),
                Err(why) => Some(NotChecked(format!(
                    "{name} = {wanted}: not checked ({why})"
                ))),
            }
        })
        .collect()
}

/// Requests of `operation` in `journal`.
fn operation_count(journal: &[RecordedRequest], operation: Option<Operation>) -> u32 {
    let got = journal
        .iter()
        .filter(|r| r.operation.is_some() && r.operation == operation)
        .count();
    count(got)
}

/// The counts of what a client did with its credentials, or why a run
/// has none: `bedrock-client` counts them itself; of a program, the
/// harness counts the refresh commands it wrote, and its STS checks
/// reach the mock.
struct ClientCounts {
    exports: Result<u32, &'static str>,
    auth_refreshes: Result<u32, &'static str>,
    sts_checks: Result<u32, &'static str>,
    chain_loads: Result<u32, &'static str>,
}

impl ClientCounts {
    fn of(run: &Run) -> Self {
        match &run.client {
            ClientSide::InProcess(session) => {
                let counted = session.outcome.credentials.unwrap_or_default();
                Self {
                    exports: Ok(counted.exports),
                    auth_refreshes: Ok(counted.auth_refreshes),
                    sts_checks: Ok(counted.sts_checks),
                    chain_loads: Ok(counted.chain),
                }
            }
            ClientSide::Process(end) => {
                let not_ours = "a refresh command the harness did not write";
                Self {
                    exports: end.refresh_runs.export.ok_or(not_ours),
                    auth_refreshes: end.refresh_runs.auth.ok_or(not_ours),
                    sts_checks: Ok(operation_count(
                        &run.journal,
                        Some(Operation::GetCallerIdentity),
                    )),
                    chain_loads: Err("bedrock-client's own count"),
                }
            }
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Requests that resend the one before (same operation and model) after
/// it failed or its stream broke. Credential calls in between (the STS
/// check before `awsAuthRefresh`, SSO) are not counted as "before".
pub fn retries(journal: &[RecordedRequest]) -> u32 {
    let calls: Vec<&RecordedRequest> = journal
        .iter()
        .filter(|r| !r.operation.is_some_and(|op| op.serves_credentials()))
        .collect();
    count(
        calls
            .windows(2)
            .filter(|pair| resends(pair[0], pair[1]))
            .count(),
    )
}

/// Whether `after` resends `before`: the same operation and model, sent
/// after `before` failed or its stream broke.
pub fn resends(before: &RecordedRequest, after: &RecordedRequest) -> bool {
    let failed =
        before.status.is_none_or(|s| s >= 400) || before.frames.iter().any(FrameRecord::is_failure);
    failed && before.operation == after.operation && model_of(before) == model_of(after)
}

/// The model a request named: from the path, or Mantle's body.
pub fn model_of(request: &RecordedRequest) -> Option<String> {
    request.model_id.clone().or_else(|| {
        request
            .json()
            .and_then(|b| b.get("model").and_then(|m| m.as_str()).map(str::to_owned))
    })
}

/// The parts of a request a row can hold it to, each saying how the
/// request differs from the row in that part (its first difference).
const PARTS: &[fn(&ExpectedRequest, &RecordedRequest) -> Option<String>] = &[
    request_line_mismatch,
    answer_mismatch,
    auth_mismatch,
    headers_mismatch,
    body_mismatch,
    frames_mismatch,
];

/// Why `request` does not fit `expected`, or `None` when it does.
pub fn mismatch(expected: &ExpectedRequest, request: &RecordedRequest) -> Option<String> {
    PARTS.iter().find_map(|part| part(expected, request))
}

/// Every way `request` differs from `expected`, a part each.
fn mismatches(expected: &ExpectedRequest, request: &RecordedRequest) -> Vec<String> {
    PARTS
        .iter()
        .filter_map(|part| part(expected, request))
        .collect()
}

/// Operation, model, path and query.
fn request_line_mismatch(expected: &ExpectedRequest, request: &RecordedRequest) -> Option<String> {
    if let Some(op) = expected.operation
        && request.operation != Some(op)
    {
        return Some(format!("operation {:?}, not {op:?}", request.operation));
    }
    if let Some(pattern) = &expected.model {
        let model = model_of(request).unwrap_or_default();
        if !glob(pattern, &model) {
            return Some(format!("model `{model}`, not `{pattern}`"));
        }
    }
    if let Some(pattern) = &expected.path
        && !glob(pattern, &request.raw_path)
    {
        return Some(format!("path `{}`, not `{pattern}`", request.raw_path));
    }
    match &expected.query {
        Some(query) if !same_parameters(&request.query, query) => {
            Some(format!("query `{}`, not `{query}`", request.query))
        }
        _ => None,
    }
}

/// Whether two queries hold the same parameters. Their order is the
/// client's SDK's (the AWS JS SDK writes the SSO portal's `account_id`
/// first, the Rust SDK `role_name`), and no service reads meaning into it.
fn same_parameters(sent: &str, expected: &str) -> bool {
    sorted_parameters(sent) == sorted_parameters(expected)
}

fn sorted_parameters(query: &str) -> Vec<&str> {
    let mut parameters: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    parameters.sort_unstable();
    parameters
}

/// The status and the error code.
fn answer_mismatch(expected: &ExpectedRequest, request: &RecordedRequest) -> Option<String> {
    // A request answered with nothing has status 0, as the journal writes it.
    let got = request.status.unwrap_or(0);
    if let Some(status) = expected.status
        && got != status
    {
        return Some(format!("status {got}, not {status}"));
    }
    let code = expected.error.as_ref()?;
    let got = request.error_type.as_deref().unwrap_or("none");
    (got != code).then(|| format!("error `{got}`, not `{code}`"))
}

/// The scheme and, for SigV4, the access key and the scope.
fn auth_mismatch(expected: &ExpectedRequest, request: &RecordedRequest) -> Option<String> {
    let auth = &request.auth;
    if let Some(wanted) = expected.auth
        && auth.scheme != wanted
    {
        return Some(format!(
            "auth {:?}, not `{wanted}`",
            Some(auth.scheme.name())
        ));
    }
    [
        ("access key", &expected.access_key_id, &auth.access_key_id),
        ("region", &expected.region, &auth.region),
        ("service", &expected.service, &auth.service),
    ]
    .into_iter()
    .find_map(|(what, wanted, got)| {
        let wanted = wanted.as_ref()?;
        let fits = got.as_deref().is_some_and(|got| glob(wanted, got));
        (!fits).then(|| format!("{what} {:?}, not `{wanted}`", got.as_ref()))
    })
}

fn headers_mismatch(expected: &ExpectedRequest, request: &RecordedRequest) -> Option<String> {
    for (name, value) in &expected.headers {
        match request.header(name) {
            Some(got) if glob(value, got) => {}
            got => return Some(format!("header {name}: {got:?}, not `{value}`")),
        }
    }
    expected
        .absent_headers
        .iter()
        .find(|name| request.header(name).is_some())
        .map(|name| format!("header {name} is present"))
}

/// Values, absent keys and list members, by JSON pointer.
fn body_mismatch(expected: &ExpectedRequest, request: &RecordedRequest) -> Option<String> {
    if let Some(text) = expected
        .body_lacks
        .iter()
        .find(|text| request.body.contains(text.as_str()))
    {
        return Some(format!("the body contains {text:?}"));
    }
    if expected.body.is_empty()
        && expected.absent_body.is_empty()
        && expected.body_contains.is_empty()
    {
        return None;
    }
    let Some(body) = request.json() else {
        return Some("the body is not JSON".into());
    };
    let shown = |v: Option<&serde_json::Value>| v.map_or("absent".into(), ToString::to_string);
    for (pointer, value) in &expected.body {
        let got = body.pointer(pointer);
        if got != Some(value) {
            return Some(format!("body {pointer}: {}, not {value}", shown(got)));
        }
    }
    if let Some(pointer) = expected
        .absent_body
        .iter()
        .find(|p| body.pointer(p).is_some())
    {
        return Some(format!("body {pointer} is present"));
    }
    expected.body_contains.iter().find_map(|(pointer, value)| {
        let got = body.pointer(pointer);
        let has = got
            .and_then(|v| v.as_array())
            .is_some_and(|items| items.contains(value));
        (!has).then(|| {
            format!(
                "body {pointer}: {}, which does not contain {value}",
                shown(got)
            )
        })
    })
}

fn frames_mismatch(expected: &ExpectedRequest, request: &RecordedRequest) -> Option<String> {
    (!expected.frames.is_empty() && !request.frames.starts_with(&expected.frames))
        .then(|| format!("frames {:?}", shown_frames(&request.frames)))
}

/// Frames as the journal writes them, for messages.
fn shown_frames(frames: &[FrameRecord]) -> Vec<String> {
    frames.iter().map(ToString::to_string).collect()
}

/// Expected rows with `repeat` expanded.
fn expand(rows: &[ExpectedRequest]) -> Vec<&ExpectedRequest> {
    rows.iter()
        .flat_map(|r| std::iter::repeat_n(r, r.repeat.unwrap_or(1) as usize))
        .collect()
}

/// How many requests `rows` stand for.
fn expanded_len(rows: &[ExpectedRequest]) -> u64 {
    rows.iter().map(|r| u64::from(r.repeat.unwrap_or(1))).sum()
}

fn compare_requests(
    rows: &[ExpectedRequest],
    order: Order,
    journal: &[RecordedRequest],
    at_once: Duration,
) -> Vec<String> {
    // A list longer than the journal cannot match in full; the
    // subsequence order cannot match either. Checked before expanding, so
    // an absurd `repeat` costs nothing.
    if expanded_len(rows) > journal.len() as u64 {
        return vec![format!(
            "requests: expected {} or more, got {}:\n{}",
            expanded_len(rows),
            journal.len(),
            journal
                .iter()
                .enumerate()
                .map(|(n, r)| format!("  #{:<2} got {}", n + 1, describe(r)))
                .collect::<Vec<_>>()
                .join("\n")
        )];
    }
    let expected = expand(rows);
    let ok = match order {
        Order::Exact => exact(&expected, journal, at_once),
        Order::Set => expected.len() == journal.len() && matches_as_set(&expected, journal),
        Order::Subsequence => subsequence(&expected, journal),
    };
    if ok {
        return Vec::new();
    }
    let heading = match order {
        Order::Exact => "exact order",
        Order::Set => "any order",
        Order::Subsequence => "in order, among others",
    };
    let shown = match order {
        // Row beside request: each pair says how they differ.
        Order::Exact => listing(&expected, journal),
        // Rows do not pair with requests by position: say which row
        // found no request, the request that came closest and how it
        // differs, then what was received.
        Order::Set => format!("{}\n{}", explain_set(&expected, journal), received(journal)),
        Order::Subsequence => format!(
            "{}\n{}",
            explain_subsequence(&expected, journal),
            received(journal)
        ),
    };
    vec![format!("requests ({heading}) differ:\n{shown}")]
}

/// Why `expected` is not found in order in `journal`: the first row that
/// no request after the earlier rows' matches fits, and the request that
/// came closest.
fn explain_subsequence(expected: &[&ExpectedRequest], journal: &[RecordedRequest]) -> String {
    let mut next = 0;
    let mut matched: Option<(usize, usize)> = None;
    for (row, wanted) in expected.iter().enumerate() {
        match journal[next..]
            .iter()
            .position(|r| mismatch(wanted, r).is_none())
        {
            Some(at) => {
                matched = Some((row, next + at));
                next += at + 1;
            }
            None => {
                let after = match matched {
                    Some((row, request)) => format!(
                        "after request #{} (which row {} matched)",
                        request + 1,
                        row + 1
                    ),
                    None => "among the requests".to_owned(),
                };
                return format!(
                    "  row {} ({}) has no match {after}\n{}",
                    row + 1,
                    describe_expected(wanted),
                    closest(wanted, journal, next..journal.len())
                );
            }
        }
    }
    String::new()
}

/// Why `expected` and `journal` cannot be paired one to one: their
/// counts, and each row left without a request, with the unpaired
/// request that came closest.
fn explain_set(expected: &[&ExpectedRequest], journal: &[RecordedRequest]) -> String {
    let paired = pairing(expected, journal);
    let mut lines = Vec::new();
    if expected.len() != journal.len() {
        lines.push(format!(
            "  {} rows for {} requests",
            expected.len(),
            journal.len()
        ));
    }
    let taken: Vec<usize> = paired.iter().flatten().copied().collect();
    let free: Vec<usize> = (0..journal.len()).filter(|n| !taken.contains(n)).collect();
    for (row, wanted) in expected.iter().enumerate() {
        if paired[row].is_none() {
            lines.push(format!(
                "  row {} ({}) has no request of its own\n{}",
                row + 1,
                describe_expected(wanted),
                closest(wanted, journal, free.iter().copied())
            ));
        }
    }
    for n in free.iter().filter(|_| expected.len() < journal.len()) {
        lines.push(format!(
            "  request #{} ({}) fits no row left",
            n + 1,
            describe(&journal[*n])
        ));
    }
    lines.join("\n")
}

/// The request among `candidates` (all of `journal` when there are none)
/// that differs from `wanted` in the fewest parts, and each way it
/// differs.
fn closest(
    wanted: &ExpectedRequest,
    journal: &[RecordedRequest],
    candidates: impl IntoIterator<Item = usize>,
) -> String {
    let mut candidates: Vec<usize> = candidates.into_iter().collect();
    if candidates.is_empty() {
        candidates = (0..journal.len()).collect();
    }
    let best = candidates
        .into_iter()
        .map(|n| (mismatches(wanted, &journal[n]), n))
        .min_by_key(|(differences, n)| (differences.len(), *n));
    match best {
        Some((differences, n)) => format!(
            "    closest: request #{} {}, which differs in {}",
            n + 1,
            describe(&journal[n]),
            differences.join("; ")
        ),
        None => "    no request was received".to_owned(),
    }
}

/// The received requests, one line each.
fn received(journal: &[RecordedRequest]) -> String {
    let lines: Vec<String> = journal
        .iter()
        .enumerate()
        .map(|(n, r)| format!("  #{:<2} got {} @{}", n + 1, describe(r), clock_time(r)))
        .collect();
    format!("  received:\n{}", lines.join("\n"))
}

/// The index ranges of the runs of consecutive requests of one operation
/// sent at once: arrived at most `at_once` after the run's first (on the
/// session's clock, zero: at one moment). The startup probes, sent at
/// once, arrive in any order within theirs. A retry comes after a backoff,
/// which moves the clock, so retries keep their order.
pub fn concurrent_runs<R: std::borrow::Borrow<RecordedRequest>>(
    journal: &[R],
    at_once: Duration,
) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < journal.len() {
        let first: &RecordedRequest = journal[start].borrow();
        let with_first = |r: &R| {
            let r: &RecordedRequest = r.borrow();
            let apart = r
                .time
                .0
                .duration_since(first.time.0)
                .unwrap_or(Duration::MAX);
            r.operation == first.operation && apart <= at_once
        };
        let end = journal[start..]
            .iter()
            .position(|r| !with_first(r))
            .map_or(journal.len(), |n| start + n);
        runs.push(start..end);
        start = end;
    }
    runs
}

/// In order, except that requests sent at once (see [`concurrent_runs`])
/// may match their rows in any order.
fn exact(expected: &[&ExpectedRequest], journal: &[RecordedRequest], at_once: Duration) -> bool {
    if expected.len() != journal.len() {
        return false;
    }
    concurrent_runs(journal, at_once)
        .into_iter()
        .all(|run| matches_as_set(&expected[run.clone()], &journal[run]))
}

/// Whether each request can be paired with its own expected row.
fn matches_as_set(expected: &[&ExpectedRequest], journal: &[RecordedRequest]) -> bool {
    expected.len() == journal.len() && pairing(expected, journal).iter().all(Option::is_some)
}

/// The request paired with each row in a largest pairing of rows with
/// requests that fit them: a maximum bipartite matching, found with
/// augmenting paths (Kuhn's algorithm), so the time is polynomial however
/// many rows fit many requests.
fn pairing(expected: &[&ExpectedRequest], journal: &[RecordedRequest]) -> Vec<Option<usize>> {
    let fits: Vec<Vec<bool>> = expected
        .iter()
        .map(|row| journal.iter().map(|r| mismatch(row, r).is_none()).collect())
        .collect();
    // paired_with[request] = the row it is paired with.
    let mut paired_with: Vec<Option<usize>> = vec![None; journal.len()];
    fn augment(
        row: usize,
        fits: &[Vec<bool>],
        seen: &mut [bool],
        paired_with: &mut [Option<usize>],
    ) -> bool {
        for request in 0..paired_with.len() {
            if fits[row][request] && !seen[request] {
                seen[request] = true;
                let free = match paired_with[request] {
                    None => true,
                    Some(other) => augment(other, fits, seen, paired_with),
                };
                if free {
                    paired_with[request] = Some(row);
                    return true;
                }
            }
        }
        false
    }
    for row in 0..expected.len() {
        let mut seen = vec![false; journal.len()];
        augment(row, &fits, &mut seen, &mut paired_with);
    }
    let mut of_row = vec![None; expected.len()];
    for (request, row) in paired_with.iter().enumerate() {
        if let Some(row) = row {
            of_row[*row] = Some(request);
        }
    }
    of_row
}

fn subsequence(expected: &[&ExpectedRequest], journal: &[RecordedRequest]) -> bool {
    let mut requests = journal.iter();
    expected
        .iter()
        .all(|wanted| requests.any(|r| mismatch(wanted, r).is_none()))
}

/// Expected rows and received requests side by side, each received one
/// with why it does not fit the row beside it.
fn listing(expected: &[&ExpectedRequest], journal: &[RecordedRequest]) -> String {
    let mut lines = Vec::new();
    for i in 0..expected.len().max(journal.len()) {
        let want = expected
            .get(i)
            .map_or("(nothing)".into(), |e| describe_expected(e));
        // With the moment it arrived: requests of one operation at one
        // moment may match in any order.
        let got = journal.get(i).map_or("(nothing)".into(), |r| {
            format!("{} @{}", describe(r), clock_time(r))
        });
        let why = match (expected.get(i), journal.get(i)) {
            (Some(e), Some(r)) => mismatch(e, r).map_or(String::new(), |w| format!("  <- {w}")),
            _ => "  <- missing or extra".into(),
        };
        lines.push(format!(
            "  #{:<2} expected {want}\n       got      {got}{why}",
            i + 1
        ));
    }
    lines.join("\n")
}

/// The time of day `r` arrived at, by the session's clock: `12:00:08`.
fn clock_time(r: &RecordedRequest) -> String {
    let iso = serde_json::to_value(r.time)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    iso.split_once('T').map_or(iso.clone(), |(_, time)| {
        time.trim_end_matches('Z').to_owned()
    })
}

fn describe_expected(e: &ExpectedRequest) -> String {
    let mut parts = vec![e.operation.map_or("any".into(), |o| format!("{o:?}"))];
    parts.extend(e.model.clone());
    parts.extend(e.status.map(|s| s.to_string()));
    parts.extend(e.error.clone());
    parts.join(" ")
}

/// One line for a received request.
pub fn describe(r: &RecordedRequest) -> String {
    let mut parts = vec![r.operation.map_or_else(
        || format!("{} {}", r.method, r.raw_path),
        |o| format!("{o:?}"),
    )];
    parts.extend(model_of(r));
    parts.push(r.status.unwrap_or(0).to_string());
    parts.extend(r.error_type.clone());
    parts.join(" ")
}

fn indent(text: &str) -> String {
    if text.is_empty() {
        return "    (empty)".into();
    }
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use bedrock_mock_server::{AuthRecord, Operation, Timestamp};

    use super::*;
    use crate::scenario::observed::{RefreshRuns, Session};

    /// A run with nothing in it, by `bedrock-client` in-process, whose
    /// clock moved `moved`.
    fn in_process_run(moved: Duration) -> Run {
        Run {
            stdout: String::new(),
            stderr: String::new(),
            journal: Vec::new(),
            issued_at: Vec::new(),
            files: Default::default(),
            unmet_rules: None,
            secrets: Vec::new(),
            mock_uri: String::new(),
            client: ClientSide::InProcess(Session {
                outcome: Default::default(),
                trace: String::new(),
                virtual_time: moved,
            }),
            clients: Vec::new(),
        }
    }

    /// A run with nothing in it, by a program that ended `ended`.
    fn process_run(ended: Ended, refresh_runs: RefreshRuns) -> Run {
        Run {
            client: ClientSide::Process(ProcessEnd {
                ended,
                refresh_runs,
            }),
            ..in_process_run(Duration::ZERO)
        }
    }

    #[test]
    fn a_program_on_the_real_clock_is_not_held_to_what_it_cannot_show() {
        let mut probe = ExpectedRequest {
            headers: [
                ("X-Amz-Date".to_owned(), "20261125T120000Z".to_owned()),
                ("x-amz-security-token".to_owned(), "*".to_owned()),
            ]
            .into(),
            ..ExpectedRequest::default()
        };
        probe.operation = Some(Operation::GetCallerIdentity);
        let mut expect = Expect {
            exit: Some(1),
            error: Some("credentials".into()),
            virtual_seconds: Some(3.5),
            requests: vec![probe],
            stderr: vec!["bedrock-client: no AWS credentials: ".into()],
            stdout_exact: Some(String::new()),
            ..Expect::default()
        };
        expect.counts.chain_loads = Some(Times::exactly(13));
        expect.counts.auth_refreshes = Some(Times::exactly(0));
        expect.counts.exports = Some(Times::exactly(2));
        expect.counts.sts_checks = Some(Times::exactly(1));
        let mut run = process_run(
            Ended::Exited(1),
            RefreshRuns {
                auth: Some(0),
                export: None,
            },
        );
        let mut sts = request(Operation::GetCallerIdentity, "", 200);
        sts.headers
            .push(("x-amz-security-token".into(), "<redacted>".into()));
        run.journal.push(sts);
        let found = compare(&expect, &run, "");
        assert_eq!(found.differences, Vec::<String>::new());
        assert_eq!(
            found.not_checked,
            [
                "requests[0].headers.X-Amz-Date = \"20261125T120000Z\": not checked (real clock)",
                "stderr containing \"bedrock-client: no AWS credentials: \": not checked (bedrock-client's own words)",
                "error = \"credentials\": not checked (bedrock-client's own failure kind)",
                "awsCredentialExport runs = 2: not checked (a refresh command the harness did not write)",
                "credential chain loads = 13: not checked (bedrock-client's own count)",
                "virtual_seconds = 3.5: not checked (real clock)",
            ]
        );
        // What a program shows is checked: its exit, the refreshes the
        // harness counted, its STS checks at the mock.
        expect.counts.auth_refreshes = Some(Times::exactly(1));
        expect.counts.sts_checks = Some(Times::exactly(2));
        let found = compare(
            &expect,
            &process_run(Ended::Exited(0), RefreshRuns::default()),
            "",
        );
        assert_eq!(
            found.differences,
            [
                "exit status: expected 1, got 0",
                "requests: expected 1 or more, got 0:\n",
                "STS checks: expected 2, got 0",
            ],
        );
        let stopped = compare(
            &expect,
            &process_run(
                Ended::TimedOut(Duration::from_secs(180)),
                RefreshRuns::default(),
            ),
            "",
        );
        assert!(
            stopped.differences[0]
                .starts_with("the client did not finish within the time limit (180 s)"),
            "{stopped:?}"
        );
        let killed = compare(
            &expect,
            &process_run(Ended::Signalled(9), RefreshRuns::default()),
            "",
        );
        assert_eq!(
            killed.differences[0],
            "exit status: expected 1, but signal 9 stopped the client"
        );
    }

    #[test]
    fn on_the_real_clock_requests_close_together_were_sent_at_once() {
        use Operation::*;
        let at = |ms: u64, mut r: RecordedRequest| {
            r.time = Timestamp(SystemTime::UNIX_EPOCH + Duration::from_millis(ms));
            r
        };
        let journal = [
            at(0, request(InvokeModel, "b", 200)),
            at(40, request(InvokeModel, "a", 200)),
            at(100, request(InvokeModelWithResponseStream, "a", 429)),
            at(700, request(InvokeModelWithResponseStream, "a", 200)),
        ];
        let status = |code| ExpectedRequest {
            status: Some(code),
            ..row(InvokeModelWithResponseStream, "a")
        };
        let rows = [
            row(InvokeModel, "a"),
            row(InvokeModel, "b"),
            status(429),
            status(200),
        ];
        let real = crate::scenario::observed::AT_ONCE_ON_THE_REAL_CLOCK;
        assert!(compare_requests(&rows, Order::Exact, &journal, real).is_empty());
        assert!(!compare_requests(&rows, Order::Exact, &journal, Duration::ZERO).is_empty());
        let swapped = [rows[0].clone(), rows[1].clone(), status(200), status(429)];
        assert!(!compare_requests(&swapped, Order::Exact, &journal, real).is_empty());
    }

    fn request(operation: Operation, model: &str, status: u16) -> RecordedRequest {
        let mut request = RecordedRequest::new("POST", format!("/model/{model}/invoke"));
        request.headers = vec![("anthropic-version".into(), "2023-06-01".into())];
        request.body = r#"{"anthropic_beta":["a","context-1m-2025-08-07"],"max_tokens":1}"#.into();
        request.operation = Some(operation);
        request.model_id = Some(model.into());
        request.auth = AuthRecord::new(bedrock_mock_server::AuthScheme::SigV4);
        request.auth.access_key_id = Some("AKIDEXAMPLE".into());
        request.auth.region = Some("us-east-1".into());
        request.auth.service = Some("bedrock".into());
        request.auth.accepted = true;
        request.status = Some(status);
        request.error_type = (status >= 400).then(|| "ThrottlingException".into());
        request
    }

    fn row(operation: Operation, model: &str) -> ExpectedRequest {
        ExpectedRequest {
            operation: Some(operation),
            model: Some(model.into()),
            ..ExpectedRequest::default()
        }
    }

    #[test]
    fn exact_order_lets_a_run_of_one_operation_arrive_in_any_order() {
        use Operation::*;
        let journal = [
            request(ListInferenceProfiles, "", 200),
            request(InvokeModel, "b", 200),
            request(InvokeModel, "a", 200),
            request(InvokeModelWithResponseStream, "a", 200),
        ];
        let rows = [
            row(ListInferenceProfiles, "*"),
            row(InvokeModel, "a"),
            row(InvokeModel, "b"),
            row(InvokeModelWithResponseStream, "a"),
        ];
        assert!(compare_requests(&rows, Order::Exact, &journal, Duration::ZERO).is_empty());
        // Across operations the order holds.
        let swapped = [
            rows[3].clone(),
            rows[1].clone(),
            rows[2].clone(),
            rows[0].clone(),
        ];
        let diff = compare_requests(&swapped, Order::Exact, &journal, Duration::ZERO);
        assert!(
            diff[0].contains("requests (exact order) differ"),
            "{diff:?}"
        );
        assert!(compare_requests(&swapped, Order::Set, &journal, Duration::ZERO).is_empty());
        assert!(
            compare_requests(&rows[2..], Order::Subsequence, &journal, Duration::ZERO).is_empty()
        );
        assert!(
            !compare_requests(&swapped[..2], Order::Subsequence, &journal, Duration::ZERO)
                .is_empty()
        );
    }

    #[test]
    fn a_missing_row_is_named_with_the_request_that_came_closest_and_how_it_differs() {
        use Operation::*;
        let journal = [
            request(ListInferenceProfiles, "", 200),
            request(InvokeModelWithResponseStream, "a", 429),
            request(InvokeModelWithResponseStream, "b", 429),
            request(InvokeModel, "c", 200),
        ];
        let mut wanted = ExpectedRequest {
            status: Some(200),
            ..row(InvokeModelWithResponseStream, "a")
        };
        wanted.region = Some("eu-west-1".into());
        let rows = [row(ListInferenceProfiles, "*"), wanted];
        let diff = compare_requests(&rows, Order::Subsequence, &journal, Duration::ZERO);
        assert_eq!(
            diff[0].lines().take(3).collect::<Vec<_>>(),
            [
                "requests (in order, among others) differ:",
                "  row 2 (InvokeModelWithResponseStream a 200) has no match after request #1 (which row 1 matched)",
                "    closest: request #2 InvokeModelWithResponseStream a 429 ThrottlingException, which differs in status 429, not 200; region Some(\"us-east-1\"), not `eu-west-1`",
            ],
            "{diff:?}"
        );
        assert!(
            diff[0].contains("  received:\n  #1  got ListInferenceProfiles"),
            "{diff:?}"
        );
        // In any order: the row left without a request of its own, the
        // closest of those left, and the request no row took.
        let rows = [
            row(ListInferenceProfiles, "*"),
            row(InvokeModelWithResponseStream, "*"),
            row(InvokeModelWithResponseStream, "*"),
            ExpectedRequest {
                status: Some(500),
                ..row(InvokeModel, "c")
            },
        ];
        let diff = compare_requests(&rows, Order::Set, &journal, Duration::ZERO);
        assert!(
            diff[0].contains(
                "  row 4 (InvokeModel c 500) has no request of its own\n    closest: request #4 InvokeModel c 200, which differs in status 200, not 500"
            ),
            "{diff:?}"
        );
        let diff = compare_requests(&rows[..3], Order::Set, &journal, Duration::ZERO);
        assert!(
            diff[0].contains(
                "  3 rows for 4 requests\n  request #4 (InvokeModel c 200) fits no row left"
            ),
            "{diff:?}"
        );
    }

    #[test]
    fn retries_keep_their_order_and_absurd_repeats_cost_nothing() {
        // Two attempts of one call, a backoff apart: 429 then 200.
        let mut later = request(Operation::InvokeModel, "a", 200);
        later.time = Timestamp(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(500));
        let journal = [request(Operation::InvokeModel, "a", 429), later];
        let status = |code| ExpectedRequest {
            status: Some(code),
            ..row(Operation::InvokeModel, "a")
        };
        assert!(
            compare_requests(
                &[status(429), status(200)],
                Order::Exact,
                &journal,
                Duration::ZERO
            )
            .is_empty()
        );
        assert!(
            !compare_requests(
                &[status(200), status(429)],
                Order::Exact,
                &journal,
                Duration::ZERO
            )
            .is_empty()
        );
        let mut huge = status(429);
        huge.repeat = Some(u32::MAX);
        let diff = compare_requests(&[huge], Order::Exact, &journal, Duration::ZERO);
        assert!(
            diff[0].starts_with("requests: expected 4294967295 or more, got 2"),
            "{diff:?}"
        );
    }

    #[test]
    fn set_matching_of_many_interchangeable_rows_is_quick() {
        // Ten rows that fit ten of eleven requests and one that fits only
        // the last: trying every pairing would take minutes.
        let mut journal: Vec<_> = (0..11)
            .map(|_| request(Operation::InvokeModel, "a", 429))
            .collect();
        journal[10].status = Some(200);
        let mut rows: Vec<ExpectedRequest> = (0..10)
            .map(|_| ExpectedRequest {
                status: Some(429),
                ..row(Operation::InvokeModel, "a")
            })
            .collect();
        rows.push(ExpectedRequest {
            status: Some(500),
            ..row(Operation::InvokeModel, "a")
        });
        assert!(!compare_requests(&rows, Order::Set, &journal, Duration::ZERO).is_empty());
        rows[10].status = Some(200);
        assert!(compare_requests(&rows, Order::Set, &journal, Duration::ZERO).is_empty());
    }

    #[test]
    fn set_matching_backtracks_to_a_pairing_that_exists() {
        // The first row fits both requests; greedy pairing would take the
        // one the second row needs.
        let journal = [
            request(Operation::InvokeModel, "a", 200),
            request(Operation::InvokeModel, "b", 200),
        ];
        let rows = [
            row(Operation::InvokeModel, "*"),
            row(Operation::InvokeModel, "a"),
        ];
        assert!(compare_requests(&rows, Order::Set, &journal, Duration::ZERO).is_empty());
    }

    #[test]
    fn fields_headers_and_bodies_are_checked() {
        let mut r = request(Operation::InvokeModel, "us.anthropic.claude-opus-5-5", 200);
        let mut e = row(Operation::InvokeModel, "us.anthropic.claude-*");
        assert_eq!(mismatch(&e, &r), None);
        e.headers.insert("Anthropic-Version".into(), "*".into());
        e.body_contains
            .insert("/anthropic_beta".into(), "context-1m-2025-08-07".into());
        e.body.insert("/max_tokens".into(), 1.into());
        assert_eq!(mismatch(&e, &r), None);
        e.absent_headers.push("x-api-key".into());
        e.absent_body.push("/stream".into());
        assert_eq!(mismatch(&e, &r), None);
        e.body_contains.insert("/anthropic_beta".into(), "b".into());
        assert!(mismatch(&e, &r).unwrap().contains("does not contain \"b\""));
        let mut e = row(Operation::InvokeModel, "*");
        e.region = Some("eu-west-1".into());
        assert!(mismatch(&e, &r).unwrap().starts_with("region"));
        e.region = None;
        e.query = Some("beta=true".into());
        assert!(mismatch(&e, &r).unwrap().starts_with("query"));
        r.query = "account_id=1&role_name=Dev".into();
        e.query = Some("role_name=Dev&account_id=1".into());
        assert_eq!(mismatch(&e, &r), None, "parameters in another order");
        e.query = Some("role_name=Dev".into());
        assert!(mismatch(&e, &r).unwrap().starts_with("query"));
    }

    #[test]
    fn keys_and_regions_match_globs_and_bodies_lack_texts() {
        let r = request(Operation::InvokeModel, "us.anthropic.claude-opus-5-5", 200);
        let mut e = row(Operation::InvokeModel, "*");
        e.access_key_id = Some("AKID*".into());
        e.region = Some("us-*".into());
        e.service = Some("bedrock".into());
        assert_eq!(mismatch(&e, &r), None);
        e.region = Some("eu-*".into());
        assert_eq!(
            mismatch(&e, &r).as_deref(),
            Some("region Some(\"us-east-1\"), not `eu-*`")
        );
        e.region = None;
        e.access_key_id = Some("ASIA*".into());
        assert!(mismatch(&e, &r).unwrap().starts_with("access key"));
        e.access_key_id = None;
        e.body_lacks = vec!["context-2m".into(), "\"max_tokens\":2".into()];
        assert_eq!(mismatch(&e, &r), None);
        e.body_lacks.push("context-1m".into());
        assert_eq!(
            mismatch(&e, &r).as_deref(),
            Some("the body contains \"context-1m\"")
        );
    }

    #[test]
    fn counts_are_held_to_a_number_or_a_range() {
        let mut run = in_process_run(Duration::ZERO);
        for _ in 0..3 {
            run.journal.push(request(Operation::InvokeModel, "m", 200));
        }
        let read =
            |text: &str| -> Expect { toml::from_str(&format!("[counts]\n{text}\n")).unwrap() };
        for (text, differences) in [
            ("requests = 3", vec![]),
            ("requests = { at_least = 2, at_most = 4 }", vec![]),
            ("requests = { at_least = 3 }", vec![]),
            ("requests = { at_most = 3 }", vec![]),
            ("requests = 2", vec!["requests: expected 2, got 3"]),
            (
                "requests = { at_least = 4 }",
                vec!["requests: expected at least 4, got 3"],
            ),
            (
                "requests = { at_most = 2 }",
                vec!["requests: expected at most 2, got 3"],
            ),
            (
                "operations = { InvokeModel = { at_least = 1, at_most = 2 } }",
                vec!["InvokeModel requests: expected between 1 and 2, got 3"],
            ),
        ] {
            assert_eq!(
                compare(&read(text), &run, "").differences,
                differences,
                "{text}"
            );
        }
        for (text, error) in [
            ("requests = {}", "needs `at_least`, `at_most` or both"),
            (
                "requests = { at_least = 5, at_most = 4 }",
                "at_least = 5 is above at_most = 4",
            ),
            ("requests = { at_lest = 5 }", "unknown field `at_lest`"),
            ("requests = -1", "-1 is below 0; a count is 0 or more"),
            ("requests = \"3\"", "a count (`2`) or a range"),
        ] {
            let refused = toml::from_str::<Expect>(&format!("[counts]\n{text}\n")).unwrap_err();
            assert!(refused.to_string().contains(error), "{text}: {refused}");
        }
        // Written back as read.
        let counts = read("requests = 3\nretries = { at_most = 1 }").counts;
        let text = toml::to_string(&counts).unwrap();
        assert!(text.contains("requests = 3"), "{text}");
        assert!(text.contains("at_most = 1"), "{text}");
    }

    #[test]
    fn retries_count_resends_after_failures_across_credential_checks() {
        use Operation::*;
        let journal = [
            request(InvokeModelWithResponseStream, "a", 429),
            request(GetCallerIdentity, "", 200),
            request(InvokeModelWithResponseStream, "a", 429),
            request(InvokeModelWithResponseStream, "a", 200),
            // A new call after a success is not a retry.
            request(InvokeModelWithResponseStream, "a", 200),
            request(InvokeModel, "b", 500),
            request(InvokeModel, "c", 200),
        ];
        assert_eq!(retries(&journal), 2);
    }

    #[test]
    fn secrets_are_found_and_hidden_in_their_disguises() {
        let secrets = vec!["wJalr/K7MDENG+bPxRfi".to_owned()];
        assert_eq!(
            redact(
                "q=wJalr%2FK7MDENG%2BbPxRfi and wJalr/K7MDENG+bPxRfi",
                &secrets
            ),
            "q=<secret #1> and <secret #1>"
        );
    }

    #[test]
    fn files_and_the_clock_are_checked() {
        let run = Run {
            files: [
                (
                    ".claude/settings.json".to_owned(),
                    Some("{\"pin\": \"new\"}".to_owned()),
                ),
                ("missing".to_owned(), None),
            ]
            .into(),
            ..in_process_run(Duration::from_millis(159_500))
        };
        let mut expect = Expect {
            virtual_seconds: Some(159.5),
            ..Expect::default()
        };
        expect
            .files
            .insert(".claude/settings.json".into(), vec!["new".into()]);
        expect
            .files_lack
            .insert(".claude/settings.json".into(), vec!["old".into()]);
        expect.files_lack.insert("missing".into(), vec!["x".into()]);
        assert_eq!(compare(&expect, &run, ""), Comparison::default());
        expect.virtual_seconds = Some(30.0);
        expect
            .files_lack
            .insert(".claude/settings.json".into(), vec!["new".into()]);
        expect.files.insert("missing".into(), Vec::new());
        let found = compare(&expect, &run, "").differences;
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("~/missing was not written"), "{found:?}");
        assert!(
            found[1].contains("contains \"new\", which it must not"),
            "{found:?}"
        );
        assert!(
            found[2].contains("moved 159.500 s, not 30.000 s"),
            "{found:?}"
        );
    }

    #[test]
    fn signatures_are_found_and_redacted_ones_are_not() {
        let sig = "a".repeat(64);
        assert!(has_signature(&format!("Credential=x, Signature={sig}")));
        assert!(!has_signature("Signature=<redacted>"));
        assert!(!has_signature(&format!("Signature={}", &sig[..40])));
    }
}
