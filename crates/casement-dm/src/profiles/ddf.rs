//! Node definitions shipped from the public DDF files. STUB: to be completed.

use super::setting::Format;

/// Who may be configured through a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeDefinition {
    /// The node below the CSP root, e.g. `Policy/Config/Camera/AllowCamera`.
    pub path: &'static str,
    /// Its format.
    pub format: Format,
    /// True when the device answers `Get` on it (false: write-only, read back never).
    pub readable: bool,
    /// True when `Delete` is supported.
    pub deletable: bool,
}

/// The definition of the node `loc_uri` addresses, when shipped.
pub fn lookup(loc_uri: &str) -> Option<&'static NodeDefinition> {
    let _ = loc_uri;
    None
}
