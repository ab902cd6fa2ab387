//! The current event: its time window and the phase (`pre`/`active`/`post`/`offseason`)
//! derived from it and "now".

use chrono::{DateTime, Duration, Utc};

use crate::config::Settings;

/// Start and end of the current event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// How far before the start `pre` shows and after the end `post` shows.
const PHASE_MARGIN_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Pre,
    Active,
    Post,
    Offseason,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pre => "pre",
            Self::Active => "active",
            Self::Post => "post",
            Self::Offseason => "offseason",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pre" => Self::Pre,
            "active" => Self::Active,
            "post" => Self::Post,
            "offseason" => Self::Offseason,
            _ => return None,
        })
    }
}

impl EventWindow {
    /// The window in force: `testing_compstart/compend` in testing mode, else
    /// `compstart/compend`. In testing mode without a window (and in the no-config demo) the
    /// simulated event runs from a day before `boot` to six days after, so it is live now.
    pub fn from_settings(s: &Settings, boot: DateTime<Utc>) -> Option<Self> {
        let (start, end) =
            if s.testing_mode { (s.testing_compstart, s.testing_compend) } else { (s.compstart, s.compend) };
        match (start, end) {
            (Some(start), Some(end)) => Some(Self { start, end }),
            _ if s.testing_mode => Some(Self { start: boot - Duration::days(1), end: boot + Duration::days(6) }),
            _ => None,
        }
    }

    /// Phase at `now` (the old system never said `pre`, BUG-1; this one does).
    pub fn phase(&self, now: DateTime<Utc>) -> Phase {
        let margin = Duration::days(PHASE_MARGIN_DAYS);
        if self.start <= now && now <= self.end {
            Phase::Active
        } else if now < self.start && self.start - now <= margin {
            Phase::Pre
        } else if now > self.end && now - self.end < margin {
            Phase::Post
        } else {
            Phase::Offseason
        }
    }

    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.phase(now) == Phase::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn phases_around_the_window() {
        let start = Utc.with_ymd_and_hms(2024, 3, 1, 20, 0, 0).unwrap();
        let w = EventWindow { start, end: start + Duration::days(30) };
        assert_eq!(w.phase(start - Duration::days(31)), Phase::Offseason);
        assert_eq!(w.phase(start - Duration::days(2)), Phase::Pre);
        assert_eq!(w.phase(start), Phase::Active);
        assert_eq!(w.phase(w.end), Phase::Active);
        assert_eq!(w.phase(w.end + Duration::days(1)), Phase::Post);
        assert_eq!(w.phase(w.end + Duration::days(31)), Phase::Offseason);
    }
}
