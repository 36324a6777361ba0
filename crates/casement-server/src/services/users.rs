//! The user directory: creation and password checks.

use casement_store::{NewUser, StoreError, User};

use crate::clock::now_ms;
use crate::password;
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
    let hash = password::hash(password).map_err(CreateUserError::Invalid)?;
    let new = NewUser {
        id: uuid::Uuid::new_v4().to_string(),
        upn: upn.to_owned(),
        display_name: display_name
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .unwrap_or(upn)
            .to_owned(),
        password_hash: hash,
        created_at: now_ms(),
    };
    state.store.create_user(&new).await.map_err(|e| match e {
        StoreError::Conflict(_) => CreateUserError::Exists(upn.to_owned()),
        other => CreateUserError::Store(other),
    })
}

/// The user if `password` is theirs. An unknown user costs the same time as a wrong password.
pub async fn authenticate(
    state: &AppState,
    upn: &str,
    password: &str,
) -> Result<Option<User>, StoreError> {
    let user = state.store.user_by_upn(upn.trim()).await?;
    let hash = user
        .as_ref()
        .map_or(password::dummy_hash(), |u| u.password_hash.as_str())
        .to_owned();
    let password = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || password::verify(&password, &hash))
        .await
        .unwrap_or(false);
    Ok(user.filter(|_| ok))
}
