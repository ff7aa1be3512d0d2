//! Monthly billing periods: each starts on the tenant's anchor day (1–28) at 00:00 UTC and ends
//! where the next one starts. Anchor days stop at 28 so every month has one.

use nave_hub_core::{Error, Result};
use time::{Date, Month, OffsetDateTime, Time};

/// One billing period: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First instant of the period.
    pub start: OffsetDateTime,
    /// First instant of the next period.
    pub end: OffsetDateTime,
}

/// The period containing `now` for a tenant whose periods start on `anchor_day`.
pub fn period_at(now: OffsetDateTime, anchor_day: u8) -> Result<Period> {
    let now = now.to_offset(time::UtcOffset::UTC);
    let (mut year, mut month) = (now.year(), now.month());
    if now.day() < anchor_day {
        (year, month) = previous(year, month);
    }
    let start = at_midnight(year, month, anchor_day)?;
    let (next_year, next_month) = next(year, month);
    let end = at_midnight(next_year, next_month, anchor_day)?;
    Ok(Period { start, end })
}

fn at_midnight(year: i32, month: Month, day: u8) -> Result<OffsetDateTime> {
    let date = Date::from_calendar_date(year, month, day).map_err(|e| {
        Error::internal_msg(format!("no day {day} in {month} {year} (anchor day): {e}"))
    })?;
    Ok(date.with_time(Time::MIDNIGHT).assume_utc())
}

fn previous(year: i32, month: Month) -> (i32, Month) {
    match month {
        Month::January => (year - 1, Month::December),
        m => (year, m.previous()),
    }
}

fn next(year: i32, month: Month) -> (i32, Month) {
    match month {
        Month::December => (year + 1, Month::January),
        m => (year, m.next()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn periods_start_on_the_anchor_day() {
        let p = period_at(datetime!(2026-03-14 23:59:59 UTC), 15).unwrap();
        assert_eq!(p.start, datetime!(2026-02-15 00:00 UTC));
        assert_eq!(p.end, datetime!(2026-03-15 00:00 UTC));
        let p = period_at(datetime!(2026-03-15 00:00 UTC), 15).unwrap();
        assert_eq!(p.start, datetime!(2026-03-15 00:00 UTC));
        assert_eq!(p.end, datetime!(2026-04-15 00:00 UTC));
    }

    #[test]
    fn periods_cross_year_ends() {
        let p = period_at(datetime!(2026-01-03 12:00 UTC), 28).unwrap();
        assert_eq!(p.start, datetime!(2025-12-28 00:00 UTC));
        assert_eq!(p.end, datetime!(2026-01-28 00:00 UTC));
        let p = period_at(datetime!(2026-12-31 23:00 UTC), 1).unwrap();
        assert_eq!(p.start, datetime!(2026-12-01 00:00 UTC));
        assert_eq!(p.end, datetime!(2027-01-01 00:00 UTC));
    }
}
