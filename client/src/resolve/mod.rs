//! Which model a turn or tier uses, as Claude Code resolves it: `--model`,
//! then `ANTHROPIC_MODEL`, then the settings' `model`, then the lineup's
//! turn tier; aliases (`opus`, `sonnet`, `haiku`) go through the tier pins
//! (`ANTHROPIC_DEFAULT_*_MODEL`), `modelOverrides` maps version names to
//! ids or ARNs, `availableModels` restricts what may be chosen, and
//! `[1m]` is split off into its beta (refused for models without a 1M
//! context). Pure functions of the configuration, the catalogue and what
//! startup discovery found; and the ladders a refused turn moves down
//! (`ladder`). Nothing here sends a request: the startup checks that probe
//! the catalogue's models run in a [`Session`](crate::session::Session).

pub(crate) mod ladder;

use crate::catalogue::{Catalogue, Family, Lineup, Model, geography_for};
use crate::config::Config;
use crate::endpoint::{Endpoint, endpoint_for, is_mantle_id, split_context_suffix};
use crate::error::{Error, ErrorKind};

/// Where a choice came from, for `models` and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// `--model`.
    Flag,
    /// `ANTHROPIC_MODEL` or the settings' `model`.
    Setting,
    /// A tier's pin (`ANTHROPIC_DEFAULT_OPUS_MODEL`, …).
    Pin(Family),
    /// `modelOverrides` for this version name.
    Override(String),
    /// The lineup's default for a tier.
    Default(Family),
}

/// A resolved model.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolved {
    /// The id that goes on the wire: the path's on Invoke, `model` on
    /// Mantle (no `[1m]`).
    pub id: String,
    /// The endpoint it goes to.
    pub endpoint: Endpoint,
    /// The catalogue's version, when the id is one it knows.
    pub model: Option<Model>,
    /// The tier it belongs to, when known.
    pub family: Option<Family>,
    /// Whether `[1m]` asked for the 1M-token context.
    pub one_million: bool,
    /// Where the choice came from.
    pub source: Source,
}

impl Resolved {
    /// Whether the id is an application inference profile ARN (never
    /// nagged about, resolved by `GetInferenceProfile`).
    pub fn is_arn(&self) -> bool {
        self.id.starts_with("arn:")
    }
}

/// Resolves models for one configuration.
#[derive(Debug, Clone)]
pub struct Resolver<'a> {
    config: &'a Config,
    catalogue: &'a Catalogue,
    lineup: &'a Lineup,
    /// Profile ids `ListInferenceProfiles` returned, if it answered.
    discovered: Option<&'a [String]>,
}

impl<'a> Resolver<'a> {
    /// A resolver over `catalogue`'s `lineup`, with the profile ids startup
    /// discovery found (`None` when it did not run or failed).
    pub fn new(
        config: &'a Config,
        catalogue: &'a Catalogue,
        lineup: &'a Lineup,
        discovered: Option<&'a [String]>,
    ) -> Self {
        Self {
            config,
            catalogue,
            lineup,
            discovered,
        }
    }

    /// The Bedrock id of `model` in its region: the profile discovery found
    /// for the region's geography, else any other regional profile of the
    /// model it found (Tokyo's `jp.`), else a discovered `global.` one,
    /// else the geography the region implies.
    pub fn bedrock_id(&self, model: &Model) -> String {
        // The main region's geography for every model, the Haiku class too:
        // with ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION in another geography,
        // the CLI 2.1.328 and 2.1.332 still send Haiku the main region's
        // prefix (`us.` to ap-southeast-2, refused as an invalid id;
        // `models/small-fast-region-other-geography`).
        let geography = geography_for(&self.config.region);
        let wanted = format!("{geography}.{}", model.bedrock);
        if let Some(discovered) = self.discovered {
            if discovered.contains(&wanted) {
                return wanted;
            }
            let suffix = format!(".{}", model.bedrock);
            let of_model = || discovered.iter().filter(|id| id.ends_with(&suffix));
            if let Some(found) = of_model()
                .find(|id| !id.starts_with("global."))
                .or_else(|| of_model().next())
            {
                return found.clone();
            }
        }
        wanted
    }

    /// Whether a tier is pinned (and so not probed).
    pub fn pinned(&self, family: Family) -> Option<&'a str> {
        let models = &self.config.models;
        match family {
            Family::Opus => models.opus.as_deref(),
            Family::Sonnet => models.sonnet.as_deref(),
            Family::Haiku => models.haiku.as_deref(),
        }
    }

    /// The model a tier uses: its pin, else the lineup's default through
    /// `modelOverrides`, else the default's own id for the endpoint the
    /// session uses (Mantle's id when only Mantle is on).
    pub fn tier(&self, family: Family) -> Result<Resolved, Error> {
        if let Some(pin) = self.pinned(family) {
            // A pin is resolved like any choice: a version name goes
            // through the catalogue, `[1m]` is checked.
            let (id, one_million) = split_context_suffix(pin.trim());
            let mut resolved = match self.catalogue.model(id) {
                Some(model) => self.version_sized(model, one_million, Source::Pin(family))?,
                None => self.finish(id, one_million, Source::Pin(family))?,
            };
            // An id the catalogue does not know still fills its tier's
            // slot: the Haiku-class pin's probe goes to the small/fast
            // region whatever it names (found by the routing property).
            resolved.family.get_or_insert(family);
            self.check_one_million(&resolved, pin)?;
            return Ok(resolved);
        }
        let default = self
            .catalogue
            .model(self.lineup.default_for(family))
            .expect("lineups are checked against the catalogue");
        self.version(default, Source::Default(family))
    }

    /// The default version of `family` written as the session would send
    /// it (no pin, no override): what the startup checks compare with.
    pub fn default_version(&self, family: Family) -> &'a Model {
        self.catalogue
            .model(self.lineup.default_for(family))
            .expect("lineups are checked against the catalogue")
    }

    /// `model` (a catalogue version) as the session sends it, with the
    /// standard context window: through `modelOverrides`, else its Mantle
    /// id when only Mantle is on, else its Bedrock profile id.
    pub fn version(&self, model: &Model, source: Source) -> Result<Resolved, Error> {
        self.version_sized(model, false, source)
    }

    /// [`Resolver::version`], with the 1M-token context when `one_million`
    /// (a `[1m]` suffix asked for it).
    fn version_sized(
        &self,
        model: &Model,
        one_million: bool,
        source: Source,
    ) -> Result<Resolved, Error> {
        if let Some(mapped) = self.config.models.overrides.get(&model.name) {
            // An ARN says nothing of its model: the version it stands for
            // keeps its tier (the small/fast region of its probe, the
            // fallback).
            let mut resolved =
                self.finish(mapped, one_million, Source::Override(model.name.clone()))?;
            if resolved.model.is_none() {
                resolved.family = Some(model.family);
            }
            return Ok(resolved);
        }
        let providers = self.config.providers;
        let id = match (&model.mantle, providers.bedrock) {
            (Some(mantle), false) => mantle.clone(),
            _ => self.bedrock_id(model),
        };
        self.finish(&id, one_million, source)
    }

    /// The turn's model: `flag` (`--model`), else `ANTHROPIC_MODEL` or the
    /// settings' `model`, else the lineup's turn tier.
    ///
    /// ```
    /// use bedrock_client::config::{Config, Sources};
    /// use bedrock_client::resolve::Resolver;
    ///
    /// let config = Config::load(&Sources::new(
    ///     [("CLAUDE_CODE_USE_BEDROCK", "1"), ("AWS_REGION", "eu-west-1")]
    ///         .map(|(k, v)| (k.to_owned(), v.to_owned())).into(),
    /// )).unwrap();
    /// let catalogue = &config.cli.catalogue;
    /// let resolver = Resolver::new(&config, catalogue, catalogue.lineup("cli").unwrap(), None);
    /// assert_eq!(resolver.turn(Some("haiku")).unwrap().id, "eu.anthropic.claude-haiku-4-5-20251001-v1:0");
    /// ```
    pub fn turn(&self, flag: Option<&str>) -> Result<Resolved, Error> {
        let (choice, source) = match (flag, self.config.models.model.as_deref()) {
            (Some(flag), _) => (flag, Source::Flag),
            (None, Some(setting)) => (setting, Source::Setting),
            (None, None) => return self.tier(self.lineup.turn),
        };
        self.choose(choice, source)
    }

    /// [`Resolver::turn`], except that a choice `availableModels` does
    /// not allow is replaced by the lineup's default with a warning
    /// naming both, as Claude Code does at startup (only `/model` refuses
    /// outright).
    pub fn turn_allowed(&self, flag: Option<&str>) -> Result<(Resolved, Option<String>), Error> {
        let choice = flag.or(self.config.models.model.as_deref());
        if let Some(choice) = choice
            && self
                .check_available(split_context_suffix(choice.trim()).0)
                .is_err()
        {
            let default = self.tier(self.lineup.turn)?;
            let warning = format!(
                "Warning: {choice} is not in your availableModels setting; using {} instead",
                default.id
            );
            return Ok((default, Some(warning)));
        }
        Ok((self.turn(flag)?, None))
    }

    /// Resolves a model the user chose: an alias, a version name, an id,
    /// a Mantle id or an ARN, with or without `[1m]`.
    pub fn choose(&self, choice: &str, source: Source) -> Result<Resolved, Error> {
        let (id, one_million) = split_context_suffix(choice.trim());
        self.check_available(id)?;
        if let Some(family) = Family::from_alias(id) {
            let mut tier = self.tier(family)?;
            if one_million {
                tier.one_million = true;
                self.check_one_million(&tier, choice)?;
            }
            return Ok(tier);
        }
        if let Some(model) = self.catalogue.model(id) {
            return self
                .version_sized(model, one_million, source)
                .and_then(|r| {
                    self.check_one_million(&r, choice)?;
                    Ok(r)
                });
        }
        let resolved = self.finish(id, one_million, source)?;
        self.check_one_million(&resolved, choice)?;
        Ok(resolved)
    }

    fn finish(&self, id: &str, one_million: bool, source: Source) -> Result<Resolved, Error> {
        let endpoint = endpoint_for(id, self.config.providers)?;
        let model = self.catalogue.find(id).cloned();
        Ok(Resolved {
            id: id.to_owned(),
            endpoint,
            family: model.as_ref().map(|m| m.family),
            model,
            one_million,
            source,
        })
    }

    /// `availableModels`, when set, lists what may be chosen: aliases,
    /// version names, ids (`anthropic.` entries being Mantle ids).
    fn check_available(&self, id: &str) -> Result<(), Error> {
        let Some(available) = &self.config.models.available else {
            return Ok(());
        };
        let chosen = self.catalogue.find(id).map(|m| &m.name);
        let allowed = available.iter().any(|entry| {
            let entry = split_context_suffix(entry).0;
            entry == id
                || (chosen.is_some()
                    && !is_mantle_id(entry)
                    && self.catalogue.find(entry).map(|m| &m.name) == chosen)
        });
        if allowed {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InvalidVariable,
                format!(
                    "{id} is not one of the models your settings allow (availableModels: {}): choose one of them",
                    available.join(", ")
                ),
            ))
        }
    }

    fn check_one_million(&self, resolved: &Resolved, choice: &str) -> Result<(), Error> {
        match &resolved.model {
            Some(model) if resolved.one_million && !model.context_1m => Err(Error::new(
                ErrorKind::InvalidVariable,
                format!(
                    "{choice}: {} does not support the 1M-token context window; remove [1m], or choose a model that supports it ({})",
                    model.display,
                    self.catalogue
                        .models
                        .iter()
                        .filter(|m| m.context_1m)
                        .map(|m| m.display.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            _ => Ok(()),
        }
    }
}
