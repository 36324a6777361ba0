//! The OpenAPI description of configuration profiles and device groups (issue 14,
//! docs/profiles.md), merged into [`super::openapi::document`].

use casement_dm::profiles::Format;
use casement_dm::profiles::work::{NodeState, ProfileStatus};
use serde_json::{Value, json};

use super::openapi::{errors, id_parameter, merge, ok, reference};

/// The paths of profiles and groups.
pub fn paths() -> Value {
    let list = |name: &str, key: &str| json!({ "type": "object", "required": [key], "properties": { key: { "type": "array", "items": reference(name) } } });
    let profile_body = json!({ "required": true, "content": { "application/json": { "schema": reference("ProfileInput") } } });
    let group_body = json!({ "required": true, "content": { "application/json": { "schema": reference("GroupInput") } } });
    let two_ids = json!([
        { "name": "id", "in": "path", "required": true, "description": "Profile id or name", "schema": { "type": "string" } },
        { "name": "group", "in": "path", "required": true, "description": "Group id or name", "schema": { "type": "string" } }
    ]);
    let statuses: Vec<&str> = ProfileStatus::ALL.iter().map(|s| s.as_str()).collect();
    json!({
        "/api/v1/profiles": {
            "get": { "summary": "Every profile with its groups, counts by status and the summary in words", "responses": merge(json!({ "200": ok("Profiles", list("Profile", "profiles")) }), errors(&["401", "403"])) },
            "post": { "summary": "Create a profile (settings, or a SyncML body of Add/Replace items they are derived from); validated with a precise message (422)", "requestBody": profile_body, "responses": merge(json!({ "201": ok("The profile", reference("Profile")) }), errors(&["400", "401", "403", "409", "422"])) }
        },
        "/api/v1/profiles/{id}": {
            "get": { "summary": "A profile", "parameters": id_parameter("Profile id or name"), "responses": merge(json!({ "200": ok("The profile", reference("Profile")) }), errors(&["401", "403", "404"])) },
            "put": { "summary": "Change a profile: a new revision; devices get only what differs. Refused (409) when it would conflict with another profile on shared devices", "parameters": id_parameter("Profile id or name"), "requestBody": profile_body, "responses": merge(json!({ "200": ok("The profile", reference("Profile")) }), errors(&["400", "401", "403", "404", "409", "422"])) },
            "delete": { "summary": "Delete a profile: it is removed from every device (Delete, restore or leave per setting)", "parameters": id_parameter("Profile id or name"), "responses": merge(json!({ "200": ok("Deleted", json!({ "type": "object", "properties": { "id": { "type": "string" }, "deleted": { "type": "boolean" }, "devices_removing": { "type": "integer" } } })) }), errors(&["401", "403", "404"])) }
        },
        "/api/v1/profiles/{id}/assignments": { "post": {
            "summary": "Assign a profile to a group. Refused (409 profile-conflict) when another profile sets one of its nodes to a different value on a device they share; the reason names both profiles and the node",
            "parameters": id_parameter("Profile id or name"),
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["group"], "properties": { "group": { "type": "string", "description": "Group id or name; all-devices is built in" } } } } } },
            "responses": merge(json!({ "201": ok("Assigned", json!({ "type": "object", "properties": { "profile": { "type": "string" }, "group": { "type": "string" }, "devices_added": { "type": "integer" }, "devices_removed": { "type": "integer" } } })) }), errors(&["400", "401", "403", "404", "409"]))
        }},
        "/api/v1/profiles/{id}/assignments/{group}": { "delete": {
            "summary": "Unassign: devices no other assigned group covers have the profile removed",
            "parameters": two_ids,
            "responses": merge(json!({ "200": ok("Unassigned", json!({ "type": "object", "properties": { "profile": { "type": "string" }, "group": { "type": "string" }, "devices_removed": { "type": "integer" } } })) }), errors(&["401", "403", "404"]))
        }},
        "/api/v1/profiles/{id}/devices": { "get": {
            "summary": "A profile's devices: status, what it waits for, drift, each node's state",
            "parameters": [
                { "name": "id", "in": "path", "required": true, "description": "Profile id or name", "schema": { "type": "string" } },
                { "name": "status", "in": "query", "schema": { "type": "string", "enum": statuses } },
                { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 10000 } }
            ],
            "responses": merge(json!({ "200": ok("Devices", json!({ "type": "object", "required": ["devices"], "properties": { "profile": { "type": "string" }, "counts": reference("ProfileCounts"), "summary": { "type": "string" }, "devices": { "type": "array", "items": reference("DeviceProfile") } } })) }), errors(&["400", "401", "403", "404"]))
        }},
        "/api/v1/devices/{id}/profiles": { "get": {
            "summary": "A device's profiles",
            "parameters": id_parameter("Device ID"),
            "responses": merge(json!({ "200": ok("Profiles", json!({ "type": "object", "required": ["profiles"], "properties": { "device": { "type": "string" }, "profiles": { "type": "array", "items": reference("DeviceProfile") } } })) }), errors(&["401", "403", "404"]))
        }},
        "/api/v1/groups": {
            "get": { "summary": "Device groups (all-devices built in) with their device counts", "responses": merge(json!({ "200": ok("Groups", list("Group", "groups")) }), errors(&["401", "403"])) },
            "post": { "summary": "Create a group: a fixed list of devices or a filter", "requestBody": group_body, "responses": merge(json!({ "201": ok("The group", reference("Group")) }), errors(&["400", "401", "403", "409", "422"])) }
        },
        "/api/v1/groups/{id}": {
            "get": { "summary": "A group with its device ids (the first 1000)", "parameters": id_parameter("Group id or name"), "responses": merge(json!({ "200": ok("The group", reference("Group")) }), errors(&["401", "403", "404"])) },
            "put": { "summary": "Change a group; its profiles follow its new members", "parameters": id_parameter("Group id or name"), "requestBody": group_body, "responses": merge(json!({ "200": ok("The group", reference("Group")) }), errors(&["400", "401", "403", "404", "409", "422"])) },
            "delete": { "summary": "Delete a group (not the built-in one)", "parameters": id_parameter("Group id or name"), "responses": merge(json!({ "200": ok("Deleted", json!({ "type": "object" })) }), errors(&["401", "403", "404", "422"])) }
        }
    })
}

/// The schemas of profiles and groups.
pub fn schemas() -> Value {
    let formats: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
    let statuses: Vec<&str> = ProfileStatus::ALL.iter().map(|s| s.as_str()).collect();
    let node_states: Vec<&str> = NodeState::ALL.iter().map(|s| s.as_str()).collect();
    let counts: serde_json::Map<String, Value> = statuses
        .iter()
        .map(|s| ((*s).to_owned(), json!({ "type": "integer" })))
        .collect();
    json!({
        "Setting": { "type": "object", "required": ["loc_uri", "format"], "properties": {
            "loc_uri": { "type": "string", "description": "./Device/…, ./User/… (user profiles), ./Vendor/…; Windows 8.1: ./cimv2/<Class>/<Class>.<Key>=%22v%22/<Property>" },
            "format": { "type": "string", "enum": formats },
            "type": { "type": "string" },
            "value": { "type": "string", "description": "May use $DEVICE_ID, $DEVICE_NAME, $UPN, $USER_SID ($$ is a literal $)" },
            "removal": { "description": "What unassigning does (default delete)", "oneOf": [ { "type": "string", "enum": ["delete", "leave"] }, { "type": "object", "required": ["restore"], "properties": { "restore": { "type": "string" } } } ] }
        } },
        "ProfileInput": { "type": "object", "required": ["name", "platforms"], "additionalProperties": false, "properties": {
            "name": { "type": "string", "minLength": 1, "maxLength": 128 },
            "description": { "type": "string" },
            "platforms": { "type": "array", "items": { "type": "string", "enum": ["windows-8.1", "windows-10"] } },
            "scope": { "type": "string", "enum": ["device", "user"], "description": "Default device" },
            "settings": { "type": "array", "items": reference("Setting") },
            "syncml": { "type": "string", "description": "Instead of settings: a SyncML body of Add/Replace items" }
        } },
        "ProfileCounts": { "type": "object", "properties": counts },
        "Profile": { "type": "object", "required": ["id", "name", "platforms", "scope", "settings", "revision", "counts", "summary"], "properties": {
            "id": { "type": "string" }, "name": { "type": "string" }, "description": { "type": "string" },
            "platforms": { "type": "array", "items": { "type": "string" } }, "scope": { "type": "string" },
            "settings": { "type": "array", "items": reference("Setting") }, "syncml": { "type": ["string", "null"] },
            "revision": { "type": "integer" }, "created_at": { "type": "integer" }, "updated_at": { "type": "integer" },
            "groups": { "type": "array", "items": { "type": "string" } },
            "counts": reference("ProfileCounts"),
            "summary": { "type": "string", "description": "e.g. \"950 verified · 40 pending — wait for a Maintenance session · 10 failed\"" }
        } },
        "DeviceProfile": { "type": "object", "required": ["device_id", "profile_id", "status", "nodes"], "properties": {
            "device_id": { "type": "string" }, "device_name": { "type": ["string", "null"] },
            "profile_id": { "type": "string" }, "profile_name": { "type": "string" },
            "status": { "type": "string", "enum": statuses },
            "status_words": { "type": "string", "description": "e.g. \"applied (not readable)\", \"left on device\"" },
            "waits_for": { "type": ["string", "null"], "description": "e.g. \"waits for a Maintenance session\", \"waits for alice@contoso.com to sign in on WIN-…\"" },
            "assigned": { "type": "boolean" }, "revision": { "type": "integer" },
            "drift_count": { "type": "integer" }, "last_drift_at": { "type": ["integer", "null"] }, "updated_at": { "type": "integer" },
            "nodes": { "type": "array", "items": { "type": "object", "properties": {
                "loc_uri": { "type": "string" }, "state": { "type": "string", "enum": node_states },
                "desired": { "type": "string" }, "code": { "type": ["integer", "null"] },
                "detail": { "type": ["string", "null"], "description": "e.g. \"the device answered 400 bad request\", \"read back \\\"1\\\", expected \\\"0\\\"\"" },
                "at": { "type": "integer" } } } }
        } },
        "GroupInput": { "type": "object", "required": ["name", "kind"], "properties": {
            "name": { "type": "string", "minLength": 1, "maxLength": 128 },
            "description": { "type": "string" },
            "kind": { "type": "string", "enum": ["static", "filter"] },
            "devices": { "type": "array", "items": { "type": "string" }, "description": "static: the device ids" },
            "filter": { "type": "object", "description": "filter: every field given must match", "properties": {
                "platform": { "type": "string", "enum": ["windows-8.1", "windows-10"] },
                "os_version": { "type": "string", "description": "The OS version starts with this" },
                "model": { "type": "string" }, "user": { "type": "string", "description": "The enrolled user's UPN: a user's devices" } } }
        } },
        "Group": { "type": "object", "required": ["id", "name", "members"], "properties": {
            "id": { "type": "string" }, "name": { "type": "string" }, "description": { "type": "string" },
            "members": { "type": "object" }, "built_in": { "type": "boolean" },
            "devices": { "type": "integer" }, "device_ids": { "type": "array", "items": { "type": "string" } },
            "created_at": { "type": "integer" }
        } }
    })
}
