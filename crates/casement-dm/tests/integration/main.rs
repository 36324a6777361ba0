//! Server and device cores driven against each other in memory on a simulated clock.

mod harness;
mod scenarios;
