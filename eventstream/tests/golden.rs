//! Golden frames, written by the reference encoder (aws-smithy-eventstream)
//! and kept as files under `tests/data/`, and one test per decode error kind.
//!
//! The files are regenerated in memory on every run and compared with what
//! is checked in; `BLESS=1 cargo test -p bedrock-eventstream --test golden`
//! rewrites them after an intended change.

mod common;

use std::path::PathBuf;

use base64::Engine as _;
use bedrock_eventstream::anthropic::{Delta, StreamEvent};
use bedrock_eventstream::bedrock::{EventReader, ExceptionKind, ReadError};
use bedrock_eventstream::{DecodeErrorKind, Decoder, Limits, decode_frame};
use common::{OwnedFrame, Value, fix_crcs, ours_decode_all, smithy_encode};

fn s(name: &str, v: &str) -> (String, Value) {
    (name.to_owned(), Value::String(v.to_owned()))
}

fn all_header_types() -> Vec<(String, Value)> {
    vec![
        ("true".into(), Value::Bool(true)),
        ("false".into(), Value::Bool(false)),
        ("byte".into(), Value::Byte(-2)),
        ("int16".into(), Value::Int16(-300)),
        ("int32".into(), Value::Int32(70_000)),
        ("int64".into(), Value::Int64(-5_000_000_000)),
        ("bytes".into(), Value::Bytes(vec![0, 0xff, 0x80, 7])),
        s("string", "application/json"),
        ("timestamp".into(), Value::Timestamp(1_795_623_841_777)),
        ("uuid".into(), Value::Uuid(*b"0123456789abcdef")),
    ]
}

fn chunk_headers() -> Vec<(String, Value)> {
    vec![
        s(":event-type", "chunk"),
        s(":content-type", "application/json"),
        s(":message-type", "event"),
    ]
}

/// A real-shaped Bedrock response: each event base64'd into a chunk with padding.
fn bedrock_events() -> Vec<StreamEvent> {
    let json = [
        r#"{"type":"message_start","message":{"id":"msg_bdrk_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", world"}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":4}}"#,
        r#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":4,"invocationLatency":640,"firstByteLatency":210}}"#,
    ];
    json.iter()
        .map(|j| StreamEvent::from_json(j.as_bytes()).unwrap())
        .collect()
}

fn bedrock_stream() -> Vec<u8> {
    let mut out = Vec::new();
    for (i, event) in bedrock_events().iter().enumerate() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(event.to_json());
        let padding = &"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123"[..10 + i * 5];
        let payload = format!(r#"{{"bytes":"{b64}","p":"{padding}"}}"#);
        out.extend(smithy_encode(&chunk_headers(), payload.as_bytes()));
    }
    out
}

fn valid() -> Vec<u8> {
    smithy_encode(&all_header_types(), br#"{"message":"hello"}"#)
}

/// Every golden file: name and the bytes it must hold.
fn golden_files() -> Vec<(&'static str, Vec<u8>)> {
    let mut files = vec![
        ("all_header_types.bin", valid()),
        ("empty.bin", smithy_encode(&[], b"")),
        (
            "utf8_headers.bin",
            smithy_encode(&[s("größe", "日本語 ✓")], "ünïcode payload".as_bytes()),
        ),
        ("bedrock_stream.bin", bedrock_stream()),
        (
            "bedrock_model_stream_error.bin",
            smithy_encode(
                &[
                    s(":exception-type", "modelStreamErrorException"),
                    s(":content-type", "application/json"),
                    s(":message-type", "exception"),
                ],
                br#"{"message":"Model stream error","originalStatusCode":500,"originalMessage":"upstream failure"}"#,
            ),
        ),
    ];
    // Hostile inputs: reference frames with one thing made wrong.
    let mut bad_prelude = valid();
    bad_prelude[9] ^= 0x01;
    files.push(("bad_prelude_crc.bin", bad_prelude));

    let mut bad_message = valid();
    let last = bad_message.len() - 1;
    bad_message[last] ^= 0x80;
    files.push(("bad_message_crc.bin", bad_message));

    let mut payload_flip = valid();
    let mid = payload_flip.len() - 8;
    payload_flip[mid] ^= 0x04;
    files.push(("payload_bit_flip.bin", payload_flip));

    // A prelude with a valid checksum announcing 4 GiB - 1: the decoder must
    // refuse it without allocating.
    files.push(("forged_length.bin", forged_prelude(u32::MAX, 0)));
    // Valid checksum, but a total below the 16-byte minimum.
    files.push(("short_total.bin", forged_prelude(15, 0)));
    // Headers length larger than the frame.
    files.push(("headers_overrun_frame.bin", forged_prelude(32, 20)));

    let mut bad_type = smithy_encode(&[s("x", "y")], b"");
    bad_type[12 + 1 + 1] = 10; // type byte of header "x"
    fix_crcs(&mut bad_type);
    files.push(("bad_header_type.bin", bad_type));

    let mut bad_utf8 = smithy_encode(&[s("x", "ab")], b"");
    bad_utf8[12 + 1 + 1 + 1 + 2] = 0xC3; // first value byte: a lone lead byte
    fix_crcs(&mut bad_utf8);
    files.push(("bad_utf8_value.bin", bad_utf8));

    let mut overrun = smithy_encode(&[s("x", "abc")], b"payload");
    overrun[12 + 1 + 1 + 1 + 1] = 200; // string length runs past the headers
    fix_crcs(&mut overrun);
    files.push(("header_value_overrun.bin", overrun));

    let whole = valid();
    files.push(("truncated.bin", whole[..whole.len() - 5].to_vec()));
    files
}

fn forged_prelude(total: u32, headers: u32) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&headers.to_be_bytes());
    p.extend_from_slice(&crc32fast::hash(&p).to_be_bytes());
    p.extend_from_slice(&[0u8; 20]);
    p
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(data_dir().join(name)).unwrap_or_else(|e| panic!("tests/data/{name}: {e}"))
}

#[test]
fn golden_files_match_the_reference_encoder() {
    let bless = std::env::var_os("BLESS").is_some();
    for (name, bytes) in golden_files() {
        let path = data_dir().join(name);
        if bless {
            std::fs::write(&path, &bytes).unwrap();
        }
        assert_eq!(
            std::fs::read(&path).ok().as_deref(),
            Some(&bytes[..]),
            "tests/data/{name} differs from the reference encoder's output; rerun with BLESS=1"
        );
    }
}

fn decode_err(name: &str) -> bedrock_eventstream::DecodeError {
    ours_decode_all(&golden(name), 1 << 20).expect_err(name)
}

#[test]
fn all_ten_header_types_decode_as_the_reference_wrote_them() {
    let frames = ours_decode_all(&golden("all_header_types.bin"), 1 << 20).unwrap();
    let expected: Vec<OwnedFrame> = vec![(all_header_types(), br#"{"message":"hello"}"#.to_vec())];
    assert_eq!(frames, expected);
    // And our encoder writes the very same bytes.
    let mut ours = Vec::new();
    bedrock_eventstream::encode(
        &common::borrowed(&all_header_types()),
        br#"{"message":"hello"}"#,
        &mut ours,
    )
    .unwrap();
    assert_eq!(ours, golden("all_header_types.bin"));
}

#[test]
fn empty_frame_and_utf8_headers() {
    let frame_bytes = golden("empty.bin");
    assert_eq!(frame_bytes.len(), 16);
    let frame = decode_frame(&frame_bytes).unwrap();
    assert_eq!((frame.header_count(), frame.payload()), (0, &b""[..]));

    let bytes = golden("utf8_headers.bin");
    let frame = decode_frame(&bytes).unwrap();
    assert_eq!(frame.str_header("größe"), Some("日本語 ✓"));
}

#[test]
fn bedrock_stream_yields_the_anthropic_events() {
    let bytes = golden("bedrock_stream.bin");
    let mut decoder = Decoder::new();
    let mut reader = EventReader::new();
    let mut input = &bytes[..];
    let mut events = Vec::new();
    while let Some(frame) = decoder.decode(&mut input).unwrap() {
        events.push(reader.read(&frame).unwrap());
    }
    decoder.finish().unwrap();
    assert_eq!(events, bedrock_events());
    assert!(matches!(
        &events[2],
        StreamEvent::ContentBlockDelta { delta: Delta::Text { text }, .. } if text == "Hello"
    ));
}

#[test]
fn model_stream_error_carries_the_original_status() {
    let bytes = golden("bedrock_model_stream_error.bin");
    let frame = decode_frame(&bytes).unwrap();
    let ReadError::Exception(e) = EventReader::new().read(&frame).unwrap_err() else {
        panic!("not an exception")
    };
    assert_eq!(e.kind(), ExceptionKind::ModelStreamError);
    assert_eq!(e.message, "Model stream error");
    assert_eq!(e.original_status_code, Some(500));
    assert_eq!(e.original_message.as_deref(), Some("upstream failure"));
}

#[test]
fn prelude_crc() {
    let e = decode_err("bad_prelude_crc.bin");
    assert_eq!((e.kind(), e.offset()), (DecodeErrorKind::PreludeCrc, 0));
    assert!(
        e.to_string()
            .starts_with("prelude checksum mismatch at byte 0"),
        "{e}"
    );
}

#[test]
fn message_crc() {
    for name in ["bad_message_crc.bin", "payload_bit_flip.bin"] {
        assert_eq!(
            decode_err(name).kind(),
            DecodeErrorKind::MessageCrc,
            "{name}"
        );
    }
}

#[test]
fn forged_length_is_refused_before_any_allocation() {
    let bytes = golden("forged_length.bin");
    let mut decoder = Decoder::new();
    let mut input = &bytes[..];
    let e = decoder.decode(&mut input).unwrap_err();
    assert_eq!(e.kind(), DecodeErrorKind::TooLarge);
    assert_eq!(decoder.buffer_capacity(), 0);
    assert!(
        e.to_string()
            .contains("4294967295 bytes, the limit is 16777216"),
        "{e}"
    );

    // The same prelude dribbled in byte by byte: refused at byte 12.
    let mut decoder = Decoder::new();
    let mut fed = 0;
    let err = loop {
        let mut one = &bytes[fed..fed + 1];
        fed += 1;
        match decoder.decode(&mut one) {
            Ok(None) => continue,
            Ok(Some(_)) => panic!("accepted a forged frame"),
            Err(e) => break e,
        }
    };
    assert_eq!((err.kind(), fed), (DecodeErrorKind::TooLarge, 12));
    assert!(decoder.buffer_capacity() <= 12);
}

/// A frame gathered from pieces takes memory as its bytes arrive, not as its
/// prelude announces: a peer that promises 16 MiB and sends 100 bytes costs
/// about 100 bytes. After a large frame the memory is given back.
#[test]
fn memory_follows_the_bytes_that_arrived() {
    let payload = vec![b'x'; 1 << 20];
    let mut big = Vec::new();
    bedrock_eventstream::encode(&[], &payload, &mut big).unwrap();
    let mut decoder = Decoder::new();
    let mut fed = &big[..100];
    assert!(decoder.decode(&mut fed).unwrap().is_none());
    assert!(
        decoder.buffer_capacity() <= 100,
        "{}",
        decoder.buffer_capacity()
    );
    for mut piece in big[100..].chunks(4096) {
        while let Some(frame) = decoder.decode(&mut piece).unwrap() {
            assert_eq!(frame.payload().len(), payload.len());
        }
        assert!(decoder.buffer_capacity() <= big.len());
    }
    let small = golden("empty.bin");
    let mut input = &small[..];
    assert!(decoder.decode(&mut input).unwrap().is_some());
    assert_eq!(decoder.buffer_capacity(), 0);
}

#[test]
fn limits_are_configurable() {
    let bytes = golden("all_header_types.bin");
    let mut small = Decoder::with_limits(Limits::AWS.with_max_message_len(64));
    let mut input = &bytes[..];
    assert_eq!(
        small.decode(&mut input).unwrap_err().kind(),
        DecodeErrorKind::TooLarge
    );
    let mut few_headers = Decoder::with_limits(Limits::AWS.with_max_headers_len(16));
    let mut input = &bytes[..];
    let e = few_headers.decode(&mut input).unwrap_err();
    assert_eq!(e.kind(), DecodeErrorKind::TooLarge);
    assert!(e.to_string().contains("headers section"), "{e}");
}

#[test]
fn impossible_lengths() {
    for name in ["short_total.bin", "headers_overrun_frame.bin"] {
        let e = decode_err(name);
        assert_eq!(
            (e.kind(), e.offset()),
            (DecodeErrorKind::BadLength, 0),
            "{name}"
        );
    }
}

#[test]
fn header_type() {
    let e = decode_err("bad_header_type.bin");
    assert_eq!((e.kind(), e.offset()), (DecodeErrorKind::BadHeaderType, 12));
    assert_eq!(
        e.to_string(),
        "unknown header value type at byte 12: header #1 has type byte 10, valid types are 0 to 9"
    );
}

#[test]
fn header_utf8() {
    assert_eq!(
        decode_err("bad_utf8_value.bin").kind(),
        DecodeErrorKind::BadUtf8
    );
}

#[test]
fn header_overrun() {
    assert_eq!(
        decode_err("header_value_overrun.bin").kind(),
        DecodeErrorKind::BadHeader
    );
}

#[test]
fn truncated_stream_is_never_a_clean_end() {
    let bytes = golden("truncated.bin");
    let e = decode_err("truncated.bin");
    assert_eq!((e.kind(), e.offset()), (DecodeErrorKind::Truncated, 0));
    assert!(
        e.to_string()
            .starts_with("Truncated event message received at byte 0"),
        "{e}"
    );
    // Ending inside the prelude, after a whole frame.
    let mut stream = golden("empty.bin");
    stream.extend_from_slice(&bytes[..7]);
    let e = ours_decode_all(&stream, 3).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (DecodeErrorKind::Truncated, 16));
    // decode_frame on a short buffer says the same.
    assert_eq!(
        decode_frame(&bytes).unwrap_err().kind(),
        DecodeErrorKind::Truncated
    );
}

#[test]
fn errors_report_the_offset_of_the_failing_frame_in_the_stream() {
    let mut stream = golden("bedrock_stream.bin");
    let good = stream.len() as u64;
    stream.extend(golden("bad_header_type.bin"));
    for chunk in [1, 7, 1 << 20] {
        let e = ours_decode_all(&stream, chunk).unwrap_err();
        assert_eq!(
            (e.kind(), e.offset()),
            (DecodeErrorKind::BadHeaderType, good + 12)
        );
    }
}

#[test]
fn an_error_poisons_the_decoder() {
    let mut stream = golden("bad_prelude_crc.bin");
    stream.extend(golden("empty.bin"));
    let mut decoder = Decoder::new();
    let mut input = &stream[..];
    let first = decoder.decode(&mut input).unwrap_err();
    let mut rest = &golden("empty.bin")[..];
    assert_eq!(decoder.decode(&mut rest).unwrap_err(), first);
    assert_eq!(decoder.finish().unwrap_err(), first);
}

#[test]
fn trailing_bytes_after_a_single_frame() {
    let mut bytes = golden("empty.bin");
    bytes.push(0);
    let e = decode_frame(&bytes).unwrap_err();
    assert_eq!(e.kind(), DecodeErrorKind::BadLength);
    assert!(
        e.to_string().contains("use `Decoder`") || e.to_string().contains("with `Decoder`"),
        "{e}"
    );
}

#[test]
fn frames_that_arrive_whole_are_not_copied() {
    let bytes = golden("bedrock_stream.bin");
    let mut decoder = Decoder::new();
    let mut input = &bytes[..];
    let range = bytes.as_ptr_range();
    while let Some(frame) = decoder.decode(&mut input).unwrap() {
        assert!(
            range.contains(&frame.payload().as_ptr()),
            "payload was copied"
        );
    }
    // Split mid-frame: that frame is gathered in the decoder, the next one
    // (whole in the second piece) is lent from the input again.
    let first_len = decode_len(&bytes);
    let split = first_len + 20;
    let (a, b) = bytes.split_at(split);
    let mut decoder = Decoder::new();
    let mut input = a;
    assert!(decoder.decode(&mut input).unwrap().is_some());
    assert!(decoder.decode(&mut input).unwrap().is_none());
    let mut input = b;
    let gathered = decoder.decode(&mut input).unwrap().unwrap();
    assert!(!b.as_ptr_range().contains(&gathered.payload().as_ptr()));
    let lent = decoder.decode(&mut input).unwrap().unwrap();
    assert!(b.as_ptr_range().contains(&lent.payload().as_ptr()));
}

fn decode_len(bytes: &[u8]) -> usize {
    u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize
}
