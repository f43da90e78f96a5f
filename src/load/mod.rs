//! `bedrock-harness load`: a bounded load test of the mock. N clients
//! each keep one connection and stream one answer after another for a
//! fixed time; the report gives streams and events per second, time to
//! first byte, errors, the server's memory, and whether the journal kept
//! every request.
//!
//! The server is a child process (`bedrock-harness serve`) unless
//! `--server` names one already running, so its memory is its own and
//! not the load generator's.

mod measure;
mod stream_client;
mod target;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use bedrock_mock_server::MAX_PACE_MS;

use measure::{Journaled, Latencies, MemorySampler, Tally};
pub use stream_client::Auth;
use stream_client::StreamClient;
use target::Target;

/// The most streams and seconds a run may ask for: a load test stops by
/// itself, in bounded time.
const MAX_STREAMS: usize = 10_000;
const MAX_SECONDS: u64 = 600;
/// How long one stream may take before it counts as failed.
const STREAM_LIMIT: Duration = Duration::from_secs(60);
/// The targets of the reliability issue, for these 2-core machines.
const TARGET_P99_FIRST_BYTE: Duration = Duration::from_millis(50);
const TARGET_BYTES_PER_STREAM: u64 = 64 * 1024;

/// What `bedrock-harness load` was asked for (its command-line options).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Concurrent streaming clients (1 to 10000).
    #[arg(long, default_value_t = 1000)]
    pub streams: usize,
    /// Seconds during which new streams start (1 to 600).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Words in each answer (about two words an event).
    #[arg(long, default_value_t = 60)]
    pub words: usize,
    /// Milliseconds between a stream's events, as the server paces them.
    #[arg(long, default_value_t = 20)]
    pub gap_ms: u64,
    /// Milliseconds over which the clients start, evenly spread (0: all
    /// at once).
    #[arg(long, default_value_t = 1000)]
    pub ramp_ms: u64,
    /// How the clients authenticate.
    #[arg(long, value_enum, default_value_t = Auth::Sigv4)]
    pub auth: Auth,
    /// A server already running (http://IP:PORT) instead of a child
    /// process; its memory is then not measured.
    #[arg(long)]
    pub server: Option<String>,
}

pub fn run(options: &Options) -> ExitCode {
    if let Err(e) = check(options) {
        eprintln!("bedrock-harness load: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bedrock-harness load: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let target = match &options.server {
        Some(url) => Target::external(url),
        None => Target::spawn(options),
    };
    let target = match target {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bedrock-harness load: {e}");
            return ExitCode::from(2);
        }
    };
    let report = runtime.block_on(drive(options, &target));
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bedrock-harness load: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", report.render(options, &target));
    if report.tally.failed() == 0 && report.lost() == Some(0) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn check(options: &Options) -> Result<(), String> {
    if !(1..=MAX_STREAMS).contains(&options.streams) {
        return Err(format!("--streams must be 1 to {MAX_STREAMS}"));
    }
    if !(1..=MAX_SECONDS).contains(&options.seconds) {
        return Err(format!("--seconds must be 1 to {MAX_SECONDS}"));
    }
    if !(1..=100_000).contains(&options.words) {
        return Err("--words must be 1 to 100000".to_owned());
    }
    // The gap is the mock's pace between events: held to the same bound.
    if options.gap_ms > MAX_PACE_MS {
        return Err(format!("--gap-ms must be at most {MAX_PACE_MS}"));
    }
    if options.ramp_ms > options.seconds * 1000 {
        return Err("--ramp-ms must be at most --seconds".to_owned());
    }
    Ok(())
}

/// What one run measured.
struct Report {
    elapsed: Duration,
    tally: Tally,
    first_byte: Latencies,
    memory: Option<measure::Memory>,
    journaled: Option<Journaled>,
}

impl Report {
    /// Requests sent that the journal neither holds nor counts as dropped
    /// by its bound (None: not known). Entries dropped on purpose were
    /// recorded: the journal is complete when held + dropped = sent.
    fn lost(&self) -> Option<u64> {
        self.journaled
            .map(|j| self.tally.sent.abs_diff(j.recorded()))
    }

    /// The report, a line (or a few) per measure.
    fn render(&self, options: &Options, target: &Target) -> String {
        let mut out = asked_for(options, target);
        out += &self.streams_and_events();
        out += &self.first_byte_line();
        out += &self.memory_line();
        out += &self.journal_line();
        out
    }

    /// Streams completed and failed (each cause on its own line), events.
    fn streams_and_events(&self) -> String {
        let seconds = self.elapsed.as_secs_f64();
        let t = &self.tally;
        let mut out = format!(
            "streams     {} completed ({:.1}/s), {} failed, over {seconds:.1} s\n",
            t.completed,
            t.completed as f64 / seconds,
            t.failed()
        );
        for (why, count) in &t.errors {
            out += &format!("  failed    {count} × {why}\n");
        }
        out += &format!(
            "events      {} ({:.0}/s)\n",
            t.events,
            t.events as f64 / seconds
        );
        out
    }

    /// Time to first byte against its target.
    fn first_byte_line(&self) -> String {
        match self.first_byte.summary() {
            Some(s) => format!(
                "first byte  p50 {}  p99 {}  max {}   target p99 < {}: {}\n",
                ms(s.p50),
                ms(s.p99),
                ms(s.max),
                ms(TARGET_P99_FIRST_BYTE),
                met(s.p99 < TARGET_P99_FIRST_BYTE)
            ),
            None => "first byte  no stream answered\n".to_owned(),
        }
    }

    /// The server's memory, and its cost per open stream against the target.
    fn memory_line(&self) -> String {
        let Some(m) = &self.memory else {
            return "server RSS  not measured (a server not started by this run)\n".to_owned();
        };
        let per_stream = m.per_open_stream();
        format!(
            "server RSS  {} idle; {} with {} streams open: {} a stream, target < {}: {}; peak {}\n",
            mib(m.idle),
            mib(m.busiest.rss),
            m.busiest.open,
            kib(per_stream),
            kib(TARGET_BYTES_PER_STREAM),
            met(per_stream < TARGET_BYTES_PER_STREAM),
            mib(m.peak)
        )
    }

    /// Whether the journal recorded every request sent, those its bound
    /// dropped named apart.
    fn journal_line(&self) -> String {
        let sent = self.tally.sent;
        let Some(j) = self.journaled else {
            return "journal     could not be read\n".to_owned();
        };
        let recorded = if j.dropped == 0 {
            format!("{} requests recorded", j.held)
        } else {
            format!(
                "{} requests recorded: {} held, {} dropped by the journal's bound",
                j.recorded(),
                j.held,
                j.dropped
            )
        };
        if self.lost() == Some(0) {
            format!("journal     {recorded}, {sent} sent: nothing lost\n")
        } else {
            format!("journal     {recorded}, but {sent} sent\n")
        }
    }
}

/// The report's first line: what the run was asked to do, and against what.
fn asked_for(options: &Options, target: &Target) -> String {
    format!(
        "load: {} concurrent streams for {} s (starting over {} ms) against {} ({} auth, {} words an answer, {} ms between events)\n",
        options.streams,
        options.seconds,
        options.ramp_ms,
        target.url(),
        options.auth.name(),
        options.words,
        options.gap_ms
    )
}

async fn drive(options: &Options, target: &Target) -> Result<Report, String> {
    let client = Arc::new(StreamClient::new(target.url(), options.auth)?);
    // One stream first: the server is warm, and a misconfigured run stops
    // here with the reason instead of a thousand failures.
    let open = Arc::new(AtomicUsize::new(0));
    client
        .stream_once(&open)
        .await
        .map_err(|e| format!("the first stream failed: {e}"))?;
    let sampler = target
        .pid()
        .map(|pid| MemorySampler::start(pid, Arc::clone(&open)));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(options.seconds);
    let ramp = Duration::from_millis(options.ramp_ms);
    let workers: Vec<_> = (0..options.streams)
        .map(|n| {
            let client = Arc::clone(&client);
            let open = Arc::clone(&open);
            // Clients join evenly over the ramp, as users of a service do,
            // instead of a thousand connections in the same millisecond.
            let joins = start + ramp.mul_f64(n as f64 / options.streams as f64);
            tokio::spawn(async move {
                tokio::time::sleep_until(joins.into()).await;
                client.stream_until(deadline, STREAM_LIMIT, &open).await
            })
        })
        .collect();
    // The warm-up's request is in the journal too.
    let mut tally = Tally {
        sent: 1,
        ..Tally::default()
    };
    let mut first_byte = Latencies::default();
    for worker in workers {
        match worker.await {
            Ok((t, l)) => {
                tally.add(t);
                first_byte.add(l);
            }
            Err(e) => tally.error(format!("a client task failed: {e}")),
        }
    }
    let elapsed = start.elapsed();
    let memory = match sampler {
        Some(s) => s.finish().await,
        None => None,
    };
    let journaled = client.journal_count().await.ok();
    Ok(Report {
        elapsed,
        tally,
        first_byte,
        memory,
        journaled,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "MISSED" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options {
            streams: 10,
            seconds: 1,
            words: 10,
            gap_ms: 0,
            ramp_ms: 0,
            auth: Auth::Sigv4,
            server: None,
        }
    }

    fn report(sent: u64, journaled: Option<Journaled>) -> Report {
        Report {
            elapsed: Duration::from_secs(1),
            tally: Tally {
                sent,
                ..Tally::default()
            },
            first_byte: Latencies::default(),
            memory: None,
            journaled,
        }
    }

    #[test]
    fn entries_the_journal_s_bound_dropped_count_as_recorded() {
        let whole = report(
            10,
            Some(Journaled {
                held: 10,
                dropped: 0,
            }),
        );
        assert_eq!(whole.lost(), Some(0));
        assert_eq!(
            whole.journal_line(),
            "journal     10 requests recorded, 10 sent: nothing lost\n"
        );
        let bounded = report(
            10,
            Some(Journaled {
                held: 4,
                dropped: 6,
            }),
        );
        assert_eq!(bounded.lost(), Some(0));
        assert_eq!(
            bounded.journal_line(),
            "journal     10 requests recorded: 4 held, 6 dropped by the journal's bound, 10 sent: nothing lost\n"
        );
        let short = report(
            11,
            Some(Journaled {
                held: 4,
                dropped: 6,
            }),
        );
        assert_eq!(short.lost(), Some(1));
        assert_eq!(
            short.journal_line(),
            "journal     10 requests recorded: 4 held, 6 dropped by the journal's bound, but 11 sent\n"
        );
        assert_eq!(
            report(
                3,
                Some(Journaled {
                    held: 2,
                    dropped: 0
                })
            )
            .journal_line(),
            "journal     2 requests recorded, but 3 sent\n"
        );
        let unknown = report(3, None);
        assert_eq!(unknown.lost(), None);
        assert_eq!(unknown.journal_line(), "journal     could not be read\n");
    }

    #[test]
    fn runs_are_bounded() {
        assert!(check(&options()).is_ok());
        for bad in [
            Options {
                streams: 0,
                ..options()
            },
            Options {
                streams: MAX_STREAMS + 1,
                ..options()
            },
            Options {
                seconds: MAX_SECONDS + 1,
                ..options()
            },
            Options {
                seconds: 0,
                ..options()
            },
            Options {
                gap_ms: MAX_PACE_MS + 1,
                ..options()
            },
            Options {
                ramp_ms: 1001,
                ..options()
            },
        ] {
            assert!(check(&bad).is_err(), "{bad:?}");
        }
    }
}
