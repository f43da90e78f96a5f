//! Time, injectable: the real clock for the CLI, a virtual one for tests,
//! so a run with eleven backed-off retries and 30-second refresh gates
//! takes milliseconds to test. A [`TimeSource`] reads the time and waits;
//! its [`Deadlines`] decide when a wait for an answer gives up (real time,
//! unless the time source is shared with an in-process fake server).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// What the client asks of time: [`SystemClock`] for the CLI,
/// [`VirtualClock`] in tests, or a harness's clock shared with its server.
pub trait TimeSource: Send + Sync {
    /// Time since the clock started, never going back.
    fn elapsed(&self) -> Duration;
    /// The wall-clock time, for credential expiry.
    fn now(&self) -> SystemTime;
    /// Waits `duration`.
    fn sleep(&self, duration: Duration) -> impl std::future::Future<Output = ()> + Send;
    /// When waits for answers give up: real time, unless the clock is
    /// shared with an in-process fake server that decides it.
    fn deadlines(&self) -> Arc<dyn Deadlines> {
        Arc::new(RealTime)
    }
}

/// The real clock.
#[derive(Debug, Clone)]
pub struct SystemClock {
    started: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        Self {
            started: Instant::now(),
        }
    }
}

impl TimeSource for SystemClock {
    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A clock that moves only when slept on (or advanced): sleeping returns
/// at once, having moved the clock on.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::{Duration, SystemTime};
/// use bedrock_client::clock::{TimeSource, VirtualClock};
///
/// let clock = VirtualClock::starting_at(SystemTime::UNIX_EPOCH);
/// clock.sleep(Duration::from_secs(30)).await;
/// assert_eq!(clock.elapsed(), Duration::from_secs(30));
/// assert_eq!(clock.slept(), vec![Duration::from_secs(30)]);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct VirtualClock {
    inner: Arc<Mutex<VirtualTime>>,
}

#[derive(Debug)]
struct VirtualTime {
    start: SystemTime,
    elapsed: Duration,
    slept: Vec<Duration>,
}

impl VirtualClock {
    /// A clock reading `start`.
    pub fn starting_at(start: SystemTime) -> Self {
        Self {
            inner: Arc::new(Mutex::new(VirtualTime {
                start,
                elapsed: Duration::ZERO,
                slept: Vec::new(),
            })),
        }
    }

    /// Moves the clock on without sleeping.
    pub fn advance(&self, by: Duration) {
        self.lock().elapsed += by;
    }

    /// Every sleep so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.lock().slept.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VirtualTime> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl TimeSource for VirtualClock {
    fn elapsed(&self) -> Duration {
        self.lock().elapsed
    }

    fn now(&self) -> SystemTime {
        let time = self.lock();
        time.start + time.elapsed
    }

    async fn sleep(&self, duration: Duration) {
        let mut time = self.lock();
        time.elapsed += duration;
        time.slept.push(duration);
    }
}

/// Decides when a wait for an answer gives up.
pub trait Deadlines: Send + Sync {
    /// Resolves when a wait of `limit` for the answer to `request` (its
    /// method and path as sent: `POST /model/m/invoke`) gives up.
    /// `received` is `None` while the answer's head has not come, else the
    /// bytes of its body read so far. Polled only once the answer was
    /// found not to have come yet.
    fn give_up(
        &self,
        request: &str,
        received: Option<u64>,
        limit: Duration,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>>;

    /// A guard keeping the deadlines' clock where it is while several
    /// requests are started at once (as the startup probes are);
    /// real time needs none.
    fn hold(&self) -> Box<dyn Send> {
        Box::new(())
    }
}

/// Deadlines in real time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RealTime;

impl Deadlines for RealTime {
    fn give_up(
        &self,
        _request: &str,
        _received: Option<u64>,
        limit: Duration,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(limit))
    }
}
