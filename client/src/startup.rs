//! The startup checks, as Claude Code runs them with Bedrock on (2.1.328
//! and 2.1.332 alike): `ListInferenceProfiles` (one page; a failure only
//! means the built-in ids are used), then one `max_tokens: 1` probe per
//! unpinned tier, all at once. A tier whose default fails for any reason
//! but a passing one (404, any 400 — the on-demand throughput one too —,
//! 403 `AccessDeniedException`, 424) gets its older versions probed at
//! once and uses the newest that answers. Opus, with none that answers,
//! probes the Sonnet default and takes it, with the CLI's notice (the
//! profile's words); where the profile says so (2.1.332), a Sonnet default
//! that does not answer is followed by Sonnet's older versions, at once,
//! the newest that answers taken. The choice lasts the session. A refusal that may pass
//! (408, 429, 5xx), refused credentials, or no answer keeps the default
//! and probes nothing more. (client-behaviour.md says these widen the
//! probing; the real CLI does not: conformance/DIFFERENCES.md.) The models
//! the probes found refused to the account are remembered for the
//! session: a refused turn's ladder and the tier check skip them. With
//! only Mantle on, the turn's model gets one probe on Mantle, unless
//! Mantle authentication is skipped (then nothing is probed).

use std::collections::{BTreeMap, BTreeSet};

use crate::authorize::ModelRegion;
use crate::catalogue::{Catalogue, Family, Lineup, Model};
use crate::clock::TimeSource;
use crate::config::Auth;
use crate::credentials::CredentialSource;
use crate::endpoint::{Endpoint, split_context_suffix};
use crate::error::Error;
use crate::failure::{ApiFailure, model_refusal, names_refused_credentials};
use crate::profile::Texts;
use crate::provider::{Call, Plane, Provider};
use crate::request::{MessagesRequest, TextBlock};
use crate::resolve::{Resolved, Resolver, Source};
use crate::retrying::AttemptError;

/// The system prompt of a probe.
const PROBE_SYSTEM: &str = "You are bedrock-client, checking that a model answers.";
/// The largest discovery answer read.
const MAX_DISCOVERY_BODY: usize = 4 << 20;

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The model answered.
    Available,
    /// 404: not offered in this account or region.
    NotFound,
    /// Another refusal.
    Refused(ApiFailure),
    /// No answer (a timeout, a connection error, no credentials).
    Failed(Error),
}

impl Probe {
    fn from_attempt(outcome: Result<crate::transport::Response, AttemptError>) -> Self {
        match outcome {
            Ok(_) => Probe::Available,
            Err(AttemptError::Api(failure)) if failure.status == 404 => Probe::NotFound,
            Err(AttemptError::Api(failure)) => Probe::Refused(failure),
            Err(AttemptError::Transport(e)) => Probe::Failed(e),
        }
    }

    /// Whether this answer to the default's probe moves the tier to an
    /// older version. The real CLI 2.1.328 moves on every failure but one
    /// that may pass: it keeps the default when no answer came, when the
    /// credentials were refused, and on 408, 429 and 5xx; a 404, any 400
    /// (the on-demand throughput one too), a 403 `AccessDeniedException`
    /// or a 424 moves it (conformance/DIFFERENCES.md; the CLI's probe
    /// verdicts, read in its JavaScript at "nothing learned about the
    /// model", and `on-demand-400-every-call`).
    fn moves_off_the_default(&self) -> bool {
        match self {
            Probe::NotFound => true,
            Probe::Refused(f) => {
                !names_refused_credentials(f)
                    && !matches!(f.status, 401 | 408 | 429)
                    && f.status < 500
            }
            Probe::Available | Probe::Failed(_) => false,
        }
    }

    /// Whether the CLI counts this answer as the model's: it answered, or
    /// it was throttled (429), which says the model is there.
    fn counts_as_answered(&self) -> bool {
        match self {
            Probe::Available => true,
            Probe::Refused(f) => f.status == 429,
            Probe::NotFound | Probe::Failed(_) => false,
        }
    }

    /// Whether this answer refuses the model to the account for good, which
    /// the CLI remembers: its `refused` verdict (a 403 model-access refusal
    /// or a 400 "The provided model identifier is invalid.") and its
    /// `denied` one (a policy's "is not authorized to perform:
    /// bedrock:InvokeModel…"). Both CLI versions keep either verdict in
    /// their check cache (`failedChecks`, read in their JavaScript), so a
    /// model a policy denies is probed once, as
    /// `regions/scp-region-lock-routes-out` shows with 2.1.328 and 2.1.332.
    fn refuses_for_good(&self) -> bool {
        matches!(self, Probe::Refused(f) if model_refusal(f).is_some())
    }

    /// One word for reports: `available`, `not found`, `HTTP 403`, …
    pub fn summary(&self) -> String {
        match self {
            Probe::Available => "available".to_owned(),
            Probe::NotFound => "not found (404)".to_owned(),
            Probe::Refused(f) => format!("refused: {} {}", f.status, f.message),
            Probe::Failed(e) => format!("no answer: {e}"),
        }
    }
}

/// One tier's check.
#[derive(Debug, Clone)]
pub struct TierCheck {
    /// The tier.
    pub family: Family,
    /// The model the session uses for it.
    pub model: Resolved,
    /// Every probe sent for it, in the order sent (id, result).
    pub probes: Vec<(String, Probe)>,
    /// The notice printed for it, if it fell back.
    pub notice: Option<String>,
    /// Whether `model` answered (or is the fallback that did).
    pub usable: bool,
}

/// What the startup checks found.
#[derive(Debug, Clone, Default)]
pub struct Startup {
    /// The profile ids `ListInferenceProfiles` returned; `None` when it
    /// was not called or failed.
    pub discovered: Option<Vec<String>>,
    /// Why discovery failed, if it did.
    pub discovery_error: Option<String>,
    /// The tiers that were checked (pinned tiers are not), in probe order.
    pub tiers: Vec<TierCheck>,
    /// The models whose last probe refused them to the account for good:
    /// a refused turn's ladder and the tier check skip them, as the CLI
    /// does (`every-call-403`).
    pub refused: BTreeSet<String>,
}

impl Startup {
    /// The notices to print on stderr, in tier order.
    pub fn notices(&self) -> impl Iterator<Item = &str> {
        self.tiers.iter().filter_map(|t| t.notice.as_deref())
    }

    /// Whether the probes found `id` refused to the account for good.
    pub fn found_refused(&self, id: &str) -> bool {
        self.refused.contains(id)
    }

    /// Notes what a probe of `id` found: a refusal for good is remembered,
    /// an answer forgets an earlier refusal.
    fn note(&mut self, id: &str, answer: &Probe) {
        if answer.refuses_for_good() {
            self.refused.insert(id.to_owned());
        } else if answer.counts_as_answered() {
            self.refused.remove(id);
        }
    }

    /// The model the session uses for `family`, when the checks changed or
    /// confirmed it.
    pub fn tier(&self, family: Family) -> Option<&Resolved> {
        self.tiers
            .iter()
            .find(|t| t.family == family)
            .map(|t| &t.model)
    }
}

/// Runs the checks. `turn` is the turn's model as resolved before them
/// (its tier, when it is an explicit model of one, is not probed). Four
/// phases: with Bedrock off, Mantle's one probe; else discovery, each
/// unpinned tier's default probed (and its older versions when it failed
/// for good), and last the tiers left with nothing that answers.
pub async fn run<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    catalogue: &Catalogue,
    lineup: &Lineup,
    turn: &Resolved,
) -> Startup {
    let config = provider.config().clone();
    if !config.providers.bedrock {
        return check_mantle_only(provider, turn).await;
    }
    let mut startup = Startup::default();
    match discover(provider).await {
        Ok(ids) => startup.discovered = Some(ids),
        Err(why) => startup.discovery_error = Some(why),
    }
    let discovered = startup.discovered.clone();
    let resolver = Resolver::new(&config, catalogue, lineup, discovered.as_deref());
    let unpinned = tiers_to_probe(&resolver, turn);
    let defaults = probe_defaults(provider, &resolver, &unpinned).await;
    for (default, answer) in defaults.values() {
        startup.note(&default.id, answer);
    }
    // Families with nothing of their own that answers, and what their
    // default's probe found, settled once every family's own checks are
    // done (Opus then checks the Sonnet default).
    let mut stranded = Vec::new();
    for family in unpinned {
        let Some((default, result)) = defaults.get(&family).cloned() else {
            continue;
        };
        let mut check = TierCheck {
            family,
            model: default.clone(),
            probes: vec![(default.id.clone(), result.clone())],
            notice: None,
            usable: result == Probe::Available,
        };
        // A throttled, failing or silent probe says nothing about the
        // model, and the CLI then probes nothing more
        // (conformance/DIFFERENCES.md).
        if result.moves_off_the_default() {
            let found = fall_back_to_older(provider, catalogue, &resolver, &mut check).await;
            for (id, answer) in &check.probes[1..] {
                startup.note(id, answer);
            }
            if !found {
                stranded.push((family, result));
            }
        }
        startup.tiers.push(check);
    }
    let models = Models {
        catalogue,
        resolver: &resolver,
    };
    for (family, default_answer) in stranded {
        fall_back_to_next_family(provider, &mut startup, &models, family, &default_answer).await;
    }
    startup
}

/// The checks with only Mantle on: the turn's model gets one probe on
/// Mantle, unless Mantle authentication is skipped.
async fn check_mantle_only<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    turn: &Resolved,
) -> Startup {
    let mut startup = Startup::default();
    if turn.endpoint == Endpoint::Mantle && provider.config().mantle_auth != Auth::Skipped {
        let probes = probe(provider, std::slice::from_ref(turn)).await;
        if let Some(family) = turn.family {
            startup.tiers.push(TierCheck {
                family,
                model: turn.clone(),
                usable: probes[0] == Probe::Available,
                probes: vec![(turn.id.clone(), probes[0].clone())],
                notice: None,
            });
        }
    }
    startup
}

/// The tiers whose defaults are probed: neither pinned nor the tier of a
/// model the user named.
fn tiers_to_probe(resolver: &Resolver<'_>, turn: &Resolved) -> Vec<Family> {
    // A model the user named on Bedrock (`ANTHROPIC_MODEL`, the settings'
    // `model`, `--model` with an id or version name) stands for its tier,
    // which is not probed (golden/k; conformance's `on-demand-400`, whose
    // `--model` is a Sonnet). One on Mantle does not (golden/o: all three
    // probed). An alias is the tier's own model, and is probed.
    let explicit_family = match (&turn.source, turn.endpoint) {
        (Source::Setting | Source::Flag, Endpoint::Bedrock) => turn.family,
        _ => None,
    };
    Family::ALL
        .into_iter()
        .filter(|f| resolver.pinned(*f).is_none() && Some(*f) != explicit_family)
        .collect()
}

/// Each of `families`' default (on Bedrock) probed, all at once: the
/// default and what its probe found, by family.
async fn probe_defaults<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    resolver: &Resolver<'_>,
    families: &[Family],
) -> BTreeMap<Family, (Resolved, Probe)> {
    let defaults: Vec<Resolved> = families
        .iter()
        .filter_map(|family| resolver.tier(*family).ok())
        .filter(|model| model.endpoint == Endpoint::Bedrock)
        .collect();
    let answers = probe(provider, &defaults).await;
    defaults
        .into_iter()
        .zip(answers)
        .filter_map(|(model, answer)| Some((model.family?, (model, answer))))
        .collect()
}

/// Probes the older versions of `check`'s family at once and moves the
/// tier to the newest that answers, with the CLI's notice; whether one
/// did.
async fn fall_back_to_older<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    catalogue: &Catalogue,
    resolver: &Resolver<'_>,
    check: &mut TierCheck,
) -> bool {
    let family = check.family;
    let wanted = resolver.default_version(family);
    let Some(fallback) =
        newest_older_that_answers(provider, catalogue, resolver, family, &mut check.probes).await
    else {
        return false;
    };
    let texts = &provider.config().cli.texts;
    check.notice = Some(Texts::fill(
        &texts.older_version_notice,
        &[
            ("tier", family.title()),
            ("wanted", &wanted.display),
            ("fallback", &display(&fallback)),
        ],
    ));
    check.model = fallback;
    check.usable = true;
    true
}

/// Probes the older versions of `family`'s default (on Bedrock) at once,
/// adds each answer to `probes`, and gives the newest that answered.
async fn newest_older_that_answers<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    catalogue: &Catalogue,
    resolver: &Resolver<'_>,
    family: Family,
    probes: &mut Vec<(String, Probe)>,
) -> Option<Resolved> {
    let wanted = resolver.default_version(family);
    let candidates: Vec<Resolved> = catalogue
        .older_than(&wanted.name)
        .iter()
        .filter_map(|m| resolver.version(m, Source::Default(family)).ok())
        .filter(|r| r.endpoint == Endpoint::Bedrock)
        .collect();
    let answers = probe(provider, &candidates).await;
    probes.extend(
        candidates
            .iter()
            .map(|c| c.id.clone())
            .zip(answers.iter().cloned()),
    );
    candidates
        .into_iter()
        .zip(&answers)
        .find(|(_, a)| a.counts_as_answered())
        .map(|(c, _)| c)
}

/// The session's models, which a tier left with nothing of its own that
/// answers moves among.
struct Models<'a> {
    catalogue: &'a Catalogue,
    resolver: &'a Resolver<'a>,
}

/// Moves `family`, which has nothing of its own that answers, to the next
/// family (Opus → Sonnet), as the CLI does: the next family's default
/// (Sonnet 4.5, whatever Sonnet's own tier chose) is probed again before
/// it is used (`opus-404-every-version`, `every-call-403`), unless its own
/// tier's probe answered and `default_answer` refused `family`'s default
/// for good (the CLI's memory of the answer then vouches for it). If it
/// answers, the notice (in `texts`' words) names it and the tier takes the
/// next family's model, its pin if it has one (the CLI 2.1.328 and 2.1.332
/// with Sonnet pinned to 4.6: "using Sonnet 4.5", the turn on Sonnet 4.6).
/// If it does not and the profile says so (2.1.332,
/// [`crate::profile::Rules::opus_falls_back_to_older_sonnets`]), the next
/// family's older versions are probed at once and the tier takes the
/// newest that answers, with the same notice naming it.
async fn fall_back_to_next_family<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    startup: &mut Startup,
    models: &Models<'_>,
    family: Family,
    default_answer: &Probe,
) {
    let resolver = models.resolver;
    let Some(next) = family.next() else { return };
    let Ok(next_model) = resolver.version(resolver.default_version(next), Source::Default(next))
    else {
        return;
    };
    if next_model.endpoint != Endpoint::Bedrock {
        return;
    }
    let answered_at_startup = startup
        .tiers
        .iter()
        .filter(|t| t.family == next)
        .flat_map(|t| &t.probes)
        .rfind(|(id, _)| *id == next_model.id)
        .is_some_and(|(_, answer)| answer.counts_as_answered());
    let vouched_for = answered_at_startup && default_answer.refuses_for_good();
    let mut probes = Vec::new();
    let chosen = next_family_model(
        provider,
        models,
        (next, next_model),
        vouched_for,
        &mut probes,
    )
    .await;
    for (id, answer) in &probes {
        startup.note(id, answer);
    }
    let wanted = resolver.default_version(family);
    let Some(check) = startup.tiers.iter_mut().find(|t| t.family == family) else {
        return;
    };
    check.probes.extend(probes);
    let Some((shown, model)) = chosen else { return };
    check.notice = Some(Texts::fill(
        &provider.config().cli.texts.next_family_notice,
        &[
            ("tier", family.title()),
            ("wanted", &wanted.display),
            ("fallback", &shown),
        ],
    ));
    check.model = model;
    check.usable = true;
}

/// The model family `next` gives a tier that has nothing of its own, with
/// the name the notice gives it: `next_model`, its default (its tier's pin
/// if it has one) if it answers, probed again unless `vouched_for`; else,
/// where the profile says so, the newest of its older versions that
/// answers. Each probe's answer goes to `probes`.
async fn next_family_model<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    models: &Models<'_>,
    (next, next_model): (Family, Resolved),
    vouched_for: bool,
    probes: &mut Vec<(String, Probe)>,
) -> Option<(String, Resolved)> {
    let answered = vouched_for || {
        let mut answers = probe(provider, std::slice::from_ref(&next_model)).await;
        let answer = answers.pop().expect("one answer per probe");
        let answered = answer.counts_as_answered();
        probes.push((next_model.id.clone(), answer));
        answered
    };
    if answered {
        return Some((
            display(&next_model),
            models.resolver.tier(next).unwrap_or(next_model),
        ));
    }
    if !provider.config().cli.rules.opus_falls_back_to_older_sonnets {
        return None;
    }
    newest_older_that_answers(provider, models.catalogue, models.resolver, next, probes)
        .await
        .map(|older| (display(&older), older))
}

fn display(resolved: &Resolved) -> String {
    resolved
        .model
        .as_ref()
        .map_or_else(|| resolved.id.clone(), |m| m.display.clone())
}

/// Probes `models` at once; results in their order.
pub(crate) async fn probe<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    models: &[Resolved],
) -> Vec<Probe> {
    if models.is_empty() {
        return Vec::new();
    }
    let identity = provider.identity().clone();
    let request = MessagesRequest::probe(
        vec![TextBlock::new(PROBE_SYSTEM)],
        identity.metadata_user_id(),
    );
    let timeout = provider.config().cli.time_limits.probe;
    let calls: Vec<Call<'static>> = models
        .iter()
        .map(|m| {
            let region = ModelRegion::of(m.family);
            Call::probe(m.endpoint, &m.id, region, &request, timeout)
        })
        .collect();
    provider
        .send_each_once(&calls)
        .await
        .into_iter()
        .map(Probe::from_attempt)
        .collect()
}

/// `ListInferenceProfiles` for system-defined profiles, one page: the
/// profile ids, or why there are none.
pub async fn discover<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
) -> Result<Vec<String>, String> {
    let time_limit = provider.config().cli.time_limits.discovery;
    let call = Call {
        endpoint: Endpoint::Bedrock,
        plane: Plane::Control,
        region: ModelRegion::Main,
        method: http::Method::GET,
        path_and_query: "/inference-profiles?type=SYSTEM_DEFINED".to_owned(),
        body: bytes::Bytes::new(),
        timeout: time_limit,
    };
    let response = provider
        .send(&call)
        .await
        .map_err(|gave_up| format!("ListInferenceProfiles failed: {:?}", gave_up.last))?;
    let body = response
        .bytes(MAX_DISCOVERY_BODY, time_limit)
        .await
        .map_err(|e| e.to_string())?;
    let json: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| format!("ListInferenceProfiles answered something that is not JSON: {e}"))?;
    Ok(json["inferenceProfileSummaries"]
        .as_array()
        .map(|profiles| {
            profiles
                .iter()
                .filter_map(|p| p["inferenceProfileId"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// A pinned tier that could move to the lineup's newer default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateOffer {
    /// The tier.
    pub family: Family,
    /// What the pin names now (`Opus 4.5`).
    pub pinned: String,
    /// The newer default's name (`Opus 5.5`).
    pub newer: String,
    /// The newer default's id, as it would be pinned.
    pub id: String,
}

impl UpdateOffer {
    /// The variable and value to write.
    pub fn pin(&self) -> (String, String) {
        (self.family.pin_variable().to_owned(), self.id.clone())
    }
}

/// The seed's update offer: for each tier pinned to a catalogue version
/// older than the lineup's default (never an application profile ARN),
/// the default is probed; one that answers is offered.
pub async fn update_offers<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    catalogue: &Catalogue,
    lineup: &Lineup,
    discovered: Option<&[String]>,
) -> Vec<UpdateOffer> {
    let config = provider.config().clone();
    let resolver = Resolver::new(&config, catalogue, lineup, discovered);
    let mut candidates = Vec::new();
    for family in Family::ALL {
        let Some(pin) = resolver.pinned(family) else {
            continue;
        };
        if pin.starts_with("arn:") {
            continue;
        }
        let (pin_id, one_million) = split_context_suffix(pin);
        let default = resolver.default_version(family);
        let Some(pinned) = catalogue.find(pin_id) else {
            continue;
        };
        let older = catalogue.older_than(&default.name);
        if pinned.family == family
            && older.iter().any(|m| m.name == pinned.name)
            && let Ok(mut newer) = resolver.version(default, Source::Default(family))
        {
            // Keep what the pin chose: its geography prefix, and `[1m]`
            // when the newer version has the 1M context.
            if let Some((geography, _)) = pin_id.split_once('.')
                && catalogue.is_geography(geography)
                && !newer.is_arn()
            {
                newer.id = format!("{geography}.{}", default.bedrock);
            }
            if one_million && default.context_1m {
                newer.id.push_str("[1m]");
            }
            candidates.push((
                family,
                pinned.display.clone(),
                default.display.clone(),
                newer,
            ));
        }
    }
    let models: Vec<Resolved> = candidates.iter().map(|c| c.3.clone()).collect();
    let answers = probe(provider, &models).await;
    candidates
        .into_iter()
        .zip(answers)
        .filter(|(_, answer)| *answer == Probe::Available)
        .map(|((family, pinned, newer, resolved), _)| UpdateOffer {
            family,
            pinned,
            newer,
            id: resolved.id,
        })
        .collect()
}

/// Every Bedrock version of the catalogue probed at once in this region:
/// what `setup` pins from. Results follow the catalogue's order.
pub async fn probe_catalogue<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    catalogue: &Catalogue,
    lineup: &Lineup,
    discovered: Option<&[String]>,
) -> Vec<(Model, Resolved, Probe)> {
    let config = provider.config().clone();
    let resolver = Resolver::new(&config, catalogue, lineup, discovered);
    let versions: Vec<(Model, Resolved)> = catalogue
        .models
        .iter()
        .filter_map(|m| {
            let resolved = resolver.version(m, Source::Default(m.family)).ok()?;
            Some((m.clone(), resolved))
        })
        .collect();
    let models: Vec<Resolved> = versions.iter().map(|(_, r)| r.clone()).collect();
    let answers = probe(provider, &models).await;
    versions
        .into_iter()
        .zip(answers)
        .map(|((model, resolved), answer)| (model, resolved, answer))
        .collect()
}
