//! The server a load run drives: a `bedrock-harness serve` child process
//! with the run's answer and pacing, or one already running.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use bedrock_mock_server::{AuthMode, Pace, Reply, ServerConfig};

use super::Options;
use super::stream_client::Auth;

pub struct Target {
    url: String,
    child: Option<Child>,
}

impl Target {
    pub fn external(url: &str) -> Result<Self, String> {
        if !url.starts_with("http://") {
            return Err(format!("--server {url}: give an http:// URL"));
        }
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            child: None,
        })
    }

    /// Starts `bedrock-harness serve` on a free loopback port and waits
    /// for its URL.
    pub fn spawn(options: &Options) -> Result<Self, String> {
        let config = config(options);
        let path =
            std::env::temp_dir().join(format!("bedrock-harness-load-{}.json", std::process::id()));
        let text = serde_json::to_string(&config).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find this program to start the server: {e}"))?;
        let child = Command::new(exe)
            .args(["serve", "--port", "0", "--quiet", "--config"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"));
        let mut target = Self {
            url: String::new(),
            child: Some(child?),
        };
        let first_line = target.first_line();
        let _ = std::fs::remove_file(&path);
        let line = first_line?;
        target.url = line
            .rsplit_once(' ')
            .map(|(_, url)| url.to_owned())
            .filter(|url| url.starts_with("http://"))
            .ok_or_else(|| format!("the server said {line:?}, not its URL"))?;
        Ok(target)
    }

    fn first_line(&mut self) -> Result<String, String> {
        let stdout = self
            .child
            .as_mut()
            .and_then(|c| c.stdout.take())
            .ok_or("the server has no output")?;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the server's output: {e}"))?;
        if line.is_empty() {
            return Err("the server stopped before saying its URL".to_owned());
        }
        // The rest of its output is the client environment: read and
        // dropped, so the pipe never fills.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        Ok(line.trim_end().to_owned())
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's process id, when this run started it.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Target {
    /// Stops the server as a user would (SIGTERM), so that it says on
    /// stderr what its journal's bound dropped; killed if it has not ended
    /// within [`STOP_WAIT`].
    fn drop(&mut self) {
        let Some(child) = &mut self.child else {
            return;
        };
        #[cfg(unix)]
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: kill(2) on our own child's id, which `wait` has not
            // reaped yet, so the id cannot name another process.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let until = std::time::Instant::now() + STOP_WAIT;
            while std::time::Instant::now() < until {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// How long a stopped server may take to end: its open streams are done
/// by then (a run ends when its clients have read theirs).
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The account the load runs against: the default one, answering every
/// stream with `options.words` words, paced as asked.
fn config(options: &Options) -> ServerConfig {
    let words = [
        "the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog.",
    ];
    let text: Vec<&str> = (0..options.words).map(|i| words[i % words.len()]).collect();
    let auth = match options.auth {
        Auth::Off => AuthMode::Off,
        Auth::Sigv4 | Auth::ApiKey => AuthMode::Aws,
    };
    ServerConfig::default()
        .auth(auth)
        .reply(Reply::text(text.join(" ")))
        .pace(Pace::between_events(std::time::Duration::from_millis(
            options.gap_ms,
        )))
}
