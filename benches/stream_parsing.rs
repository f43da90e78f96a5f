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
use std::path::PathBuf;
use std::time::Duration;

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
            message: Message {
                id: "msg_bdrk_01XkKq3a5S6p9mYdD3iN6hR2".into(),
                role: "assistant".into(),
                model: "claude-sonnet-4-5-20250929".into(),
                content: vec![],
                stop_reason: None,
                stop_sequence: None,
                usage: Usage {
                    input_tokens: Some(2095),
                    output_tokens: Some(1),
                    ..Usage::default()
                },
            },
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
        delta: MessageDelta {
            stop_reason: Some("end_turn".into()),
            stop_sequence: None,
        },
        usage: Usage {
            output_tokens: Some(deltas as u64 * 9),
            ..Usage::default()
        },
    });
    events.push(StreamEvent::MessageStop {
        invocation_metrics: Some(bedrock_eventstream::anthropic::InvocationMetrics {
            input_token_count: 2095,
            output_token_count: deltas as u64 * 9,
            invocation_latency: 9120,
            first_byte_latency: 412,
            ..Default::default()
        }),
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

fn benches(c: &mut Criterion) {
    let inputs = inputs();
    let mut rng = Rng(0xc4u64);
    for input in &inputs {
        let frames = frame_slices(&input.bytes);
        eprintln!(
            "input {}: {} frames, {} bytes, {} bytes/frame on average",
            input.name,
            frames.len(),
            input.bytes.len(),
            input.bytes.len() / frames.len()
        );
        // Both decoders see the same frames before anything is timed.
        assert_eq!(
            ours_whole(&input.bytes),
            smithy_whole(&Bytes::from(input.bytes.clone()))
        );
    }

    let mut group = c.benchmark_group("whole_buffer");
    for input in &inputs {
        let frames = frame_slices(&input.bytes);
        let shared = Bytes::from(input.bytes.clone());
        group.throughput(Throughput::Bytes(input.bytes.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("ours", input.name),
            &input.bytes,
            |b, s| b.iter(|| ours_whole(black_box(s))),
        );
        group.bench_with_input(
            BenchmarkId::new("aws_smithy", input.name),
            &shared,
            |b, s| b.iter(|| smithy_whole(black_box(s))),
        );
        group.bench_with_input(
            BenchmarkId::new("crc_floor", input.name),
            &frames,
            |b, f| b.iter(|| crc_floor(black_box(f))),
        );
    }
    group.finish();

    let mut group = c.benchmark_group("chunked");
    for input in &inputs {
        let chunks = random_chunks(input.bytes.len(), &mut rng);
        assert_eq!(
            ours_chunked(&input.bytes, &chunks),
            smithy_chunked(&input.bytes, &chunks)
        );
        group.throughput(Throughput::Bytes(input.bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("ours", input.name), &chunks, |b, ch| {
            b.iter(|| ours_chunked(black_box(&input.bytes), ch))
        });
        group.bench_with_input(
            BenchmarkId::new("aws_smithy", input.name),
            &chunks,
            |b, ch| b.iter(|| smithy_chunked(black_box(&input.bytes), ch)),
        );
    }
    group.finish();

    let mut group = c.benchmark_group("pipeline");
    let bedrock = &inputs[0];
    let shared = Bytes::from(bedrock.bytes.clone());
    assert_eq!(ours_pipeline(&bedrock.bytes), smithy_pipeline(&shared));
    group.throughput(Throughput::Bytes(bedrock.bytes.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("ours", bedrock.name),
        &bedrock.bytes,
        |b, s| b.iter(|| ours_pipeline(black_box(s))),
    );
    group.bench_with_input(
        BenchmarkId::new("aws_smithy_serde_base64", bedrock.name),
        &shared,
        |b, s| b.iter(|| smithy_pipeline(black_box(s))),
    );
    group.finish();
}

/// Mean time of one criterion result, from the files criterion just wrote.
fn mean_ns(group: &str, function: &str, input: &str) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path = dir
        .join("criterion")
        .join(group)
        .join(function)
        .join(input)
        .join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

fn print_ratios() {
    let sizes: Vec<(&str, usize)> = inputs().iter().map(|i| (i.name, i.bytes.len())).collect();
    let rows: [(&str, &str, &str, f64); 5] = [
        ("whole_buffer", "ours", "aws_smithy", 10.0),
        ("whole_buffer", "ours", "crc_floor", 2.0 / 3.0),
        ("chunked", "ours", "aws_smithy", 5.0),
        ("pipeline", "ours", "aws_smithy_serde_base64", 2.5),
        ("", "", "", 0.0),
    ];
    println!();
    println!("| benchmark | input | ours GB/s | reference | reference GB/s | ratio | target |");
    println!("|---|---|---|---|---|---|---|");
    for (group, ours, reference, target) in rows.iter().filter(|r| !r.0.is_empty()) {
        for (input, len) in &sizes {
            let (Some(a), Some(b)) = (
                mean_ns(group, ours, input),
                mean_ns(group, reference, input),
            ) else {
                continue;
            };
            let gbps = |ns: f64| *len as f64 / ns;
            let ratio = b / a;
            let verdict = if ratio >= *target { "met" } else { "MISSED" };
            println!(
                "| {group} | {input} | {:.2} | {reference} | {:.2} | {ratio:.2}x | >= {target:.2}x {verdict} |",
                gbps(a),
                gbps(b)
            );
        }
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    benches(&mut c);
    c.final_summary();
    print_ratios();
}
