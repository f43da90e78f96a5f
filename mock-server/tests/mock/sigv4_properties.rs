//! SigV4 as a property: any request the AWS SDKs' signer (aws-sigv4)
//! signs, with any method, reserved characters in the path, any query,
//! extra headers, body and region, is accepted; any single change to a
//! signed part (a header, the path, the query, the body, the date) is
//! refused, as AWS refuses it.

use aws_sdk_bedrockruntime::config::Credentials;
use bedrock_mock_server::{
    Clock, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, MockBedrock, ServerConfig,
};
use proptest::prelude::*;

use crate::common::{SIGNATURE_MISMATCH, ToSign, as_pairs, send, sign_headers, signing_time};

const REGIONS: &[&str] = &["us-east-1", "eu-west-1", "ap-northeast-1"];

/// Model ids with the characters clients disagree on (`:` raw or
/// encoded, `.`), as the real catalogue has them.
const MODELS: &[&str] = &[
    "us.anthropic.claude-opus-5-5",
    "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "global.anthropic.claude-haiku-4-5-20251001-v1:0",
];

/// One change to a signed part of a request.
#[derive(Debug, Clone, Copy)]
enum Tamper {
    Nothing,
    HeaderValue,
    Path,
    Query,
    Body,
    Date,
}

#[derive(Debug, Clone)]
struct Case {
    invoke: bool,
    model: &'static str,
    region: &'static str,
    query: Vec<(String, String)>,
    extra: Vec<(String, String)>,
    body: String,
    tamper: Tamper,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<bool>(),
        prop::sample::select(MODELS),
        prop::sample::select(REGIONS),
        prop::collection::vec(("[a-zA-Z]{1,8}", "[a-zA-Z0-9 ~.:/+=_-]{0,12}"), 0..3),
        prop::collection::vec(("x-test-[a-z]{1,6}", "[a-zA-Z0-9 ;,=./:+-]{1,20}"), 0..3),
        "[a-zA-Z0-9 ,.!?é]{0,40}",
        prop::sample::select(&[
            Tamper::Nothing,
            Tamper::HeaderValue,
            Tamper::Path,
            Tamper::Query,
            Tamper::Body,
            Tamper::Date,
        ][..]),
    )
        .prop_map(|(invoke, model, region, query, extra, text, tamper)| Case {
            invoke,
            model,
            region,
            query,
            extra,
            body: serde_json::json!({
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": if text.is_empty() { "hi".to_owned() } else { text }}],
            })
            .to_string(),
            tamper,
        })
}

/// `%`-encodes a query component the way the SDKs send it.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn signed_requests_pass_and_any_signed_change_is_refused(case in case()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let now = signing_time();
            let mut config = ServerConfig::default();
            for region in REGIONS {
                config = config.region(*region);
            }
            let server = MockBedrock::builder()
                .config(config)
                .clock(Clock::fixed(now))
                .start()
                .await
                .unwrap();
            let address = server.address();
            let (method, path) = if case.invoke {
                // The SDKs send `:` percent-encoded in the path.
                ("POST", format!("/model/{}/invoke", case.model.replace(':', "%3A")))
            } else {
                ("GET", "/inference-profiles".to_owned())
            };
            let mut query: Vec<String> = case
                .query
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            query.sort();
            let query = query.join("&");
            let target = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
            let url = format!("http://{address}{target}");
            let body: &[u8] = if case.invoke { case.body.as_bytes() } else { b"" };
            let mut headers = vec![("host".to_owned(), address.to_string())];
            if case.invoke {
                headers.push(("content-type".to_owned(), "application/json".to_owned()));
            }
            headers.extend(case.extra.iter().cloned());
            let signed = sign_headers(
                &ToSign {
                    method,
                    url: &url,
                    headers: &headers,
                    body,
                    region: case.region,
                    service: "bedrock",
                    time: now,
                },
                Credentials::new(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, None, None, "test"),
            );
            let mut sent_headers = signed.clone();
            let mut sent_target = target.clone();
            let mut sent_body = body.to_vec();
            let tampered = match case.tamper {
                Tamper::Nothing => false,
                Tamper::HeaderValue => {
                    // An extra header when there is one, else `host`: both
                    // are signed.
                    let name = case.extra.first().map_or("host", |(n, _)| n.as_str()).to_owned();
                    for (n, v) in &mut sent_headers {
                        if *n == name {
                            v.push_str(if name == "host" { "0" } else { "x" });
                        }
                    }
                    true
                }
                Tamper::Path => {
                    sent_target = sent_target.replacen("/model/", "/model/x", 1).replacen("/inference-profiles", "/inference-profiles/x", 1);
                    true
                }
                Tamper::Query => {
                    sent_target = if query.is_empty() {
                        format!("{path}?maxResults=5")
                    } else {
                        format!("{path}?{query}&maxResults=5")
                    };
                    true
                }
                Tamper::Body if case.invoke => {
                    sent_body.push(b' ');
                    true
                }
                Tamper::Body => false,
                Tamper::Date => {
                    for (n, v) in &mut sent_headers {
                        if n == "x-amz-date" {
                            // A second later: inside the skew window, but
                            // no longer the time that was signed.
                            // `20261125T120401Z`: the seconds' last digit.
                            let zulu = v.pop();
                            let digit = v.pop().unwrap_or('0');
                            v.push(if digit == '9' { '8' } else { char::from(digit as u8 + 1) });
                            v.extend(zulu);
                        }
                    }
                    true
                }
            };
            let answer = send(address, method, &sent_target, &as_pairs(&sent_headers), &sent_body).await;
            let journal = server.received_requests();
            let record = journal.last().expect("the request is journaled");
            if tampered {
                prop_assert_eq!(answer.status, 403, "{:?}: {}", case.tamper, answer.text());
                prop_assert!(!record.auth.accepted, "{:?} was accepted", case.tamper);
                // AWS's answer to a signature that does not match.
                prop_assert_eq!(record.error_type.as_deref(), Some("InvalidSignatureException"));
                prop_assert!(answer.text().contains(SIGNATURE_MISMATCH),
                    "{}", answer.text());
            } else {
                prop_assert!(record.auth.accepted, "refused: {:?} {}", record.auth.reason, answer.text());
                // Past authentication: the operation answers (an `eu.`
                // profile from us-east-1 is the operation's 400, not a
                // refusal of the signature).
                prop_assert_ne!(answer.status, 403, "{}", answer.text());
                prop_assert_eq!(record.auth.region.as_deref(), Some(case.region));
            }
            Ok(())
        })?;
    }
}
