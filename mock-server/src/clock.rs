//! The server's notion of "now", which a test can set.
//!
//! Credential expiry and the SigV4 five-minute skew window are decided
//! against this clock, so a test moves time instead of sleeping. Pacing of
//! streams (time to first byte, gaps between events) is real time: it exists
//! to exercise a client's incremental parsing, which needs real waits.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A shared, settable clock. Clones share the same time.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use bedrock_mock_server::Clock;
///
/// let clock = Clock::fixed(UNIX_EPOCH + Duration::from_secs(1_795_623_841));
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_795_623_901));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Clock {
    mode: Arc<Mutex<Mode>>,
}

#[derive(Debug, Clone, Copy, Default)]
enum Mode {
    /// The system clock.
    #[default]
    System,
    /// The system clock, `ahead_ms` milliseconds ahead (negative: behind).
    Shifted { ahead_ms: i64 },
    /// Time stands still until the test moves it.
    Fixed(SystemTime),
}

impl Clock {
    /// Follows the system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// Stands still at `at` until [`Clock::set`] or [`Clock::advance`].
    pub fn fixed(at: SystemTime) -> Self {
        Self {
            mode: Arc::new(Mutex::new(Mode::Fixed(at))),
        }
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        match *self.lock() {
            Mode::System => SystemTime::now(),
            Mode::Shifted { ahead_ms } => shift(SystemTime::now(), ahead_ms),
            Mode::Fixed(at) => at,
        }
    }

    /// Stops the clock at `at`.
    pub fn set(&self, at: SystemTime) {
        *self.lock() = Mode::Fixed(at);
    }

    /// Moves the clock forward. A system clock becomes a shifted one, so it
    /// keeps running. A step past the last representable time is ignored.
    pub fn advance(&self, by: Duration) {
        let by_ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let mut mode = self.lock();
        *mode = match *mode {
            Mode::System => Mode::Shifted { ahead_ms: by_ms },
            Mode::Shifted { ahead_ms } => Mode::Shifted {
                ahead_ms: ahead_ms.saturating_add(by_ms),
            },
            Mode::Fixed(at) => Mode::Fixed(at.checked_add(by).unwrap_or(at)),
        };
    }

    /// Runs the system clock `ahead_ms` milliseconds ahead (negative: behind),
    /// as a server whose clock is skewed from the client's.
    pub fn skew(&self, ahead_ms: i64) {
        *self.lock() = Mode::Shifted { ahead_ms };
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mode> {
        // The guarded value is plain data: a panic elsewhere cannot leave it
        // half-written, so a poisoned lock is still usable.
        self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn shift(t: SystemTime, ms: i64) -> SystemTime {
    if ms >= 0 {
        t + Duration::from_millis(ms as u64)
    } else {
        t - Duration::from_millis(ms.unsigned_abs())
    }
}

/// Seconds since the Unix epoch (0 for times before it).
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_time() {
        let a = Clock::fixed(UNIX_EPOCH);
        let b = a.clone();
        b.advance(Duration::from_secs(5));
        assert_eq!(a.now(), UNIX_EPOCH + Duration::from_secs(5));
    }

    #[test]
    fn skew_moves_a_running_clock() {
        let clock = Clock::system();
        clock.skew(-600_000);
        let behind = SystemTime::now().duration_since(clock.now()).unwrap();
        assert!(behind >= Duration::from_secs(599));
    }
}
