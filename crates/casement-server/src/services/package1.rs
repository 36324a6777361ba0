//! What the server keeps of the values a device replaces on its own in package 1 (its
//! `Replace`/`Add` of `./DevInfo/*` and whatever else it chooses to send).
//!
//! Only what the server uses is stored — [`KEPT_NODES`] (the console and the API show the maker
//! and model; the rest identifies the client) — and each value at most [`MAX_VALUE_BYTES`]; a
//! value refused is a warning of the session, which the console and the API show. A device cannot
//! grow its row with arbitrary nodes, nor rename itself: the session core already dropped a
//! `./DevInfo/DevId` other than the certificate's device (`casement_dm::server`, a session
//! warning too).

use casement_dm::command::ResultItem;
use serde_json::{Map, Value};

/// The package-1 nodes stored.
pub const KEPT_NODES: &[&str] = &[
    "./DevInfo/DevId",
    "./DevInfo/Man",
    "./DevInfo/Mod",
    "./DevInfo/DmV",
    "./DevInfo/Lang",
];
/// The longest value stored (a real one is under 64 bytes).
pub const MAX_VALUE_BYTES: usize = 256;

/// The values to store (`./DevInfo/*` URI → value) and the warnings for the session.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Kept {
    /// What is stored as the device's `devinfo`.
    pub devinfo: Map<String, Value>,
    /// Why something the device sent was not stored, for the session's evidence.
    pub warnings: Vec<String>,
}

/// Sorts package 1's items for the device `device_id` (the certificate's).
pub fn keep(items: &[ResultItem], device_id: &str) -> Kept {
    let mut kept = Kept::default();
    let mut ignored = 0usize;
    for item in items {
        let Some(node) = KEPT_NODES.iter().find(|n| **n == item.loc_uri) else {
            ignored += 1;
            continue;
        };
        let value = item.data.clone().unwrap_or_default();
        if value.len() > MAX_VALUE_BYTES {
            kept.warnings.push(format!(
                "{node} is {} bytes, over the {MAX_VALUE_BYTES}-byte limit: not stored",
                value.len()
            ));
            continue;
        }
        kept.devinfo
            .insert((*node).to_owned(), Value::String(value));
    }
    if ignored > 0 {
        tracing::debug!(
            device = device_id,
            ignored,
            "package 1: values not stored (unused nodes)"
        );
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(uri: &str, data: &str) -> ResultItem {
        ResultItem {
            loc_uri: uri.into(),
            format: None,
            r#type: None,
            data: Some(data.into()),
        }
    }

    #[test]
    fn only_used_nodes_are_kept_and_each_value_is_capped() {
        let big = "x".repeat(MAX_VALUE_BYTES + 1);
        let kept = keep(
            &[
                item("./DevInfo/DevId", "PC1"),
                item("./DevInfo/Man", "Contoso"),
                item("./DevInfo/Mod", &big),
                item("./a", &"y".repeat(4_000_000)),
                item("./Vendor/MSFT/DMClient/HWDevID", "abc"),
            ],
            "PC1",
        );
        assert_eq!(
            Value::Object(kept.devinfo),
            serde_json::json!({"./DevInfo/DevId": "PC1", "./DevInfo/Man": "Contoso"})
        );
        assert_eq!(kept.warnings.len(), 1, "{:?}", kept.warnings);
        assert!(kept.warnings[0].starts_with("./DevInfo/Mod is 257 bytes"));
    }
}
