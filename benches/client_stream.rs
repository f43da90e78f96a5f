//! A long streamed answer from the mock, read by our client and by the AWS
//! Rust SDK (`aws-sdk-bedrockruntime`), on the same mock in the same run.
//!
//! The mock answers one `invoke-with-response-stream` of about 100,000
//! events in burst mode (`Pace::burst`: many frames to a write, so the
//! server is not what is measured). Our side is the client's turn: the
//! provider sends the request, and the stream is decoded incrementally
//! into typed events and assembled into the answer. The reference does
//! what a client of the SDK does: `recv()` each event (the SDK decodes the
//! frame and the base64), then `serde_json` on the chunk into a value and
//! the text appended. Both read the whole stream and keep the text.
//!
//! `cargo bench --bench client_stream` runs the criterion group, then
//! prints the ratio table BENCHMARKS.md records (reference time / our
//! time, interleaved rounds).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::ResponseStream;
use bedrock_client::Config;
use bedrock_client::clock::SystemClock;
use bedrock_client::config::Sources;
use bedrock_client::credentials::SystemSources;
use bedrock_client::internals::{prompt_request, run_turn};
use bedrock_client::provider::{HttpClient, Identity, Provider};
use bedrock_mock_server::{AuthMode, MockBedrock, Pace, Reply, ServerConfig};
use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput};
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

const MODEL: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
/// Words in the answer: the mock groups them into about 25,000 deltas.
const WORDS: usize = 63_000;
/// Enough for every word (the mock counts a word as a token), and within
/// the model's own limit (64,000 for Haiku 4.5), which the mock enforces.
const MAX_TOKENS: u32 = 64_000;

fn story() -> Reply {
    let words = [
        "the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog.",
    ];
    let text: Vec<&str> = (0..WORDS).map(|i| words[i % words.len()]).collect();
    Reply::text(text.join(" "))
}

fn ours(uri: &str) -> Provider<SystemSources, SystemClock> {
    let env: BTreeMap<String, String> = [
        ("CLAUDE_CODE_USE_BEDROCK", "1"),
        ("AWS_REGION", "us-east-1"),
        ("CLAUDE_CODE_SKIP_BEDROCK_AUTH", "1"),
        ("ANTHROPIC_BEDROCK_BASE_URL", uri),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let config = Config::load(&Sources::new(env)).unwrap();
    let http = HttpClient::new();
    let sources = SystemSources::new(&config, http.clone(), std::sync::Arc::new(|_: &[u8]| {}));
    Provider::new(
        config,
        sources,
        SystemClock::default(),
        http,
        Identity::new_session(),
    )
}

/// Our client: one turn, the text assembled. Returns the text length.
async fn read_ours(provider: &mut Provider<SystemSources, SystemClock>) -> usize {
    let mut request = prompt_request(
        provider.config(),
        provider.identity(),
        "Tell me a long story.",
    );
    request.max_tokens = MAX_TOKENS;
    let answer = run_turn(provider, MODEL, request, &mut |_| {})
        .await
        .unwrap();
    answer.text.len()
}

/// The SDK on the mock's `sdk_config()`, pointed at `uri` (the mock, or
/// the replay of its answer).
fn sdk(server: &MockBedrock, uri: &str) -> aws_sdk_bedrockruntime::Client {
    let config = aws_sdk_bedrockruntime::config::Builder::from(&server.sdk_config())
        .endpoint_url(uri)
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}

/// The SDK: `recv()` every event, parse the chunk's JSON, keep the text.
async fn read_sdk(client: &aws_sdk_bedrockruntime::Client) -> usize {
    let body = format!(
        r#"{{"anthropic_version":"bedrock-2023-05-31","max_tokens":{MAX_TOKENS},"messages":[{{"role":"user","content":"Tell me a long story."}}]}}"#
    );
    let output = client
        .invoke_model_with_response_stream()
        .model_id(MODEL)
        .content_type("application/json")
        .body(Blob::new(body))
        .send()
        .await
        .unwrap();
    let mut stream = output.body;
    let mut text = String::new();
    while let Some(event) = stream.recv().await.unwrap() {
        if let ResponseStream::Chunk(part) = event {
            let bytes = part.bytes.unwrap();
            let json: serde_json::Value = serde_json::from_slice(bytes.as_ref()).unwrap();
            if json["type"] == "content_block_delta" {
                text.push_str(json["delta"]["text"].as_str().unwrap_or_default());
            }
        }
    }
    text.len()
}

/// The mock gets a runtime of its own with one worker; the clients run
/// on a single-threaded runtime, as the CLI does, so each side has one of
/// the machine's two cores and no client wakeup crosses threads.
fn runtimes() -> (Runtime, Runtime) {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let clients = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (server, clients)
}

/// Serves `body` (a recorded stream) to every request: the response head,
/// then the body in 64 KiB chunks of chunked encoding, as fast as the
/// socket takes them. Nothing else: a server that costs nothing.
async fn start_replay(body: Arc<Vec<u8>>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                continue;
            };
            let body = Arc::clone(&body);
            tokio::spawn(async move {
                socket.set_nodelay(true).unwrap();
                // Each connection may carry several requests (pooling).
                let mut pending = Vec::new();
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buf[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while pending.len() < end + 4 + length {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buf[..n]),
                        }
                    }
                    pending.drain(..end + 4 + length);
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\nx-amzn-bedrock-content-type: application/json\r\nx-amzn-requestid: 00000000-0000-4000-8000-000000000000\r\ntransfer-encoding: chunked\r\n\r\n";
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    for piece in body.chunks(64 * 1024) {
                        let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
                        chunk.extend_from_slice(piece);
                        chunk.extend_from_slice(b"\r\n");
                        if socket.write_all(&chunk).await.is_err() {
                            return;
                        }
                    }
                    if socket.write_all(b"0\r\n\r\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
}

/// One stream from the mock, as raw event-stream bytes (read with hyper:
/// the client's own HTTP client is not part of its API).
async fn record(server: &MockBedrock) -> Vec<u8> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let body = format!(
        r#"{{"anthropic_version":"bedrock-2023-05-31","max_tokens":{MAX_TOKENS},"messages":[{{"role":"user","content":"hi"}}]}}"#
    );
    let request = http::Request::post(format!(
        "{}/model/{MODEL}/invoke-with-response-stream",
        server.uri()
    ))
    .header("content-type", "application/json")
    .body(Full::new(Bytes::from(body)))
    .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(60), async {
        let response = client.request(request).await.unwrap();
        response.into_body().collect().await.unwrap().to_bytes()
    })
    .await
    .unwrap();
    response.to_vec()
}

/// Where the stream comes from.
struct Source {
    name: &'static str,
    uri: String,
    /// Clears the mock's journal between runs (it keeps every frame).
    reset: Box<dyn Fn()>,
}

fn main() {
    let (server_rt, rt) = runtimes();
    let server = Arc::new(
        server_rt.block_on(MockBedrock::start_with(
            ServerConfig::default()
                .auth(AuthMode::Off)
                .reply(story())
                .pace(Pace::burst()),
        )),
    );
    let recorded = server_rt.block_on(record(&server));
    let events = server.received_requests()[0].frames.len();
    server.reset();
    let replay = server_rt.block_on(start_replay(Arc::new(recorded)));
    let mock = Arc::clone(&server);
    let sources = [
        Source {
            name: "mock",
            uri: server.uri(),
            reset: Box::new(move || mock.reset()),
        },
        Source {
            name: "replay",
            uri: format!("http://{replay}"),
            reset: Box::new(|| {}),
        },
    ];
    let mut criterion = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(10));
    let mut table = Vec::new();
    for source in &sources {
        let mut provider = ours(&source.uri);
        let client = sdk(&server, &source.uri);
        // Both read the same, whole answer.
        let (ours_len, sdk_len) =
            rt.block_on(async { (read_ours(&mut provider).await, read_sdk(&client).await) });
        assert_eq!(ours_len, sdk_len, "both clients read the whole answer");
        (source.reset)();
        let mut group = criterion.benchmark_group(format!("client_stream/{}", source.name));
        group.throughput(Throughput::Elements(events as u64));
        group.sample_size(10);
        group.bench_function(BenchmarkId::new("ours", format!("{events}_events")), |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let start = Instant::now();
                    rt.block_on(read_ours(&mut provider));
                    total += start.elapsed();
                    (source.reset)();
                }
                total
            })
        });
        group.bench_function(
            BenchmarkId::new("aws_sdk_bedrockruntime", format!("{events}_events")),
            |b| {
                b.iter_custom(|iterations| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        let start = Instant::now();
                        rt.block_on(read_sdk(&client));
                        total += start.elapsed();
                        (source.reset)();
                    }
                    total
                })
            },
        );
        group.finish();
        table.push((
            source.name,
            interleaved(&rt, &mut provider, &client, &*source.reset, events),
        ));
    }
    println!();
    println!(
        "A {events}-event stream read whole by each client; ratio = SDK time / our time, median of 11 interleaved rounds (lowest-highest)."
    );
    println!();
    println!("| served by | ours events/s | aws-sdk-bedrockruntime events/s | ratio |");
    println!("|---|---|---|---|");
    for (name, (ours, sdk, ratio, lo, hi)) in table {
        println!("| {name} | {ours:.0} | {sdk:.0} | {ratio:.2}x ({lo:.2}-{hi:.2}) |");
    }
}

/// Interleaved rounds (ours, SDK, ours, ...) so a slow spell of the shared
/// machine hits both: median events/s of each and median ratio, lowest
/// and highest ratio.
fn interleaved(
    rt: &Runtime,
    provider: &mut Provider<SystemSources, SystemClock>,
    client: &aws_sdk_bedrockruntime::Client,
    reset: &dyn Fn(),
    events: usize,
) -> (f64, f64, f64, f64, f64) {
    let mut ratios = Vec::new();
    let mut our_rates = Vec::new();
    let mut sdk_rates = Vec::new();
    for _ in 0..11 {
        let start = Instant::now();
        rt.block_on(read_ours(provider));
        let o = start.elapsed().as_secs_f64();
        reset();
        let start = Instant::now();
        rt.block_on(read_sdk(client));
        let r = start.elapsed().as_secs_f64();
        reset();
        our_rates.push(events as f64 / o);
        sdk_rates.push(events as f64 / r);
        ratios.push(r / o);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let lo = ratios.iter().copied().fold(f64::MAX, f64::min);
    let hi = ratios.iter().copied().fold(0.0, f64::max);
    (
        median(&mut our_rates),
        median(&mut sdk_rates),
        median(&mut ratios),
        lo,
        hi,
    )
}
