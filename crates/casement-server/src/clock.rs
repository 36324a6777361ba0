//! The server's clock: read here, passed into the protocol cores as a value. Every part of the
//! server reads time through [`AppState::clock`](crate::AppState), so that tests can set it
//! ([`ManualClock`]) instead of waiting.

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

/// Where the server reads the time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, UTC.
    fn now_utc(&self) -> OffsetDateTime;

    /// Now as unix milliseconds.
    fn now_ms(&self) -> i64 {
        to_ms(self.now_utc())
    }
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_utc(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that says what it is told: starts at a given time, moves only when advanced.
#[derive(Debug)]
pub struct ManualClock {
    ms: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `at`.
    pub fn new(at: OffsetDateTime) -> Self {
        Self {
            ms: AtomicI64::new(to_ms(at)),
        }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: time::Duration) {
        let ms = i64::try_from(by.whole_milliseconds()).unwrap_or(i64::MAX);
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_utc(&self) -> OffsetDateTime {
        let ms = self.ms.load(Ordering::SeqCst);
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// Now, UTC, from the system's clock: only for what runs before the server's state exists
/// (bootstrap) or outside any request (the listener's log gate).
pub fn now_utc() -> OffsetDateTime {
    SystemClock.now_utc()
}

/// Now as unix milliseconds, from the system's clock (see [`now_utc`]).
pub fn now_ms() -> i64 {
    to_ms(now_utc())
}

/// A time as unix milliseconds.
pub fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}
