//! Personal API tokens (issue 15): an administrator creates one for itself or for a service
//! account, with a name, a role and an expiry. The token is shown once; storage keeps only its
//! SHA-256 (`authz::token_hash`); it can be revoked; its last use is recorded
//! (`authz::authenticate_bearer`).

use casement_store::{ApiToken, Role, StoreError};
use serde::Deserialize;

use crate::authz::{self, Principal};
use crate::state::AppState;

/// Longest lifetime of a token.
pub const MAX_DAYS: u32 = 3650;
/// Lifetime when none is given.
pub const DEFAULT_DAYS: u32 = 90;
const DAY_MS: i64 = 86_400_000;

/// What to create.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// A name for people, 1 to 100 characters.
    pub name: String,
    /// The role it acts with.
    pub role: Role,
    /// Days until it stops working (default 90, at most 3650).
    pub expires_in_days: Option<u32>,
    /// The service account it is for; without it, the token is the creator's own.
    pub service_account: Option<String>,
}

/// A token just created: the stored row and, this once, its value.
#[derive(Debug, Clone)]
pub struct Created {
    /// The row.
    pub token: ApiToken,
    /// The value to give to its user (never shown again).
    pub secret: String,
}

/// Why a token was not created.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The input is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates a token for `creator` (who must hold `tokens.manage`; the route checks it).
pub async fn create(
    state: &AppState,
    creator: &Principal,
    new: &NewToken,
) -> Result<Created, TokenError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(TokenError::Invalid(
            "name must be 1 to 100 characters without control characters".into(),
        ));
    }
    let days = new.expires_in_days.unwrap_or(DEFAULT_DAYS);
    if days == 0 || days > MAX_DAYS {
        return Err(TokenError::Invalid(format!(
            "expires_in_days must be 1 to {MAX_DAYS}"
        )));
    }
    let owner = match new.service_account.as_deref().map(str::trim) {
        Some(account) => {
            let valid = !account.is_empty()
                && account.len() <= 64
                && account
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
            if !valid {
                return Err(TokenError::Invalid(
                    "service_account must be 1 to 64 letters, digits, '-', '_', '.' or '@'".into(),
                ));
            }
            format!("service:{account}")
        }
        None => creator.actor(),
    };
    let secret = authz::new_token();
    let now = state.clock.now_ms();
    let token = ApiToken {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        role: new.role,
        owner,
        token_hash: authz::token_hash(&secret),
        created_by: creator.actor(),
        created_at: now,
        expires_at: now + i64::from(days) * DAY_MS,
        revoked_at: None,
        last_used_at: None,
    };
    state.store.create_api_token(&token).await?;
    crate::services::audit::record(
        state,
        &creator.actor(),
        "token.create",
        Some(&token.id),
        serde_json::json!({ "name": token.name, "role": token.role.as_str(), "owner": token.owner, "expires_at": token.expires_at }),
    )
    .await;
    Ok(Created { token, secret })
}

/// Revokes a token (unknown: [`StoreError::NotFound`]).
pub async fn revoke(state: &AppState, actor: &Principal, id: &str) -> Result<ApiToken, StoreError> {
    let token = state
        .store
        .revoke_api_token(id, state.clock.now_ms())
        .await?;
    crate::services::audit::record(
        state,
        &actor.actor(),
        "token.revoke",
        Some(id),
        serde_json::json!({ "name": token.name }),
    )
    .await;
    Ok(token)
}

/// A token's state in words: `active`, `revoked`, `expired`.
pub fn status(token: &ApiToken, now: i64) -> &'static str {
    if token.revoked_at.is_some() {
        "revoked"
    } else if now >= token.expires_at {
        "expired"
    } else {
        "active"
    }
}
