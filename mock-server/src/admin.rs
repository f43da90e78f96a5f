//! The admin API, under a prefix no AWS path uses, so a standalone server
//! can be driven from any language.
//!
//! Every call, with its body, answer, status codes and a JSON example of
//! each, is one row of the table in `mock-server/ADMIN.md`; [`ROUTES`]
//! lists the same calls, the router is built from paths it lists, and a
//! test holds the table to it.
//!
//! Calls with a body send it as JSON (`Content-Type: application/json`;
//! curl: `--json '{"real":true}'`); `PATCH /config` also takes
//! `application/merge-patch+json` (RFC 7396) and
//! `application/json-patch+json` (RFC 6902). Who may call (`admin_access`): a
//! program on this machine that sends no `Origin` and names the server in
//! `Host` (`127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`); on a server
//! reachable from elsewhere (`serve --allow-remote`), only calls with
//! `Authorization: Bearer TOKEN`, the token it printed at start; with
//! `serve --no-admin`, none. A refused call is 403 (401 for a missing or
//! wrong token, 415 for a body that is not JSON) with a text saying why.
//!
//! The server's router sends the prefix here (`server`); nothing of it
//! passes through the AWS request pipeline.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, any, get, post};
use http::StatusCode;
use serde::Deserialize;

use crate::admin_access::{Gate, PatchKind};
use crate::checks::ConfigError;
use crate::config::ServerConfig;
use crate::credentials::ExportFormat;
use crate::journal::RecordedRequest;
use crate::json_patch::{self, PatchError, PatchErrorKind};
use crate::pipeline::{Unread, read_body};
use crate::state::Shared;
use crate::timefmt::Timestamp;

/// The prefix of the admin API. No AWS path starts with `/__`.
pub const PREFIX: &str = "/__bedrock_mock/";

/// Every admin call: its method and its path under [`PREFIX`], in the
/// order of the table in `mock-server/ADMIN.md` (a test compares them).
pub(crate) const ROUTES: [(&str, &str); 14] = [
    ("GET", "health"),
    ("GET", "journal"),
    ("GET", "journal/count"),
    ("DELETE", "journal"),
    ("POST", "reset"),
    ("GET", "config"),
    ("PUT", "config"),
    ("PATCH", "config"),
    ("POST", "rules"),
    ("GET", "verify"),
    ("POST", "clock"),
    ("POST", "credentials/next"),
    ("GET", "credentials/container"),
    ("GET", "credentials"),
];

/// The largest admin request body (a config with a big catalogue fits).
const MAX_ADMIN_BODY: usize = 4 << 20;

type Admin = State<Arc<Shared>>;

/// Every admin call, behind `gate`, its body read within `body_time`; an
/// unknown one (or a known path with another method) is a 404 naming the
/// table above.
pub(crate) fn router(gate: Gate, body_time: Duration) -> Router<Arc<Shared>> {
    // Only a path [`ROUTES`] lists is routed (checked in the tests'
    // builds, which start servers): the test that holds the table to
    // [`ROUTES`] then covers every route.
    let call = |path: &str| {
        let listed = ROUTES.iter().any(|(_, listed)| *listed == path);
        debug_assert!(listed, "admin path {path} is not in ROUTES");
        format!("{PREFIX}{path}")
    };
    // axum answers HEAD with a GET's handler; the admin API has no HEAD.
    let known = |route: MethodRouter<Arc<Shared>>| route.head(unknown).fallback(unknown);
    Router::new()
        .route(&call("health"), known(get(health)))
        .route(&call("journal"), known(get(journal).delete(forget_journal)))
        .route(&call("journal/count"), known(get(journal_count)))
        .route(&call("reset"), known(post(reset)))
        .route(
            &call("config"),
            known(get(config).put(replace_config).patch(patch_config)),
        )
        .route(&call("rules"), known(post(add_rule)))
        .route(&call("verify"), known(get(verify)))
        .route(&call("clock"), known(post(move_clock)))
        .route(&call("credentials/next"), known(post(issue_next)))
        .route(&call("credentials/container"), known(get(issue_container)))
        .route(&call("credentials"), known(get(credential_report)))
        .route(PREFIX, any(unknown))
        .route(&format!("{PREFIX}{{*rest}}"), any(unknown))
        .layer(middleware::from_fn_with_state(body_time, whole_body))
        // Outermost: a refused call's body is never read.
        .layer(middleware::from_fn_with_state(Arc::new(gate), admit))
}

/// Answers a call `gate` refuses; passes the others on.
async fn admit(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match gate.admit(&parts) {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(refusal) => {
            let mut r = reply(refusal.status, &refusal.text);
            if refusal.status == StatusCode::UNAUTHORIZED {
                r.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    http::HeaderValue::from_static("Bearer realm=\"bedrock-mock-admin\""),
                );
            }
            r
        }
    }
}

/// Reads the body whole, up to [`MAX_ADMIN_BODY`] and within `body_time`
/// (the server's `ReadLimits::body`, as for AWS calls), before any call
/// sees it.
async fn whole_body(State(body_time): State<Duration>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let (status, text) = match read_body(body, MAX_ADMIN_BODY, body_time).await {
        Ok(bytes) => {
            return next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
        }
        Err(Unread::TooLarge) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "admin request body over 4 MiB".to_owned(),
        ),
        Err(Unread::TooSlow(limit)) => (
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "admin request body not received within {} s",
                limit.as_secs_f64()
            ),
        ),
        Err(Unread::Malformed | Unread::Broken) => (
            StatusCode::BAD_REQUEST,
            "admin request body cut short or malformed".to_owned(),
        ),
    };
    let mut r = reply(status, &text);
    // The rest of an unread body is still on the connection.
    r.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    r
}

async fn unknown() -> Response {
    reply(
        StatusCode::NOT_FOUND,
        "unknown admin call; see the table in mock-server/ADMIN.md",
    )
}

async fn health() -> Response {
    json(
        StatusCode::OK,
        &Done {
            ok: true,
            dropped: None,
        },
    )
}

/// The journal as a JSON array, written an entry at a time from entries
/// shared with the journal: reading a large journal holds no copy of it.
async fn journal(State(shared): Admin) -> Response {
    let dropped = shared.journal.count().dropped;
    let entries = shared.journal.shared_snapshot();
    let mut r = Response::new(Body::new(JsonArray::new(entries)));
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    if dropped > 0 {
        r.headers_mut()
            .insert(DROPPED_HEADER, http::HeaderValue::from(dropped));
    }
    r
}

/// On `GET /journal`: how many requests the journal dropped over its
/// limits (absent when none).
const DROPPED_HEADER: &str = "x-bedrock-mock-journal-dropped";

/// A load test's check that nothing was lost, without moving the whole
/// journal.
async fn journal_count(State(shared): Admin) -> Response {
    json(StatusCode::OK, &shared.journal.count())
}

async fn forget_journal(State(shared): Admin) -> Response {
    shared.journal.clear();
    reply(StatusCode::NO_CONTENT, "")
}

async fn reset(State(shared): Admin) -> Response {
    shared.reset();
    reply(StatusCode::NO_CONTENT, "")
}

async fn config(State(shared): Admin) -> Response {
    let mut r = json(StatusCode::OK, &shared.account());
    r.headers_mut()
        .insert("accept-patch", http::HeaderValue::from_static(ACCEPT_PATCH));
    r
}

/// The patch formats `PATCH /config` takes (RFC 5789's `Accept-Patch`).
const ACCEPT_PATCH: &str = "application/merge-patch+json, application/json-patch+json";

/// Why a patch of the config was refused.
enum PatchRefusal {
    /// The body is not JSON.
    NotJson(serde_json::Error),
    Patch(PatchError),
    /// The patched config fails the checks every config passes.
    Config(ConfigError),
    /// The patch changes a field only a whole new config sets.
    NotPatchable(&'static str),
}

impl PatchRefusal {
    /// 400 for a patch that is not one, 409 for one that does not fit
    /// the config as it is, 422 for one whose result is not a config
    /// (RFC 5789 section 2.2), each a JSON object: `error` (what kind),
    /// `message` (what to do), and `operation` or `field` where known.
    fn answer(self) -> Response {
        let (status, body) = match self {
            Self::NotJson(e) => (
                StatusCode::BAD_REQUEST,
                Refusal::new(
                    PatchErrorKind::Malformed.name(),
                    format!("the patch is not JSON: {e}"),
                ),
            ),
            Self::Patch(e) => (
                match e.kind {
                    PatchErrorKind::NoSuchPath | PatchErrorKind::TestFailed => StatusCode::CONFLICT,
                    PatchErrorKind::Malformed | PatchErrorKind::BadPointer => {
                        StatusCode::BAD_REQUEST
                    }
                },
                Refusal {
                    operation: Some(e.operation),
                    ..Refusal::new(e.kind.name(), e.to_string())
                },
            ),
            Self::Config(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Refusal {
                    field: Some(e.field.clone()),
                    ..Refusal::new("invalid_config", format!("the patched config: {e}"))
                },
            ),
            Self::NotPatchable(field) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Refusal {
                    field: Some(Some(field.to_owned())),
                    ..Refusal::new(
                        "not_patchable",
                        format!(
                            "`{field}` is read only when a whole config is set: PUT the config \
                             (which starts its rules, credential queue and random choices afresh){}",
                            if field == "rules" {
                                ", or POST /__bedrock_mock/rules to add one rule"
                            } else {
                                ""
                            }
                        ),
                    )
                },
            ),
        };
        json(status, &body)
    }
}

/// `{"ok": true}`, and on `verify` how many requests the journal dropped.
#[derive(serde::Serialize)]
struct Done {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    dropped: Option<u64>,
}

/// A refused PATCH's body: `error`, then `operation` or `field` when the
/// refusal has one (`null` when it has none to name), then `message`. A
/// struct, so the keys keep this order whatever serde_json's features.
#[derive(serde::Serialize)]
struct Refusal {
    error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<Option<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<Option<String>>,
    message: String,
}

impl Refusal {
    fn new(error: &'static str, message: String) -> Self {
        Refusal {
            error,
            operation: None,
            field: None,
            message,
        }
    }
}

/// A JSON Merge Patch or JSON Patch of the config as PUT set it (the keys
/// issued since are not in it and stay issued), checked as a PUT body is,
/// then applied in place: the journal, mounted rules, issued credentials,
/// the credential queue's place and quota counts are kept. 200 with the
/// account as `GET` shows it.
async fn patch_config(State(shared): Admin, headers: HeaderMap, body: Bytes) -> Response {
    let kind = PatchKind::of(&headers);
    let patch: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(patch) => patch,
        Err(e) => return PatchRefusal::NotJson(e).answer(),
    };
    let mut outcome = Ok(());
    // Under the config's writer lock: no other change lands between the
    // read and the write.
    shared.update_config(|config| match patched(config, kind, &patch) {
        Ok(new) => *config = new,
        Err(refusal) => outcome = Err(refusal),
    });
    match outcome {
        Ok(()) => json(StatusCode::OK, &shared.account()),
        Err(refusal) => refusal.answer(),
    }
}

/// `config` with `patch` applied, read and checked as a PUT body is.
fn patched(
    config: &ServerConfig,
    kind: PatchKind,
    patch: &serde_json::Value,
) -> Result<ServerConfig, PatchRefusal> {
    let before = serde_json::to_value(config).expect("a config serializes");
    let mut document = before.clone();
    match kind {
        PatchKind::Merge => json_patch::merge(&mut document, patch),
        PatchKind::Json => json_patch::apply(&mut document, patch).map_err(PatchRefusal::Patch)?,
    }
    let text = serde_json::to_vec(&document).expect("a JSON value serializes");
    let new = crate::config_file::config_from_json(&text).map_err(|mut e| {
        // A place in the text serialized here means nothing to the caller.
        e.position = None;
        PatchRefusal::Config(e)
    })?;
    // Compared as the patch left them: the same rules patched back in
    // are no change.
    for field in ["rules", "seed"] {
        if document.get(field) != before.get(field) {
            return Err(PatchRefusal::NotPatchable(field));
        }
    }
    // The rules as they were, not as read back: a rule mounted in code
    // may hold a `Match::custom` predicate, which JSON does not carry.
    Ok(ServerConfig {
        rules: config.rules.clone(),
        ..new
    })
}

/// The config read and checked as every config is (`config_file`,
/// `checks`); a 400 names the field and the problem.
async fn replace_config(State(shared): Admin, body: Bytes) -> Response {
    match crate::config_file::config_from_json(&body) {
        Ok(config) => {
            shared.replace_config(config);
            reply(StatusCode::NO_CONTENT, "")
        }
        Err(e) => reply(StatusCode::BAD_REQUEST, &format!("config: {e}")),
    }
}

/// The rule read and checked as a config's rules are; a 400 names the
/// field (from the rule: `stall.seconds`) and the problem.
async fn add_rule(State(shared): Admin, body: Bytes) -> Response {
    match crate::config_file::rule_from_json(&body) {
        Ok(rule) => {
            shared.mount(rule);
            reply(StatusCode::CREATED, "")
        }
        Err(e) => reply(StatusCode::BAD_REQUEST, &format!("rule: {e}")),
    }
}

async fn verify(State(shared): Admin) -> Response {
    match shared.verify() {
        Ok(()) => {
            let dropped = shared.journal.count().dropped;
            json(
                StatusCode::OK,
                &Done {
                    ok: true,
                    dropped: Some(dropped),
                },
            )
        }
        Err(e) => reply(StatusCode::CONFLICT, &e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ClockChange {
    Set(Timestamp),
    AdvanceSeconds(u64),
    /// Only `true`: the way back from `set` to the system clock.
    Real(bool),
}

async fn move_clock(State(shared): Admin, body: Bytes) -> Response {
    match serde_json::from_slice::<ClockChange>(&body) {
        Ok(ClockChange::Set(at)) => shared.clock.set(at.0),
        Ok(ClockChange::AdvanceSeconds(s)) => {
            shared.clock.advance(std::time::Duration::from_secs(s));
        }
        Ok(ClockChange::Real(true)) => shared.clock.follow_system(),
        Ok(ClockChange::Real(false)) => {
            return reply(
                StatusCode::BAD_REQUEST,
                "clock: `real` takes only `true` (back to the system clock); to stop the \
                 clock, send {\"set\": \"2026-11-25T16:24:01Z\"}",
            );
        }
        Err(e) => return reply(StatusCode::BAD_REQUEST, &format!("clock: {e}")),
    }
    reply(StatusCode::NO_CONTENT, "")
}

async fn issue_next(State(shared): Admin, RawQuery(query): RawQuery) -> Response {
    match ExportFormat::from_query(query.as_deref().unwrap_or_default()) {
        Err(e) => reply(StatusCode::BAD_REQUEST, &e),
        Ok(format) => issue(&shared, &format),
    }
}

/// The container provider only GETs its URI.
async fn issue_container(State(shared): Admin) -> Response {
    issue(&shared, &ExportFormat::Container)
}

async fn credential_report(State(shared): Admin) -> Response {
    json(StatusCode::OK, &shared.credential_report())
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

/// The journal's JSON array written a piece at a time: each frame holds
/// whole entries, about [`JsonArray::PIECE`] bytes of them.
struct JsonArray {
    entries: std::vec::IntoIter<Arc<RecordedRequest>>,
    started: bool,
    done: bool,
}

impl JsonArray {
    const PIECE: usize = 64 << 10;

    fn new(entries: Vec<Arc<RecordedRequest>>) -> Self {
        Self {
            entries: entries.into_iter(),
            started: false,
            done: false,
        }
    }
}

impl http_body::Body for JsonArray {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.done {
            return std::task::Poll::Ready(None);
        }
        let mut piece = Vec::with_capacity(Self::PIECE);
        while piece.len() < Self::PIECE {
            let Some(entry) = self.entries.next() else {
                piece.push(b']');
                self.done = true;
                break;
            };
            piece.push(if self.started { b',' } else { b'[' });
            self.started = true;
            serde_json::to_writer(&mut piece, &*entry).expect("journal entries serialize");
        }
        if self.done && !self.started {
            piece.insert(0, b'[');
        }
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(piece)))))
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

fn reply(status: StatusCode, text: &str) -> Response {
    let mut r = Response::new(Body::from(text.to_owned()));
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::{PREFIX, ROUTES};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn body_of(r: axum::response::Response) -> (u16, String) {
        use http_body_util::BodyExt as _;
        let status = r.status().as_u16();
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// The admin API's own JSON answers byte for byte: keys in the order
    /// ADMIN.md documents, not the sorted order of a `serde_json::Value`
    /// built without `preserve_order`.
    #[tokio::test]
    async fn admin_answers_keep_their_documented_key_order() {
        use super::{PatchRefusal, health};
        use crate::checks::{ConfigError, ConfigErrorKind};
        use crate::json_patch::{PatchError, PatchErrorKind};
        assert_eq!(
            body_of(health().await).await,
            (200, r#"{"ok":true}"#.into())
        );
        let test_failed = PatchRefusal::Patch(PatchError {
            kind: PatchErrorKind::TestFailed,
            operation: Some(2),
            message: "differs".into(),
        });
        assert_eq!(
            body_of(test_failed.answer()).await,
            (
                409,
                r#"{"error":"test_failed","operation":2,"message":"operation 2: differs"}"#.into()
            )
        );
        let malformed = PatchRefusal::Patch(PatchError {
            kind: PatchErrorKind::Malformed,
            operation: None,
            message: "not a list".into(),
        });
        assert_eq!(
            body_of(malformed.answer()).await,
            (
                400,
                r#"{"error":"malformed_patch","operation":null,"message":"not a list"}"#.into()
            )
        );
        let invalid =
            PatchRefusal::Config(ConfigError::unplaced(ConfigErrorKind::OutOfRange, "bad"));
        let (status, text) = body_of(invalid.answer()).await;
        assert_eq!(status, 422);
        assert!(
            text.starts_with(
                r#"{"error":"invalid_config","field":null,"message":"the patched config: "#
            ),
            "{text}"
        );
        let (_, text) = body_of(PatchRefusal::NotPatchable("rules").answer()).await;
        assert!(
            text.starts_with(
                r#"{"error":"not_patchable","field":"rules","message":"`rules` is read only"#
            ),
            "{text}"
        );
        let not_json = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let (_, text) = body_of(PatchRefusal::NotJson(not_json).answer()).await;
        assert!(
            text.starts_with(r#"{"error":"malformed_patch","message":"the patch is not JSON: "#),
            "{text}"
        );
    }

    /// The calls the table in `ADMIN.md` lists, in its order.
    fn table_calls() -> Vec<(String, String)> {
        include_str!("../ADMIN.md")
            .lines()
            .filter_map(|row| row.strip_prefix("| `"))
            .map(|row| {
                let call = row.split('`').next().unwrap_or_default();
                let (method, path) = call.split_once(' ').unwrap_or((call, ""));
                let path = path.strip_prefix(PREFIX).unwrap_or(path);
                (method.to_owned(), path.to_owned())
            })
            .collect()
    }

    #[test]
    fn the_table_in_admin_md_lists_every_route_in_order() {
        let routes: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
            .collect();
        assert_eq!(table_calls(), routes);
    }

    /// Each path `ROUTES` names answers exactly the methods it lists
    /// there; the others are the unknown call's 404. With the router
    /// routing only listed paths, that is every route.
    #[tokio::test]
    async fn the_router_answers_exactly_the_listed_methods() {
        let server = crate::MockBedrock::start().await;
        let address = server.address();
        for (_, path) in ROUTES {
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] {
                let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
                let request = format!(
                    "{method} {PREFIX}{path} HTTP/1.1\r\nhost: {address}\r\n\
                     content-length: 0\r\nconnection: close\r\n\r\n"
                );
                socket.write_all(request.as_bytes()).await.unwrap();
                let mut answer = Vec::new();
                socket.read_to_end(&mut answer).await.unwrap();
                let answer = String::from_utf8_lossy(&answer);
                let unknown = answer.starts_with("HTTP/1.1 404")
                    && (method == "HEAD" || answer.contains("unknown admin call"));
                let listed = ROUTES.contains(&(method, path));
                assert_eq!(!unknown, listed, "{method} {path}: {answer}");
            }
        }
    }
}
