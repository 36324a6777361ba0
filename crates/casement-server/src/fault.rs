//! What went wrong, grouped by whose fault it is. Every service error says its [`Fault`]
//! ([`Faulty`]); the fault alone decides the answer — the HTTP status and the API's error code —
//! in one place ([`Fault::status`], [`Fault::code`]) for the API and the web pages alike, so a
//! new error variant is classified once, where it is defined, and not again by each handler.

use axum::http::StatusCode;
use casement_store::StoreError;

use crate::services::admins::{CreateAdminError, SetRoleError};
use crate::services::commands::QueueError;
use crate::services::installs::InstallError;
use crate::services::users::CreateUserError;

/// Whose fault a failure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request is malformed or a value is invalid: the caller's to fix (400).
    BadRequest,
    /// Well-formed, but a rule refuses it (unsupported on the device's platform, SyncML that is
    /// not a command): the caller's to change (422).
    Refused,
    /// It names something that does not exist (404).
    NotFound,
    /// It conflicts with the current state: exists already, the device is retired, the command
    /// is no longer pending (409).
    Conflict,
    /// The server is at capacity for this kind of work: try again shortly (429).
    Busy,
    /// Storage is unavailable or failed: the server's, try again later (503).
    Unavailable,
}

impl Fault {
    /// The HTTP status it is answered with.
    pub const fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Refused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::Busy => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The API's `error` code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::Refused => "refused",
            Self::NotFound => "not-found",
            Self::Conflict => "conflict",
            Self::Busy => "busy",
            Self::Unavailable => "unavailable",
        }
    }
}

/// An error that knows whose fault it is. Its `Display` is the reason given to the caller,
/// except for [`Fault::Unavailable`], whose detail is logged and never shown.
pub trait Faulty: std::fmt::Display {
    /// Whose fault.
    fn fault(&self) -> Fault;

    /// The API's `error` code: the fault's, unless the error has a more precise one.
    fn code(&self) -> &'static str {
        self.fault().code()
    }

    /// The reason given to the caller.
    fn reason(&self) -> String {
        self.to_string()
    }
}

impl Faulty for StoreError {
    fn fault(&self) -> Fault {
        match self {
            StoreError::NotFound(_) => Fault::NotFound,
            StoreError::Conflict(_) => Fault::Conflict,
            _ => Fault::Unavailable,
        }
    }

    fn reason(&self) -> String {
        match self {
            StoreError::NotFound(what) | StoreError::Conflict(what) => what.clone(),
            other => other.to_string(),
        }
    }
}

impl Faulty for QueueError {
    fn fault(&self) -> Fault {
        match self {
            QueueError::UnknownDevice => Fault::NotFound,
            QueueError::Retired => Fault::Conflict,
            QueueError::Refused(_) => Fault::Refused,
            QueueError::Store(e) => e.fault(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            QueueError::Retired => "retired",
            other => other.fault().code(),
        }
    }
}

impl Faulty for InstallError {
    fn fault(&self) -> Fault {
        match self {
            InstallError::UnknownApp => Fault::NotFound,
            InstallError::NoPayload(_) => Fault::Refused,
            InstallError::Queue(e) => e.fault(),
            InstallError::Store(e) => e.fault(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            InstallError::Queue(e) => e.code(),
            other => other.fault().code(),
        }
    }
}

impl Faulty for CreateUserError {
    fn fault(&self) -> Fault {
        match self {
            CreateUserError::Invalid(_) => Fault::BadRequest,
            CreateUserError::Exists(_) => Fault::Conflict,
            CreateUserError::Store(e) => e.fault(),
            CreateUserError::Busy(_) => Fault::Busy,
        }
    }
}

impl Faulty for CreateAdminError {
    fn fault(&self) -> Fault {
        match self {
            CreateAdminError::Invalid(_) => Fault::BadRequest,
            CreateAdminError::Exists(_) => Fault::Conflict,
            CreateAdminError::Store(e) => e.fault(),
            CreateAdminError::Busy(_) => Fault::Busy,
        }
    }
}

impl Faulty for SetRoleError {
    fn fault(&self) -> Fault {
        match self {
            SetRoleError::Unknown(_) => Fault::NotFound,
            SetRoleError::LastAdministrator(_) => Fault::Conflict,
            SetRoleError::Store(e) => e.fault(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SetRoleError::LastAdministrator(_) => "last-administrator",
            other => other.fault().code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_has_its_own_status_and_code() {
        let all = [
            Fault::BadRequest,
            Fault::Refused,
            Fault::NotFound,
            Fault::Conflict,
            Fault::Busy,
            Fault::Unavailable,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.status(), b.status(), "{a:?} {b:?}");
                assert_ne!(a.code(), b.code(), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn service_errors_are_classified_where_they_are_defined() {
        assert_eq!(QueueError::Retired.fault(), Fault::Conflict);
        assert_eq!(QueueError::Retired.code(), "retired");
        assert_eq!(
            InstallError::Queue(QueueError::Refused("x".into())).fault(),
            Fault::Refused
        );
        assert_eq!(
            InstallError::Store(StoreError::Unavailable("db".into())).fault(),
            Fault::Unavailable
        );
        assert_eq!(
            CreateUserError::Exists("a@x".into()).fault(),
            Fault::Conflict
        );
    }
}
