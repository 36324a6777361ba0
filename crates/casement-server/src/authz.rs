//! Who may do what (issue 15): the roles, the permissions they grant, and the one table of every
//! admin API route and console action with the permission it needs, enforced by one function
//! ([`require`]) for the API and the console alike.
//!
//! | permission | administrator | operator | helpdesk | auditor |
//! |---|---|---|---|---|
//! | `devices.read`, `apps.read`, `users.read`, `audit.read`, `events.read`, `metrics.read` | yes | yes | yes | yes |
//! | `accounts.read`, `tokens.read`, `webhooks.read` | yes | no | no | yes |
//! | `inventory.queue`, `password.reset`, `device.lock`, `device.reboot` | yes | yes | yes | no |
//! | `commands.queue`, `commands.cancel`, `installs.create`, `apps.manage`, `profiles.manage`, `groups.manage` | yes | yes | no | no |
//! | `device.wipe`, `users.manage`, `accounts.manage`, `tokens.manage`, `webhooks.manage` | yes | no | no | no |
//!
//! A route missing from [`API_ROUTES`] or [`CONSOLE_ROUTES`] is refused for everyone (fail
//! closed), and the permission matrix test walks both tables, so a new route cannot forget its
//! permission. Queueing a command needs the permission of its kind ([`command_permission`]):
//! the route is marked [`Need::CommandKind`] and the handler calls [`require`] once it has read
//! the kind. Every refusal is a 403 naming the missing permission and is written to the audit
//! log.

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use casement_store::{Role, StoreError};
use serde_json::json;
use sha2::Digest;

use crate::state::AppState;

/// What an action needs. Adding one: a variant, its name, its row in [`GRANTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Devices, their commands, sessions, installs, the device list as CSV.
    DevicesRead,
    /// The app catalog.
    AppsRead,
    /// The user directory.
    UsersRead,
    /// The audit log.
    AuditRead,
    /// The event log.
    EventsRead,
    /// `/metrics`.
    MetricsRead,
    /// Administrator accounts and their roles.
    AccountsRead,
    /// Personal API tokens (never their values).
    TokensRead,
    /// Webhook endpoints and their delivery logs.
    WebhooksRead,
    /// Queue an inventory request.
    InventoryQueue,
    /// Queue a password reset.
    PasswordReset,
    /// Lock a device (device actions, issue 15 part 1).
    DeviceLock,
    /// Reboot a device (device actions, issue 15 part 1).
    DeviceReboot,
    /// Wipe a device (device actions, issue 15 part 1).
    DeviceWipe,
    /// Queue any other command (unenroll, push configuration, raw SyncML).
    CommandsQueue,
    /// Cancel a pending command.
    CommandsCancel,
    /// Put a device under investigation: every session keeps its messages (docs/retention.md).
    SessionsRecord,
    /// Install an app on a device.
    InstallsCreate,
    /// Add apps to the catalog.
    AppsManage,
    /// Configuration profiles (issue 14).
    ProfilesManage,
    /// Device groups (issue 14).
    GroupsManage,
    /// Add end users to the directory.
    UsersManage,
    /// Create administrator accounts, change their roles.
    AccountsManage,
    /// Create and revoke personal API tokens (anyone's).
    TokensManage,
    /// Create and delete webhooks.
    WebhooksManage,
}

const A: bool = true;
const N: bool = false;

/// The grant table: each permission, then whether administrator, operator, helpdesk, auditor
/// hold it (the columns of [`Role::ALL`]).
pub const GRANTS: &[(Permission, [bool; 4])] = &[
    (Permission::DevicesRead, [A, A, A, A]),
    (Permission::AppsRead, [A, A, A, A]),
    (Permission::UsersRead, [A, A, A, A]),
    (Permission::AuditRead, [A, A, A, A]),
    (Permission::EventsRead, [A, A, A, A]),
    (Permission::MetricsRead, [A, A, A, A]),
    (Permission::AccountsRead, [A, N, N, A]),
    (Permission::TokensRead, [A, N, N, A]),
    (Permission::WebhooksRead, [A, N, N, A]),
    (Permission::InventoryQueue, [A, A, A, N]),
    (Permission::PasswordReset, [A, A, A, N]),
    (Permission::DeviceLock, [A, A, A, N]),
    (Permission::DeviceReboot, [A, A, A, N]),
    (Permission::DeviceWipe, [A, N, N, N]),
    (Permission::CommandsQueue, [A, A, N, N]),
    (Permission::CommandsCancel, [A, A, N, N]),
    (Permission::SessionsRecord, [A, A, N, N]),
    (Permission::InstallsCreate, [A, A, N, N]),
    (Permission::AppsManage, [A, A, N, N]),
    (Permission::ProfilesManage, [A, A, N, N]),
    (Permission::GroupsManage, [A, A, N, N]),
    (Permission::UsersManage, [A, N, N, N]),
    (Permission::AccountsManage, [A, N, N, N]),
    (Permission::TokensManage, [A, N, N, N]),
    (Permission::WebhooksManage, [A, N, N, N]),
];

impl Permission {
    /// Every permission, in table order.
    pub fn all() -> impl Iterator<Item = Permission> {
        GRANTS.iter().map(|(p, _)| *p)
    }

    /// The name shown in refusals and documents.
    pub const fn name(self) -> &'static str {
        match self {
            Self::DevicesRead => "devices.read",
            Self::AppsRead => "apps.read",
            Self::UsersRead => "users.read",
            Self::AuditRead => "audit.read",
            Self::EventsRead => "events.read",
            Self::MetricsRead => "metrics.read",
            Self::AccountsRead => "accounts.read",
            Self::TokensRead => "tokens.read",
            Self::WebhooksRead => "webhooks.read",
            Self::InventoryQueue => "inventory.queue",
            Self::PasswordReset => "password.reset",
            Self::DeviceLock => "device.lock",
            Self::DeviceReboot => "device.reboot",
            Self::DeviceWipe => "device.wipe",
            Self::CommandsQueue => "commands.queue",
            Self::CommandsCancel => "commands.cancel",
            Self::SessionsRecord => "sessions.record",
            Self::InstallsCreate => "installs.create",
            Self::AppsManage => "apps.manage",
            Self::ProfilesManage => "profiles.manage",
            Self::GroupsManage => "groups.manage",
            Self::UsersManage => "users.manage",
            Self::AccountsManage => "accounts.manage",
            Self::TokensManage => "tokens.manage",
            Self::WebhooksManage => "webhooks.manage",
        }
    }
}

/// Whether `role` holds `permission`.
pub fn grants(role: Role, permission: Permission) -> bool {
    let column = Role::ALL.iter().position(|r| *r == role).unwrap_or(0);
    GRANTS
        .iter()
        .find(|(p, _)| *p == permission)
        .is_some_and(|(_, roles)| roles[column])
}

/// The permissions a role holds, in table order.
pub fn permissions_of(role: Role) -> Vec<Permission> {
    Permission::all().filter(|p| grants(role, *p)).collect()
}

/// The permission queueing a command of this API `kind` needs.
pub fn command_permission(kind: &str) -> Permission {
    match kind {
        "inventory" => Permission::InventoryQueue,
        "reset-password" => Permission::PasswordReset,
        "lock" => Permission::DeviceLock,
        "reboot" => Permission::DeviceReboot,
        "wipe" => Permission::DeviceWipe,
        _ => Permission::CommandsQueue,
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// This permission, checked before the handler runs (and before the body is read).
    Permission(Permission),
    /// The permission of the command kind in the body ([`command_permission`]), checked by the
    /// handler through [`require`] once it has read it.
    CommandKind,
    /// No role: the sign-in pages, this document, the portal (its own session, its own
    /// devices).
    Open,
}

/// One row of the route tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// HTTP method.
    pub method: &'static str,
    /// The route as the router matches it.
    pub path: &'static str,
    /// What it needs.
    pub need: Need,
}

const fn rule(method: &'static str, path: &'static str, permission: Permission) -> Rule {
    Rule {
        method,
        path,
        need: Need::Permission(permission),
    }
}

const fn by_kind(method: &'static str, path: &'static str) -> Rule {
    Rule {
        method,
        path,
        need: Need::CommandKind,
    }
}

const fn open(method: &'static str, path: &'static str) -> Rule {
    Rule {
        method,
        path,
        need: Need::Open,
    }
}

use Permission as P;

/// Every admin API route (bearer token) and what it needs.
pub const API_ROUTES: &[Rule] = &[
    rule("GET", "/api/v1/devices", P::DevicesRead),
    rule("GET", "/api/v1/devices.csv", P::DevicesRead),
    rule("GET", "/api/v1/devices/{id}", P::DevicesRead),
    rule("GET", "/api/v1/devices/{id}/commands", P::DevicesRead),
    by_kind("POST", "/api/v1/devices/{id}/commands"),
    rule("GET", "/api/v1/devices/{id}/sessions", P::DevicesRead),
    rule("PUT", "/api/v1/devices/{id}/recording", P::SessionsRecord),
    rule(
        "DELETE",
        "/api/v1/devices/{id}/recording",
        P::SessionsRecord,
    ),
    by_kind("POST", "/api/v1/commands"),
    rule("GET", "/api/v1/commands/{id}", P::DevicesRead),
    rule("POST", "/api/v1/commands/{id}/cancel", P::CommandsCancel),
    rule("GET", "/api/v1/sessions/{id}", P::DevicesRead),
    rule("GET", "/api/v1/users", P::UsersRead),
    rule("POST", "/api/v1/users", P::UsersManage),
    rule("GET", "/api/v1/apps", P::AppsRead),
    rule("POST", "/api/v1/apps", P::AppsManage),
    rule("GET", "/api/v1/devices/{id}/installs", P::DevicesRead),
    rule("POST", "/api/v1/devices/{id}/installs", P::InstallsCreate),
    rule("GET", "/api/v1/installs/{id}", P::DevicesRead),
    rule("GET", "/api/v1/audit", P::AuditRead),
    rule("GET", "/api/v1/admins", P::AccountsRead),
    rule("POST", "/api/v1/admins", P::AccountsManage),
    rule("POST", "/api/v1/admins/{id}/role", P::AccountsManage),
    rule("GET", "/api/v1/tokens", P::TokensRead),
    rule("POST", "/api/v1/tokens", P::TokensManage),
    rule("DELETE", "/api/v1/tokens/{id}", P::TokensManage),
    rule("GET", "/api/v1/events", P::EventsRead),
    rule("GET", "/api/v1/webhooks", P::WebhooksRead),
    rule("POST", "/api/v1/webhooks", P::WebhooksManage),
    rule("DELETE", "/api/v1/webhooks/{id}", P::WebhooksManage),
    rule("GET", "/api/v1/webhooks/{id}/deliveries", P::WebhooksRead),
    by_kind("POST", "/api/v1/devices/{id}/actions"),
    rule("GET", "/api/v1/action-requests", P::DevicesRead),
    rule(
        "POST",
        "/api/v1/action-requests/{id}/approve",
        P::DeviceWipe,
    ),
    rule("POST", "/api/v1/action-requests/{id}/reject", P::DeviceWipe),
    rule("GET", "/api/v1/profiles", P::DevicesRead),
    rule("POST", "/api/v1/profiles", P::ProfilesManage),
    rule("GET", "/api/v1/profiles/{id}", P::DevicesRead),
    rule("PUT", "/api/v1/profiles/{id}", P::ProfilesManage),
    rule("DELETE", "/api/v1/profiles/{id}", P::ProfilesManage),
    rule(
        "POST",
        "/api/v1/profiles/{id}/assignments",
        P::ProfilesManage,
    ),
    rule(
        "DELETE",
        "/api/v1/profiles/{id}/assignments/{group}",
        P::ProfilesManage,
    ),
    rule("GET", "/api/v1/profiles/{id}/devices", P::DevicesRead),
    rule("GET", "/api/v1/devices/{id}/profiles", P::DevicesRead),
    rule("GET", "/api/v1/groups", P::DevicesRead),
    rule("POST", "/api/v1/groups", P::GroupsManage),
    rule("GET", "/api/v1/groups/{id}", P::DevicesRead),
    rule("PUT", "/api/v1/groups/{id}", P::GroupsManage),
    rule("DELETE", "/api/v1/groups/{id}", P::GroupsManage),
    open("GET", "/api/v1/portal/installs"),
    open("POST", "/api/v1/portal/installs"),
    open("GET", "/api/v1/openapi.json"),
];

/// Every console route (administrator accounts signed in) and what it needs.
pub const CONSOLE_ROUTES: &[Rule] = &[
    rule("GET", "/console", P::DevicesRead),
    open("GET", "/console/login"),
    open("POST", "/console/login"),
    open("POST", "/console/logout"),
    rule("GET", "/console/devices", P::DevicesRead),
    rule("GET", "/console/devices.csv", P::DevicesRead),
    rule("GET", "/console/devices/{id}", P::DevicesRead),
    by_kind("POST", "/console/devices/{id}/commands"),
    rule("POST", "/console/devices/{id}/installs", P::InstallsCreate),
    rule("POST", "/console/devices/{id}/recording", P::SessionsRecord),
    rule("POST", "/console/commands/{id}/cancel", P::CommandsCancel),
    rule("GET", "/console/devices/{id}/actions", P::DevicesRead),
    by_kind("POST", "/console/devices/{id}/actions"),
    rule(
        "POST",
        "/console/action-requests/{id}/approve",
        P::DeviceWipe,
    ),
    rule(
        "POST",
        "/console/action-requests/{id}/reject",
        P::DeviceWipe,
    ),
    rule("GET", "/console/devices/{id}/profiles", P::DevicesRead),
    rule("GET", "/console/profiles", P::DevicesRead),
    rule("POST", "/console/profiles", P::ProfilesManage),
    rule("GET", "/console/profiles/{id}", P::DevicesRead),
    rule(
        "POST",
        "/console/profiles/{id}/assignments",
        P::ProfilesManage,
    ),
    rule("POST", "/console/profiles/{id}/unassign", P::ProfilesManage),
    rule("POST", "/console/profiles/{id}/delete", P::ProfilesManage),
    rule("GET", "/console/groups", P::DevicesRead),
    rule("POST", "/console/groups", P::GroupsManage),
    rule("POST", "/console/groups/{id}/delete", P::GroupsManage),
    rule("GET", "/console/sessions/{id}", P::DevicesRead),
    rule("GET", "/console/apps", P::AppsRead),
    rule("POST", "/console/apps", P::AppsManage),
    rule("GET", "/console/users", P::UsersRead),
    rule("POST", "/console/users", P::UsersManage),
    rule("POST", "/console/admins", P::AccountsManage),
    rule("GET", "/console/audit", P::AuditRead),
    rule("GET", "/console/team", P::AccountsRead),
    rule("POST", "/console/team/admins/{id}/role", P::AccountsManage),
    rule("POST", "/console/team/tokens", P::TokensManage),
    rule("POST", "/console/team/tokens/{id}/revoke", P::TokensManage),
];

/// What `method path` needs, from `table`; `None`: the route is not in the table (refused).
pub fn need(table: &[Rule], method: &Method, path: &str) -> Option<Need> {
    table
        .iter()
        .find(|r| r.method == method.as_str() && r.path == path)
        .map(|r| r.need)
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The bootstrap token of the data directory (`admin-token`): an administrator.
    Bootstrap,
    /// A personal API token.
    Token {
        /// Its id.
        id: String,
        /// Its name.
        name: String,
        /// Its role.
        role: Role,
    },
    /// An administrator account signed in to the console.
    Console {
        /// Its username.
        username: String,
        /// Its role.
        role: Role,
    },
}

impl Principal {
    /// Its role.
    pub fn role(&self) -> Role {
        match self {
            Self::Bootstrap => Role::Administrator,
            Self::Token { role, .. } | Self::Console { role, .. } => *role,
        }
    }

    /// The actor the audit log records: `admin-token`, `token:<name>`, `admin:<username>`.
    pub fn actor(&self) -> String {
        match self {
            Self::Bootstrap => crate::http::ADMIN_ACTOR.to_owned(),
            Self::Token { name, .. } => format!("token:{name}"),
            Self::Console { username, .. } => format!("admin:{username}"),
        }
    }
}

/// A refusal: 403 with the missing permission named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    /// The permission the principal lacks.
    pub missing_permission: &'static str,
    /// The principal's role.
    pub role: Role,
}

impl Forbidden {
    /// The sentence shown to people.
    pub fn reason(&self) -> String {
        format!(
            "the {} role does not have the permission {}",
            self.role.as_str(),
            self.missing_permission
        )
    }
}

impl IntoResponse for Forbidden {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            axum::Json(json!({
                "error": "forbidden",
                "reason": self.reason(),
                "missing_permission": self.missing_permission,
            })),
        )
            .into_response()
    }
}

/// The name refusals give for a route that is in no table.
pub const UNLISTED: &str = "route-not-in-permission-table";

/// The one enforcement: `Ok` when the principal's role holds `permission`; otherwise the
/// refusal, written to the audit log (`authz.refused`, with the door: the request's method and
/// route).
pub async fn require(
    state: &AppState,
    principal: &Principal,
    permission: Permission,
    door: &str,
) -> Result<(), Forbidden> {
    if grants(principal.role(), permission) {
        return Ok(());
    }
    refuse(state, principal, permission.name(), door).await
}

/// Refuses and audits (also for a route in no table, with [`UNLISTED`]).
pub async fn refuse(
    state: &AppState,
    principal: &Principal,
    missing: &'static str,
    door: &str,
) -> Result<(), Forbidden> {
    crate::services::audit::record(
        state,
        &principal.actor(),
        "authz.refused",
        Some(door),
        json!({ "role": principal.role().as_str(), "missing_permission": missing }),
    )
    .await;
    Err(Forbidden {
        missing_permission: missing,
        role: principal.role(),
    })
}

/// Why a bearer token was not accepted.
#[derive(Debug)]
pub enum BearerError {
    /// No token, an unknown one, a revoked or expired one, or the bootstrap token while it is
    /// disabled: all alike to the client (401).
    Unauthorized,
    /// Storage failed.
    Store(StoreError),
}

/// The prefix of personal API tokens (so a leaked one is recognisable in logs and scanners).
pub const TOKEN_PREFIX: &str = "cst_";
/// A token's last use is written at most this often.
pub const TOUCH_INTERVAL_MS: i64 = 60_000;

/// The principal of the request's `Authorization: Bearer …`: the bootstrap token (unless
/// disabled by configuration) or a personal token neither revoked nor expired (its last use is
/// recorded). Tokens are compared in constant time (the bootstrap token itself, a personal
/// token by its SHA-256).
pub async fn authenticate_bearer(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Principal, BearerError> {
    let presented = crate::http::bearer_token(headers).ok_or(BearerError::Unauthorized)?;
    if !state.config.disable_bootstrap_token
        && constant_time_eq(presented.as_bytes(), state.admin_token.as_bytes())
    {
        return Ok(Principal::Bootstrap);
    }
    if !presented.starts_with(TOKEN_PREFIX) {
        return Err(BearerError::Unauthorized);
    }
    let hash = token_hash(presented);
    let token = state
        .store
        .api_token_by_hash(&hash)
        .await
        .map_err(BearerError::Store)?
        .filter(|t| constant_time_eq(t.token_hash.as_bytes(), hash.as_bytes()))
        .ok_or(BearerError::Unauthorized)?;
    let now = state.clock.now_ms();
    if token.revoked_at.is_some() || now >= token.expires_at {
        return Err(BearerError::Unauthorized);
    }
    if token
        .last_used_at
        .is_none_or(|at| at <= now - TOUCH_INTERVAL_MS)
        && let Err(e) = state
            .store
            .touch_api_token(&token.id, now, TOUCH_INTERVAL_MS)
            .await
    {
        tracing::warn!(error = %e, token = %token.id, "recording a token's last use failed");
    }
    Ok(Principal::Token {
        id: token.id,
        name: token.name,
        role: token.role,
    })
}

/// SHA-256 (hex) of a token: what storage keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// A new personal token: the prefix and 32 random bytes (256 bits), hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// Equal bytes, in time that depends only on the lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

tokio::task_local! {
    static ACTOR: String;
}

/// Runs `f` with `actor` as the audit actor of everything it records through
/// [`current_actor`] (the API middleware sets it per request).
pub async fn with_actor<F: std::future::Future>(actor: String, f: F) -> F::Output {
    ACTOR.scope(actor, f).await
}

/// The actor of the request being handled (the bootstrap token's outside a request).
pub fn current_actor() -> String {
    ACTOR
        .try_with(Clone::clone)
        .unwrap_or_else(|_| crate::http::ADMIN_ACTOR.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grant table written out: every role × every permission.
    #[test]
    fn every_role_holds_exactly_its_permissions() {
        let names = |role| {
            permissions_of(role)
                .into_iter()
                .map(Permission::name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(Role::Administrator).len(), GRANTS.len(), "everything");
        assert_eq!(
            names(Role::Operator),
            [
                "devices.read",
                "apps.read",
                "users.read",
                "audit.read",
                "events.read",
                "metrics.read",
                "inventory.queue",
                "password.reset",
                "device.lock",
                "device.reboot",
                "commands.queue",
                "commands.cancel",
                "sessions.record",
                "installs.create",
                "apps.manage",
                "profiles.manage",
                "groups.manage",
            ]
        );
        assert_eq!(
            names(Role::Helpdesk),
            [
                "devices.read",
                "apps.read",
                "users.read",
                "audit.read",
                "events.read",
                "metrics.read",
                "inventory.queue",
                "password.reset",
                "device.lock",
                "device.reboot",
            ]
        );
        let auditor = names(Role::Auditor);
        assert!(
            auditor.iter().all(|n| n.ends_with(".read")),
            "the auditor changes nothing: {auditor:?}"
        );
        let reads: Vec<_> = Permission::all()
            .map(Permission::name)
            .filter(|n| n.ends_with(".read"))
            .collect();
        assert_eq!(auditor, reads, "the auditor reads everything");
    }

    #[test]
    fn every_permission_is_in_the_table_once_and_names_are_unique() {
        let mut names: Vec<_> = Permission::all().map(Permission::name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
        assert!(grants(Role::Administrator, Permission::DeviceWipe));
        assert!(!grants(Role::Operator, Permission::DeviceWipe));
    }

    #[test]
    fn route_tables_have_no_duplicates() {
        for table in [API_ROUTES, CONSOLE_ROUTES] {
            for (i, a) in table.iter().enumerate() {
                assert!(
                    !table[i + 1..]
                        .iter()
                        .any(|b| a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
    }

    #[test]
    fn command_kinds_map_to_their_permissions() {
        assert_eq!(command_permission("inventory"), Permission::InventoryQueue);
        assert_eq!(
            command_permission("reset-password"),
            Permission::PasswordReset
        );
        assert_eq!(command_permission("raw"), Permission::CommandsQueue);
        assert_eq!(command_permission("unenroll"), Permission::CommandsQueue);
    }
}
