//! The AWS SDK for Rust pointed at the mock (feature `aws-sdk`):
//! [`MockBedrock::sdk_config`] and ready-made clients.

use std::time::{Duration, SystemTime};

use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials};
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::sdk_config::{RetryConfig, SharedCredentialsProvider, TimeSource};

use crate::clock::Clock;
use crate::config::{EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY};
use crate::server::MockBedrock;

/// The mock's [`Clock`] as the SDK's time source: the SDK signs at the
/// mock's "now", so moving the clock moves the signing time with it.
#[derive(Debug, Clone)]
struct ClockTime(Clock);

impl TimeSource for ClockTime {
    fn now(&self) -> SystemTime {
        self.0.now()
    }
}

/// The SDK's standard retries, three attempts, a backoff of about a
/// millisecond: a test of a retried throttle takes no time.
fn quick_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(10))
}

impl MockBedrock {
    /// A configuration for any AWS SDK for Rust client talking to this
    /// server: its [`uri`](MockBedrock::uri) as the endpoint, the account's
    /// home region, the account's first credential (by default the example
    /// key, [`EXAMPLE_ACCESS_KEY_ID`](crate::EXAMPLE_ACCESS_KEY_ID)), a plain
    /// HTTP client (no TLS), standard retries (3 attempts, ~1 ms backoff)
    /// and the server's [`Clock`] as the time the SDK signs at.
    ///
    /// A client of another service takes it as it is
    /// (`aws_sdk_s3::Client::new(&server.sdk_config())`); to sign with
    /// other keys, override the credentials in the client's builder:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use aws_sdk_bedrockruntime as runtime;
    /// use bedrock_mock_server::MockBedrock;
    ///
    /// let server = MockBedrock::start().await;
    /// let config = runtime::config::Builder::from(&server.sdk_config())
    ///     .credentials_provider(runtime::config::Credentials::new(
    ///         "AKIAUNKNOWNEXAMPLE", "wrong", None, None, "test",
    ///     ))
    ///     .build();
    /// let error = runtime::Client::from_conf(config)
    ///     .invoke_model()
    ///     .model_id("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    ///     .body(runtime::primitives::Blob::new("{}"))
    ///     .send()
    ///     .await
    ///     .unwrap_err();
    /// use runtime::error::ProvideErrorMetadata;
    /// assert_eq!(error.code(), Some("UnrecognizedClientException"));
    /// # }
    /// ```
    pub fn sdk_config(&self) -> SdkConfig {
        let config = self.config();
        // The account's first key, as `serve` exports it: a test that
        // gave the account its own keys signs with them.
        let credentials = match config.credentials.first() {
            Some(key) => Credentials::new(
                &key.access_key_id,
                &key.secret_access_key,
                key.session_token.clone(),
                None,
                "bedrock-mock-server",
            ),
            None => Credentials::new(
                EXAMPLE_ACCESS_KEY_ID,
                EXAMPLE_SECRET_ACCESS_KEY,
                None,
                None,
                "bedrock-mock-server",
            ),
        };
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(self.uri())
            .region(Region::new(config.home_region().to_owned()))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(quick_retries())
            .sleep_impl(TokioSleep::new())
            .time_source(ClockTime(self.clock().clone()))
            .build()
    }

    /// An `aws-sdk-bedrockruntime` client on [`MockBedrock::sdk_config`].
    pub fn runtime_client(&self) -> aws_sdk_bedrockruntime::Client {
        aws_sdk_bedrockruntime::Client::new(&self.sdk_config())
    }

    /// An `aws-sdk-bedrock` (control plane) client on
    /// [`MockBedrock::sdk_config`]. Feature `aws-sdk-bedrock`.
    #[cfg(feature = "aws-sdk-bedrock")]
    pub fn control_client(&self) -> aws_sdk_bedrock::Client {
        aws_sdk_bedrock::Client::new(&self.sdk_config())
    }

    /// An `aws-sdk-sts` client on [`MockBedrock::sdk_config`]. Feature
    /// `aws-sdk-sts`.
    #[cfg(feature = "aws-sdk-sts")]
    pub fn sts_client(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.sdk_config())
    }
}
