//! A tier's ladder: the models Claude Code moves a turn down when Bedrock
//! refuses one for good (2.1.328 and 2.1.332 alike). The CLI builds one at
//! startup for each tier it probes: the lineup's default, then every older
//! version of the family, newest first; the Opus ladder ends with the
//! Sonnet default, across tiers
//! (`conformance/golden/claude-code/<version>/model-access-403.json`).
//! Retired versions stay on it (`--model sonnet` walks down to 3.5
//! Sonnet). A pinned tier, or one the user named a model of, has none.

use super::{Resolved, Resolver, Source};
use crate::catalogue::{Catalogue, Family};
use crate::endpoint::Endpoint;

/// How far down a ladder goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reach {
    /// The tier's own versions: what the tier check after a refused turn
    /// probes.
    OwnTier,
    /// Then the next family's default (Opus → Sonnet): what a refused turn
    /// moves down.
    NextTier,
}

/// The rungs of `family`'s ladder, as the session sends each (through
/// `modelOverrides`, with the region's profile prefix): only Bedrock's,
/// as the CLI has no ladders on Mantle.
pub fn rungs(
    resolver: &Resolver<'_>,
    catalogue: &Catalogue,
    family: Family,
    reach: Reach,
) -> Vec<Resolved> {
    let default = resolver.default_version(family);
    let mut models = vec![(default, family)];
    models.extend(
        catalogue
            .older_than(&default.name)
            .into_iter()
            .map(|m| (m, family)),
    );
    if reach == Reach::NextTier
        && let Some(next) = family.next()
    {
        models.push((resolver.default_version(next), next));
    }
    models
        .into_iter()
        .filter_map(|(model, tier)| resolver.version(model, Source::Default(tier)).ok())
        .filter(|r| r.endpoint == Endpoint::Bedrock)
        .collect()
}

/// The rungs below `id` on `ladder`; none when `id` is not on it.
pub fn below(ladder: Vec<Resolved>, id: &str) -> Vec<Resolved> {
    match ladder.iter().position(|r| r.id == id) {
        Some(at) => ladder.into_iter().skip(at + 1).collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Sources};

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::load(&Sources {
            env: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Sources::default()
        })
        .unwrap()
    }

    fn ids(rungs: &[Resolved]) -> Vec<&str> {
        rungs.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn the_opus_ladder_is_the_clis() {
        let config = config(&[
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
            ("AWS_REGION", "us-east-1"),
        ]);
        let catalogue = crate::profile::load("2.1.328").unwrap().catalogue;
        let resolver = Resolver::new(&config, &catalogue, catalogue.lineup("cli").unwrap(), None);
        // golden/claude-code/2.1.328/model-access-403.json, in the order sent.
        assert_eq!(
            ids(&rungs(&resolver, &catalogue, Family::Opus, Reach::NextTier)),
            [
                "us.anthropic.claude-opus-5-5",
                "us.anthropic.claude-opus-5",
                "us.anthropic.claude-opus-4-8",
                "us.anthropic.claude-opus-4-7",
                "us.anthropic.claude-opus-4-6-v1",
                "us.anthropic.claude-opus-4-5-20251101-v1:0",
                "us.anthropic.claude-opus-4-1-20250805-v1:0",
                "us.anthropic.claude-opus-4-20250514-v1:0",
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ]
        );
        // `--model sonnet` with every turn refused (recorded by hand).
        let sonnet = rungs(&resolver, &catalogue, Family::Sonnet, Reach::NextTier);
        assert_eq!(
            ids(&below(
                sonnet,
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
            )),
            [
                "us.anthropic.claude-sonnet-4-20250514-v1:0",
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            ]
        );
        // `--model haiku` with every turn refused (haiku-alias-refused):
        // Haiku has no next family.
        let haiku = rungs(&resolver, &catalogue, Family::Haiku, Reach::NextTier);
        assert_eq!(
            ids(&below(haiku, "us.anthropic.claude-haiku-4-5-20251001-v1:0")),
            ["us.anthropic.claude-3-5-haiku-20241022-v1:0"]
        );
        // An id not on the ladder has nothing below it.
        let opus = rungs(&resolver, &catalogue, Family::Opus, Reach::NextTier);
        assert!(below(opus.clone(), "eu.anthropic.claude-opus-5-5").is_empty());
        // The tier check's ladder stays in its tier.
        let own = rungs(&resolver, &catalogue, Family::Opus, Reach::OwnTier);
        assert_eq!(own.len() + 1, opus.len());
        assert_eq!(
            own.last().unwrap().id,
            "us.anthropic.claude-opus-4-20250514-v1:0"
        );
    }

    #[test]
    fn mantle_has_no_ladder() {
        let catalogue = crate::profile::load("2.1.328").unwrap().catalogue;
        let lineup = catalogue.lineup("cli").unwrap();
        let mantle = config(&[("CLAUDE_CODE_USE_MANTLE", "1"), ("AWS_REGION", "us-east-1")]);
        let resolver = Resolver::new(&mantle, &catalogue, lineup, None);
        assert!(rungs(&resolver, &catalogue, Family::Opus, Reach::NextTier).is_empty());
    }
}
