//! The settings nodes whose description the simulator knows: their format, allowed values,
//! scopes and supported operations, so that the tree answers like Windows does for them.
//!
//! | node (under `./[User/|Device/]Vendor/MSFT`) | format | values | scopes | Add | Get | Replace | Delete | source |
//! |---|---|---|---|---|---|---|---|---|
//! | `Policy/Config/Camera/AllowCamera` | int | 0..=1 | device | ✓ | ✓ | ✓ | ✓ | windows-itpro-docs policy-csp-camera.md (Scope: Device) |
//! | `Policy/Config/DeviceLock/MinDevicePasswordLength` | int | 0 (not enforced), 4..=16 | device | ✓ | ✓ | ✓ | ✓ | policy-csp-devicelock.md ("An integer X where 4 <= X <= 16", "0 - Not enforced"; Scope: Device) |
//! | `Policy/Config/Experience/AllowCortana` | int | 0..=1 | device | ✓ | ✓ | ✓ | ✓ | policy-csp-experience.md (Scope: Device) |
//! | `Policy/Config/Experience/AllowWindowsSpotlight` | int | 0..=1 | user | ✓ | ✓ | ✓ | ✓ | policy-csp-experience.md (Scope: User) |
//! | `Policy/Config/Power/AllowHibernate` | int | 0..=1 | device | ✓ | ✓ | ✓ | ✓ | policy-csp-power.md (Scope: Device; "0 - Disable hibernate, 1 (Default) - Allow") |
//! | `Accounts/Users/<name>/Password` | chr | any non-empty | device | ✓ | 405 | ✓ | 405 | accounts-csp.md ("Supported operation is Add. GET operation is not supported.") |
//! | `CertificateStore/My/WSTEP/Renew/RetryAfterExpiryInterval` | int | any | device | ✓ | ✓ | ✓ | 405 | certificatestore-csp.md ("Supported operations are Add, Get, and Replace.") |
//!
//! What the tree answers on a known node:
//!
//! - an operation the node does not support: 405 (the DM client's answer to an operation the
//!   node's description does not list; [MS-MDM] / ITPRO oma-dm-protocol-support.md: "405 Command
//!   not allowed");
//! - a known node addressed in a scope it does not exist in (`./User/…/Camera/AllowCamera`):
//!   404 (inferred: the node is not in that tree);
//! - Add of a node that holds a value: 418, checked before the value (the DM client looks the
//!   node up before the CSP sees the data — modelling choice);
//! - missing or empty data, or data that is not an integer for an `int` node: 400;
//! - an integer outside the allowed values: 500. Modelling choice: no public capture of the
//!   status Windows gives for an out-of-range policy value was found; the Policy CSP rejects it
//!   when it applies the value, which the DM client reports as a failed command (500), not as a
//!   malformed request;
//! - Replace of a node that holds no value succeeds and creates it: Windows' configuration
//!   manager logs a Replace on the Policy CSP as "Command Type: (Add: from Replace or Add)"
//!   (event text quoted in ASD-Blueprint/desktop.gov.au issue 178), i.e. Replace of an unset
//!   policy is carried out as an Add. Accounts `Password` Replace is accepted too (modelling
//!   choice: the docs list Add only, but a server changing the password it set must be able to).
//!
//! The `Meta/Format` the server sends is not passed to the tree (`casement_dm::device::DeviceTree`
//! gives the data only), so a Format that mismatches the node's cannot be answered here; the
//! stored value takes the node's format.
//!
//! Policy and settings nodes not in this table keep the plain-store behaviour: any value is
//! accepted and read back, Delete removes it.

use casement_dm::device::NodeValue;
use casement_syncml::{Data, StatusCode};

use super::super::nodes::{chr, int};
use super::super::tree::Scope;

/// A node's format and allowed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    /// `int`, within one of the ranges (inclusive bounds).
    Int(&'static [(i64, i64)]),
    /// `chr`, any non-empty text.
    Chr,
}

/// The operations a node supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ops {
    /// Add.
    pub add: bool,
    /// Get.
    pub get: bool,
    /// Replace.
    pub replace: bool,
    /// Delete.
    pub delete: bool,
}

const ALL: Ops = Ops {
    add: true,
    get: true,
    replace: true,
    delete: true,
};

/// A known settings node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownNode {
    /// The path under `Vendor/MSFT`, `/`-separated, canonical case; `*` matches one segment.
    pub path: &'static str,
    /// Format and allowed values.
    pub values: Values,
    /// The scopes it exists in.
    pub scopes: &'static [Scope],
    /// Supported operations.
    pub ops: Ops,
}

/// The table (sources in the module documentation).
pub static KNOWN: &[KnownNode] = &[
    KnownNode {
        path: "Policy/Config/Camera/AllowCamera",
        values: Values::Int(&[(0, 1)]),
        scopes: &[Scope::Device],
        ops: ALL,
    },
    KnownNode {
        path: "Policy/Config/DeviceLock/MinDevicePasswordLength",
        values: Values::Int(&[(0, 0), (4, 16)]),
        scopes: &[Scope::Device],
        ops: ALL,
    },
    KnownNode {
        path: "Policy/Config/Experience/AllowCortana",
        values: Values::Int(&[(0, 1)]),
        scopes: &[Scope::Device],
        ops: ALL,
    },
    KnownNode {
        path: "Policy/Config/Experience/AllowWindowsSpotlight",
        values: Values::Int(&[(0, 1)]),
        scopes: &[Scope::User],
        ops: ALL,
    },
    KnownNode {
        path: "Policy/Config/Power/AllowHibernate",
        values: Values::Int(&[(0, 1)]),
        scopes: &[Scope::Device],
        ops: ALL,
    },
    KnownNode {
        path: "Accounts/Users/*/Password",
        values: Values::Chr,
        scopes: &[Scope::Device],
        ops: Ops {
            add: true,
            get: false,
            replace: true,
            delete: false,
        },
    },
    KnownNode {
        path: "CertificateStore/My/WSTEP/Renew/RetryAfterExpiryInterval",
        values: Values::Int(&[(i64::MIN, i64::MAX)]),
        scopes: &[Scope::Device],
        ops: Ops {
            add: true,
            get: true,
            replace: true,
            delete: false,
        },
    },
];

/// What the table says about a path (the segments after `MSFT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Not a known node.
    Unknown,
    /// A known node, but not in this scope.
    OtherScope,
    /// A known node in this scope, with its canonical path (wildcards filled in).
    Known(&'static KnownNode, String),
}

/// Looks `path` (the segments after `Vendor/MSFT`) up in `scope`.
pub fn lookup(scope: Scope, path: &[String]) -> Lookup {
    for node in KNOWN {
        let pattern: Vec<&str> = node.path.split('/').collect();
        if pattern.len() != path.len() {
            continue;
        }
        let matches = pattern
            .iter()
            .zip(path)
            .all(|(p, s)| *p == "*" || p.eq_ignore_ascii_case(s));
        if !matches {
            continue;
        }
        if !node.scopes.contains(&scope) {
            return Lookup::OtherScope;
        }
        let canonical: Vec<&str> = pattern
            .iter()
            .zip(path)
            .map(|(p, s)| if *p == "*" { s.as_str() } else { *p })
            .collect();
        return Lookup::Known(node, canonical.join("/"));
    }
    Lookup::Unknown
}

impl KnownNode {
    /// The value `data` stands for, or the status refusing it (400 malformed, 500 out of range).
    pub fn parse(&self, data: Option<&Data>) -> Result<NodeValue, StatusCode> {
        let text = data.map(Data::as_str).unwrap_or_default();
        if text.is_empty() {
            return Err(StatusCode::BadRequest);
        }
        match self.values {
            Values::Chr => Ok(chr(text)),
            Values::Int(ranges) => {
                let n: i64 = text.parse().map_err(|_| StatusCode::BadRequest)?;
                if !ranges.iter().any(|(min, max)| (*min..=*max).contains(&n)) {
                    return Err(StatusCode::CommandFailed);
                }
                Ok(int(n))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<String> {
        path.split('/').map(str::to_owned).collect()
    }

    #[test]
    fn lookup_matches_any_case_wildcards_and_scopes() {
        let Lookup::Known(node, canonical) =
            lookup(Scope::Device, &segs("policy/config/camera/allowcamera"))
        else {
            panic!("AllowCamera is known");
        };
        assert_eq!(canonical, "Policy/Config/Camera/AllowCamera");
        assert_eq!(node.values, Values::Int(&[(0, 1)]));
        assert_eq!(
            lookup(Scope::User, &segs("Policy/Config/Camera/AllowCamera")),
            Lookup::OtherScope
        );
        let Lookup::Known(_, canonical) =
            lookup(Scope::Device, &segs("Accounts/Users/ann/Password"))
        else {
            panic!("Password is known");
        };
        assert_eq!(canonical, "Accounts/Users/ann/Password");
        assert_eq!(
            lookup(Scope::Device, &segs("Policy/Config/Start/HideSleep")),
            Lookup::Unknown
        );
    }

    #[test]
    fn values_are_checked_for_format_then_range() {
        let Lookup::Known(node, _) = lookup(
            Scope::Device,
            &segs("Policy/Config/DeviceLock/MinDevicePasswordLength"),
        ) else {
            panic!("known");
        };
        let d = |s: &str| Some(Data::text(s));
        assert_eq!(node.parse(d("8").as_ref()), Ok(int(8)));
        assert_eq!(node.parse(d("0").as_ref()), Ok(int(0)));
        assert_eq!(node.parse(d("eight").as_ref()), Err(StatusCode::BadRequest));
        assert_eq!(node.parse(None), Err(StatusCode::BadRequest));
        assert_eq!(node.parse(d("3").as_ref()), Err(StatusCode::CommandFailed));
        assert_eq!(node.parse(d("17").as_ref()), Err(StatusCode::CommandFailed));
    }
}
