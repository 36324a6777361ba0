//! `casement demo`: the seed's story on one laptop (docs/product.md §2, §3 flows 5–6, §4).
//!
//! In one process: a server on embedded defaults in a fresh directory, the simulator's WNS
//! endpoint (the server's WNS client points at it through `wns_simulator`, as with
//! `casement serve --wns-simulator`), and three simulated PCs — Windows 8.1, 10 and 11, each
//! with its user — living one accelerated day of MDMAgent.exe's life. Everything goes through the
//! wire protocol and the admin API, as it would with real PCs; the timeline shows each session's
//! context, what it carried and what waited, in the server's own words.
//!
//! Pushes are answered inline (the demo waits for the push, then runs the device's
//! `MDMAgent.exe -App` session), so that the timeline reads in order; `casement sim wns` runs
//! the same sessions from a background driver instead.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use casement_server::{RawConfig, Server};
use casement_sim::agent::{Agent, Event};
use casement_sim::wns::{ChannelWatch, ReceivedPush, WnsEndpoint};
use casement_sim::{AuthMode, EnrollOptions, WindowsRelease};
use clap::Args;
use rand::RngCore;
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedReceiver;

mod api;
mod day;
mod words;

use api::Api;
pub use words::session_line;

/// The users' password (printed: sign in to the portal with it).
const USER_PASSWORD: &str = "correct horse battery";
/// How long the demo waits for anything asynchronous (a push, the push worker's verdict).
const DEADLINE: Duration = Duration::from_secs(20);

/// Run the demo.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to keep the server's data, the WNS simulator's files and the PCs (default: a new
    /// directory under the system's temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The server's listen address (default: a free port on 127.0.0.1).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Stop the server when the day is over instead of keeping it running.
    #[arg(long)]
    exit: bool,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(demo(args))
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let (dir, temporary) = match args.dir {
        Some(dir) => (dir, false),
        None => {
            let mut suffix = [0u8; 4];
            rand::rng().fill_bytes(&mut suffix);
            let name = format!(
                "casement-demo-{}",
                suffix
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            );
            (std::env::temp_dir().join(name), true)
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let (wns, info) = super::wns::start_endpoint(&dir.join("wns"), "127.0.0.1:0".parse()?).await?;
    let server = Server::start(RawConfig {
        data_dir: dir.join("server"),
        listen: args.listen.clone(),
        wns_simulator: Some(dir.join("wns")),
        // One push per second per device: the confirmation push follows the install quickly.
        push_interval_seconds: 1,
        ..RawConfig::default()
    })
    .await?;
    let api = Api::new(&server)?;
    let base = server.config.public_url.clone();
    println!("Casement demo: one accelerated day of MDMAgent.exe's life on three simulated PCs");
    println!(
        "  server        {base}  (data in {})",
        dir.join("server").display()
    );
    println!(
        "  WNS simulator {}  (the server's WNS client points at it)",
        info.base_url
    );
    println!();

    let mut day = Day {
        api,
        pushes: wns.subscribe(),
        observed: wns.observe(),
        wns: Arc::new(wns),
        watch: ChannelWatch::new(),
        devices_dir: dir.join("devices"),
        pcs: Vec::new(),
        start: day_start(),
    };
    let outcome = day.play(&server).await;
    if let Err(e) = &outcome {
        println!("the demo stopped: {e:#}");
    }

    let admin_password = random_password();
    let (status, body) = day
        .api
        .post(
            "/admins",
            json!({ "username": "admin", "password": admin_password }),
        )
        .await?;
    if status != 201 {
        bail!("creating the console administrator: {status} {body}");
    }
    println!();
    println!("Look at what just happened:");
    println!("  console  {base}/console   administrator: admin / {admin_password}");
    println!(
        "  portal   {base}/portal    users: alice@contoso.com, bob@contoso.com, carol@contoso.com / {USER_PASSWORD}"
    );
    println!(
        "  admin API {base}/api/v1  (Authorization: Bearer $(cat {}))",
        server.admin_token_path.display()
    );
    println!(
        "  (the server's certificate is self-signed: {}/tls.pem)",
        dir.join("server").display()
    );
    outcome?;
    if args.exit {
        server.shutdown().await;
        if temporary {
            let _ = std::fs::remove_dir_all(&dir);
        }
        return Ok(());
    }
    println!("The server keeps running; press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    server.shutdown().await;
    Ok(())
}

/// One simulated PC.
struct Pc {
    name: &'static str,

    upn: &'static str,
    dir: PathBuf,
    agent: Agent,
}

impl Pc {
    fn id(&self) -> String {
        self.agent.device().device_id.clone()
    }
}

struct Day {
    api: Api,
    wns: Arc<WnsEndpoint>,
    pushes: UnboundedReceiver<String>,
    observed: UnboundedReceiver<ReceivedPush>,
    watch: ChannelWatch,
    devices_dir: PathBuf,
    pcs: Vec<Pc>,
    start: OffsetDateTime,
}

const PC81: usize = 0;
const PC10: usize = 1;
const PC11: usize = 2;

impl Day {
    async fn play(&mut self, server: &Server) -> anyhow::Result<()> {
        let t = |h: i64, m: i64| time::Duration::hours(h) + time::Duration::minutes(m);
        self.enroll_all(server).await?;
        let pc81 = self.pcs[PC81].id();
        self.say(
            t(0, 0),
            PC81,
            "the administrator queues inventory (os) and a password policy (settings)",
        );
        self.queue(&pc81, json!({"kind": "inventory", "sets": ["os"]}))
            .await?;
        self.queue(&pc81, json!({"kind": "raw", "class": "settings", "syncml": "<Exec><CmdID>1</CmdID><Item><Target><LocURI>./cimv2/MDM_EASPolicy/MDM_EASPolicy.Key=%221%22/Exec=SetValues</LocURI></Target><Data>NamedValuesList=MinPasswordLength,8;</Data></Item></Exec>"})).await?;
        self.waiting(PC81).await?;

        println!("\n-- morning --");
        for pc in [PC81, PC10, PC11] {
            self.event(pc, Event::Reboot, t(0, 5)).await?;
        }
        for pc in [PC81, PC10, PC11] {
            self.event(pc, Event::Logon, t(0, 40)).await?;
        }
        self.event(PC11, Event::Lock, t(1, 30)).await?;
        self.event(PC11, Event::Unlock, t(1, 45)).await?;

        println!("\n-- an app from the portal (the blog's five steps) --");
        let notes = self
            .app("Contoso Notes", "Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe")
            .await?;
        let install = self.install(PC81, &notes, "Contoso Notes", t(3, 0)).await?;
        self.expect_push(PC81, t(3, 1)).await?;
        self.install_status(PC81, &install, t(3, 1)).await?;
        self.expect_push(PC81, t(3, 2)).await?;
        self.install_status(PC81, &install, t(3, 2)).await?;

        println!("\n-- evening --");
        self.event(PC81, Event::Lock, t(10, 30)).await?;
        self.event(PC10, Event::Logoff, t(11, 0)).await?;
        self.say(
            t(12, 0),
            PC81,
            "WNS revokes the PC's channel (casement sim wns revoke)",
        );
        self.wns.revoke(&pc81);
        self.watch.scan(&self.wns, &self.devices_dir);
        let paint = self
            .app("Contoso Paint", "Contoso.Paint_2.1.0.0_x64__8wekyb3d8bbwe")
            .await?;
        let install2 = self
            .install(PC81, &paint, "Contoso Paint", t(12, 5))
            .await?;
        self.expect_refused_push(PC81, t(12, 5)).await?;
        self.channel_state(PC81, "revoked", t(12, 5)).await?;
        // The server marks the channel, then queues push configuration: two writes, so wait for
        // the second too before showing the queue.
        self.wait(&format!("/devices/{pc81}/commands"), |v| {
            v["commands"].as_array().is_some_and(|list| {
                list.iter()
                    .any(|c| c["class"] == "push-configuration" && c["state"] == "pending")
            })
        })
        .await?;
        self.waiting(PC81).await?;
        self.install_status(PC81, &install2, t(12, 5)).await?;

        println!("\n-- the night: MDMMaintenanceTask at 02:00 --");
        let nightly = self.pcs[PC81].agent.next_maintenance(self.start + t(12, 6)) - self.start;
        for pc in [PC81, PC10, PC11] {
            self.event(pc, Event::Nightly, nightly).await?;
        }
        self.channel_state(PC81, "active", nightly).await?;
        self.install_status(PC81, &install2, nightly).await?;
        let next = nightly + time::Duration::minutes(1);
        self.expect_push(PC81, next).await?;
        self.install_status(PC81, &install2, next).await?;
        Ok(())
    }

    async fn enroll_all(&mut self, server: &Server) -> anyhow::Result<()> {
        let plan = [
            (
                "PC-81",
                "Windows 8.1",
                "alice@contoso.com",
                WindowsRelease::Windows81,
            ),
            (
                "PC-10",
                "Windows 10",
                "bob@contoso.com",
                WindowsRelease::Windows10,
            ),
            (
                "PC-11",
                "Windows 11",
                "carol@contoso.com",
                WindowsRelease::Windows11,
            ),
        ];
        for (name, system, upn, platform) in plan {
            let (status, body) = self
                .api
                .post("/users", json!({"upn": upn, "password": USER_PASSWORD}))
                .await?;
            if status != 201 {
                bail!("adding {upn}: {status} {body}");
            }
            let dir = self.devices_dir.join(name);
            let mut options = EnrollOptions::new(
                format!("{}/EnrollmentServer/Discovery.svc", server.local_url()),
                upn,
                USER_PASSWORD,
                platform,
            );
            if platform == WindowsRelease::Windows81 {
                options.auth = AuthMode::Federated;
            }
            options.server_tls_pem = Some(server.tls_certificate_pem.clone());
            options.state_dir = Some(dir.clone());
            let device = casement_sim::enroll(&options)
                .await
                .map_err(|e| anyhow::anyhow!("enrolling {name}: {e}"))?;
            let mut agent = Agent::new(device, self.start);
            agent.state_mut().wns_endpoint = self.wns.channel_base();
            agent.state_mut().server_tls_pem = Some(server.tls_certificate_pem.clone());
            agent.save(&dir)?;
            self.pcs.push(Pc {
                name,

                upn,
                dir,
                agent,
            });
            let pc = self.pcs.len() - 1;
            let id = self.pcs[pc].id();
            self.say(
                time::Duration::ZERO,
                pc,
                &format!("{system}, {upn}: enrolled as device {id}; the user is logged on"),
            );
        }
        self.watch.scan(&self.wns, &self.devices_dir);
        Ok(())
    }
}

/// Today 07:00 UTC: the simulated day starts then (the PCs' clocks; the server keeps real time).
fn day_start() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_time(time::Time::from_hms(7, 0, 0).unwrap_or(time::Time::MIDNIGHT))
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}
