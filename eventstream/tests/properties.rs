//! Property tests: round trips, independence from how input is split, and a
//! differential check against aws-smithy-eventstream on valid and damaged
//! streams.

mod common;

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use bedrock_eventstream::{DecodeErrorKind, Decoder, Limits, encode};
use bytes::BytesMut;
use common::{
    OwnedFrame, Value, borrowed, fix_crcs, ours_decode_all, smithy_decode_all, smithy_encode,
};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i8>().prop_map(Value::Byte),
        any::<i16>().prop_map(Value::Int16),
        any::<i32>().prop_map(Value::Int32),
        any::<i64>().prop_map(Value::Int64),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        ".{0,30}".prop_map(Value::String),
        // DateTime in the reference keeps milliseconds exactly in this range.
        (-(1i64 << 50)..(1i64 << 50)).prop_map(Value::Timestamp),
        any::<[u8; 16]>().prop_map(Value::Uuid),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, Value)>> {
    prop::collection::vec(("[:a-zA-Z0-9é-]{0,20}", value()), 0..6)
}

fn frame() -> impl Strategy<Value = OwnedFrame> {
    (headers(), prop::collection::vec(any::<u8>(), 0..400))
}

fn stream() -> impl Strategy<Value = (Vec<OwnedFrame>, Vec<u8>)> {
    prop::collection::vec(frame(), 1..5).prop_map(|frames| {
        let bytes = frames
            .iter()
            .flat_map(|(h, p)| smithy_encode(h, p))
            .collect();
        (frames, bytes)
    })
}

/// Decodes with ours, splitting the input at the given sizes (cycled).
fn ours_split(
    stream: &[u8],
    sizes: &[usize],
) -> Result<Vec<OwnedFrame>, bedrock_eventstream::DecodeError> {
    let mut decoder = Decoder::new();
    let mut frames = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < stream.len() {
        let n = sizes[i % sizes.len()].max(1).min(stream.len() - at);
        i += 1;
        let mut piece = &stream[at..at + n];
        at += n;
        while let Some(frame) = decoder.decode(&mut piece)? {
            frames.push(common::owned(&frame));
        }
        assert!(
            piece.is_empty(),
            "decode returned None before using its input"
        );
    }
    decoder.finish()?;
    Ok(frames)
}

/// Ways to damage a stream.
#[derive(Debug, Clone)]
enum Damage {
    FlipBit(usize, u8),
    Cut(usize),
    /// Overwrite the first frame's total length and recompute both CRCs
    /// where the new length puts them, so the forged length is believed.
    ForgeTotal(u32),
    /// Overwrite the first frame's headers length, CRCs recomputed.
    ForgeHeadersLen(u32),
    /// Flip a bit in the first frame and recompute both CRCs, so only the
    /// structural checks can catch it.
    FlipBitKeepCrcs(usize, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(p, b)| Damage::FlipBit(p, b)),
        any::<usize>().prop_map(Damage::Cut),
        prop_oneof![any::<u32>(), 0u32..600].prop_map(Damage::ForgeTotal),
        prop_oneof![any::<u32>(), 0u32..600].prop_map(Damage::ForgeHeadersLen),
        (any::<usize>(), 0u8..8).prop_map(|(p, b)| Damage::FlipBitKeepCrcs(p, b)),
    ]
}

fn apply(mut bytes: Vec<u8>, damage: &Damage) -> Vec<u8> {
    let first_len = (u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize).min(bytes.len());
    match *damage {
        Damage::FlipBit(p, b) => {
            let p = p % bytes.len();
            bytes[p] ^= 1 << b;
        }
        Damage::Cut(p) => bytes.truncate(p % bytes.len()),
        Damage::ForgeTotal(v) | Damage::ForgeHeadersLen(v) => {
            let at = if matches!(damage, Damage::ForgeTotal(_)) {
                0
            } else {
                4
            };
            bytes[at..at + 4].copy_from_slice(&v.to_be_bytes());
            let total = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
            if (16..=bytes.len()).contains(&total) {
                fix_crcs(&mut bytes[..total]);
            } else {
                let crc = crc32fast::hash(&bytes[..8]);
                bytes[8..12].copy_from_slice(&crc.to_be_bytes());
            }
        }
        Damage::FlipBitKeepCrcs(p, b) => {
            // Leave the lengths alone: this damage is about the headers.
            let p = 12 + p % (first_len - 16).max(1);
            if p < first_len - 4 {
                bytes[p] ^= 1 << b;
                fix_crcs(&mut bytes[..first_len]);
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_is_identity(frames in prop::collection::vec(frame(), 1..5)) {
        let mut wire = Vec::new();
        for (h, p) in &frames {
            encode(&borrowed(h), p, &mut wire).unwrap();
        }
        prop_assert_eq!(ours_decode_all(&wire, usize::MAX).unwrap(), frames.clone());
        // The reference reads our frames the same way, and writes the same bytes.
        prop_assert_eq!(smithy_decode_all(&wire, usize::MAX).unwrap(), frames.clone());
        let reference: Vec<u8> = frames.iter().flat_map(|(h, p)| smithy_encode(h, p)).collect();
        prop_assert_eq!(wire, reference);
    }

    #[test]
    fn decoding_does_not_depend_on_how_input_is_split(
        (_, bytes) in stream(),
        damage in prop::option::of(damage()),
        sizes in prop::collection::vec(1usize..80, 1..20),
    ) {
        let bytes = match &damage { Some(d) => apply(bytes, d), None => bytes };
        let whole = ours_decode_all(&bytes, usize::MAX);
        prop_assert_eq!(ours_split(&bytes, &sizes), whole.clone());
        prop_assert_eq!(ours_split(&bytes, &[1]), whole);
    }

    #[test]
    fn agrees_with_the_reference_on_valid_streams((frames, bytes) in stream(), chunk in 1usize..100) {
        prop_assert_eq!(ours_decode_all(&bytes, chunk).unwrap(), frames.clone());
        prop_assert_eq!(smithy_decode_all(&bytes, chunk).unwrap(), frames);
    }

    #[test]
    fn agrees_with_the_reference_on_damaged_streams((_, bytes) in stream(), damage in damage(), chunk in 1usize..100) {
        let bytes = apply(bytes, &damage);
        let ours = ours_decode_all(&bytes, chunk);
        let reference = smithy_decode_all(&bytes, chunk);
        match (&ours, &reference) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            _ => prop_assert!(false, "ours {:?} vs reference {:?} on {:?}", ours, reference, damage),
        }
    }

    #[test]
    fn garbage_never_panics_and_never_buffers_past_the_limit(
        bytes in prop::collection::vec(any::<u8>(), 0..2000),
        chunk in 1usize..64,
    ) {
        let limits = Limits::new(256, 64);
        let mut decoder = Decoder::with_limits(limits);
        for mut piece in bytes.chunks(chunk) {
            while let Ok(Some(_)) = decoder.decode(&mut piece) {}
            prop_assert!(decoder.buffer_capacity() <= 256);
        }
    }
}

// Where we differ from the reference on purpose.

/// The reference decoder believes a prelude's length until that many bytes
/// have arrived, and only then checks the prelude CRC; a peer can make it
/// wait (and its caller buffer) for up to 4 GiB. We check the CRC and the
/// limits as soon as the 12 prelude bytes are in, and refuse at once. Both
/// reject the stream in the end; we do it without buffering.
#[test]
fn we_reject_a_forged_length_before_the_reference_does() {
    for fix_crc in [false, true] {
        let mut forged = Vec::new();
        forged.extend_from_slice(&(1u32 << 30).to_be_bytes());
        forged.extend_from_slice(&0u32.to_be_bytes());
        let crc = if fix_crc {
            crc32fast::hash(&forged)
        } else {
            0xdead_beef
        };
        forged.extend_from_slice(&crc.to_be_bytes());
        forged.extend_from_slice(&[0u8; 100]);

        let mut reference = MessageFrameDecoder::new();
        let mut buf = BytesMut::from(&forged[..]);
        assert!(matches!(
            reference.decode_frame(&mut buf),
            Ok(DecodedFrame::Incomplete)
        ));

        let mut input = &forged[..];
        let err = Decoder::new().decode(&mut input).unwrap_err();
        let expected = if fix_crc {
            DecodeErrorKind::TooLarge
        } else {
            DecodeErrorKind::PreludeCrc
        };
        assert_eq!(err.kind(), expected);
    }
}

/// The reference has no size limit; we apply AWS's 16 MiB by default. A
/// caller that needs more raises the limit.
#[test]
fn frames_over_16_mib_need_a_raised_limit() {
    let payload = vec![7u8; 16 * 1024 * 1024];
    let bytes = smithy_encode(&[], &payload);
    assert_eq!(
        smithy_decode_all(&bytes, usize::MAX).unwrap()[0].1.len(),
        payload.len()
    );
    assert_eq!(
        ours_decode_all(&bytes, usize::MAX).unwrap_err().kind(),
        DecodeErrorKind::TooLarge
    );
    let mut decoder = Decoder::with_limits(Limits::AWS.with_max_message_len(u32::MAX));
    let mut input = &bytes[..];
    assert_eq!(
        decoder.decode(&mut input).unwrap().unwrap().payload().len(),
        payload.len()
    );
}

/// The reference decoder accepts any headers length that fits in the frame;
/// we apply AWS's 128 KiB (aws-c-event-stream's limit) by default. The
/// reference's own encoder writes such frames (five 32 KiB strings), AWS
/// services do not.
#[test]
fn headers_over_128_kib_need_a_raised_limit() {
    let big = "v".repeat(32_767);
    let headers: Vec<(String, Value)> = (0..5)
        .map(|i| (format!("h{i}"), Value::String(big.clone())))
        .collect();
    let bytes = smithy_encode(&headers, b"");
    assert_eq!(smithy_decode_all(&bytes, usize::MAX).unwrap()[0].0.len(), 5);
    let e = ours_decode_all(&bytes, usize::MAX).unwrap_err();
    assert_eq!(e.kind(), DecodeErrorKind::TooLarge);
    assert!(e.to_string().contains("headers section"), "{e}");
    let mut decoder = Decoder::with_limits(Limits::AWS.with_max_headers_len(1 << 20));
    let mut input = &bytes[..];
    assert_eq!(
        decoder.decode(&mut input).unwrap().unwrap().header_count(),
        5
    );
}

/// Our encoder refuses what AWS implementations refuse, instead of writing a
/// frame the other side will reject.
#[test]
fn encoder_limits() {
    use bedrock_eventstream::{EncodeErrorKind, Header, HeaderValue};
    let mut out = Vec::new();
    let long_name = "n".repeat(256);
    let e = encode(
        &[Header {
            name: &long_name,
            value: HeaderValue::Bool(true),
        }],
        b"",
        &mut out,
    )
    .unwrap_err();
    assert_eq!(e.kind(), EncodeErrorKind::HeaderNameTooLong);
    let long_value = "v".repeat(32_768);
    let e = encode(&[Header::string("x", &long_value)], b"", &mut out).unwrap_err();
    assert_eq!(e.kind(), EncodeErrorKind::HeaderValueTooLong);
    assert!(
        e.to_string()
            .contains("32768 bytes, AWS allows at most 32767"),
        "{e}"
    );
    let ok_value = "v".repeat(32_767);
    let many: Vec<Header<'_>> = (0..5).map(|_| Header::string("x", &ok_value)).collect();
    assert_eq!(
        encode(&many, b"", &mut out).unwrap_err().kind(),
        EncodeErrorKind::HeadersTooLong
    );
    let huge = vec![0u8; 16 * 1024 * 1024];
    assert_eq!(
        encode(&[], &huge, &mut out).unwrap_err().kind(),
        EncodeErrorKind::MessageTooLong
    );
    assert!(out.is_empty(), "a failed encode wrote bytes");
}
