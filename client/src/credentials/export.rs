//! `awsCredentialExport`: a command that prints credentials as JSON,
//! `{"Credentials": {"AccessKeyId", "SecretAccessKey", "SessionToken"}}`
//! (what `aws sts assume-role` prints; `Expiration` is read when present).
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

/// Runs `command` with `env` and reads the credentials it prints.
pub fn run_credential_export(
    command: &str,
    env: &BTreeMap<String, String>,
) -> Result<AwsCredentials, Error> {
    let output = run_shell("awsCredentialExport", command, env, EXPORT_TIME_LIMIT)?;
    if !output.success() {
        let status = output
            .status
            .map_or_else(|| "a signal".to_owned(), |s| format!("status {s}"));
        return Err(Error::new(
            ErrorKind::Command,
            format!(
                "awsCredentialExport (`{command}`) failed with {status}{}; run it yourself to see why",
                last_line(&output.stderr)
            ),
        ));
    }
    credentials_from_export(command, &output.stdout)
}

/// The last line of a command's stderr, as `: <line>`, cut to 200
/// characters (stderr carries the reason; stdout is where secrets are).
fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    match text.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(line) => format!(": {}", line.trim().chars().take(200).collect::<String>()),
        None => String::new(),
    }
}

/// Reads the credentials in `stdout`, the output of `command`.
pub fn credentials_from_export(command: &str, stdout: &[u8]) -> Result<AwsCredentials, Error> {
    let problem = |what: &str| {
        Error::new(
            ErrorKind::Command,
            format!(
                "awsCredentialExport (`{command}`) {what}; it must print {{\"Credentials\": {{\"AccessKeyId\": ..., \"SecretAccessKey\": ..., \"SessionToken\": ...}}}}"
            ),
        )
    };
    let value: Value = serde_json::from_slice(stdout).map_err(|e| {
        // serde's message quotes no input, only a position.
        problem(&format!(
            "printed something that is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let Some(credentials) = value.get("Credentials").and_then(Value::as_object) else {
        return Err(problem("printed JSON without a `Credentials` object"));
    };
    let field = |name: &str| -> Result<Option<&str>, Error> {
        match credentials.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
            Some(Value::String(_)) => {
                Err(problem(&format!("printed an empty `Credentials.{name}`")))
            }
            Some(_) => Err(problem(&format!(
                "printed a `Credentials.{name}` that is not a string"
            ))),
        }
    };
    let required = |name: &str| {
        field(name)?.ok_or_else(|| problem(&format!("printed no `Credentials.{name}`")))
    };
    let access_key_id = required("AccessKeyId")?.to_owned();
    let secret_access_key = Secret::new(required("SecretAccessKey")?);
    let session_token = field("SessionToken")?.map(Secret::new);
    let expires_at = match field("Expiration")? {
        None => None,
        Some(text) => Some(parse_iso8601(text).ok_or_else(|| {
            problem(
                "printed a `Credentials.Expiration` that is not a time like 2026-11-25T16:30:34Z",
            )
        })?),
    };
    Ok(AwsCredentials {
        access_key_id,
        secret_access_key,
        session_token,
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
                .to_string()
        };
        let m = message(&format!("AccessKeyId={SECRET}"));
        assert!(
            m.starts_with("awsCredentialExport (`get-creds`) printed something that is not JSON"),
            "{m}"
        );
        assert!(!m.contains(SECRET));
        assert!(message("{}").contains("without a `Credentials` object"));
        let m = message(&format!(
            r#"{{"Credentials": {{"SecretAccessKey": "{SECRET}"}}}}"#
        ));
        assert!(m.contains("printed no `Credentials.AccessKeyId`"), "{m}");
        assert!(!m.contains(SECRET));
        assert!(
            message(r#"{"Credentials": {"AccessKeyId": "A", "SecretAccessKey": 5}}"#)
                .contains("`Credentials.SecretAccessKey` that is not a string")
        );
        assert!(message(r#"{"Credentials": {"AccessKeyId": "A", "SecretAccessKey": "s", "Expiration": "soon"}}"#)
            .contains("`Credentials.Expiration` that is not a time"));
    }

    #[test]
    fn the_command_runs_with_the_clients_environment() {
        let env = BTreeMap::from([
            ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
            ("KEY_ID".to_owned(), "AKIAFROMENV".to_owned()),
        ]);
        let c = run_credential_export(
            r#"printf '{"Credentials":{"AccessKeyId":"%s","SecretAccessKey":"s"}}' "$KEY_ID""#,
            &env,
        )
        .unwrap();
        assert_eq!(c.access_key_id, "AKIAFROMENV");
        assert_eq!(c.session_token, None);
        let e = run_credential_export("echo 'token expired' >&2; exit 2", &env).unwrap_err();
        assert_eq!(
            e.message(),
            "awsCredentialExport (`echo 'token expired' >&2; exit 2`) failed with status 2: token expired; run it yourself to see why"
        );
    }
}
