//! Comparing a run with the scenario's `[expect]`: each difference is one
//! readable line, and the request list gets a side-by-side listing.

use bedrock_mock_server::{RecordedRequest, glob};

use super::format::{Expect, ExpectedRequest, Order};
use super::load::operation_named;
use super::run::Run;

/// Every way `run` differs from `expect`; empty when it passes.
pub fn differences(expect: &Expect, run: &Run, snapshot: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(exit) = expect.exit
        && exit != run.outcome.exit
    {
        out.push(format!(
            "exit status: expected {exit}, got {}",
            run.outcome.exit
        ));
    }
    if let Some(kind) = &expect.error {
        let got = run.outcome.error.unwrap_or("none");
        if kind != got {
            out.push(format!("failure kind: expected `{kind}`, got `{got}`"));
        }
    }
    for (stream, text, wanted, unwanted) in [
        ("stdout", &run.stdout, &expect.stdout, &expect.stdout_lacks),
        ("stderr", &run.stderr, &expect.stderr, &expect.stderr_lacks),
    ] {
        for fragment in wanted {
            if !text.contains(fragment.as_str()) {
                out.push(format!(
                    "{stream} lacks {fragment:?}; it was:\n{}",
                    indent(text)
                ));
            }
        }
        for fragment in unwanted {
            if text.contains(fragment.as_str()) {
                out.push(format!("{stream} contains {fragment:?}, which it must not"));
            }
        }
    }
    if !expect.requests.is_empty() {
        out.extend(compare_requests(
            &expect.requests,
            expect.order,
            &run.journal,
        ));
    }
    out.extend(compare_counts(expect, run));
    for (path, fragments) in &expect.files {
        match run.files.get(path).and_then(Option::as_ref) {
            None => out.push(format!("file ~/{path} was not written")),
            Some(text) => {
                for fragment in fragments {
                    if !text.contains(fragment.as_str()) {
                        out.push(format!(
                            "file ~/{path} lacks {fragment:?}; it was:\n{}",
                            indent(text)
                        ));
                    }
                }
            }
        }
    }
    if let Some(unmet) = &run.unmet_rules {
        out.push(format!("server rules: {unmet}"));
    }
    if expect.no_secrets {
        out.extend(leaks(run, snapshot));
    }
    out
}

/// Secrets found in any output, named by where (never printed).
pub fn leaks(run: &Run, snapshot: &str) -> Vec<String> {
    let journal = serde_json::to_string(&run.journal).unwrap_or_default();
    let outputs = [
        ("stdout", run.stdout.as_str()),
        ("stderr", run.stderr.as_str()),
        ("the journal", journal.as_str()),
        ("the snapshot", snapshot),
    ];
    let mut out = Vec::new();
    for (place, text) in outputs {
        for (n, secret) in run.secrets.iter().enumerate() {
            if text.contains(secret.as_str()) {
                out.push(format!(
                    "secret #{} of the scenario ({}…) appears in {place}",
                    n + 1,
                    secret.chars().take(4).collect::<String>()
                ));
            }
        }
        if has_signature(text) {
            out.push(format!("a SigV4 signature appears in {place}"));
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

fn compare_counts(expect: &Expect, run: &Run) -> Vec<String> {
    let counts = &expect.counts;
    let credentials = run.outcome.credentials.unwrap_or_default();
    let journal = &run.journal;
    let mut checks: Vec<(String, Option<u32>, u32)> = vec![
        ("requests".into(), counts.requests, count(journal.len())),
        ("retries".into(), counts.retries, retries(journal)),
        (
            "awsCredentialExport runs".into(),
            counts.exports,
            credentials.exports,
        ),
        (
            "awsAuthRefresh runs".into(),
            counts.auth_refreshes,
            credentials.auth_refreshes,
        ),
        (
            "STS checks".into(),
            counts.sts_checks,
            credentials.sts_checks,
        ),
        (
            "credential chain loads".into(),
            counts.chain_loads,
            credentials.chain,
        ),
        (
            "credentials issued".into(),
            counts.credentials_issued,
            run.issued,
        ),
    ];
    for (name, wanted) in &counts.operations {
        let operation = operation_named(name);
        let got = journal
            .iter()
            .filter(|r| r.operation.is_some() && r.operation == operation)
            .count();
        checks.push((format!("{name} requests"), Some(*wanted), count(got)));
    }
    checks
        .into_iter()
        .filter_map(|(name, wanted, got)| {
            let wanted = wanted?;
            (wanted != got).then(|| format!("{name}: expected {wanted}, got {got}"))
        })
        .collect()
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
            .filter(|pair| {
                let (before, after) = (pair[0], pair[1]);
                let failed = before.status >= 400
                    || before.frames.iter().any(|f| f.starts_with("exception:"));
                failed && before.operation == after.operation && model_of(before) == model_of(after)
            })
            .count(),
    )
}

/// The model a request named: from the path, or Mantle's body.
pub fn model_of(request: &RecordedRequest) -> Option<String> {
    request.model_id.clone().or_else(|| {
        request
            .json()
            .and_then(|b| b.get("model").and_then(|m| m.as_str()).map(str::to_owned))
    })
}

/// Why `request` does not fit `expected`, or `None` when it does.
pub fn mismatch(expected: &ExpectedRequest, request: &RecordedRequest) -> Option<String> {
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
    if let Some(query) = &expected.query
        && &request.query != query
    {
        return Some(format!("query `{}`, not `{query}`", request.query));
    }
    if let Some(status) = expected.status
        && request.status != status
    {
        return Some(format!("status {}, not {status}", request.status));
    }
    if let Some(code) = &expected.error {
        let got = request.error_type.as_deref().unwrap_or("none");
        if got != code {
            return Some(format!("error `{got}`, not `{code}`"));
        }
    }
    let auth = &request.auth;
    for (what, wanted, got) in [
        ("auth", &expected.auth, Some(&auth.scheme)),
        (
            "access key",
            &expected.access_key_id,
            auth.access_key_id.as_ref(),
        ),
        ("region", &expected.region, auth.region.as_ref()),
        ("service", &expected.service, auth.service.as_ref()),
    ] {
        if let Some(wanted) = wanted
            && got != Some(wanted)
        {
            return Some(format!("{what} {got:?}, not `{wanted}`"));
        }
    }
    for (name, value) in &expected.headers {
        match request.header(name) {
            Some(got) if got == value => {}
            got => return Some(format!("header {name}: {got:?}, not `{value}`")),
        }
    }
    for name in &expected.absent_headers {
        if request.header(name).is_some() {
            return Some(format!("header {name} is present"));
        }
    }
    if !expected.body.is_empty() || !expected.absent_body.is_empty() {
        let Some(body) = request.json() else {
            return Some("the body is not JSON".into());
        };
        for (pointer, value) in &expected.body {
            match body.pointer(pointer) {
                Some(got) if got == value => {}
                got => {
                    return Some(format!(
                        "body {pointer}: {}, not {value}",
                        got.map_or("absent".into(), ToString::to_string)
                    ));
                }
            }
        }
        for pointer in &expected.absent_body {
            if body.pointer(pointer).is_some() {
                return Some(format!("body {pointer} is present"));
            }
        }
    }
    if !expected.frames.is_empty() && !request.frames.starts_with(&expected.frames) {
        return Some(format!("frames {:?}", request.frames));
    }
    None
}

/// Expected rows with `repeat` expanded.
fn expand(rows: &[ExpectedRequest]) -> Vec<&ExpectedRequest> {
    rows.iter()
        .flat_map(|r| std::iter::repeat_n(r, r.repeat.unwrap_or(1) as usize))
        .collect()
}

fn compare_requests(
    rows: &[ExpectedRequest],
    order: Order,
    journal: &[RecordedRequest],
) -> Vec<String> {
    let expected = expand(rows);
    let ok = match order {
        Order::Exact => exact(&expected, journal),
        Order::Set => expected.len() == journal.len() && matches_as_set(&expected, journal),
        Order::Subsequence => subsequence(&expected, journal),
    };
    if ok {
        return Vec::new();
    }
    vec![format!(
        "requests ({}) differ:\n{}",
        match order {
            Order::Exact => "exact order",
            Order::Set => "any order",
            Order::Subsequence => "in order, among others",
        },
        listing(&expected, journal)
    )]
}

/// In order, except that a run of requests of one operation may match a
/// run of expected rows of that operation in any order.
fn exact(expected: &[&ExpectedRequest], journal: &[RecordedRequest]) -> bool {
    if expected.len() != journal.len() {
        return false;
    }
    let mut start = 0;
    while start < journal.len() {
        let op = journal[start].operation;
        let end = journal[start..]
            .iter()
            .position(|r| r.operation != op)
            .map_or(journal.len(), |n| start + n);
        if !matches_as_set(&expected[start..end], &journal[start..end]) {
            return false;
        }
        start = end;
    }
    true
}

/// Whether each request can be paired with its own expected row.
fn matches_as_set(expected: &[&ExpectedRequest], journal: &[RecordedRequest]) -> bool {
    fn assign(
        expected: &[&ExpectedRequest],
        journal: &[RecordedRequest],
        used: &mut Vec<bool>,
        row: usize,
    ) -> bool {
        let Some(wanted) = expected.get(row) else {
            return true;
        };
        for (i, request) in journal.iter().enumerate() {
            if !used[i] && mismatch(wanted, request).is_none() {
                used[i] = true;
                if assign(expected, journal, used, row + 1) {
                    return true;
                }
                used[i] = false;
            }
        }
        false
    }
    expected.len() == journal.len() && assign(expected, journal, &mut vec![false; journal.len()], 0)
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
        let got = journal.get(i).map_or("(nothing)".into(), describe);
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
    parts.push(r.status.to_string());
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
