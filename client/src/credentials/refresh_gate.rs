//! `awsAuthRefresh` runs at most once in the profile's interval (30
//! seconds in 2.1.328): the real CLI's STS check can fail many times in a
//! row (an SSO session that never recovers), and each failure must not
//! open another browser tab.

use std::time::Duration;

/// Decides whether `awsAuthRefresh` may run now. Time is a monotonic
/// reading the caller supplies (since start), so tests drive it.
#[derive(Debug, Clone)]
pub struct RefreshGate {
    interval: Duration,
    last_run: Option<Duration>,
}

impl RefreshGate {
    /// A gate letting one run through per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_run: None,
        }
    }

    /// Whether a run may start at `now`; if so, it is counted as started.
    pub fn try_run(&mut self, now: Duration) -> bool {
        let open = self
            .last_run
            .is_none_or(|last| now.saturating_sub(last) >= self.interval);
        if open {
            self.last_run = Some(now);
        }
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_opens_the_gate_for_thirty_seconds() {
        let mut gate = RefreshGate::new(Duration::from_secs(30));
        assert!(gate.try_run(Duration::ZERO));
        assert!(!gate.try_run(Duration::from_secs(29)));
        assert!(gate.try_run(Duration::from_secs(30)));
    }

    #[test]
    fn never_twice_within_thirty_seconds_whatever_the_calls() {
        let mut gate = RefreshGate::new(Duration::from_secs(30));
        let mut started = Vec::new();
        // A check failing every 3 s for two minutes.
        for t in (0..=120).step_by(3) {
            if gate.try_run(Duration::from_secs(t)) {
                started.push(t);
            }
        }
        assert_eq!(started, [0, 30, 60, 90, 120]);
        assert!(started.windows(2).all(|w| w[1] - w[0] >= 30));
    }
}
