//! Time: an injectable [`Clock`] so token expiry, lockouts and key retirement can be tested
//! without sleeping, and the conversions used to store instants as integers.
//!
//! Instants are stored as `BIGINT` unix milliseconds in both SQLite and PostgreSQL: one column
//! type and one comparison semantics for both backends (SQLite has no timestamp type).

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

use crate::error::{Error, Result};

/// A source of the current time.
pub trait Clock: Send + Sync + Debug {
    /// Returns the current instant in UTC.
    fn now(&self) -> OffsetDateTime;

    /// Returns the current instant as unix milliseconds.
    fn now_ms(&self) -> i64 {
        to_millis(self.now())
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to; for tests of expiry and lockouts.
#[derive(Debug)]
pub struct ManualClock {
    /// Current instant in unix milliseconds; atomic so the clock can be shared with a running server.
    now_ms: AtomicI64,
}

impl ManualClock {
    /// Creates a clock stopped at the current wall-clock time.
    pub fn starting_now() -> Self {
        Self::at(OffsetDateTime::now_utc())
    }

    /// Creates a clock stopped at `at`.
    pub fn at(at: OffsetDateTime) -> Self {
        Self {
            now_ms: AtomicI64::new(to_millis(at)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        // Values only come from `to_millis` plus `advance`, so they are always in range.
        from_millis(self.now_ms.load(Ordering::SeqCst)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}

/// Converts an instant to unix milliseconds (the stored form).
pub fn to_millis(at: OffsetDateTime) -> i64 {
    // i128 nanoseconds / 1e6 fits i64 for every year `time` can represent.
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Converts stored unix milliseconds back to an instant.
pub fn from_millis(ms: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| Error::internal_msg(format!("timestamp {ms} out of range: {e}")))
}

/// Adds a duration to unix milliseconds, saturating instead of overflowing.
pub fn add_ms(ms: i64, d: Duration) -> i64 {
    ms.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Formats an instant as RFC 3339 for JSON and logs.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip() {
        let now = OffsetDateTime::now_utc();
        let back = from_millis(to_millis(now)).unwrap();
        assert_eq!(to_millis(back), to_millis(now));
        assert!((now - back).whole_milliseconds().abs() < 1);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::starting_now();
        let t0 = clock.now_ms();
        assert_eq!(clock.now_ms(), t0);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now_ms(), t0 + 90_000);
        assert_eq!(to_millis(clock.now()), t0 + 90_000);
    }
}
