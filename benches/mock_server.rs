//! The mock server alone: streamed events per second over loopback, to one
//! client and to 64 concurrent clients.
//!
//! Reference, measured in the same run: a bare tokio server that answers
//! with the very same bytes (a chunked response, one write per frame) and
//! does nothing else. The ratio reference-time / mock-time says what share
//! of a bare socket's speed the mock keeps while routing, authenticating,
//! validating, rendering, encoding and journaling each request.
//!
//! `cargo bench --bench mock_server` runs the criterion groups and then
//! prints the table BENCHMARKS.md records.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bedrock_mock_server::{AuthMode, MockBedrock, Reply, ServerConfig};
use criterion::{BenchmarkId, Criterion, Throughput};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

const PATH: &str = "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke-with-response-stream";

fn request_body() -> String {
    r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":4096,"messages":[{"role":"user","content":"Tell me a story."}]}"#
        .to_owned()
}

/// A reply of 240 words: about 100 events per stream.
fn story() -> Reply {
    let words = [
        "the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog.",
    ];
    let text: Vec<&str> = (0..240).map(|i| words[i % words.len()]).collect();
    Reply::text(text.join(" "))
}

/// Sends one stream request and reads the answer to the end; returns the
/// body bytes received (chunk framing included).
async fn fetch_stream(address: SocketAddr, body: &str) -> usize {
    let mut socket = TcpStream::connect(address).await.unwrap();
    socket.set_nodelay(true).unwrap();
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut total = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = socket.read(&mut buf).await.unwrap();
        if n == 0 {
            return total;
        }
        total += n;
    }
}

/// The bare server: reads a request head and body, then writes `frames` as
/// a chunked response, one write per frame, and closes.
async fn start_reference(frames: Arc<Vec<Vec<u8>>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                continue;
            };
            let frames = Arc::clone(&frames);
            tokio::spawn(async move {
                socket.set_nodelay(true).unwrap();
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = socket.read(&mut buf).await.unwrap();
                    request.extend_from_slice(&buf[..n]);
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                    if n == 0 {
                        return;
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\nx-amzn-bedrock-content-type: application/json\r\nx-amzn-requestid: 00000000-0000-4000-8000-000000000000\r\ntransfer-encoding: chunked\r\n\r\n";
                socket.write_all(head.as_bytes()).await.unwrap();
                for frame in frames.iter() {
                    let mut chunk = format!("{:x}\r\n", frame.len()).into_bytes();
                    chunk.extend_from_slice(frame);
                    chunk.extend_from_slice(b"\r\n");
                    socket.write_all(&chunk).await.unwrap();
                }
                socket.write_all(b"0\r\n\r\n").await.unwrap();
            });
        }
    });
    address
}

/// The frames of one mock stream, as the reference will send them.
async fn frames_of_one_stream(server: &MockBedrock) -> Vec<Vec<u8>> {
    let body = request_body();
    let mut socket = TcpStream::connect(server.address()).await.unwrap();
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    socket.read_to_end(&mut raw).await.unwrap();
    let start = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut rest = &raw[start..];
    let mut payload = Vec::new();
    loop {
        let line = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..line]).unwrap(), 16).unwrap();
        if size == 0 {
            break;
        }
        payload.extend_from_slice(&rest[line + 2..line + 2 + size]);
        rest = &rest[line + 2 + size + 2..];
    }
    let mut decoder = bedrock_eventstream::Decoder::new();
    let mut input = &payload[..];
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode(&mut input).unwrap() {
        frames.push(frame.encoded_len());
    }
    let mut at = 0;
    frames
        .into_iter()
        .map(|len| {
            at += len;
            payload[at - len..at].to_vec()
        })
        .collect()
}

/// `clients` concurrent streams, `rounds` times each.
async fn run_streams(address: SocketAddr, clients: usize, rounds: usize) {
    let body = Arc::new(request_body());
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let body = Arc::clone(&body);
            tokio::spawn(async move {
                for _ in 0..rounds {
                    fetch_stream(address, &body).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn main() {
    let rt = runtime();
    let (mock, reference, events) = rt.block_on(async {
        let mock =
            MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off).reply(story()))
                .await;
        let frames = frames_of_one_stream(&mock).await;
        let events = frames.len();
        let reference = start_reference(Arc::new(frames)).await;
        (mock, reference, events)
    });
    let mut criterion = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(5));
    for clients in [1usize, 64] {
        let mut group = criterion.benchmark_group(format!("server/{clients}_clients"));
        group.throughput(Throughput::Elements((events * clients) as u64));
        group.sample_size(20);
        for (name, address) in [("mock", mock.address()), ("bare_socket", reference)] {
            group.bench_function(BenchmarkId::new(name, format!("{events}_events")), |b| {
                b.to_async(&rt).iter(|| run_streams(address, clients, 1))
            });
        }
        group.finish();
        // The journal grows with every request; keep the runs comparable.
        mock.reset();
    }
    print_table(&rt, &mock, reference, events);
}

/// Interleaved rounds (mock, reference, mock, ...) so a slow spell of the
/// shared machine hits both. Two ratios: the fastest round of each, and
/// the median of the rounds' ratios with the lowest and highest. The
/// first is the one to compare: with 64 clients the bare socket's rounds
/// fall in two modes, one some 2.5 times slower than the other (all its
/// fetches slower, not one stalled), and a round in the slow mode gives a
/// ratio above 1 that flatters the mock; the fastest rounds compare each
/// at its best.
fn print_table(rt: &Runtime, mock: &MockBedrock, reference: SocketAddr, events: usize) {
    println!();
    println!(
        "Streamed events per second over loopback, {events} events per stream, 15 interleaved rounds; best = bare socket's fastest round / mock's fastest, median = median of the rounds' ratios (lowest-highest)."
    );
    println!();
    println!(
        "| clients | mock events/s, best | bare socket events/s, best | ratio, best | ratio, median |"
    );
    println!("|---|---|---|---|---|");
    for (clients, rounds) in [(1usize, 50usize), (64, 4)] {
        let mut mock_times = Vec::new();
        let mut reference_times = Vec::new();
        for _ in 0..15 {
            let time = |address| {
                let start = Instant::now();
                rt.block_on(run_streams(address, clients, rounds));
                start.elapsed().as_secs_f64()
            };
            mock_times.push(time(mock.address()));
            reference_times.push(time(reference));
            mock.reset();
        }
        let mut ratios: Vec<f64> = reference_times
            .iter()
            .zip(&mock_times)
            .map(|(r, m)| r / m)
            .collect();
        ratios.sort_by(f64::total_cmp);
        let fastest = |v: &[f64]| v.iter().copied().fold(f64::MAX, f64::min);
        let (mock_best, reference_best) = (fastest(&mock_times), fastest(&reference_times));
        let total = (events * clients * rounds) as f64;
        println!(
            "| {clients} | {:.0} | {:.0} | {:.2} | {:.2} ({:.2}-{:.2}) |",
            total / mock_best,
            total / reference_best,
            reference_best / mock_best,
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1],
        );
    }
}
