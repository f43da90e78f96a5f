//! The model catalogue: which Claude versions exist, in which family and
//! order, under which Bedrock and Mantle ids, and the request shape the
//! real CLI sends each. Data, not code (`client/data/models.toml`,
//! compiled in; `BEDROCK_CLIENT_MODELS` names another file), so a new
//! release is a data change and both the seed's lineup and the real CLI's
//! can be expressed.
//!
//! Pure functions of it and the configuration: how a choice resolves to an
//! id and endpoint ([`Resolver`]), and the ladders a refused turn moves
//! down (`ladder`). Nothing here sends a request: the startup checks that
//! probe the catalogue's models run in a
//! [`Session`](crate::session::Session).

pub(crate) mod ladder;
mod resolve;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::calendar::parse_date;
use crate::error::{Error, ErrorKind};

pub use resolve::{Resolved, Resolver, Source};

/// The catalogue built into the client.
pub(crate) const BUILT_IN: &str = include_str!("../../data/models.toml");

/// A model family, which is also a tier Claude Code pins and probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
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
pub enum ThinkingKind {
    /// `{"type":"adaptive"}`.
    Adaptive,
    /// `{"type":"enabled","budget_tokens": max_tokens - 1}`.
    Budget,
}

/// How a model's requests are shaped: thinking and betas.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
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
pub struct Retirement {
    /// The name the warning uses (`Claude 3.7 Sonnet`).
    pub name: String,
    /// The date, written as the warning writes it (`April 28, 2026`).
    pub bedrock: String,
}

impl Retirement {
    /// The CLI's warning, in the past tense once the date has passed at
    /// `now`: `⚠ Claude 3.7 Sonnet was retired on April 28, 2026.
    /// Consider switching to a newer model.`
    pub fn warning(&self, now: std::time::SystemTime) -> String {
        let past = parse_date(&self.bedrock).is_some_and(|day| day <= now);
        let tense = if past {
            "was retired on"
        } else {
            "will be retired on"
        };
        format!(
            "\u{26a0} {} {tense} {}. Consider switching to a newer model.",
            self.name, self.bedrock
        )
    }
}

fn yes() -> bool {
    true
}

/// The whole catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Lineups by name (`cli`, `seed`).
    pub lineups: BTreeMap<String, Lineup>,
    /// Shapes by name.
    pub shapes: BTreeMap<String, Shape>,
    /// Every version, each family newest first.
    pub models: Vec<Model>,
}

impl Catalogue {
    /// The built-in catalogue.
    ///
    /// ```
    /// use bedrock_client::catalogue::{Catalogue, Family};
    ///
    /// let catalogue = Catalogue::built_in();
    /// let opus = catalogue.lineup("cli").unwrap().default_for(Family::Opus);
    /// assert_eq!(catalogue.model(opus).unwrap().display, "Opus 5.5");
    /// ```
    pub fn built_in() -> Self {
        Self::parse(BUILT_IN, "the built-in catalogue").expect("the built-in catalogue is valid")
    }

    /// The catalogue in `path`.
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
                format!("the model catalogue {origin} is not valid: {e}"),
            )
        })?;
        catalogue.check(origin)?;
        Ok(catalogue)
    }

    fn check(&self, origin: &str) -> Result<(), Error> {
        let invalid = |why: String| {
            Error::new(
                ErrorKind::Settings,
                format!("the model catalogue {origin} is not valid: {why}"),
            )
        };
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
        let base = strip_geography(id);
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
}

/// The geography prefixes of cross-region inference profiles.
pub use crate::imitated::GEOGRAPHIES;

/// `id` without a geography prefix (`us.anthropic.x` → `anthropic.x`).
pub(crate) fn strip_geography(id: &str) -> &str {
    match id.split_once('.') {
        Some((geo, rest)) if GEOGRAPHIES.contains(&geo) => rest,
        _ => id,
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

    #[test]
    fn the_built_in_catalogue_has_both_lineups_and_the_observed_chains() {
        let catalogue = Catalogue::built_in();
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
        let catalogue = Catalogue::built_in();
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
                .starts_with("the model catalogue test.toml is not valid:"),
            "{e}"
        );
        let broken = BUILT_IN.replace("opus = \"claude-opus-5-5\"", "opus = \"claude-sonnet-4-6\"");
        let e = Catalogue::parse(&broken, "test.toml").unwrap_err();
        assert!(e.message().contains("`lineups.cli.opus` names `claude-sonnet-4-6`, which is not one of the catalogue's Opus models"), "{e}");
        let broken = BUILT_IN.replacen("shape = \"budget\"", "shape = \"nope\"", 1);
        assert!(
            Catalogue::parse(&broken, "t")
                .unwrap_err()
                .message()
                .contains("no [shapes.nope] table")
        );
        let broken = BUILT_IN.replace("suggest = \"claude-opus-5\"", "suggest = \"claude-opus-9\"");
        assert!(
            Catalogue::parse(&broken, "t")
                .unwrap_err()
                .message()
                .contains("`models.suggest` of `claude-opus-5-5` names `claude-opus-9`")
        );
        let broken = BUILT_IN.replace("bedrock = \"April 28, 2026\"", "bedrock = \"2026-04-28\"");
        assert!(
            Catalogue::parse(&broken, "t")
                .unwrap_err()
                .message()
                .contains("write the date as `April 28, 2026`")
        );
    }

    #[test]
    fn a_retirement_is_told_in_the_right_tense() {
        let catalogue = Catalogue::built_in();
        let sonnet4 = catalogue.model("claude-sonnet-4-20250514").unwrap();
        let retirement = sonnet4.retirement.as_ref().unwrap();
        // 2026-10-14T00:00:00Z is 1_791_936_000 s after the epoch.
        let day = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_791_936_000);
        assert_eq!(
            retirement.warning(day - std::time::Duration::from_secs(1)),
            "\u{26a0} Claude Sonnet 4 will be retired on October 14, 2026. Consider switching to a newer model."
        );
        // conformance/golden/claude-code/retired-model-warning.
        assert_eq!(
            retirement.warning(day),
            "\u{26a0} Claude Sonnet 4 was retired on October 14, 2026. Consider switching to a newer model."
        );
    }

    #[test]
    fn geographies_follow_the_region() {
        assert_eq!(geography_for("us-west-2"), "us");
        assert_eq!(geography_for("eu-central-1"), "eu");
        assert_eq!(geography_for("ap-northeast-1"), "apac");
        assert_eq!(
            strip_geography("global.anthropic.claude-opus-5-5"),
            "anthropic.claude-opus-5-5"
        );
        assert_eq!(
            strip_geography("anthropic.claude-opus-5-5"),
            "anthropic.claude-opus-5-5"
        );
    }
}
