//! Which model a request names, and whether this account may invoke it.
//!
//! A model id on the wire is one of: a base model id
//! (`anthropic.claude-opus-4-6-v1`), a system-defined inference profile id
//! (`us.anthropic.claude-opus-4-6-v1`), or an ARN of a foundation model,
//! an inference profile or an application inference profile. Resolution
//! answers what Bedrock answers: the backing model, or the exact error.

use crate::config::{ApplicationProfile, FoundationModel, ModelState, ServerConfig};
use crate::errors::{AwsError, ErrorCode};
use crate::geography::{GEOGRAPHIES, Geography};

/// What a model id resolved to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved<'c> {
    /// The foundation model that answers.
    pub model: &'c FoundationModel,
    /// How it was named.
    pub via: Via,
}

/// How a request named its model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Via {
    BaseModel,
    SystemProfile { id: String },
    ApplicationProfile { arn: String },
}

/// Resolves a decoded model id for `region`: a model the region does not
/// offer is no model there (users' reports: Sonnet 3.7 called in
/// eu-west-2, Nova Canvas in us-west-2, answered `The provided model
/// identifier is invalid.`).
pub(crate) fn resolve_offered<'c>(
    config: &'c ServerConfig,
    model_id: &str,
    region: &str,
) -> Result<Resolved<'c>, AwsError> {
    let resolved = resolve(config, model_id, region)?;
    if !config.offers_in(resolved.model, region) {
        return Err(AwsError::invalid_model_identifier());
    }
    Ok(resolved)
}

/// Whether the account may invoke the model as it was named: on-demand
/// for a base id, and its access granted.
pub(crate) fn check_access<'c>(
    config: &ServerConfig,
    model_id: &str,
    resolved: Resolved<'c>,
) -> Result<Resolved<'c>, AwsError> {
    if resolved.via == Via::BaseModel && !resolved.model.on_demand {
        return Err(AwsError::on_demand_not_supported(model_id));
    }
    match config.effective_state(&resolved.model.id, resolved.model.state) {
        ModelState::Enabled => Ok(resolved),
        ModelState::NotEnabled => Err(AwsError::access_denied_model()),
        ModelState::NotFound => Err(ErrorCode::ResourceNotFoundException.into()),
    }
}

pub(crate) fn resolve<'c>(
    config: &'c ServerConfig,
    model_id: &str,
    region: &str,
) -> Result<Resolved<'c>, AwsError> {
    let invalid = AwsError::invalid_model_identifier;
    if let Some(arn) = model_id.strip_prefix("arn:") {
        let parts: Vec<&str> = arn.splitn(5, ':').collect();
        let [partition, "bedrock", arn_region, account, resource] = parts[..] else {
            return Err(invalid());
        };
        if !partition.starts_with("aws") {
            return Err(invalid());
        }
        let (kind, id) = resource.split_once('/').ok_or_else(invalid)?;
        return match kind {
            "foundation-model" if account.is_empty() => Ok(Resolved {
                model: base_model(config, id).ok_or_else(invalid)?,
                via: Via::BaseModel,
            }),
            "inference-profile" if account == config.account_id && arn_region == region => {
                resolve_system_profile(config, id, region).ok_or_else(invalid)
            }
            "application-inference-profile"
                if account == config.account_id && arn_region == region =>
            {
                let profile = application_profile(config, id).ok_or_else(invalid)?;
                let backing =
                    resolve_backing(config, &profile.model, region).ok_or_else(invalid)?;
                Ok(Resolved {
                    model: backing.model,
                    via: Via::ApplicationProfile {
                        arn: model_id.to_owned(),
                    },
                })
            }
            _ => Err(invalid()),
        };
    }
    if let Some(resolved) = resolve_system_profile(config, model_id, region) {
        return Ok(resolved);
    }
    base_model(config, model_id)
        .map(|model| Resolved {
            model,
            via: Via::BaseModel,
        })
        .ok_or_else(invalid)
}

/// What an application profile copies from: a system profile or a base
/// model id, never another ARN, so profiles cannot form a loop.
fn resolve_backing<'c>(
    config: &'c ServerConfig,
    model: &str,
    region: &str,
) -> Option<Resolved<'c>> {
    resolve_system_profile(config, model, region).or_else(|| {
        base_model(config, model).map(|model| Resolved {
            model,
            via: Via::BaseModel,
        })
    })
}

fn resolve_system_profile<'c>(
    config: &'c ServerConfig,
    id: &str,
    region: &str,
) -> Option<Resolved<'c>> {
    let (prefix, base) = id.split_once('.')?;
    if !Geography::named(prefix)?.serves(region) {
        return None;
    }
    let model = base_model(config, base)?;
    model
        .profiles
        .iter()
        .any(|g| g == prefix)
        .then(|| Resolved {
            model,
            via: Via::SystemProfile { id: id.to_owned() },
        })
}

fn base_model<'c>(config: &'c ServerConfig, id: &str) -> Option<&'c FoundationModel> {
    config.models.iter().find(|m| m.id == id)
}

fn application_profile<'c>(config: &'c ServerConfig, id: &str) -> Option<&'c ApplicationProfile> {
    config.application_profiles.iter().find(|p| p.id == id)
}

/// The resources IAM authorizes an invoke against, in the order a
/// refusal names them: the profile called (an application profile, then
/// what it copies), then the foundation models it routes to. A global
/// profile's models have no region in their ARN
/// (`arn:aws:bedrock:::foundation-model/…`, as SCP refusals of global
/// profiles quote them: tinovyatkin/amazon-bedrock-copilot-chat#396).
pub(crate) fn resources(
    config: &ServerConfig,
    resolved: &Resolved<'_>,
    region: &str,
) -> Vec<String> {
    let model = &resolved.model.id;
    let mut out = Vec::new();
    let mut via = resolved.via.clone();
    if let Via::ApplicationProfile { arn } = &via {
        out.push(arn.clone());
        let backing = arn
            .rsplit_once('/')
            .and_then(|(_, id)| application_profile(config, id))
            .and_then(|p| resolve_backing(config, &p.model, region));
        via = backing.map_or(Via::BaseModel, |b| b.via);
    }
    match via {
        Via::SystemProfile { id } => {
            out.push(format!(
                "arn:aws:bedrock:{region}:{}:inference-profile/{id}",
                config.account_id
            ));
            let prefix = id.split('.').next().unwrap_or_default();
            match Geography::named(prefix) {
                Some(g) if g.callers_anywhere() => out.push(foundation_model_arn("", model)),
                Some(g) => out.extend(
                    g.destinations
                        .iter()
                        .map(|r| foundation_model_arn(r, model)),
                ),
                None => {}
            }
        }
        Via::BaseModel | Via::ApplicationProfile { .. } => {
            out.push(foundation_model_arn(region, model));
        }
    }
    out
}

/// An inference profile as the control plane describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProfileSummary {
    pub name: String,
    pub description: String,
    pub arn: String,
    pub id: String,
    pub model_arns: Vec<String>,
    pub application: bool,
}

/// Every system-defined profile callable from `region`.
pub(crate) fn system_profiles(config: &ServerConfig, region: &str) -> Vec<ProfileSummary> {
    let mut out = Vec::new();
    for geography in GEOGRAPHIES.iter().filter(|g| g.serves(region)) {
        let (geo, label, regions) = (geography.prefix, geography.label, geography.destinations);
        for model in config
            .models
            .iter()
            .filter(|m| m.profiles.iter().any(|g| g == geo) && config.offers_in(m, region))
        {
            if config.effective_state(&model.id, model.state) == ModelState::NotFound {
                continue;
            }
            let id = format!("{geo}.{}", model.id);
            out.push(ProfileSummary {
                name: format!("{label} Anthropic {}", model.name),
                description: format!(
                    "Routes requests to Anthropic {} in {}.",
                    model.name,
                    join_regions(regions)
                ),
                arn: format!(
                    "arn:aws:bedrock:{region}:{}:inference-profile/{id}",
                    config.account_id
                ),
                id,
                model_arns: regions
                    .iter()
                    .map(|r| foundation_model_arn(r, &model.id))
                    .collect(),
                application: false,
            });
        }
    }
    out
}

/// Every application profile of the account, as seen from `region`.
pub(crate) fn application_profiles(config: &ServerConfig, region: &str) -> Vec<ProfileSummary> {
    config
        .application_profiles
        .iter()
        .map(|p| {
            let model_arns = match resolve_backing(config, &p.model, region) {
                Some(Resolved {
                    model,
                    via: Via::SystemProfile { id },
                }) => {
                    let geo = id.split('.').next().unwrap_or_default();
                    let regions = Geography::named(geo).map_or(&[][..], |g| g.destinations);
                    regions
                        .iter()
                        .map(|r| foundation_model_arn(r, &model.id))
                        .collect()
                }
                Some(Resolved { model, .. }) => vec![foundation_model_arn(region, &model.id)],
                None => Vec::new(),
            };
            ProfileSummary {
                name: p.name.clone(),
                description: String::new(),
                arn: application_profile_arn(config, region, &p.id),
                id: p.id.clone(),
                model_arns,
                application: true,
            }
        })
        .collect()
}

/// Finds a profile by id or ARN for GetInferenceProfile.
pub(crate) fn find_profile(
    config: &ServerConfig,
    id_or_arn: &str,
    region: &str,
) -> Option<ProfileSummary> {
    system_profiles(config, region)
        .into_iter()
        .chain(application_profiles(config, region))
        .find(|p| p.id == id_or_arn || p.arn == id_or_arn)
}

/// `arn:aws:bedrock:{region}:{account}:application-inference-profile/{id}`.
pub(crate) fn application_profile_arn(config: &ServerConfig, region: &str, id: &str) -> String {
    format!(
        "arn:aws:bedrock:{region}:{}:application-inference-profile/{id}",
        config.account_id
    )
}

fn foundation_model_arn(region: &str, model_id: &str) -> String {
    format!("arn:aws:bedrock:{region}::foundation-model/{model_id}")
}

fn join_regions(regions: &[&str]) -> String {
    match regions {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resolves a decoded model id for `region` and checks the account may
    /// invoke it, as an invoke does (the policies' denies aside).
    fn resolve_for_invoke<'c>(
        config: &'c ServerConfig,
        model_id: &str,
        region: &str,
    ) -> Result<Resolved<'c>, AwsError> {
        let resolved = resolve_offered(config, model_id, region)?;
        check_access(config, model_id, resolved)
    }

    fn config() -> ServerConfig {
        ServerConfig::default()
            .application_profile(ApplicationProfile::new(
                "abc123",
                "us.anthropic.claude-opus-4-6-v1",
            ))
            .model_state("anthropic.claude-opus-4-7", ModelState::NotEnabled)
            .model_state("anthropic.claude-opus-5-5", ModelState::NotFound)
    }

    fn invoke(id: &str) -> Result<String, AwsError> {
        let config = config();
        resolve_for_invoke(&config, id, "us-east-1").map(|r| r.model.id.clone())
    }

    #[test]
    fn resolves_every_form_of_id() {
        let opus46 = Ok("anthropic.claude-opus-4-6-v1".to_owned());
        assert_eq!(invoke("us.anthropic.claude-opus-4-6-v1"), opus46);
        assert_eq!(invoke("global.anthropic.claude-opus-4-6-v1"), opus46);
        assert_eq!(
            invoke(
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-6-v1"
            ),
            opus46
        );
        assert_eq!(
            invoke("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"),
            opus46
        );
        assert_eq!(
            invoke("anthropic.claude-3-5-haiku-20241022-v1:0"),
            Ok("anthropic.claude-3-5-haiku-20241022-v1:0".to_owned())
        );
    }

    #[test]
    fn answers_what_bedrock_answers_for_bad_ids() {
        assert_eq!(
            invoke("anthropic.claude-opus-4-6-v1").unwrap_err(),
            AwsError::on_demand_not_supported("anthropic.claude-opus-4-6-v1")
        );
        for bad in [
            "us.anthropic.claude-opus-4-6-v1[1m]",
            "eu.anthropic.claude-opus-4-6-v1",
            "us.anthropic.claude-nonexistent",
            "arn:aws:bedrock:us-east-1:999999999999:application-inference-profile/abc123",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/nope",
            "arn:aws:s3:::bucket",
            "",
        ] {
            assert_eq!(
                invoke(bad).unwrap_err(),
                AwsError::invalid_model_identifier(),
                "{bad}"
            );
        }
        assert_eq!(
            invoke("us.anthropic.claude-opus-4-7").unwrap_err().status,
            403
        );
        assert_eq!(
            invoke("us.anthropic.claude-opus-5-5").unwrap_err().status,
            404
        );
    }

    #[test]
    fn lists_profiles_for_the_calling_region() {
        let config = config();
        let us = system_profiles(&config, "us-east-1");
        assert!(
            us.iter()
                .all(|p| p.id.starts_with("us.") || p.id.starts_with("global."))
        );
        let sonnet = us
            .iter()
            .find(|p| p.id == "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
            .unwrap();
        assert_eq!(sonnet.name, "US Anthropic Claude Sonnet 4.5");
        assert_eq!(
            sonnet.description,
            "Routes requests to Anthropic Claude Sonnet 4.5 in us-east-1, us-east-2 and us-west-2."
        );
        assert!(
            !us.iter().any(|p| p.id.contains("opus-5-5")),
            "not-found models are not listed"
        );
        let app = find_profile(
            &config,
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123",
            "us-east-1",
        )
        .unwrap();
        assert_eq!(app.model_arns.len(), 3);
    }

    #[test]
    fn a_region_that_does_not_offer_a_model_knows_no_id_of_it() {
        let config = ServerConfig::default()
            .region("eu-west-2")
            .model_change(
                "anthropic.claude-3-7-sonnet-20250219-v1:0",
                crate::config::ModelChange {
                    regions: Some(vec!["us-east-1".to_owned()]),
                    ..Default::default()
                },
            )
            .with_changes_applied();
        let sonnet37 = "anthropic.claude-3-7-sonnet-20250219-v1:0";
        assert!(resolve_offered(&config, &format!("us.{sonnet37}"), "us-east-1").is_ok());
        assert_eq!(
            resolve_offered(&config, &format!("eu.{sonnet37}"), "eu-west-2").unwrap_err(),
            AwsError::invalid_model_identifier()
        );
        assert!(
            !system_profiles(&config, "eu-west-2")
                .iter()
                .any(|p| p.id.contains(sonnet37))
        );
        assert!(
            system_profiles(&config, "eu-west-2")
                .iter()
                .any(|p| p.id == "eu.anthropic.claude-sonnet-4-5-20250929-v1:0")
        );
    }

    #[test]
    fn names_the_resources_an_invoke_is_authorized_against() {
        let config = config();
        let of = |id: &str| {
            let resolved = resolve_offered(&config, id, "us-east-1").unwrap();
            resources(&config, &resolved, "us-east-1")
        };
        assert_eq!(
            of("global.anthropic.claude-opus-4-6-v1"),
            [
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-opus-4-6-v1",
                "arn:aws:bedrock:::foundation-model/anthropic.claude-opus-4-6-v1",
            ]
        );
        assert_eq!(
            of("us.anthropic.claude-opus-4-6-v1")[1..],
            [
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-4-6-v1",
                "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-opus-4-6-v1",
                "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-opus-4-6-v1",
            ]
        );
        let app = of("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123");
        assert_eq!(
            app[..2],
            [
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123",
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-6-v1",
            ]
        );
        assert_eq!(
            of("anthropic.claude-3-5-haiku-20241022-v1:0"),
            [
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
            ]
        );
    }

    #[test]
    fn a_profile_naming_a_profile_arn_is_invalid_not_a_loop() {
        let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/x";
        let config = ServerConfig::default().application_profile(ApplicationProfile::new("x", arn));
        assert_eq!(
            resolve_for_invoke(&config, arn, "us-east-1").unwrap_err(),
            AwsError::invalid_model_identifier()
        );
        assert!(
            find_profile(&config, arn, "us-east-1")
                .unwrap()
                .model_arns
                .is_empty()
        );
    }
}
