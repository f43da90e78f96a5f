//! Entry points for the fuzz targets in `mock-server/fuzz/`: the parts of
//! the server that read untrusted input, reachable without a socket. Not
//! part of the API.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::ServerConfig;
use crate::auth;
use crate::credentials::IssuedKeys;
use crate::operation::Protocol;
use crate::sigv4::SignedRequest;

/// Authenticates a request the way the server does (SigV4 or a bearer
/// key, for Bedrock, Mantle and STS) against the default account, and
/// returns the status it would answer with (200 when accepted). Headers
/// that are not valid HTTP are left out, as hyper would refuse them.
pub fn authenticate(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &[(&[u8], &[u8])],
    body: &[u8],
) -> u16 {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            map.append(name, value);
        }
    }
    let request = SignedRequest {
        method,
        raw_path,
        raw_query,
        headers: &map,
        body,
    };
    let config = ServerConfig::default();
    let issued = IssuedKeys::default();
    // The example credentials' signing date in the golden captures.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_623_841);
    let mut status = 200;
    for protocol in [Protocol::Bedrock, Protocol::Mantle, Protocol::Sts] {
        let (record, caller) = auth::authenticate(&config, &issued, now, &request, protocol);
        // The journal's record must never hold more than the key id.
        assert!(
            record
                .reason
                .as_deref()
                .is_none_or(|r| !r.contains(crate::EXAMPLE_SECRET_ACCESS_KEY)),
            "a secret in the journal's reason"
        );
        if let Err(e) = caller {
            assert!(
                !e.message.contains(crate::EXAMPLE_SECRET_ACCESS_KEY),
                "a secret in an error"
            );
            status = e.status;
        }
    }
    status
}
