//! The suite's own checks: the checked-in schema and README table are
//! current, the template passes, and a leaked secret fails a scenario
//! without being shown.

use std::path::Path;

use bedrock_harness::scenario::{self, format};

use crate::report_of;

#[test]
fn the_checked_in_schema_is_the_generated_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/schema.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = format::json_schema();
    if checked_in.trim() != generated.trim() {
        // Written so the fix is one review away, as insta does.
        std::fs::write(path.with_extension("json.new"), &generated).ok();
        panic!(
            "scenarios/schema.json is stale: run `cargo run -- schema > scenarios/schema.json` (the new one is in scenarios/schema.json.new)"
        );
    }
}

#[test]
fn the_template_is_a_passing_scenario() {
    let dir = std::env::temp_dir().join(format!("bedrock-harness-template-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("from-template.toml");
    std::fs::write(
        &path,
        bedrock_harness::scenario::template::text("from-template", None),
    )
    .unwrap();
    let report = report_of(&path);
    std::fs::remove_dir_all(&dir).ok();
    assert!(report.passed(), "{}", report.failure_text());
}

#[test]
fn the_readme_lists_every_scenario() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let files = scenario::discover(std::slice::from_ref(&root)).unwrap();
    let table = scenario::index::markdown(&root, &files);
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(&table),
        "scenarios/README.md's table is stale: replace it with the output of `cargo run -- index`"
    );
}

#[test]
fn a_secret_that_reaches_the_output_fails_the_scenario_without_being_shown() {
    // A gateway that echoes the caller's session token in its error: the
    // client prints the message, and the leak check must catch it.
    let dir = std::env::temp_dir().join(format!("bedrock-harness-leak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echoed-token.toml");
    let token = "IQoJb3JpZ2luX2VjLEAKEDsessionTOKEN";
    std::fs::write(
        &path,
        format!(
            r#"schema = 1
name = "echoed-token"
description = "d"
source = "s"
[client.env]
CLAUDE_CODE_USE_BEDROCK = "1"
AWS_REGION = "us-east-1"
ANTHROPIC_DEFAULT_OPUS_MODEL = "us.anthropic.claude-opus-5-5"
ANTHROPIC_DEFAULT_SONNET_MODEL = "us.anthropic.claude-sonnet-4-6"
ANTHROPIC_DEFAULT_HAIKU_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
AWS_ACCESS_KEY_ID = "ASIALEAKEXAMPLE00001"
AWS_SECRET_ACCESS_KEY = "leakSecret/K7MDENG+bPxRfiCYLEAKKEY"
AWS_SESSION_TOKEN = "{token}"
[[server.credentials]]
access_key_id = "ASIALEAKEXAMPLE00001"
secret_access_key = "leakSecret/K7MDENG+bPxRfiCYLEAKKEY"
session_token = "{token}"
[[server.rules]]
when = {{ operation = "InvokeModelWithResponseStream" }}
answer = {{ error = {{ code = "ValidationException", message = "bad token {token}" }} }}
[expect]
exit = 1
stdout = ["this text is not printed"]
"#
        ),
    )
    .unwrap();
    let report = report_of(&path);
    std::fs::remove_dir_all(&dir).ok();
    let text = report.failure_text();
    assert!(!report.passed());
    assert!(text.contains("of the scenario appears in stdout"), "{text}");
    // The client's trace log has the error body, so the leak is there too.
    assert!(
        text.contains("of the scenario appears in the trace log"),
        "{text}"
    );
    // The stdout shown with the failure has the token hidden.
    assert!(text.contains("bad token <secret #"), "{text}");
    assert!(
        !text.contains(token),
        "the report must not show the secret: {text}"
    );
    assert!(!report.output.0.contains(token));
}

#[test]
fn the_trace_log_shows_every_request_and_error_body_without_a_credential() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (file, shown) in [
        // A bearer key, and the 403 body its refusal carries.
        (
            "auth/api-key-unknown.toml",
            &[
                "authorization: Bearer <redacted>",
                "[trace] <- body of POST /model/",
            ][..],
        ),
        // Temporary keys: the token header is hidden, the signature cut.
        (
            "auth/env-session-token.toml",
            &[
                "x-amz-security-token: <redacted>",
                "Signature=<redacted>",
                "[trace] <- 200 for POST /model/",
            ][..],
        ),
    ] {
        let path = root.join(file);
        let scenario = scenario::load(&path).unwrap();
        let run = runtime.block_on(scenario::run::execute(&scenario)).unwrap();
        let trace = &run.session().unwrap().trace;
        let requests = trace.matches("[trace] -> ").count();
        assert_eq!(
            requests,
            run.journal.len(),
            "{file}: one trace entry per request\n{trace}"
        );
        for text in shown {
            assert!(trace.contains(text), "{file}: {text:?} not in\n{trace}");
        }
        assert!(!run.secrets.is_empty(), "{file}");
        assert_eq!(
            scenario::check::leaks(&run, ""),
            Vec::<String>::new(),
            "{file}"
        );
    }
}

/// Geography prefixes the client knows that the mock's default account
/// does not serve, and why. (A stale entry fails the test below.)
const GEOGRAPHIES_NOT_SERVED: &[(&str, &str)] = &[
    (
        "jp",
        "Japan's profiles (Tokyo and Osaka) exist for recent models only; the default account serves the four geographies every model of its catalogue has, and a scenario adds jp where it needs it",
    ),
    (
        "au",
        "Australia's profiles (Sydney and Melbourne): as for jp",
    ),
    (
        "ca",
        "the CLI 2.1.328 knows the prefix, but AWS has published no Canada profile to copy",
    ),
];

/// Profiles the client can derive that AWS does not publish, so the
/// default account does not serve them either: (model, geography).
const PROFILES_NOT_SERVED: &[(&str, &str)] = &[
    ("anthropic.claude-3-5-sonnet-20241022-v2:0", "eu"),
    ("anthropic.claude-3-5-haiku-20241022-v1:0", "eu"),
    ("anthropic.claude-3-5-haiku-20241022-v1:0", "apac"),
];

/// The client's model catalogue and the mock's default account are kept
/// apart on purpose (a scenario makes them disagree, which is what many
/// customer reports are about), but by default they agree: every model id
/// the client can send, as any CLI version it imitates, on Bedrock and on
/// Mantle, is one the account serves; every model has the profile the
/// client derives from a region (`us.`, `eu.`, `apac.`) unless named above;
/// and every geography the client knows is served unless named above. (One
/// way only: the account may serve models the client does not know.)
#[test]
fn the_default_account_serves_every_id_and_geography_the_client_sends() {
    for version in bedrock_client::profile::known_versions() {
        let profile = bedrock_client::profile::load(version).expect("a built-in profile");
        the_account_serves(&profile.catalogue);
    }
}

/// [`the_default_account_serves_every_id_and_geography_the_client_sends`]
/// for one version's catalogue.
fn the_account_serves(catalogue: &bedrock_client::catalogue::Catalogue) {
    use bedrock_mock_server::ServerConfig;

    let account = ServerConfig::default();
    for model in &catalogue.models {
        let served = account.models.iter().find(|m| m.id == model.bedrock);
        let served = served.unwrap_or_else(|| panic!("{} is not served on Bedrock", model.bedrock));
        for geography in ["us", "eu", "apac"] {
            let has = served.profiles.iter().any(|g| g == geography);
            let named = PROFILES_NOT_SERVED.contains(&(model.bedrock.as_str(), geography));
            assert!(
                has != named,
                "{geography}.{}: served: {has}; named as not served: {named}",
                model.bedrock
            );
        }
        if let Some(mantle) = &model.mantle {
            assert!(
                account.mantle_models.iter().any(|m| &m.id == mantle),
                "{mantle} is not served on Mantle"
            );
        }
    }
    let served: std::collections::BTreeSet<&str> = account
        .models
        .iter()
        .flat_map(|m| m.profiles.iter().map(String::as_str))
        .collect();
    for geography in catalogue.geographies.iter().map(String::as_str) {
        let named = GEOGRAPHIES_NOT_SERVED.iter().any(|(g, _)| *g == geography);
        assert!(
            served.contains(geography) != named,
            "`{geography}`: served by the default account: {}; named as not served: {named}",
            served.contains(geography)
        );
    }
}

/// The Claude Code versions the conformance suite installs and goldens are
/// the ones `bedrock-client` has a profile of, no more and no fewer: each
/// is pinned in `conformance/node/package.json` under the alias
/// `claude-code-<version>` (and locked), and has its golden folder.
#[test]
fn conformance_pins_and_goldens_exactly_the_cli_versions_the_client_imitates() {
    let conformance = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let read_json = |path: &Path| -> serde_json::Value {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let manifest = read_json(&conformance.join("node/package.json"));
    let lock = read_json(&conformance.join("node/package-lock.json"));
    let dependencies = manifest["dependencies"].as_object().expect("dependencies");
    let mut pinned: Vec<String> = dependencies
        .iter()
        .filter(|(name, _)| name.contains("claude-code"))
        .map(|(name, spec)| {
            let version = name.strip_prefix("claude-code-").unwrap_or_else(|| {
                panic!("{name}: install the CLI under the alias claude-code-<version>")
            });
            assert_eq!(
                spec.as_str(),
                Some(format!("npm:@anthropic-ai/claude-code@{version}").as_str()),
                "{name} must pin exactly that version"
            );
            let locked = &lock["packages"][format!("node_modules/{name}")];
            assert_eq!(
                locked["version"].as_str(),
                Some(version),
                "{name} in package-lock.json"
            );
            version.to_owned()
        })
        .collect();
    pinned.sort();
    let mut imitated = bedrock_client::profile::known_versions();
    imitated.sort();
    assert_eq!(
        pinned, imitated,
        "conformance/node/package.json pins a claude-code-<version> for each profile in client/data/profiles/ (then `npm install` there, and record its goldens with `conformance/run --cli-version <version> --update`)"
    );
    let mut goldens: Vec<String> = std::fs::read_dir(conformance.join("golden/claude-code"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    goldens.sort();
    assert_eq!(
        goldens, imitated,
        "conformance/golden/claude-code/ has a folder per version"
    );
}

/// Every scenario meets the real clock whole: moved by nothing, its
/// account is the same after the trip through its JSON form (so the move
/// changes only times), and moved by a day, each of its times moves by a
/// day and nothing else does.
#[test]
fn every_scenario_moves_to_the_real_clock_whole() {
    use bedrock_harness::scenario::timeshift::{Shift, scenario_at, shift_json};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let day = std::time::Duration::from_secs(86_400);
    let mut moved_any = 0;
    for file in scenario::discover(std::slice::from_ref(&root)).unwrap() {
        let scenario = scenario::load(&file).unwrap();
        let start = scenario.clock.start_time();
        let (same, shift, count) = scenario_at(&scenario, start).unwrap();
        assert_eq!(shift, Shift(0));
        assert_eq!(same.server, scenario.server, "{}", file.display());
        assert_eq!(same.client, scenario.client, "{}", file.display());
        let (later, shift, count_later) = scenario_at(&scenario, start + day).unwrap();
        assert_eq!((shift, count_later), (Shift(86_400), count));
        assert_eq!(later.clock.start_time(), start + day);
        for (before, after) in scenario
            .server
            .credentials
            .iter()
            .zip(&later.server.credentials)
        {
            let moved = |t: Option<bedrock_mock_server::Timestamp>| t.map(|t| t.0 + day);
            assert_eq!(after.expires_at.map(|t| t.0), moved(before.expires_at));
            assert_eq!(after.revoked_at.map(|t| t.0), moved(before.revoked_at));
        }
        // Moving back by the same day restores the account exactly.
        let mut back = serde_json::to_value(&later.server).unwrap();
        shift_json(&mut back, Shift(-86_400));
        assert_eq!(back, serde_json::to_value(&scenario.server).unwrap());
        moved_any += count;
    }
    assert!(
        moved_any > 20,
        "the scenarios hold times to move: {moved_any}"
    );
}
