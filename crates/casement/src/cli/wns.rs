//! `casement sim wns`: the simulator's WNS-compatible endpoint as a process (docs/product.md §4,
//! §5), and the shell commands that change how its channels answer.
//!
//! Design: one HTTPS listener serves WNS (token and channel endpoints) and a small control
//! endpoint (`POST /control/channels/<device id>`) that only a bearer of the control token
//! reaches. The token, the endpoint's address and the server settings that point at it are in
//! `<dir>/wns-simulator.json` (owner-only), its certificate in `<dir>/wns.pem`: `casement serve
//! --wns-simulator DIR`, `casement sim enroll --wns-simulator DIR` and `casement sim wns revoke …
//! --dir DIR` read them. Each delivered push runs the device's push-triggered session from its
//! directory under `--devices` (`run_push_driver`); a revoked or expired channel answers again
//! once the device registers a new one (`ChannelWatch`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use casement_sim::wns::{
    ChannelWatch, ControlRequest, ReceivedPush, SimulatorInfo, WnsEndpoint, WnsEndpointConfig,
    run_push_driver,
};
use clap::{Args, Subcommand};
use rand::RngCore;

/// The package family name the simulator tells the server to configure devices with.
pub const PACKAGE_FAMILY_NAME: &str = "Casement.SimulatedMDM_8wekyb3d8bbwe";

/// Run the simulator's WNS endpoint, or change how one of its channels answers.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct WnsArgs {
    #[command(subcommand)]
    control: Option<Control>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Where to write wns-simulator.json and wns.pem (created if missing).
    #[arg(long, default_value = "wns")]
    dir: PathBuf,
    /// The directory holding the simulated devices' directories: a push runs that device's
    /// session from there.
    #[arg(long, default_value = ".")]
    devices: PathBuf,
    /// Where to listen (the agents' default channel URIs point at 127.0.0.1:8444).
    #[arg(
        long,
        env = "CASEMENT_SIM_WNS_LISTEN",
        default_value = "127.0.0.1:8444"
    )]
    listen: SocketAddr,
    /// The server's TLS certificate for the pushed devices to trust (default: what each
    /// device's agent.json holds).
    #[arg(long)]
    ca_cert: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Control {
    /// Pushes to the device answer 404 (channel revoked) until it registers a new channel.
    Revoke(Target),
    /// Pushes answer 410 (channel expired) until it registers a new channel.
    Expire(Target),
    /// Pushes answer 406 with X-WNS-CONTINUE-AFTER.
    Throttle {
        #[command(flatten)]
        target: Target,
        /// The delay announced.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Pushes answer a 5xx status (WNS failing).
    Fail {
        #[command(flatten)]
        target: Target,
        /// The status (500 or 503).
        #[arg(long, default_value_t = 503)]
        status: u16,
    },
    /// Pushes are accepted (200 dropped) but never delivered.
    Drop(Target),
    /// Pushes are delivered again.
    Restore(Target),
}

#[derive(Debug, Args)]
struct Target {
    /// The device: its ID, or its directory (from `casement sim enroll --dir`).
    device: String,
    /// The `--dir` the simulator was started with.
    #[arg(long, default_value = "wns")]
    dir: PathBuf,
}

pub fn run(args: WnsArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match args.control {
        Some(control) => runtime.block_on(control_channel(control)),
        None => runtime.block_on(serve(args.run)),
    }
}

/// Starts the endpoint and writes its files; `client_id` and secrets are fresh each start.
pub async fn start_endpoint(
    dir: &Path,
    listen: SocketAddr,
) -> anyhow::Result<(WnsEndpoint, SimulatorInfo)> {
    let client_id = format!("ms-app://S-1-15-2-{}", rand::rng().next_u32());
    let client_secret = random_hex(24);
    let control_token = random_hex(32);
    let mut config = WnsEndpointConfig::new(client_id.clone(), client_secret.clone());
    config.listen = listen;
    config.control_token = Some(control_token.clone());
    let endpoint = WnsEndpoint::start(config).await?;
    let info = SimulatorInfo::new(
        &endpoint,
        dir,
        &client_id,
        &client_secret,
        PACKAGE_FAMILY_NAME,
        &control_token,
    )
    .with_context(|| format!("{}", dir.display()))?;
    info.write(dir, endpoint.certificate_pem())
        .with_context(|| format!("writing {}", dir.display()))?;
    Ok((endpoint, info))
}

async fn serve(args: RunArgs) -> anyhow::Result<()> {
    let server_pem = match &args.ca_cert {
        Some(path) => Some(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        ),
        None => None,
    };
    let (endpoint, info) = start_endpoint(&args.dir, args.listen).await?;
    let dir = args.dir.display();
    println!("WNS simulator listening on {}", info.base_url);
    println!("  server:   casement serve --wns-simulator {dir}");
    println!(
        "  devices:  casement sim enroll … --wns-simulator {dir}   (channels {}/<device id>)",
        info.channel_base
    );
    println!(
        "  channels: casement sim wns revoke|expire|throttle|fail|drop|restore DEVICE --dir {dir}"
    );
    println!(
        "  a push runs the device's session from its directory under {}",
        args.devices.display()
    );
    println!("Press Ctrl-C to stop.");

    let mut observed = endpoint.observe();
    tokio::spawn(async move {
        while let Some(push) = observed.recv().await {
            println!("{}", push_line(&push));
        }
    });
    let devices = args.devices.clone();
    // The driver's future is not Send (the agents' trees): it runs on this task.
    let driver = run_push_driver(
        endpoint.subscribe(),
        devices,
        time::OffsetDateTime::now_utc,
        server_pem,
        |result| match result {
            Ok(entry) => println!("{}", super::demo::session_line(&entry)),
            Err(e) => println!("{} push not handled: {e}", clock()),
        },
    );
    let endpoint = std::sync::Arc::new(endpoint);
    let watched = endpoint.clone();
    let devices = args.devices.clone();
    let watch = tokio::spawn(async move {
        let mut watch = ChannelWatch::new();
        loop {
            for id in watch.scan(&watched, &devices) {
                println!(
                    "{} {id} registered a new channel: pushes to it are delivered again",
                    clock()
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    tokio::select! {
        () = driver => {}
        stop = tokio::signal::ctrl_c() => stop.context("waiting for Ctrl-C")?,
    }
    println!("stopping…");
    watch.abort();
    Ok(())
}

async fn control_channel(control: Control) -> anyhow::Result<()> {
    let (target, request) = match control {
        Control::Revoke(t) => (t, ControlRequest::Revoked),
        Control::Expire(t) => (t, ControlRequest::Expired),
        Control::Throttle { target, seconds } => (target, ControlRequest::Throttled { seconds }),
        Control::Fail { target, status } => (target, ControlRequest::Failing { status }),
        Control::Drop(t) => (t, ControlRequest::Dropped),
        Control::Restore(t) => (t, ControlRequest::Active),
    };
    let info = SimulatorInfo::read(&target.dir)?;
    let device_id = device_id_of(&target.device);
    let pem = std::fs::read(&info.server.wns_trust_pem)
        .with_context(|| format!("reading {}", info.server.wns_trust_pem.display()))?;
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem)?])
        .timeout(Duration::from_secs(10))
        .build()?;
    let response = client
        .post(info.control_url(&device_id))
        .bearer_auth(&info.control_token)
        .json(&request)
        .send()
        .await
        .with_context(|| {
            format!(
                "is `casement sim wns --dir {}` running?",
                target.dir.display()
            )
        })?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        anyhow::bail!("the simulator answered {status}: {}", body.trim());
    }
    let effect = match request {
        ControlRequest::Active => "pushes are delivered".to_owned(),
        ControlRequest::Revoked => {
            "revoked: pushes answer 404 until the device registers a new channel".to_owned()
        }
        ControlRequest::Expired => {
            "expired: pushes answer 410 until the device registers a new channel".to_owned()
        }
        ControlRequest::Dropped => "pushes are accepted (200 dropped), never delivered".to_owned(),
        ControlRequest::Throttled { seconds } => {
            format!("throttled: pushes answer 406, continue after {seconds} s")
        }
        ControlRequest::Failing { status } => format!("failing: pushes answer {status}"),
    };
    super::print_stdout(&format!("channel of {device_id}: {effect}\n"))
}

/// A device directory (with `device.json`) stands for its device ID; anything else is an ID.
fn device_id_of(device: &str) -> String {
    let file = Path::new(device).join(casement_sim::state::DEVICE_FILE);
    std::fs::read(file)
        .ok()
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|v| v["device_id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| device.to_owned())
}

/// One line per push the endpoint received.
fn push_line(push: &ReceivedPush) -> String {
    let meaning = match push.status {
        200 if push.delivered => "received: the device starts its push-triggered session",
        200 => "dropped: accepted, not delivered",
        404 => "404: channel revoked",
        410 => "410: channel expired",
        406 => "406: throttled",
        s if s >= 500 => "WNS failing",
        _ => "refused",
    };
    format!(
        "{} push to {} ({} bytes): {} {meaning}",
        clock(),
        push.device_id,
        push.payload.len(),
        push.status
    )
}

fn clock() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{:02}:{:02}:{:02}", now.hour(), now.minute(), now.second())
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
