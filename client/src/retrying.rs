//! Running one request with Claude Code's retries: throttling, server
//! errors, dropped connections and timeouts are retried after the backoff;
//! refused credentials are reloaded (see [`CredentialManager`]) and retried
//! within the same budget, and a 403 refusing them gets more attempts once
//! the budget is spent (Claude Code's credential renewals: two, in both
//! profiles); anything else ends the run at once. Every retry is a new
//! request, and the budget and the renewals bound the whole loop.

use std::future::Future;

use crate::clock::TimeSource;
use crate::credentials::{AwsCredentials, CredentialManager, CredentialSource};
use crate::error::{Error, ErrorKind};
use crate::failure::{ApiFailure, Failure, classify};
use crate::retry::RetryPolicy;

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptError {
    /// The service answered with an error.
    Api(ApiFailure),
    /// No answer: the connection failed or timed out, or the request could
    /// not be made.
    Transport(Error),
}

impl AttemptError {
    fn failure(&self) -> Failure {
        match self {
            AttemptError::Api(failure) => classify(failure),
            AttemptError::Transport(e)
                if matches!(e.kind(), ErrorKind::Connection | ErrorKind::Timeout) =>
            {
                Failure::Retryable
            }
            // No credentials to be had (an SSO session that ended): the
            // refresh logic gets another chance within the budget.
            AttemptError::Transport(e) if e.kind() == ErrorKind::Credentials => {
                Failure::Credentials
            }
            AttemptError::Transport(_) => Failure::Final,
        }
    }
}

/// How a run ended without success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaveUp {
    /// The last attempt's error.
    pub last: AttemptError,
    /// The last error answer from the service, which the user-facing line
    /// quotes even when the run ended on loading credentials.
    pub last_refusal: Option<ApiFailure>,
    /// Attempts, the first included (one whose credentials could not be
    /// loaded counts, though nothing was sent).
    pub attempts: u32,
}

/// Runs `attempt` until it succeeds, the failure is final, or `policy`'s
/// budget is spent. `attempt` gets the credentials to sign with (`None`
/// when `credentials` is `None`: bearer keys and skipped auth). `jitter`
/// draws from 0 to 1 for each backoff.
pub async fn run_with_retries<T, S, F, Fut>(
    policy: RetryPolicy,
    clock: &impl TimeSource,
    jitter: &mut impl FnMut() -> f64,
    mut credentials: Option<&mut CredentialManager<S>>,
    mut attempt: F,
) -> Result<T, GaveUp>
where
    S: CredentialSource,
    F: FnMut(Option<AwsCredentials>) -> Fut,
    Fut: Future<Output = Result<T, AttemptError>>,
{
    let mut attempts = 0u32;
    let mut renewals = 0u32;
    let mut last_refusal = None;
    loop {
        attempts += 1;
        let error = match attempt_signed(credentials.as_deref_mut(), clock, &mut attempt).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if let AttemptError::Api(failure) = &error {
            last_refusal = Some(failure.clone());
        }
        let failure = error.failure();
        // Only a loop that retries refused credentials reloads them: the
        // CLI's control-plane calls (the AWS SDK's policy) fail without
        // touching the credentials the model calls go on with (its STS
        // check runs once at startup, then before each retry of the turn;
        // conformance's aws-auth-refresh-never-helps).
        if failure == Failure::Credentials
            && policy.retries_refused_credentials()
            && let Some(manager) = credentials.as_deref_mut()
        {
            manager.invalidate();
        }
        let retry = attempts;
        let retry_after = match &error {
            AttemptError::Api(f) => f.retry_after,
            AttemptError::Transport(_) => None,
        };
        let wait = match next_step(policy, &error, failure, retry, renewals) {
            Next::Retry => policy.delay(retry, retry_after, jitter()),
            Next::Renew => {
                renewals += 1;
                policy.renewal_delay(retry_after, jitter())
            }
            Next::GiveUp => {
                return Err(GaveUp {
                    last: error,
                    last_refusal,
                    attempts,
                });
            }
        };
        clock.sleep(wait).await;
    }
}

/// One attempt, signed with the credentials `credentials` holds (loaded
/// first when there are none or they are due). Nothing is sent when they
/// cannot be loaded: a failed export command ends the run, and a chain
/// with nothing to give is retried like a refusal.
async fn attempt_signed<T, S, F, Fut>(
    credentials: Option<&mut CredentialManager<S>>,
    clock: &impl TimeSource,
    attempt: &mut F,
) -> Result<T, AttemptError>
where
    S: CredentialSource,
    F: FnMut(Option<AwsCredentials>) -> Fut,
    Fut: Future<Output = Result<T, AttemptError>>,
{
    let loaded = match credentials {
        None => Ok(None),
        Some(manager) => manager.credentials(clock).await.map(Some),
    };
    match loaded {
        Ok(signing) => attempt(signing).await,
        Err(e) => Err(AttemptError::Transport(e)),
    }
}

/// What the loop does after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Back off, then try again within the budget.
    Retry,
    /// Back off, then try again past the budget: one of the CLI's
    /// credential renewals.
    Renew,
    /// Stop: the failure is final, or the budget and renewals are spent.
    GiveUp,
}

/// The step after retry number `retry` failed with `error` (`failure` its
/// meaning), `renewals` renewals already made.
fn next_step(
    policy: RetryPolicy,
    error: &AttemptError,
    failure: Failure,
    retry: u32,
    renewals: u32,
) -> Next {
    let retryable = failure == Failure::Retryable
        || (failure == Failure::Credentials && policy.retries_refused_credentials());
    if !retryable {
        return Next::GiveUp;
    }
    if policy.allows(retry) {
        return Next::Retry;
    }
    let refused_by_403 = matches!(error, AttemptError::Api(f) if f.status == 403);
    if failure == Failure::Credentials && refused_by_403 && renewals < policy.credential_renewals()
    {
        Next::Renew
    } else {
        Next::GiveUp
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::clock::VirtualClock;
    use crate::profile::Retries;
    use crate::secret::Secret;

    fn retries() -> Retries {
        crate::profile::newest().retries
    }

    fn policy(max_retries: u32) -> RetryPolicy {
        RetryPolicy::new(max_retries, &retries())
    }

    fn api(status: u16, code: &str) -> AttemptError {
        AttemptError::Api(ApiFailure {
            status,
            code: Some(code.to_owned()),
            message: String::new(),
            retry_after: None,
            should_retry: None,
        })
    }

    /// No credentials involved (bearer keys).
    type NoSource = CredentialManager<Exporter>;

    async fn run_script(
        policy: RetryPolicy,
        script: Vec<Result<&'static str, AttemptError>>,
    ) -> (Result<&'static str, GaveUp>, Vec<Duration>) {
        let clock = VirtualClock::starting_at(UNIX_EPOCH);
        let script = Mutex::new(script.into_iter());
        let result = run_with_retries(policy, &clock, &mut || 0.0, None::<&mut NoSource>, |_| {
            let next = script.lock().unwrap().next().expect("script long enough");
            async move { next }
        })
        .await;
        (result, clock.slept())
    }

    #[tokio::test]
    async fn throttling_is_retried_with_the_backoff() {
        let (result, slept) = run_script(
            policy(10),
            vec![
                Err(api(429, "ThrottlingException")),
                Err(api(503, "ServiceUnavailableException")),
                Err(AttemptError::Transport(Error::new(
                    ErrorKind::Connection,
                    "reset",
                ))),
                Ok("answer"),
            ],
        )
        .await;
        assert_eq!(result, Ok("answer"));
        assert_eq!(
            slept,
            [
                Duration::from_millis(500),
                Duration::from_secs(1),
                Duration::from_secs(2)
            ]
        );
    }

    #[tokio::test]
    async fn the_budget_ends_the_run() {
        let (result, slept) = run_script(
            policy(10),
            vec![Err(api(500, "InternalServerException")); 11],
        )
        .await;
        assert_eq!(result.unwrap_err().attempts, 11);
        assert_eq!(slept.len(), 10);
        let (result, slept) =
            run_script(policy(0), vec![Err(api(429, "ThrottlingException"))]).await;
        assert_eq!(result.unwrap_err().attempts, 1);
        assert!(slept.is_empty());
    }

    #[tokio::test]
    async fn final_failures_are_not_retried() {
        for error in [
            api(403, "AccessDeniedException"),
            api(400, "ValidationException"),
            api(424, "ModelErrorException"),
            AttemptError::Transport(Error::new(ErrorKind::Signing, "bad url")),
        ] {
            let (result, slept) = run_script(policy(10), vec![Err(error.clone())]).await;
            assert_eq!(result.unwrap_err().attempts, 1, "{error:?}");
            assert!(slept.is_empty());
        }
    }

    #[tokio::test]
    async fn retry_after_is_waited() {
        let mut throttled = api(429, "ThrottlingException");
        if let AttemptError::Api(f) = &mut throttled {
            f.retry_after = Some(Duration::from_secs(7));
        }
        let (result, slept) = run_script(policy(3), vec![Err(throttled), Ok("ok")]).await;
        assert_eq!(result, Ok("ok"));
        assert_eq!(slept, [Duration::from_secs(7)]);
    }

    /// `awsCredentialExport` handing out numbered keys.
    #[derive(Debug, Default)]
    struct Exporter(Mutex<u32>);

    impl CredentialSource for Exporter {
        async fn chain(&self, _: std::time::SystemTime) -> Result<AwsCredentials, Error> {
            Err(Error::new(ErrorKind::Credentials, "no chain in this test"))
        }
        async fn export(&self, _: &str) -> Result<AwsCredentials, Error> {
            let mut n = self.0.lock().unwrap();
            *n += 1;
            Ok(AwsCredentials {
                access_key_id: format!("ASIA{n}"),
                secret_access_key: Secret::new("s"),
                session_token: None,
                expires_at: None,
            })
        }
        async fn auth_refresh(&self, _: &str) -> Result<(), Error> {
            Ok(())
        }
        async fn check(&self, _: &AwsCredentials, _: std::time::SystemTime) -> Result<(), Error> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn refused_credentials_are_exported_again_before_the_retry() {
        let clock = VirtualClock::starting_at(UNIX_EPOCH);
        let mut manager = CredentialManager::new(
            Exporter::default(),
            Some("export".into()),
            None,
            &crate::profile::newest().credentials,
        );
        let used = Mutex::new(Vec::new());
        let result = run_with_retries(policy(10), &clock, &mut || 0.0, Some(&mut manager), |c| {
            let key = c.expect("signed").access_key_id;
            used.lock().unwrap().push(key.clone());
            async move {
                // Only the third export's key is good.
                if key == "ASIA3" {
                    Ok(())
                } else {
                    Err(api(403, "ExpiredTokenException"))
                }
            }
        })
        .await;
        assert_eq!(result, Ok(()));
        assert_eq!(*used.lock().unwrap(), ["ASIA1", "ASIA2", "ASIA3"]);
        assert_eq!(manager.counts().exports, 3);
    }

    #[tokio::test]
    async fn a_chain_with_nothing_to_give_is_retried_then_reported() {
        let clock = VirtualClock::starting_at(UNIX_EPOCH);
        // No export command: the (failing) chain is asked every time.
        let mut manager = CredentialManager::new(
            Exporter::default(),
            None,
            None,
            &crate::profile::newest().credentials,
        );
        let sent = Mutex::new(0);
        let result: Result<(), GaveUp> =
            run_with_retries(policy(2), &clock, &mut || 0.0, Some(&mut manager), |_| {
                *sent.lock().unwrap() += 1;
                async { Ok(()) }
            })
            .await;
        let gave_up = result.unwrap_err();
        assert_eq!(gave_up.attempts, 3);
        assert_eq!(gave_up.last_refusal, None);
        assert!(
            matches!(&gave_up.last, AttemptError::Transport(e) if e.kind() == ErrorKind::Credentials)
        );
        assert_eq!(
            *sent.lock().unwrap(),
            0,
            "nothing is sent without credentials"
        );
        assert_eq!(manager.counts().chain, 3);
    }

    #[tokio::test]
    async fn the_aws_sdk_policy_retries_throttling_but_not_refused_credentials() {
        let clock = VirtualClock::starting_at(UNIX_EPOCH);
        let mut manager = CredentialManager::new(
            Exporter::default(),
            Some("export".into()),
            None,
            &crate::profile::newest().credentials,
        );
        let result: Result<(), GaveUp> = run_with_retries(
            RetryPolicy::aws_sdk(&retries()),
            &clock,
            &mut || 0.0,
            Some(&mut manager),
            |_| async { Err(api(403, "ExpiredTokenException")) },
        )
        .await;
        assert_eq!(result.unwrap_err().attempts, 1);
        let throttled = Mutex::new(0);
        let result: Result<(), GaveUp> = run_with_retries(
            RetryPolicy::aws_sdk(&retries()),
            &clock,
            &mut || 0.0,
            None::<&mut CredentialManager<Exporter>>,
            |_| {
                *throttled.lock().unwrap() += 1;
                async { Err(api(429, "ThrottlingException")) }
            },
        )
        .await;
        assert_eq!(result.unwrap_err().attempts, 3);
        assert_eq!(*throttled.lock().unwrap(), 3);
    }

    #[tokio::test]
    async fn a_refresh_that_never_helps_ends_after_the_budget_and_two_renewals() {
        let clock = VirtualClock::starting_at(UNIX_EPOCH);
        let mut manager = CredentialManager::new(
            Exporter::default(),
            Some("export".into()),
            None,
            &crate::profile::newest().credentials,
        );
        let result: Result<(), GaveUp> = run_with_retries(
            policy(10),
            &clock,
            &mut || 1.0,
            Some(&mut manager),
            |_| async { Err(api(403, "ExpiredTokenException")) },
        )
        .await;
        // Eleven attempts in the budget, then the CLI's two renewals.
        assert_eq!(result.unwrap_err().attempts, 13);
        assert_eq!(manager.counts().exports, 13);
        // Twelve backoffs with full jitter: 0.5 s doubling to 32 s, plus 25 %.
        let total: Duration = clock.slept().iter().sum();
        assert_eq!(
            total,
            Duration::from_millis(
                ((0.5 + 1.0 + 2.0 + 4.0 + 8.0 + 16.0 + 32.0 * 6.0) * 1250.0) as u64
            )
        );
    }
}
