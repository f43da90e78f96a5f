//! What each model's quotas per minute have counted: requests, and tokens
//! (a request's input and its `max_tokens`, taken when it arrives, as
//! Bedrock's service quotas reserve them). Minutes are the server clock's,
//! whole minutes since the epoch, so a scenario's virtual time moves them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::config::Quota;
use crate::errors::AwsError;

/// The use of every model's quota in its current minute.
#[derive(Debug, Default)]
pub(crate) struct QuotaUse {
    by_model: Mutex<HashMap<String, MinuteUse>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct MinuteUse {
    minute: u64,
    requests: u64,
    tokens: u64,
}

impl QuotaUse {
    /// Counts one request of `tokens` against model `model_id`'s `quota`
    /// at `now`, or refuses it, in Bedrock's words for whichever quota it
    /// would pass (requests first). A refused request counts for nothing.
    pub(crate) fn take(
        &self,
        model_id: &str,
        quota: Quota,
        tokens: u64,
        now: SystemTime,
    ) -> Result<(), AwsError> {
        let minute = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 60);
        let mut by_model = self.by_model.lock().unwrap_or_else(|e| e.into_inner());
        let used = by_model.entry(model_id.to_owned()).or_default();
        if used.minute != minute {
            *used = MinuteUse {
                minute,
                ..MinuteUse::default()
            };
        }
        let requests = used.requests.saturating_add(1);
        let tokens = used.tokens.saturating_add(tokens);
        if quota
            .requests_per_minute
            .is_some_and(|limit| requests > limit)
        {
            return Err(AwsError::throttling());
        }
        if quota.tokens_per_minute.is_some_and(|limit| tokens > limit) {
            return Err(AwsError::too_many_tokens());
        }
        used.requests = requests;
        used.tokens = tokens;
        Ok(())
    }

    /// Forgets every count: a new account.
    pub(crate) fn clear(&self) {
        self.by_model
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    #[test]
    fn each_quota_refuses_in_its_own_words_until_the_minute_turns() {
        let counted = QuotaUse::default();
        let quota = Quota {
            requests_per_minute: Some(2),
            tokens_per_minute: Some(100),
        };
        // 1_800_000_000 is a whole minute; the next starts 60 s later.
        assert!(counted.take("m", quota, 10, at(0)).is_ok());
        assert!(counted.take("m", quota, 10, at(1)).is_ok());
        let e = counted.take("m", quota, 10, at(2)).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (429, "Too many requests, please wait before trying again.")
        );
        assert!(counted.take("other", quota, 10, at(2)).is_ok());
        assert!(counted.take("m", quota, 60, at(60)).is_ok());
        let e = counted.take("m", quota, 41, at(61)).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (429, "Too many tokens, please wait before trying again.")
        );
        // The refused request took nothing: 40 more still fit.
        assert!(counted.take("m", quota, 40, at(62)).is_ok());
    }
}
