use super::*;

/// The 2.1.328 file, the base of the broken profiles below.
fn base_text() -> &'static str {
    BUILT_IN[0].1
}

/// What loading `text` as version `9.9.9`, on top of the built-in
/// profiles, says.
fn load_extra(text: &str) -> Result<Profile, Error> {
    let mut profiles = BUILT_IN.to_vec();
    profiles.push(("9.9.9", text));
    load_from(&profiles, "9.9.9")
}

fn error_of(text: &str) -> String {
    load_extra(text).unwrap_err().message().to_owned()
}

#[test]
fn every_built_in_profile_loads_oldest_first_and_the_newest_is_the_default() {
    let versions = known_versions();
    let number = |v: &str| -> Vec<u32> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    assert!(
        versions.windows(2).all(|w| number(w[0]) < number(w[1])),
        "{versions:?}"
    );
    assert_eq!(NEWEST, *versions.last().unwrap());
    for version in &versions {
        let profile = load(version).unwrap();
        assert_eq!(profile.version, *version);
    }
    assert_eq!(newest().version, NEWEST);
}

#[test]
fn every_profile_file_is_built_in() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/profiles");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let listed: Vec<String> = known_versions()
        .iter()
        .map(|v| format!("{v}.toml"))
        .collect();
    assert_eq!(
        files,
        listed,
        "each file in {} is listed in BUILT_IN",
        dir.display()
    );
}

#[test]
fn an_unknown_version_is_refused_with_the_known_ones() {
    let e = load("2.1.96").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidVariable);
    assert!(
        e.message()
            .starts_with("there is no profile of Claude Code 2.1.96"),
        "{e}"
    );
    for version in known_versions() {
        assert!(e.message().contains(version), "{e}");
    }
    assert!(e.message().contains(VARIABLE), "{e}");
}

#[test]
fn the_2_1_332_profile_is_2_1_328_but_for_what_was_recorded_to_change() {
    let older = load("2.1.328").unwrap();
    let newer = load("2.1.332").unwrap();
    assert!(older.rules.suggests_retired_models);
    assert!(!older.rules.unplaced_refusal_moves_down);
    assert!(!newer.rules.suggests_retired_models);
    assert!(newer.rules.unplaced_refusal_moves_down);
    assert!(!older.rules.opus_falls_back_to_older_sonnets);
    assert!(newer.rules.opus_falls_back_to_older_sonnets);
    let mut same = newer.clone();
    same.version = older.version.clone();
    same.rules = older.rules.clone();
    same.catalogue.lineups = older.catalogue.lineups.clone();
    assert!(
        same == older,
        "2.1.332 inherits everything else from 2.1.328"
    );
    assert_eq!(
        newer.catalogue.lineups["cli"].description,
        "Claude Code 2.1.332 as recorded: Opus 5.5 for the turn"
    );
}

#[test]
fn a_child_profile_merges_models_by_name() {
    let child = r#"
        inherits = "2.1.328"
        [[catalogue.models]]
        name = "claude-opus-4-8"
        max_tokens = 48000
        [[catalogue.models]]
        name = "claude-opus-6"
        before = "claude-opus-5-5"
        display = "Opus 6"
        family = "opus"
        bedrock = "anthropic.claude-opus-6"
        max_tokens = 128000
        shape = "adaptive-omitted"
        recorded = false
    "#;
    let profile = load_extra(child).unwrap();
    let models = &profile.catalogue.models;
    assert_eq!(models[0].name, "claude-opus-6");
    assert_eq!(models[1].name, "claude-opus-5-5");
    let opus_4_8 = profile.catalogue.model("claude-opus-4-8").unwrap();
    assert_eq!(opus_4_8.max_tokens, 48000);
    assert_eq!(
        opus_4_8.display, "Opus 4.8",
        "the fields not given are inherited"
    );
    assert_eq!(
        models.len(),
        load("2.1.328").unwrap().catalogue.models.len() + 1
    );
}

#[test]
fn a_bad_profile_names_what_is_wrong() {
    let cases = [
        ("retries = [", "not TOML"),
        (
            "retries = 3",
            "invalid type: integer `3`, expected struct Retries",
        ),
        (
            "inherits = \"2.1.329\"",
            "`inherits` is \"2.1.329\": name an older version listed before it",
        ),
        (
            "inherits = \"2.1.328\"\n[retries]\nbackoff_base_seconds = 1",
            "unknown field `backoff_base_seconds`",
        ),
        (
            "inherits = \"2.1.328\"\n[rules]\nsuggests_retired_models = \"no\"",
            "invalid type",
        ),
        (
            "inherits = \"2.1.328\"\n[requests]\nguessed_shape = \"claude-sonnet-9\"",
            "`requests.guessed_shape` names `claude-sonnet-9`, which is not in its catalogue",
        ),
        (
            "inherits = \"2.1.328\"\n[retries]\nbackoff_base_ms = 64000",
            "`retries.backoff_base_ms` must be above 0 and at most `backoff_cap_ms`",
        ),
        (
            "inherits = \"2.1.328\"\n[retries]\nbackoff_jitter_percent = 101",
            "at most 100",
        ),
        (
            "inherits = \"2.1.328\"\n[time_limits]\nturn_seconds = 0",
            "`time_limits.turn_seconds` must be above 0",
        ),
        (
            "inherits = \"2.1.328\"\n[catalogue.lineups.cli]\nopus = \"claude-sonnet-4-6\"",
            "`lineups.cli.opus` names `claude-sonnet-4-6`",
        ),
        (
            "inherits = \"2.1.328\"\n[[catalogue.models]]\nname = \"claude-opus-6\"\nbefore = \"claude-opus-9\"",
            "goes `before` \"claude-opus-9\", which is not in the inherited catalogue",
        ),
    ];
    for (text, expected) in cases {
        let message = error_of(text);
        assert!(
            message.starts_with(
                "the Claude Code 9.9.9 profile (client/data/profiles/9.9.9.toml) is not valid: "
            ) || message.starts_with("the model catalogue of the Claude Code 9.9.9 profile"),
            "{text}: {message}"
        );
        assert!(message.contains(expected), "{text}: {message}");
    }
    // A whole profile missing a section.
    let without_texts: String = {
        let mut table: toml::Table = toml::from_str(base_text()).unwrap();
        table.remove("texts");
        toml::to_string(&table).unwrap()
    };
    assert!(error_of(&without_texts).contains("missing field `texts`"));
}

#[test]
fn the_texts_fill_their_templates_in_the_clis_words() {
    let texts = newest().texts;
    let catalogue = newest().catalogue;
    let sonnet4 = catalogue.model("claude-sonnet-4-20250514").unwrap();
    let retirement = sonnet4.retirement.as_ref().unwrap();
    // 2026-10-14T00:00:00Z is 1_791_936_000 s after the epoch.
    let day = std::time::UNIX_EPOCH + Duration::from_secs(1_791_936_000);
    assert_eq!(
        texts.retirement_warning_at(retirement, day - Duration::from_secs(1)),
        "\u{26a0} Claude Sonnet 4 will be retired on October 14, 2026. Consider switching to a newer model."
    );
    // conformance/golden/claude-code/*/retired-model-warning.
    assert_eq!(
        texts.retirement_warning_at(retirement, day),
        "\u{26a0} Claude Sonnet 4 was retired on October 14, 2026. Consider switching to a newer model."
    );
    // conformance's fallback-404.
    assert_eq!(
        Texts::fill(
            &texts.older_version_notice,
            &[
                ("tier", "Opus"),
                ("wanted", "Opus 5.5"),
                ("fallback", "Opus 5")
            ]
        ),
        "Warning: Opus: Opus 5.5 not available — using Opus 5 for this session"
    );
}
