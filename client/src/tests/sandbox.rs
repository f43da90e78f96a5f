//! What the client's tests share, its unit tests and its integration
//! tests alike (the integration tests include this file by path): a
//! throwaway HOME and project folder, the environment a test client runs
//! with (nothing inherited), and a provider pointed at the mock. The names
//! of the client it uses come from the module that includes it, from the
//! crate itself or through the public API.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::{
    Config, HttpClient, Identity, MockBedrock, Provider, Sources, SystemSources, Vars, VirtualClock,
};

/// `root/home` (HOME, with `.aws` and `.claude`) and `root/project` (the
/// working directory, with `.claude`), removed on drop.
pub struct Sandbox {
    root: PathBuf,
}

impl Sandbox {
    /// A fresh sandbox; `name` keeps parallel tests apart.
    pub fn new(name: &str) -> Self {
        let root =
            std::env::temp_dir().join(format!("bedrock-client-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for dir in ["home/.aws", "home/.claude", "project/.claude"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        Self { root }
    }

    /// HOME.
    pub fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    /// The working directory.
    pub fn project(&self) -> PathBuf {
        self.root.join("project")
    }

    /// A path under the sandbox (`home/.aws/config`).
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Writes `text` at `relative`, making folders as needed.
    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The environment a test client runs with: this HOME, a minimal PATH,
    /// no instance metadata, and `extra`.
    pub fn env(&self, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut env = BTreeMap::from([
            ("HOME".to_owned(), self.home().display().to_string()),
            ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
            ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
        ]);
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env
    }

    /// [`Sandbox::env`] as the client's variables.
    pub fn vars(&self, extra: &[(&str, &str)]) -> Vars {
        Vars::new(self.env(extra), &BTreeMap::new())
    }

    /// Configuration sources: [`Sandbox::env`], this HOME and project, no
    /// managed settings.
    pub fn sources(&self, extra: &[(&str, &str)]) -> Sources {
        Sources::new(self.env(extra))
            .with_home(self.home())
            .with_project(self.project())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A provider as the CLI builds it, pointed at `server` (both base URLs,
/// STS), configured by the sandbox's settings files and `extra` (which
/// may override `AWS_REGION=us-east-1`), on a virtual clock with no
/// jitter. What `awsAuthRefresh` prints is collected in the second value.
pub fn provider(
    sandbox: &Sandbox,
    server: &MockBedrock,
    extra: &[(&str, &str)],
) -> (Provider<SystemSources, VirtualClock>, Arc<Mutex<Vec<u8>>>) {
    let uri = server.uri();
    let mantle = format!("{uri}/anthropic");
    let mut env = vec![
        ("AWS_REGION", "us-east-1"),
        ("ANTHROPIC_BEDROCK_BASE_URL", uri.as_str()),
        ("ANTHROPIC_BEDROCK_MANTLE_BASE_URL", mantle.as_str()),
        ("AWS_ENDPOINT_URL_STS", uri.as_str()),
    ];
    env.extend_from_slice(extra);
    let config = Config::load(&sandbox.sources(&env)).expect("a valid test configuration");
    let shown = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&shown);
    let http = HttpClient::new();
    let sources = SystemSources::new(
        &config,
        http.clone(),
        Arc::new(move |bytes: &[u8]| sink.lock().unwrap().extend_from_slice(bytes)),
    );
    let provider = Provider::new(
        config,
        sources,
        VirtualClock::starting_at(SystemTime::now()),
        http,
        Identity::new_session(),
    )
    .with_jitter(|| 0.0);
    (provider, shown)
}
