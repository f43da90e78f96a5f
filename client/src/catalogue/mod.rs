//! The model catalogue: which Claude versions exist, in which family and
//! order, under which Bedrock and Mantle ids, the request shape the real
//! CLI sends each, and the lineups (each tier's default). Data, not code:
//! each CLI version's [`Profile`](crate::profile::Profile) holds its own
//! (`[catalogue]` in `client/data/profiles/<version>.toml`), and
//! `BEDROCK_CLIENT_MODELS` names a file in that form to use instead, so
//! both the seed's lineup and the real CLI's can be expressed.
//!
//! How a choice resolves to an id and endpoint, and the ladders a refused
//! turn moves down, are [`crate::resolve`]'s.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::calendar::parse_date;
use crate::error::{Error, ErrorKind};

/// A model family, which is also a tier Claude Code pins and probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Family {
    /// `opus`.
    Opus,
    /// `sonnet`.
    Sonnet,
    /// `haiku`: the small/fast model.
    Haiku,
}

impl Family {
    /// All three, in the order the CLI probes them.
    pub const ALL: [Family; 3] = [Family::Opus, Family::Sonnet, Family::Haiku];

    /// `opus`, `sonnet`, `haiku`: the alias.
    pub fn alias(self) -> &'static str {
        match self {
            Family::Opus => "opus",
            Family::Sonnet => "sonnet",
            Family::Haiku => "haiku",
        }
    }

    /// `Opus`, as notices write it.
    pub fn title(self) -> &'static str {
        match self {
            Family::Opus => "Opus",
            Family::Sonnet => "Sonnet",
            Family::Haiku => "Haiku",
        }
    }

    /// The variable that pins this tier.
    pub fn pin_variable(self) -> &'static str {
        match self {
            Family::Opus => "ANTHROPIC_DEFAULT_OPUS_MODEL",
            Family::Sonnet => "ANTHROPIC_DEFAULT_SONNET_MODEL",
            Family::Haiku => "ANTHROPIC_DEFAULT_HAIKU_MODEL",
        }
    }

    /// The family an unavailable family falls back to when none of its
    /// versions answers (observed: Opus → Sonnet).
    pub fn next(self) -> Option<Family> {
        match self {
            Family::Opus => Some(Family::Sonnet),
            Family::Sonnet | Family::Haiku => None,
        }
    }

    /// The family an alias names.
    pub fn from_alias(alias: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.alias() == alias)
    }
}

/// Which tier a lineup uses for the turn, and its default per tier.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Lineup {
    /// What the lineup is.
    pub description: String,
    /// The tier the turn uses when no model is chosen.
    pub turn: Family,
    /// The default Opus version (a model `name`).
    pub opus: String,
    /// The default Sonnet version.
    pub sonnet: String,
    /// The default Haiku version.
    pub haiku: String,
}

impl Lineup {
    /// The default version name of `family`.
    pub fn default_for(&self, family: Family) -> &str {
        match family {
            Family::Opus => &self.opus,
            Family::Sonnet => &self.sonnet,
            Family::Haiku => &self.haiku,
        }
    }
}

/// How a model thinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ThinkingKind {
    /// `{"type":"adaptive"}`.
    Adaptive,
    /// `{"type":"enabled","budget_tokens": max_tokens - 1}`.
    Budget,
}

/// How a model's requests are shaped: thinking and betas.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Shape {
    /// How it thinks; none when absent.
    #[serde(default)]
    pub thinking: Option<ThinkingKind>,
    /// Adaptive thinking's `display` (`omitted`).
    #[serde(default)]
    pub display: Option<String>,
    /// Invoke's `anthropic-beta` header.
    pub header_betas: Vec<String>,
    /// Invoke's body `anthropic_beta`.
    pub body_betas: Vec<String>,
    /// Mantle's `anthropic-beta` header.
    pub mantle_betas: Vec<String>,
}

/// One Claude version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Model {
    /// The first-party version name (`claude-opus-4-5-20251101`), the key
    /// of `modelOverrides`.
    pub name: String,
    /// `Opus 4.5`, as notices write it.
    pub display: String,
    /// Its family.
    pub family: Family,
    /// The foundation-model id (`anthropic.claude-…`); profiles prefix it.
    pub bedrock: String,
    /// The Mantle id, if Mantle serves it.
    #[serde(default)]
    pub mantle: Option<String>,
    /// Whether `[1m]` may be asked of it.
    #[serde(default)]
    pub context_1m: bool,
    /// Whether its window is 1M tokens without asking: `[1m]` is then
    /// accepted and sends no `context-1m` beta, as the CLI's `native_1m`.
    #[serde(default)]
    pub native_1m: bool,
    /// `max_tokens` of a turn.
    pub max_tokens: u32,
    /// `output_config.effort`, for models that take it.
    #[serde(default)]
    pub effort: Option<String>,
    /// The name of its [`Shape`].
    pub shape: String,
    /// Whether the shape was recorded from the real CLI (false: assumed).
    #[serde(default = "yes")]
    pub recorded: bool,
    /// The version the CLI suggests (`Try --model to switch to …`) after a
    /// 400 naming this one: its catalogue's `fallback_3p`, which only some
    /// versions have (none for Opus 4.1, Sonnet 4 or any Haiku).
    #[serde(default)]
    pub suggest: Option<String>,
    /// When Bedrock retires it, for the CLI's startup warning.
    #[serde(default)]
    pub retirement: Option<Retirement>,
    /// Whether the CLI sends its turn a `role: "system"` message after the
    /// prompt (its environment section): models from Opus 4.8 on, read in
    /// its JavaScript at `mid_conversation_system`. A 400's first round of
    /// resends drops it, one send more (`on-demand-400-every-call`).
    #[serde(default)]
    pub system_turn: bool,
}

/// A version's retirement on Bedrock, as the CLI's deprecation table has it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Retirement {
    /// The name the warning uses (`Claude 3.7 Sonnet`).
    pub name: String,
    /// The date, written as the warning writes it (`April 28, 2026`).
    pub bedrock: String,
}

impl Retirement {
    /// Whether the model is retired at `now` (from the start of the day,
    /// UTC).
    pub fn has_passed(&self, now: std::time::SystemTime) -> bool {
        parse_date(&self.bedrock).is_some_and(|day| day <= now)
    }
}

fn yes() -> bool {
    true
}

/// The whole catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Catalogue {
    /// The geography prefixes of cross-region inference profiles the CLI
    /// knows (`us`, `eu`, `apac`, `jp`, …).
    pub geographies: Vec<String>,
    /// Lineups by name (`cli`, `seed`).
    pub lineups: BTreeMap<String, Lineup>,
    /// Shapes by name.
    pub shapes: BTreeMap<String, Shape>,
    /// Every version, each family newest first.
    pub models: Vec<Model>,
}

impl Catalogue {
    /// The catalogue in `path`, in the form of a profile's `[catalogue]`
    /// (tables `lineups.*`, `shapes.*`, `[[models]]`).
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Settings,
                format!("the model catalogue {} cannot be read: {e}", path.display()),
            )
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and checks a catalogue; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, Error> {
        let catalogue: Catalogue = toml::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::Settings,
                format!("the model catalogue of {origin} is not valid: {e}"),
            )
        })?;
        catalogue.check(origin)?;
        Ok(catalogue)
    }

    /// Checks what serde cannot (names that must exist, dates, ids);
    /// `origin` names the catalogue in errors.
    pub(crate) fn check(&self, origin: &str) -> Result<(), Error> {
        let invalid = |why: String| {
            Error::new(
                ErrorKind::Settings,
                format!("the model catalogue of {origin} is not valid: {why}"),
            )
        };
        if self.geographies.is_empty() {
            return Err(invalid("`geographies` is empty".to_owned()));
        }
        for (i, model) in self.models.iter().enumerate() {
            if self.models[..i].iter().any(|m| m.name == model.name) {
                return Err(invalid(format!("the model `{}` appears twice", model.name)));
            }
            if !self.shapes.contains_key(&model.shape) {
                return Err(invalid(format!(
                    "`models.shape` of `{}` names `{}`, which no [shapes.{}] table defines",
                    model.name, model.shape, model.shape
                )));
            }
            if let Some(suggest) = &model.suggest
                && self.model(suggest).is_none()
            {
                return Err(invalid(format!(
                    "`models.suggest` of `{}` names `{suggest}`, which is not in the catalogue",
                    model.name
                )));
            }
            if let Some(retirement) = &model.retirement
                && parse_date(&retirement.bedrock).is_none()
            {
                return Err(invalid(format!(
                    "`models.retirement.bedrock` of `{}` is `{}`: write the date as `April 28, 2026`",
                    model.name, retirement.bedrock
                )));
            }
            if !model.bedrock.starts_with("anthropic.") {
                return Err(invalid(format!(
                    "`models.bedrock` of `{}` must be a foundation-model id starting `anthropic.`",
                    model.name
                )));
            }
        }
        for (name, lineup) in &self.lineups {
            for family in Family::ALL {
                let default = lineup.default_for(family);
                match self.model(default) {
                    Some(model) if model.family == family => {}
                    _ => {
                        return Err(invalid(format!(
                            "`lineups.{name}.{}` names `{default}`, which is not one of the catalogue's {} models",
                            family.alias(),
                            family.title()
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// A lineup by name.
    pub fn lineup(&self, name: &str) -> Option<&Lineup> {
        self.lineups.get(name)
    }

    /// A model by version name.
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }

    /// A model's shape (checked to exist when the catalogue was read).
    pub fn shape(&self, model: &Model) -> &Shape {
        &self.shapes[&model.shape]
    }

    /// The model an id names, however it is written: a version name, a
    /// foundation-model id, a profile id (`us.anthropic.…`), or a Mantle
    /// id. `None` for ARNs and ids the catalogue does not know.
    pub fn find(&self, id: &str) -> Option<&Model> {
        let base = self.strip_geography(id);
        self.models
            .iter()
            .find(|m| m.name == id || m.bedrock == base || m.mantle.as_deref() == Some(id))
    }

    /// The versions of `family` older than `name`, newest first: the
    /// fallback order.
    pub fn older_than<'c>(&'c self, name: &str) -> Vec<&'c Model> {
        let Some(model) = self.model(name) else {
            return Vec::new();
        };
        self.models
            .iter()
            .filter(|m| m.family == model.family)
            .skip_while(|m| m.name != name)
            .skip(1)
            .collect()
    }

    /// Whether `prefix` is a geography of cross-region inference
    /// profiles (`us`, `jp`, `global`, …).
    pub fn is_geography(&self, prefix: &str) -> bool {
        self.geographies.iter().any(|g| g == prefix)
    }

    /// `id` without a geography prefix (`us.anthropic.x` → `anthropic.x`).
    pub(crate) fn strip_geography<'i>(&self, id: &'i str) -> &'i str {
        match id.split_once('.') {
            Some((geo, rest)) if self.is_geography(geo) => rest,
            _ => id,
        }
    }
}

/// The geography prefix the CLI derives from a region: `us.` for `us-*`,
/// `eu.` for `eu-*`, `apac.` for `ap-*` (startup discovery may find a
/// better one, such as `jp.` in Tokyo).
pub(crate) fn geography_for(region: &str) -> &'static str {
    if region.starts_with("eu-") {
        "eu"
    } else if region.starts_with("ap-") {
        "apac"
    } else {
        "us"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 2.1.328 profile's `[catalogue]`, as a catalogue file of its own
    /// (the form `BEDROCK_CLIENT_MODELS` reads).
    fn catalogue_text() -> String {
        let (_, text) = crate::profile::BUILT_IN[0];
        let mut profile: toml::Table = toml::from_str(text).unwrap();
        toml::to_string(&profile.remove("catalogue").unwrap()).unwrap()
    }

    fn catalogue() -> Catalogue {
        Catalogue::parse(&catalogue_text(), "test").unwrap()
    }

    #[test]
    fn the_catalogue_has_both_lineups_and_the_observed_chains() {
        let catalogue = catalogue();
        let cli = catalogue.lineup("cli").unwrap();
        assert_eq!(cli.turn, Family::Opus);
        let chain: Vec<_> = catalogue
            .older_than(&cli.opus)
            .iter()
            .map(|m| m.display.as_str())
            .collect();
        // client-behaviour.md: 5.5 → 5 → 4.8 → 4.7 → 4.6 → 4.5 → 4.1 → 4.
        assert_eq!(
            chain,
            [
                "Opus 5", "Opus 4.8", "Opus 4.7", "Opus 4.6", "Opus 4.5", "Opus 4.1", "Opus 4"
            ]
        );
        let sonnet: Vec<_> = catalogue
            .older_than(&cli.sonnet)
            .iter()
            .map(|m| m.display.as_str())
            .collect();
        assert_eq!(sonnet, ["Sonnet 4", "Sonnet 3.7", "Sonnet 3.5 v2"]);
        let seed = catalogue.lineup("seed").unwrap();
        assert_eq!(seed.turn, Family::Sonnet);
        assert_eq!(catalogue.model(&seed.opus).unwrap().display, "Opus 4.6");
    }

    #[test]
    fn ids_are_found_however_they_are_written() {
        let catalogue = catalogue();
        for id in [
            "claude-haiku-4-5-20251001",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "jp.anthropic.claude-haiku-4-5-20251001-v1:0",
            "anthropic.claude-haiku-4-5",
        ] {
            assert_eq!(
                catalogue.find(id).map(|m| m.display.as_str()),
                Some("Haiku 4.5"),
                "{id}"
            );
        }
        assert!(
            catalogue
                .find("arn:aws:bedrock:us-east-1:1:application-inference-profile/x")
                .is_none()
        );
        assert!(catalogue.find("us.anthropic.claude-nope").is_none());
    }

    #[test]
    fn a_bad_catalogue_names_what_is_wrong() {
        let e = Catalogue::parse("models = 3", "test.toml").unwrap_err();
        assert!(
            e.message()
                .starts_with("the model catalogue of test.toml is not valid:"),
            "{e}"
        );
        let text = catalogue_text();
        let broken = text.replace("opus = \"claude-opus-5-5\"", "opus = \"claude-sonnet-4-6\"");
        let e = Catalogue::parse(&broken, "test.toml").unwrap_err();
        assert!(e.message().contains("`lineups.cli.opus` names `claude-sonnet-4-6`, which is not one of the catalogue's Opus models"), "{e}");
        let broken = text.replacen("shape = \"budget\"", "shape = \"nope\"", 1);
        assert!(
            Catalogue::parse(&broken, "t")
                .unwrap_err()
                .message()
                .contains("no [shapes.nope] table")
        );
        let broken = text.replace("suggest = \"claude-opus-5\"", "suggest = \"claude-opus-9\"");
        assert!(
            Catalogue::parse(&broken, "t")
                .unwrap_err()
                .message()
                .contains("`models.suggest` of `claude-opus-5-5` names `claude-opus-9`")
        );
        let broken = text.replace("bedrock = \"April 28, 2026\"", "bedrock = \"2026-04-28\"");
        assert!(
            Catalogue::parse(&broken, "t")
                .unwrap_err()
                .message()
                .contains("write the date as `April 28, 2026`")
        );
        let broken = text.replacen("geographies = [", "geographies = [] # [", 1);
        assert!(
            Catalogue::parse(&broken, "t")
                .unwrap_err()
                .message()
                .contains("`geographies` is empty")
        );
    }

    #[test]
    fn a_retirement_has_passed_from_the_start_of_its_day() {
        let catalogue = catalogue();
        let sonnet4 = catalogue.model("claude-sonnet-4-20250514").unwrap();
        let retirement = sonnet4.retirement.as_ref().unwrap();
        // 2026-10-14T00:00:00Z is 1_791_936_000 s after the epoch.
        let day = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_791_936_000);
        assert!(!retirement.has_passed(day - std::time::Duration::from_secs(1)));
        assert!(retirement.has_passed(day));
    }

    #[test]
    fn geographies_follow_the_region() {
        assert_eq!(geography_for("us-west-2"), "us");
        assert_eq!(geography_for("eu-central-1"), "eu");
        assert_eq!(geography_for("ap-northeast-1"), "apac");
        let catalogue = catalogue();
        assert_eq!(
            catalogue.strip_geography("global.anthropic.claude-opus-5-5"),
            "anthropic.claude-opus-5-5"
        );
        assert_eq!(
            catalogue.strip_geography("anthropic.claude-opus-5-5"),
            "anthropic.claude-opus-5-5"
        );
    }
}
