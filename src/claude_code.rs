//! The real Claude Code CLI as `run`'s client (`--client
//! claude-code[@VERSION]`): which version, and its installation with npm
//! into a cache the harness owns, once per version.
//!
//! The cache is `$BEDROCK_HARNESS_CACHE`, else
//! `$XDG_CACHE_HOME/bedrock-harness`, else `~/.cache/bedrock-harness`;
//! version `V` is installed under `claude-code/V/`. npm installs into a
//! temporary folder beside it, which becomes `claude-code/V/` in one
//! rename once its `claude --version` says `V`: an install that is
//! interrupted, or that runs beside another, never leaves a half-made
//! cache.

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bedrock_harness::scenario::process::CLAUDE_CODE_QUIET;

/// The npm package.
pub const PACKAGE: &str = "@anthropic-ai/claude-code";

/// The version `--client claude-code` runs: the newest one
/// `bedrock-client` has a profile of, which the conformance suite pins and
/// goldens with the others (`conformance/node/package.json`; a test keeps
/// the pins and the profiles equal).
pub const PINNED_VERSION: &str = bedrock_client::profile::NEWEST;

/// A Claude Code version: numbers and dots (`2.1.332`), checked before it
/// reaches npm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(String);

impl Version {
    /// `text` if it is a version: two to four numbers joined by dots.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('.').collect();
        let numbers = parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()));
        if numbers && (2..=4).contains(&parts.len()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not a Claude Code version: numbers joined by dots, like {PINNED_VERSION}"
            ))
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The version `--client` names: `claude-code` (the pinned one) or
/// `claude-code@VERSION`; `None` for `bedrock-client`.
pub fn chosen_version(client: &str) -> Result<Option<Version>, String> {
    match client.split_once('@') {
        None if client == "bedrock-client" => Ok(None),
        None if client == "claude-code" => Version::parse(PINNED_VERSION).map(Some),
        Some(("claude-code", version)) => Version::parse(version).map(Some),
        _ => Err(format!(
            "--client `{client}`: expected bedrock-client, claude-code or claude-code@VERSION"
        )),
    }
}

/// The harness's cache folder, from the environment `var` reads.
pub fn cache_root(var: &dyn Fn(&str) -> Option<OsString>) -> Result<PathBuf, String> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(root) = set("BEDROCK_HARNESS_CACHE") {
        return Ok(root);
    }
    if let Some(cache) = set("XDG_CACHE_HOME") {
        return Ok(cache.join("bedrock-harness"));
    }
    set("HOME")
        .map(|home| home.join(".cache/bedrock-harness"))
        .ok_or_else(|| {
            "no cache folder: set BEDROCK_HARNESS_CACHE (or XDG_CACHE_HOME, or HOME)".to_owned()
        })
}

/// Where each version lives in the cache.
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The cache at `root`.
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The folder of every installed version.
    fn versions(&self) -> PathBuf {
        self.root.join("claude-code")
    }

    /// The folder of `version`: there only when it is installed whole.
    fn folder(&self, version: &Version) -> PathBuf {
        self.versions().join(&version.0)
    }

    /// The `claude` of `version` (npm's link to the package's native
    /// binary).
    pub fn program(&self, version: &Version) -> PathBuf {
        program_in(&self.folder(version))
    }

    /// A temporary folder beside the versions for one install of
    /// `version` by this process.
    fn temporary(&self, version: &Version) -> PathBuf {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        self.versions().join(format!(
            ".{version}.installing-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// The `claude` of `version`, installed with `npm` first when it is
    /// not yet; `say` tells the user what is happening.
    pub fn install(
        &self,
        version: &Version,
        npm: &Path,
        say: &mut dyn FnMut(&str),
    ) -> Result<PathBuf, String> {
        let folder = self.folder(version);
        if self.program(version).is_file() {
            return Ok(self.program(version));
        }
        // Only a whole install is ever renamed into place: this one was
        // changed since.
        if folder.exists() {
            return Err(format!(
                "{} holds no node_modules/.bin/claude: remove it, and the next run installs {PACKAGE}@{version} again",
                folder.display()
            ));
        }
        std::fs::create_dir_all(self.versions())
            .map_err(|e| format!("cannot make {}: {e}", self.versions().display()))?;
        self.remove_abandoned(version);
        let temporary = self.temporary(version);
        say(&format!(
            "installing {PACKAGE}@{version} into {} with npm (once per version)",
            folder.display()
        ));
        let installed =
            npm_install(npm, version, &temporary).and_then(|()| check(version, &temporary));
        if let Err(e) = installed {
            let _ = std::fs::remove_dir_all(&temporary);
            return Err(e);
        }
        if let Err(e) = std::fs::rename(&temporary, &folder) {
            let _ = std::fs::remove_dir_all(&temporary);
            // Another install of the same version finished first.
            if !folder.is_dir() {
                return Err(format!(
                    "cannot move the install to {}: {e}",
                    folder.display()
                ));
            }
        }
        say(&format!("installed {PACKAGE}@{version}"));
        Ok(self.program(version))
    }

    /// Removes what installs of `version` by processes that no longer
    /// run left behind (an interrupted install: hundreds of MB each).
    fn remove_abandoned(&self, version: &Version) {
        let prefix = format!(".{version}.installing-");
        let Ok(entries) = std::fs::read_dir(self.versions()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(owner) = name
                .strip_prefix(&prefix)
                .and_then(|rest| rest.split('-').next())
            else {
                continue;
            };
            if !Path::new("/proc").join(owner).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// npm's `claude` in an install folder.
fn program_in(folder: &Path) -> PathBuf {
    folder.join("node_modules/.bin/claude")
}

/// `npm install --prefix FOLDER @anthropic-ai/claude-code@VERSION`: no
/// shell, the version already checked.
fn npm_install(npm: &Path, version: &Version, folder: &Path) -> Result<(), String> {
    let spec = format!("{PACKAGE}@{version}");
    let mut output = Command::new(npm);
    output.arg("install").arg("--prefix").arg(folder).args([
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        &spec,
    ]);
    let output = output_within(output, NPM_TIME_LIMIT)
        .map_err(|e| format!("`npm install {spec}` ({}): {e}", npm.display()))?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = said.lines().rev().take(6).collect();
    Err(format!(
        "`npm install {spec}` failed ({}):\n{}\nCheck that the version exists (`npm view {PACKAGE} versions`) and that the npm registry is reachable",
        output.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}

/// That the `claude` npm installed in `folder` runs and is `version` (a
/// package whose install script did not run leaves a stub that is not).
fn check(version: &Version, folder: &Path) -> Result<(), String> {
    let program = program_in(folder);
    let home = folder.join(".version-check");
    let mut output = Command::new(&program);
    output
        .arg("--version")
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", &home)
        .envs(CLAUDE_CODE_QUIET);
    let output = output_within(output, VERSION_TIME_LIMIT)
        .map_err(|e| format!("the installed {}: {e}", program.display()))?;
    let _ = std::fs::remove_dir_all(&home);
    let said = String::from_utf8_lossy(&output.stdout);
    if said.split_whitespace().next() == Some(&version.0) {
        Ok(())
    } else {
        Err(format!(
            "the installed claude says {:?} to --version, not {version} (did npm skip the package's install script? it copies the native binary)",
            said.trim()
        ))
    }
}

/// How long `npm install` may take (a slow registry, a 200 MB package).
const NPM_TIME_LIMIT: Duration = Duration::from_secs(600);
/// How long the installed `claude --version` may take.
const VERSION_TIME_LIMIT: Duration = Duration::from_secs(30);

/// Runs `command` (stdin closed) and collects its output, stopping it
/// once it has run for `limit`: a stalled npm or binary must not hold
/// `run` before its scenarios' own limits apply.
fn output_within(mut command: Command, limit: Duration) -> Result<Output, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "did not finish within {} s and was stopped",
                    limit.as_secs()
                ));
            }
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        }
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// `name` on `PATH`, if it is there.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn versions_are_numbers_and_dots_and_nothing_else_reaches_npm() {
        for good in ["2.1.332", "2.1", "1.0.0.1", PINNED_VERSION] {
            assert_eq!(Version::parse(good).unwrap().to_string(), good);
        }
        for bad in [
            "",
            "2",
            "latest",
            "2.1.332-beta.1",
            "2..1",
            ".2.1",
            "2.1.",
            "2.1.332 --registry=http://evil",
            "2.1;rm -rf /",
            "1.2.3.4.5",
            "99999999999.1",
        ] {
            let e = Version::parse(bad).unwrap_err();
            assert!(e.contains("is not a Claude Code version"), "{bad}: {e}");
        }
        assert_eq!(chosen_version("bedrock-client").unwrap(), None);
        assert_eq!(
            chosen_version("claude-code").unwrap().unwrap().to_string(),
            PINNED_VERSION
        );
        assert_eq!(
            chosen_version("claude-code@2.1.332")
                .unwrap()
                .unwrap()
                .to_string(),
            "2.1.332"
        );
        assert!(chosen_version("claude-code@next").is_err());
        assert!(
            chosen_version("claude")
                .unwrap_err()
                .contains("expected bedrock-client")
        );
    }

    /// A command that does not finish is stopped at its limit; one that
    /// does gives its output.
    #[test]
    fn installs_and_checks_are_bounded() {
        let mut sleeper = Command::new("sleep");
        sleeper.arg("30");
        let started = Instant::now();
        let error = output_within(sleeper, Duration::from_millis(200)).unwrap_err();
        assert!(error.contains("did not finish within"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let mut echo = Command::new("sh");
        echo.args(["-c", "echo out; echo err >&2"]);
        let output = output_within(echo, Duration::from_secs(30)).unwrap();
        assert_eq!(
            (&output.stdout[..], &output.stderr[..]),
            (&b"out\n"[..], &b"err\n"[..])
        );
    }

    /// The default is a version the conformance suite pins, under its
    /// `claude-code-<version>` alias.
    #[test]
    fn the_default_version_is_a_conformance_pin() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/node/package.json");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            json["dependencies"][format!("claude-code-{PINNED_VERSION}")],
            format!("npm:{PACKAGE}@{PINNED_VERSION}").as_str()
        );
    }

    #[test]
    fn the_cache_is_the_variable_then_xdg_then_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let all = env(&[
            ("BEDROCK_HARNESS_CACHE", "/c"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(cache_root(&all).unwrap(), PathBuf::from("/c"));
        let xdg = env(&[
            ("BEDROCK_HARNESS_CACHE", ""),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(
            cache_root(&xdg).unwrap(),
            PathBuf::from("/x/bedrock-harness")
        );
        let home = env(&[("HOME", "/h")]);
        assert_eq!(
            cache_root(&home).unwrap(),
            PathBuf::from("/h/.cache/bedrock-harness")
        );
        assert!(
            cache_root(&env(&[]))
                .unwrap_err()
                .contains("BEDROCK_HARNESS_CACHE")
        );
        let version = Version::parse("2.1.332").unwrap();
        assert_eq!(
            Cache::new("/c".into()).program(&version),
            PathBuf::from("/c/claude-code/2.1.332/node_modules/.bin/claude")
        );
    }

    /// A scratch cache and a fake npm: a script that installs a `claude`
    /// answering `--version` with the version asked for, or, for
    /// `9.9.9`, fails as npm does for a version that does not exist.
    struct FakeNpm {
        root: PathBuf,
        npm: PathBuf,
    }

    impl FakeNpm {
        fn new(name: &str) -> Self {
            let root = std::env::temp_dir().join(format!("bh-npm-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(&root).unwrap();
            let npm = root.join("npm");
            std::fs::write(
                &npm,
                r#"#!/bin/sh
# npm install --prefix DIR --no-audit --no-fund --loglevel=error PACKAGE@VERSION
dir="$3"; version="${7##*@}"
echo "$@" >> "$(dirname "$0")/calls"
if [ "$version" = 9.9.9 ]; then echo "npm error notarget No matching version found" >&2; exit 1; fi
mkdir -p "$dir/node_modules/.bin"
printf '#!/bin/sh\necho "%s (Claude Code)"\n' "$version" > "$dir/node_modules/.bin/claude"
chmod +x "$dir/node_modules/.bin/claude"
"#,
            )
            .unwrap();
            std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
            Self { root, npm }
        }

        fn calls(&self) -> String {
            std::fs::read_to_string(self.root.join("calls")).unwrap_or_default()
        }
    }

    impl Drop for FakeNpm {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    #[test]
    fn a_version_is_installed_once_whole_and_a_failure_leaves_nothing() {
        let fake = FakeNpm::new("once");
        let cache = Cache::new(fake.root.join("cache"));
        let version = Version::parse("2.1.332").unwrap();
        let mut said = Vec::new();
        let program = cache
            .install(&version, &fake.npm, &mut |s| said.push(s.to_owned()))
            .unwrap();
        assert_eq!(program, cache.program(&version));
        assert!(program.is_file());
        assert!(
            said[0].starts_with("installing @anthropic-ai/claude-code@2.1.332 into "),
            "{said:?}"
        );
        assert!(
            fake.calls().ends_with(
                "--no-audit --no-fund --loglevel=error @anthropic-ai/claude-code@2.1.332\n"
            ),
            "{}",
            fake.calls()
        );
        // Installed: npm is not run again, nothing is said.
        said.clear();
        cache
            .install(&version, &fake.npm, &mut |s| said.push(s.to_owned()))
            .unwrap();
        assert_eq!(fake.calls().lines().count(), 1);
        assert!(said.is_empty());
        // A failing npm: an error naming what to do, and no folder left.
        let missing = Version::parse("9.9.9").unwrap();
        let e = cache.install(&missing, &fake.npm, &mut |_| {}).unwrap_err();
        assert!(e.contains("No matching version found"), "{e}");
        assert!(
            e.contains("npm view @anthropic-ai/claude-code versions"),
            "{e}"
        );
        let left: Vec<_> = std::fs::read_dir(cache.versions())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["2.1.332"]);
        // An install changed since is named, not used or overwritten.
        std::fs::remove_file(&program).unwrap();
        let e = cache.install(&version, &fake.npm, &mut |_| {}).unwrap_err();
        assert!(
            e.contains("holds no node_modules/.bin/claude: remove it"),
            "{e}"
        );
    }

    #[test]
    fn an_install_that_says_another_version_is_refused_and_abandoned_ones_are_removed() {
        let fake = FakeNpm::new("check");
        let cache = Cache::new(fake.root.join("cache"));
        let version = Version::parse("2.1.1").unwrap();
        // Left by a process that no longer runs (pid 0 is never one).
        let abandoned = cache.versions().join(".2.1.1.installing-0-0");
        std::fs::create_dir_all(&abandoned).unwrap();
        // An npm that installs another version's claude: the check sees
        // the difference.
        let liar = fake.root.join("liar");
        std::fs::write(
            &liar,
            r#"#!/bin/sh
mkdir -p "$3/node_modules/.bin"
printf '#!/bin/sh\necho "2.0.0 (Claude Code)"\n' > "$3/node_modules/.bin/claude"
chmod +x "$3/node_modules/.bin/claude"
"#,
        )
        .unwrap();
        std::fs::set_permissions(&liar, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = cache.install(&version, &liar, &mut |_| {}).unwrap_err();
        assert!(
            e.contains("says \"2.0.0 (Claude Code)\" to --version, not 2.1.1"),
            "{e}"
        );
        assert!(!abandoned.exists());
        assert_eq!(std::fs::read_dir(cache.versions()).unwrap().count(), 0);
    }
}
