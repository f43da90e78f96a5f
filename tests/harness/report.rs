//! The HTML report (`run --report`), read back with an HTML parser as a
//! browser would: a section per scenario, a bar per request carrying its
//! status, the differences of a failure, the reason of a skip, nothing
//! fetched from elsewhere, no secret.

use std::path::Path;
use std::time::{Duration, SystemTime};

use bedrock_harness::report;
use bedrock_harness::scenario::process::Program;
use bedrock_harness::scenario::{self, Client, Report};
use bedrock_mock_server::EXAMPLE_SECRET_ACCESS_KEY;

use crate::Scratch;

/// Runs each file with `client`, one runtime for all.
fn reports(paths: &[&Path], client: &Client) -> Vec<Report> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    paths
        .iter()
        .map(|path| runtime.block_on(scenario::run_file_with(path, client)))
        .collect()
}

fn scenario_path(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(relative)
}

/// A scenario of the default account whose streamed turn is answered
/// with `code`: its message names the client's own secret key, as a
/// careless gateway's might.
fn leaking_scenario(name: &str, expected_exit: u8) -> String {
    format!(
        r#"schema = 1
name = "{name}"
description = "d"
source = "s"
[client]
credentials = "keys"
[client.env]
CLAUDE_CODE_USE_BEDROCK = "1"
AWS_REGION = "us-east-1"
[[server.rules]]
when = {{ operation = "InvokeModelWithResponseStream" }}
answer = {{ error = {{ code = "AccessDeniedException", message = "the key {EXAMPLE_SECRET_ACCESS_KEY} is not allowed" }} }}
[expect]
exit = {expected_exit}
"#
    )
}

/// Every element of `dom` named `tag` whose `class` holds `class`.
fn elements<'a>(dom: &'a tl::VDom<'a>, tag: &str, class: &str) -> Vec<&'a tl::HTMLTag<'a>> {
    dom.nodes()
        .iter()
        .filter_map(|node| node.as_tag())
        .filter(|t| t.name().as_utf8_str() == tag)
        .filter(|t| {
            t.attributes()
                .class()
                .is_some_and(|c| c.as_utf8_str().split(' ').any(|word| word == class))
        })
        .collect()
}

/// The text of `tag`, its character references read as a browser reads
/// them.
fn text(dom: &tl::VDom<'_>, tag: &tl::HTMLTag<'_>) -> String {
    tag.inner_text(dom.parser())
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn attribute(tag: &tl::HTMLTag<'_>, name: &str) -> String {
    tag.attributes()
        .get(name)
        .flatten()
        .map(|v| v.as_utf8_str().into_owned())
        .unwrap_or_default()
}

/// Nothing in `html` makes a browser fetch anything: no element that
/// loads (`link`, `img`, `iframe`...), no `src`, no link off the page,
/// no `url(` or `@import` in the style.
fn assert_self_contained(dom: &tl::VDom<'_>, html: &str) {
    for node in dom.nodes() {
        let Some(tag) = node.as_tag() else { continue };
        let name = tag.name().as_utf8_str().to_ascii_lowercase();
        assert!(
            ![
                "link", "img", "iframe", "object", "embed", "image", "use", "audio", "video"
            ]
            .contains(&name.as_str()),
            "a <{name}> loads something"
        );
        for (attribute, value) in tag.attributes().iter() {
            let value = value.unwrap_or_default();
            assert!(
                attribute != "src" && !value.contains("://"),
                "<{name} {attribute}=\"{value}\"> names an address"
            );
            if attribute == "href" {
                assert!(
                    value.starts_with('#'),
                    "<{name} href=\"{value}\"> leaves the page"
                );
            }
        }
    }
    let inline = |open: &str, close: &str| {
        html.split(open)
            .nth(1)
            .and_then(|s| s.split(close).next())
            .unwrap_or_default()
            .to_owned()
    };
    for (place, text) in [
        ("style", inline("<style>", "</style>")),
        ("script", inline("<script>", "</script>")),
    ] {
        assert!(!text.is_empty(), "the page has its {place} inline");
        for forbidden in ["url(", "@import", "fetch(", "XMLHttpRequest", "://"] {
            assert!(!text.contains(forbidden), "the {place} holds `{forbidden}`");
        }
    }
}

#[test]
fn each_request_is_a_bar_with_its_status_and_a_failure_shows_its_differences() {
    let scratch = Scratch::new("report");
    let failing = scratch.file(
        "wrong-exit.toml",
        leaking_scenario("wrong-exit", 0).as_bytes(),
    );
    let retried = scenario_path("auth/credential-export-after-invalid-token.toml");
    let broken = scratch.file("broken.toml", b"schema = 1\nname = \"broken\"\n");
    let reports = reports(&[&retried, &failing, &broken], &Client::InProcess);
    let html = report::html(&reports, SystemTime::now());
    let dom = tl::parse(&html, tl::ParserOptions::default()).expect("the page parses");

    let sections = elements(&dom, "details", "scenario");
    let verdicts: Vec<String> = sections
        .iter()
        .map(|s| attribute(s, "data-verdict"))
        .collect();
    assert_eq!(verdicts, ["passed", "failed", "error"]);

    // A bar per request, in arrival order, with the journal's status and
    // error code, across both runs.
    let bars = elements(&dom, "g", "bar");
    let journal: Vec<(String, String, String)> = reports
        .iter()
        .flat_map(|r| r.recording.iter().flat_map(|rec| &rec.requests))
        .map(|r| {
            let r = &r.request;
            (
                r.seq.to_string(),
                r.status.unwrap_or(0).to_string(),
                r.error_type.clone().unwrap_or_default(),
            )
        })
        .collect();
    let drawn: Vec<(String, String, String)> = bars
        .iter()
        .map(|b| {
            (
                attribute(b, "data-seq"),
                attribute(b, "data-status"),
                attribute(b, "data-error"),
            )
        })
        .collect();
    assert!(drawn.len() > 6, "{drawn:?}");
    assert_eq!(drawn, journal);
    assert_eq!(
        drawn[4],
        (
            "5".into(),
            "403".into(),
            "UnrecognizedClientException".into()
        )
    );
    // Its tooltip: operation, model, when, the answer and its message, the
    // authentication.
    let first_turn = &reports[0].recording.as_ref().unwrap().requests[4].request;
    let tooltip = bars[4]
        .children()
        .top()
        .iter()
        .find_map(|n| {
            n.get(dom.parser())?
                .as_tag()
                .filter(|t| t.name() == "title")
        })
        .map(|t| text(&dom, t))
        .unwrap();
    assert_eq!(
        tooltip,
        format!(
            "#5 InvokeModelWithResponseStream\nmodel us.anthropic.claude-opus-5-5\nat +0 s\n\
             → 403 UnrecognizedClientException\n{}\n\
             auth sigv4 ASIADELETEDEXAMPLE01 us-east-1 bedrock, refused: {}",
            first_turn.error_message.as_deref().unwrap(),
            first_turn.auth.reason.as_deref().unwrap(),
        )
    );
    assert!(!first_turn.error_message.as_deref().unwrap().is_empty());
    let tones: Vec<String> = bars[..6].iter().map(|b| attribute(b, "class")).collect();
    assert_eq!(tones[0], "bar client-error");
    assert_eq!(tones[5], "bar ok");
    // The resend after the refused turn is drawn, and the two credential
    // sets the export issued.
    assert_eq!(elements(&dom, "path", "retry").len(), 1);
    let marks: Vec<String> = elements(&dom, "g", "mark")
        .iter()
        .map(|m| text(&dom, m))
        .collect();
    assert!(
        marks[0].contains("credentials #1 issued") && marks[1].contains("credentials #2 issued"),
        "{marks:?}"
    );
    assert!(marks[2].starts_with("end: exit 0 at +0.5 s"), "{marks:?}");
    assert!(
        marks[3].starts_with("end: exit 1 (model-access)"),
        "{marks:?}"
    );

    // The failure's differences, whole; the file that could not be read.
    let differences: Vec<String> = elements(&dom, "pre", "difference")
        .iter()
        .map(|p| text(&dom, p))
        .collect();
    assert!(
        differences
            .iter()
            .any(|d| d == "exit status: expected 0, got 1"),
        "{differences:?}"
    );
    assert!(
        differences.iter().any(|d| d.contains("broken.toml")),
        "{differences:?}"
    );
    assert_self_contained(&dom, &html);
}

#[test]
fn no_secret_reaches_the_page_not_even_one_an_answer_quoted() {
    let scratch = Scratch::new("report-secrets");
    let leaking = scratch.file("leaks.toml", leaking_scenario("leaks", 1).as_bytes());
    let reports = reports(&[&leaking], &Client::InProcess);
    // The client printed the answer's message, secret and all: the run
    // fails for it, and the page shows where without showing it.
    assert!(
        reports[0]
            .failure_text()
            .contains("of the scenario appears in stdout"),
        "{}",
        reports[0].failure_text()
    );
    let html = report::html(&reports, SystemTime::now());
    for form in [
        EXAMPLE_SECRET_ACCESS_KEY,
        "wJalrXUtnFEMI%2FK7MDENG%2BbPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI",
    ] {
        assert!(!html.contains(form), "the page holds `{form}`");
    }
    assert!(!html.contains("Signature=") || html.contains("Signature=&lt;redacted&gt;"));
    let dom = tl::parse(&html, tl::ParserOptions::default()).expect("the page parses");
    let stdout = text(&dom, elements(&dom, "pre", "stdout")[0]);
    assert!(stdout.contains("the key <secret #"), "{stdout}");
    // The scenario file is there whole, the key it names hidden too.
    let file = text(&dom, elements(&dom, "pre", "file")[0]);
    assert!(file.starts_with("schema = 1\nname = \"leaks\""), "{file}");
    assert!(file.contains("message = \"the key <secret #"), "{file}");
    // The journal's copy of the message was scrubbed by the mock itself.
    let message = &reports[0]
        .recording
        .as_ref()
        .unwrap()
        .requests
        .last()
        .unwrap()
        .request;
    assert_eq!(
        message.error_message.as_deref(),
        Some("the key <redacted> is not allowed")
    );
}

#[test]
fn a_skipped_scenario_says_why_and_draws_nothing() {
    let scratch = Scratch::new("report-skip");
    let file =
        leaking_scenario("status-only", 0).replace("[client]\n", "[client]\nargs = [\"status\"]\n");
    let skipped = scratch.file("status-only.toml", file.as_bytes());
    let program = Client::Program(Program {
        path: "/bin/false".into(),
        name: "program /bin/false".into(),
        version: None,
        time_limit: Duration::from_secs(5),
    });
    let reports = reports(&[&skipped], &program);
    let html = report::html(&reports, SystemTime::now());
    let dom = tl::parse(&html, tl::ParserOptions::default()).expect("the page parses");
    let section = elements(&dom, "details", "scenario");
    assert_eq!(attribute(section[0], "data-verdict"), "skipped");
    let skip = text(&dom, elements(&dom, "p", "skip")[0]);
    assert_eq!(
        skip,
        "Not run with program /bin/false: uses `status`, a bedrock-client command."
    );
    assert!(elements(&dom, "g", "bar").is_empty());
    assert!(html.contains("1 scenarios: 0 passed, 0 failed, 0 could not run, 1 skipped"));
}
