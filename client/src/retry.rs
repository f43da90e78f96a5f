//! When to try a request again, and how long to wait first, as Claude Code
//! does it, with the profile's numbers (the same in 2.1.328 and 2.1.332):
//! eleven attempts, or `CLAUDE_CODE_MAX_RETRIES` retries after the first;
//! waits from the base doubling to the cap (0.5 s to 32 s) plus up to the
//! jitter (25 %); a server's `retry-after` honoured.
//!
//! The policy is pure: the caller supplies the jitter draw and does the
//! waiting, so tests run the whole schedule in no time.

use std::time::Duration;

use crate::profile::Retries;

/// The longest `retry-after` obeyed. A server asking for more is waited on
/// for this long, so that a misbehaving header cannot stall a run for hours;
/// the retry budget still bounds the whole loop.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);

/// How many times to retry and how long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    retry_refused_credentials: bool,
    backoff_base: Duration,
    backoff_cap: Duration,
    jitter_percent: u32,
    credential_renewals: u32,
}

impl RetryPolicy {
    /// Up to `max_retries` retries after the first attempt, with the
    /// profile's backoff; refused credentials are reloaded and retried,
    /// with its renewals past the budget, as Claude Code's model calls do.
    pub fn new(max_retries: u32, retries: &Retries) -> Self {
        Self {
            max_retries,
            retry_refused_credentials: true,
            backoff_base: retries.backoff_base,
            backoff_cap: retries.backoff_cap,
            jitter_percent: retries.backoff_jitter_percent,
            credential_renewals: retries.credential_renewals,
        }
    }

    /// The AWS JS SDK's standard retries (the control plane's calls), its
    /// attempts as the profile has them: throttling, 5xx and dropped
    /// connections are retried, refused credentials
    /// (`ExpiredTokenException`, `AccessDeniedException`) are not.
    pub fn aws_sdk(retries: &Retries) -> Self {
        Self {
            retry_refused_credentials: false,
            credential_renewals: 0,
            ..Self::new(retries.aws_sdk_attempts.saturating_sub(1), retries)
        }
    }

    /// Whether refused credentials are reloaded and retried.
    pub fn retries_refused_credentials(self) -> bool {
        self.retry_refused_credentials
    }

    /// Attempts past the budget for a 403 refusing the credentials.
    pub fn credential_renewals(self) -> u32 {
        self.credential_renewals
    }

    /// Whether retry number `retry` (from 1) is within the budget.
    pub fn allows(self, retry: u32) -> bool {
        retry >= 1 && retry <= self.max_retries
    }

    /// The wait before retry number `retry` (from 1): the server's
    /// `retry_after` if it sent one (at most [`MAX_RETRY_AFTER`]), else
    /// the base doubling to the cap, plus `jitter` (a draw from 0 to 1)
    /// times the jitter share of that.
    pub fn delay(self, retry: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(MAX_RETRY_AFTER);
        }
        let doublings = retry.saturating_sub(1).min(16);
        let base = self
            .backoff_base
            .saturating_mul(1 << doublings)
            .min(self.backoff_cap);
        // A NaN draw would make `mul_f64` panic; it counts as no jitter.
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        base + base.mul_f64(f64::from(self.jitter_percent) / 100.0 * jitter)
    }

    /// The wait before one of the credential renewals past the budget:
    /// the last retry's, not doubled again (the CLI 2.1.328 and 2.1.332
    /// with `CLAUDE_CODE_MAX_RETRIES` at 1, 2 and 3: gaps of about 0.5,
    /// 1 and 2 s before each renewal; conformance's
    /// `expired-token-retries-*`).
    pub fn renewal_delay(self, retry_after: Option<Duration>, jitter: f64) -> Duration {
        self.delay(self.max_retries.max(1), retry_after, jitter)
    }
}

/// Reads a `retry-after` header: whole or fractional seconds. HTTP dates
/// are not used by Bedrock or the Anthropic API and are ignored, as is
/// anything negative or unreadable.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The newest profile's policy with `max_retries` retries.
    fn policy(max_retries: u32) -> RetryPolicy {
        RetryPolicy::new(max_retries, &crate::profile::newest().retries)
    }

    #[test]
    fn renewals_wait_as_long_as_the_last_retry() {
        // The CLI's gaps with CLAUDE_CODE_MAX_RETRIES=3: 0.6, 1.22, 2.18,
        // then 2.28 and 2.02 before the two renewals.
        assert_eq!(policy(3).renewal_delay(None, 0.0), Duration::from_secs(2));
        assert_eq!(
            policy(0).renewal_delay(None, 0.0),
            crate::profile::newest().retries.backoff_base
        );
    }

    #[test]
    fn the_schedule_doubles_to_the_cap_as_observed() {
        let policy = policy(10);
        let waits: Vec<f64> = (1..=10)
            .map(|n| policy.delay(n, None, 0.0).as_secs_f64())
            .collect();
        assert_eq!(
            waits,
            [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 32.0, 32.0, 32.0]
        );
        // The real CLI's recorded gaps (0.58, 1.17, 2.19, 4.15, 9.7, 19.6,
        // 38.8 s) all lie between no jitter and full jitter.
        for (n, observed) in [0.58, 1.17, 2.19, 4.15, 9.7, 19.6, 38.8].iter().enumerate() {
            let retry = n as u32 + 1;
            let low = policy.delay(retry, None, 0.0).as_secs_f64();
            let high = policy.delay(retry, None, 1.0).as_secs_f64();
            assert!((low..=high).contains(observed), "retry {retry}: {observed}");
        }
    }

    #[test]
    fn a_retry_waits_the_backoff_plus_jitter_or_what_the_server_asks() {
        let policy = policy(10);
        // The third retry waits 2 s, plus up to 25 %.
        assert_eq!(policy.delay(3, None, 0.0), Duration::from_secs(2));
        assert_eq!(policy.delay(3, None, 1.0), Duration::from_millis(2500));
        // A server's retry-after wins.
        assert_eq!(
            policy.delay(3, Some(Duration::from_secs(7)), 0.5),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn the_budget_counts_retries_after_the_first_attempt() {
        let ten = policy(10);
        assert!(!ten.allows(0));
        assert!(ten.allows(10));
        assert!(!ten.allows(11));
        assert!(!policy(0).allows(1));
        assert!(policy(u32::MAX).allows(u32::MAX));
    }

    #[test]
    fn retry_after_is_honoured_within_a_bound() {
        let policy = policy(3);
        assert_eq!(
            policy.delay(1, parse_retry_after("3"), 1.0),
            Duration::from_secs(3)
        );
        assert_eq!(parse_retry_after("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(parse_retry_after("86400"), Some(MAX_RETRY_AFTER));
        for bad in [
            "",
            "-1",
            "soon",
            "NaN",
            "inf",
            "Wed, 21 Oct 2015 07:28:00 GMT",
        ] {
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
        assert_eq!(policy.delay(1, None, f64::NAN), Duration::from_millis(500));
        // Huge retry numbers neither overflow nor exceed the cap.
        assert_eq!(policy.delay(u32::MAX, None, 1.0), Duration::from_secs(40));
    }
}
