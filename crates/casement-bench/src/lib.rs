//! `casement bench`: starts what it measures — `casement serve` nodes on SQLite or a throwaway
//! PostgreSQL, optionally nginx in front — and drives it with the simulator as a fleet of
//! enrolled devices, then reports sessions/s, latency percentiles, the server's CPU per session
//! and peak memory, errors, and the rate of a trivial mTLS request over the same connections
//! (the transport's ceiling) measured in the same run (docs/product.md §6).
//!
//! One command per table:
//!
//! ```text
//! casement bench sessions                                        # SQLite, one node
//! casement bench sessions --database postgres                    # PostgreSQL, one node
//! casement bench sessions --database postgres --nodes 2 --nginx  # two nodes behind nginx
//! casement bench fanout --queued-for 100000                      # queue 1 command for 100k
//! casement bench growth --sizes 10000,100000,1000000             # check-ins as the fleet grows
//! casement bench profiles --assigned-to 100000                   # 1 profile to 100k, counts
//! ```
//!
//! [`cluster`] (nodes, database, nginx) is also what the multi-node end-to-end test starts.

pub mod client;
pub mod cluster;
pub mod fleet;
pub mod nginx;
pub mod procs;
pub mod progress;
pub mod report;
pub mod scenarios;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

/// Measure Casement with the simulator as the load (docs/product.md §6).
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Transport ceiling, idle check-ins, check-ins delivering commands, enrollment.
    Sessions(scenarios::Setup),
    /// Queue one command for N devices (bulk API), then deliver it in check-ins.
    Fanout {
        #[command(flatten)]
        setup: scenarios::Setup,
        /// Devices in the database the command is queued for (the enrolled fleet plus devices
        /// seeded in bulk).
        #[arg(long, default_value_t = 100_000)]
        queued_for: u64,
        /// Timed repeats of the queueing (the median is reported).
        #[arg(long, default_value_t = 5)]
        repeats: usize,
    },
    /// The check-in scenarios with 10k, 100k, 1M devices already in the database.
    Growth {
        #[command(flatten)]
        setup: scenarios::Setup,
        /// Database sizes, in devices (seeded in bulk, growing from one size to the next).
        #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
        sizes: Vec<u64>,
    },
    /// Assign one configuration profile to N devices (timed), unassign and assign it again,
    /// read the status counts; the enrolled fleet applies it.
    Profiles {
        #[command(flatten)]
        setup: scenarios::Setup,
        /// Devices in the database the profile is assigned to (the enrolled fleet plus devices
        /// seeded in bulk).
        #[arg(long, default_value_t = 100_000)]
        assigned_to: u64,
        /// Timed repeats of the unassignment + assignment and of the count reads (medians).
        #[arg(long, default_value_t = 5)]
        repeats: usize,
    },
}

/// Runs a benchmark; `exe` is the `casement` binary the nodes are started from.
pub fn run(args: BenchArgs, exe: &Path) -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let (report, json) = runtime.block_on(async {
        match &args.command {
            BenchCommand::Sessions(setup) => {
                Ok::<_, anyhow::Error>((scenarios::sessions(setup, exe).await?, setup.json.clone()))
            }
            BenchCommand::Fanout {
                setup,
                queued_for,
                repeats,
            } => Ok((
                scenarios::fanout(setup, exe, *queued_for, *repeats).await?,
                setup.json.clone(),
            )),
            BenchCommand::Profiles {
                setup,
                assigned_to,
                repeats,
            } => Ok((
                scenarios::profiles(setup, exe, *assigned_to, *repeats).await?,
                setup.json.clone(),
            )),
            BenchCommand::Growth { setup, sizes } => Ok((
                scenarios::growth(setup, exe, sizes).await?,
                setup.json.clone(),
            )),
        }
    })?;
    print!("{}", report.table());
    if let Some(path) = json {
        write_json(&path, &report)?;
    }
    Ok(())
}

fn write_json(path: &PathBuf, report: &report::Report) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))
}
