//! The simulated clock: the device's local time, its maintenance hour, and an accelerable mapping
//! from real time to simulated time for step-by-step use.
//!
//! The agent never reads the system clock: every event comes with `now`. The nightly
//! `MDMMaintenanceTask` runs during the maintenance hour (default 02:00 local, blog: "typically
//! 2am local time"); the device's local time is UTC plus a fixed offset.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time, UtcOffset};

/// Default maintenance hour (local): 02:00.
pub const DEFAULT_MAINTENANCE_HOUR: u8 = 2;

/// When the device's nightly maintenance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    /// Local hour the nightly task starts (0–23).
    pub hour: u8,
    /// The device's local time offset from UTC, in minutes.
    pub utc_offset_minutes: i16,
}

impl Default for MaintenanceWindow {
    fn default() -> Self {
        Self {
            hour: DEFAULT_MAINTENANCE_HOUR,
            utc_offset_minutes: 0,
        }
    }
}

impl MaintenanceWindow {
    fn offset(&self) -> UtcOffset {
        UtcOffset::from_whole_seconds(i32::from(self.utc_offset_minutes) * 60)
            .unwrap_or(UtcOffset::UTC)
    }

    /// `now` in the device's local time.
    pub fn local(&self, now: OffsetDateTime) -> OffsetDateTime {
        now.to_offset(self.offset())
    }

    /// Whether `now` falls in the maintenance hour (`hour:00:00` to `hour:59:59` local).
    pub fn contains(&self, now: OffsetDateTime) -> bool {
        self.local(now).hour() == self.hour
    }

    /// The first start of the maintenance hour strictly after `after`.
    pub fn next_start(&self, after: OffsetDateTime) -> OffsetDateTime {
        let local = self.local(after);
        let start = Time::from_hms(self.hour.min(23), 0, 0).unwrap_or(Time::MIDNIGHT);
        let today = local.replace_time(start);
        let next = if today > local {
            today
        } else {
            today + Duration::days(1)
        };
        next.to_offset(UtcOffset::UTC)
    }

    /// Every start of the maintenance hour in `(from, to]`, oldest first.
    pub fn starts_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> Vec<OffsetDateTime> {
        let mut starts = Vec::new();
        let mut at = self.next_start(from);
        while at <= to {
            starts.push(at);
            at = self.next_start(at);
        }
        starts
    }
}

/// An accelerable clock: simulated time runs `speed` times as fast as real time from an origin.
/// The CLI keeps one in the agent's state so that successive commands continue one timeline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SimClock {
    /// The real time the clock was (re)started.
    #[serde(with = "time::serde::rfc3339")]
    pub real_origin: OffsetDateTime,
    /// The simulated time at `real_origin`.
    #[serde(with = "time::serde::rfc3339")]
    pub sim_origin: OffsetDateTime,
    /// Simulated seconds per real second (1.0 = real time, 3600.0 = an hour a second).
    pub speed: f64,
}

impl SimClock {
    /// A clock showing `sim_origin` at `real_origin` and running `speed` times real time.
    pub fn new(real_origin: OffsetDateTime, sim_origin: OffsetDateTime, speed: f64) -> Self {
        Self {
            real_origin,
            sim_origin,
            speed: if speed.is_finite() && speed >= 0.0 {
                speed
            } else {
                1.0
            },
        }
    }

    /// The simulated time at real time `real_now` (never before `sim_origin`).
    pub fn now(&self, real_now: OffsetDateTime) -> OffsetDateTime {
        let real = (real_now - self.real_origin).max(Duration::ZERO);
        self.sim_origin + real * self.speed
    }
}

/// A CIM `datetime` as WMI writes it: `yyyymmddHHMMSS.mmmmmmsUUU` (UTC offset in minutes).
pub fn cim_datetime(at: OffsetDateTime) -> String {
    let offset = at.offset().whole_minutes();
    let sign = if offset < 0 { '-' } else { '+' };
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}.{:06}{sign}{:03}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond(),
        offset.unsigned_abs()
    )
}

/// RFC 3339 with second precision (`2026-11-24T02:00:00Z`), as the CSPs report times.
pub fn rfc3339(at: OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_maintenance_hour_is_local() {
        let window = MaintenanceWindow {
            hour: 2,
            utc_offset_minutes: 60,
        };
        assert!(window.contains(datetime!(2026-11-24 01:30 UTC)));
        assert!(!window.contains(datetime!(2026-11-24 02:30 UTC)));
        assert_eq!(
            window.next_start(datetime!(2026-11-24 00:00 UTC)),
            datetime!(2026-11-24 01:00 UTC)
        );
        assert_eq!(
            window.next_start(datetime!(2026-11-24 01:00 UTC)),
            datetime!(2026-11-25 01:00 UTC)
        );
    }

    #[test]
    fn starts_between_counts_each_night_once() {
        let window = MaintenanceWindow::default();
        let starts = window.starts_between(
            datetime!(2026-11-24 02:00 UTC),
            datetime!(2026-11-27 02:00 UTC),
        );
        assert_eq!(
            starts,
            [
                datetime!(2026-11-25 02:00 UTC),
                datetime!(2026-11-26 02:00 UTC),
                datetime!(2026-11-27 02:00 UTC)
            ]
        );
    }

    #[test]
    fn the_clock_accelerates() {
        let clock = SimClock::new(
            datetime!(2026-01-01 00:00 UTC),
            datetime!(2026-11-24 00:00 UTC),
            3600.0,
        );
        assert_eq!(
            clock.now(datetime!(2026-01-01 00:00:02 UTC)),
            datetime!(2026-11-24 02:00 UTC)
        );
        assert_eq!(
            clock.now(datetime!(2025-01-01 00:00 UTC)),
            datetime!(2026-11-24 00:00 UTC)
        );
    }

    #[test]
    fn cim_datetimes_have_the_wmi_shape() {
        assert_eq!(
            cim_datetime(datetime!(2026-11-24 02:03:04.5 UTC)),
            "20261124020304.500000+000"
        );
        assert_eq!(
            rfc3339(datetime!(2026-11-24 02:03:04.5 UTC)),
            "2026-11-24T02:03:04Z"
        );
    }
}
