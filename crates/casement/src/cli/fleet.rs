//! `casement sim fleet`: a load generator. Enrolls N simulated devices through the whole
//! enrollment flow, then runs management sessions for each, and reports throughput, latency
//! percentiles and errors (a table, or JSON with `--json`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use casement_dm::device::DeviceSession;
use casement_sim::{AuthMode, EnrollOptions, EnrolledDevice, WindowsRelease};
use clap::Args;
use serde_json::json;
use tokio::sync::Semaphore;

/// Enroll a fleet of simulated devices and run management sessions, as a load test.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Server base URL.
    #[arg(long, default_value = "https://127.0.0.1:8443")]
    url: String,
    /// The server's TLS certificate to trust.
    #[arg(long, default_value = "casement-data/tls.pem")]
    ca_cert: std::path::PathBuf,
    /// User the devices enroll as (must exist).
    #[arg(long)]
    user: String,
    /// Its password.
    #[arg(long, env = "CASEMENT_SIM_PASSWORD", hide_env_values = true)]
    password: String,
    /// Windows version: win81, win10, win11.
    #[arg(long, default_value = "win10")]
    platform: String,
    /// Devices.
    #[arg(long, default_value_t = 100)]
    devices: usize,
    /// Devices enrolled as one user (the server's `max_devices_per_user`, 5 by default). A
    /// larger fleet enrolls the rest as users of its own, `<user>+fleet<N>` with the same
    /// password, created through the admin API (see --token). 0: every device as --user.
    #[arg(long, default_value_t = 5)]
    devices_per_user: usize,
    /// Management sessions per device after enrollment.
    #[arg(long, default_value_t = 10)]
    sessions: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// `mode` of the sessions (Machine, Maintenance, Apps).
    #[arg(long, default_value = "Maintenance")]
    mode: String,
    /// Commands each session delivers: before each round of sessions, this many inventory
    /// commands are queued per device through the admin API (not timed).
    #[arg(long, default_value_t = 0)]
    commands: usize,
    /// Admin token for --commands (default: read from casement-data/admin-token).
    #[arg(long, env = "CASEMENT_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Latency summary of one phase.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Phase {
    /// What was measured.
    pub name: &'static str,
    /// Operations completed.
    pub ok: usize,
    /// Operations failed.
    pub errors: usize,
    /// Wall time.
    pub seconds: f64,
    /// ok / seconds.
    pub per_second: f64,
    /// Median latency (ms).
    pub p50_ms: f64,
    /// 99th percentile latency (ms).
    pub p99_ms: f64,
    /// Slowest (ms).
    pub max_ms: f64,
    /// First error messages (at most 5).
    pub first_errors: Vec<String>,
}

pub fn run(args: FleetArgs) -> anyhow::Result<()> {
    let platform = parse_platform(&args.platform)?;
    let server_pem = std::fs::read_to_string(&args.ca_cert)
        .with_context(|| format!("reading {}", args.ca_cert.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (enrolled, enroll_phase) = runtime.block_on(enroll_fleet(&args, platform, &server_pem))?;
    let session_phase = runtime.block_on(run_sessions(&args, &enrolled, &server_pem))?;
    let phases = [enroll_phase, session_phase];
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "phases": phases }))?
        );
    } else {
        println!(
            "{:<22} {:>8} {:>7} {:>9} {:>10} {:>9} {:>9} {:>9}",
            "phase", "ok", "errors", "seconds", "per second", "p50 ms", "p99 ms", "max ms"
        );
        for p in &phases {
            println!(
                "{:<22} {:>8} {:>7} {:>9.2} {:>10.1} {:>9.2} {:>9.2} {:>9.2}",
                p.name, p.ok, p.errors, p.seconds, p.per_second, p.p50_ms, p.p99_ms, p.max_ms
            );
            for e in &p.first_errors {
                println!("    error: {e}");
            }
        }
    }
    Ok(())
}

pub fn parse_platform(name: &str) -> anyhow::Result<WindowsRelease> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "win81" | "windows81" | "8.1" => WindowsRelease::Windows81,
        "win10" | "windows10" | "10" => WindowsRelease::Windows10,
        "win11" | "windows11" | "11" => WindowsRelease::Windows11,
        other => bail!("unknown platform {other:?} (win81, win10, win11)"),
    })
}

async fn enroll_fleet(
    args: &FleetArgs,
    platform: WindowsRelease,
    server_pem: &str,
) -> anyhow::Result<(Vec<EnrolledDevice>, Phase)> {
    // A pool of RSA keys made before the clock starts: the fleet measures the server, not the
    // simulator's key generation (each device still sends its own CSR and gets its own certificate).
    let keys: Vec<String> = (0..args.devices.clamp(1, 16))
        .map(|_| casement_ca::windows_like_csr("POOL", &mut rand::rng()).map(|c| c.private_key_pem))
        .collect::<Result<_, _>>()?;
    let users = fleet_users(args, server_pem).await?;
    let limit = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let progress = Progress::start("enrolling", args.devices);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.devices);
    for i in 0..args.devices {
        let mut options = EnrollOptions::new(
            format!(
                "{}/EnrollmentServer/Discovery.svc",
                args.url.trim_end_matches('/')
            ),
            users[i / args.devices_per_user.max(1) % users.len()].clone(),
            args.password.clone(),
            platform,
        );
        options.auth = AuthMode::Any;
        options.server_tls_pem = Some(server_pem.to_owned());
        options.key_pem = Some(keys[i % keys.len()].clone());
        let limit = limit.clone();
        let done = progress.counter();
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            let t = Instant::now();
            let result = casement_sim::enroll(&options).await;
            done.fetch_add(1, Ordering::Relaxed);
            (t.elapsed(), result.map_err(|e| e.to_string()))
        }));
    }
    let mut latencies = Vec::new();
    let mut devices = Vec::new();
    let mut errors = Vec::new();
    for task in tasks {
        let (latency, result) = task.await?;
        match result {
            Ok(device) => {
                latencies.push(latency);
                devices.push(device);
            }
            Err(e) => errors.push(e),
        }
    }
    progress.finish();
    Ok((
        devices,
        summarize("enrollment", started.elapsed(), latencies, errors),
    ))
}

/// The users the fleet enrolls as: `--user`, then as many `<user>+fleet<N>` as the fleet needs
/// beyond `--devices-per-user` each, created through the admin API (one that exists already is
/// used as it is).
async fn fleet_users(args: &FleetArgs, server_pem: &str) -> anyhow::Result<Vec<String>> {
    let per_user = args.devices_per_user;
    if per_user == 0 || args.devices <= per_user {
        return Ok(vec![args.user.clone()]);
    }
    let admin = Admin::new(args, server_pem)?;
    let mut users = vec![args.user.clone()];
    for n in 1..args.devices.div_ceil(per_user) {
        let upn = fleet_upn(&args.user, n);
        admin.ensure_user(&upn, &args.password).await?;
        users.push(upn);
    }
    Ok(users)
}

/// `alice@contoso.com`, 3 → `alice+fleet3@contoso.com` (`demio` → `demio+fleet3`).
pub fn fleet_upn(user: &str, n: usize) -> String {
    match user.split_once('@') {
        Some((local, domain)) => format!("{local}+fleet{n}@{domain}"),
        None => format!("{user}+fleet{n}"),
    }
}

async fn run_sessions(
    args: &FleetArgs,
    devices: &[EnrolledDevice],
    server_pem: &str,
) -> anyhow::Result<Phase> {
    let limit = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let progress = Progress::start("sessions", devices.len() * args.sessions);
    let mut clients = Vec::with_capacity(devices.len());
    for device in devices {
        let client = device
            .management_client(Some(server_pem))
            .context("device client")?;
        let url = format!(
            "{}?mode={}&Platform=WoA",
            device
                .management_url
                .replace("https://localhost:", &format!("{}:", host_of(&args.url))),
            args.mode
        );
        clients.push((client, url, device.clone()));
    }
    let admin = if args.commands > 0 {
        Some(Admin::new(args, server_pem)?)
    } else {
        None
    };
    let (mut latencies, mut errors) = (Vec::new(), Vec::new());
    let mut timed = Duration::ZERO;
    for round in 0..args.sessions {
        if let Some(admin) = &admin {
            for device in devices {
                admin
                    .queue_inventory(&device.device_id, args.commands)
                    .await?;
            }
        }
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(clients.len());
        for (client, url, device) in &clients {
            let (limit, done, client, url, device) = (
                limit.clone(),
                progress.counter(),
                client.clone(),
                url.clone(),
                device.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let _permit = limit.acquire().await;
                let t = Instant::now();
                let result = one_session(&client, &url, &device, round as u32 + 1).await;
                done.fetch_add(1, Ordering::Relaxed);
                (t.elapsed(), result)
            }));
        }
        for task in tasks {
            match task.await? {
                (latency, Ok(())) => latencies.push(latency),
                (_, Err(e)) => errors.push(e),
            }
        }
        timed += started.elapsed();
    }
    progress.finish();
    let name = if args.commands > 0 {
        "session, N commands"
    } else {
        "management session"
    };
    Ok(summarize(name, timed, latencies, errors))
}

/// The admin API, to queue the commands sessions deliver.
struct Admin {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    fn new(args: &FleetArgs, server_pem: &str) -> anyhow::Result<Self> {
        let token = match &args.token {
            Some(t) => t.clone(),
            None => std::fs::read_to_string("casement-data/admin-token")
                .context(
                    "--commands, and fleets over --devices-per-user, need the admin token (--token or casement-data/admin-token)",
                )?
                .trim()
                .to_owned(),
        };
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(server_pem.as_bytes())?])
            .build()?;
        Ok(Self {
            client,
            base: args.url.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Creates the user `upn` (a user that exists already is fine).
    async fn ensure_user(&self, upn: &str, password: &str) -> anyhow::Result<()> {
        let response = self
            .client
            .post(format!("{}/api/v1/users", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "upn": upn, "password": password }))
            .send()
            .await?;
        match response.status().as_u16() {
            201 | 409 => Ok(()),
            status => bail!(
                "creating fleet user {upn}: HTTP {status}: {}",
                response.text().await.unwrap_or_default()
            ),
        }
    }

    async fn queue_inventory(&self, device: &str, n: usize) -> anyhow::Result<()> {
        for i in 0..n {
            let syncml = format!(
                "<Get><CmdID>1</CmdID><Item><Target><LocURI>./DevDetail/Ext/Node{i}</LocURI></Target></Item></Get>"
            );
            let body = json!({ "kind": "raw", "class": "inventory", "syncml": syncml });
            let response = self
                .client
                .post(format!("{}/api/v1/devices/{device}/commands", self.base))
                .bearer_auth(&self.token)
                .json(&body)
                .send()
                .await?;
            if !response.status().is_success() {
                bail!("queueing a command: HTTP {}", response.status());
            }
        }
        Ok(())
    }
}

/// `https://host:port` of the URL the fleet was pointed at (devices are provisioned with the
/// public URL, which may name `localhost`).
fn host_of(url: &str) -> String {
    let rest = url.trim_end_matches('/');
    match rest.rfind(':') {
        Some(i) if i > "https:".len() => rest[..i].to_owned(),
        _ => rest.to_owned(),
    }
}

/// One whole session: package 1, then answers until the server ends it.
pub async fn one_session(
    client: &reqwest::Client,
    url: &str,
    device: &EnrolledDevice,
    session: u32,
) -> Result<(), String> {
    let package1 = casement_sim::load::package1(device, session);
    let (mut core, mut message) = DeviceSession::start(package1);
    let mut tree = casement_sim::load::FleetTree::default();
    for _ in 0..64 {
        let response = client
            .post(url)
            .header("content-type", casement_syncml::CONTENT_TYPE)
            .body(casement_syncml::to_string(&message))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!(
                "HTTP {}: {}",
                response.status(),
                response.text().await.unwrap_or_default()
            ));
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        let reply = casement_syncml::parse(&body).map_err(|e| e.to_string())?;
        match core.on_server_message(&reply, &mut tree) {
            Some(next) => message = next,
            None => return Ok(()),
        }
    }
    Err("the session did not end within 64 messages".into())
}

fn summarize(
    name: &'static str,
    wall: Duration,
    mut latencies: Vec<Duration>,
    errors: Vec<String>,
) -> Phase {
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Phase {
        name,
        ok: latencies.len(),
        errors: errors.len(),
        seconds: wall.as_secs_f64(),
        per_second: latencies.len() as f64 / wall.as_secs_f64().max(1e-9),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        first_errors: errors.into_iter().take(5).collect(),
    }
}

/// A progress line on stderr, redrawn every half second.
struct Progress {
    done: Arc<AtomicU64>,
    ticker: tokio::task::JoinHandle<()>,
}

impl Progress {
    fn start(what: &'static str, total: usize) -> Self {
        let done = Arc::new(AtomicU64::new(0));
        let counter = done.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let n = counter.load(Ordering::Relaxed);
                eprint!("\r{what}: {n}/{total}   ");
            }
        });
        Self { done, ticker }
    }

    fn counter(&self) -> Arc<AtomicU64> {
        self.done.clone()
    }

    fn finish(self) {
        self.ticker.abort();
        eprintln!("\r{:60}\r", "");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fleet_users_are_named_after_the_given_user() {
        assert_eq!(
            super::fleet_upn("alice@contoso.com", 3),
            "alice+fleet3@contoso.com"
        );
        assert_eq!(super::fleet_upn("demio", 12), "demio+fleet12");
    }
}
