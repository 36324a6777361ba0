//! Queued commands as the session core sees them, and what devices report back.

use casement_syncml::{Command, Item};
use serde::{Deserialize, Serialize};

use crate::context::CommandClass;

/// The queue's identity of a command: opaque, stable across sessions and attempts, so that a
/// command sent again keeps its identity and late results still match it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CommandRef(pub String);

impl std::fmt::Display for CommandRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A command waiting to be delivered, in queue order, as the storage layer hands it to the core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCommand {
    /// Its identity.
    pub id: CommandRef,
    /// Its class, declared when it was queued.
    pub class: CommandClass,
    /// The SyncML command to send. Its CmdIDs (and those of nested commands) are placeholders:
    /// the core assigns fresh ones in each message.
    pub command: Command,
    /// When it stops being worth sending (unix milliseconds), if ever.
    pub expires_at: Option<i64>,
}

/// One node a device reported in `Results` (or in a DevInfo `Replace`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultItem {
    /// The node's URI (the item's Source, else its Target).
    pub loc_uri: String,
    /// `Meta/Format`, if given.
    pub format: Option<String>,
    /// `Meta/Type`, if given.
    pub r#type: Option<String>,
    /// The value (trimmed text, or raw XML for nested XML data).
    pub data: Option<String>,
}

impl ResultItem {
    /// Reads a SyncML item; `None` when it names no URI.
    pub fn from_item(item: &Item, meta: Option<&casement_syncml::Meta>) -> Option<Self> {
        let meta = item.meta.as_ref().or(meta);
        Some(Self {
            loc_uri: item.loc_uri()?.to_owned(),
            format: meta.and_then(|m| m.format_value()).map(str::to_owned),
            r#type: meta.and_then(|m| m.type_value()).map(str::to_owned),
            data: item.data.as_ref().map(|d| d.as_str().to_owned()),
        })
    }
}
