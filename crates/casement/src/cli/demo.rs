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
use casement_sim::agent::{Agent, Event, Task};
use casement_sim::transcript::{Outcome, SessionTranscript};
use casement_sim::wns::{ChannelWatch, ReceivedPush, WnsEndpoint};
use casement_sim::{AuthMode, EnrollOptions, Platform};
use clap::Args;
use rand::RngCore;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedReceiver;

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
                Platform::Windows81,
            ),
            (
                "PC-10",
                "Windows 10",
                "bob@contoso.com",
                Platform::Windows10,
            ),
            (
                "PC-11",
                "Windows 11",
                "carol@contoso.com",
                Platform::Windows11,
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
            if platform == Platform::Windows81 {
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

    /// Runs `event` on a PC at `at` after the day's start; prints the session and the queue.
    async fn event(
        &mut self,
        pc: usize,
        event: Event,
        at: time::Duration,
    ) -> anyhow::Result<SessionTranscript> {
        let id = self.pcs[pc].id();
        let before = self.commands(&id).await?;
        let entry = self.pcs[pc].agent.event(event, self.start + at).await;
        self.pcs[pc].agent.save(&self.pcs[pc].dir)?;
        self.say(at, pc, &describe(&entry));
        // As `casement sim wns` does all along: a new channel makes a revoked one answer again.
        for restored in self.watch.scan(&self.wns, &self.devices_dir) {
            if restored == id {
                self.more("the PC registered a new channel: WNS delivers to it again");
            }
        }
        if entry.session.is_some() {
            let session = self.api.get(&format!("/devices/{id}/sessions")).await?;
            let last = &session["sessions"][0];
            let context = text(&last["context"]);
            let article = if context.starts_with(['A', 'E', 'I', 'O', 'U']) {
                "an"
            } else {
                "a"
            };
            self.more(&format!(
                "the server recorded {article} {context} session ({})",
                text(&last["determined_by"])
            ));
            let after = self.commands(&id).await?;
            let carried: Vec<String> = after
                .iter()
                .filter(|c| {
                    c["state"] != "pending"
                        && before
                            .get(text(&c["id"]).as_str())
                            .is_none_or(|state| state == "pending")
                })
                .map(|c| format!("{} ({})", text(&c["label"]), text(&c["state"])))
                .collect();
            if carried.is_empty() {
                self.more("carried: nothing queued");
            } else {
                self.more(&format!("carried: {}", carried.join("; ")));
            }
            self.print_waiting(&after);
        }
        Ok(entry)
    }

    async fn waiting(&self, pc: usize) -> anyhow::Result<()> {
        let commands = self.commands(&self.pcs[pc].id()).await?;
        self.print_waiting(&commands);
        Ok(())
    }

    fn print_waiting(&self, commands: &[Value]) {
        for c in commands.iter().filter(|c| c["state"] == "pending") {
            self.more(&format!(
                "waiting: {} — {}",
                text(&c["label"]),
                text(&c["waits_for"])
            ));
        }
    }

    /// Every command of the device, by id → state (for the diff) — and as a list.
    async fn commands(&self, id: &str) -> anyhow::Result<Commands> {
        let v = self.api.get(&format!("/devices/{id}/commands")).await?;
        Ok(Commands(
            v["commands"].as_array().cloned().unwrap_or_default(),
        ))
    }

    async fn queue(&self, id: &str, command: Value) -> anyhow::Result<()> {
        let (status, body) = self
            .api
            .post(&format!("/devices/{id}/commands"), command)
            .await?;
        if status != 201 {
            bail!("queueing a command: {status} {body}");
        }
        Ok(())
    }

    async fn app(&self, name: &str, package: &str) -> anyhow::Result<String> {
        let (status, app) = self
            .api
            .post(
                "/apps",
                json!({ "name": name, "version": "1.0", "payloads": { "windows-8.1": {
                    "type": "app-install-job",
                    "job_data": format!("<Job PackageFullName=\"{package}\"/>"),
                    "package_full_name": package } } }),
            )
            .await?;
        if status != 201 {
            bail!("adding {name}: {status} {app}");
        }
        Ok(text(&app["id"]))
    }

    /// The user picks the app for their PC (the same request as the portal's install button).
    async fn install(
        &self,
        pc: usize,
        app_id: &str,
        name: &str,
        at: time::Duration,
    ) -> anyhow::Result<String> {
        let id = self.pcs[pc].id();
        let (status, install) = self
            .api
            .post(
                &format!("/devices/{id}/installs"),
                json!({ "app_id": app_id }),
            )
            .await?;
        if status != 201 {
            bail!("installing: {status} {install}");
        }
        self.say(
            at,
            pc,
            &format!(
                "{name} for {} (POST …/installs: the request the portal's install button makes): install {} {}",
                self.pcs[pc].upn,
                text(&install["id"]),
                text(&install["status"])
            ),
        );
        Ok(text(&install["id"]))
    }

    /// Waits for the server's push to reach the PC's channel, then runs `MDMAgent.exe -App`.
    async fn expect_push(&mut self, pc: usize, at: time::Duration) -> anyhow::Result<()> {
        let id = self.pcs[pc].id();
        let push = self.next_push(&id).await?;
        self.say(at, pc, &push_text(&push));
        let delivered = tokio::time::timeout(DEADLINE, self.pushes.recv())
            .await
            .ok()
            .flatten();
        if delivered.as_deref() != Some(id.as_str()) {
            bail!("the push to {} was not delivered", self.pcs[pc].name);
        }
        self.event(pc, Event::Push, at).await?;
        Ok(())
    }

    /// Waits for a push that the channel refused (404/410).
    async fn expect_refused_push(&mut self, pc: usize, at: time::Duration) -> anyhow::Result<()> {
        let id = self.pcs[pc].id();
        let push = self.next_push(&id).await?;
        self.say(at, pc, &push_text(&push));
        if push.delivered {
            bail!("the push to {} was delivered", self.pcs[pc].name);
        }
        Ok(())
    }

    async fn next_push(&mut self, id: &str) -> anyhow::Result<ReceivedPush> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let push = tokio::time::timeout_at(deadline, self.observed.recv())
                .await
                .ok()
                .flatten()
                .with_context(|| format!("no push to {id} within {DEADLINE:?}"))?;
            if push.device_id == id {
                return Ok(push);
            }
        }
    }

    /// Waits until the server's channel of the PC is in `state`, then says so.
    async fn channel_state(
        &self,
        pc: usize,
        state: &str,
        at: time::Duration,
    ) -> anyhow::Result<()> {
        let id = self.pcs[pc].id();
        let device = self
            .wait(&format!("/devices/{id}"), |d| {
                d["push_channel"]["state"] == state
            })
            .await?;
        let channel = &device["push_channel"];
        let reason = text(&channel["reason"]);
        self.say(
            at,
            pc,
            &format!(
                "the server's view of the channel: {}{}",
                text(&channel["state"]),
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({reason})")
                }
            ),
        );
        Ok(())
    }

    async fn install_status(
        &self,
        pc: usize,
        install: &str,
        at: time::Duration,
    ) -> anyhow::Result<()> {
        let v = self.api.get(&format!("/installs/{install}")).await?;
        self.say(
            at,
            pc,
            &format!(
                "install {install}: {} — {}",
                text(&v["status"]),
                text(&v["detail"])
            ),
        );
        Ok(())
    }

    async fn wait(&self, path: &str, check: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let v = self.api.get(path).await?;
            if check(&v) {
                return Ok(v);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("{path} did not reach the expected state within {DEADLINE:?}: {v}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn say(&self, at: time::Duration, pc: usize, what: &str) {
        let t = self.start + at;
        println!(
            "{:02}:{:02}  {:<6} {what}",
            t.hour(),
            t.minute(),
            self.pcs.get(pc).map_or("", |p| p.name)
        );
    }

    fn more(&self, what: &str) {
        println!("{:14}{what}", "");
    }
}

/// A device's commands, as the API lists them.
struct Commands(Vec<Value>);

impl Commands {
    fn get(&self, id: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|c| c["id"].as_str() == Some(id))
            .map(|c| &c["state"])
    }
}

impl std::ops::Deref for Commands {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.0
    }
}

/// The event and the session it started, in words.
fn describe(entry: &SessionTranscript) -> String {
    let Some(session) = &entry.session else {
        let user = format!(
            "{}: no session (the user is {})",
            entry.event, entry.user_after
        );
        return match &entry.note {
            Some(note) => format!("{user}; {note}"),
            None => user,
        };
    };
    let task = match session.task {
        Task::MaintenanceTask => "MDMMaintenanceTask",
        Task::AppInstallationTask => "MDMAgent.exe -App (MDMAppInstallationTask)",
        Task::CommandPrompt => "MDMAgent.exe from a command prompt",
    };
    let login = session
        .login_status
        .map(|l| format!(", LoginStatus {}", l.as_str()))
        .unwrap_or_default();
    let failed = if session.outcome == Outcome::Completed {
        String::new()
    } else {
        format!(" — the session failed ({:?})", session.outcome)
    };
    format!(
        "{} (user {}) → {task}: mode={}{login}, {} commands answered{failed}",
        entry.event,
        entry.user_after,
        session.mode,
        session.commands.len()
    )
}

/// One line for a push-triggered session (`casement sim wns` prints it).
pub fn session_line(entry: &SessionTranscript) -> String {
    let now = OffsetDateTime::now_utc();
    let mut line = format!(
        "{:02}:{:02}:{:02} {} {}",
        now.hour(),
        now.minute(),
        now.second(),
        entry.device_id,
        describe(entry)
    );
    if let Some(session) = &entry.session {
        let answered: Vec<String> = session
            .commands
            .iter()
            .take(6)
            .map(|c| {
                let uri = c.uris.first().map(String::as_str).unwrap_or_default();
                let tail = uri.rsplit('/').next().unwrap_or(uri);
                format!("{} {tail} {}", c.cmd, c.status)
            })
            .collect();
        if !answered.is_empty() {
            line.push_str(&format!(" [{}]", answered.join(", ")));
        }
        if session.apps_installed > 0 {
            line.push_str(&format!("; {} app(s) installed", session.apps_installed));
        }
    }
    line
}

fn push_text(push: &ReceivedPush) -> String {
    let answer = match push.status {
        200 if push.delivered => "200 received: MDMAppInstallationTask starts".to_owned(),
        404 => "404: the channel was revoked".to_owned(),
        410 => "410: the channel expired".to_owned(),
        s => format!("{s}"),
    };
    format!("the server pushes through WNS → {answer}")
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
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

/// The admin API with the server's token, trusting its certificate.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(server: &Server) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(
                server.tls_certificate_pem.as_bytes(),
            )?])
            .timeout(Duration::from_secs(30))
            .build()?;
        let token = std::fs::read_to_string(&server.admin_token_path)?
            .trim()
            .to_owned();
        Ok(Self {
            http,
            base: format!("{}/api/v1", server.local_url()),
            token,
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        Ok(r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await.unwrap_or(Value::Null)))
    }
}
