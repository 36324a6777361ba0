//! Administrator accounts of the console: creation and password checks. Separate from the user
//! directory (end users) and from the API's admin token.

use casement_store::{Admin, NewAdmin, Role, StoreError};

use crate::services::signin::{self, Account, SignInError};
use crate::state::AppState;

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateAdminError {
    /// The input is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The name is taken.
    #[error("an administrator named {0} exists already")]
    Exists(String),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
    /// The password pool is full: try again shortly.
    #[error(transparent)]
    Busy(#[from] crate::password::PoolBusy),
}

/// Why a role could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum SetRoleError {
    /// No such account.
    #[error("no administrator account {0}")]
    Unknown(String),
    /// It is the last account with the administrator role: taking it would leave nobody who can
    /// manage accounts, tokens or approve a wipe from the console.
    #[error(
        "{0} is the last administrator account; give another account the administrator role first"
    )]
    LastAdministrator(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Gives an account a role, for the API and the console alike. The last account with the
/// administrator role keeps it (two concurrent demotions of the last two can still pass each
/// other's check; the bootstrap token, unless disabled, remains an administrator either way).
pub async fn set_role(state: &AppState, id: &str, role: Role) -> Result<Admin, SetRoleError> {
    let admin = state
        .store
        .admin_by_id(id)
        .await?
        .ok_or_else(|| SetRoleError::Unknown(id.to_owned()))?;
    if admin.role == Role::Administrator && role != Role::Administrator {
        let administrators = state
            .store
            .list_admins()
            .await?
            .iter()
            .filter(|a| a.role == Role::Administrator)
            .count();
        if administrators <= 1 {
            return Err(SetRoleError::LastAdministrator(admin.username));
        }
    }
    state.store.set_admin_role(id, role).await?;
    Ok(Admin { role, ..admin })
}

/// Creates an administrator with an argon2id-hashed password. Names are 1 to 64 characters
/// without spaces or control characters; passwords 12 to 1024 characters (an administrator can
/// do everything, so a longer minimum than end users').
pub async fn create_admin(
    state: &AppState,
    username: &str,
    password: &str,
    display_name: Option<&str>,
    role: Role,
) -> Result<Admin, CreateAdminError> {
    let username = username.trim();
    let valid = !username.is_empty()
        && username.chars().count() <= 64
        && !username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(CreateAdminError::Invalid(format!(
            "name {username:?} must be 1 to 64 characters without spaces"
        )));
    }
    if password.chars().count() < 12 || password.len() > 1024 {
        return Err(CreateAdminError::Invalid(
            "an administrator's password must have 12 to 1024 characters".into(),
        ));
    }
    let hash = state
        .hash_pool
        .hash(password)
        .await?
        .map_err(CreateAdminError::Invalid)?;
    let new = NewAdmin {
        id: uuid::Uuid::new_v4().to_string(),
        username: username.to_owned(),
        display_name: display_name
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .unwrap_or(username)
            .to_owned(),
        password_hash: hash,
        role,
        created_at: state.clock.now_ms(),
    };
    state.store.create_admin(&new).await.map_err(|e| match e {
        StoreError::Conflict(_) => CreateAdminError::Exists(username.to_owned()),
        other => CreateAdminError::Store(other),
    })
}

/// The account if `password` is its password, checked under the sign-in throttle
/// ([`signin`](crate::services::signin)) from `address`. An unknown name costs the same time as a
/// wrong password.
pub async fn authenticate(
    state: &AppState,
    username: &str,
    password: &str,
    address: &str,
) -> Result<Option<Admin>, SignInError> {
    let admin = state.store.admin_by_username(username.trim()).await?;
    let stored = admin.as_ref().map(|a| a.password_hash.as_str());
    let ok = signin::check(state, Account::Admin(username), address, password, stored).await?;
    Ok(admin.filter(|_| ok))
}
