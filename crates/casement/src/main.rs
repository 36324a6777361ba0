//! `casement`: one binary for the MDM server and its tools.
//!
//! This file only parses the command line, dispatches to a subcommand in [`cli`] and turns the
//! outcome into an exit code: 0 on success, 1 when the input given to a tool is invalid
//! ([`cli::Invalid`]), 2 for any other failure (unreadable file, I/O error, …). Usage errors are
//! reported by clap, also with exit code 2.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Casement: an MDM server for Windows devices.
#[derive(Debug, Parser)]
#[command(name = "casement", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server on its embedded defaults (./casement-data, https://127.0.0.1:8443).
    Serve(cli::serve::ServeArgs),
    /// Administer a running server through its API (users, devices, commands, sessions).
    Admin(cli::admin::AdminArgs),
    /// Configuration profiles and device groups as code: the plan from a directory of TOML
    /// files to the server (`--yes` applies it; docs/configuration-as-code.md).
    Apply(cli::apply::ApplyArgs),
    /// Simulate Windows devices: enroll one, run a fleet as a load test.
    Sim(cli::sim::SimArgs),
    /// Validate and pretty-print SyncML (OMA-DM) messages.
    Syncml(cli::syncml::SyncmlArgs),
    /// Benchmark the server with the simulator as the load (starts what it measures).
    Bench(casement_bench::BenchArgs),
    /// One accelerated day of three simulated PCs (8.1, 10, 11) against a fresh server and a
    /// simulated WNS, as a readable timeline; the server keeps running for the portal and console.
    Demo(cli::demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve(args) => cli::serve::run(args),
        Command::Admin(args) => cli::admin::run(args),
        Command::Apply(args) => cli::apply::run(args),
        Command::Sim(args) => cli::sim::run(args),
        Command::Syncml(args) => cli::syncml::run(args),
        Command::Demo(args) => cli::demo::run(args),
        Command::Bench(args) => std::env::current_exe()
            .map_err(anyhow::Error::from)
            .and_then(|exe| casement_bench::run(args, &exe)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => cli::report(&err),
    }
}
