//! No library crate of the workspace turns on a serde_json feature that
//! changes how its users' own code reads or writes JSON.
//!
//! Cargo unifies features: a project with bedrock-mock-server as a
//! dev-dependency builds its tests with every serde_json feature the mock
//! enables. `preserve_order` would make the project's `Value`s keep their
//! keys' order under `cargo test` and sort them in release;
//! `arbitrary_precision` or `float_roundtrip` would change its numbers.
//! Each crate writes its bodies in order with structs or raw text instead
//! (see mock-server/src/reply.rs); the harness opts in for itself.

use std::path::Path;

use toml::Value;

/// The crates other projects depend on.
const LIBRARY_CRATES: &[&str] = &["eventstream", "mock-server", "client"];

/// What a library crate may ask of serde_json: these change nothing in the
/// JSON a user's code reads or writes.
const ALLOWED: &[&str] = &["std", "raw_value"];

/// The serde_json features a dependency entry asks for (`features`, and
/// `default-features = false` is no feature), when the entry is serde_json
/// (by name or through `package`).
fn serde_json_features(name: &str, entry: &Value) -> Option<Vec<String>> {
    let package = entry.get("package").and_then(Value::as_str).unwrap_or(name);
    (package == "serde_json").then(|| {
        entry
            .get("features")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|f| f.as_str().unwrap_or("<not a string>").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Every serde_json feature `manifest` asks for where its users' builds
/// get it, each with where it is asked: the dependency tables (plain and
/// per target; dev-dependencies are the crate's own tests and stay out of
/// a user's build) and the crate's `[features]` (`serde_json/...`).
fn asked_for(manifest: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut tables = vec![("[dependencies]".to_owned(), manifest.get("dependencies"))];
    if let Some(targets) = manifest.get("target").and_then(Value::as_table) {
        for (target, table) in targets {
            tables.push((
                format!("[target.{target}.dependencies]"),
                table.get("dependencies"),
            ));
        }
    }
    for (place, table) in tables {
        for (name, entry) in table.and_then(Value::as_table).into_iter().flatten() {
            for feature in serde_json_features(name, entry).unwrap_or_default() {
                found.push((place.clone(), feature));
            }
        }
    }
    for (feature, enables) in manifest
        .get("features")
        .and_then(Value::as_table)
        .into_iter()
        .flatten()
    {
        for item in enables.as_array().into_iter().flatten() {
            let item = item.as_str().unwrap_or_default();
            let Some((dep, wanted)) = item.split_once('/') else {
                continue;
            };
            if dep.trim_end_matches('?') == "serde_json" {
                found.push((format!("[features] {feature}"), wanted.to_owned()));
            }
        }
    }
    found
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse(&text).unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()))
}

fn parse(text: &str) -> Result<Value, toml::de::Error> {
    toml::from_str::<toml::Table>(text).map(Value::Table)
}

fn refused(found: Vec<(String, String)>, whose: &str) -> Vec<String> {
    found
        .into_iter()
        .filter(|(_, feature)| !ALLOWED.contains(&feature.as_str()))
        .map(|(place, feature)| {
            format!(
                "{whose}: serde_json feature `{feature}` ({place}) would be forced on every \
                 project that depends on it (Cargo unifies features), changing how that \
                 project's own code writes JSON; write the bodies in order with structs or \
                 RawValue instead, and let the harness package opt in for itself"
            )
        })
        .collect()
}

#[test]
fn library_crates_force_no_serde_json_feature_on_their_users() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for krate in LIBRARY_CRATES {
        let manifest = read(&root.join(krate).join("Cargo.toml"));
        let name = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .unwrap_or(krate)
            .to_owned();
        problems.extend(refused(asked_for(&manifest), &name));
    }
    // What `serde_json.workspace = true` inherits.
    let workspace = read(&root.join("Cargo.toml"));
    let inherited = workspace
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(|d| d.get("serde_json"))
        .and_then(|entry| serde_json_features("serde_json", entry))
        .unwrap_or_default();
    problems.extend(refused(
        inherited
            .into_iter()
            .map(|f| ("[workspace.dependencies]".to_owned(), f))
            .collect(),
        "every crate using serde_json.workspace",
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check sees each way a manifest can ask for a feature.
#[test]
fn the_check_finds_features_wherever_a_manifest_asks() {
    let manifest = parse(
        r#"
        [dependencies]
        serde_json = { version = "1", features = ["raw_value", "preserve_order"] }
        json = { package = "serde_json", version = "1", features = ["arbitrary_precision"] }
        serde = { version = "1", features = ["derive"] }
        [target.'cfg(unix)'.dependencies]
        serde_json = { version = "1", features = ["float_roundtrip"] }
        [dev-dependencies]
        serde_json = { version = "1", features = ["preserve_order"] }
        [features]
        ordered = ["serde_json/preserve_order", "serde_json?/std"]
        "#,
    )
    .unwrap();
    let problems = refused(asked_for(&manifest), "example");
    let mut named: Vec<&str> = problems
        .iter()
        .map(|p| p.split('`').nth(1).unwrap())
        .collect();
    named.sort();
    assert_eq!(
        named,
        [
            "arbitrary_precision",
            "float_roundtrip",
            "preserve_order",
            "preserve_order"
        ],
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("[features] ordered")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("[target.cfg(unix).dependencies]")),
        "{problems:#?}"
    );
    let plain = parse("[dependencies]\nserde_json = \"1\"").unwrap();
    assert!(refused(asked_for(&plain), "x").is_empty());
}
