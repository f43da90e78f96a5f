//! A session as `claude -p` runs one: resolve the turn's model, run the
//! startup checks (and take their fallback), learn an application
//! profile's backing model, then send the turn shaped for that model.
//!
//! An application inference profile whose `GetInferenceProfile` is
//! refused (403, only noted) gets a guessed shape; if the model rejects
//! it (400), the turn is sent once more with the other shape.

use crate::authorize::Endpoint;
use crate::clock::Clock;
use crate::credentials::CredentialSource;
use crate::error::{Error, ErrorKind};
use crate::models::startup::{self, Startup};
use crate::models::{Catalogue, Lineup, Model, Resolved, Resolver, Source, turn_request};
use crate::provider::{Call, Provider, Route};
use crate::retrying::AttemptError;
use crate::stream::Answer;
use crate::turn::{TurnError, prompt_request, run_turn_for};

/// The catalogue entry whose shape is guessed for an application profile
/// of unknown backing model, and the alternative tried once after a 400.
const GUESSED_SHAPE: &str = "claude-sonnet-4-6";
const ALTERNATE_SHAPE: &str = "claude-sonnet-4-5-20250929";

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
}

impl Session {
    /// Resolves the turn's model (`flag` is `--model`), runs the startup
    /// checks, and looks up an application profile's model.
    pub async fn start<S: CredentialSource, C: Clock>(
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
        if let Source::Default(family) = turn.source
            && let Some(checked) = startup.tier(family)
        {
            let one_million = turn.one_million;
            turn = checked.clone();
            // A fallback without the 1M context cannot take `[1m]`.
            let supported = turn.model.as_ref().is_none_or(|m| m.context_1m);
            turn.one_million = one_million && supported;
            if one_million && !supported {
                notices.push(format!(
                    "Warning: {} has no 1M-token context window; this session uses the standard one",
                    turn.model.as_ref().map_or(turn.id.as_str(), |m| m.display.as_str())
                ));
            }
        }
        let backing = if turn.is_arn() && turn.endpoint == Endpoint::Bedrock {
            describe_profile(provider, &catalogue, &turn.id).await
        } else {
            None
        };
        Ok(Self {
            catalogue,
            turn,
            backing,
            startup,
            notices,
        })
    }

    /// The model whose shape the turn takes: the catalogue's entry for the
    /// id, or the profile's backing model.
    pub fn shape_model(&self) -> Option<&Model> {
        self.turn.model.as_ref().or(self.backing.as_ref())
    }

    /// An older model to suggest after a refusal naming the model, in
    /// the turn's endpoint's format: a Mantle turn gets the older model's
    /// Mantle id, or nothing when it has none.
    pub fn suggestion(&self, config_resolver: &Resolver<'_>) -> Option<String> {
        let model = self.shape_model()?;
        let older = self.catalogue.previous(&model.name)?;
        match self.turn.endpoint {
            Endpoint::Bedrock => Some(config_resolver.bedrock_id(older)),
            Endpoint::Mantle => older.mantle.clone(),
        }
    }

    /// Sends `prompt` as the turn; text goes to `on_text` as it arrives.
    pub async fn run<S: CredentialSource, C: Clock>(
        &self,
        provider: &mut Provider<S, C>,
        prompt: &str,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Answer, TurnError> {
        let base = prompt_request(provider.config(), provider.identity(), prompt);
        let guessing = self.turn.is_arn() && self.backing.is_none();
        let shape = if guessing {
            self.catalogue.model(GUESSED_SHAPE)
        } else {
            self.shape_model()
        };
        let request = turn_request(
            base.clone(),
            &self.catalogue,
            shape,
            self.turn.endpoint,
            self.turn.one_million,
        );
        // The Haiku-class model's turn goes where its id was chosen for.
        let small_fast = self.turn.family == Some(crate::models::Family::Haiku);
        match run_turn_for(provider, &self.turn.id, small_fast, request, on_text).await {
            Err(TurnError::Refused(gave_up))
                if guessing && matches!(&gave_up.last, AttemptError::Api(f) if f.status == 400) =>
            {
                let other = self.catalogue.model(ALTERNATE_SHAPE);
                let request = turn_request(
                    base,
                    &self.catalogue,
                    other,
                    self.turn.endpoint,
                    self.turn.one_million,
                );
                run_turn_for(provider, &self.turn.id, small_fast, request, on_text).await
            }
            outcome => outcome,
        }
    }
}

/// `GetInferenceProfile` for `arn`: the catalogue model behind it. A
/// refusal is only noted (the CLI logs it and guesses).
async fn describe_profile<S: CredentialSource, C: Clock>(
    provider: &mut Provider<S, C>,
    catalogue: &Catalogue,
    arn: &str,
) -> Option<Model> {
    // `:` as %3A and `/` as %2F (golden/l_app_profile_arn seq 5).
    let encoded = arn.replace(':', "%3A").replace('/', "%2F");
    let call = Call {
        endpoint: Endpoint::Bedrock,
        route: Route::ControlPlane,
        small_fast: false,
        method: http::Method::GET,
        path_and_query: format!("/inference-profiles/{encoded}"),
        body: bytes::Bytes::new(),
        timeout: std::time::Duration::from_secs(10),
    };
    let response = provider.send(&call).await.ok()?;
    let body = response
        .bytes(1 << 20, std::time::Duration::from_secs(10))
        .await
        .ok()?;
    let json: serde_json::Value = serde_json::from_slice(&body).ok()?;
    json["models"].as_array()?.iter().find_map(|m| {
        let model_arn = m["modelArn"].as_str()?;
        let id = model_arn.rsplit('/').next()?;
        catalogue.find(id).cloned()
    })
}

/// The catalogue to use: `BEDROCK_CLIENT_MODELS` names a file, else the
/// built-in one.
pub fn load_catalogue(vars: &crate::config::Vars) -> Result<Catalogue, Error> {
    match vars.get("BEDROCK_CLIENT_MODELS") {
        Some(path) => Catalogue::from_file(std::path::Path::new(path)),
        None => Ok(Catalogue::built_in()),
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
