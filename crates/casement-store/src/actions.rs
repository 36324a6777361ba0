//! Requests for a device action that wait for a second administrator's approval (issue 15
//! part 1: with `wipe_approval` on, a wipe is recorded here and queued only when a *different*
//! administrator or token approves it). The command queue is not touched until then.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::StoreResult;

/// Where an action request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionRequestState {
    /// Waits for a second administrator.
    Pending,
    /// Approved: its commands were queued.
    Approved,
    /// Rejected: nothing was queued.
    Rejected,
}

impl ActionRequestState {
    /// Every state.
    pub const ALL: [ActionRequestState; 3] = [Self::Pending, Self::Approved, Self::Rejected];

    /// The stored and API name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// From its name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A device action asked for, waiting for (or past) its approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRequest {
    /// Id (a UUID).
    pub id: String,
    /// The device.
    pub device_id: String,
    /// The command kind (`wipe`).
    pub action: String,
    /// The command request as JSON (`casement_dm::catalog::CommandRequest`).
    pub payload: String,
    /// Who asked (the audit actor).
    pub requested_by: String,
    /// When.
    pub requested_at: i64,
    /// Who approved or rejected it.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<i64>,
    /// Where it stands.
    pub state: ActionRequestState,
}

/// Action requests.
#[async_trait]
pub trait ActionRequestStore: Send + Sync {
    /// Stores a new (pending) request. An id that exists already is
    /// [`crate::StoreError::Conflict`].
    async fn create_action_request(&self, request: &ActionRequest) -> StoreResult<()>;
    /// The request with this id, or `None`.
    async fn action_request(&self, id: &str) -> StoreResult<Option<ActionRequest>>;
    /// The latest requests, newest first, at most `limit`.
    async fn list_action_requests(&self, limit: u32) -> StoreResult<Vec<ActionRequest>>;
    /// Moves a pending request to `state` (approved or rejected) by `by` at `now`, atomically:
    /// of two deciders only one wins. Unknown: [`crate::StoreError::NotFound`]; no longer
    /// pending: [`crate::StoreError::Conflict`]. Returns the request as decided.
    async fn decide_action_request(
        &self,
        id: &str,
        state: ActionRequestState,
        by: &str,
        now: i64,
    ) -> StoreResult<ActionRequest>;
}
