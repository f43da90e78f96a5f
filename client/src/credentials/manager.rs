//! When to (re)load AWS credentials, as Claude Code does:
//!
//! - `awsCredentialExport`: run before the first request, and again after
//!   the service refused the credentials, before the retry.
//! - `awsAuthRefresh`: before credentials are loaded, STS
//!   `GetCallerIdentity` checks the ones the chain has; only when that
//!   check fails does the command run, and never twice within the
//!   profile's interval (30 s). If STS is happy but Bedrock says
//!   "expired", the command does not run.
//! - Otherwise the default chain, reloaded after a refusal.
//! - Credentials whose expiry has passed, or is within the profile's
//!   margin (five minutes, the AWS JS SDK's), are reloaded before use.
//!
//! The sources sit behind [`CredentialSource`] so the loop can be tested
//! with scripted answers and a virtual clock.

use std::future::Future;
use std::time::SystemTime;

use super::{AwsCredentials, RefreshGate};
use crate::clock::TimeSource;
use crate::error::Error;
use crate::profile::CredentialTimes;

/// Where credentials and checks come from.
pub trait CredentialSource: Send + Sync {
    /// The default AWS chain, judging expiry and signing its own calls
    /// (SSO, STS `AssumeRole`) at `now` (the session's clock).
    fn chain(&self, now: SystemTime) -> impl Future<Output = Result<AwsCredentials, Error>> + Send;
    /// Runs `awsCredentialExport` and reads what it printed.
    fn export(&self, command: &str) -> impl Future<Output = Result<AwsCredentials, Error>> + Send;
    /// Runs `awsAuthRefresh`, its output shown to the user.
    fn auth_refresh(&self, command: &str) -> impl Future<Output = Result<(), Error>> + Send;
    /// STS `GetCallerIdentity` with `credentials`, signed at `now` (the
    /// session's clock): `Ok` when they work.
    fn check(
        &self,
        credentials: &AwsCredentials,
        now: SystemTime,
    ) -> impl Future<Output = Result<(), Error>> + Send;
}

/// How often each source was used, for tests and scenario counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceCounts {
    /// Default chain loads.
    pub chain: u32,
    /// `awsCredentialExport` runs.
    pub exports: u32,
    /// STS checks.
    pub sts_checks: u32,
    /// `awsAuthRefresh` runs.
    pub auth_refreshes: u32,
}

/// Holds the current credentials and decides when to reload them.
#[derive(Debug)]
pub struct CredentialManager<S> {
    source: S,
    export_command: Option<String>,
    auth_refresh_command: Option<String>,
    current: Option<AwsCredentials>,
    gate: RefreshGate,
    expiry_margin: std::time::Duration,
    counts: SourceCounts,
}

impl<S: CredentialSource> CredentialManager<S> {
    /// A manager reading `source`, with the configured refresh commands,
    /// on the profile's refresh gate and expiry margin.
    pub fn new(
        source: S,
        export_command: Option<String>,
        auth_refresh_command: Option<String>,
        times: &CredentialTimes,
    ) -> Self {
        Self {
            source,
            export_command,
            auth_refresh_command,
            current: None,
            gate: RefreshGate::new(times.auth_refresh_interval),
            expiry_margin: times.expiry_margin,
            counts: SourceCounts::default(),
        }
    }

    /// Credentials to sign the next request with, loading them first when
    /// there are none or they have expired.
    pub async fn credentials(&mut self, clock: &impl TimeSource) -> Result<AwsCredentials, Error> {
        if let Some(current) = &self.current
            && !current.due_for_refresh(clock.now(), self.expiry_margin)
        {
            return Ok(current.clone());
        }
        let loaded = self.load(clock).await?;
        self.current = Some(loaded.clone());
        Ok(loaded)
    }

    /// The service refused the credentials: the next request loads new
    /// ones.
    pub fn invalidate(&mut self) {
        self.current = None;
    }

    /// How often each source was used.
    pub fn counts(&self) -> SourceCounts {
        self.counts
    }

    /// When a run ends on refused credentials after `awsAuthRefresh` ran:
    /// the explanation of the loop the seed's troubleshooting describes (a
    /// refresh that finishes but leaves the credentials bad), and what to
    /// do instead. `None` if the command never ran.
    pub fn refresh_loop_hint(&self) -> Option<String> {
        let command = self.auth_refresh_command.as_deref()?;
        let runs = self.counts.auth_refreshes;
        (runs > 0).then(|| {
            format!(
                "awsAuthRefresh (`{command}`) ran {runs} time{} and finished, but AWS still refused the credentials. If it opens a browser sign-in that never completes (a VPN or TLS-inspecting proxy can interrupt it), remove awsAuthRefresh from your settings and run `aws sso login` yourself.",
                if runs == 1 { "" } else { "s" }
            )
        })
    }

    async fn load(&mut self, clock: &impl TimeSource) -> Result<AwsCredentials, Error> {
        if let Some(command) = self.auth_refresh_command.clone() {
            let healthy = match self.chain(clock).await {
                Ok(credentials) => {
                    self.counts.sts_checks += 1;
                    self.source.check(&credentials, clock.now()).await.is_ok()
                }
                // An SSO session that ended fails here, before any check.
                Err(_) => false,
            };
            if !healthy && self.gate.try_run(clock.elapsed()) {
                self.counts.auth_refreshes += 1;
                self.source.auth_refresh(&command).await?;
            }
        }
        match self.export_command.clone() {
            Some(command) => {
                self.counts.exports += 1;
                self.source.export(&command).await
            }
            None => self.chain(clock).await,
        }
    }

    async fn chain(&mut self, clock: &impl TimeSource) -> Result<AwsCredentials, Error> {
        self.counts.chain += 1;
        self.source.chain(clock.now()).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::*;
    use crate::clock::VirtualClock;
    use crate::error::ErrorKind;
    use crate::secret::Secret;

    fn times() -> CredentialTimes {
        crate::profile::newest().credentials
    }

    fn creds(id: &str, expires_at: Option<SystemTime>) -> AwsCredentials {
        AwsCredentials {
            access_key_id: id.to_owned(),
            secret_access_key: Secret::new("s"),
            session_token: None,
            expires_at,
        }
    }

    /// Scripted sources: the chain hands out keys in order (the last one
    /// again and again); STS accepts only keys in `good`.
    #[derive(Default)]
    struct Script {
        chain: Mutex<Vec<&'static str>>,
        good: Vec<&'static str>,
        exports: Mutex<u32>,
    }

    impl CredentialSource for Script {
        async fn chain(&self, _: SystemTime) -> Result<AwsCredentials, Error> {
            let mut keys = self.chain.lock().unwrap();
            let key = if keys.len() > 1 {
                keys.remove(0)
            } else {
                keys[0]
            };
            Ok(creds(key, None))
        }

        async fn export(&self, _command: &str) -> Result<AwsCredentials, Error> {
            let mut n = self.exports.lock().unwrap();
            *n += 1;
            Ok(creds(&format!("ASIAEXPORT{n}"), None))
        }

        async fn auth_refresh(&self, _command: &str) -> Result<(), Error> {
            Ok(())
        }

        async fn check(&self, c: &AwsCredentials, _: SystemTime) -> Result<(), Error> {
            if self.good.contains(&c.access_key_id.as_str()) {
                Ok(())
            } else {
                Err(Error::new(ErrorKind::Credentials, "ExpiredToken"))
            }
        }
    }

    fn clock() -> VirtualClock {
        VirtualClock::starting_at(UNIX_EPOCH + Duration::from_secs(1_795_624_234))
    }

    #[tokio::test]
    async fn export_runs_first_and_after_each_refusal() {
        let script = Script {
            chain: Mutex::new(vec!["AKIACHAIN"]),
            ..Script::default()
        };
        let mut manager = CredentialManager::new(script, Some("export".into()), None, &times());
        let clock = clock();
        assert_eq!(
            manager.credentials(&clock).await.unwrap().access_key_id,
            "ASIAEXPORT1"
        );
        // Reused while not refused.
        assert_eq!(
            manager.credentials(&clock).await.unwrap().access_key_id,
            "ASIAEXPORT1"
        );
        manager.invalidate();
        assert_eq!(
            manager.credentials(&clock).await.unwrap().access_key_id,
            "ASIAEXPORT2"
        );
        assert_eq!(manager.counts().exports, 2);
        assert_eq!(manager.counts().chain, 0);
    }

    #[tokio::test]
    async fn auth_refresh_runs_only_when_sts_says_no_and_at_most_every_30_seconds() {
        let script = Script {
            chain: Mutex::new(vec!["AKIABAD"]),
            good: vec![],
            ..Script::default()
        };
        let mut manager =
            CredentialManager::new(script, None, Some("aws sso login".into()), &times());
        let clock = clock();
        // STS fails every time; credentials are loaded every 3 s for a minute.
        for _ in 0..20 {
            manager.invalidate();
            manager.credentials(&clock).await.unwrap();
            clock.advance(Duration::from_secs(3));
        }
        assert_eq!(manager.counts().auth_refreshes, 2, "{:?}", manager.counts());
        assert_eq!(manager.counts().sts_checks, 20);
    }

    #[tokio::test]
    async fn a_healthy_sts_check_never_runs_the_refresh() {
        let script = Script {
            chain: Mutex::new(vec!["AKIAGOOD"]),
            good: vec!["AKIAGOOD"],
            ..Script::default()
        };
        let mut manager =
            CredentialManager::new(script, None, Some("aws sso login".into()), &times());
        let clock = clock();
        for _ in 0..5 {
            manager.invalidate();
            manager.credentials(&clock).await.unwrap();
            clock.advance(Duration::from_secs(60));
        }
        assert_eq!(manager.counts().auth_refreshes, 0);
    }

    #[tokio::test]
    async fn expired_credentials_are_reloaded_before_use() {
        let start = clock();
        let expiry = start.now() + Duration::from_secs(60);
        struct Expiring(SystemTime, Mutex<u32>);
        impl CredentialSource for Expiring {
            async fn chain(&self, _: SystemTime) -> Result<AwsCredentials, Error> {
                let mut n = self.1.lock().unwrap();
                *n += 1;
                Ok(creds(
                    &format!("ASIA{n}"),
                    Some(self.0 + Duration::from_secs(3600) * (*n - 1)),
                ))
            }
            async fn export(&self, _: &str) -> Result<AwsCredentials, Error> {
                unreachable!()
            }
            async fn auth_refresh(&self, _: &str) -> Result<(), Error> {
                unreachable!()
            }
            async fn check(&self, _: &AwsCredentials, _: SystemTime) -> Result<(), Error> {
                unreachable!()
            }
        }
        let mut manager =
            CredentialManager::new(Expiring(expiry, Mutex::new(0)), None, None, &times());
        assert_eq!(
            manager.credentials(&start).await.unwrap().access_key_id,
            "ASIA1"
        );
        start.advance(Duration::from_secs(61));
        assert_eq!(
            manager.credentials(&start).await.unwrap().access_key_id,
            "ASIA2"
        );
        assert_eq!(manager.counts().chain, 2);
        // ASIA2 expires an hour after ASIA1 did: kept until five minutes
        // before that.
        // Now 61 s in; ASIA2 expires 3,660 s in, so it is due at 3,360 s.
        start.advance(Duration::from_secs(3359 - 61));
        assert_eq!(
            manager.credentials(&start).await.unwrap().access_key_id,
            "ASIA2"
        );
        start.advance(Duration::from_secs(2));
        assert_eq!(
            manager.credentials(&start).await.unwrap().access_key_id,
            "ASIA3"
        );
    }
}
