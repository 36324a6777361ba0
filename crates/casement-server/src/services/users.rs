//! The user directory: creation and password checks.

use casement_store::{NewUser, StoreError, User};

use crate::services::signin::{self, Account, SignInError};
use crate::state::AppState;

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// The input is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The UPN is taken.
    #[error("a user with UPN {0} exists already")]
    Exists(String),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
    /// The password pool is full: try again shortly.
    #[error(transparent)]
    Busy(#[from] crate::password::PoolBusy),
}

/// Creates a user with an argon2id-hashed password. UPNs look like e-mail addresses.
pub async fn create_user(
    state: &AppState,
    upn: &str,
    password: &str,
    display_name: Option<&str>,
) -> Result<User, CreateUserError> {
    let upn = upn.trim();
    // Usually user@domain, but Windows sends whatever the user typed at the credential prompt
    // (the real capture has a bare "demio"), so a plain account name is accepted too.
    let valid_upn = !upn.is_empty()
        && upn.len() <= 256
        && !upn.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid_upn {
        return Err(CreateUserError::Invalid(format!(
            "UPN {upn:?} must be 1 to 256 characters without spaces"
        )));
    }
    if password.chars().count() < 8 || password.len() > 1024 {
        return Err(CreateUserError::Invalid(
            "password must have 8 to 1024 characters".into(),
        ));
    }
    let hash = state
        .hash_pool
        .hash(password)
        .await?
        .map_err(CreateUserError::Invalid)?;
    let new = NewUser {
        id: uuid::Uuid::new_v4().to_string(),
        upn: upn.to_owned(),
        display_name: display_name
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .unwrap_or(upn)
            .to_owned(),
        password_hash: hash,
        created_at: state.clock.now_ms(),
    };
    state.store.create_user(&new).await.map_err(|e| match e {
        StoreError::Conflict(_) => CreateUserError::Exists(upn.to_owned()),
        other => CreateUserError::Store(other),
    })
}

/// The user if `password` is theirs, checked under the sign-in throttle
/// ([`signin`](crate::services::signin)) from `address` (its `login_failures` key). An unknown
/// user costs the same time as a wrong password. A success is remembered for a few minutes
/// ([`VerifiedCredentials`]), since an OnPremise enrollment presents the same password twice
/// (GetPolicies, then RequestSecurityToken); a remembered success needs no new check.
pub async fn authenticate(
    state: &AppState,
    upn: &str,
    password: &str,
    address: &str,
) -> Result<Option<User>, SignInError> {
    let user = state.store.user_by_upn(upn.trim()).await?;
    if let Some(u) = &user
        && state.services.verified_credentials.contains(u, password)
    {
        return Ok(user);
    }
    let stored = user.as_ref().map(|u| u.password_hash.as_str());
    let ok = signin::check(state, Account::User(upn), address, password, stored).await?;
    if let (true, Some(u)) = (ok, &user) {
        state.services.verified_credentials.remember(u, password);
    }
    Ok(user.filter(|_| ok))
}

/// Recently verified (user, password) pairs, by a keyed SHA-256 of user id, stored hash and
/// password: never the password itself. Only successes are kept, for [`Self::TTL`]; a changed
/// password (new stored hash) never matches an old entry. Memory is bounded.
#[derive(Debug)]
pub struct VerifiedCredentials {
    key: [u8; 32],
    entries: std::sync::Mutex<std::collections::HashMap<[u8; 32], std::time::Instant>>,
}

impl Default for VerifiedCredentials {
    fn default() -> Self {
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
        Self {
            key,
            entries: std::sync::Mutex::default(),
        }
    }
}

impl VerifiedCredentials {
    /// How long a verification is remembered.
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(300);
    const MAX_ENTRIES: usize = 100_000;

    fn digest(&self, user: &User, password: &str) -> [u8; 32] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for part in [
            &self.key[..],
            user.id.as_bytes(),
            user.password_hash.as_bytes(),
            password.as_bytes(),
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        h.finalize().into()
    }

    fn contains(&self, user: &User, password: &str) -> bool {
        let digest = self.digest(user, password);
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&digest)
            .is_some_and(|at| at.elapsed() < Self::TTL)
    }

    fn remember(&self, user: &User, password: &str) {
        let digest = self.digest(user, password);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, at| at.elapsed() < Self::TTL);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(digest, std::time::Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(hash: &str) -> User {
        User {
            id: "u1".into(),
            upn: "alice".into(),
            display_name: "Alice".into(),
            password_hash: hash.into(),
            created_at: 0,
        }
    }

    #[test]
    fn a_verified_password_is_remembered_for_that_user_and_hash_only() {
        let cache = VerifiedCredentials::default();
        assert!(!cache.contains(&user("h1"), "pw"));
        cache.remember(&user("h1"), "pw");
        assert!(cache.contains(&user("h1"), "pw"));
        assert!(!cache.contains(&user("h1"), "other"), "another password");
        assert!(
            !cache.contains(&user("h2"), "pw"),
            "the password was changed"
        );
        let other_key = VerifiedCredentials::default();
        assert!(!other_key.contains(&user("h1"), "pw"), "keyed per process");
    }
}
