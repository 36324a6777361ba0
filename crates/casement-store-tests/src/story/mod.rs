//! The storage story, in chapters (one module per area).

pub(crate) mod actions;
pub(crate) mod apps;
pub(crate) mod directory;
pub(crate) mod fleet;
pub(crate) mod profile_rows;
pub(crate) mod profiles;
pub(crate) mod push;
pub(crate) mod queue;
pub(crate) mod retention;

pub(crate) use super::*;
