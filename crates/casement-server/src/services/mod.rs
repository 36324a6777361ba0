//! Services: the code that drives the protocol cores against storage. Handlers call these.

pub mod admins;
pub mod audit;
pub mod commands;
pub mod enrollment;
pub mod installs;
pub mod management;
pub mod package1;
pub mod push;
pub mod signin;
pub mod users;
