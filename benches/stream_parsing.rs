//! Event-stream parsing: our codec against aws-smithy-eventstream, on the same
//! bytes in the same run.
//!
//! Inputs: a Bedrock response of ~320-byte `chunk` frames (base64 events with
//! `p` padding, like the real service), and 16 KiB frames.
//! - `whole_buffer`: all frames in one buffer. Ours, the reference's
//!   `MessageFrameDecoder`, and the floor: crc32fast over each frame (prelude
//!   CRC and message CRC), which any verifying decoder must pay.
//! - `chunked`: the same bytes arriving in random 1–64 byte pieces.
//! - `pipeline`: frames to typed Anthropic events. Ours (`Decoder` +
//!   `bedrock::EventReader`) against the reference decoder + serde_json +
//!   base64 as a typical client writes it.
//!
//! `cargo bench --bench stream_parsing` runs them and then prints the ratio
//! table that BENCHMARKS.md records.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use base64::Engine as _;
use bedrock_eventstream::anthropic::{
    ContentBlock, Delta, Message, MessageDelta, StreamEvent, Usage,
};
use bedrock_eventstream::{Decoder, Header, bedrock, encode};
use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput};
use serde::Deserialize;

/// splitmix64: deterministic inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    fn text(&mut self, len: usize, alphabet: &[u8]) -> String {
        (0..len)
            .map(|_| alphabet[self.range(0, alphabet.len() - 1)] as char)
            .collect()
    }
}

const WORDS: &[u8] = b"abcdefghijklmnopqrstuvwxyz     ,.ABCDEFGHIJ0123456789\n\"";
const PADDING: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A long Bedrock response: message_start, one text block of many deltas,
/// message_delta, message_stop with invocation metrics.
fn bedrock_response(deltas: usize, rng: &mut Rng) -> Vec<u8> {
    let mut events = vec![
        StreamEvent::MessageStart {
            message: Message::new(
                "msg_bdrk_01XkKq3a5S6p9mYdD3iN6hR2",
                "claude-sonnet-4-5-20250929",
            )
            .with_usage(
                Usage::default()
                    .with_input_tokens(2095)
                    .with_output_tokens(1),
            ),
        },
        StreamEvent::ContentBlockStart {
            index: 0,
            content_block: ContentBlock::Text {
                text: String::new(),
            },
        },
    ];
    for _ in 0..deltas {
        let len = rng.range(20, 60);
        events.push(StreamEvent::ContentBlockDelta {
            index: 0,
            delta: Delta::Text {
                text: rng.text(len, WORDS),
            },
        });
    }
    events.push(StreamEvent::ContentBlockStop { index: 0 });
    events.push(StreamEvent::MessageDelta {
        delta: MessageDelta::stop("end_turn"),
        usage: Usage::default().with_output_tokens(deltas as u64 * 9),
    });
    events.push(StreamEvent::MessageStop {
        invocation_metrics: Some(
            bedrock_eventstream::anthropic::InvocationMetrics::new(2095, deltas as u64 * 9)
                .with_latencies(9120, 412),
        ),
    });
    let mut out = Vec::new();
    for event in &events {
        let len = rng.range(30, 70);
        let padding = rng.text(len, PADDING);
        bedrock::encode_chunk(event, &padding, &mut out);
    }
    out
}

fn large_frames(count: usize, rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    let payload: Vec<u8> = (0..16 * 1024).map(|_| rng.next() as u8).collect();
    for _ in 0..count {
        encode(
            &[
                Header::string(":event-type", "chunk"),
                Header::string(":content-type", "application/octet-stream"),
                Header::string(":message-type", "event"),
            ],
            &payload,
            &mut out,
        )
        .unwrap();
    }
    out
}

fn frame_slices(stream: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        let len = u32::from_be_bytes(stream[at..at + 4].try_into().unwrap()) as usize;
        frames.push(&stream[at..at + len]);
        at += len;
    }
    frames
}

fn random_chunks(len: usize, rng: &mut Rng) -> Vec<(usize, usize)> {
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < len {
        let n = rng.range(1, 64).min(len - at);
        chunks.push((at, at + n));
        at += n;
    }
    chunks
}

// ---- ours -------------------------------------------------------------

fn ours_whole(stream: &[u8]) -> usize {
    let mut decoder = Decoder::new();
    let mut input = stream;
    let mut seen = 0;
    while let Some(frame) = decoder.decode(&mut input).unwrap() {
        seen += frame.header_count() + frame.payload().len();
    }
    decoder.finish().unwrap();
    seen
}

fn ours_chunked(stream: &[u8], chunks: &[(usize, usize)]) -> usize {
    let mut decoder = Decoder::new();
    let mut seen = 0;
    for &(a, b) in chunks {
        let mut input = &stream[a..b];
        while let Some(frame) = decoder.decode(&mut input).unwrap() {
            seen += frame.header_count() + frame.payload().len();
        }
    }
    decoder.finish().unwrap();
    seen
}

fn ours_pipeline(stream: &[u8]) -> usize {
    let mut decoder = Decoder::new();
    let mut reader = bedrock::EventReader::new();
    let mut input = stream;
    let mut text = 0;
    while let Some(frame) = decoder.decode(&mut input).unwrap() {
        if let StreamEvent::ContentBlockDelta {
            delta: Delta::Text { text: t },
            ..
        } = reader.read(&frame).unwrap()
        {
            text += t.len();
        }
    }
    decoder.finish().unwrap();
    text
}

// ---- the reference, as the AWS SDK and a typical client use it ----------

fn smithy_whole(stream: &Bytes) -> usize {
    let mut decoder = MessageFrameDecoder::new();
    let mut buf = stream.clone();
    let mut seen = 0;
    while let DecodedFrame::Complete(message) = decoder.decode_frame(&mut buf).unwrap() {
        seen += message.headers().len() + message.payload().len();
    }
    seen
}

fn smithy_chunked(stream: &[u8], chunks: &[(usize, usize)]) -> usize {
    let mut decoder = MessageFrameDecoder::new();
    let mut buf = BytesMut::new();
    let mut seen = 0;
    for &(a, b) in chunks {
        buf.extend_from_slice(&stream[a..b]);
        while let DecodedFrame::Complete(message) = decoder.decode_frame(&mut buf).unwrap() {
            seen += message.headers().len() + message.payload().len();
        }
    }
    seen
}

#[derive(Deserialize)]
struct RefChunk {
    bytes: String,
}

/// Event types the way client crates usually declare them: serde's
/// internally tagged enums.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(dead_code)]
enum RefEvent {
    MessageStart {
        message: serde_json::Value,
    },
    ContentBlockStart {
        index: u32,
        content_block: serde_json::Value,
    },
    ContentBlockDelta {
        index: u32,
        delta: RefDelta,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: serde_json::Value,
        usage: serde_json::Value,
    },
    MessageStop {
        #[serde(rename = "amazon-bedrock-invocationMetrics")]
        metrics: Option<serde_json::Value>,
    },
    Ping,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(dead_code, clippy::enum_variant_names)]
enum RefDelta {
    TextDelta { text: String },
    InputJsonDelta { partial_json: String },
    ThinkingDelta { thinking: String },
    SignatureDelta { signature: String },
}

fn smithy_pipeline(stream: &Bytes) -> usize {
    let mut decoder = MessageFrameDecoder::new();
    let mut buf = stream.clone();
    let mut text = 0;
    while let DecodedFrame::Complete(message) = decoder.decode_frame(&mut buf).unwrap() {
        let header = |name: &str| {
            message
                .headers()
                .iter()
                .find(|h| h.name().as_str() == name)
                .and_then(|h| h.value().as_string().ok())
                .map(|s| s.as_str().to_owned())
        };
        assert_eq!(header(":message-type").as_deref(), Some("event"));
        assert_eq!(header(":event-type").as_deref(), Some("chunk"));
        let chunk: RefChunk = serde_json::from_slice(message.payload()).unwrap();
        let json = base64::engine::general_purpose::STANDARD
            .decode(chunk.bytes)
            .unwrap();
        if let RefEvent::ContentBlockDelta {
            delta: RefDelta::TextDelta { text: t },
            ..
        } = serde_json::from_slice(&json).unwrap()
        {
            text += t.len();
        }
    }
    text
}

// ---- the floor ------------------------------------------------------------

fn crc_floor(frames: &[&[u8]]) -> u32 {
    let mut acc = 0;
    for f in frames {
        acc ^= crc32fast::hash(&f[..8]);
        acc ^= crc32fast::hash(&f[..f.len() - 4]);
    }
    acc
}

struct Input {
    name: &'static str,
    bytes: Vec<u8>,
}

fn inputs() -> Vec<Input> {
    let mut rng = Rng(0x5eed);
    vec![
        Input {
            name: "bedrock_320B",
            bytes: bedrock_response(1000, &mut rng),
        },
        Input {
            name: "frames_16KiB",
            bytes: large_frames(64, &mut rng),
        },
    ]
}

type Run<'a> = Box<dyn Fn() -> usize + 'a>;

/// One of our decoders against a reference on one input.
struct Comparison<'a> {
    group: &'static str,
    input: &'static str,
    bytes: usize,
    reference: &'static str,
    /// The ratio the project aims for (reference time / our time).
    target: f64,
    ours: Run<'a>,
    theirs: Run<'a>,
}

fn comparisons<'a>(
    inputs: &'a [Input],
    shared: &'a [Bytes],
    chunks: &'a [Vec<(usize, usize)>],
    frames: &'a [Vec<&'a [u8]>],
) -> Vec<Comparison<'a>> {
    let mut all = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let (bytes, name, size) = (&input.bytes, input.name, input.bytes.len());
        all.push(Comparison {
            group: "whole_buffer",
            input: name,
            bytes: size,
            reference: "aws_smithy",
            target: 10.0,
            ours: Box::new(move || ours_whole(black_box(bytes))),
            theirs: Box::new(move || smithy_whole(black_box(&shared[i]))),
        });
        all.push(Comparison {
            group: "whole_buffer",
            input: name,
            bytes: size,
            reference: "crc_floor",
            target: 2.0 / 3.0,
            ours: Box::new(move || ours_whole(black_box(bytes))),
            theirs: Box::new(move || crc_floor(black_box(&frames[i])) as usize),
        });
        all.push(Comparison {
            group: "chunked",
            input: name,
            bytes: size,
            reference: "aws_smithy",
            target: 5.0,
            ours: Box::new(move || ours_chunked(black_box(bytes), &chunks[i])),
            theirs: Box::new(move || smithy_chunked(black_box(bytes), &chunks[i])),
        });
    }
    let bedrock = &inputs[0];
    all.push(Comparison {
        group: "pipeline",
        input: bedrock.name,
        bytes: bedrock.bytes.len(),
        reference: "aws_smithy_serde_base64",
        target: 2.5,
        ours: Box::new(move || ours_pipeline(black_box(&bedrock.bytes))),
        theirs: Box::new(move || smithy_pipeline(black_box(&shared[0]))),
    });
    all
}

fn benches(c: &mut Criterion, comparisons: &[Comparison<'_>]) {
    for group in ["whole_buffer", "chunked", "pipeline"] {
        let mut g = c.benchmark_group(group);
        let mut ours_done = Vec::new();
        for cmp in comparisons.iter().filter(|c| c.group == group) {
            g.throughput(Throughput::Bytes(cmp.bytes as u64));
            if !ours_done.contains(&cmp.input) {
                ours_done.push(cmp.input);
                g.bench_function(BenchmarkId::new("ours", cmp.input), |b| b.iter(&cmp.ours));
            }
            g.bench_function(BenchmarkId::new(cmp.reference, cmp.input), |b| {
                b.iter(&cmp.theirs)
            });
        }
        g.finish();
    }
}

/// Nanoseconds per call of `f`, timed over `calls` calls.
fn time_ns(f: &dyn Fn() -> usize, calls: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        black_box(f());
    }
    start.elapsed().as_nanos() as f64 / f64::from(calls)
}

/// Ours and the reference timed in alternation, round after round, so that
/// a slow spell of this shared machine hits both sides alike; the median
/// ratio of the rounds, with the lowest and highest.
fn interleaved(cmp: &Comparison<'_>, rounds: usize) -> (f64, f64, f64, f64, f64) {
    let calls = |f: &dyn Fn() -> usize| {
        let once = time_ns(f, 3).max(1.0);
        ((4_000_000.0 / once) as u32).clamp(1, 100_000)
    };
    let (n_ours, n_theirs) = (calls(&cmp.ours), calls(&cmp.theirs));
    let mut samples: Vec<(f64, f64)> = (0..rounds)
        .map(|_| (time_ns(&cmp.ours, n_ours), time_ns(&cmp.theirs, n_theirs)))
        .collect();
    let mut ratios: Vec<f64> = samples.iter().map(|(a, b)| b / a).collect();
    ratios.sort_by(f64::total_cmp);
    samples.sort_by(|x, y| x.0.total_cmp(&y.0));
    let ours_ns = samples[rounds / 2].0;
    samples.sort_by(|x, y| x.1.total_cmp(&y.1));
    let theirs_ns = samples[rounds / 2].1;
    (
        ratios[rounds / 2],
        ratios[0],
        ratios[rounds - 1],
        ours_ns,
        theirs_ns,
    )
}

fn print_ratios(comparisons: &[Comparison<'_>], filter: Option<&str>) {
    println!();
    println!(
        "Ratios: reference time / our time, median of 21 interleaved rounds (lowest-highest)."
    );
    println!();
    println!(
        "| benchmark | input | ours GB/s | reference | reference GB/s | ratio (range) | target |"
    );
    println!("|---|---|---|---|---|---|---|");
    for cmp in comparisons {
        let name = format!("{}/{}/{}", cmp.group, cmp.reference, cmp.input);
        if filter.is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let (ratio, low, high, ours_ns, theirs_ns) = interleaved(cmp, 21);
        let gbps = |ns: f64| cmp.bytes as f64 / ns;
        let verdict = if ratio >= cmp.target { "met" } else { "MISSED" };
        println!(
            "| {} | {} | {:.2} | {} | {:.2} | {ratio:.2}x ({low:.2}-{high:.2}) | >= {:.2}x {verdict} |",
            cmp.group,
            cmp.input,
            gbps(ours_ns),
            cmp.reference,
            gbps(theirs_ns),
            cmp.target,
        );
    }
}

/// The benchmark name filter among criterion's arguments: the positional
/// argument, skipping the values of options that take one.
fn positional_filter(args: &[String]) -> Option<&str> {
    const SWITCHES: &[&str] = &[
        "--bench",
        "--noplot",
        "--list",
        "--verbose",
        "--quiet",
        "--quick",
        "--exact",
        "--ignored",
        "--test",
        "--discard-baseline",
        "-n",
        "-v",
    ];
    let mut args = args.iter();
    let mut filter = None;
    while let Some(arg) = args.next() {
        if !arg.starts_with('-') {
            filter = Some(arg.as_str());
        } else if !SWITCHES.contains(&arg.as_str()) && !arg.contains('=') {
            args.next();
        }
    }
    filter
}

fn main() {
    let inputs = inputs();
    let mut rng = Rng(0xc4u64);
    let shared: Vec<Bytes> = inputs
        .iter()
        .map(|i| Bytes::from(i.bytes.clone()))
        .collect();
    let chunks: Vec<_> = inputs
        .iter()
        .map(|i| random_chunks(i.bytes.len(), &mut rng))
        .collect();
    let frames: Vec<_> = inputs.iter().map(|i| frame_slices(&i.bytes)).collect();
    for (i, input) in inputs.iter().enumerate() {
        eprintln!(
            "input {}: {} frames, {} bytes, {} bytes/frame on average",
            input.name,
            frames[i].len(),
            input.bytes.len(),
            input.bytes.len() / frames[i].len()
        );
    }
    let comparisons = comparisons(&inputs, &shared, &chunks, &frames);
    // Both sides of every comparison see the same frames before anything
    // is timed (the CRC floor only returns a checksum).
    for cmp in comparisons.iter().filter(|c| c.reference != "crc_floor") {
        assert_eq!((cmp.ours)(), (cmp.theirs)(), "{} {}", cmp.group, cmp.input);
    }

    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    benches(&mut c, &comparisons);
    c.final_summary();

    // `cargo test --benches` runs this binary without `--bench`: criterion
    // then only smoke-tests each routine, and so do we.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--bench") {
        print_ratios(&comparisons, positional_filter(&args));
    }
}
