//! The OMA-DM session core for Windows MDM, in both roles, and the context policy.
//!
//! No I/O and no clock: time comes in as `now` (unix milliseconds), messages as
//! [`casement_syncml::SyncMl`] values.
//!
//! - [`context`]: the Machine / Maintenance / Apps contexts, command classes and the policy table.
//! - [`evidence`]: how a session's context is decided from `?mode=` and package 1.
//! - [`server`]: the server-role state machine: statuses matched, commands selected, effects out.
//! - [`device`]: the device role: package 1 as Windows builds it, answers from a [`device::DeviceTree`].

pub mod catalog;
pub mod channel;
pub mod command;
pub mod context;
pub mod device;
pub mod evidence;
pub mod profiles;
pub mod server;

pub use command::{CommandRef, PendingCommand, ResultItem};
pub use context::{CommandClass, Context, ContextPolicy, WaitsFor};
pub use evidence::{ContextDecision, ContextReason, LoginStatus, ModeParam, Package1Facts};
