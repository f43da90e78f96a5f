//! Who may call the admin API, checked before a call is read.
//!
//! The admin API hands out the account's secrets and decides what a model
//! answers an agent, so a web page the developer happens to open must not
//! reach it. Browsers send `Origin` on every cross-origin `POST` and on
//! a `fetch` in CORS mode, but not on a `GET` a page makes through an
//! `<img>`, a link or a `no-cors` fetch; those carry
//! `Sec-Fetch-Site: cross-site` (or `same-site`), and only a URL the user
//! typed carries `Sec-Fetch-Site: none`. curl, the SDKs and the harness
//! send neither header. A page that rebinds its own name to 127.0.0.1
//! still sends that name as `Host`. A `<form>` can post `text/plain`
//! without asking the server first; only a `fetch` that already carries
//! an `Origin` can send `application/json`. So, for every call under the
//! prefix:
//!
//! 1. [`AdminAccess::Off`]: refused (403), whatever it carries.
//! 2. An `Origin` header, or a `Sec-Fetch-Site` other than `none` (a
//!    request a page made, not one the user typed): refused (403).
//! 3. [`AdminAccess::Open`] (allowed on loopback only): the `Host` must be
//!    `localhost` or a loopback address literal (`127.0.0.1`, `[::1]`),
//!    with the port the server listens on (a `Host` without a port means
//!    80, as HTTP clients leave the port out only then); anything else is
//!    refused (403).
//!    [`AdminAccess::Token`]: `Authorization: Bearer TOKEN` must carry the
//!    token (compared in constant time), else 401. The `Host` is not
//!    checked: the names a client uses to reach a server beyond loopback
//!    (a LAN address, a container's name, a forwarded port) cannot be
//!    known to it, and a page that rebinds a name cannot know the token.
//! 4. A call that carries a body must say `Content-Type: application/json`
//!    (parameters such as `; charset=utf-8` allowed), else 415; a `PATCH`
//!    may also say `application/merge-patch+json` or
//!    `application/json-patch+json` (a page cannot send either without
//!    the CORS preflight that its `Origin` already fails). Calls without a
//!    body need no content type.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use http::request::Parts;
use http::{HeaderMap, StatusCode, header};

use crate::sigv4::{constant_time_eq, hex};

/// Who may call a server's admin API (`/__bedrock_mock/`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use bedrock_mock_server::{AdminAccess, AdminToken, MockBedrock};
///
/// let token = AdminToken::random().expect("the system's random source");
/// let server = MockBedrock::builder()
///     .admin_access(AdminAccess::Token(token.clone()))
///     .start()
///     .await
///     .unwrap();
/// // Admin calls now need `Authorization: Bearer {token.reveal()}`.
/// # drop(server);
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub enum AdminAccess {
    /// Any local program that sends no `Origin` and names the server's
    /// loopback address in `Host`. A server listening beyond loopback
    /// cannot be open: it does not start.
    #[default]
    Open,
    /// Only calls carrying `Authorization: Bearer TOKEN`, from anywhere.
    Token(AdminToken),
    /// No admin call is answered (403).
    Off,
}

/// The environment variable that carries an admin token between programs:
/// `bedrock-harness serve --allow-remote` takes a token from it (or prints
/// a fresh one as its value), and the harness's own admin calls send it.
pub const ADMIN_TOKEN_VARIABLE: &str = "BEDROCK_MOCK_ADMIN_TOKEN";

/// The secret an [`AdminAccess::Token`] server's admin calls carry. Its
/// `Debug` form does not show it.
#[derive(Clone)]
pub struct AdminToken(String);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(redacted)")
    }
}

impl AdminToken {
    /// 32 bytes from the operating system's random source, as 64 hex
    /// digits. Fails only when the system has no random source to read.
    pub fn random() -> std::io::Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| std::io::Error::other(format!("no random source for a token: {e}")))?;
        Ok(Self(hex(&bytes)))
    }

    /// A token chosen by the user (from a compose file or a CI secret):
    /// 32 to 256 printable ASCII characters without spaces, so it fits an
    /// `Authorization` header as it is and cannot be guessed in a test
    /// run's lifetime. Anything else is refused with what to give instead.
    pub fn given(token: impl Into<String>) -> std::io::Result<Self> {
        let token = token.into();
        let printable = token.bytes().all(|b| b.is_ascii_graphic());
        if (32..=256).contains(&token.len()) && printable {
            Ok(Self(token))
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "an admin token is 32 to 256 printable ASCII characters without spaces \
                     (this one has {} characters{}); `openssl rand -hex 32` makes one",
                    token.len(),
                    if printable { "" } else { ", not all printable" }
                ),
            ))
        }
    }

    /// The token, for whoever may call the admin API. It is a secret:
    /// show it once, where its user reads it, and nowhere else.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

/// Whether `address` is reachable only from this machine.
pub(crate) fn is_loopback(address: IpAddr) -> bool {
    address.to_canonical().is_loopback()
}

/// Why an admin call was refused: its status and a text that says what to
/// do instead.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub text: String,
}

impl Refusal {
    fn new(status: StatusCode, text: impl Into<String>) -> Self {
        Self {
            status,
            text: text.into(),
        }
    }
}

/// The checks of a running server's admin calls: its access and the port
/// it listens on.
#[derive(Debug)]
pub(crate) struct Gate {
    access: AdminAccess,
    port: u16,
}

impl Gate {
    pub(crate) fn new(access: AdminAccess, listening: SocketAddr) -> Self {
        Self {
            access,
            port: listening.port(),
        }
    }

    /// The checks in the module's list, in its order.
    pub(crate) fn admit(&self, parts: &Parts) -> Result<(), Refusal> {
        if let AdminAccess::Off = self.access {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "the admin API is off on this server (started with `serve --no-admin` or \
                 AdminAccess::Off); restart it without that to use it",
            ));
        }
        if parts.headers.contains_key(header::ORIGIN) {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "admin calls from a web page are refused: this one carries an Origin header, \
                 which browsers add; call the admin API from curl, a test or an SDK, which \
                 send none",
            ));
        }
        let made_by_a_page = parts
            .headers
            .get_all("sec-fetch-site")
            .iter()
            .any(|site| site.as_bytes() != b"none");
        if made_by_a_page {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "admin calls a web page makes are refused: this one carries Sec-Fetch-Site, \
                 which browsers add to requests from pages (an image, a link, a fetch); call \
                 the admin API from curl, a test or an SDK, or type its URL yourself",
            ));
        }
        match &self.access {
            AdminAccess::Token(token) => bearer(&parts.headers, token)?,
            _ => self.loopback_host(parts)?,
        }
        json_body(&parts.headers, parts.method == http::Method::PATCH)
    }

    /// Every name the request gives its server (its `Host`, and the
    /// authority of an absolute-form target) is this server on loopback.
    fn loopback_host(&self, parts: &Parts) -> Result<(), Refusal> {
        let hosts: Vec<&str> = parts
            .headers
            .get_all(header::HOST)
            .iter()
            .map(|v| v.to_str().unwrap_or_default())
            .chain(parts.uri.authority().map(|a| a.as_str()))
            .collect();
        let host_headers = parts.headers.get_all(header::HOST).iter().count();
        if host_headers <= 1 && !hosts.is_empty() && hosts.iter().all(|h| self.is_ours(h)) {
            return Ok(());
        }
        Err(Refusal::new(
            StatusCode::FORBIDDEN,
            format!(
                "admin calls must name this server in Host: 127.0.0.1:{port}, \
                 localhost:{port} or [::1]:{port}; another name is what a web page that \
                 rebinds its own name to this machine sends. To reach the server by another \
                 name, start it with `serve --allow-remote` (AdminAccess::Token) and send \
                 its token",
                port = self.port
            ),
        ))
    }

    /// `localhost` or a loopback literal, and this server's port.
    fn is_ours(&self, host: &str) -> bool {
        let Some((name, port)) = split_host(host) else {
            return false;
        };
        let loopback = match name {
            Name::Bracketed(ip) => ip
                .parse::<Ipv6Addr>()
                .is_ok_and(|ip| is_loopback(ip.into())),
            Name::Plain(name) => {
                name.eq_ignore_ascii_case("localhost")
                    || name.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
            }
        };
        loopback && port.unwrap_or(80) == self.port
    }
}

/// A `Host`'s name: an IPv6 literal in brackets, or anything else.
enum Name<'a> {
    Bracketed(&'a str),
    Plain(&'a str),
}

/// `name[:port]` or `[v6][:port]`; `None` when the port is not digits.
fn split_host(host: &str) -> Option<(Name<'_>, Option<u16>)> {
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => {
            let (ip, after) = rest.split_once(']')?;
            let port = match after {
                "" => None,
                after => Some(after.strip_prefix(':')?),
            };
            (Name::Bracketed(ip), port)
        }
        None => match host.split_once(':') {
            Some((name, port)) => (Name::Plain(name), Some(port)),
            None => (Name::Plain(host), None),
        },
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
    };
    Some((name, port))
}

/// Exactly one `Authorization: Bearer TOKEN`, the token `expected`.
fn bearer(headers: &HeaderMap, expected: &AdminToken) -> Result<(), Refusal> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let presented = match (values.next(), values.next()) {
        (Some(value), None) => value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim_matches(' ')),
        _ => None,
    };
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), expected.reveal().as_bytes()) => Ok(()),
        Some(_) => Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "the admin token does not match: send the one this server printed when it started",
        )),
        None => Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "admin calls on this server need `Authorization: Bearer TOKEN`, with the token \
             it printed when it started",
        )),
    }
}

/// How a `PATCH` body says to change its document, by its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchKind {
    /// `application/merge-patch+json` (RFC 7396), or plain
    /// `application/json`: a partial object merged in.
    Merge,
    /// `application/json-patch+json` (RFC 6902): a list of operations.
    Json,
}

impl PatchKind {
    /// The kind `headers` name; one the gate let through is always one
    /// of them (no body, no type: a merge patch, refused as not JSON).
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        match content_type(headers) {
            Some(t) if t.eq_ignore_ascii_case(JSON_PATCH) => Self::Json,
            _ => Self::Merge,
        }
    }
}

const MERGE_PATCH: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";

/// The one `Content-Type`'s media type, without its parameters.
fn content_type(headers: &HeaderMap) -> Option<&str> {
    let mut types = headers.get_all(header::CONTENT_TYPE).iter();
    match (types.next(), types.next()) {
        (Some(value), None) => value
            .to_str()
            .ok()
            .map(|v| v.split(';').next().unwrap_or_default().trim()),
        _ => None,
    }
}

/// A call that carries a body says it is JSON (a `patch`, also one of the
/// patch types); one without needs nothing.
fn json_body(headers: &HeaderMap, patch: bool) -> Result<(), Refusal> {
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get_all(header::CONTENT_LENGTH)
            .iter()
            .any(|v| v.as_bytes() != b"0");
    if !has_body {
        return Ok(());
    }
    let accepted = |t: &str| {
        t.eq_ignore_ascii_case("application/json")
            || (patch
                && (t.eq_ignore_ascii_case(MERGE_PATCH) || t.eq_ignore_ascii_case(JSON_PATCH)))
    };
    if content_type(headers).is_some_and(accepted) {
        return Ok(());
    }
    Err(Refusal::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        if patch {
            "PATCH takes `Content-Type: application/merge-patch+json` (a partial config, \
             RFC 7396; plain application/json is read the same way) or \
             `application/json-patch+json` (a list of operations, RFC 6902)"
        } else {
            "admin calls take JSON bodies only: send `Content-Type: application/json` \
             (curl: --json, or -H 'content-type: application/json')"
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::post("/__bedrock_mock/rules");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    fn gate(access: AdminAccess) -> Gate {
        Gate::new(access, SocketAddr::from(([127, 0, 0, 1], 4000)))
    }

    fn status(gate: &Gate, headers: &[(&str, &str)]) -> u16 {
        gate.admit(&parts(headers))
            .map_or_else(|r| r.status.as_u16(), |()| 200)
    }

    #[test]
    fn loopback_names_with_our_port_pass() {
        let open = gate(AdminAccess::Open);
        for host in [
            "127.0.0.1:4000",
            "localhost:4000",
            "LocalHost:4000",
            "[::1]:4000",
            "127.1.2.3:4000",
        ] {
            assert_eq!(status(&open, &[("host", host)]), 200, "{host}");
        }
    }

    #[test]
    fn other_names_ports_and_forms_are_refused() {
        let open = gate(AdminAccess::Open);
        for host in [
            "evil.example:4000",
            "evil.example",
            "127.0.0.1",
            "localhost",
            "127.0.0.1:4001",
            "127.0.0.1:",
            "127.0.0.1:+4000",
            "localhost.:4000",
            "sub.localhost:4000",
            "[::1]",
            "[::1]4000",
            "::1:4000",
            "2130706433:4000",
            "0.0.0.0:4000",
            "192.168.1.5:4000",
            "",
        ] {
            assert_eq!(status(&open, &[("host", host)]), 403, "{host}");
        }
        assert_eq!(status(&open, &[]), 403, "no Host at all");
        assert_eq!(
            status(
                &open,
                &[("host", "127.0.0.1:4000"), ("host", "evil.example")]
            ),
            403
        );
    }

    #[test]
    fn no_port_means_80() {
        let on_80 = Gate::new(AdminAccess::Open, SocketAddr::from(([127, 0, 0, 1], 80)));
        assert_eq!(status(&on_80, &[("host", "localhost")]), 200);
        assert_eq!(status(&on_80, &[("host", "localhost:80")]), 200);
    }

    #[test]
    fn an_absolute_target_must_name_us_too() {
        let open = gate(AdminAccess::Open);
        let request = http::Request::get("http://evil.example:4000/__bedrock_mock/config")
            .header("host", "127.0.0.1:4000")
            .body(())
            .unwrap();
        assert!(open.admit(&request.into_parts().0).is_err());
    }

    #[test]
    fn any_origin_is_refused() {
        let open = gate(AdminAccess::Open);
        let host = ("host", "127.0.0.1:4000");
        for origin in ["http://evil.example", "null", "http://127.0.0.1:4000"] {
            assert_eq!(status(&open, &[host, ("origin", origin)]), 403);
        }
    }

    #[test]
    fn bodies_must_be_json() {
        let open = gate(AdminAccess::Open);
        let host = ("host", "127.0.0.1:4000");
        let body = ("content-length", "2");
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
        ] {
            assert_eq!(status(&open, &[host, body, ("content-type", ok)]), 200);
        }
        for bad in [
            "text/plain",
            "application/jsonx",
            "application/x-www-form-urlencoded",
        ] {
            assert_eq!(status(&open, &[host, body, ("content-type", bad)]), 415);
        }
        assert_eq!(status(&open, &[host, body]), 415, "a body with no type");
        let chunked = ("transfer-encoding", "chunked");
        assert_eq!(
            status(&open, &[host, chunked, ("content-type", "text/plain")]),
            415
        );
        assert_eq!(status(&open, &[host]), 200, "no body, no type");
        let empty = ("content-length", "0");
        assert_eq!(
            status(&open, &[host, empty, ("content-type", "text/plain")]),
            200
        );
    }

    #[test]
    fn a_patch_may_name_a_patch_type_and_other_calls_may_not() {
        let open = gate(AdminAccess::Open);
        let with = |method: &str, content_type: &str| {
            let request = http::Request::builder()
                .method(method)
                .uri("/__bedrock_mock/config")
                .header("host", "127.0.0.1:4000")
                .header("content-length", "2")
                .header("content-type", content_type)
                .body(())
                .unwrap();
            open.admit(&request.into_parts().0)
                .map_or_else(|r| r.status.as_u16(), |()| 200)
        };
        for patch_type in [MERGE_PATCH, JSON_PATCH, "application/json"] {
            assert_eq!(with("PATCH", patch_type), 200, "{patch_type}");
        }
        assert_eq!(with("PUT", MERGE_PATCH), 415);
        assert_eq!(with("PATCH", "text/plain"), 415);
        let headers = |t: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, t.parse().unwrap());
            h
        };
        assert_eq!(PatchKind::of(&headers(JSON_PATCH)), PatchKind::Json);
        assert_eq!(
            PatchKind::of(&headers("application/json-patch+json; charset=utf-8")),
            PatchKind::Json
        );
        assert_eq!(PatchKind::of(&headers(MERGE_PATCH)), PatchKind::Merge);
        assert_eq!(
            PatchKind::of(&headers("application/json")),
            PatchKind::Merge
        );
    }

    #[test]
    fn a_token_server_checks_the_token_not_the_host() {
        let token = AdminToken::random().unwrap();
        let with = gate(AdminAccess::Token(token.clone()));
        let right = format!("Bearer {}", token.reveal());
        let lower = format!("bearer {}", token.reveal());
        let elsewhere = ("host", "mock.internal:9000");
        assert_eq!(status(&with, &[elsewhere, ("authorization", &right)]), 200);
        assert_eq!(status(&with, &[elsewhere, ("authorization", &lower)]), 200);
        assert_eq!(status(&with, &[elsewhere]), 401);
        let wrong = format!("Bearer {}0", token.reveal());
        assert_eq!(status(&with, &[elsewhere, ("authorization", &wrong)]), 401);
        let basic = format!("Basic {}", token.reveal());
        assert_eq!(status(&with, &[elsewhere, ("authorization", &basic)]), 401);
        let twice = [
            elsewhere,
            ("authorization", &right),
            ("authorization", &right),
        ];
        assert_eq!(status(&with, &twice), 401);
        let origin = ("origin", "http://evil.example");
        assert_eq!(
            status(&with, &[elsewhere, ("authorization", &right), origin]),
            403
        );
    }

    #[test]
    fn tokens_are_random_and_not_shown_by_debug() {
        let (a, b) = (AdminToken::random().unwrap(), AdminToken::random().unwrap());
        assert_ne!(a.reveal(), b.reveal());
        assert_eq!(a.reveal().len(), 64);
        let shown = format!("{:?}", AdminAccess::Token(a.clone()));
        assert!(!shown.contains(a.reveal()), "{shown}");
    }

    #[test]
    fn requests_a_page_makes_are_refused_and_typed_urls_pass() {
        let open = gate(AdminAccess::Open);
        let host = ("host", "127.0.0.1:4000");
        for site in ["cross-site", "same-site", "same-origin"] {
            assert_eq!(
                status(&open, &[host, ("sec-fetch-site", site)]),
                403,
                "{site}"
            );
        }
        assert_eq!(status(&open, &[host, ("sec-fetch-site", "none")]), 200);
    }

    #[test]
    fn a_given_token_must_be_long_and_printable() {
        let good = "k".repeat(32);
        assert_eq!(AdminToken::given(good.clone()).unwrap().reveal(), good);
        for bad in ["short", &"k".repeat(257), &format!("{} x", "k".repeat(32))] {
            let e = AdminToken::given(bad).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
            assert!(e.to_string().contains("openssl rand -hex 32"), "{e}");
        }
    }

    #[test]
    fn off_refuses_everything() {
        let off = gate(AdminAccess::Off);
        assert_eq!(status(&off, &[("host", "127.0.0.1:4000")]), 403);
    }
}
