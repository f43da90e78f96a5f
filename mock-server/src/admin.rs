//! The admin API, under a prefix no AWS path uses, so a standalone server
//! can be driven from any language:
//!
//! | call | does |
//! |---|---|
//! | `GET /__bedrock_mock/health` | `{"ok":true}` |
//! | `GET /__bedrock_mock/journal` | every recorded request, JSON array |
//! | `GET /__bedrock_mock/journal/count` | `{"requests":N}`, the journal's length |
//! | `DELETE /__bedrock_mock/journal` | forgets the journal |
//! | `POST /__bedrock_mock/reset` | journal, rules and state back to the start |
//! | `GET /__bedrock_mock/config` | the account state |
//! | `PUT /__bedrock_mock/config` | replaces the account state (and its rules) |
//! | `POST /__bedrock_mock/rules` | adds a rule |
//! | `GET /__bedrock_mock/verify` | 200, or 409 with the unmet expectations |
//! | `POST /__bedrock_mock/clock` | `{"set":"2026-11-25T16:24:01Z"}` or `{"advance_seconds":60}` |
//! | `POST /__bedrock_mock/credentials/next` | issues the next queued credentials: `awsCredentialExport` JSON, or `?format=ini&profile=NAME`, `?format=env`, `?format=container`; 404 when none are queued |
//! | `GET /__bedrock_mock/credentials/container` | the same, as a container credentials endpoint answers (`AWS_CONTAINER_CREDENTIALS_FULL_URI`) |
//! | `GET /__bedrock_mock/credentials` | how many were issued and when, requests per access key id |

use axum::body::Body;
use axum::response::Response;
use http::{Method, StatusCode};
use serde::Deserialize;

use crate::config::{ServerConfig, Timestamp};
use crate::credentials::ExportFormat;
use crate::rules::Rule;
use crate::server::Shared;

/// The largest admin request body (a config with a big catalogue fits).
const MAX_ADMIN_BODY: usize = 4 << 20;

pub(crate) async fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &str,
    body: Body,
) -> Response {
    let body = match axum::body::to_bytes(body, MAX_ADMIN_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                "admin request body over 4 MiB",
            );
        }
    };
    match (method.as_str(), path) {
        ("GET", "health") => json(StatusCode::OK, &serde_json::json!({"ok": true})),
        ("GET", "journal") => json(StatusCode::OK, &shared.journal.snapshot()),
        // A load test's check that nothing was lost, without moving the
        // whole journal.
        ("GET", "journal/count") => json(
            StatusCode::OK,
            &serde_json::json!({"requests": shared.journal.len()}),
        ),
        ("DELETE", "journal") => {
            shared.journal.clear();
            reply(StatusCode::NO_CONTENT, "")
        }
        ("POST", "reset") => {
            shared.reset();
            reply(StatusCode::NO_CONTENT, "")
        }
        ("GET", "config") => json(StatusCode::OK, &*shared.config()),
        ("PUT", "config") => match serde_json::from_slice::<ServerConfig>(&body) {
            Ok(config) => {
                shared.replace_config(config);
                reply(StatusCode::NO_CONTENT, "")
            }
            Err(e) => reply(StatusCode::BAD_REQUEST, &format!("config: {e}")),
        },
        ("POST", "rules") => match serde_json::from_slice::<Rule>(&body) {
            Ok(rule) => {
                shared.mount(rule);
                reply(StatusCode::CREATED, "")
            }
            Err(e) => reply(StatusCode::BAD_REQUEST, &format!("rule: {e}")),
        },
        ("GET", "verify") => match shared.verify() {
            Ok(()) => json(StatusCode::OK, &serde_json::json!({"ok": true})),
            Err(e) => reply(StatusCode::CONFLICT, &e.to_string()),
        },
        ("POST", "clock") => match serde_json::from_slice::<ClockChange>(&body) {
            Ok(ClockChange::Set(at)) => {
                shared.clock.set(at.0);
                reply(StatusCode::NO_CONTENT, "")
            }
            Ok(ClockChange::AdvanceSeconds(s)) => {
                shared.clock.advance(std::time::Duration::from_secs(s));
                reply(StatusCode::NO_CONTENT, "")
            }
            Err(e) => reply(StatusCode::BAD_REQUEST, &format!("clock: {e}")),
        },
        ("POST", "credentials/next") => match ExportFormat::from_query(query) {
            Err(e) => reply(StatusCode::BAD_REQUEST, &e),
            Ok(format) => issue(shared, &format),
        },
        // The container provider only GETs its URI.
        ("GET", "credentials/container") => issue(shared, &ExportFormat::Container),
        ("GET", "credentials") => json(StatusCode::OK, &shared.credential_report()),
        _ => reply(
            StatusCode::NOT_FOUND,
            "unknown admin call; see the table in mock-server/src/admin.rs",
        ),
    }
}

/// Issues the next queued set in `format`, or 404 when none is queued.
fn issue(shared: &Shared, format: &ExportFormat) -> Response {
    match shared.issue_credential() {
        Some(credential) => {
            let (content_type, text) = format.render(&credential, shared.clock.now());
            let mut r = reply(StatusCode::OK, &text);
            r.headers_mut()
                .insert("content-type", http::HeaderValue::from_static(content_type));
            r
        }
        None => reply(
            StatusCode::NOT_FOUND,
            "no credentials are queued: put them in the config's next_credentials",
        ),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ClockChange {
    Set(Timestamp),
    AdvanceSeconds(u64),
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response {
    let body = serde_json::to_vec(value).expect("journal and config serialize");
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    r
}

fn reply(status: StatusCode, text: &str) -> Response {
    let mut r = Response::new(Body::from(text.to_owned()));
    *r.status_mut() = status;
    r
}
