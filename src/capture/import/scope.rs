//! Which requests of a capture are Bedrock's, Mantle's, STS's or SSO's:
//! the rest (telemetry, update checks, the Anthropic API) is left out.

/// Whether a request to `host` (no port, any case) for `path` (the query
/// apart) belongs in a scenario.
///
/// An AWS host (`*.amazonaws.com`, `*.amazonaws.com.cn`, `*.api.aws`)
/// counts by its service name: `bedrock-runtime`, `bedrock`, their
/// `-fips` forms, `bedrock-mantle`, `sts`, `oidc`, `portal.sso` (a VPC
/// endpoint's `vpce-….bedrock-runtime.…` too). Any other host (a
/// gateway, a proxy, `127.0.0.1`) counts by its path, as the mock routes
/// one: a model's invoke or converse call, inference profiles,
/// foundation models, Mantle's `/v1/messages`, STS's form post to `/`,
/// the SSO portal's `/federation/credentials`.
pub(super) fn in_scope(host: &str, method: &str, path: &str, body: &[u8]) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "anthropic.com" || host.ends_with(".anthropic.com") {
        return false;
    }
    let aws = [".amazonaws.com", ".amazonaws.com.cn", ".api.aws"]
        .iter()
        .find_map(|suffix| host.strip_suffix(suffix));
    match aws {
        Some(name) => aws_service_in_scope(name),
        None => path_in_scope(method, path, body),
    }
}

fn aws_service_in_scope(name: &str) -> bool {
    let mut labels = name.split('.').skip_while(|l| l.starts_with("vpce-"));
    let first = labels.next().unwrap_or_default();
    matches!(
        first,
        "bedrock"
            | "bedrock-fips"
            | "bedrock-runtime"
            | "bedrock-runtime-fips"
            | "bedrock-mantle"
            | "sts"
            | "sts-fips"
            | "oidc"
    ) || (first == "portal" && labels.next() == Some("sso"))
}

fn path_in_scope(method: &str, path: &str, body: &[u8]) -> bool {
    const MODEL_CALLS: [&str; 5] = [
        "/invoke",
        "/invoke-with-response-stream",
        "/converse",
        "/converse-stream",
        "/count-tokens",
    ];
    if path.contains("/model/") && MODEL_CALLS.iter().any(|call| path.ends_with(call)) {
        return true;
    }
    if path.contains("/inference-profiles") || path.contains("/foundation-models") {
        return true;
    }
    if path.ends_with("/v1/messages") || path.ends_with("/v1/messages/count_tokens") {
        return true;
    }
    if path.ends_with("/federation/credentials") {
        return true;
    }
    path == "/" && method.eq_ignore_ascii_case("POST") && body.starts_with(b"Action=")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_hosts_count_by_service() {
        for host in [
            "bedrock-runtime.us-east-1.amazonaws.com",
            "BEDROCK.eu-west-1.amazonaws.com.",
            "bedrock-runtime-fips.us-gov-west-1.amazonaws.com",
            "bedrock-mantle.us-east-1.api.aws",
            "sts.amazonaws.com",
            "portal.sso.us-east-1.amazonaws.com",
            "oidc.us-east-1.amazonaws.com",
            "vpce-0abc-def.bedrock-runtime.us-east-1.vpce.amazonaws.com",
            "bedrock-runtime.cn-north-1.amazonaws.com.cn",
        ] {
            assert!(in_scope(host, "GET", "/anything", b""), "{host}");
        }
        for host in [
            "s3.us-east-1.amazonaws.com",
            "logs.us-east-1.amazonaws.com",
            "portal.us-east-1.amazonaws.com",
        ] {
            assert!(!in_scope(host, "POST", "/model/x/invoke", b""), "{host}");
        }
    }

    #[test]
    fn other_hosts_count_by_path() {
        assert!(in_scope(
            "127.0.0.1",
            "POST",
            "/model/us.anthropic.claude-x:0/invoke-with-response-stream",
            b""
        ));
        assert!(in_scope("gw.example", "POST", "/bedrock/v1/messages", b""));
        assert!(in_scope("localhost", "GET", "/inference-profiles", b""));
        assert!(in_scope("localhost", "GET", "/federation/credentials", b""));
        assert!(in_scope(
            "localhost",
            "POST",
            "/",
            b"Action=GetCallerIdentity&Version=2011-06-15"
        ));
        assert!(!in_scope("statsig.example", "POST", "/v1/rgstr", b""));
        assert!(!in_scope("localhost", "POST", "/", b"{}"));
        assert!(!in_scope("api.anthropic.com", "POST", "/v1/messages", b""));
    }
}
