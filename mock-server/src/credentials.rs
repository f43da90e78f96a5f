//! Credentials that change while a client runs: the queue of credentials a
//! test's refresh command fetches, the formats it fetches them in, and the
//! report of what was issued and used.
//!
//! A refresh command under test (`awsCredentialExport`, or an
//! `awsAuthRefresh` that writes `~/.aws/credentials`) fetches the next set
//! with `curl -s -X POST $MOCK/__bedrock_mock/credentials/next` and gets
//! exactly what `aws sts assume-role` prints, or an INI profile with
//! `?format=ini&profile=NAME`. The AWS SDKs' container credentials
//! provider gets the next set from `GET /__bedrock_mock/credentials/container`
//! (point `AWS_CONTAINER_CREDENTIALS_FULL_URI` there).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::RwLock;

use serde::Serialize;

use std::time::{Duration, SystemTime};

use crate::config::Credential;
use crate::timefmt::Utc;

/// What was issued (from the queue, and by STS) and which keys requests
/// carried.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use bedrock_mock_server::{Credential, MockBedrock, ServerConfig};
///
/// let server = MockBedrock::start_with(
///     ServerConfig::default().next_credential(Credential::new("AKIANEXT", "secret")),
/// )
/// .await;
/// let issued = server.issue_credential().unwrap();
/// assert_eq!(issued.access_key_id, "AKIANEXT");
/// assert_eq!(server.credential_report().issued, 1);
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CredentialReport {
    /// Sets handed out from `next_credentials` since the start (or the
    /// last reset).
    pub issued: usize,
    /// When each of those was handed out, by the server's clock (a
    /// refresh command's runs, for a test of how often it runs).
    pub issued_at: Vec<crate::timefmt::Timestamp>,
    /// Sets minted for STS `AssumeRole` and `AssumeRoleWithWebIdentity`,
    /// and by the SSO portal when nothing was queued.
    pub assumed: usize,
    /// Queued sets not handed out yet (the last is handed out again after
    /// that, so issuing goes on when this is 0).
    pub remaining: usize,
    /// Requests per access key id (SigV4 requests only), accepted or not,
    /// among those the journal holds (not those it dropped over its limits).
    pub requests_by_key: BTreeMap<String, u64>,
}

/// The queue position of the `issued`-th issue (from 0): in order, then
/// the last one again and again.
pub(crate) fn queue_index(issued: usize, queued: usize) -> Option<usize> {
    (queued > 0).then(|| issued.min(queued - 1))
}

/// The most minted sessions the account keeps at once.
const MAX_SESSIONS: usize = 1024;

/// Keys handed out while the server runs, kept apart from the config so
/// that handing one out never copies an account that may hold a million
/// rules: sets issued from `next_credentials` (kept until a reset), and
/// sessions minted by STS `AssumeRole*` and the SSO portal. At most
/// [`MAX_SESSIONS`] minted sessions are kept, the oldest forgotten first:
/// `AssumeRoleWithWebIdentity` needs no signature, so without a bound any
/// caller could grow the account without limit.
#[derive(Debug, Default)]
pub(crate) struct IssuedKeys {
    inner: RwLock<Keys>,
}

#[derive(Debug, Default)]
struct Keys {
    /// Issued from the queue, one per key id (the latest issue).
    queued: Vec<Credential>,
    minted: HashMap<String, Credential>,
    /// Minted key ids, oldest first.
    order: VecDeque<String>,
    /// Every session minted since the last reset, forgotten or not.
    minted_count: usize,
}

impl IssuedKeys {
    /// Makes a set issued from the queue known, in place of one with the
    /// same key id.
    pub(crate) fn issue(&self, credential: Credential) {
        let mut keys = self.write();
        keys.queued
            .retain(|c| c.access_key_id != credential.access_key_id);
        keys.queued.push(credential);
    }

    /// Makes a minted session known, forgetting the oldest past the bound.
    pub(crate) fn mint(&self, credential: Credential) {
        let mut keys = self.write();
        keys.minted_count += 1;
        let key = credential.access_key_id.clone();
        if keys.minted.insert(key.clone(), credential).is_none() {
            keys.order.push_back(key);
        }
        while keys.order.len() > MAX_SESSIONS {
            if let Some(oldest) = keys.order.pop_front() {
                keys.minted.remove(&oldest);
            }
        }
    }

    /// The key handed out with id `access_key_id`.
    pub(crate) fn find(&self, access_key_id: &str) -> Option<Credential> {
        let keys = self.read();
        keys.queued
            .iter()
            .find(|c| c.access_key_id == access_key_id)
            .or_else(|| keys.minted.get(access_key_id))
            .cloned()
    }

    /// The secret keys and session tokens of the keys kept that occur in
    /// `text` (read under the lock, so nothing is copied unless found).
    pub(crate) fn secrets_in(&self, text: &str) -> Vec<String> {
        let keys = self.read();
        keys.queued
            .iter()
            .chain(keys.minted.values())
            .flat_map(|c| {
                [
                    Some(c.secret_access_key.as_str()),
                    c.session_token.as_deref(),
                ]
            })
            .flatten()
            .filter(|secret| !secret.is_empty() && text.contains(secret))
            .map(str::to_owned)
            .collect()
    }

    /// Every key kept: those issued from the queue, then the sessions,
    /// oldest first.
    pub(crate) fn all(&self) -> Vec<Credential> {
        let keys = self.read();
        let minted = keys.order.iter().filter_map(|key| keys.minted.get(key));
        keys.queued.iter().chain(minted).cloned().collect()
    }

    /// How many sessions were minted since the last reset.
    pub(crate) fn minted(&self) -> usize {
        self.read().minted_count
    }

    pub(crate) fn clear(&self) {
        *self.write() = Keys::default();
    }

    // Whole values replaced under the lock: a panic elsewhere cannot leave
    // one half-written, so poisoning is ignored.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Keys> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The formats a refresh command can ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExportFormat {
    /// `{"Credentials": {...}}`, as `awsCredentialExport` must print it.
    Json,
    /// A `~/.aws/credentials` profile.
    Ini { profile: String },
    /// `export AWS_...=` lines for a shell.
    Env,
    /// What a container credentials endpoint serves
    /// (`AWS_CONTAINER_CREDENTIALS_FULL_URI`): `AccessKeyId`,
    /// `SecretAccessKey`, `Token`, `Expiration` at the top level. The AWS
    /// SDKs need a token: queue temporary credentials for it.
    Container,
}

impl ExportFormat {
    /// Reads `format` and `profile` from an admin call's query.
    pub(crate) fn from_query(query: &str) -> Result<Self, String> {
        let param = |name: &str| {
            query.split('&').find_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (k == name).then(|| crate::percent::percent_decode(v))
            })
        };
        match param("format").as_deref() {
            None | Some("json") => Ok(Self::Json),
            Some("ini") => {
                let profile = param("profile").unwrap_or_else(|| "default".to_owned());
                let valid = !profile.is_empty()
                    && profile
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
                if valid {
                    Ok(Self::Ini { profile })
                } else {
                    Err(format!(
                        "`{profile}` is not a profile name (letters, digits, - _ .)"
                    ))
                }
            }
            Some("env") => Ok(Self::Env),
            Some("container") => Ok(Self::Container),
            Some(other) => Err(format!(
                "unknown format `{other}`: use json, ini, env or container"
            )),
        }
    }

    /// `credential` in this format, and its content type. `now` dates a
    /// container answer for a set without an expiry (the SDKs' container
    /// provider needs one).
    pub(crate) fn render(
        &self,
        credential: &Credential,
        now: SystemTime,
    ) -> (&'static str, String) {
        let expiration = credential
            .expires_at
            .map(|t| Utc::from_system(t.0).iso8601());
        match self {
            Self::Json => {
                let body = ExportedJson {
                    credentials: KeyFields::of(credential, expiration.as_deref(), false),
                };
                let text = serde_json::to_string_pretty(&body).expect("credentials serialize");
                ("application/json", format!("{text}\n"))
            }
            Self::Container => {
                let expiration = expiration
                    .unwrap_or_else(|| Utc::from_system(now + Duration::from_secs(3600)).iso8601());
                let fields = KeyFields::of(credential, Some(&expiration), true);
                (
                    "application/json",
                    serde_json::to_string(&fields).expect("credentials serialize"),
                )
            }
            Self::Ini { profile } => {
                let mut out = format!(
                    "[{profile}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                    credential.access_key_id, credential.secret_access_key
                );
                if let Some(token) = &credential.session_token {
                    out.push_str(&format!("aws_session_token = {token}\n"));
                }
                ("text/plain", out)
            }
            Self::Env => {
                let mut out = format!(
                    "export AWS_ACCESS_KEY_ID={}\nexport AWS_SECRET_ACCESS_KEY={}\n",
                    shell_quote(&credential.access_key_id),
                    shell_quote(&credential.secret_access_key)
                );
                match &credential.session_token {
                    Some(token) => out.push_str(&format!(
                        "export AWS_SESSION_TOKEN={}\n",
                        shell_quote(token)
                    )),
                    None => out.push_str("unset AWS_SESSION_TOKEN\n"),
                }
                ("text/plain", out)
            }
        }
    }
}

/// `aws configure export-credentials --format process`'s JSON.
#[derive(serde::Serialize)]
struct ExportedJson<'a> {
    #[serde(rename = "Credentials")]
    credentials: KeyFields<'a>,
}

/// `AccessKeyId`, `SecretAccessKey`, the session token (`SessionToken`
/// in the process format, `Token` in the container provider's) and
/// `Expiration`, in that order whatever serde_json's features (serde
/// writes a struct's fields in declaration order); absent ones left out.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyFields<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<&'a str>,
}

impl<'a> KeyFields<'a> {
    /// The session token goes under `Token` for the container format.
    fn of(credential: &'a Credential, expiration: Option<&'a str>, container: bool) -> Self {
        let token = credential.session_token.as_deref();
        KeyFields {
            access_key_id: &credential.access_key_id,
            secret_access_key: &credential.secret_access_key,
            session_token: token.filter(|_| !container),
            token: token.filter(|_| container),
            expiration,
        }
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_queued_set_is_issued_again() {
        let order: Vec<Option<usize>> = (0..5).map(|n| queue_index(n, 3)).collect();
        assert_eq!(order, [Some(0), Some(1), Some(2), Some(2), Some(2)]);
        assert_eq!(queue_index(0, 0), None);
    }

    #[test]
    fn json_is_what_aws_credential_export_reads() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_624_234);
        let c = Credential::new("ASIANEXT", "s/e+c").session("tok", at);
        let (_, body) = ExportFormat::Json.render(&c, SystemTime::UNIX_EPOCH);
        // Byte for byte: the CLI's order and layout, not the sorted keys
        // of a `serde_json::Value` built without `preserve_order`.
        assert_eq!(
            body,
            concat!(
                "{\n",
                "  \"Credentials\": {\n",
                "    \"AccessKeyId\": \"ASIANEXT\",\n",
                "    \"SecretAccessKey\": \"s/e+c\",\n",
                "    \"SessionToken\": \"tok\",\n",
                "    \"Expiration\": \"2026-11-25T16:30:34Z\"\n",
                "  }\n",
                "}\n",
            )
        );
        let (_, long_term) =
            ExportFormat::Json.render(&Credential::new("AKIA", "s"), SystemTime::UNIX_EPOCH);
        assert_eq!(
            long_term,
            "{\n  \"Credentials\": {\n    \"AccessKeyId\": \"AKIA\",\n    \"SecretAccessKey\": \"s\"\n  }\n}\n"
        );
    }

    #[test]
    fn ini_and_env_formats() {
        let c = Credential::new("AKIANEXT", "it's");
        let ini = ExportFormat::from_query("format=ini&profile=my-profile").unwrap();
        assert_eq!(
            ini.render(&c, SystemTime::UNIX_EPOCH).1,
            "[my-profile]\naws_access_key_id = AKIANEXT\naws_secret_access_key = it's\n"
        );
        let env = ExportFormat::from_query("format=env")
            .unwrap()
            .render(&c, SystemTime::UNIX_EPOCH)
            .1;
        assert!(
            env.contains(r"export AWS_SECRET_ACCESS_KEY='it'\''s'"),
            "{env}"
        );
        assert!(env.ends_with("unset AWS_SESSION_TOKEN\n"));
        assert!(ExportFormat::from_query("format=xml").is_err());
        let session = Credential::new("ASIAC", "s").session(
            "t",
            std::time::UNIX_EPOCH + Duration::from_secs(1_795_624_234),
        );
        let container = ExportFormat::from_query("format=container").unwrap();
        // A set queued without an expiry still gets one: SDKs require it.
        let undated = Credential::new("ASIAC", "s");
        let (_, body) = container.render(&undated, SystemTime::UNIX_EPOCH);
        assert!(
            body.contains(r#""Expiration":"1970-01-01T01:00:00Z""#),
            "{body}"
        );
        assert_eq!(
            container.render(&session, SystemTime::UNIX_EPOCH).1,
            r#"{"AccessKeyId":"ASIAC","SecretAccessKey":"s","Token":"t","Expiration":"2026-11-25T16:30:34Z"}"#
        );
        assert!(ExportFormat::from_query("format=ini&profile=a%0Ab").is_err());
    }
}
