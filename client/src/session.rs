//! A session as `claude -p` runs one: resolve the turn's model, run the
//! startup checks (and take their fallback), learn an application
//! profile's backing model, then send the turn shaped for that model.
//!
//! A turn on a probed tier's model that Bedrock refuses for good moves
//! down the tier's ladder, as Claude Code does: a
//! [`ModelRefusal::Refused`] answer sends the turn to the next model at
//! once; a [`ModelRefusal::Denied`] one is sent again, and then the next
//! model is probed before the turn goes to it. Nothing is printed when a
//! lower model answers. When the ladder is spent and the last model
//! refused heads a tier, the models below it in that tier are probed one
//! by one until one answers (the CLI's tier check, which decides later
//! turns), and the run ends on the last refusal. Both skip the models the
//! startup probes found refused to the account. Where the profile says so
//! (2.1.332), a refusal the CLI cannot place ([`is_unplaced`]) moves down
//! too, once its resends are spent: the models below are probed one by one
//! and the turn goes to the first that answers.
//!
//! An application inference profile whose `GetInferenceProfile` is
//! refused (403, only noted) gets a guessed shape; if the model rejects
//! it (400), the turn is sent once more with the other shape.

use crate::authorize::ModelRegion;
use std::time::SystemTime;

use crate::catalogue::{Catalogue, Lineup, Model};
use crate::clock::TimeSource;
use crate::config::Config;
use crate::credentials::CredentialSource;
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind};
use crate::failure::{ModelRefusal, is_unplaced, model_refusal};
use crate::profile::Profile;
use crate::provider::{Call, Plane, Provider};
use crate::request::{Content, Dropped, Message, MessagesRequest, TextBlock, turn_request};
use crate::resolve::ladder::{self, Reach};
use crate::resolve::{Resolved, Resolver, Source};
use crate::retrying::AttemptError;
use crate::startup;
use crate::turn::{conversation_request, run_turn_sending};

pub use crate::startup::{Probe, Startup, TierCheck};
pub use crate::stream::{Completion, StreamFailure};
pub use crate::turn::TurnError;

/// A started session.
#[derive(Debug)]
pub struct Session {
    /// The catalogue in use.
    pub catalogue: Catalogue,
    /// The turn's model, after the startup checks.
    pub turn: Resolved,
    /// For an application profile ARN, the model behind it, if learnt.
    pub backing: Option<Model>,
    /// What the startup checks found.
    pub startup: Startup,
    /// Things worth telling the user on stderr (fallback notices).
    pub notices: Vec<String>,
    /// The models the turn moves down to if Bedrock refuses it for good,
    /// in order: the rest of its tier's ladder (none for a pinned or
    /// chosen model, or on Mantle).
    pub fallbacks: Vec<Resolved>,
    /// For each probed tier's model, the models below it on its ladder:
    /// what is probed when a turn ends refused on that model.
    tier_checks: Vec<(String, Vec<Resolved>)>,
    /// The conversation so far, unmarked: each turn's prompt and answer.
    /// A prompt whose turn failed stays, and the next prompt joins its
    /// message (conformance's `conversation-first-fails`).
    conversation: Vec<Message>,
    /// What earlier turns' resends took away, left out of later turns.
    dropped: Dropped,
    /// Whether turns ask for thinking display updates, as the CLI's do
    /// when it prints `stream-json` events.
    pub display_updates: bool,
}

impl Session {
    /// Resolves the turn's model (`flag` is `--model`), runs the startup
    /// checks, and looks up an application profile's model.
    pub async fn start<S: CredentialSource, C: TimeSource>(
        provider: &mut Provider<S, C>,
        catalogue: Catalogue,
        lineup: &Lineup,
        flag: Option<&str>,
    ) -> Result<Self, Error> {
        let config = provider.config().clone();
        let (before, _) = Resolver::new(&config, &catalogue, lineup, None).turn_allowed(flag)?;
        let startup = startup::run(provider, &catalogue, lineup, &before).await;
        let (mut turn, substituted) =
            Resolver::new(&config, &catalogue, lineup, startup.discovered.as_deref())
                .turn_allowed(flag)?;
        let mut notices: Vec<String> = substituted.into_iter().collect();
        notices.extend(startup.notices().map(str::to_owned));
        // The chosen model's retirement, as the CLI warns at startup (a
        // model the turn falls back to later gets no warning).
        if let Some(retirement) = turn.model.as_ref().and_then(|m| m.retirement.as_ref()) {
            let texts = &provider.config().cli.texts;
            notices.push(texts.retirement_warning_at(retirement, provider.clock().now()));
        }
        notices.extend(take_checked_tier(&mut turn, &startup));
        let backing = if turn.is_arn() && turn.endpoint == Endpoint::Bedrock {
            describe_profile(provider, &catalogue, &turn.id).await
        } else {
            None
        };
        let resolver = Resolver::new(&config, &catalogue, lineup, startup.discovered.as_deref());
        let fallbacks = match turn.source {
            Source::Default(family)
                if turn.endpoint == Endpoint::Bedrock && startup.tier(family).is_some() =>
            {
                let rungs = ladder::rungs(&resolver, &catalogue, family, Reach::NextTier);
                // The CLI skips the models its probes found refused
                // (`every-call-403`: the turn is sent once, on the default).
                ladder::below(rungs, &turn.id)
                    .into_iter()
                    .filter(|r| !startup.found_refused(&r.id))
                    .collect()
            }
            _ => Vec::new(),
        };
        let tier_checks = tier_checks(&resolver, &catalogue, &startup);
        Ok(Self {
            catalogue,
            turn,
            backing,
            startup,
            notices,
            fallbacks,
            tier_checks,
            conversation: Vec::new(),
            dropped: Dropped::default(),
            display_updates: false,
        })
    }

    /// The model whose shape the turn takes: the catalogue's entry for the
    /// id, or the profile's backing model.
    pub fn shape_model(&self) -> Option<&Model> {
        self.turn.model.as_ref().or(self.backing.as_ref())
    }

    /// The model to suggest after a 400 naming the turn's (the catalogue's
    /// `suggest`), in the turn's endpoint's format: a Mantle turn gets its
    /// Mantle id, or nothing when it has none. A version Bedrock has
    /// retired at `now` is suggested only where `cli`'s rules say so.
    pub fn suggestion(
        &self,
        config_resolver: &Resolver<'_>,
        cli: &Profile,
        now: SystemTime,
    ) -> Option<String> {
        let model = self.shape_model()?;
        let older = self.catalogue.model(model.suggest.as_deref()?)?;
        match self.turn.endpoint {
            Endpoint::Bedrock => {
                let retired = older.retirement.as_ref().is_some_and(|r| r.has_passed(now));
                (cli.rules.suggests_retired_models || !retired)
                    .then(|| config_resolver.bedrock_id(older))
            }
            Endpoint::Mantle => older.mantle.clone(),
        }
    }

    /// Sends `prompt` as the conversation's next turn, with its history;
    /// text goes to `on_text` as it arrives. A refusal of the model moves
    /// the turn down its ladder, and `turn` becomes the model that
    /// answered, or the last one refused. The answer joins the history.
    pub async fn run<S: CredentialSource, C: TimeSource>(
        &mut self,
        provider: &mut Provider<S, C>,
        prompt: &str,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Completion, TurnError> {
        self.add_prompt(prompt);
        let base = conversation_request(
            provider.config(),
            provider.identity(),
            self.conversation.clone(),
        );
        let outcome = self.run_with_fallbacks(provider, &base, on_text).await;
        if let Ok(answer) = &outcome {
            self.conversation
                .push(Message::assistant_block(answer.text.clone()));
        }
        outcome
    }

    /// Adds the user's `prompt` to the conversation: a message of its own,
    /// or, after a turn that failed, a block joining the unanswered
    /// prompt's message, whose last block gains a line break (as the CLI
    /// sends it).
    fn add_prompt(&mut self, prompt: &str) {
        if let Some(Message {
            role,
            content: Content::Blocks(blocks),
        }) = self.conversation.last_mut()
            && role == "user"
        {
            if let Some(last) = blocks.last_mut() {
                last.text.push('\n');
            }
            blocks.push(TextBlock::new(prompt));
            return;
        }
        self.conversation.push(Message::user_block(prompt));
    }

    /// Sends `base` on the turn's model, moving down its ladder where the
    /// CLI does.
    async fn run_with_fallbacks<S: CredentialSource, C: TimeSource>(
        &mut self,
        provider: &mut Provider<S, C>,
        base: &MessagesRequest,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Completion, TurnError> {
        // Bounded: each pass either ends the run or takes at least one
        // model off `fallbacks` (a denial is sent once more first).
        let mut sent_again = false;
        loop {
            let outcome = self.run_on_turn_model(provider, base, on_text).await;
            let moves_down = match self.verdict(provider.config(), &outcome) {
                None => false,
                Some(Verdict::Denied) if !sent_again => {
                    sent_again = true;
                    continue;
                }
                Some(Verdict::Denied) => self.after_denial(provider).await,
                Some(Verdict::Refused) if self.fallbacks.is_empty() => {
                    self.check_tier_below(provider).await;
                    false
                }
                Some(Verdict::Refused) => true,
                Some(Verdict::Unplaced) => self.after_unplaced_refusal(provider).await,
            };
            if !moves_down {
                return outcome;
            }
            let next = self.fallbacks.remove(0);
            let one_million = self.turn.one_million;
            self.turn = next;
            self.turn.one_million =
                one_million && self.turn.model.as_ref().is_some_and(|m| m.context_1m);
            sent_again = false;
        }
    }

    /// What the CLI makes of a turn's `outcome` on Bedrock, when it moves
    /// (or may move) the turn down its ladder.
    fn verdict(&self, config: &Config, outcome: &Result<Completion, TurnError>) -> Option<Verdict> {
        let Err(TurnError::Refused(gave_up)) = outcome else {
            return None;
        };
        let AttemptError::Api(failure) = &gave_up.last else {
            return None;
        };
        if self.turn.endpoint != Endpoint::Bedrock {
            return None;
        }
        match model_refusal(failure) {
            Some(ModelRefusal::Refused) => Some(Verdict::Refused),
            Some(ModelRefusal::Denied) => Some(Verdict::Denied),
            None if config.cli.rules.unplaced_refusal_moves_down
                && is_unplaced(failure)
                && !config.cli.requests.has_own_recovery(&failure.message) =>
            {
                Some(Verdict::Unplaced)
            }
            None => None,
        }
    }

    /// After a denial sent twice: the next model is probed, and the turn
    /// moves to it if it answers; a refusal of it starts the tier check.
    async fn after_denial<S: CredentialSource, C: TimeSource>(
        &self,
        provider: &mut Provider<S, C>,
    ) -> bool {
        let Some(next) = self.fallbacks.first() else {
            self.check_tier_below(provider).await;
            return false;
        };
        let answer = probe_one(provider, next).await;
        if answer == Probe::Available {
            return true;
        }
        if refuses_the_model(&answer) {
            self.check_tier_below(provider).await;
        }
        false
    }

    /// After a refusal the CLI cannot place (2.1.332): the models below are
    /// probed one by one; those that do not answer are dropped, and the
    /// turn moves to the first that does, if one does.
    async fn after_unplaced_refusal<S: CredentialSource, C: TimeSource>(
        &mut self,
        provider: &mut Provider<S, C>,
    ) -> bool {
        while let Some(next) = self.fallbacks.first() {
            if probe_one(provider, next).await == Probe::Available {
                return true;
            }
            self.fallbacks.remove(0);
        }
        false
    }

    /// The CLI's tier check after a turn ended refused on a tier's model:
    /// the models below it are probed one by one until one answers or one
    /// fails for another reason than a refusal of the model. Those the
    /// startup probes found refused are skipped, unprobed.
    async fn check_tier_below<S: CredentialSource, C: TimeSource>(
        &self,
        provider: &mut Provider<S, C>,
    ) {
        let Some((_, below)) = self
            .tier_checks
            .iter()
            .find(|(head, _)| *head == self.turn.id)
        else {
            return;
        };
        for model in below {
            if self.startup.found_refused(&model.id) {
                continue;
            }
            if !refuses_the_model(&probe_one(provider, model).await) {
                return;
            }
        }
    }

    /// One turn on `turn`, shaped for its model, less what earlier
    /// answered turns' resends dropped; what this turn's resends drop is
    /// remembered if it is answered.
    async fn run_on_turn_model<S: CredentialSource, C: TimeSource>(
        &mut self,
        provider: &mut Provider<S, C>,
        base: &MessagesRequest,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Completion, TurnError> {
        let guessing = self.turn.is_arn() && self.backing.is_none();
        let cli = std::sync::Arc::clone(&provider.config().cli);
        let shape = if guessing {
            self.catalogue.model(&cli.requests.guessed_shape).cloned()
        } else {
            self.shape_model().cloned()
        };
        // The turn is the main loop's, sent to AWS_REGION whatever its
        // model: only the startup probe of the Haiku tier goes to
        // ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION (the CLI 2.1.328 and
        // 2.1.332, `regions/rule-for-one-region`).
        let region = ModelRegion::Main;
        let outcome = self
            .send_shaped(provider, base, shape.as_ref(), region, on_text)
            .await;
        match outcome {
            Err(TurnError::Refused(gave_up))
                if guessing && matches!(&gave_up.last, AttemptError::Api(f) if f.status == 400) =>
            {
                let other = self.catalogue.model(&cli.requests.alternate_shape).cloned();
                self.send_shaped(provider, base, other.as_ref(), region, on_text)
                    .await
            }
            outcome => outcome,
        }
    }

    /// `base` shaped for `shape` (none: the default shape), sent to the
    /// turn's model.
    async fn send_shaped<S: CredentialSource, C: TimeSource>(
        &mut self,
        provider: &mut Provider<S, C>,
        base: &MessagesRequest,
        shape: Option<&Model>,
        region: ModelRegion,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Completion, TurnError> {
        let cli = std::sync::Arc::clone(&provider.config().cli);
        let mut request = turn_request(
            base.clone(),
            &self.catalogue,
            &cli.requests,
            shape,
            self.turn.endpoint,
            self.turn.one_million,
        );
        request.limit(&provider.config().turn_limits);
        if self.display_updates {
            request.ask_for_display_updates(&cli.requests.display_updates_beta);
        }
        self.dropped.apply(&mut request);
        let shaped = request.clone();
        let model = self.turn.id.clone();
        let outcome = run_turn_sending(provider, &model, region, &mut request, on_text).await;
        // What an answered request lacked is left out from then on; a
        // refused one teaches nothing (the next model of the ladder starts
        // whole: conformance's 2.1.332 turn-400-malformed).
        if outcome.is_ok() {
            self.dropped.add(Dropped::between(&shaped, &request));
        }
        outcome
    }
}

/// What a turn's refusal means for the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// [`ModelRefusal::Refused`]: the next model at once.
    Refused,
    /// [`ModelRefusal::Denied`]: sent again, then the next model probed.
    Denied,
    /// [`is_unplaced`], where the profile moves it down.
    Unplaced,
}

/// A turn on a tier's default takes the model the startup checks chose
/// for the tier. A fallback without the 1M context cannot take `[1m]`:
/// the notice that says so.
fn take_checked_tier(turn: &mut Resolved, startup: &Startup) -> Option<String> {
    let Source::Default(family) = turn.source else {
        return None;
    };
    let checked = startup.tier(family)?;
    let one_million = turn.one_million;
    *turn = checked.clone();
    let supported = turn.model.as_ref().is_none_or(|m| m.context_1m);
    turn.one_million = one_million && supported;
    (one_million && !supported).then(|| {
        format!(
            "Warning: {} has no 1M-token context window; this session uses the standard one",
            turn.model
                .as_ref()
                .map_or(turn.id.as_str(), |m| m.display.as_str())
        )
    })
}

/// For each probed tier's model, the models below it on its own tier's
/// ladder (none listed for a model with none below it).
fn tier_checks(
    resolver: &Resolver<'_>,
    catalogue: &Catalogue,
    startup: &Startup,
) -> Vec<(String, Vec<Resolved>)> {
    startup
        .tiers
        .iter()
        .map(|tier| {
            let rungs = ladder::rungs(resolver, catalogue, tier.family, Reach::OwnTier);
            (tier.model.id.clone(), ladder::below(rungs, &tier.model.id))
        })
        .filter(|(_, below)| !below.is_empty())
        .collect()
}

/// One `max_tokens: 1` probe of `model`.
async fn probe_one<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    model: &Resolved,
) -> Probe {
    let mut answers = startup::probe(provider, std::slice::from_ref(model)).await;
    answers.pop().expect("one answer per probe")
}

/// Whether a probe's answer says the account may not use the model (a
/// 404, or a refusal the CLI calls one of the model), not that it could
/// not tell.
fn refuses_the_model(answer: &Probe) -> bool {
    match answer {
        Probe::NotFound => true,
        Probe::Refused(failure) => model_refusal(failure).is_some(),
        Probe::Available | Probe::Failed(_) => false,
    }
}

/// `GetInferenceProfile` for `arn`: the catalogue model behind it. A
/// refusal is only noted (the CLI logs it and guesses).
async fn describe_profile<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    catalogue: &Catalogue,
    arn: &str,
) -> Option<Model> {
    // `:` as %3A and `/` as %2F (golden/l_app_profile_arn seq 5).
    let encoded = arn.replace(':', "%3A").replace('/', "%2F");
    let time_limit = provider.config().cli.time_limits.profile_lookup;
    let call = Call {
        endpoint: Endpoint::Bedrock,
        plane: Plane::Control,
        region: ModelRegion::Main,
        method: http::Method::GET,
        path_and_query: format!("/inference-profiles/{encoded}"),
        body: bytes::Bytes::new(),
        timeout: time_limit,
    };
    let response = provider.send(&call).await.ok()?;
    let body = response.bytes(1 << 20, time_limit).await.ok()?;
    let json: serde_json::Value = serde_json::from_slice(&body).ok()?;
    json["models"].as_array()?.iter().find_map(|m| {
        let model_arn = m["modelArn"].as_str()?;
        let id = model_arn.rsplit('/').next()?;
        catalogue.find(id).cloned()
    })
}

/// The catalogue to use: `BEDROCK_CLIENT_MODELS` names a file, else the
/// profile's (the CLI version's own).
pub fn load_catalogue(config: &Config) -> Result<Catalogue, Error> {
    match config.vars.get("BEDROCK_CLIENT_MODELS") {
        Some(path) => Catalogue::from_file(std::path::Path::new(path)),
        None => Ok(config.cli.catalogue.clone()),
    }
}

/// The lineup named `name` (`cli` unless `BEDROCK_CLIENT_LINEUP` or the
/// flag says otherwise).
pub fn lineup<'c>(catalogue: &'c Catalogue, name: &str) -> Result<&'c Lineup, Error> {
    catalogue.lineup(name).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidVariable,
            format!(
                "there is no lineup `{name}` in the model catalogue: use one of {}",
                catalogue
                    .lineups
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::config::Sources;

    /// A session whose turn went to Sonnet 4.5's base id (conformance's
    /// on-demand-400), as `version`.
    fn on_sonnet_4_5(version: &str) -> (Config, Session) {
        let env = [
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
            ("AWS_REGION", "us-east-1"),
            ("BEDROCK_CLIENT_CLI_VERSION", version),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        let config = Config::load(&Sources {
            env,
            ..Sources::default()
        })
        .unwrap();
        let catalogue = config.cli.catalogue.clone();
        let lineup = catalogue.lineup("cli").unwrap();
        let resolver = Resolver::new(&config, &catalogue, lineup, None);
        let turn = resolver
            .turn(Some("anthropic.claude-sonnet-4-5-20250929-v1:0"))
            .unwrap();
        let session = Session {
            catalogue,
            turn,
            backing: None,
            startup: Startup::default(),
            notices: Vec::new(),
            fallbacks: Vec::new(),
            tier_checks: Vec::new(),
            conversation: Vec::new(),
            dropped: Dropped::default(),
            display_updates: false,
        };
        (config, session)
    }

    #[test]
    fn a_retired_model_is_suggested_as_2_1_328_does_and_not_as_2_1_332_does() {
        // Sonnet 4, the suggestion, retired on Bedrock on 2026-10-14
        // (1_791_936_000 s after the epoch).
        let retired = UNIX_EPOCH + Duration::from_secs(1_791_936_000);
        let before = retired - Duration::from_secs(1);
        let sonnet_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0";
        for (version, after_retirement) in [("2.1.328", Some(sonnet_4)), ("2.1.332", None)] {
            let (config, session) = on_sonnet_4_5(version);
            let lineup = session.catalogue.lineup("cli").unwrap();
            let resolver = Resolver::new(&config, &session.catalogue, lineup, None);
            let suggest = |now| session.suggestion(&resolver, &config.cli, now);
            assert_eq!(suggest(before).as_deref(), Some(sonnet_4), "{version}");
            assert_eq!(suggest(retired).as_deref(), after_retirement, "{version}");
        }
    }
}
