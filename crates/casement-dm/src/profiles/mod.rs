//! Configuration profiles: a desired state (settings) that the server applies, reads back,
//! keeps and removes, in the sessions that can carry it (docs/profiles.md).
//!
//! - [`setting`]: what a profile is made of (a node, its format, a value, what removal does).
//! - [`validate`]: the checks at creation, each with a precise message; [`ddf`] the node
//!   definitions shipped from the public DDF files.
//! - [`syncml_body`]: settings derived from a SyncML body of `Add`/`Replace` items.
//! - [`variables`]: `$DEVICE_ID`, `$DEVICE_NAME`, `$UPN`, `$USER_SID` expanded per device.
//! - [`compare`]: a value read back compared with the desired one, normalised by format.
//! - [`work`]: a device × profile's state and what a session does about it (the commands to
//!   send, and what each answer means).

pub mod compare;
pub mod ddf;
pub mod setting;
pub mod syncml_body;
pub mod validate;
pub mod variables;
pub mod work;

pub use setting::{Format, ProfileScope, Removal, Setting};
