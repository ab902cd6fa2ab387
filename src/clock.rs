//! "Now" as an injectable value, so time-dependent logic (event phases, rotations, reset-token
//! expiry, rate limits) can be tested with a fixed or advancing clock.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use tokio::sync::watch;

/// The application's clock. `Clock::system()` reads the real time; `Clock::manual(t)` starts
/// at `t` and only moves when told to (and wakes [`Clock::sleep_until`] when it does).
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<watch::Sender<DateTime<Utc>>>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock").field("manual", &self.manual.is_some()).finish()
    }
}

impl Clock {
    pub fn system() -> Self {
        Self { manual: None }
    }

    pub fn manual(start: DateTime<Utc>) -> Self {
        Self { manual: Some(Arc::new(watch::Sender::new(start))) }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            None => Utc::now(),
            Some(t) => *t.borrow(),
        }
    }

    /// Moves a manual clock forward; no effect on the system clock.
    pub fn advance(&self, by: chrono::Duration) {
        if let Some(t) = &self.manual {
            t.send_modify(|now| *now += by);
        }
    }

    /// Sets a manual clock; no effect on the system clock.
    pub fn set(&self, to: DateTime<Utc>) {
        if let Some(t) = &self.manual {
            t.send_replace(to);
        }
    }

    /// Resolves once the clock reads `at` or later: a timer on the system clock, the next
    /// [`Self::set`]/[`Self::advance`] that reaches `at` on a manual one. Background tasks that
    /// wake at a play boundary wait with this, so tests can move time instead of waiting.
    pub async fn sleep_until(&self, at: DateTime<Utc>) {
        match &self.manual {
            None => {
                let wait = at.signed_duration_since(Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
            }
            Some(t) => {
                let mut rx = t.subscribe();
                // Only an error if the sender is gone, which `self` prevents.
                let _ = rx.wait_for(|now| *now >= at).await;
            }
        }
    }
}

/// Parses a config date-time. Without an offset it is the server's local time, like the old
/// system; seconds and a date-only form are accepted too (the old one crashed on them).
pub fn parse_config_datetime(raw: &str) -> Option<DateTime<Utc>> {
    parse_config_datetime_in(raw, &Local).ok()
}

/// Why a config date-time was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigDateError {
    /// Not a date-time in any accepted form.
    Unreadable,
    /// A local time that does not exist: the clocks jump over it (daylight saving time
    /// starts), from the first UTC offset to the second.
    Gap { local: NaiveDateTime, before: FixedOffset, after: FixedOffset },
}

/// [`parse_config_datetime`] in the time zone `tz`, saying why a value is refused. A local
/// time that occurs twice (the hour repeated when daylight saving time ends) is the first.
pub fn parse_config_datetime_in<Tz: TimeZone>(raw: &str, tz: &Tz) -> Result<DateTime<Utc>, ConfigDateError> {
    let raw = raw.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(raw) {
        return Ok(dt.with_timezone(&Utc));
    }
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
        .or_else(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
        .ok_or(ConfigDateError::Unreadable)?;
    if let Some(t) = tz.from_local_datetime(&naive).earliest() {
        return Ok(t.with_timezone(&Utc));
    }
    // A gap lasts an hour or two at most: the offsets a few hours around it are its edges.
    let offset = |local: NaiveDateTime| tz.from_local_datetime(&local).earliest().map(|t| t.offset().fix());
    let hours = chrono::Duration::hours(3);
    let (before, after) = (offset(naive - hours), offset(naive + hours));
    let utc = FixedOffset::east_opt(0).ok_or(ConfigDateError::Unreadable)?;
    Err(ConfigDateError::Gap { local: naive, before: before.unwrap_or(utc), after: after.unwrap_or(utc) })
}

/// The time zone that config date-times without an offset are read in, for the log and error
/// messages: `TZ=<value>` when the variable is set (it wins), else the system's zone name
/// (`/etc/localtime`).
pub fn local_zone() -> String {
    match std::env::var("TZ") {
        Ok(tz) if !tz.is_empty() => format!("TZ={tz}"),
        _ => iana_time_zone::get_timezone().unwrap_or_else(|_| "the system's local time zone".into()),
    }
}

/// [`local_zone`] with its UTC offset at `now`, for the start-up log.
pub fn describe_local_zone(now: DateTime<Utc>) -> String {
    format!("{} (UTC{} now)", local_zone(), now.with_timezone(&Local).format("%:z"))
}

/// Times in the new endpoints' answers: RFC 3339, UTC with `Z`, whole seconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// [`rfc3339`] for `#[serde(serialize_with = …)]`.
pub fn serialize_rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

/// Formats a time as the old API did: local time, ISO without zone, with seconds.
pub fn local_iso(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_datetimes_in_every_old_form() {
        let a = parse_config_datetime("2023-08-17T20:00").unwrap();
        assert_eq!(parse_config_datetime("2023-08-17T20:00:00").unwrap(), a);
        assert_eq!(parse_config_datetime("2023-08-17 20:00").unwrap(), a);
        assert_eq!(local_iso(a), "2023-08-17T20:00:00");
        assert!(parse_config_datetime("2023-08-17").unwrap() < a);
        assert_eq!(parse_config_datetime("2023-08-17T20:00:00Z").unwrap().to_rfc3339(), "2023-08-17T20:00:00+00:00");
        assert!(parse_config_datetime("next tuesday").is_none());
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let c = Clock::manual(start);
        assert_eq!(c.now(), start);
        c.advance(chrono::Duration::hours(25));
        assert_eq!(c.now(), start + chrono::Duration::hours(25));
    }

    #[tokio::test]
    async fn a_manual_sleep_ends_when_the_clock_gets_there() {
        let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let c = Clock::manual(start);
        let at = start + chrono::Duration::minutes(10);
        let sleeper = tokio::spawn({
            let c = c.clone();
            async move { c.sleep_until(at).await }
        });
        c.advance(chrono::Duration::minutes(5));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        c.advance(chrono::Duration::minutes(5));
        tokio::time::timeout(std::time::Duration::from_secs(5), sleeper).await.unwrap().unwrap();
    }
}
