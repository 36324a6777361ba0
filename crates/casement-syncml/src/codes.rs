//! SyncML status codes and alert codes as Windows uses them.
//!
//! Sources: OMA SyncML Representation Protocol §10 (status codes), [MS-MDM] §2.2.7.2 (alert codes),
//! windows-itpro-docs `oma-dm-protocol-support.md` (the Windows status table).

/// Declares a code enum with explicit known values, an `Other` escape hatch and a doc line per value.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[doc = $doc:literal])* $variant:ident = $value:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(from = "u16", into = "u16")]
        pub enum $name {
            $($(#[doc = $doc])* $variant,)*
            /// A code this crate has no name for; kept as received.
            Other(u16),
        }

        impl $name {
            /// The numeric code on the wire.
            pub const fn code(self) -> u16 {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Other(code) => code,
                }
            }

            /// The code for a number; unknown numbers become [`Self::Other`].
            pub const fn from_code(code: u16) -> Self {
                match code {
                    $($value => Self::$variant,)*
                    other => Self::Other(other),
                }
            }

            /// The spec's one-line meaning, or `"unknown"`.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(Self::$variant => concat!($($doc),*),)*
                    Self::Other(_) => "unknown",
                }
            }
        }

        impl From<u16> for $name {
            fn from(code: u16) -> Self {
                Self::from_code(code)
            }
        }

        impl From<$name> for u16 {
            fn from(code: $name) -> u16 {
                code.code()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.code())
            }
        }
    };
}

code_enum! {
    /// A SyncML `Status/Data` code.
    StatusCode {
        /// OK: the command completed successfully.
        Ok = 200,
        /// Accepted for processing: the command is handled asynchronously (Exec).
        AcceptedForProcessing = 202,
        /// Authentication accepted: no further authentication is needed in this session.
        AuthenticationAccepted = 212,
        /// Chunked item accepted and buffered (large object, OMA).
        ChunkedItemAccepted = 213,
        /// Operation cancelled: no further commands are processed.
        OperationCancelled = 214,
        /// Not executed: the user cancelled the command.
        NotExecuted = 215,
        /// Atomic roll back OK.
        AtomicRollBackOk = 216,
        /// Bad request: the command could not be performed because of malformed syntax.
        BadRequest = 400,
        /// Invalid credentials.
        InvalidCredentials = 401,
        /// Forbidden.
        Forbidden = 403,
        /// Not found: the target was not found.
        NotFound = 404,
        /// Command not allowed on the target (e.g. a read-only node).
        CommandNotAllowed = 405,
        /// Optional feature not supported.
        OptionalFeatureNotSupported = 406,
        /// Missing credentials: authentication is required.
        MissingCredentials = 407,
        /// Unsupported media type or format.
        UnsupportedMediaType = 415,
        /// Already exists: the target already exists.
        AlreadyExists = 418,
        /// Permission denied.
        PermissionDenied = 425,
        /// Command failed: a generic failure on the recipient.
        CommandFailed = 500,
        /// Atomic failed: one command of the Atomic failed, the whole Atomic was rolled back.
        AtomicFailed = 507,
        /// Atomic roll back failed.
        AtomicRollBackFailed = 516,
    }
}

impl StatusCode {
    /// True for the 2xx class (success, including accepted-pending).
    pub const fn is_success(self) -> bool {
        matches!(self.code(), 200..=299)
    }
}

code_enum! {
    /// A SyncML `Alert/Data` code ([MS-MDM] §2.2.7.2).
    AlertCode {
        /// Display: the server asks the client to show a message.
        Display = 1100,
        /// Server-initiated management session.
        ServerInitiatedMgmt = 1200,
        /// Client-initiated management session.
        ClientInitiatedMgmt = 1201,
        /// Next message: the recipient asks for the next message of a package.
        NextMessage = 1222,
        /// Session abort: the sender ends the session at once.
        SessionAbort = 1223,
        /// Client event (LoginStatus, request pending, …), typed by `Item/Meta/Type`.
        ClientEvent = 1224,
        /// No end of data (large object).
        NoEndOfData = 1225,
        /// Generic alert (e.g. user-requested unenrollment), typed by `Item/Meta/Type`.
        Generic = 1226,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_round_trip_through_numbers() {
        for code in [
            200u16, 202, 212, 213, 214, 215, 216, 400, 401, 403, 404, 405, 406, 407, 415, 418, 425,
            500, 507, 516,
        ] {
            let status = StatusCode::from_code(code);
            assert!(
                !matches!(status, StatusCode::Other(_)),
                "{code} should be known"
            );
            assert_eq!(status.code(), code);
        }
        assert_eq!(StatusCode::from_code(299), StatusCode::Other(299));
        assert_eq!(AlertCode::from_code(1226), AlertCode::Generic);
        assert_eq!(AlertCode::Generic.code(), 1226);
    }

    #[test]
    fn meanings_come_from_the_doc_lines() {
        assert!(StatusCode::NotFound.meaning().contains("not found"));
        assert_eq!(StatusCode::Other(999).meaning(), "unknown");
        assert!(StatusCode::AcceptedForProcessing.is_success());
        assert!(!StatusCode::CommandFailed.is_success());
    }
}
