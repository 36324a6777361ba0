//! The server's clock: read here, passed into the protocol cores as a value.

use time::OffsetDateTime;

/// Now, UTC.
pub fn now_utc() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Now as unix milliseconds.
pub fn now_ms() -> i64 {
    to_ms(now_utc())
}

/// A time as unix milliseconds.
pub fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}
