//! Decoding errors: where (byte offset and element path) and what.

use std::fmt;

/// A message that could not be decoded. `offset` is the byte offset in the input where the problem
/// starts (the start of the offending element or token); `path` is the element path to it, e.g.
/// `/SyncML/SyncBody/Status[2]/CmdRef`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the input.
    pub offset: usize,
    /// Element path, `/` when outside the root element.
    pub path: String,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

/// What went wrong while decoding. Every variant is the peer's fault: the input is not a SyncML
/// message this codec accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input is larger than the configured limit.
    TooLarge {
        /// Input size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Elements are nested deeper than the configured limit.
    TooDeep {
        /// The depth limit.
        limit: usize,
    },
    /// More commands than the configured limit.
    TooManyCommands {
        /// The limit.
        limit: usize,
    },
    /// The input is not valid UTF-8.
    InvalidUtf8,
    /// A character XML 1.0 does not allow (a C0 control other than tab, LF and CR, NUL above
    /// all), written as is or as a character reference; the value is its code point.
    ForbiddenCharacter(u32),
    /// A `<!DOCTYPE …>` (and so any entity declaration) is present: refused outright.
    Doctype,
    /// An entity reference other than the five XML predefined ones or a character reference.
    UndefinedEntity(String),
    /// The input is not well-formed XML.
    Syntax(String),
    /// The document is empty or its root element is not `SyncML`.
    NotSyncMl(String),
    /// An element that is not allowed where it appears.
    UnexpectedElement(String),
    /// A required element is missing.
    MissingElement(&'static str),
    /// An element that may appear once appears again.
    DuplicateElement(&'static str),
    /// An element in a namespace other than the one SyncML expects there.
    WrongNamespace(String),
    /// Character data where only elements are allowed.
    UnexpectedText,
    /// An element's value is not what the protocol allows.
    InvalidValue {
        /// What was expected, e.g. "a positive integer".
        expected: &'static str,
        /// The value found (truncated).
        found: String,
    },
    /// Content after the root element.
    TrailingContent,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {} ({}): {}", self.offset, self.path, self.kind)
    }
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { size, limit } => {
                write!(f, "message of {size} bytes exceeds the limit of {limit}")
            }
            Self::TooDeep { limit } => write!(f, "elements nested deeper than {limit}"),
            Self::TooManyCommands { limit } => write!(f, "more than {limit} commands"),
            Self::InvalidUtf8 => f.write_str("invalid UTF-8"),
            Self::ForbiddenCharacter(c) => write!(f, "character U+{c:04X} is not allowed in XML"),
            Self::Doctype => f.write_str("DOCTYPE and entity declarations are refused"),
            Self::UndefinedEntity(name) => write!(f, "undefined entity &{name};"),
            Self::Syntax(msg) => write!(f, "malformed XML: {msg}"),
            Self::NotSyncMl(found) => write!(f, "not a SyncML message: {found}"),
            Self::UnexpectedElement(name) => write!(f, "unexpected element <{name}>"),
            Self::MissingElement(name) => write!(f, "missing <{name}>"),
            Self::DuplicateElement(name) => write!(f, "<{name}> appears more than once"),
            Self::WrongNamespace(ns) => write!(f, "wrong namespace {ns}"),
            Self::UnexpectedText => f.write_str("unexpected character data"),
            Self::InvalidValue { expected, found } => {
                write!(f, "expected {expected}, found {found:?}")
            }
            Self::TrailingContent => f.write_str("content after the root element"),
        }
    }
}

impl std::error::Error for ParseError {}
