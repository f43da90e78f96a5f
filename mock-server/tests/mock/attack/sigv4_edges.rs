//! SigV4 edge cases: each answered as AWS answers it, and where AWS's
//! answer is not known, refused (the mock's README says which). Each
//! request is signed correctly (by aws-sigv4, the AWS SDKs' signer, or by
//! hand where that signer cannot make it) and then altered; its neighbour
//! is the same request unaltered, which passes.

use std::time::Duration;

use aws_sdk_bedrockruntime::config::Credentials;
use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use bedrock_mock_server::{
    Clock, Credential, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, MockBedrock, ServerConfig,
};
use sha2::{Digest, Sha256};

use crate::common::{
    INVALID_TOKEN, RawResponse, SIGNATURE_MISMATCH, ToSign, as_pairs, example_credentials, send,
    sign_headers, signing_time,
};

/// 2026-11-25T16:24:01Z, the golden captures' signing time.
const SIGNED_AT: &str = "20261125T162401Z";
const PATH: &str = "/inference-profiles";
const SESSION_KEY_ID: &str = "ASIAEDGESESSION00001";
const SESSION_SECRET: &str = "edgeSessionSecretKey/abcdefghijklmnopqrstu";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEEdgeCaseSessionToken/////wEaCXVzLWVhc3QtMQ==";

/// A Bedrock server on a clock standing at [`SIGNED_AT`], with the example
/// key and a session credential.
async fn server() -> MockBedrock {
    let session = Credential::new(SESSION_KEY_ID, SESSION_SECRET)
        .session(SESSION_TOKEN, signing_time() + Duration::from_secs(3600));
    MockBedrock::builder()
        .config(ServerConfig::default().credential(session))
        .clock(Clock::fixed(signing_time()))
        .start()
        .await
        .unwrap()
}

/// `GET /inference-profiles` signed by aws-sigv4 for `credentials`.
fn signed(server: &MockBedrock, credentials: Credentials) -> Vec<(String, String)> {
    let host = server.address().to_string();
    sign_headers(
        &ToSign {
            method: "GET",
            url: &format!("http://{host}{PATH}"),
            headers: &[("host".to_owned(), host.clone())],
            body: b"",
            region: "us-east-1",
            service: "bedrock",
            time: signing_time(),
        },
        credentials,
    )
}

/// How Bedrock quotes a header it cannot read: SHA-256 of the value as
/// sent, in base64, never the value (users' reports: claude-code#45081).
fn hashed_tail(header: &str) -> String {
    use base64::Engine as _;
    format!(
        "(Hashed with SHA-256 and encoded with Base64) Authorization={}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(header.as_bytes()))
    )
}

fn session() -> Credentials {
    Credentials::new(
        SESSION_KEY_ID,
        SESSION_SECRET,
        Some(SESSION_TOKEN.to_owned()),
        None,
        "test",
    )
}

/// `GET /inference-profiles` signed by hand with the example key, over
/// exactly `signed` (name, value) headers in that order (names lower case,
/// sorted), the string to sign dated [`SIGNED_AT`]: for the requests
/// aws-sigv4 will not make (a date it does not sign, a `Date` header).
fn signed_by_hand(signed: &[(&str, &str)]) -> String {
    let names: Vec<&str> = signed.iter().map(|(n, _)| *n).collect();
    let canonical_headers: String = signed.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let canonical = format!(
        "GET\n{PATH}\n\n{canonical_headers}\n{}\n{}",
        names.join(";"),
        hex(&Sha256::digest(b""))
    );
    let scope = "20261125/us-east-1/bedrock/aws4_request";
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{SIGNED_AT}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = generate_signing_key(
        EXAMPLE_SECRET_ACCESS_KEY,
        signing_time(),
        "us-east-1",
        "bedrock",
    );
    let signature = calculate_signature(key, string_to_sign.as_bytes());
    format!(
        "AWS4-HMAC-SHA256 Credential={EXAMPLE_ACCESS_KEY_ID}/{scope}, SignedHeaders={}, Signature={signature}",
        names.join(";")
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of `name` among `headers`.
fn value<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
}

/// `headers` with `name`'s value replaced.
fn with(headers: &[(String, String)], name: &str, new: &str) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.clone(),
                if n == name { new.to_owned() } else { v.clone() },
            )
        })
        .collect()
}

async fn get(server: &MockBedrock, headers: &[(String, String)]) -> RawResponse {
    get_at(server, PATH, headers).await
}

async fn get_at(server: &MockBedrock, target: &str, headers: &[(String, String)]) -> RawResponse {
    send(server.address(), "GET", target, &as_pairs(headers), b"").await
}

/// Asserts the answer is Bedrock's `(status, code, message)` and the
/// journal shows the request refused for that reason.
fn assert_refused(server: &MockBedrock, r: &RawResponse, status: u16, code: &str, message: &str) {
    assert_eq!(
        r.bedrock_error(),
        (status, code.to_owned(), message.to_owned()),
        "{}",
        r.text()
    );
    let record = server.received_requests().pop().expect("journaled");
    assert!(!record.auth.accepted, "{:?}", record.auth);
    assert_eq!(
        record.auth.reason.as_deref(),
        Some(format!("{code}: {message}").as_str())
    );
}

fn assert_accepted(server: &MockBedrock, r: &RawResponse) {
    assert_eq!(r.status, 200, "{}", r.text());
    let record = server.received_requests().pop().expect("journaled");
    assert!(record.auth.accepted, "{:?}", record.auth);
}

#[tokio::test]
async fn the_signed_request_unaltered_is_accepted() {
    let server = server().await;
    let r = get(&server, &signed(&server, example_credentials())).await;
    assert_accepted(&server, &r);
    let r = get(&server, &signed(&server, session())).await;
    assert_accepted(&server, &r);
}

#[tokio::test]
async fn of_two_authorization_headers_the_first_is_read() {
    let server = server().await;
    let good = signed(&server, example_credentials());
    let authorization = value(&good, "authorization").to_owned();
    let bad = authorization.replacen("Signature=", "Signature=0", 1);
    let mut second_bad = good.clone();
    second_bad.push(("authorization".to_owned(), bad.clone()));
    let r = get(&server, &second_bad).await;
    assert_accepted(&server, &r);

    let mut first_bad = with(&good, "authorization", &bad);
    first_bad.push(("authorization".to_owned(), authorization));
    let r = get(&server, &first_bad).await;
    assert_refused(
        &server,
        &r,
        403,
        "InvalidSignatureException",
        SIGNATURE_MISMATCH,
    );
}

#[tokio::test]
async fn of_two_signature_parts_the_last_is_read() {
    let server = server().await;
    let good = signed(&server, example_credentials());
    let authorization = value(&good, "authorization");
    let wrong = format!("Signature={}", "0".repeat(64));
    let r = get(
        &server,
        &with(&good, "authorization", &format!("{authorization}, {wrong}")),
    )
    .await;
    assert_refused(
        &server,
        &r,
        403,
        "InvalidSignatureException",
        SIGNATURE_MISMATCH,
    );

    let (head, signature) = authorization.rsplit_once(", ").unwrap();
    let last_right = format!("{head}, {wrong}, {signature}");
    let r = get(&server, &with(&good, "authorization", &last_right)).await;
    assert_accepted(&server, &r);
}

#[tokio::test]
async fn a_session_token_sent_twice_is_refused() {
    let server = server().await;
    let mut headers = signed(&server, session());
    assert!(value(&headers, "authorization").contains("x-amz-security-token"));
    headers.push(("x-amz-security-token".to_owned(), SESSION_TOKEN.to_owned()));
    let r = get(&server, &headers).await;
    assert_refused(
        &server,
        &r,
        403,
        "UnrecognizedClientException",
        INVALID_TOKEN,
    );
}

#[tokio::test]
async fn a_lower_case_algorithm_is_unsupported() {
    let server = server().await;
    let good = signed(&server, example_credentials());
    let lower = value(&good, "authorization").replacen("AWS4-HMAC-SHA256", "aws4-hmac-sha256", 1);
    let r = get(&server, &with(&good, "authorization", &lower)).await;
    assert_refused(
        &server,
        &r,
        403,
        "IncompleteSignatureException",
        "Unsupported AWS 'algorithm': 'aws4-hmac-sha256'.",
    );
}

#[tokio::test]
async fn an_upper_case_signature_does_not_match() {
    let server = server().await;
    let good = signed(&server, example_credentials());
    let authorization = value(&good, "authorization");
    let (head, signature) = authorization.rsplit_once("Signature=").unwrap();
    let upper = format!("{head}Signature={}", signature.to_ascii_uppercase());
    assert_ne!(upper, authorization);
    let r = get(&server, &with(&good, "authorization", &upper)).await;
    assert_refused(
        &server,
        &r,
        403,
        "InvalidSignatureException",
        SIGNATURE_MISMATCH,
    );
}

#[tokio::test]
async fn the_date_header_must_be_signed() {
    let server = server().await;
    let host = server.address().to_string();
    // Signed correctly, over `host` only: the string to sign still holds
    // the date.
    let unsigned_date = vec![
        ("host".to_owned(), host.clone()),
        ("x-amz-date".to_owned(), SIGNED_AT.to_owned()),
        (
            "authorization".to_owned(),
            signed_by_hand(&[("host", &host)]),
        ),
    ];
    let r = get(&server, &unsigned_date).await;
    assert_refused(
        &server,
        &r,
        403,
        "InvalidSignatureException",
        "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
    );
    // Its neighbour, the same signed by hand over both, passes.
    let both = with(
        &unsigned_date,
        "authorization",
        &signed_by_hand(&[("host", &host), ("x-amz-date", SIGNED_AT)]),
    );
    let r = get(&server, &both).await;
    assert_accepted(&server, &r);
}

#[tokio::test]
async fn a_date_header_stands_in_for_x_amz_date_and_must_be_signed() {
    let server = server().await;
    let host = server.address().to_string();
    let dated = vec![
        ("host".to_owned(), host.clone()),
        ("date".to_owned(), SIGNED_AT.to_owned()),
        (
            "authorization".to_owned(),
            signed_by_hand(&[("date", SIGNED_AT), ("host", &host)]),
        ),
    ];
    let r = get(&server, &dated).await;
    assert_accepted(&server, &r);
    let unsigned = with(&dated, "authorization", &signed_by_hand(&[("host", &host)]));
    let r = get(&server, &unsigned).await;
    assert_refused(
        &server,
        &r,
        403,
        "InvalidSignatureException",
        "'Date' must be a 'SignedHeader' in the AWS Authorization.",
    );
    // An HTTP date is not ISO 8601 basic format.
    let http_date = with(&dated, "date", "Wed, 25 Nov 2026 16:24:01 GMT");
    let r = get(&server, &http_date).await;
    assert_refused(
        &server,
        &r,
        403,
        "IncompleteSignatureException",
        "Date must be in ISO-8601 'basic format'. Got 'Wed, 25 Nov 2026 16:24:01 GMT'. See http://en.wikipedia.org/wiki/ISO_8601",
    );
}

#[tokio::test]
async fn a_malformed_x_amz_date_is_named_as_not_iso_8601() {
    let server = server().await;
    let good = signed(&server, example_credentials());
    for date in ["2026-11-25T16:24:01Z", "201", "20261125T162401", ""] {
        let r = get(&server, &with(&good, "x-amz-date", date)).await;
        assert_refused(
            &server,
            &r,
            403,
            "IncompleteSignatureException",
            &format!(
                "Date must be in ISO-8601 'basic format'. Got '{date}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ),
        );
    }
    // No date at all is named with the parameters.
    let without: Vec<(String, String)> = good
        .iter()
        .filter(|(n, _)| n != "x-amz-date")
        .cloned()
        .collect();
    let r = get(&server, &without).await;
    assert_refused(
        &server,
        &r,
        403,
        "IncompleteSignatureException",
        &format!(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. {}",
            hashed_tail(value(&good, "authorization"))
        ),
    );
}

#[tokio::test]
async fn malformed_headers_get_aws_sentences_with_the_signature_hidden() {
    let server = server().await;
    let good = signed(&server, example_credentials());
    let authorization = value(&good, "authorization");
    let (_, signature) = authorization.rsplit_once(", Signature=").unwrap();

    // A part without `=`: AWS quotes it and the header.
    let spaced = authorization.replacen("Credential=", "Credential ", 1);
    let r = get(&server, &with(&good, "authorization", &spaced)).await;
    let (status, code, message) = r.bedrock_error();
    assert_eq!(
        (status, code.as_str()),
        (403, "IncompleteSignatureException")
    );
    assert!(
        message.starts_with(
            "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 "
        ),
        "{message}"
    );
    assert!(!message.contains(signature), "{message}");

    // A missing part.
    let no_signed_headers = authorization.replacen("SignedHeaders=host;x-amz-date, ", "", 1);
    let r = get(&server, &with(&good, "authorization", &no_signed_headers)).await;
    assert_refused(
        &server,
        &r,
        403,
        "IncompleteSignatureException",
        &format!(
            "Authorization header requires 'SignedHeaders' parameter. {}",
            hashed_tail(&no_signed_headers)
        ),
    );

    // A key id with a slash in it: the scope has six parts.
    let slashed = authorization.replacen("Credential=AKID", "Credential=AK/ID", 1);
    let r = get(&server, &with(&good, "authorization", &slashed)).await;
    assert_refused(
        &server,
        &r,
        403,
        "IncompleteSignatureException",
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AK/IDEXAMPLE/20261125/us-east-1/bedrock/aws4_request'",
    );
}

#[tokio::test]
async fn every_wrong_part_of_the_scope_is_named_in_one_message() {
    let server = server().await;
    let good = signed(&server, example_credentials());
    let authorization = value(&good, "authorization");
    let wrong = authorization.replacen(
        "20261125/us-east-1/bedrock/aws4_request",
        "20261124/mars-1/sts/aws5_request",
        1,
    );
    let r = get(&server, &with(&good, "authorization", &wrong)).await;
    assert_refused(
        &server,
        &r,
        403,
        "InvalidSignatureException",
        "Credential should be scoped to a valid region. Credential should be scoped to correct service: 'bedrock'. Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261124' != '20261125', from '20261125T162401Z'.",
    );
    let only_date = authorization.replacen("/20261125/", "/20261124/", 1);
    let r = get(&server, &with(&good, "authorization", &only_date)).await;
    assert_refused(
        &server,
        &r,
        403,
        "InvalidSignatureException",
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261124' != '20261125', from '20261125T162401Z'.",
    );
}

#[tokio::test]
async fn an_unsigned_host_is_an_invalid_signature() {
    let server = server().await;
    let host = server.address().to_string();
    let headers = vec![
        ("host".to_owned(), host),
        ("x-amz-date".to_owned(), SIGNED_AT.to_owned()),
        (
            "authorization".to_owned(),
            signed_by_hand(&[("x-amz-date", SIGNED_AT)]),
        ),
    ];
    let r = get(&server, &headers).await;
    assert_refused(
        &server,
        &r,
        403,
        "InvalidSignatureException",
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
}

#[tokio::test]
async fn query_string_auth_is_not_taken_and_not_combined_with_the_header() {
    let server = server().await;
    let good = signed(&server, example_credentials());
    // The header and query-string auth both: AWS refuses the pair. The
    // query is signed, so only the pair is wrong.
    let host = server.address().to_string();
    let target = format!("{PATH}?X-Amz-Algorithm=AWS4-HMAC-SHA256");
    let both = sign_headers(
        &ToSign {
            method: "GET",
            url: &format!("http://{host}{target}"),
            headers: &[("host".to_owned(), host.clone())],
            body: b"",
            region: "us-east-1",
            service: "bedrock",
            time: signing_time(),
        },
        example_credentials(),
    );
    let r = get_at(&server, &target, &both).await;
    assert_refused(
        &server,
        &r,
        403,
        "InvalidSignatureException",
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
    );
    // Query-string auth alone (a presigned URL) is not verified by the
    // mock: it is a request without credentials.
    let authorization = value(&good, "authorization");
    let credential = authorization
        .split("Credential=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap()
        .replace('/', "%2F");
    let presigned = format!(
        "{PATH}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}&X-Amz-Date={SIGNED_AT}&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature={}",
        "0".repeat(64)
    );
    let r = get_at(&server, &presigned, &[("host".to_owned(), host)]).await;
    assert_refused(
        &server,
        &r,
        403,
        "AccessDeniedException",
        "Authorization header is missing",
    );
}

#[tokio::test]
async fn refusals_that_quote_the_request_never_quote_a_secret() {
    let server = server().await;
    let good = signed(&server, example_credentials());
    let authorization = value(&good, "authorization");
    let (head, signature) = authorization.rsplit_once(", Signature=").unwrap();
    let cases = [
        // The signature as a bare part.
        with(&good, "authorization", &format!("{head}, {signature}")),
        // Key and secret swapped: the secret is quoted as the credential.
        with(
            &good,
            "authorization",
            &authorization.replacen(
                &format!("Credential={EXAMPLE_ACCESS_KEY_ID}"),
                &format!("Credential={EXAMPLE_SECRET_ACCESS_KEY}"),
                1,
            ),
        ),
        // The signature where the date belongs.
        with(&good, "x-amz-date", signature),
        // The signature in the algorithm's place.
        with(
            &good,
            "authorization",
            &authorization.replacen("AWS4-HMAC-SHA256", &format!("AWS4-{signature}"), 1),
        ),
        // A session token in the credential.
        with(
            &good,
            "authorization",
            &authorization.replacen(EXAMPLE_ACCESS_KEY_ID, SESSION_TOKEN, 1),
        ),
    ];
    for headers in cases {
        let r = get(&server, &headers).await;
        let (status, _, message) = r.bedrock_error();
        assert!(status == 400 || status == 403, "{status} {message}");
        let recorded = server.received_requests().pop().unwrap();
        let headers = format!("{:?}", recorded.headers);
        for text in [r.text(), recorded.auth.reason.unwrap_or_default(), headers] {
            for secret in [EXAMPLE_SECRET_ACCESS_KEY, signature, SESSION_TOKEN] {
                assert!(!text.contains(secret), "`{secret}` in {text}");
            }
            assert!(text.contains("<redacted>"), "{text}");
        }
    }
}
