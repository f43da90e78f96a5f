//! The geographies of system-defined inference profiles: the prefix of a
//! profile id (`us.anthropic…`), the words the control plane describes it
//! with, the regions it routes to, and the regions it can be called from.
//! One table: resolution, listings and a model's default profiles all read
//! it.

/// One geography of system-defined inference profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geography {
    /// The profile id's prefix: `us` in `us.anthropic.claude-…`.
    pub prefix: &'static str,
    /// How profile names start: `US Anthropic Claude Sonnet 4.5`.
    pub label: &'static str,
    /// Where its requests are routed (at most five, as `models` allows).
    pub destinations: &'static [&'static str],
    /// The start of the names of the regions it can be called from;
    /// `None`: from every region.
    callers: Option<&'static str>,
}

/// Every geography the account knows.
pub(crate) const GEOGRAPHIES: &[Geography] = &[
    Geography {
        prefix: "us",
        label: "US",
        destinations: &["us-east-1", "us-east-2", "us-west-2"],
        callers: Some("us-"),
    },
    Geography {
        prefix: "eu",
        label: "EU",
        destinations: &["eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"],
        callers: Some("eu-"),
    },
    Geography {
        prefix: "apac",
        label: "APAC",
        destinations: &[
            "ap-northeast-1",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-south-1",
        ],
        callers: Some("ap-"),
    },
    Geography {
        prefix: "global",
        label: "Global",
        destinations: &["us-east-1", "eu-west-1", "ap-northeast-1"],
        callers: None,
    },
];

impl Geography {
    /// The geography whose profiles start `prefix.`.
    pub(crate) fn named(prefix: &str) -> Option<&'static Geography> {
        GEOGRAPHIES.iter().find(|g| g.prefix == prefix)
    }

    /// Whether its profiles can be called from every region (the global
    /// profiles, whose foundation models' ARNs name no region).
    pub(crate) fn callers_anywhere(&self) -> bool {
        self.callers.is_none()
    }

    /// Whether a profile of this geography can be called from `region`.
    pub(crate) fn serves(&self, region: &str) -> bool {
        self.callers.is_none_or(|start| region.starts_with(start))
    }
}

/// Every geography's prefix: a model's profiles unless its entry says
/// otherwise.
pub(crate) fn every_prefix() -> Vec<String> {
    GEOGRAPHIES.iter().map(|g| g.prefix.to_owned()).collect()
}
