//! Login throttling: failures counted per account and per source address; past a threshold the
//! key is locked for a delay that doubles with every further failure, up to a maximum.

use std::time::Duration;

use nave_hub_core::clock::add_ms;
use nave_hub_core::{AuthContext, Error, Result};

use super::LocalIdentity;

/// The throttle keys of one login attempt, with their thresholds.
pub(super) struct Attempt {
    keys: Vec<(String, u32)>,
}

impl LocalIdentity {
    pub(super) fn attempt(&self, ctx: &AuthContext, email: &str) -> Attempt {
        let policy = &self.inner.config.throttle;
        let mut keys = vec![(format!("account:{email}"), policy.account_failures)];
        if let Some(ip) = ctx.source_ip {
            keys.push((format!("source:{ip}"), policy.source_failures));
        }
        Attempt { keys }
    }

    /// Refuses the attempt while any of its keys is locked.
    pub(super) async fn check_not_locked(&self, attempt: &Attempt) -> Result<()> {
        let now = self.inner.clock.now_ms();
        for (key, _) in &attempt.keys {
            if let Some(until) = self.inner.store.locked_until(key).await?
                && until > now
            {
                let secs = u64::try_from((until - now + 999) / 1000).unwrap_or(1);
                let what = if key.starts_with("account:") {
                    "this account"
                } else {
                    "your address"
                };
                return Err(Error::throttled(
                    format!(
                        "too many failed logins for {what}; try again in {secs} seconds or reset your password"
                    ),
                    Some(secs),
                ));
            }
        }
        Ok(())
    }

    /// Counts a failure on every key; locks those past their threshold. Returns whether any locked.
    pub(super) async fn count_failure(&self, attempt: &Attempt) -> Result<bool> {
        let policy = &self.inner.config.throttle;
        let now = self.inner.clock.now_ms();
        let forget_before = now - add_ms(0, policy.forget_after);
        let mut locked = false;
        for (key, threshold) in &attempt.keys {
            let failures = self
                .inner
                .store
                .count_failure(key, now, forget_before)
                .await?;
            let over = failures - i64::from(*threshold);
            if over >= 0 {
                let lock = lock_duration(policy.base_lock, policy.max_lock, over);
                self.inner.store.lock(key, add_ms(now, lock)).await?;
                locked = true;
            }
        }
        Ok(locked)
    }

    /// Forgets the account's failures after a successful login (the source's count decays alone,
    /// so one good password does not unlock an address that is guessing many accounts).
    pub(super) async fn clear_account(&self, attempt: &Attempt) -> Result<()> {
        if let Some((key, _)) = attempt.keys.first() {
            self.inner.store.clear_failures(key).await?;
        }
        Ok(())
    }
}

/// `base * 2^over`, capped at `max`.
fn lock_duration(base: Duration, max: Duration, over: i64) -> Duration {
    let factor = 1u32
        .checked_shl(u32::try_from(over).unwrap_or(u32::MAX))
        .unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(max).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_doubles_up_to_the_cap() {
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(900);
        assert_eq!(lock_duration(base, max, 0), Duration::from_secs(30));
        assert_eq!(lock_duration(base, max, 1), Duration::from_secs(60));
        assert_eq!(lock_duration(base, max, 3), Duration::from_secs(240));
        assert_eq!(lock_duration(base, max, 10), max);
        assert_eq!(lock_duration(base, max, 100), max);
    }
}
