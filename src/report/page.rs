//! The report's HTML: the summary, then a collapsible section per
//! scenario, its timeline drawn as inline SVG from [`timeline`]'s
//! geometry. Every text from a run is escaped; the page names no other
//! file or address (its style and script are this module's constants).
//! Writing to a `String` cannot fail, so `write!`'s results are dropped.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use bedrock_mock_server::{RecordedRequest, Timestamp};

use super::timeline::{self, Bar, LANE_HEIGHT, SLOT, Timeline, Tone};
use crate::scenario::record::{ClientRecord, ONLY_CLIENT, Recording, RunClock};
use crate::scenario::suite::display_path;
use crate::scenario::{Report, Verdict};

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("script.js");

/// Room above the lanes (the marks' labels) and below (the gaps' lengths
/// and the requests' numbers).
const TOP: f64 = 30.0;
const BOTTOM: f64 = 34.0;

/// The whole page.
pub fn render(reports: &[Report], generated: SystemTime) -> String {
    let mut out = String::new();
    let totals = Totals::of(reports);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>bedrock-harness run: {}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        escape(&totals.sentence())
    );
    header(&mut out, reports, &totals, generated);
    out.push_str("<main>\n");
    for (n, report) in reports.iter().enumerate() {
        scenario(&mut out, n, report);
    }
    let _ = write!(
        out,
        "</main>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    );
    out
}

/// How many scenarios ended each way.
struct Totals {
    all: usize,
    passed: usize,
    failed: usize,
    errors: usize,
    skipped: usize,
}

impl Totals {
    fn of(reports: &[Report]) -> Self {
        let count = |word: &str| reports.iter().filter(|r| verdict_word(r) == word).count();
        Self {
            all: reports.len(),
            passed: count("passed"),
            failed: count("failed"),
            errors: count("error"),
            skipped: count("skipped"),
        }
    }

    /// `5 scenarios: 3 passed, 1 failed, 1 could not run, 0 skipped`.
    fn sentence(&self) -> String {
        format!(
            "{} scenarios: {} passed, {} failed, {} could not run, {} skipped",
            self.all, self.passed, self.failed, self.errors, self.skipped
        )
    }
}

/// `passed`, `failed`, `error` or `skipped`: the verdict's CSS class.
fn verdict_word(report: &Report) -> &'static str {
    match report.verdict {
        Verdict::Passed => "passed",
        Verdict::Failed(_) => "failed",
        Verdict::Error(_) => "error",
        Verdict::Skipped(_) => "skipped",
    }
}

/// The title, what ran, the totals, a row per scenario, the legend.
fn header(out: &mut String, reports: &[Report], totals: &Totals, generated: SystemTime) {
    let mut clients: Vec<&str> = reports.iter().map(|r| r.client.as_str()).collect();
    clients.dedup();
    let _ = write!(
        out,
        "<header>\n<h1>bedrock-harness run</h1>\n<p class=\"meta\">client: {}<br/>written {}<br/>\
         <strong class=\"totals\">{}</strong></p>\n",
        escape(&clients.join(", ")),
        escape(&iso(generated)),
        escape(&totals.sentence())
    );
    out.push_str(
        "<table class=\"summary\">\n<thead><tr><th>result</th><th>scenario</th>\
         <th>requests</th><th>took</th><th>first difference, or why</th></tr></thead>\n<tbody>\n",
    );
    for (n, report) in reports.iter().enumerate() {
        let requests = report
            .recording
            .as_ref()
            .map_or(String::new(), |r| r.requests.len().to_string());
        let _ = writeln!(
            out,
            "<tr class=\"{word}\"><td><span class=\"verdict {word}\">{word}</span></td>\
             <td><a href=\"#scenario-{n}\">{path}</a></td><td>{requests}</td><td>{took}</td>\
             <td>{why}</td></tr>",
            word = verdict_word(report),
            path = escape(&display_path(&report.path)),
            took = seconds(report.took),
            why = escape(first_line(report)),
        );
    }
    out.push_str("</tbody>\n</table>\n<p class=\"legend\">");
    for tone in Tone::ALL {
        let _ = write!(
            out,
            "<span class=\"swatch {}\"></span>{} ",
            tone.class(),
            tone.meaning()
        );
    }
    out.push_str(
        "<span class=\"retry-key\"></span>retry (dashed arc) \
         <span class=\"mark-key\"></span>credentials issued, end</p>\n\
         <p class=\"buttons\"><button type=\"button\" data-open=\"all\">open all</button> \
         <button type=\"button\" data-open=\"none\">close all</button> \
         <button type=\"button\" data-open=\"failed\">open failures only</button></p>\n</header>\n",
    );
}

/// The first line of a report's first difference, error or skip reason.
fn first_line(report: &Report) -> &str {
    let text = match &report.verdict {
        Verdict::Passed => "",
        Verdict::Failed(differences) => differences.first().map_or("", String::as_str),
        Verdict::Error(e) => e,
        Verdict::Skipped(why) => why,
    };
    text.lines().next().unwrap_or_default()
}

/// One scenario's section; open when it did not pass or skip.
fn scenario(out: &mut String, n: usize, report: &Report) {
    let word = verdict_word(report);
    let open = matches!(report.verdict, Verdict::Failed(_) | Verdict::Error(_));
    let _ = writeln!(
        out,
        "<details class=\"scenario {word}\" id=\"scenario-{n}\" data-verdict=\"{word}\"{}>\n\
         <summary><span class=\"verdict {word}\">{word}</span> <code>{}</code> \
         <span class=\"took\">{}</span></summary>",
        if open { " open" } else { "" },
        escape(&display_path(&report.path)),
        seconds(report.took)
    );
    about(out, report);
    match &report.verdict {
        Verdict::Passed => {}
        Verdict::Failed(differences) => {
            out.push_str("<section class=\"diff\">\n<h3>Differences from [expect]</h3>\n");
            for difference in differences {
                let _ = writeln!(
                    out,
                    "<pre class=\"difference\">{}</pre>",
                    escape(difference)
                );
            }
            out.push_str("</section>\n");
        }
        Verdict::Error(e) => {
            let _ = writeln!(
                out,
                "<section class=\"diff\">\n<h3>Could not run</h3>\n<pre class=\"difference\">{}</pre>\n</section>",
                escape(e)
            );
        }
        Verdict::Skipped(why) => {
            let _ = writeln!(
                out,
                "<p class=\"skip\">Not run with {}: {}.</p>",
                escape(&report.client),
                escape(why)
            );
        }
    }
    if let Some(recording) = &report.recording {
        run(out, recording);
    }
    not_checked(out, report);
    out.push_str("</details>\n");
}

/// What the scenario is: its description and source, and its file.
fn about(out: &mut String, report: &Report) {
    let about = &report.about;
    if !about.description.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"about\">{}<br/><span class=\"source\">Source: {}</span></p>",
            escape(&about.description),
            escape(&about.source)
        );
    }
    if !about.file.is_empty() {
        let _ = writeln!(
            out,
            "<details class=\"file\"><summary>The scenario file</summary>\n<pre class=\"file\">{}</pre></details>",
            escape(&about.file)
        );
    }
}

/// A run: its timeline, its requests, its clients.
fn run(out: &mut String, recording: &Recording) {
    let clock = match recording.clock {
        RunClock::Session => "the session's clock (virtual: it moves only when the client waits)",
        RunClock::Real => "the real clock",
    };
    let _ = writeln!(
        out,
        "<section class=\"timeline\">\n<h3>Timeline</h3>\n<p class=\"clock\">On {clock}, from {}; \
         {} in all, {} requests. A bar per request in arrival order; the space before it grows with \
         the time that passed. Hover a bar for its details.</p>",
        escape(&iso(recording.start)),
        escape(&duration(recording.length)),
        recording.requests.len()
    );
    if recording.requests.is_empty() {
        out.push_str("<p>The mock received no request.</p>\n");
    } else {
        svg(out, &timeline::layout(recording));
    }
    out.push_str("</section>\n");
    if let Some(unmet) = &recording.unmet_rules {
        let _ = writeln!(
            out,
            "<p class=\"unmet\">Server rules not met:</p>\n<pre class=\"unmet\">{}</pre>",
            escape(unmet)
        );
    }
    requests_table(out, recording);
    for client in &recording.clients {
        client_output(out, client, recording.clients.len() > 1);
    }
}

/// The timeline as inline SVG.
fn svg(out: &mut String, timeline: &Timeline<'_>) {
    let height = TOP + LANE_HEIGHT * timeline.lanes.len() as f64 + BOTTOM;
    // Room right of the last line for its label.
    let width = timeline.width + 160.0;
    let _ = writeln!(
        out,
        "<div class=\"scroll\"><svg class=\"timeline\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"timeline of the requests\">"
    );
    let several_clients = timeline
        .lanes
        .iter()
        .any(|l| l.client != timeline.lanes[0].client);
    for (n, lane) in timeline.lanes.iter().enumerate() {
        let y = TOP + LANE_HEIGHT * n as f64;
        let name = if several_clients {
            format!("{} · {}", lane.client, lane.endpoint.name())
        } else {
            lane.endpoint.name().to_owned()
        };
        let _ = writeln!(
            out,
            "<rect class=\"lane lane-{}\" x=\"0\" y=\"{y:.1}\" width=\"{:.0}\" height=\"{LANE_HEIGHT:.0}\"/>\
             <text class=\"lane-name\" x=\"6\" y=\"{:.1}\">{}</text>",
            n % 2,
            width,
            y + LANE_HEIGHT / 2.0 + 4.0,
            escape(&name)
        );
    }
    gaps(out, timeline, height);
    for bar in &timeline.bars {
        svg_bar(out, bar);
    }
    retries(out, timeline);
    marks(out, timeline, height);
    out.push_str("</svg></div>\n");
}

/// The gaps: shaded, and those wide enough labelled with their length.
fn gaps(out: &mut String, timeline: &Timeline<'_>, height: f64) {
    for gap in timeline.gaps.iter().filter(|g| g.width >= 1.0) {
        let _ = write!(
            out,
            "<rect class=\"gap\" x=\"{:.1}\" y=\"{TOP:.0}\" width=\"{:.1}\" height=\"{:.1}\"><title>{} passed</title></rect>",
            gap.x,
            gap.width,
            height - TOP - BOTTOM,
            duration(gap.length)
        );
        if gap.width >= timeline::LABELLED_GAP {
            let _ = write!(
                out,
                "<text class=\"gap-length\" x=\"{:.1}\" y=\"{:.1}\">+{}</text>",
                gap.x + gap.width / 2.0,
                height - BOTTOM + 26.0,
                escape(&duration(gap.length))
            );
        }
        out.push('\n');
    }
}

/// One request's bar: its status in it, its effects under it, all its
/// details in its tooltip; its facts in `data-` attributes for scripts
/// and tests.
fn svg_bar(out: &mut String, bar: &Bar<'_>) {
    let r = &bar.request.request;
    let y = TOP + LANE_HEIGHT * bar.lane as f64;
    let status = r.status.map_or("—".to_owned(), |s| s.to_string());
    let _ = write!(
        out,
        "<g class=\"bar {tone}\" data-seq=\"{seq}\" data-client=\"{client}\" data-operation=\"{op}\" \
         data-status=\"{status_attr}\" data-error=\"{error}\"><title>{title}</title>\
         <rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{w:.0}\" height=\"20\" rx=\"3\"/>\
         <text class=\"status\" x=\"{mid:.1}\" y=\"{text_y:.1}\">{status}</text>\
         <text class=\"seq\" x=\"{mid:.1}\" y=\"{seq_y:.1}\">#{seq}</text>",
        tone = bar.tone.class(),
        seq = r.seq,
        client = escape(&bar.request.client),
        op = r.operation.map_or("", |o| o.name()),
        status_attr = r.status.unwrap_or(0),
        error = escape(r.error_type.as_deref().unwrap_or_default()),
        title = escape(&tooltip(bar)),
        x = bar.x + 3.0,
        top = y + 6.0,
        w = SLOT - 6.0,
        mid = bar.x + SLOT / 2.0,
        text_y = y + 20.0,
        seq_y = y + 36.0,
    );
    if let Some(first) = bar.effects.first() {
        let more = match bar.effects.len() {
            1 => String::new(),
            n => format!(" +{}", n - 1),
        };
        let _ = write!(
            out,
            "<text class=\"effect\" x=\"{:.1}\" y=\"{:.1}\">{}{more}</text>",
            bar.x + SLOT / 2.0,
            y + 4.0,
            escape(&short_effect(first))
        );
    }
    out.push_str("</g>\n");
}

/// An effect in the few letters a bar has room for.
fn short_effect(effect: &str) -> String {
    let short: String = effect.chars().take(8).collect();
    if short.len() < effect.len() {
        format!("{short}…")
    } else {
        short
    }
}

/// Everything about a request, for its bar's tooltip.
fn tooltip(bar: &Bar<'_>) -> String {
    let record = bar.request;
    let r = &record.request;
    let mut lines = vec![format!("#{} {}", r.seq, operation_line(r))];
    if let Some(model) = crate::scenario::check::model_of(r) {
        lines.push(format!("model {model}"));
    }
    lines.push(if record.client == ONLY_CLIENT {
        format!("at +{}", duration(record.at))
    } else {
        format!("client {}, at +{}", record.client, duration(record.at))
    });
    lines.push(format!("→ {}", answer_line(r)));
    if let Some(message) = &r.error_message {
        lines.push(message.clone());
    }
    if let Some(rule) = &r.rule {
        lines.push(format!("rule `{rule}`"));
    }
    lines.push(auth_line(r));
    if !r.frames.is_empty() {
        let frames: Vec<String> = r.frames.iter().map(ToString::to_string).collect();
        lines.push(format!("frames: {}", frames.join(", ")));
    }
    lines.join("\n")
}

/// `InvokeModel`, or the method and path of a request that named none.
fn operation_line(r: &RecordedRequest) -> String {
    r.operation.map_or_else(
        || format!("{} {}", r.method, r.raw_path),
        |o| o.name().to_owned(),
    )
}

/// `429 ThrottlingException`, or `no answer`.
fn answer_line(r: &RecordedRequest) -> String {
    match (r.status, &r.error_type) {
        (None, _) => "no answer".to_owned(),
        (Some(status), Some(code)) => format!("{status} {code}"),
        (Some(status), None) => status.to_string(),
    }
}

/// `sigv4 AKIDEXAMPLE us-east-1 bedrock, accepted`.
fn auth_line(r: &RecordedRequest) -> String {
    let auth = &r.auth;
    let mut parts = vec![auth.scheme.name().to_owned()];
    parts.extend(auth.access_key_id.clone());
    parts.extend(auth.region.clone());
    parts.extend(auth.service.clone());
    let verdict = match (&auth.accepted, &auth.reason) {
        (true, _) => "accepted".to_owned(),
        (false, Some(reason)) => format!("refused: {reason}"),
        (false, None) => "not accepted".to_owned(),
    };
    format!("auth {}, {verdict}", parts.join(" "))
}

/// Dashed arcs from a failed request to its resend.
fn retries(out: &mut String, timeline: &Timeline<'_>) {
    for retry in &timeline.retries {
        let (from, to) = (&timeline.bars[retry.from], &timeline.bars[retry.to]);
        let y = |bar: &Bar<'_>| TOP + LANE_HEIGHT * bar.lane as f64 + 6.0;
        let (x1, y1) = (from.x + SLOT / 2.0, y(from));
        let (x2, y2) = (to.x + SLOT / 2.0, y(to));
        let lift = y1.min(y2) - 10.0;
        let _ = writeln!(
            out,
            "<path class=\"retry\" d=\"M {x1:.1} {y1:.1} C {x1:.1} {lift:.1}, {x2:.1} {lift:.1}, {x2:.1} {y2:.1}\">\
             <title>#{} resent as #{} after {}</title></path>",
            from.request.request.seq,
            to.request.request.seq,
            duration(retry.after)
        );
    }
}

/// The moments across every lane, labelled above them.
fn marks(out: &mut String, timeline: &Timeline<'_>, height: f64) {
    // Labels on two rows, each written rightwards from its line, so that
    // marks close together do not write over each other.
    for (n, mark) in timeline.marks.iter().enumerate() {
        let _ = writeln!(
            out,
            "<g class=\"mark\"><title>{what} at +{at}</title><line x1=\"{x:.1}\" y1=\"{top:.1}\" \
             x2=\"{x:.1}\" y2=\"{bottom:.1}\"/><text x=\"{text_x:.1}\" y=\"{text_y:.0}\">{what}</text></g>",
            what = escape(&mark.what),
            at = escape(&duration(mark.at)),
            x = mark.x,
            text_x = mark.x + 3.0,
            text_y = if n % 2 == 0 { 12.0 } else { 25.0 },
            top = 2.0 + 13.0 * (n % 2) as f64,
            bottom = height - BOTTOM + 4.0,
        );
    }
}

/// The requests as a table, with their error messages whole.
fn requests_table(out: &mut String, recording: &Recording) {
    if recording.requests.is_empty() {
        return;
    }
    let several_clients = recording.clients.len() > 1;
    let _ = writeln!(
        out,
        "<details class=\"requests\"><summary>Requests ({})</summary>\n<table class=\"requests\">\
         <thead><tr><th>#</th><th>at</th>{}<th>endpoint</th><th>operation</th><th>model</th>\
         <th>answer</th><th>message</th><th>rule</th><th>auth</th><th>frames</th></tr></thead><tbody>",
        recording.requests.len(),
        if several_clients {
            "<th>client</th>"
        } else {
            ""
        }
    );
    for record in &recording.requests {
        let r = &record.request;
        let client = if several_clients {
            format!("<td>{}</td>", escape(&record.client))
        } else {
            String::new()
        };
        let frames: Vec<String> = r.frames.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td>{}</td><td>+{}</td>{client}<td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            Tone::of(r).class(),
            r.seq,
            escape(&duration(record.at)),
            timeline::Endpoint::of(r.operation).name(),
            escape(&operation_line(r)),
            escape(&crate::scenario::check::model_of(r).unwrap_or_default()),
            escape(&answer_line(r)),
            escape(r.error_message.as_deref().unwrap_or_default()),
            escape(r.rule.as_deref().unwrap_or_default()),
            escape(&auth_line(r)),
            escape(&frames.join(", ")),
        );
    }
    out.push_str("</tbody></table></details>\n");
}

/// What a client printed, how it ended, what it did with credentials.
fn client_output(out: &mut String, client: &ClientRecord, named: bool) {
    let title = if named {
        format!("Client {} ({})", client.name, client.program)
    } else {
        format!("Client ({})", client.program)
    };
    let counts: Vec<String> = client
        .credential_counts
        .iter()
        .map(|(what, n)| match n {
            Some(n) => format!("{what}: {n}"),
            None => format!("{what}: not counted"),
        })
        .collect();
    let _ = writeln!(
        out,
        "<section class=\"client\">\n<h3>{}</h3>\n<p>Ended: <strong>{}</strong>. {}.</p>\n\
         <h4>stdout</h4>\n<pre class=\"stdout\">{}</pre>\n<h4>stderr</h4>\n<pre class=\"stderr\">{}</pre>\n</section>",
        escape(&title),
        escape(&client.ended),
        escape(&counts.join(", ")),
        escape_or_empty(&client.stdout),
        escape_or_empty(&client.stderr),
    );
}

/// The expectations this client's run could not be held to.
fn not_checked(out: &mut String, report: &Report) {
    if report.not_checked.is_empty() {
        return;
    }
    out.push_str("<section class=\"not-checked\">\n<h3>Not checked on this client</h3>\n<ul>\n");
    for item in &report.not_checked {
        let _ = writeln!(out, "<li>{}</li>", escape(item));
    }
    out.push_str("</ul>\n</section>\n");
}

/// `text` escaped, or `(empty)` in italics.
fn escape_or_empty(text: &str) -> String {
    if text.is_empty() {
        "<em>(empty)</em>".to_owned()
    } else {
        escape(text)
    }
}

/// `text` safe in HTML content and attribute values: escaped as the
/// JUnit file's XML is (HTML reads `&apos;` too), characters XML cannot
/// hold left out.
pub fn escape(text: &str) -> String {
    crate::scenario::suite::xml(text)
}

/// `0.52 s`, `2 min 5 s`, `8 h 0 min`.
pub fn duration(length: Duration) -> String {
    let secs = length.as_secs_f64();
    if secs < 60.0 {
        let shown = format!("{secs:.3}");
        let shown = shown.trim_end_matches('0').trim_end_matches('.');
        return format!("{shown} s");
    }
    let whole = length.as_secs();
    if whole < 3600 {
        return format!("{} min {} s", whole / 60, whole % 60);
    }
    format!("{} h {} min", whole / 3600, whole % 3600 / 60)
}

/// Wall-clock seconds, as the text report writes them: `0.21 s`.
fn seconds(length: Duration) -> String {
    format!("{:.2} s", length.as_secs_f64())
}

/// `2026-11-25T12:00:00Z`.
fn iso(time: SystemTime) -> String {
    serde_json::to_value(Timestamp(time))
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration(Duration::ZERO), "0 s");
        assert_eq!(duration(Duration::from_millis(500)), "0.5 s");
        assert_eq!(duration(Duration::from_millis(1234)), "1.234 s");
        assert_eq!(duration(Duration::from_secs(125)), "2 min 5 s");
        assert_eq!(duration(Duration::from_secs(8 * 3600 + 60)), "8 h 1 min");
    }

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>\u{1b}[0m\n"),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;[0m\n"
        );
    }
}
