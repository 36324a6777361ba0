//! A value read back compared with the desired one, after normalising both by format.
//! STUB: to be completed.

use super::setting::Format;

/// The value in a canonical form for `format` (an int without leading zeros or `+`, a bool in
/// lowercase, xml without insignificant whitespace, …); text unchanged.
pub fn normalise(format: Format, value: &str) -> String {
    let _ = format;
    value.trim().to_owned()
}

/// True when `read` (what the device returned) is the desired value.
pub fn same_value(format: Format, desired: &str, read: &str) -> bool {
    normalise(format, desired) == normalise(format, read)
}
