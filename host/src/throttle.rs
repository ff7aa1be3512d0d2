//! The webhook rate limit of each installation: `ingress.rate_limit_per_minute` from the config
//! hub, applied before the channel spoke runs, so a flood costs the host next to nothing.
//!
//! A token bucket per installation holding a minute's allowance: a quiet installation may take
//! its whole minute at once, and one that keeps sending gets `limit` deliveries a minute on
//! average. A refused delivery is answered `429` with `Retry-After`; channels (Facebook among
//! them) deliver it again later, so nothing is lost.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// One installation's allowance.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
    per_minute: u32,
}

/// The buckets of every installation that was ever limited: one small entry each, kept when a
/// limit is lifted, so that setting it again goes on from what was used.
#[derive(Debug, Default)]
pub struct WebhookThrottle {
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

impl WebhookThrottle {
    /// Takes one delivery of `installation` out of its allowance of `per_minute` (at least 1);
    /// `Err` with the wait until one more is allowed.
    pub fn admit(&self, installation: Uuid, per_minute: u32, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(per_minute.max(1));
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().expect("throttle lock");
        let bucket = buckets.entry(installation).or_insert(Bucket {
            tokens: capacity,
            at: now,
            per_minute,
        });
        if bucket.per_minute != per_minute {
            // A changed limit applies at once; what was used of the old one stays used.
            bucket.per_minute = per_minute;
            bucket.tokens = bucket.tokens.min(capacity);
        }
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_is_allowed_at_once_then_the_rate_refills_it() {
        let throttle = WebhookThrottle::default();
        let (id, start) = (Uuid::now_v7(), Instant::now());
        for _ in 0..6 {
            assert!(throttle.admit(id, 6, start).is_ok());
        }
        // Six a minute: one more every ten seconds.
        let wait = throttle.admit(id, 6, start).unwrap_err();
        assert_eq!(wait.as_secs(), 10);
        assert!(
            throttle
                .admit(id, 6, start + Duration::from_secs(9))
                .is_err()
        );
        assert!(
            throttle
                .admit(id, 6, start + Duration::from_secs(10))
                .is_ok()
        );
        assert!(
            throttle
                .admit(id, 6, start + Duration::from_secs(10))
                .is_err()
        );
        // Another installation has its own allowance.
        assert!(throttle.admit(Uuid::now_v7(), 6, start).is_ok());
    }

    #[test]
    fn a_lowered_limit_applies_to_the_next_delivery() {
        let throttle = WebhookThrottle::default();
        let (id, now) = (Uuid::now_v7(), Instant::now());
        assert!(throttle.admit(id, 100, now).is_ok());
        assert!(throttle.admit(id, 1, now).is_ok());
        assert!(throttle.admit(id, 1, now).is_err());
        // One a minute: the next delivery is allowed a minute later.
        assert!(
            throttle
                .admit(id, 1, now + Duration::from_secs(59))
                .is_err()
        );
        assert!(throttle.admit(id, 1, now + Duration::from_secs(60)).is_ok());
    }
}
