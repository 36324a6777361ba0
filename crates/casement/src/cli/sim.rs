//! `casement sim`: the device simulator from the shell.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::fleet::{self, FleetArgs};

/// Simulate Windows devices against a server.
#[derive(Debug, Args)]
pub struct SimArgs {
    #[command(subcommand)]
    command: SimCommand,
}

#[derive(Debug, Subcommand)]
enum SimCommand {
    /// Enroll one device and keep its state (key, certificate, provisioning) in a directory.
    Enroll {
        /// The device's state directory.
        #[arg(long)]
        dir: PathBuf,
        /// Server base URL.
        #[arg(long, env = "CASEMENT_URL", default_value = "https://127.0.0.1:8443")]
        url: String,
        /// The server's TLS certificate to trust.
        #[arg(long, default_value = "casement-data/tls.pem")]
        ca_cert: PathBuf,
        /// The user's UPN.
        #[arg(long)]
        user: String,
        /// The user's password.
        #[arg(long, env = "CASEMENT_SIM_PASSWORD", hide_env_values = true)]
        password: String,
        /// win81 (Federated), win10, win11.
        #[arg(long, default_value = "win10")]
        platform: String,
        /// Give the device its push channel on a running `casement sim wns --dir DIR` (default:
        /// https://127.0.0.1:8444, where `sim wns` listens by default).
        #[arg(long, value_name = "DIR")]
        wns_simulator: Option<PathBuf>,
    },
    /// Run one MDMAgent event on an enrolled device (reboot, logon, logoff, lock, unlock,
    /// nightly, interactive, push) and print the session transcript as JSON; or
    /// `change-setting NODE VALUE`: a local administrator changes a setting (no session runs)
    /// and one JSON line says what changed.
    Event {
        /// The device's state directory (from `sim enroll`).
        #[arg(long)]
        dir: PathBuf,
        /// The event: reboot, logon, logoff, lock, unlock, nightly, interactive, push, or
        /// change-setting.
        event: String,
        /// For change-setting: the node (a CSP LocURI such as
        /// ./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera, or on Windows 8.1 a WMI
        /// property such as ./cimv2/MDM_EASPolicy/MDM_EASPolicy.Key=%221%22/MinPasswordLength)
        /// and its new value.
        #[arg(value_names = ["NODE", "VALUE"], allow_negative_numbers = true)]
        args: Vec<String>,
        /// The device's time for the event (RFC 3339); default: its clock, or now if later.
        #[arg(long)]
        at: Option<String>,
        /// The server's TLS certificate to trust.
        #[arg(long, default_value = "casement-data/tls.pem")]
        ca_cert: PathBuf,
    },
    /// Run a scenario file (timed events for one or many devices) and write a JSON transcript.
    Scenario {
        /// The scenario (JSON; format in casement-sim's `scenario` module docs).
        file: PathBuf,
        /// Where device directories are when the scenario does not name them.
        #[arg(long, default_value = ".")]
        devices_dir: PathBuf,
        /// Where to write the transcript (default: stdout).
        #[arg(long)]
        transcript: Option<PathBuf>,
        /// The server's TLS certificate to trust.
        #[arg(long, default_value = "casement-data/tls.pem")]
        ca_cert: PathBuf,
    },
    /// Enroll a fleet and run sessions: a load test with a report.
    Fleet(FleetArgs),
    /// The WNS-compatible endpoint for simulated devices (pushes start their sessions); its
    /// subcommands revoke, expire, throttle, fail, drop or restore a device's channel.
    Wns(super::wns::WnsArgs),
}

pub fn run(args: SimArgs) -> anyhow::Result<()> {
    match args.command {
        SimCommand::Enroll {
            dir,
            url,
            ca_cert,
            user,
            password,
            platform,
            wns_simulator,
        } => {
            let platform = fleet::parse_platform(&platform)?;
            let wns = match &wns_simulator {
                Some(dir) => Some(casement_sim::wns::SimulatorInfo::read(dir)?),
                None => None,
            };
            let pem = std::fs::read_to_string(&ca_cert)
                .with_context(|| format!("reading {}", ca_cert.display()))?;
            let mut options = casement_sim::EnrollOptions::new(
                format!(
                    "{}/EnrollmentServer/Discovery.svc",
                    url.trim_end_matches('/')
                ),
                user,
                password,
                platform,
            );
            options.server_tls_pem = Some(pem.clone());
            options.state_dir = Some(dir.clone());
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let device = runtime
                .block_on(casement_sim::enroll(&options))
                .map_err(|e| anyhow::anyhow!("enrollment failed: {e}"))?;
            println!(
                "enrolled device {} ({}) as {}; state in {}",
                device.device_id,
                device.device_name,
                device.upn,
                dir.display()
            );
            println!("management URL: {}", device.management_url);
            if let Some(wns) = wns {
                let mut agent = casement_sim::agent::Agent::new(device.clone(), device.enrolled_at);
                agent.state_mut().wns_endpoint = wns.channel_base.clone();
                agent.state_mut().server_tls_pem = Some(pem);
                agent.save(&dir).map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("push channel on the WNS simulator: {}", wns.channel_base);
            }
            Ok(())
        }
        SimCommand::Event {
            dir,
            event,
            args,
            at,
            ca_cert: _,
        } if event.eq_ignore_ascii_case(CHANGE_SETTING) => change_setting(&dir, &args, at),
        SimCommand::Event {
            dir,
            event,
            args,
            at,
            ca_cert,
        } => {
            if !args.is_empty() {
                anyhow::bail!(
                    "unexpected arguments {args:?}: only {CHANGE_SETTING} takes a node and a value"
                );
            }
            let pem = std::fs::read_to_string(&ca_cert)
                .with_context(|| format!("reading {}", ca_cert.display()))?;
            let event: casement_sim::agent::Event = serde_json::from_value(serde_json::Value::String(event.to_ascii_lowercase()))
                .map_err(|_| anyhow::anyhow!("unknown event {event:?} (reboot, logon, logoff, lock, unlock, nightly, interactive, push, {CHANGE_SETTING})"))?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut agent =
                    casement_sim::agent::Agent::load(&dir).map_err(|e| anyhow::anyhow!("{e}"))?;
                agent.state_mut().server_tls_pem = Some(pem);
                let now = match at {
                    Some(at) => time::OffsetDateTime::parse(
                        &at,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .context("--at must be RFC 3339")?,
                    None => agent.state().clock.max(time::OffsetDateTime::now_utc()),
                };
                let entry = agent.event(event, now).await;
                agent.save(&dir).map_err(|e| anyhow::anyhow!("{e}"))?;
                super::print_stdout(&format!("{}\n", serde_json::to_string_pretty(&entry)?))
            })
        }
        SimCommand::Scenario {
            file,
            devices_dir,
            transcript,
            ca_cert,
        } => {
            let pem = std::fs::read_to_string(&ca_cert)
                .with_context(|| format!("reading {}", ca_cert.display()))?;
            let options = casement_sim::scenario::ScenarioOptions {
                devices_dir,
                transcript_path: transcript.clone(),
                server_tls_pem: Some(pem),
                ..Default::default()
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let result = runtime
                .block_on(casement_sim::scenario::run_scenario(file, &options))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if transcript.is_none() {
                super::print_stdout(&format!("{}\n", serde_json::to_string_pretty(&result)?))?;
            }
            Ok(())
        }
        SimCommand::Fleet(args) => fleet::run(args),
        SimCommand::Wns(args) => super::wns::run(args),
    }
}

/// The `sim event` that is not an MDMAgent trigger: a local administrator changes a setting.
const CHANGE_SETTING: &str = "change-setting";

/// `casement sim event --dir DIR change-setting NODE VALUE`: changes the stored value of NODE as
/// if set locally on the device (no session), saves the state and prints one JSON line.
/// `--at` moves the device's clock first (never back).
fn change_setting(
    dir: &std::path::Path,
    args: &[String],
    at: Option<String>,
) -> anyhow::Result<()> {
    let [node, value] = args else {
        anyhow::bail!("usage: casement sim event --dir DIR {CHANGE_SETTING} NODE VALUE");
    };
    let mut agent = casement_sim::agent::Agent::load(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(at) = at {
        let at = time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
            .context("--at must be RFC 3339")?;
        agent.set_clock(at);
    }
    let change = agent
        .change_setting(node, value)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    agent.save(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let line = serde_json::json!({
        "device": agent.device().device_id,
        "event": CHANGE_SETTING,
        "at": agent.state().clock.format(&time::format_description::well_known::Rfc3339)?,
        "node": change.node,
        "before": change.before,
        "after": change.after,
    });
    super::print_stdout(&format!("{line}\n"))
}
