//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the admin API. Every route the
//! admin router serves is described here; a test compares the two lists.

use casement_dm::CommandClass;
use casement_dm::catalog::CommandKind;
use serde_json::{Value, json};

/// The paths of the admin API, relative to the server root, with their methods.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/api/v1/devices", &["get"]),
    ("/api/v1/devices/{id}", &["get"]),
    ("/api/v1/devices/{id}/commands", &["get", "post"]),
    ("/api/v1/devices/{id}/sessions", &["get"]),
    ("/api/v1/devices/{id}/recording", &["put", "delete"]),
    ("/api/v1/commands/{id}", &["get"]),
    ("/api/v1/commands/{id}/cancel", &["post"]),
    ("/api/v1/commands", &["post"]),
    ("/api/v1/sessions/{id}", &["get"]),
    ("/api/v1/users", &["get", "post"]),
    ("/api/v1/audit", &["get"]),
    ("/api/v1/apps", &["get", "post"]),
    ("/api/v1/devices/{id}/installs", &["get", "post"]),
    ("/api/v1/installs/{id}", &["get"]),
    ("/api/v1/admins", &["get", "post"]),
    ("/api/v1/portal/installs", &["get", "post"]),
    ("/api/v1/openapi.json", &["get"]),
    ("/api/v1/devices.csv", &["get"]),
    ("/api/v1/admins/{id}/role", &["post"]),
    ("/api/v1/tokens", &["get", "post"]),
    ("/api/v1/tokens/{id}", &["delete"]),
    ("/api/v1/events", &["get"]),
    ("/api/v1/webhooks", &["get", "post"]),
    ("/api/v1/webhooks/{id}", &["delete"]),
    ("/api/v1/webhooks/{id}/deliveries", &["get"]),
    ("/api/v1/devices/{id}/actions", &["post"]),
    ("/api/v1/action-requests", &["get"]),
    ("/api/v1/action-requests/{id}/approve", &["post"]),
    ("/api/v1/action-requests/{id}/reject", &["post"]),
    ("/api/v1/profiles", &["get", "post"]),
    ("/api/v1/profiles/{id}", &["get", "put", "delete"]),
    ("/api/v1/profiles/{id}/assignments", &["post"]),
    ("/api/v1/profiles/{id}/assignments/{group}", &["delete"]),
    ("/api/v1/profiles/{id}/devices", &["get"]),
    ("/api/v1/devices/{id}/profiles", &["get"]),
    ("/api/v1/groups", &["get", "post"]),
    ("/api/v1/groups/{id}", &["get", "put", "delete"]),
];

pub(super) fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

pub(super) fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

pub(super) fn id_parameter(what: &str) -> Value {
    json!([{ "name": "id", "in": "path", "required": true, "description": what, "schema": { "type": "string" } }])
}

pub(super) fn errors(codes: &[&str]) -> Value {
    let mut map = serde_json::Map::new();
    for code in codes {
        let description = match *code {
            "400" => "Malformed request",
            "401" => "Missing, wrong, revoked or expired token",
            "403" => "The token's role lacks the permission (named in missing_permission)",
            "404" => "Unknown id",
            "409" => "Conflict with the current state",
            "422" => "Refused: the request cannot be built for this device",
            _ => "Error",
        };
        map.insert((*code).to_owned(), json!({ "description": description, "content": { "application/json": { "schema": reference("Error") } } }));
    }
    Value::Object(map)
}

pub(super) fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// The document.
pub fn document() -> Value {
    let mut doc = base_document();
    if let (Some(paths), Value::Object(team)) = (doc["paths"].as_object_mut(), team_paths()) {
        paths.extend(team);
    }
    if let (Some(paths), Value::Object(actions)) = (doc["paths"].as_object_mut(), action_paths()) {
        paths.extend(actions);
    }
    if let (Some(paths), Value::Object(profiles)) = (
        doc["paths"].as_object_mut(),
        super::openapi_profiles::paths(),
    ) {
        paths.extend(profiles);
    }
    if let (Some(schemas), Value::Object(team)) =
        (doc["components"]["schemas"].as_object_mut(), team_schemas())
    {
        schemas.extend(team);
    }
    if let (Some(schemas), Value::Object(profiles)) = (
        doc["components"]["schemas"].as_object_mut(),
        super::openapi_profiles::schemas(),
    ) {
        schemas.extend(profiles);
    }
    // Every route of the bearer-token API may answer 403 for a role without its permission.
    for (path, methods) in ROUTES {
        for method in *methods {
            let verb = axum::http::Method::from_bytes(method.to_uppercase().as_bytes())
                .unwrap_or(axum::http::Method::GET);
            let open = matches!(
                crate::authz::need(crate::authz::API_ROUTES, &verb, path),
                Some(crate::authz::Need::Open)
            );
            if open {
                continue;
            }
            if let Some(responses) = doc["paths"][*path][*method]["responses"].as_object_mut() {
                responses
                    .entry("403")
                    .or_insert_with(|| errors(&["403"])["403"].clone());
            }
        }
    }
    doc
}

/// Device actions and their approval (issue 15 part 1).
fn action_paths() -> Value {
    let request = json!({ "type": "object", "required": ["id", "device_id", "action", "requested_by", "requested_at", "state"], "properties": {
        "id": { "type": "string" }, "device_id": { "type": "string" }, "action": { "type": "string", "enum": ["wipe", "reboot", "lock"] },
        "request": { "type": ["object", "null"] }, "requested_by": { "type": "string" }, "requested_at": { "type": "integer" },
        "decided_by": { "type": ["string", "null"] }, "decided_at": { "type": ["integer", "null"] },
        "state": { "type": "string", "enum": ["pending", "approved", "rejected"] } } });
    let commands = json!({ "type": "array", "items": reference("Command") });
    json!({
        "/api/v1/devices/{id}/actions": { "post": {
            "summary": "Wipe, reboot or lock the device. A wipe names the device it wipes (confirm: the device's name, or its id when it has none; otherwise 422). With wipe_approval on, a wipe is recorded as a request (202) and queued when a different administrator approves it.",
            "parameters": id_parameter("Device ID"),
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["kind"], "properties": {
                "kind": { "type": "string", "enum": ["wipe", "reboot", "lock"] },
                "confirm": { "type": "string", "description": "wipe: the device's name (its id when it has none)" },
                "method": { "type": "string", "enum": ["doWipe", "doWipeProtected", "doWipePersistProvisionedData", "doWipePersistUserData"], "description": "wipe: the RemoteWipe node, default doWipeProtected" },
                "at": { "type": "string", "description": "reboot: an ISO 8601 date and time for a scheduled reboot (Reboot/Schedule/Single); absent: now" }
            } } } } },
            "responses": merge(json!({
                "201": ok("The queued commands", json!({ "type": "object", "required": ["commands"], "properties": { "commands": commands } })),
                "202": ok("The wipe request, waiting for a second administrator", json!({ "type": "object", "required": ["request"], "properties": { "request": request, "summary": { "type": "string" } } }))
            }), errors(&["400", "401", "404", "409", "422"]))
        }},
        "/api/v1/action-requests": { "get": {
            "summary": "Action requests (wipes waiting for or past a second administrator's approval), newest first",
            "responses": merge(json!({ "200": ok("Requests", json!({ "type": "object", "required": ["requests"], "properties": { "requests": { "type": "array", "items": request } } })) }), errors(&["401"]))
        }},
        "/api/v1/action-requests/{id}/approve": { "post": {
            "summary": "Approve a pending request: it must be a different administrator or token than the requester (403 otherwise); the action is queued",
            "parameters": id_parameter("Request id"),
            "responses": merge(json!({ "200": ok("The request and the queued commands", json!({ "type": "object", "required": ["request", "commands"], "properties": { "request": request, "commands": commands } })) }), errors(&["401", "404", "409", "422"]))
        }},
        "/api/v1/action-requests/{id}/reject": { "post": {
            "summary": "Reject a pending request: nothing is queued",
            "parameters": id_parameter("Request id"),
            "responses": merge(json!({ "200": ok("The request", json!({ "type": "object", "required": ["request", "commands"], "properties": { "request": request, "commands": commands } })) }), errors(&["401", "404", "409"]))
        }}
    })
}

/// Roles and tokens, events and webhooks, the CSV export (issue 15).
fn team_paths() -> Value {
    let list = |name: &str, key: &str| json!({ "type": "object", "required": [key], "properties": { key: { "type": "array", "items": reference(name) } } });
    let kinds: Vec<&str> = crate::services::events::EventKind::ALL
        .iter()
        .map(|k| k.name())
        .collect();
    json!({
        "/api/v1/devices.csv": { "get": {
            "summary": "Every device (retired ones too) as CSV: id, name, platform, user, enrolled_at, last_session_at, last_context, channel_state, retired_at (times RFC 3339 UTC)",
            "responses": merge(json!({ "200": { "description": "CSV (RFC 4180)", "content": { "text/csv": { "schema": { "type": "string" } } } } }), errors(&["401", "403"]))
        }},
        "/api/v1/admins/{id}/role": { "post": {
            "summary": "Change an administrator account's role",
            "parameters": id_parameter("Administrator id"),
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["role"], "properties": { "role": reference("Role") } } } } },
            "responses": merge(json!({ "200": ok("The account", reference("Admin")) }), errors(&["400", "401", "403", "404"]))
        }},
        "/api/v1/tokens": {
            "get": { "summary": "Personal API tokens (never their values)", "responses": merge(json!({ "200": ok("Tokens", list("ApiToken", "tokens")) }), errors(&["401", "403"])) },
            "post": {
                "summary": "Create a personal API token for yourself or a service account; its value is in this answer only",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["name", "role"], "additionalProperties": false, "properties": {
                    "name": { "type": "string", "minLength": 1, "maxLength": 100 },
                    "role": reference("Role"),
                    "expires_in_days": { "type": "integer", "minimum": 1, "maximum": 3650, "description": "Default 90" },
                    "service_account": { "type": "string", "description": "Without it the token is the creator's own" }
                } } } } },
                "responses": merge(json!({ "201": ok("The token, with its value in token", json!({ "allOf": [reference("ApiToken"), { "type": "object", "required": ["token"], "properties": { "token": { "type": "string" } } }] })) }), errors(&["400", "401", "403"]))
            }
        },
        "/api/v1/tokens/{id}": { "delete": {
            "summary": "Revoke a token (it answers 401 from now on)",
            "parameters": id_parameter("Token id"),
            "responses": merge(json!({ "200": ok("The revoked token", reference("ApiToken")) }), errors(&["401", "403", "404"]))
        }},
        "/api/v1/events": { "get": {
            "summary": "The event log, oldest first, after a cursor",
            "parameters": [
                { "name": "after", "in": "query", "description": "The next of the previous page; absent: from the start", "schema": { "type": "string" } },
                { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } }
            ],
            "responses": merge(json!({ "200": ok("A page of events", json!({ "type": "object", "required": ["events", "next"], "properties": {
                "events": { "type": "array", "items": reference("Event") },
                "next": { "type": "string", "description": "The cursor to ask with next (unchanged when nothing was new)" } } })) }), errors(&["400", "401", "403"]))
        }},
        "/api/v1/webhooks": {
            "get": { "summary": "Webhook endpoints", "responses": merge(json!({ "200": ok("Webhooks", list("Webhook", "webhooks")) }), errors(&["401", "403"])) },
            "post": {
                "summary": "Add a webhook: https:// only; loopback, private, link-local and metadata addresses are refused unless webhook_allow_private. Each POST carries X-Casement-Timestamp and X-Casement-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + \".\" + body)>",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["url"], "additionalProperties": false, "properties": {
                    "url": { "type": "string", "format": "uri" },
                    "secret": { "type": "string", "minLength": 16, "maxLength": 256, "description": "Made (and shown once) when absent" },
                    "kinds": { "type": "array", "items": { "type": "string", "enum": kinds }, "description": "Empty or absent: every kind" }
                } } } } },
                "responses": merge(json!({ "201": ok("The webhook, with its secret", json!({ "allOf": [reference("Webhook"), { "type": "object", "required": ["secret"], "properties": { "secret": { "type": "string" } } }] })) }), errors(&["400", "401", "403"]))
            }
        },
        "/api/v1/webhooks/{id}": { "delete": {
            "summary": "Delete a webhook: queued deliveries fail, its log stays",
            "parameters": id_parameter("Webhook id"),
            "responses": merge(json!({ "204": { "description": "Deleted" } }), errors(&["401", "403", "404"]))
        }},
        "/api/v1/webhooks/{id}/deliveries": { "get": {
            "summary": "The webhook's deliveries, newest first, each with its log of attempts",
            "parameters": id_parameter("Webhook id"),
            "responses": merge(json!({ "200": ok("Deliveries", list("WebhookDelivery", "deliveries")) }), errors(&["401", "403", "404"]))
        }}
    })
}

fn team_schemas() -> Value {
    let nullable = |t: &str| json!({ "type": [t, "null"] });
    let kinds: Vec<&str> = crate::services::events::EventKind::ALL
        .iter()
        .map(|k| k.name())
        .collect();
    json!({
        "Role": { "type": "string", "enum": ["administrator", "operator", "helpdesk", "auditor"] },
        "ApiToken": { "type": "object", "required": ["id", "name", "role", "owner", "expires_at", "status"], "properties": {
            "id": { "type": "string" }, "name": { "type": "string" }, "role": reference("Role"), "owner": { "type": "string" },
            "created_by": { "type": "string" }, "created_at": { "type": "integer" }, "expires_at": { "type": "integer" },
            "revoked_at": nullable("integer"), "last_used_at": nullable("integer"),
            "status": { "type": "string", "enum": ["active", "revoked", "expired"] } } },
        "Event": { "type": "object", "required": ["id", "seq", "kind", "at"], "properties": {
            "id": { "type": "string" }, "seq": { "type": "integer" }, "kind": { "type": "string", "enum": kinds },
            "at": { "type": "integer" }, "device_id": nullable("string"), "subject": nullable("string"), "data": { "type": ["object", "null"] } } },
        "Webhook": { "type": "object", "required": ["id", "url", "kinds"], "properties": {
            "id": { "type": "string" }, "url": { "type": "string" }, "kinds": { "type": "array", "items": { "type": "string" } },
            "created_by": { "type": "string" }, "created_at": { "type": "integer" } } },
        "WebhookDelivery": { "type": "object", "required": ["id", "state", "attempts"], "properties": {
            "id": { "type": "string" }, "event_id": nullable("string"), "kind": nullable("string"),
            "state": { "type": "string", "enum": ["queued", "sending", "delivered", "failed"] },
            "attempts": { "type": "integer" }, "next_attempt_at": { "type": "integer" },
            "last_status": nullable("integer"), "last_error": nullable("string"),
            "created_at": { "type": "integer" }, "updated_at": { "type": "integer" },
            "log": { "type": "array", "items": { "type": "object", "properties": {
                "attempt": { "type": "integer" }, "at": { "type": "integer" }, "status": nullable("integer"), "error": nullable("string") } } } } }
    })
}

fn base_document() -> Value {
    let list = |name: &str, key: &str| json!({ "type": "object", "required": [key], "properties": { key: { "type": "array", "items": reference(name) } } });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Casement admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Devices, their command queue (each pending command says which session context it waits for), management sessions with the SyncML exchanged, users and the audit log."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "adminToken": [] }],
        "paths": {
            "/api/v1/devices": { "get": {
                "summary": "List devices",
                "parameters": [
                    { "name": "platform", "in": "query", "schema": { "type": "string", "enum": ["windows-8.1", "windows-10"] } },
                    { "name": "user", "in": "query", "description": "Enrolled user's UPN", "schema": { "type": "string" } },
                    { "name": "include_retired", "in": "query", "schema": { "type": "boolean" } },
                    { "name": "after", "in": "query", "description": "Paging: ids after this one", "schema": { "type": "string" } },
                    { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } }
                ],
                "responses": merge(json!({ "200": ok("Devices ordered by id", list("Device", "devices")) }), errors(&["400", "401"]))
            }},
            "/api/v1/devices/{id}": { "get": {
                "summary": "One device with its enrollment context and inventory",
                "parameters": id_parameter("Device ID"),
                "responses": merge(json!({ "200": ok("The device", reference("Device")) }), errors(&["401", "404"]))
            }},
            "/api/v1/devices/{id}/commands": {
                "get": {
                    "summary": "The device's commands, newest first",
                    "parameters": id_parameter("Device ID"),
                    "responses": merge(json!({ "200": ok("Commands", list("Command", "commands")) }), errors(&["401", "404"]))
                },
                "post": {
                    "summary": "Queue a command (one request may queue several, e.g. inventory sets)",
                    "parameters": id_parameter("Device ID"),
                    "requestBody": { "required": true, "content": { "application/json": { "schema": reference("CommandRequest") } } },
                    "responses": merge(json!({ "201": ok("The queued commands", list("Command", "commands")) }), errors(&["400", "401", "404", "409", "422"]))
                }
            },
            "/api/v1/devices/{id}/sessions": { "get": {
                "summary": "The device's management sessions, newest first",
                "parameters": merge_params(id_parameter("Device ID"), json!([{ "name": "limit", "in": "query", "schema": { "type": "integer" } }])),
                "responses": merge(json!({ "200": ok("Sessions", list("Session", "sessions")) }), errors(&["401", "404"]))
            }},
            "/api/v1/devices/{id}/recording": {
                "put": {
                    "summary": "Put the device under investigation: every session keeps its whole messages, idle ones too, for the hours given (1 to 720; docs/retention.md)",
                    "parameters": id_parameter("Device ID"),
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["hours"], "properties": { "hours": { "type": "integer", "minimum": 1, "maximum": 720 } } } } } },
                    "responses": merge(json!({ "200": ok("Recording until", reference("Recording")) }), errors(&["401", "403", "404", "422"]))
                },
                "delete": {
                    "summary": "End the investigation: idle sessions leave compact records again",
                    "parameters": id_parameter("Device ID"),
                    "responses": merge(json!({ "200": ok("Recording ended", reference("Recording")) }), errors(&["401", "403", "404"]))
                }
            },
            "/api/v1/commands": { "post": {
                "summary": "Queue one command request on many devices: all active devices, a user's, or listed ids (at most 10,000). Devices of a platform the request cannot be built for are reported in refused.",
                "requestBody": { "required": true, "content": { "application/json": { "schema": reference("BulkCommandRequest") } } },
                "responses": merge(json!({ "201": ok("What was queued", reference("BulkOutcome")) }), errors(&["400", "401", "422"]))
            }},
            "/api/v1/commands/{id}": { "get": {
                "summary": "One command",
                "parameters": id_parameter("Command id"),
                "responses": merge(json!({ "200": ok("The command", reference("Command")) }), errors(&["401", "404"]))
            }},
            "/api/v1/commands/{id}/cancel": { "post": {
                "summary": "Cancel a pending command",
                "parameters": id_parameter("Command id"),
                "responses": merge(json!({ "200": ok("The cancelled command", reference("Command")) }), errors(&["401", "404", "409"]))
            }},
            "/api/v1/sessions/{id}": { "get": {
                "summary": "One session: context, how it was determined, the SyncML exchanged (secrets redacted), the commands it carried",
                "parameters": id_parameter("Session id"),
                "responses": merge(json!({ "200": ok("The session", reference("SessionDetail")) }), errors(&["401", "404"]))
            }},
            "/api/v1/users": {
                "get": { "summary": "The user directory", "responses": merge(json!({ "200": ok("Users", list("User", "users")) }), errors(&["401"])) },
                "post": {
                    "summary": "Create a user (enrollment sign-in, portal)",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": {
                        "type": "object", "required": ["upn", "password"],
                        "properties": { "upn": { "type": "string" }, "password": { "type": "string", "minLength": 8 }, "display_name": { "type": "string" } }
                    }}}},
                    "responses": merge(json!({ "201": ok("The user", reference("User")) }), errors(&["400", "401", "409"]))
                }
            },
            "/api/v1/audit": { "get": {
                "summary": "The audit log, newest first",
                "parameters": [{ "name": "limit", "in": "query", "schema": { "type": "integer" } }],
                "responses": merge(json!({ "200": ok("Entries", list("AuditEntry", "entries")) }), errors(&["401"]))
            }},
            "/api/v1/apps": {
                "get": { "summary": "The app catalog", "responses": merge(json!({ "200": ok("Apps", list("App", "apps")) }), errors(&["401"])) },
                "post": {
                    "summary": "Add an app: an install payload per platform (windows-8.1: app-install-job with the administrator's JobData and optionally package_full_name, which confirms the install through MDM_Application; windows-10: store, hosted or msi)",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": {
                        "type": "object", "required": ["name", "version", "payloads"],
                        "properties": { "name": { "type": "string" }, "version": { "type": "string" }, "payloads": { "type": "object" } }
                    }}}},
                    "responses": merge(json!({ "201": ok("The app", reference("App")) }), errors(&["400", "401"]))
                }
            },
            "/api/v1/devices/{id}/installs": {
                "get": { "summary": "The device's installs with their status", "parameters": id_parameter("Device ID"), "responses": merge(json!({ "200": ok("Installs", list("Install", "installs")) }), errors(&["401", "404"])) },
                "post": {
                    "summary": "Install an app on the device: queues its install commands and wakes the device through WNS",
                    "parameters": id_parameter("Device ID"),
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["app_id"], "properties": { "app_id": { "type": "string" } } } } } },
                    "responses": merge(json!({ "201": ok("The install", reference("Install")) }), errors(&["400", "401", "404", "409", "422"]))
                }
            },
            "/api/v1/installs/{id}": { "get": {
                "summary": "One install: queued → pushed → delivered → installed / failed, with the reason",
                "parameters": id_parameter("Install id"),
                "responses": merge(json!({ "200": ok("The install", reference("Install")) }), errors(&["401", "404"]))
            }},
            "/api/v1/admins": {
                "get": { "summary": "Administrator accounts of the web console", "responses": merge(json!({ "200": ok("Accounts", list("Admin", "admins")) }), errors(&["401"])) },
                "post": {
                    "summary": "Create an administrator account for the web console (the API keeps using the admin token)",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": {
                        "type": "object", "required": ["username", "password"],
                        "properties": { "username": { "type": "string" }, "password": { "type": "string", "minLength": 12 }, "display_name": { "type": "string" }, "role": { "$ref": "#/components/schemas/Role" } }
                    }}}},
                    "responses": merge(json!({ "201": ok("The account", reference("Admin")) }), errors(&["400", "401", "409"]))
                }
            },
            "/api/v1/portal/installs": {
                "get": {
                    "summary": "Portal: the signed-in user's installs, newest first",
                    "security": [{ "portalSession": [] }],
                    "responses": merge(json!({ "200": ok("Installs", list("PortalInstall", "installs")) }), errors(&["401"]))
                },
                "post": {
                    "summary": "Portal: install an app on one of the signed-in user's own devices (another user's device is 404)",
                    "security": [{ "portalSession": [] }],
                    "parameters": [{ "name": "X-CSRF-Token", "in": "header", "required": true, "description": "The portal session's anti-forgery token (the csrf-token meta element of the portal page)", "schema": { "type": "string" } }],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["device_id", "app_id"], "properties": { "device_id": { "type": "string" }, "app_id": { "type": "string" } } } } } },
                    "responses": merge(json!({ "201": ok("The install", reference("PortalInstall")), "403": { "description": "Missing or wrong X-CSRF-Token", "content": { "application/json": { "schema": reference("Error") } } } }), errors(&["400", "401", "404", "422"]))
                }
            },
            "/api/v1/openapi.json": { "get": {
                "summary": "This document",
                "security": [],
                "responses": { "200": ok("OpenAPI 3.1", json!({ "type": "object" })) }
            }}
        },
        "components": {
            "securitySchemes": {
                "adminToken": { "type": "http", "scheme": "bearer", "description": "The bootstrap token in casement-data/admin-token (an administrator; can be disabled with disable_bootstrap_token) or a personal API token (its role decides what it may do)" },
                "portalSession": { "type": "apiKey", "in": "cookie", "name": "__Host-casement-portal", "description": "The portal's session cookie, set by signing in at /portal/login" }
            },
            "schemas": schemas()
        }
    })
}

fn merge_params(a: Value, b: Value) -> Value {
    let mut v = a.as_array().cloned().unwrap_or_default();
    v.extend(b.as_array().cloned().unwrap_or_default());
    Value::Array(v)
}

fn schemas() -> Value {
    let nullable = |t: &str| json!({ "type": [t, "null"] });
    // From the vocabulary itself, so that a new class or kind is described without an edit here.
    let classes: Vec<&str> = CommandClass::ALL.iter().map(|c| c.as_str()).collect();
    let kinds: Vec<&str> = CommandKind::ALL.iter().map(|k| k.as_str()).collect();
    json!({
        "Error": { "type": "object", "required": ["error", "reason"], "properties": { "error": { "type": "string" }, "reason": { "type": "string" }, "missing_permission": { "type": "string", "description": "On 403: the permission the token's role lacks" } } },
        "Device": { "type": "object", "required": ["id", "platform", "enrolled_user", "enrolled_at"], "properties": {
            "id": { "type": "string" },
            "platform": { "type": "string", "enum": ["windows-8.1", "windows-10"] },
            "name": nullable("string"),
            "enrolled_user": { "type": "object", "properties": { "id": { "type": "string" }, "upn": { "type": "string" }, "sid": nullable("string") } },
            "os_version": nullable("string"),
            "record_sessions_until": { "type": "integer", "description": "Until when every session keeps its messages (a device under investigation); only in GET /devices/{id}" },
            "enrolled_at": { "type": "integer", "description": "unix ms" },
            "updated_at": { "type": "integer" },
            "retired_at": nullable("integer"),
            "retired_reason": nullable("string"),
            "certificate": { "type": ["object", "null"], "properties": {
                "serial": { "type": "string" }, "thumbprint": { "type": "string" }, "not_before": { "type": "integer" }, "not_after": { "type": "integer" }, "revoked_at": nullable("integer") } },
            "last_session": { "type": ["object", "null"], "properties": { "at": { "type": "integer" }, "context": nullable("string") } },
            "devinfo": { "type": ["object", "null"] },
            "push_channel": { "type": ["object", "null"], "description": "The WNS channel as last reported; the URI's token is never shown", "properties": {
                "state": { "type": "string", "enum": ["unconfigured", "configuring", "active", "expiring", "revoked", "failed"] },
                "host": nullable("string"), "expires_at": nullable("integer"), "status": nullable("string"), "reason": nullable("string"), "updated_at": { "type": "integer" } } },
            "enrollment_context": { "type": "array", "items": { "type": "array", "items": { "type": "string" }, "minItems": 2, "maxItems": 2 } },
            "inventory": { "type": "array", "items": { "type": "object", "properties": {
                "loc_uri": { "type": "string" }, "value": nullable("string"), "format": nullable("string"), "read_at": { "type": "integer" } } } }
        }},
        "Command": { "type": "object", "required": ["id", "device_id", "kind", "class", "label", "state"], "properties": {
            "id": { "type": "string" },
            "device_id": { "type": "string" },
            "kind": { "type": "string", "enum": kinds },
            "class": { "type": "string", "enum": classes },
            "label": { "type": "string" },
            "state": { "type": "string", "enum": ["pending", "sent", "done", "failed", "expired", "cancelled"] },
            "waits_for": { "type": ["string", "null"], "description": "For a pending command, e.g. \"waits for a Maintenance session\"" },
            "waits_for_contexts": { "type": ["array", "null"], "items": { "type": "string", "enum": ["Machine", "Maintenance", "Apps"] } },
            "status_code": nullable("integer"),
            "original_error": nullable("string"),
            "summary": { "type": "string", "description": "The state in words, e.g. \"done: 4 of 5 items; ./DevInfo/Mod 404 not found\" or \"pending: waits for a Maintenance session\"" },
            "results": { "type": ["array", "null"] },
            "attempts": { "type": "integer" },
            "max_attempts": { "type": "integer" },
            "created_at": { "type": "integer" },
            "updated_at": { "type": "integer" },
            "expires_at": nullable("integer"),
            "created_by": { "type": "string" }
        }},
        "CommandRequest": {
            "type": "object",
            "required": ["kind"],
            "description": "kind inventory: {sets: [...]}; reset-password: {user, password}; unenroll: {}; push-config: {}; app-install: {app: {...}}; wipe: {confirm: <the device's name>, method, bulk (true to wipe several devices with POST /api/v1/commands)}; reboot: {at}; lock: {}; raw: {class, syncml}. expires_in_seconds is optional for all.",
            "properties": {
                "kind": { "type": "string", "enum": kinds },
                "sets": { "type": "array", "items": { "type": "string" } },
                "user": { "type": "string" },
                "password": { "type": "string" },
                "app": { "type": "object" },
                "class": { "type": "string", "enum": classes },
                "syncml": { "type": "string", "description": "SyncML command elements (Get, Add, Replace, Delete, Exec, Atomic, Sequence)" },
                "confirm": { "type": "string", "description": "wipe: the device's name (its id when it has none)" },
                "method": { "type": "string", "enum": ["doWipe", "doWipeProtected", "doWipePersistProvisionedData", "doWipePersistUserData"] },
                "bulk": { "type": "boolean", "description": "wipe: required to wipe several devices at once" },
                "at": { "type": "string", "description": "reboot: ISO 8601 date and time" },
                "expires_in_seconds": { "type": "integer", "minimum": 1 }
            }
        },
        "BulkCommandRequest": { "type": "object", "required": ["devices", "command"], "additionalProperties": false, "properties": {
            "devices": { "oneOf": [
                { "type": "string", "enum": ["all"], "description": "Every active device" },
                { "type": "object", "required": ["user_id"], "additionalProperties": false, "properties": { "user_id": { "type": "string" } } },
                { "type": "object", "required": ["ids"], "additionalProperties": false, "properties": { "ids": { "type": "array", "maxItems": 10000, "items": { "type": "string" } } } }
            ]},
            "command": { "$ref": "#/components/schemas/CommandRequest" },
            "expires_in_seconds": { "type": "integer", "minimum": 1 }
        }},
        "BulkOutcome": { "type": "object", "required": ["devices", "commands", "by_platform", "refused"], "properties": {
            "devices": { "type": "integer", "description": "Devices that got the commands" },
            "commands": { "type": "integer", "description": "Command rows queued" },
            "by_platform": { "type": "array", "items": { "type": "object", "properties": {
                "platform": { "type": "string", "enum": ["windows-8.1", "windows-10"] }, "devices": { "type": "integer" }, "commands": { "type": "integer" } } } },
            "refused": { "type": "array", "items": { "type": "object", "properties": {
                "platform": nullable("string"), "device_id": nullable("string"), "reason": { "type": "string" } } } },
            "elapsed_ms": { "type": "integer", "description": "Time the server took to queue them" }
        }},
        "Session": { "type": "object", "required": ["id", "device_id", "context", "determined_by"], "properties": {
            "id": { "type": "string" },
            "device_id": { "type": "string" },
            "session_id": { "type": "string" },
            "context": { "type": "string", "enum": ["Machine", "Maintenance", "Apps"] },
            "determined_by": { "type": "string" },
            "evidence": { "type": "object" },
            "started_at": { "type": "integer" },
            "updated_at": { "type": "integer" },
            "ended_at": nullable("integer"),
            "outcome": nullable("string"),
            "messages": { "type": "integer" },
            "commands_delivered": { "type": "integer" },
            "warnings": { "type": "array", "items": { "type": "string" }, "description": "What the administrator should know about the session, in words (e.g. the device could not process a message)" },
            "messages_kept": { "type": "boolean", "description": "False for an idle session's compact record: its messages were not kept (docs/retention.md)" }
        }},
        "Recording": { "type": "object", "required": ["device_id"], "properties": {
            "device_id": { "type": "string" },
            "record_sessions_until": nullable("integer")
        }},
        "SessionDetail": { "allOf": [ { "$ref": "#/components/schemas/Session" }, { "type": "object", "properties": {
            "messages": { "type": "array", "items": { "type": "object", "properties": {
                "seq": { "type": "integer" }, "direction": { "type": "string", "enum": ["device", "server"] }, "at": { "type": "integer" }, "truncated": { "type": "boolean" }, "syncml": { "type": "string" } } } },
            "commands": { "type": "array", "items": { "type": "object", "properties": { "command_id": { "type": "string" }, "msg_id": { "type": "integer" }, "cmd_id": { "type": "integer" } } } }
        }}]},
        "User": { "type": "object", "required": ["id", "upn"], "properties": { "id": { "type": "string" }, "upn": { "type": "string" }, "display_name": { "type": "string" }, "created_at": { "type": "integer" } } },
        "App": { "type": "object", "required": ["id", "name", "version"], "properties": { "id": { "type": "string" }, "name": { "type": "string" }, "version": { "type": "string" }, "payloads": { "type": "object" }, "created_at": { "type": "integer" } } },
        "Install": { "type": "object", "required": ["id", "app_id", "device_id", "status"], "properties": {
            "id": { "type": "string" }, "app_id": { "type": "string" }, "device_id": { "type": "string" },
            "status": { "type": "string", "enum": ["queued", "pushed", "delivered", "installed", "failed"] },
            "detail": { "type": "string" }, "requested_by": { "type": "string" }, "created_at": { "type": "integer" } } },
        "Admin": { "type": "object", "required": ["id", "username", "role"], "properties": { "id": { "type": "string" }, "username": { "type": "string" }, "display_name": { "type": "string" }, "role": { "$ref": "#/components/schemas/Role" }, "created_at": { "type": "integer" } } },
        "PortalInstall": { "allOf": [reference("Install"), { "type": "object", "properties": {
            "app_name": { "type": "string" }, "device_name": { "type": "string" },
            "label": { "type": "string", "description": "Waiting, Starting, Installing, Installed or Failed" },
            "tone": { "type": "string", "enum": ["ok", "wait", "bad", "none"] } } }] },
        "AuditEntry": { "type": "object", "properties": { "id": { "type": "string" }, "at": { "type": "integer" }, "actor": { "type": "string" }, "action": { "type": "string" }, "target": nullable("string"), "detail": { "type": "object" } } }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_described_with_its_methods_and_every_reference_resolves() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.len(), ROUTES.len(), "no undocumented or stale path");
        for (path, methods) in ROUTES {
            let described = paths
                .get(*path)
                .unwrap_or_else(|| panic!("{path} undocumented"));
            for method in *methods {
                assert!(
                    described.get(*method).is_some(),
                    "{method} {path} undocumented"
                );
                assert!(
                    described[*method]["responses"].is_object(),
                    "{method} {path} has responses"
                );
            }
        }
        // The permission table and this document name the same routes (issue 15).
        let mut table: Vec<(String, String)> = crate::authz::API_ROUTES
            .iter()
            .map(|r| (r.path.to_owned(), r.method.to_lowercase()))
            .collect();
        let mut described: Vec<(String, String)> = ROUTES
            .iter()
            .flat_map(|(p, ms)| ms.iter().map(|m| ((*p).to_owned(), (*m).to_owned())))
            .collect();
        table.sort();
        described.sort();
        assert_eq!(table, described, "authz::API_ROUTES and ROUTES differ");
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &reference[..reference.find('"').unwrap()];
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "dangling reference {name}"
            );
        }
    }
}
