//! The behaviour of Claude Code 2.1.328 this client imitates: the numbers,
//! names and words that are the CLI's own rather than the client's, read
//! from its recorded traffic (`conformance/golden/claude-code`), its
//! tables, and `conformance/DIFFERENCES.md`. The rest of the crate reads
//! them from here; the model catalogue (lineups, shapes, betas, retirement
//! dates) is `client/data/models.toml`. Supporting another version of the
//! CLI changes this file and that one.
//!
//! What is *not* here is the client's own: its user agent and
//! `x-stainless-*` values (honest, not the CLI's Node runtime), its system
//! prompts, and the limits that only keep a misbehaving server or command
//! from holding it (body sizes, command time limits, the longest
//! `retry-after` obeyed).

use std::time::Duration;

// Retries.

/// Retries after the first attempt unless `CLAUDE_CODE_MAX_RETRIES` says
/// otherwise: eleven attempts in all, as the real CLI makes.
pub const DEFAULT_MAX_RETRIES: u32 = 10;
/// The first backoff: waits go from 0.5 s, doubling.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// The longest computed backoff, before jitter.
pub const BACKOFF_CAP: Duration = Duration::from_secs(32);
/// Jitter adds up to this fraction of the backoff.
pub const BACKOFF_JITTER: f64 = 0.25;
/// Attempts past the budget for a 403 refusing the credentials: the CLI
/// sends 5 requests with `CLAUDE_CODE_MAX_RETRIES=2` and 13 with the
/// default 10, on Bedrock (`ExpiredTokenException`,
/// `UnrecognizedClientException`) and Mantle (`permission_error`) alike;
/// a 401 and credentials that cannot be loaded get none
/// (`conformance/DIFFERENCES.md`).
pub const CREDENTIAL_RENEWALS: u32 = 2;
/// The AWS JS SDK's attempts (`max=3` in `amz-sdk-request`): the CLI makes
/// its control-plane calls and its STS check with that SDK.
pub const AWS_SDK_ATTEMPTS: u32 = 3;

// Time limits.

/// A startup probe's time limit for the answer's head.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(8);
/// The turn's time limit for the answer's head, announced as
/// `x-stainless-timeout: 600`.
pub const TURN_TIMEOUT: Duration = Duration::from_secs(600);
/// The non-streaming retry's time limit (`x-stainless-timeout: 300`).
pub const NON_STREAMING_TIMEOUT: Duration = Duration::from_secs(300);
/// How long `ListInferenceProfiles` may take.
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `GetInferenceProfile` (an application profile's model) may
/// take.
pub const PROFILE_LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stream may go quiet before it counts as stalled (the CLI's
/// idle watchdog).
pub const STREAM_IDLE_LIMIT: Duration = Duration::from_secs(180);

// Credentials.

/// The spacing between `awsAuthRefresh` runs (observed: runs at +0, +38,
/// +70, +106 s while STS failed nine times).
pub const AUTH_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// How close to their expiry credentials are reloaded: the AWS JS SDK's
/// default chain (which the CLI uses) treats credentials that expire
/// within five minutes as expired, so a request is never signed with a key
/// that dies in flight.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);

// Requests.

/// The beta every turn carries, the only one of a model the catalogue
/// does not know.
pub const CLAUDE_CODE_BETA: &str = "claude-code-20250219";
/// `max_tokens` of a turn on a model the catalogue does not know (and of
/// a prompt before it is shaped for its model).
pub const DEFAULT_MAX_TOKENS: u32 = 32_000;
/// `max_tokens` of the non-streaming retry (at most the turn's).
pub const NON_STREAMING_MAX_TOKENS: u32 = 64_000;
/// The beta the CLI sends for its deferred tools, dropped in the second
/// round of resends after a 400.
pub const TOOL_SEARCH_BETA: &str = "tool-search-tool-2025-10-19";
/// The beta that asks for a thinking token count, dropped first.
pub const THINKING_TOKEN_COUNT_BETA: &str = "thinking-token-count-2026-05-13";
/// Words of a 400 the CLI answers with a recovery of its own rather than
/// the general resends: a prompt too long (compaction, which a single
/// prompt cannot use), and a field the model refused (the effort, the
/// thinking type: another shape; a cache marker).
pub const OWN_RECOVERY: [&str; 5] = [
    "too long",
    "output_config",
    "effort",
    "thinking",
    "cache_control",
];
/// The catalogue entry whose shape is guessed for an application
/// inference profile of unknown backing model.
pub const GUESSED_SHAPE: &str = "claude-sonnet-4-6";
/// The shape tried once after the model rejects the guessed one (400).
pub const ALTERNATE_SHAPE: &str = "claude-sonnet-4-5-20250929";

// Headers.

/// The header names the CLI writes capitalised, which therefore come first
/// (in this order) when the SigV4 signer rebuilds a model call's headers;
/// the rest follow sorted.
pub const SIGNED_HEADERS_FIRST: [&str; 5] = [
    "accept",
    "authorization",
    "content-type",
    "host",
    "user-agent",
];
/// The order the AWS JS SDK's signer adds its headers to a control-plane
/// call (golden/a_happy seq 1: the session token after the date).
pub const AWS_SDK_SIGNER_ORDER: [&str; 4] = [
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "authorization",
];

// What the CLI prints (`-p` mode: on stdout, exit status 1).

/// How the CLI's lines about a failed request begin.
pub const API_ERROR: &str = "API Error";
/// How the CLI joins the parts of a credentials line.
pub const SEPARATOR: &str = " \u{b7} ";
/// The line for a 401 that does not speak of AWS credentials.
pub const NOT_LOGGED_IN: &str = "Not logged in \u{b7} Please run /login";
/// The head of a line about refused credentials (or model access).
pub const AUTH_FAILED: &str = "AWS authentication failed";
/// The head of a 401 line that speaks of AWS credentials.
pub const CREDENTIALS_EXPIRED: &str = "AWS credentials expired or invalid";
/// What a credentials line says when the credentials may be current.
pub const CHECK_PERMISSIONS: &str =
    "if credentials are current, check AWS permissions and model access";
/// What a model-access line tells the user to do.
pub const ENABLE_THE_MODEL: &str = "enable this model for your account and region in the Amazon Bedrock console, or run --model to pick another model";
/// What a credentials line tells the user to do when no `awsAuthRefresh`
/// is configured.
pub const REFRESH_BY_HAND: &str =
    "refresh your AWS credentials (SSO sign-in, access keys, API key or proxy token) and retry";
/// What a 400 naming the model says when there is another to suggest
/// (before the suggested id and a full stop).
pub const SWITCH_MODEL: &str = "Try --model to switch to";
/// What a 400 naming the model says when there is none to suggest.
pub const PICK_ANOTHER_MODEL: &str = "Run --model to pick a different model.";
/// The line when no credentials can be loaded: the chain finds nothing,
/// or `awsCredentialExport` gives nothing usable (the CLI 2.1.328 and
/// 2.1.332, conformance's `credential-export-fails`; it wraps the AWS JS
/// SDK's words).
pub const NO_CREDENTIALS: &str = "API Error: Could not load AWS credentials \u{b7} Could not load credentials from any providers. Check or refresh your AWS credentials and try again.";
/// The Anthropic SDK's words for a connection that failed.
pub const CONNECTION_ERROR: &str = "API Error: Connection error.";
/// The Anthropic SDK's words for a request that timed out.
pub const TIMED_OUT: &str = "API Error: Request timed out.";
/// The AWS SDKs' words for a stream cut inside a frame (what `claude -p`
/// prints, customer-scenarios: truncated-event-byte-complete).
pub const TRUNCATED_EVENT: &str = "Truncated event message received.";
/// What the CLI prints on stderr each time `awsCredentialExport` gives
/// nothing usable, before why (`credential-export-fails`).
pub const EXPORT_FAILED: &str =
    "Error getting AWS credentials from awsCredentialExport (in settings or ~/.claude.json): ";
/// Why, when the command failed.
pub const EXPORT_NO_VALUE: &str = "awsCredentialExport did not return a valid value";
/// Why, when its JSON holds no key, secret and session token, in STS's
/// `{"Credentials": {…}}` or at the top (`credential-export-fails`'s
/// kin; `credential-export-top-level` is taken).
pub const EXPORT_NOT_STS: &str =
    "awsCredentialExport did not return valid AWS STS output structure";

// Tables.

/// Words that make the CLI say a refusal is about AWS credentials (and
/// point at `awsAuthRefresh`), looked for in the lower-cased message.
pub const CREDENTIAL_WORDS: [&str; 8] = [
    "expiredtoken",
    "invalidsignature",
    "signaturedoesnotmatch",
    "unrecognizedclient",
    "invalidclienttokenid",
    "signature we calculated does not match",
    "bearer token has expired",
    "missing required parameters in the api key",
];

/// The geography prefixes of cross-region inference profiles the CLI
/// knows (`ca` among them, though AWS has published no Canada profile).
pub const GEOGRAPHIES: [&str; 7] = ["us", "eu", "apac", "jp", "au", "ca", "global"];
