//! A value read back compared with the desired one, after normalising both by format.
//!
//! Windows answers a `Get` with the value as text in `Results` (`<Data>1</Data>` for a Policy
//! int, sometimes with `Meta/Format` int, sometimes without), so both sides are normalised the
//! same way before they are compared.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use super::setting::Format;

/// The value in a canonical form for `format`:
///
/// - `int`: decimal without `+` or leading zeros (`+007` → `7`); unparsable: trimmed text.
/// - `bool`: trimmed, lowercase (`TRUE` → `true`).
/// - `float`: the shortest decimal that reads back as the same number (`1.50` → `1.5`,
///   `2.0` → `2`, `-0` → `0`); unparsable: trimmed text.
/// - `xml`: trimmed, whitespace between tags removed (`<a> <b/> </a>` → `<a><b/></a>`);
///   self-closing and empty-pair forms are kept as written.
/// - `b64`: the decoded bytes written back as standard padded base64 (missing padding and
///   line breaks do not matter); undecodable: trimmed text.
/// - `chr`: unchanged, except trailing line breaks (`\r\n`, `\n`) which are dropped.
/// - `date`: trimmed.
/// - `null`: empty.
pub fn normalise(format: Format, value: &str) -> String {
    let trimmed = value.trim();
    match format {
        Format::Int => trimmed
            .parse::<i64>()
            .map_or_else(|_| trimmed.to_owned(), |n| n.to_string()),
        Format::Bool => trimmed.to_ascii_lowercase(),
        Format::Float => match trimmed.parse::<f64>() {
            // `-0` and `0` are the same value.
            Ok(f) => (f + 0.0).to_string(),
            Err(_) => trimmed.to_owned(),
        },
        Format::Xml => collapse_inter_tag_whitespace(trimmed),
        Format::B64 => {
            decode_b64(trimmed).map_or_else(|| trimmed.to_owned(), |b| STANDARD.encode(b))
        }
        Format::Chr => value.trim_end_matches(['\r', '\n']).to_owned(),
        Format::Date => trimmed.to_owned(),
        Format::Null => String::new(),
    }
}

/// True when `read` (what the device returned) is the desired value.
pub fn same_value(format: Format, desired: &str, read: &str) -> bool {
    normalise(format, desired) == normalise(format, read)
}

/// Base64 with or without padding, ignoring ASCII whitespace (line breaks in long values).
pub(crate) fn decode_b64(value: &str) -> Option<Vec<u8>> {
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD
        .decode(&compact)
        .or_else(|_| STANDARD_NO_PAD.decode(&compact))
        .ok()
}

/// `text` with every run of whitespace that lies between a `>` and the next `<` removed.
fn collapse_inter_tag_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending = String::new();
    let mut after_tag = false;
    for c in text.chars() {
        if after_tag && c.is_whitespace() {
            pending.push(c);
            continue;
        }
        if c != '<' {
            out.push_str(&pending);
        }
        pending.clear();
        out.push(c);
        after_tag = c == '>';
    }
    out.push_str(&pending);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_drops_sign_and_leading_zeros() {
        assert_eq!(normalise(Format::Int, " +007 "), "7");
        assert_eq!(normalise(Format::Int, "-0"), "0");
        assert!(same_value(Format::Int, "1", "01"));
        assert!(!same_value(Format::Int, "1", "2"));
    }

    #[test]
    fn int_unparsable_is_compared_as_trimmed_text() {
        assert_eq!(normalise(Format::Int, " abc "), "abc");
    }

    #[test]
    fn bool_ignores_case() {
        assert!(same_value(Format::Bool, "True", "true"));
        assert!(!same_value(Format::Bool, "true", "false"));
    }

    #[test]
    fn float_is_compared_as_a_number() {
        assert_eq!(normalise(Format::Float, "1.50"), "1.5");
        assert_eq!(normalise(Format::Float, "2.0"), "2");
        assert_eq!(normalise(Format::Float, "-0.0"), "0");
        assert!(same_value(Format::Float, "1e3", "1000"));
        assert_eq!(normalise(Format::Float, " x "), "x");
    }

    #[test]
    fn xml_ignores_whitespace_between_tags_only() {
        assert_eq!(
            normalise(Format::Xml, "\n<a>\n  <b/>\n  <c>x y</c>\n</a>\n"),
            "<a><b/><c>x y</c></a>"
        );
        // Text next to a tag keeps its spaces.
        assert_eq!(normalise(Format::Xml, "<a> x </a>"), "<a> x </a>");
        // Self-closing and empty-pair forms are kept as written.
        assert!(!same_value(Format::Xml, "<a/>", "<a></a>"));
    }

    #[test]
    fn b64_compares_the_decoded_bytes() {
        assert!(same_value(Format::B64, "aGk=", "aGk"));
        assert!(same_value(Format::B64, "aGVs\nbG8=", "aGVsbG8="));
        assert!(!same_value(Format::B64, "aGk=", "aGo="));
        assert_eq!(normalise(Format::B64, "%%%"), "%%%");
    }

    #[test]
    fn chr_is_unchanged_but_for_trailing_line_breaks() {
        assert_eq!(normalise(Format::Chr, " a b "), " a b ");
        assert!(same_value(Format::Chr, "abc", "abc\r\n"));
        assert!(!same_value(Format::Chr, "abc", "ABC"));
    }

    #[test]
    fn date_is_trimmed_and_null_is_empty() {
        assert_eq!(normalise(Format::Date, " 2024-01-02 "), "2024-01-02");
        assert_eq!(normalise(Format::Null, "anything"), "");
        assert!(same_value(Format::Null, "", "x"));
    }
}
