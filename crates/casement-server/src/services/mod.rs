//! Services: the code that drives the protocol cores against storage. Handlers call these.

pub mod actions;
pub mod admins;
pub mod audit;
pub mod commands;
pub mod enrollment;
pub mod events;
pub mod installs;
pub mod management;
pub mod package1;
pub mod push;
pub mod reports;
pub mod signin;
pub mod tokens;
pub mod users;
pub mod webhooks;
