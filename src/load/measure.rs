//! What a load run counts: streams, events and errors per client, times
//! to first byte, and the server process's memory over the run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// One client's counts (added up at the end).
#[derive(Debug, Default)]
pub struct Tally {
    /// Requests written to the server.
    pub sent: u64,
    /// Streams read whole, ending with `message_stop`.
    pub completed: u64,
    /// Events decoded from those and from failed streams.
    pub events: u64,
    /// Failures by what went wrong.
    pub errors: BTreeMap<String, u64>,
}

impl Tally {
    pub fn error(&mut self, why: String) {
        *self.errors.entry(why).or_default() += 1;
    }

    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn add(&mut self, other: Tally) {
        self.sent += other.sent;
        self.completed += other.completed;
        self.events += other.events;
        for (why, n) in other.errors {
            *self.errors.entry(why).or_default() += n;
        }
    }
}

/// What the server's journal says it recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Journaled {
    /// Requests it holds.
    pub held: u64,
    /// Requests it recorded and then dropped, oldest first, to stay within
    /// its bound (`serve --journal-max-entries`, `--journal-max-mib`).
    pub dropped: u64,
}

impl Journaled {
    /// Every request the server recorded, held or dropped on purpose.
    pub fn recorded(self) -> u64 {
        self.held + self.dropped
    }
}

/// Times to first byte, in microseconds.
#[derive(Debug, Default)]
pub struct Latencies(Vec<u32>);

/// Percentiles of [`Latencies`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latencies {
    pub fn record(&mut self, d: Duration) {
        self.0
            .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
    }

    pub fn add(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    /// Nearest-rank percentiles; None when nothing was recorded.
    pub fn summary(&self) -> Option<Summary> {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        let rank = |p: usize| {
            let index = (p * sorted.len()).div_ceil(100).max(1) - 1;
            Duration::from_micros(u64::from(sorted[index]))
        };
        let max = Duration::from_micros(u64::from(*sorted.last()?));
        Some(Summary {
            p50: rank(50),
            p99: rank(99),
            max,
        })
    }
}

/// The server's resident memory at one moment, with the streams open then.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub rss: u64,
    pub open: usize,
}

/// The server's memory over a run.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Resident before the load started (after one warm-up stream).
    pub idle: u64,
    /// The sample with the most streams open (the first such one, before
    /// the journal has grown with many finished requests).
    pub busiest: Sample,
    /// The process's peak resident memory (`VmHWM`).
    pub peak: u64,
}

impl Memory {
    /// Memory an open stream costs the server: what the busiest moment
    /// holds above idle, shared out over the streams then open. It counts
    /// those requests' journal entries too.
    pub fn per_open_stream(&self) -> u64 {
        let open = self.busiest.open.max(1) as u64;
        self.busiest.rss.saturating_sub(self.idle) / open
    }
}

/// Samples a process's resident memory every 10 ms until finished.
pub struct MemorySampler {
    stop: Arc<AtomicBool>,
    pid: u32,
    idle: Option<u64>,
    task: tokio::task::JoinHandle<Sample>,
}

impl MemorySampler {
    pub fn start(pid: u32, open: Arc<AtomicUsize>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let idle = status_bytes(pid, "VmRSS:");
        let task = {
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                let mut busiest = Sample::default();
                while !stop.load(Ordering::Relaxed) {
                    // Read the count first: the memory then includes at
                    // least those streams.
                    let now_open = open.load(Ordering::Relaxed);
                    if let Some(rss) = status_bytes(pid, "VmRSS:")
                        && now_open > busiest.open
                    {
                        busiest = Sample {
                            rss,
                            open: now_open,
                        };
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                busiest
            })
        };
        Self {
            stop,
            pid,
            idle,
            task,
        }
    }

    /// None where `/proc` does not say (not Linux).
    pub async fn finish(self) -> Option<Memory> {
        self.stop.store(true, Ordering::Relaxed);
        let busiest = self.task.await.ok()?;
        Some(Memory {
            idle: self.idle?,
            busiest,
            peak: status_bytes(self.pid, "VmHWM:")?,
        })
    }
}

/// A `kB` line of `/proc/PID/status`, in bytes.
fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut l = Latencies::default();
        assert_eq!(l.summary(), None);
        for us in (1..=100).rev() {
            l.record(Duration::from_micros(us));
        }
        let s = l.summary().unwrap();
        assert_eq!(s.p50, Duration::from_micros(50));
        assert_eq!(s.p99, Duration::from_micros(99));
        assert_eq!(s.max, Duration::from_micros(100));
        let mut one = Latencies::default();
        one.record(Duration::from_micros(7));
        let s = one.summary().unwrap();
        assert_eq!(
            (s.p50, s.p99),
            (Duration::from_micros(7), Duration::from_micros(7))
        );
    }

    #[test]
    fn memory_per_stream_is_above_idle() {
        let m = Memory {
            idle: 10 << 20,
            busiest: Sample {
                rss: (10 << 20) + 1000 * 4096,
                open: 1000,
            },
            peak: 0,
        };
        assert_eq!(m.per_open_stream(), 4096);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_resident_memory() {
        let rss = status_bytes(std::process::id(), "VmRSS:").unwrap();
        assert!(rss > 0);
        assert_eq!(status_bytes(std::process::id(), "NoSuchField:"), None);
    }
}
