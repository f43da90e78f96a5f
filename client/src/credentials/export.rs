//! `awsCredentialExport`: a command that prints credentials as STS does,
//! `{"Credentials": {"AccessKeyId", "SecretAccessKey", "SessionToken"}}`
//! (what `aws sts assume-role` prints), or with those at the top (what
//! `aws configure export-credentials` prints, `Version: 1` beside them);
//! `Expiration` is read when present. As the CLI 2.1.328 and 2.1.332, a
//! session token is required, and credentials without `Expiration` are
//! kept for the session (conformance's `credential-export-*` cases).
//! Its output is never shown: it holds secrets. Errors say what was wrong
//! with it, never what it said.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::AwsCredentials;
use crate::calendar::parse_iso8601;
use crate::command::run_shell;
use crate::error::{Error, ErrorKind};
use crate::secret::Secret;

/// How long `awsCredentialExport` may take: it prints credentials, it does
/// not wait for a person.
pub const EXPORT_TIME_LIMIT: Duration = Duration::from_secs(60);

/// What the CLI says was wrong with `awsCredentialExport`'s run (its
/// words for each are the profile's `texts.export_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportProblem {
    /// The command failed, or printed no JSON.
    NoValue,
    /// Its JSON holds no key, secret and session token, in STS's
    /// `{"Credentials": {…}}` or at the top.
    NotSts,
}

/// Why `awsCredentialExport` gave nothing usable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportFailure {
    /// Why, as the CLI tells it (it prints that on stderr after each run).
    pub problem: ExportProblem,
    /// Why, in ours: what was wrong, never what it printed.
    pub error: Error,
}

/// Runs `command` with `env` and reads the credentials it prints.
pub fn run_credential_export(
    command: &str,
    env: &BTreeMap<String, String>,
) -> Result<AwsCredentials, ExportFailure> {
    let failed = |error: Error| ExportFailure {
        problem: ExportProblem::NoValue,
        error: Error::new(ErrorKind::CredentialExport, error.message()),
    };
    let output =
        run_shell("awsCredentialExport", command, env, EXPORT_TIME_LIMIT).map_err(failed)?;
    if !output.success() {
        let status = output
            .status
            .map_or_else(|| "a signal".to_owned(), |s| format!("status {s}"));
        return Err(failed(Error::new(
            ErrorKind::CredentialExport,
            format!(
                "awsCredentialExport (`{command}`) failed with {status}{}; run it yourself to see why",
                last_line(&output.stderr)
            ),
        )));
    }
    credentials_from_export(command, &output.stdout)
}

/// The last line of a command's stderr, as `: <line>`, cut to 200
/// characters (stderr carries the reason; stdout is where secrets are).
fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    // A line that names a credential's field may carry its value.
    let quotable = |line: &&str| {
        !line.trim().is_empty()
            && !["AccessKeyId", "SecretAccessKey", "SessionToken"]
                .iter()
                .any(|field| line.contains(field))
    };
    match text.lines().rev().find(quotable) {
        Some(line) => format!(": {}", line.trim().chars().take(200).collect::<String>()),
        None => String::new(),
    }
}

/// `command`'s output was not credentials: `what` it printed instead.
fn unusable_output(command: &str, problem: ExportProblem, what: &str) -> ExportFailure {
    ExportFailure {
        problem,
        error: Error::new(
            ErrorKind::CredentialExport,
            format!(
                "awsCredentialExport (`{command}`) {what}; it must print {{\"Credentials\": {{\"AccessKeyId\": ..., \"SecretAccessKey\": ..., \"SessionToken\": ...}}}}, or those three at the top"
            ),
        ),
    }
}

/// Reads the credentials in `stdout`, the output of `command`.
pub fn credentials_from_export(
    command: &str,
    stdout: &[u8],
) -> Result<AwsCredentials, ExportFailure> {
    let problem = |kind: ExportProblem, what: &str| unusable_output(command, kind, what);
    let not_sts = |what: &str| problem(ExportProblem::NotSts, what);
    let value: Value = serde_json::from_slice(stdout).map_err(|e| {
        // serde's message quotes no input, only a position. (The CLI
        // prints its JSON parser's message here.)
        problem(
            ExportProblem::NoValue,
            &format!(
                "printed something that is not JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    let Some(credentials) = value
        .get("Credentials")
        .and_then(Value::as_object)
        .or_else(|| value.as_object())
    else {
        return Err(not_sts("printed JSON that is not an object"));
    };
    let field = |name: &str| -> Result<Option<&str>, ExportFailure> {
        match credentials.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
            Some(Value::String(_)) => {
                Err(not_sts(&format!("printed an empty `Credentials.{name}`")))
            }
            Some(_) => Err(not_sts(&format!(
                "printed a `Credentials.{name}` that is not a string"
            ))),
        }
    };
    let required = |name: &str| {
        field(name)?.ok_or_else(|| not_sts(&format!("printed no `Credentials.{name}`")))
    };
    let expires_at = field("Expiration")?
        .map(|text| {
            parse_iso8601(text).ok_or_else(|| {
                not_sts(
                    "printed a `Credentials.Expiration` that is not a time like 2026-11-25T16:30:34Z",
                )
            })
        })
        .transpose()?;
    Ok(AwsCredentials {
        access_key_id: required("AccessKeyId")?.to_owned(),
        secret_access_key: Secret::new(required("SecretAccessKey")?),
        session_token: Some(Secret::new(required("SessionToken")?)),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRET";

    #[test]
    fn reads_what_aws_sts_prints() {
        let out = format!(
            r#"{{"Credentials": {{"AccessKeyId": "ASIANEXT", "SecretAccessKey": "{SECRET}",
                "SessionToken": "tok", "Expiration": "2026-11-25T16:30:34Z"}},
               "AssumedRoleUser": {{"Arn": "arn:aws:sts::1:assumed-role/r/s"}}}}"#
        );
        let c = credentials_from_export("cmd", out.as_bytes()).unwrap();
        assert_eq!(c.access_key_id, "ASIANEXT");
        assert_eq!(c.secret_access_key.expose(), SECRET);
        assert_eq!(c.session_token.as_ref().map(Secret::expose), Some("tok"));
        assert_eq!(c.expires_at, parse_iso8601("2026-11-25T16:30:34Z"));
        assert!(!format!("{c:?}").contains(SECRET));
    }

    #[test]
    fn bad_output_is_named_without_echoing_it() {
        let message = |out: &str| {
            credentials_from_export("get-creds", out.as_bytes())
                .unwrap_err()
                .error
                .to_string()
        };
        let m = message(&format!("AccessKeyId={SECRET}"));
        assert!(
            m.starts_with("awsCredentialExport (`get-creds`) printed something that is not JSON"),
            "{m}"
        );
        assert!(!m.contains(SECRET));
        assert!(message("{}").contains("printed no `Credentials.AccessKeyId`"));
        let m = message(&format!(
            r#"{{"Credentials": {{"SecretAccessKey": "{SECRET}"}}}}"#
        ));
        assert!(m.contains("printed no `Credentials.AccessKeyId`"), "{m}");
        assert!(!m.contains(SECRET));
        assert!(
            message(r#"{"Credentials": {"AccessKeyId": "A", "SecretAccessKey": 5}}"#)
                .contains("`Credentials.SecretAccessKey` that is not a string")
        );
        assert!(message(r#"{"Credentials": {"AccessKeyId": "A", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "soon"}}"#)
            .contains("`Credentials.Expiration` that is not a time"));
    }

    #[test]
    fn both_shapes_are_taken_with_a_session_token_as_the_cli_takes_them() {
        let read = |out: &str| credentials_from_export("get-creds", out.as_bytes());
        // `aws configure export-credentials`'s shape is taken too.
        let top = read(r#"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "2099-01-01T00:00:00Z"}"#)
            .unwrap();
        assert_eq!(top.access_key_id, "A");
        assert!(top.expires_at.is_some());
        let top_without_token =
            read(r#"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "s"}"#).unwrap_err();
        assert_eq!(top_without_token.problem, ExportProblem::NotSts);
        assert!(
            top_without_token
                .error
                .to_string()
                .contains("no `Credentials.SessionToken`")
        );
        let no_token = read(r#"{"Credentials": {"AccessKeyId": "A", "SecretAccessKey": "s", "Expiration": "2099-01-01T00:00:00Z"}}"#)
            .unwrap_err();
        assert_eq!(no_token.problem, ExportProblem::NotSts);
        assert_eq!(
            read("AccessKeyId=A").unwrap_err().problem,
            ExportProblem::NoValue
        );
        // No Expiration: taken, and kept for the session.
        let kept = read(
            r#"{"Credentials": {"AccessKeyId": "A", "SecretAccessKey": "s", "SessionToken": "t"}}"#,
        )
        .unwrap();
        assert_eq!(kept.expires_at, None);
    }

    #[test]
    fn the_command_runs_with_the_clients_environment() {
        let env = BTreeMap::from([
            ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
            ("KEY_ID".to_owned(), "AKIAFROMENV".to_owned()),
        ]);
        let c = run_credential_export(
            r#"printf '{"Credentials":{"AccessKeyId":"%s","SecretAccessKey":"s","SessionToken":"t"}}' "$KEY_ID""#,
            &env,
        )
        .unwrap();
        assert_eq!(c.access_key_id, "AKIAFROMENV");
        let e = run_credential_export("echo 'token expired' >&2; exit 2", &env).unwrap_err();
        assert_eq!(e.problem, ExportProblem::NoValue);
        assert_eq!(
            e.error.message(),
            "awsCredentialExport (`echo 'token expired' >&2; exit 2`) failed with status 2: token expired; run it yourself to see why"
        );
        // A last line that names a credential's field is not quoted: it
        // may carry the value.
        let e = run_credential_export(
            r#"echo 'profile dev: token expired' >&2; echo "SecretAccessKey=$KEY_ID" >&2; exit 2"#,
            &env,
        )
        .unwrap_err();
        assert!(e.error.message().contains(": profile dev: token expired;"));
        assert!(!e.error.message().contains("AKIAFROMENV"));
    }
}
