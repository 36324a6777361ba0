//! The checks a profile passes at creation, each with a precise message (docs/profiles.md).
//! STUB: to be completed (LocURI syntax, scope, value against format, sizes, DDF).

use casement_platform::Platform;

use super::setting::{ProfileScope, Setting};

/// The most settings one profile may have.
pub const MAX_SETTINGS: usize = 500;
/// The longest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// The longest LocURI, in bytes.
pub const MAX_LOC_URI_BYTES: usize = 1024;

/// Why a profile was refused: which setting (0-based index and node, when one is at fault) and
/// the reason in words, meant for the API's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct Invalid {
    /// The index of the setting at fault.
    pub setting: Option<usize>,
    /// Its node.
    pub loc_uri: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl Invalid {
    /// A reason about the profile as a whole.
    pub fn profile(reason: impl Into<String>) -> Self {
        Self {
            setting: None,
            loc_uri: None,
            reason: reason.into(),
        }
    }

    /// A reason about setting `index`.
    pub fn setting(index: usize, setting: &Setting, reason: impl Into<String>) -> Self {
        Self {
            setting: Some(index),
            loc_uri: Some(setting.loc_uri.clone()),
            reason: reason.into(),
        }
    }

    /// "setting 2 (./Device/…/AllowCamera): value \"yes\" is not an int".
    pub fn message(&self) -> String {
        match (&self.setting, &self.loc_uri) {
            (Some(i), Some(uri)) => format!("setting {} ({uri}): {}", i + 1, self.reason),
            _ => self.reason.clone(),
        }
    }
}

/// Checks a profile: its name, platforms, scope and every setting.
pub fn validate_profile(
    name: &str,
    platforms: &[Platform],
    scope: ProfileScope,
    settings: &[Setting],
) -> Result<(), Invalid> {
    let _ = (platforms, scope);
    if name.trim().is_empty() {
        return Err(Invalid::profile("the profile needs a name"));
    }
    if settings.is_empty() {
        return Err(Invalid::profile("the profile has no settings"));
    }
    Ok(())
}
