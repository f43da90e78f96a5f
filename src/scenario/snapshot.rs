//! A scenario's request journal as stable text for a snapshot: the
//! requests in a canonical order, one block each, with what changes from
//! run to run (session and invocation ids, the port) replaced by
//! placeholders. Secrets are already redacted by the mock.

use std::fmt::Write;
use std::time::Duration;

use bedrock_mock_server::{FrameRecord, RecordedRequest};

use super::check::{concurrent_runs, model_of};

/// Headers left out of the snapshot: they repeat what the other lines say
/// (`host`, lengths), are noise for review, or name the machine the
/// snapshot was taken on (`x-stainless-arch`).
const SKIPPED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "accept-encoding",
    "x-stainless-arch",
    "x-stainless-os",
];

/// The journal as snapshot text, one block per request. Requests sent at
/// once (the startup probes: arrived at most `at_once` apart; see
/// [`concurrent_runs`]) are sorted by model and body, since they arrive
/// in any order.
pub fn render(journal: &[RecordedRequest], mock_uri: &str, at_once: Duration) -> String {
    let mut out = String::new();
    for (n, r) in stable_order(journal, mock_uri, at_once)
        .into_iter()
        .enumerate()
    {
        let block = Block {
            out: &mut out,
            r,
            mock_uri,
        };
        block.write(n + 1);
    }
    out
}

/// The journal's order, with each run of requests sent at once sorted.
pub(crate) fn stable_order<'a>(
    journal: &'a [RecordedRequest],
    mock_uri: &str,
    at_once: Duration,
) -> Vec<&'a RecordedRequest> {
    let mut requests: Vec<&RecordedRequest> = journal.iter().collect();
    for run in concurrent_runs(journal, at_once) {
        requests[run].sort_by_key(|r| (model_of(r), normalize(&r.body, mock_uri)));
    }
    requests
}

/// One request's block of the snapshot, written line by line into `out`.
/// Writing to a `String` cannot fail, so the `fmt::Result`s are dropped.
struct Block<'a> {
    out: &'a mut String,
    r: &'a RecordedRequest,
    mock_uri: &'a str,
}

impl Block<'_> {
    /// The block of request number `number` (from 1).
    fn write(mut self, number: usize) {
        self.request_line(number);
        self.client();
        self.operation();
        self.query();
        self.auth();
        self.headers();
        self.body();
        self.response();
        self.frames();
    }

    /// `#N METHOD PATH`.
    fn request_line(&mut self, number: usize) {
        let path = normalize(&self.r.raw_path, self.mock_uri);
        let _ = writeln!(self.out, "#{number} {} {path}", self.r.method);
    }

    /// `client: NAME`, when one of several clients sent it.
    fn client(&mut self) {
        if let Some(name) = &self.r.client {
            let _ = writeln!(self.out, "  client: {name}");
        }
    }

    /// `operation: Op model`, when the mock recognised the operation.
    fn operation(&mut self) {
        let Some(op) = self.r.operation else {
            return;
        };
        let _ = write!(self.out, "  operation: {op:?}");
        if let Some(model) = model_of(self.r) {
            let _ = write!(self.out, " {model}");
        }
        let _ = writeln!(self.out);
    }

    fn query(&mut self) {
        if !self.r.query.is_empty() {
            let query = normalize(&self.r.query, self.mock_uri);
            let _ = writeln!(self.out, "  query: {query}");
        }
    }

    /// `auth: scheme key region service`, `-` for what was absent.
    fn auth(&mut self) {
        let auth = &self.r.auth;
        let _ = writeln!(
            self.out,
            "  auth: {} {} {} {}{}",
            auth.scheme,
            auth.access_key_id.as_deref().unwrap_or("-"),
            auth.region.as_deref().unwrap_or("-"),
            auth.service.as_deref().unwrap_or("-"),
            if auth.accepted { "" } else { " (rejected)" }
        );
    }

    /// Every header but the [`SKIPPED_HEADERS`], in the order received.
    fn headers(&mut self) {
        for (name, value) in &self.r.headers {
            if SKIPPED_HEADERS.contains(&name.as_str()) {
                continue;
            }
            let value = if name.ends_with("user-agent") {
                machine_neutral(value)
            } else {
                value.clone()
            };
            let _ = writeln!(self.out, "  {name}: {}", normalize(&value, self.mock_uri));
        }
    }

    /// The body, as compact JSON when it is JSON.
    fn body(&mut self) {
        if self.r.body.is_empty() {
            return;
        }
        let body = match self.r.json() {
            Some(json) => serde_json::to_string(&json).unwrap_or_default(),
            None => self.r.body.clone(),
        };
        let _ = writeln!(self.out, "  body: {}", normalize(&body, self.mock_uri));
    }

    /// `-> status code (rule: name)`: what the mock answered, and why.
    fn response(&mut self) {
        let r = self.r;
        let _ = write!(self.out, "  -> {}", r.status.unwrap_or(0));
        if let Some(code) = &r.error_type {
            let _ = write!(self.out, " {code}");
        }
        if let Some(rule) = &r.rule {
            let _ = write!(self.out, " (rule: {rule})");
        }
        let _ = writeln!(self.out);
    }

    fn frames(&mut self) {
        if !self.r.frames.is_empty() {
            let frames = stable_frames(&self.r.frames).join(" ");
            let _ = writeln!(self.out, "  frames: {frames}");
        }
    }
}

/// Replaces the mock's URL with `{mock}`, UUIDs with `<uuid>` and runs of
/// 32 or more hex digits with `<hex>`.
pub fn normalize(text: &str, mock_uri: &str) -> String {
    let text = text.replace(mock_uri, "{mock}");
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit() || **b == b'-')
            .count();
        // A run must start at a word boundary, or a long word with a hex
        // tail would be cut in the middle.
        let at_boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if run > 0 && at_boundary {
            let token = &text[i..i + run];
            if is_uuid(token) {
                out.push_str("<uuid>");
                i += run;
                continue;
            }
            let hex = token.bytes().take_while(u8::is_ascii_hexdigit).count();
            if hex >= 32 {
                out.push_str("<hex>");
                i += hex;
                continue;
            }
            out.push_str(token);
            i += run;
            continue;
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// A user agent without what names the machine or toolchain
/// (`os/linux`, `lang/rust/1.95.0`), so a snapshot holds on any of them.
fn machine_neutral(user_agent: &str) -> String {
    user_agent
        .split(' ')
        .map(|part| {
            if part.starts_with("os/") {
                "os/<os>".to_owned()
            } else if part.starts_with("lang/rust/") {
                "lang/rust/<version>".to_owned()
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_uuid(token: &str) -> bool {
    let groups: Vec<&str> = token.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The frames up to the first one a fault broke: how many more the mock
/// wrote before the client hung up (none, or all) depends on timing, so
/// a snapshot always shows `...` for them.
fn stable_frames(frames: &[FrameRecord]) -> Vec<String> {
    let shown = frames.iter().map(ToString::to_string);
    match frames.iter().position(FrameRecord::breaks_stream) {
        Some(at) => shown
            .take(at + 1)
            .chain(std::iter::once("...".to_owned()))
            .collect(),
        None => shown.collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(texts: &[&str]) -> Vec<FrameRecord> {
        texts.iter().map(|t| t.parse().unwrap()).collect()
    }

    #[test]
    fn frames_after_a_broken_one_are_elided() {
        let frames = records(&[
            "chunk:message_start",
            "bad_message_crc:chunk:content_block_delta",
            "chunk:message_stop",
        ]);
        assert_eq!(
            stable_frames(&frames),
            [
                "chunk:message_start",
                "bad_message_crc:chunk:content_block_delta",
                "..."
            ]
        );
        // A repeated delta breaks nothing: the client reads to the end.
        let frames = records(&["chunk:a", "duplicated:chunk:a", "chunk:message_stop"]);
        assert_eq!(stable_frames(&frames).len(), 3);
        // The client may hang up before the mock writes another frame.
        let frames = records(&["chunk:message_start", "bad_data:chunk:a"]);
        assert_eq!(
            stable_frames(&frames),
            ["chunk:message_start", "bad_data:chunk:a", "..."]
        );
        // Without its `message_start` the stream is unreadable too.
        let frames = records(&["dropped:sse:message_start", "sse:ping"]);
        assert_eq!(stable_frames(&frames), ["dropped:sse:message_start", "..."]);
    }

    #[test]
    fn ids_and_the_port_are_replaced() {
        assert_eq!(
            normalize(
                "id 0f8fad5b-d9cb-469f-a165-70867728950e at http://127.0.0.1:4321/x sig <redacted>",
                "http://127.0.0.1:4321"
            ),
            "id <uuid> at {mock}/x sig <redacted>"
        );
        assert_eq!(
            normalize(
                "user_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef_account",
                "http://none"
            ),
            "user_<hex>_account"
        );
        // Hex inside a word is left alone.
        assert_eq!(
            normalize("xdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef", "http://none"),
            "xdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef"
        );
        assert_eq!(
            normalize(
                "device 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef end",
                "http://none"
            ),
            "device <hex> end"
        );
        assert_eq!(
            normalize("claude-opus-4-5-20251101-v1:0", "http://none"),
            "claude-opus-4-5-20251101-v1:0"
        );
    }
}
