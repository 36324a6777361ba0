//! The benchmarks: what each starts, what it measures, in which order.
//!
//! - `sessions`: the transport ceiling, idle check-ins, check-ins delivering commands, and the
//!   enrollment that made the fleet — one table for one setup (SQLite one node, PostgreSQL one
//!   node, PostgreSQL N nodes behind nginx).
//! - `fanout`: one command queued for N devices through the bulk API (timed), then delivered
//!   to the enrolled fleet in its next check-ins.
//! - `growth`: the check-in scenarios with 10k, 100k, 1M devices already in the database
//!   (seeded in bulk), the nodes restarted at each size so that peak memory is per size.
//! - `profiles`: one configuration profile assigned to N devices (timed: the request's wall
//!   time, the server's work), unassigned and assigned again, and the status counts read for
//!   them (`GET /api/v1/profiles`); `sessions` has the check-in with 10 verified profiles.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use casement_sim::WindowsRelease;
use serde_json::{Value, json};

use crate::client::{ConnectionMode, TlsVersion};
use crate::cluster::{Cluster, ClusterSpec, Database};
use crate::fleet::{self, FleetDevice, Measurement, Work};
use crate::progress::Progress;
use crate::report::{Report, Row};
use casement_store_tests::postgres::Durability;

/// The bench user's credentials (created on the fresh server).
const USER: &str = "bench@contoso.com";
const PASSWORD: &str = "bench password 1";

/// Whether a measured row may be lengthened ([`Setup::min_seconds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowKind {
    /// Every round alike (trivial requests, idle check-ins, a fixed number of commands each).
    Steady,
    /// Rounds that deliver something once: more rounds would measure something else.
    OneOff,
}

/// A setting that is on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

/// How the load and the server side are set up (shared by every benchmark).
#[derive(Debug, Clone, clap::Args)]
pub struct Setup {
    /// Database of the nodes.
    #[arg(long, value_enum, default_value = "sqlite")]
    pub database: Database,
    /// `casement serve` processes (more than one needs PostgreSQL).
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// Put nginx in front of the nodes (TLS and client certificates at nginx).
    #[arg(long)]
    pub nginx: bool,
    /// nginx worker processes.
    #[arg(long, default_value_t = 1)]
    pub nginx_workers: usize,
    /// Enrolled (real) devices in the fleet that checks in.
    #[arg(long, default_value_t = 1000)]
    pub devices: usize,
    /// Check-ins per device in each measured scenario.
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    /// Least time each measured row lasts: rounds are added until it has (a row of a
    /// fraction of a second is mostly noise on a shared machine).
    #[arg(long, default_value_t = 3.0)]
    pub min_seconds: f64,
    /// Sessions in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Connections: a new one per session with TLS resumption, full handshakes, or kept alive.
    #[arg(long, value_enum, default_value = "resume")]
    pub connection: ConnectionMode,
    /// TLS version of the fleet: 1.2 as Windows 8.1/10, 1.3 as Windows 11.
    #[arg(long, value_enum, default_value = "1.2")]
    pub tls: TlsVersion,
    /// Commands each session delivers in the "delivering commands" scenario.
    #[arg(long, default_value_t = 5)]
    pub commands: usize,
    /// PostgreSQL's `synchronous_commit` (the bench's PostgreSQL always runs with `fsync=on`
    /// and `full_page_writes=on`, as in production): `on` waits for the WAL flush at each
    /// commit, `off` does not (a crash may lose the last moments of commits, never corrupt).
    #[arg(long, value_enum, default_value = "on")]
    pub pg_synchronous_commit: OnOff,
    /// The `casement` binary the nodes run (default: this one): to measure an older build
    /// with the same load, side by side.
    #[arg(long)]
    pub server_exe: Option<std::path::PathBuf>,
    /// Write the report as JSON to this file too.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Check-in scenarios to run after the ceiling (`idle`, `commands`, `profiles`: a check-in
    /// of a device with 10 verified configuration profiles, as a ratio to the idle one).
    #[arg(long, value_delimiter = ',', default_value = "idle,commands,profiles")]
    pub scenarios: Vec<String>,
}

impl Setup {
    fn spec(&self, exe: &std::path::Path) -> ClusterSpec {
        ClusterSpec {
            exe: self.server_exe.clone().unwrap_or_else(|| exe.to_owned()),
            nodes: self.nodes,
            database: self.database,
            nginx: self.nginx,
            nginx_workers: self.nginx_workers,
            env: Vec::new(),
            postgres_durability: Durability::Durable {
                synchronous_commit: self.pg_synchronous_commit == OnOff::On,
            },
        }
    }

    fn describe(&self, cluster: &Cluster) -> Value {
        json!({
            "database": self.database,
            "nodes": self.nodes,
            "nginx": self.nginx,
            "nginx_workers": if self.nginx { Some(self.nginx_workers) } else { None },
            "devices": self.devices,
            "rounds": self.rounds,
            "min_seconds": self.min_seconds,
            "concurrency": self.concurrency,
            "connection": self.connection,
            "tls": self.tls,
            "commands_per_session": self.commands,
            "postgres": (self.database == Database::Postgres).then(|| json!({
                "fsync": "on",
                "full_page_writes": "on",
                "synchronous_commit": self.pg_synchronous_commit,
            })),
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "load_average_at_start": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
            "entry": cluster.entry_url(),
            "server_exe": self.server_exe,
        })
    }

    fn title(&self, what: &str) -> String {
        let database = match self.database {
            Database::Sqlite => "SQLite",
            Database::Postgres => match self.pg_synchronous_commit {
                OnOff::On => "PostgreSQL (fsync=on, synchronous_commit=on)",
                OnOff::Off => "PostgreSQL (fsync=on, synchronous_commit=off)",
            },
        };
        format!(
            "casement bench {what}: {database}, {} node{}{}, {} devices, concurrency {}, TLS {}, connections: {}",
            self.nodes,
            if self.nodes == 1 { "" } else { "s" },
            if self.nginx { " behind nginx" } else { "" },
            self.devices,
            self.concurrency,
            match self.tls {
                TlsVersion::Tls12 => "1.2",
                TlsVersion::Tls13 => "1.3",
            },
            match self.connection {
                ConnectionMode::Resume => "new per session, TLS resumed",
                ConnectionMode::Full => "new per session, full handshake",
                ConnectionMode::KeepAlive => "kept alive",
            }
        )
    }
}

/// A started setup with its enrolled fleet.
struct Bench {
    setup: Setup,
    cluster: Cluster,
    fleet: Vec<FleetDevice>,
    admin: reqwest::Client,
    user_id: String,
    enrollment: Row,
}

impl Bench {
    /// Starts the cluster, creates the bench user and enrolls the fleet (measured).
    async fn start(setup: &Setup, exe: &std::path::Path) -> anyhow::Result<Bench> {
        eprintln!(
            "starting {} node(s) on {:?}{}…",
            setup.nodes,
            setup.database,
            if setup.nginx { " behind nginx" } else { "" }
        );
        let cluster = Cluster::start(setup.spec(exe)).await?;
        let admin = cluster.admin_client()?;
        let response = admin
            .post(format!("{}/api/v1/users", cluster.node_url(0)))
            .bearer_auth(&cluster.admin_token)
            .json(&json!({ "upn": USER, "password": PASSWORD }))
            .send()
            .await?;
        if response.status().as_u16() != 201 {
            bail!("creating the bench user: HTTP {}", response.status());
        }
        let user: Value = response.json().await?;
        let user_id = user["id"].as_str().context("user id")?.to_owned();
        let before = cluster.usage();
        let (devices, m) = fleet::enroll(
            &cluster.entry_url(),
            &cluster.tls_pem,
            USER,
            PASSWORD,
            WindowsRelease::Windows10,
            setup.devices,
            setup.concurrency,
        )
        .await?;
        let enrollment = Row::new(
            "enrollment (discovery → CSR signed)",
            &m,
            &before,
            &cluster.usage(),
        );
        if devices.is_empty() {
            bail!("no device enrolled: {:?}", m.errors.first());
        }
        let fleet = fleet::connect(
            devices,
            &cluster.tls_pem,
            cluster.entry,
            setup.connection,
            setup.tls,
        )?;
        let mut bench = Bench {
            setup: setup.clone(),
            cluster,
            fleet,
            admin,
            user_id,
            enrollment,
        };
        // One untimed round: every device's first TLS handshake (then resumable), caches warm.
        bench.warm_up().await;
        Ok(bench)
    }

    async fn warm_up(&mut self) {
        let progress = Progress::start("warm-up".into(), self.fleet.len() as u64);
        let m = fleet::round(
            &mut self.fleet,
            &maintenance(),
            self.setup.concurrency,
            &progress,
        )
        .await;
        progress.finish();
        if let Some(e) = m.errors.first() {
            eprintln!("warm-up: {} errors, first: {e}", m.errors.len());
        }
    }

    /// `rounds` rounds of `work`, with `before_round` run (untimed) before each; one row.
    async fn measure(
        &mut self,
        name: &str,
        work: Work,
        (rounds, kind): (usize, RowKind),
        mut before_round: impl AsyncFnMut(&mut Bench) -> anyhow::Result<()>,
    ) -> anyhow::Result<Row> {
        let progress = Progress::start(name.to_owned(), (self.fleet.len() * rounds) as u64);
        let mut total = Measurement::default();
        let mut cpu = (0.0, 0.0, 0.0);
        // A steady row (its rounds all alike) gets more
        // rounds until it has lasted `min_seconds` — a row of a fraction of a second measures
        // the machine's neighbours as much as the server; a one-off row (a single round that
        // delivers something once) keeps its rounds.
        let min = match kind {
            RowKind::Steady => Duration::from_secs_f64(self.setup.min_seconds.max(0.0)),
            RowKind::OneOff => Duration::ZERO,
        };
        let mut done = 0;
        while done < rounds || (total.elapsed < min && done < rounds.max(1) * 1000) {
            done += 1;
            before_round(self).await?;
            let before = self.cluster.usage();
            let m = fleet::round(&mut self.fleet, &work, self.setup.concurrency, &progress).await;
            let (n, d, x) = self.cluster.usage().cpu_since(&before);
            cpu = (cpu.0 + n, cpu.1 + d, cpu.2 + x);
            total.elapsed += m.elapsed;
            total.latencies.extend(m.latencies);
            total.errors.extend(m.errors);
            total.requests += m.requests;
            total.handshakes += m.handshakes;
            total.resumed += m.resumed;
        }
        progress.finish();
        Ok(Row::with_cpu(name, &total, cpu, &self.cluster.usage()))
    }

    async fn ceiling(&mut self) -> anyhow::Result<Row> {
        let rounds = self.setup.rounds;
        self.measure(
            "transport ceiling: GET /healthz (mTLS)",
            Work::Trivial,
            (rounds, RowKind::Steady),
            async |_| Ok(()),
        )
        .await
    }

    async fn idle(&mut self, name: &str) -> anyhow::Result<Row> {
        let rounds = self.setup.rounds;
        self.measure(name, maintenance(), (rounds, RowKind::Steady), async |_| {
            Ok(())
        })
        .await
    }

    /// Check-ins that each deliver `commands` inventory Gets, queued (untimed) before each round
    /// for the fleet's devices through the bulk API.
    async fn delivering(&mut self, name: &str) -> anyhow::Result<Row> {
        let (rounds, k) = (self.setup.rounds, self.setup.commands);
        let ids: Vec<String> = self
            .fleet
            .iter()
            .map(|d| d.device.device_id.clone())
            .collect();
        self.measure(
            name,
            maintenance(),
            (rounds, RowKind::Steady),
            async move |bench| {
                for i in 0..k {
                    bench.queue_bulk(json!({ "ids": ids }), i).await?;
                }
                Ok(())
            },
        )
        .await
    }

    /// `POST /api/v1/commands` of a raw inventory Get (`./DevDetail/Ext/Node<i>`); returns the
    /// response.
    async fn queue_bulk(&self, devices: Value, i: usize) -> anyhow::Result<Value> {
        let syncml = format!(
            "<Get><CmdID>1</CmdID><Item><Target><LocURI>./DevDetail/Ext/Node{i}</LocURI></Target></Item></Get>"
        );
        let response = self
            .admin
            .post(format!("{}/api/v1/commands", self.cluster.node_url(0)))
            .bearer_auth(&self.cluster.admin_token)
            .json(&json!({ "devices": devices, "command": { "kind": "raw", "class": "inventory", "syncml": syncml } }))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.as_u16() != 201 {
            bail!("bulk queue: HTTP {status}: {body}");
        }
        Ok(body)
    }

    /// Bytes the database's data takes now ([`casement_store_sql::SqlStore::database_bytes`]).
    async fn database_bytes(&self) -> anyhow::Result<u64> {
        let store = casement_store_sql::SqlStore::connect(&self.cluster.database_url).await?;
        Ok(store.database_bytes().await?)
    }

    /// [`Bench::idle`], with the database's growth per idle session (bytes) in the same rounds.
    async fn idle_with_growth(&mut self, name: &str) -> anyhow::Result<(Row, f64)> {
        let before = self.database_bytes().await?;
        let row = self.idle(name).await?;
        let after = self.database_bytes().await?;
        let per_session = after.saturating_sub(before) as f64 / row.operations.max(1) as f64;
        Ok((row, per_session))
    }

    /// Seeds synthetic devices so that the database holds `total` devices.
    async fn seed_to(&self, total: u64) -> anyhow::Result<Duration> {
        let store = casement_store_sql::SqlStore::connect(&self.cluster.database_url).await?;
        let have = store.count_devices().await?;
        let started = Instant::now();
        if total <= have {
            return Ok(Duration::ZERO);
        }
        let need = total - have;
        let progress = Progress::start(format!("seeding to {total} devices"), need);
        const CHUNK: u64 = 50_000;
        let mut from = have;
        while from < have + need {
            let count = CHUNK.min(have + need - from);
            store
                .seed_devices(&casement_store_sql::SeedSpec {
                    prefix: "seed-".into(),
                    from,
                    count,
                    user_id: self.user_id.clone(),
                    upn: USER.into(),
                    platform: casement_store::Platform::Windows10,
                    now: now_ms(),
                })
                .await?;
            from += count;
            progress
                .counter()
                .fetch_add(count, std::sync::atomic::Ordering::Relaxed);
        }
        store.analyze().await?;
        progress.finish();
        Ok(started.elapsed())
    }

    /// An admin API request on the first node: its status, JSON body and wall time.
    async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value, Duration)> {
        let mut request = self
            .admin
            .request(method, format!("{}/api/v1{path}", self.cluster.node_url(0)))
            .bearer_auth(&self.cluster.admin_token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let started = Instant::now();
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        let elapsed = started.elapsed();
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            elapsed,
        ))
    }

    /// `api`, failing unless the answer is `expect`.
    async fn api_ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        expect: u16,
    ) -> anyhow::Result<(Value, Duration)> {
        let what = format!("{method} {path}");
        let (status, value, elapsed) = self.api(method, path, body).await?;
        if status != expect {
            bail!("{what}: HTTP {status}: {value}");
        }
        Ok((value, elapsed))
    }

    /// Creates a Windows 10/11 device profile of one int Policy node; returns its id.
    async fn create_profile(&self, name: &str, node: &str, value: &str) -> anyhow::Result<String> {
        let (body, _) = self
            .api_ok(
                reqwest::Method::POST,
                "/profiles",
                Some(json!({
                    "name": name,
                    "platforms": ["windows-10"],
                    "scope": "device",
                    "settings": [{
                        "loc_uri": format!("./Device/Vendor/MSFT/Policy/Config/{node}"),
                        "format": "int",
                        "value": value,
                    }],
                })),
                201,
            )
            .await?;
        Ok(body["id"].as_str().context("profile id")?.to_owned())
    }

    /// `POST /profiles/{id}/assignments` to the built-in group of all devices (timed).
    async fn assign_all(&self, id: &str) -> anyhow::Result<(Value, Duration)> {
        self.api_ok(
            reqwest::Method::POST,
            &format!("/profiles/{id}/assignments"),
            Some(json!({ "group": casement_store::ALL_DEVICES_GROUP })),
            201,
        )
        .await
    }

    /// `DELETE /profiles/{id}/assignments/all-devices` (timed).
    async fn unassign_all(&self, id: &str) -> anyhow::Result<(Value, Duration)> {
        self.api_ok(
            reqwest::Method::DELETE,
            &format!(
                "/profiles/{id}/assignments/{}",
                casement_store::ALL_DEVICES_GROUP
            ),
            None,
            200,
        )
        .await
    }

    /// The status counts of the profiles `ids`, summed (`GET /api/v1/profiles`), e.g.
    /// `{"verified": 40, "pending": 0, …}`; and the request's wall time.
    async fn profile_counts(
        &self,
        ids: &[String],
    ) -> anyhow::Result<(Vec<(String, u64)>, Duration)> {
        let (body, elapsed) = self
            .api_ok(reqwest::Method::GET, "/profiles", None, 200)
            .await?;
        let mut sums: Vec<(String, u64)> = Vec::new();
        for p in body["profiles"].as_array().context("profiles")? {
            if !ids.iter().any(|id| p["id"] == json!(id)) {
                continue;
            }
            for (status, n) in p["counts"].as_object().context("counts")? {
                let n = n.as_u64().unwrap_or(0);
                match sums.iter_mut().find(|(s, _)| s == status) {
                    Some((_, sum)) => *sum += n,
                    None => sums.push((status.clone(), n)),
                }
            }
        }
        Ok((sums, elapsed))
    }

    /// Creates [`TEN_PROFILES`] assigned to all devices and runs untimed rounds until every
    /// enrolled device has verified them all (at most 3); returns the profiles' ids and a note
    /// with their counts.
    async fn ten_verified_profiles(&mut self) -> anyhow::Result<(Vec<String>, String)> {
        let mut ids = Vec::with_capacity(TEN_PROFILES.len());
        for (i, (node, value)) in TEN_PROFILES.iter().enumerate() {
            let id = self
                .create_profile(&format!("bench profile {i}: {node}"), node, value)
                .await?;
            self.assign_all(&id).await?;
            ids.push(id);
        }
        let wanted = (ids.len() * self.fleet.len()) as u64;
        let mut rounds = 0;
        let counts = loop {
            let (counts, _) = self.profile_counts(&ids).await?;
            let verified = count_of(&counts, "verified");
            if verified >= wanted || rounds == 3 {
                break counts;
            }
            self.warm_up().await;
            rounds += 1;
        };
        let counts_text: Vec<String> = counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        Ok((
            ids.clone(),
            format!(
                "check-in with 10 verified profiles: {} profiles (one Policy node each) assigned to all devices, applied and read back in {rounds} untimed round(s) before the measure; counts (GET /api/v1/profiles) before it: {} of {} device × profile rows verified ({})",
                ids.len(),
                count_of(&counts, "verified"),
                wanted,
                counts_text.join(", ")
            ),
        ))
    }

    fn report(&self, what: &str, rows: Vec<Row>, notes: Vec<String>) -> Report {
        Report {
            title: self.setup.title(what),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            setup: self.setup.describe(&self.cluster),
            rows,
            notes,
        }
    }
}

/// The 10 profiles of the "check-in with 10 verified profiles" scenario: distinct Policy
/// nodes (below `./Device/Vendor/MSFT/Policy/Config/`) with values within their ranges.
const TEN_PROFILES: [(&str, &str); 10] = [
    ("Camera/AllowCamera", "0"),
    ("Experience/AllowCortana", "0"),
    ("DeviceLock/MinDevicePasswordLength", "8"),
    ("Connectivity/AllowUSBConnection", "0"),
    ("Bluetooth/AllowDiscoverableMode", "0"),
    ("Experience/AllowScreenCapture", "0"),
    ("Update/ActiveHoursStart", "8"),
    ("Update/ActiveHoursEnd", "18"),
    ("Defender/AllowRealtimeMonitoring", "1"),
    ("DeviceLock/MaxInactivityTimeDeviceLock", "15"),
];

fn count_of(counts: &[(String, u64)], status: &str) -> u64 {
    counts
        .iter()
        .filter(|(s, _)| s == status)
        .map(|(_, n)| *n)
        .sum()
}

/// The median of some timings.
fn median(timings: &[Duration]) -> Duration {
    let mut sorted = timings.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// A row of `timings` of one request each working on `units` things (devices): the latencies
/// are the requests', the rate is units per second at the median, CPU is per unit.
fn request_row(
    scenario: String,
    timings: &[Duration],
    units: u64,
    cpu: (f64, f64, f64),
    after: &crate::cluster::ServerUsage,
) -> Row {
    let m = Measurement {
        elapsed: timings.iter().sum(),
        latencies: timings.to_vec(),
        errors: Vec::new(),
        requests: timings.len() as u64,
        ..Measurement::default()
    };
    let mut row = Row::with_cpu(scenario, &m, cpu, after);
    let per_unit = |ms_per_request: f64| ms_per_request / units.max(1) as f64;
    row.operations = units as usize;
    row.per_second = units as f64 / median(timings).as_secs_f64().max(1e-9);
    row.server_cpu_ms = per_unit(row.server_cpu_ms);
    row.node_cpu_ms = per_unit(row.node_cpu_ms);
    row.database_cpu_ms = per_unit(row.database_cpu_ms);
    row.nginx_cpu_ms = per_unit(row.nginx_cpu_ms);
    row
}

fn add_cpu(total: &mut (f64, f64, f64), (n, d, x): (f64, f64, f64)) {
    total.0 += n;
    total.1 += d;
    total.2 += x;
}

fn maintenance() -> Work {
    Work::Session {
        mode: "Maintenance".into(),
    }
}

fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// `casement bench sessions`.
pub async fn sessions(setup: &Setup, exe: &std::path::Path) -> anyhow::Result<Report> {
    let mut bench = Bench::start(setup, exe).await?;
    let ceiling = bench.ceiling().await?;
    let mut rows = vec![ceiling.clone()];
    let mut notes = standard_notes(setup);
    let wants = |name: &str| setup.scenarios.iter().any(|s| s == name);
    // With the profiles' row, the idle row is measured right before it (after the commands
    // row) so that the ratio compares adjacent phases of the run; rows print in the usual order.
    let profiles_too = wants("profiles");
    let delivering = if wants("commands") && profiles_too {
        let name = format!("check-in delivering {} commands", setup.commands);
        Some(bench.delivering(&name).await?.against(Some(&ceiling)))
    } else {
        None
    };
    let mut idle = None;
    if wants("idle") {
        let (row, growth) = bench
            .idle_with_growth("idle check-in (package 1 → end)")
            .await?;
        let row = row.against(Some(&ceiling));
        notes.push(growth_note(&row, growth));
        idle = Some(row.clone());
        rows.push(row);
    }
    if let Some(row) = delivering {
        rows.push(row);
    } else if wants("commands") {
        let name = format!("check-in delivering {} commands", setup.commands);
        rows.push(bench.delivering(&name).await?.against(Some(&ceiling)));
    }
    if profiles_too {
        // Last of the check-ins: the profiles stay assigned once created.
        let (_, note) = bench.ten_verified_profiles().await?;
        notes.push(note);
        let row = bench
            .idle("check-in with 10 verified profiles")
            .await?
            .against(Some(&ceiling))
            .against_idle(idle.as_ref());
        if let Some(ratio) = row.ratio_to_idle {
            notes.push(format!(
                "check-in with 10 verified profiles: {ratio:.2} of the idle check-in's rate in this run (goal ≥ 0.9: a device with nothing to change pays one indexed read); the idle row was measured right before the profiles were created, after the commands row"
            ));
        }
        rows.push(row);
    }
    rows.push(bench.enrollment.clone().against(Some(&ceiling)));
    Ok(bench.report("sessions", rows, notes))
}

/// `casement bench fanout`: queue one command for `queued_for` devices `repeats` times (timed
/// each; the row's rate and latency are the median's), then deliver them.
pub async fn fanout(
    setup: &Setup,
    exe: &std::path::Path,
    queued_for: u64,
    repeats: usize,
) -> anyhow::Result<Report> {
    let repeats = repeats.max(1);
    let mut bench = Bench::start(setup, exe).await?;
    let seeded = bench.seed_to(queued_for).await?;
    bench.cluster.restart_nodes().await?;
    bench.warm_up().await;
    let ceiling = bench.ceiling().await?;
    let before = bench.cluster.usage();
    let mut timings = Vec::with_capacity(repeats);
    let mut server_ms = Vec::with_capacity(repeats);
    let mut queued = 0;
    for i in 0..repeats {
        let started = Instant::now();
        let body = bench.queue_bulk(json!("all"), i).await?;
        timings.push(started.elapsed());
        queued = body["commands"].as_u64().unwrap_or(0);
        server_ms.push(body["elapsed_ms"].as_u64().unwrap_or(0));
    }
    let after = bench.cluster.usage();
    // The row's unit is the queued command: rate at the median request, CPU per command, the
    // requests' latencies.
    let queue_row = request_row(
        format!("fan-out: queue 1 command for {queued} devices (median of {repeats})"),
        &timings,
        queued,
        after.cpu_since(&before),
        &after,
    );
    let deliver = bench
        .measure(
            &format!("fan-out: check-ins delivering them ({repeats} per device)"),
            maintenance(),
            (1, RowKind::OneOff),
            async |_| Ok(()),
        )
        .await?
        .against(Some(&ceiling));
    let idle = bench
        .idle("idle check-in after the fan-out")
        .await?
        .against(Some(&ceiling));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut notes = standard_notes(setup);
    notes.push(format!(
        "{} devices in the database ({} enrolled, the rest seeded in bulk in {:.1} s)",
        queued_for,
        bench.fleet.len(),
        seeded.as_secs_f64(),
    ));
    notes.push(format!(
        "goal: one command queued for {queued} devices in < 1 s: median of {repeats} requests {:.0} ms ({}); each request's wall time: {} ms; the server's own measure: {} ms",
        ms(median(&timings)),
        if median(&timings) < Duration::from_secs(1) { "met" } else { "NOT met" },
        timings.iter().map(|t| format!("{:.0}", ms(*t))).collect::<Vec<_>>().join(", "),
        server_ms.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
    ));
    Ok(bench.report(
        &format!("fanout --queued-for {queued_for}"),
        vec![ceiling, queue_row, deliver, idle],
        notes,
    ))
}

/// `casement bench profiles`: one profile assigned to the built-in group of all devices with
/// `assigned_to` devices in the database, timed; then `repeats` times unassigned and assigned
/// again; the status counts for them read `repeats` times; the enrolled fleet's check-ins
/// applying it, and idle once it is verified.
pub async fn profiles(
    setup: &Setup,
    exe: &std::path::Path,
    assigned_to: u64,
    repeats: usize,
) -> anyhow::Result<Report> {
    let repeats = repeats.max(1);
    let mut bench = Bench::start(setup, exe).await?;
    let seeded = bench.seed_to(assigned_to).await?;
    bench.cluster.restart_nodes().await?;
    bench.warm_up().await;
    let ceiling = bench.ceiling().await?;
    let idle = bench.idle("idle check-in").await?.against(Some(&ceiling));
    let label = human(assigned_to);
    let id = bench
        .create_profile(
            "bench profile: Camera/AllowCamera",
            "Camera/AllowCamera",
            "0",
        )
        .await?;

    // The first assignment: a device × profile row made for every device.
    let before = bench.cluster.usage();
    let (body, first) = bench.assign_all(&id).await?;
    let after = bench.cluster.usage();
    let added = body["devices_added"].as_u64().unwrap_or(0);
    let first_row = request_row(
        format!("assign 1 profile to {label} (new rows)"),
        &[first],
        added,
        after.cpu_since(&before),
        &after,
    );

    // Unassigned and assigned again: the rows turn removing, then pending again.
    let (mut unassign, mut reassign) = (Vec::new(), Vec::new());
    let (mut unassign_cpu, mut reassign_cpu) = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0));
    let mut removed = 0;
    let mut back = 0;
    let progress = Progress::start("unassign + assign".into(), repeats as u64);
    for _ in 0..repeats {
        let before = bench.cluster.usage();
        let (body, t) = bench.unassign_all(&id).await?;
        add_cpu(&mut unassign_cpu, bench.cluster.usage().cpu_since(&before));
        unassign.push(t);
        removed = body["devices_removed"].as_u64().unwrap_or(0);
        let before = bench.cluster.usage();
        let (body, t) = bench.assign_all(&id).await?;
        add_cpu(&mut reassign_cpu, bench.cluster.usage().cpu_since(&before));
        reassign.push(t);
        back = body["devices_added"].as_u64().unwrap_or(0);
        progress
            .counter()
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    progress.finish();
    let usage = bench.cluster.usage();
    let unassign_row = request_row(
        format!("unassign it from {label}"),
        &unassign,
        removed,
        unassign_cpu,
        &usage,
    );
    let reassign_row = request_row(
        format!("assign it again to {label}"),
        &reassign,
        back,
        reassign_cpu,
        &usage,
    );

    // The status counts of the profile's devices, as the console lists them.
    let ids = vec![id.clone()];
    let mut list = Vec::new();
    let mut one = Vec::new();
    let mut counts = Vec::new();
    let before = bench.cluster.usage();
    for _ in 0..repeats {
        let (c, t) = bench.profile_counts(&ids).await?;
        counts = c;
        list.push(t);
    }
    let between = bench.cluster.usage();
    for _ in 0..repeats {
        let (_, t) = bench
            .api_ok(reqwest::Method::GET, &format!("/profiles/{id}"), None, 200)
            .await?;
        one.push(t);
    }
    let after = bench.cluster.usage();
    let list_row = Row::new(
        format!("counts for {label}: GET /profiles"),
        &Measurement {
            elapsed: list.iter().sum(),
            latencies: list.clone(),
            requests: list.len() as u64,
            ..Measurement::default()
        },
        &before,
        &between,
    );
    let one_row = Row::new(
        format!("counts for {label}: GET /profiles/{{id}}"),
        &Measurement {
            elapsed: one.iter().sum(),
            latencies: one.clone(),
            requests: one.len() as u64,
            ..Measurement::default()
        },
        &between,
        &after,
    );

    // The enrolled fleet applies it in its next check-ins, then checks in with it verified.
    let applying = bench
        .measure(
            "check-ins applying it (write + read-back)",
            maintenance(),
            (1, RowKind::OneOff),
            async |_| Ok(()),
        )
        .await?
        .against(Some(&ceiling));
    let verified = bench
        .idle("check-in with it verified")
        .await?
        .against(Some(&ceiling))
        .against_idle(Some(&idle));

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let verdict = |d: Duration, goal_ms: f64| if ms(d) < goal_ms { "met" } else { "NOT met" };
    let mut notes = standard_notes(setup);
    let counts_text: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    notes.push(format!(
        "{assigned_to} devices in the database ({} enrolled, the rest seeded in bulk in {:.1} s); times are the requests' wall time over loopback (the server's work plus a local round trip)",
        bench.fleet.len(),
        seeded.as_secs_f64(),
    ));
    notes.push(format!(
        "goal: assigning one profile to {label} < 1 s of server work: first assignment (new rows) {:.0} ms ({}); assigned again after an unassignment, median of {repeats}: {:.0} ms ({}); unassignment, median of {repeats}: {:.0} ms",
        ms(first),
        verdict(first, 1000.0),
        ms(median(&reassign)),
        verdict(median(&reassign), 1000.0),
        ms(median(&unassign)),
    ));
    notes.push(format!(
        "goal: the status counts for {label} < 100 ms: GET /api/v1/profiles median of {repeats}: {:.1} ms ({}); GET /api/v1/profiles/{{id}} median of {repeats}: {:.1} ms ({}); counts read: {}",
        ms(median(&list)),
        verdict(median(&list), 100.0),
        ms(median(&one)),
        verdict(median(&one), 100.0),
        counts_text.join(", "),
    ));
    notes.push("assignment rows: ops = devices per request, ops/s = devices per second at the median, latencies are the requests', cpu ms per device".into());
    Ok(bench.report(
        &format!("profiles --assigned-to {assigned_to}"),
        vec![
            ceiling,
            idle,
            first_row,
            unassign_row,
            reassign_row,
            list_row,
            one_row,
            applying,
            verified,
        ],
        notes,
    ))
}

/// `casement bench growth`: the check-in scenarios at each database size.
pub async fn growth(setup: &Setup, exe: &std::path::Path, sizes: &[u64]) -> anyhow::Result<Report> {
    let mut bench = Bench::start(setup, exe).await?;
    let mut rows = Vec::new();
    let mut notes = standard_notes(setup);
    for &size in sizes {
        let seeded = bench.seed_to(size).await?;
        bench.cluster.restart_nodes().await?;
        bench.warm_up().await;
        let ceiling = bench.ceiling().await?;
        let label = human(size);
        let (idle, growth) = bench
            .idle_with_growth(&format!("{label}: idle check-in"))
            .await?;
        notes.push(format!("{label}: {}", growth_note(&idle, growth)));
        let delivering = bench
            .delivering(&format!("{label}: check-in delivering {}", setup.commands))
            .await?;
        rows.push(Row {
            scenario: format!("{label}: transport ceiling"),
            ..ceiling.clone()
        });
        rows.push(idle.against(Some(&ceiling)));
        rows.push(delivering.against(Some(&ceiling)));
        notes.push(format!(
            "{label}: seeded in {:.1} s{}",
            seeded.as_secs_f64(),
            database_size(&bench.cluster)
                .map(|b| format!(", database file {:.0} MiB", b as f64 / 1048576.0))
                .unwrap_or_default()
        ));
    }
    let sizes: Vec<String> = sizes.iter().map(u64::to_string).collect();
    Ok(bench.report(&format!("growth --sizes {}", sizes.join(",")), rows, notes))
}

/// The database's growth during an idle row, per session.
fn growth_note(row: &Row, bytes_per_session: f64) -> String {
    format!(
        "database growth during the idle check-ins: {bytes_per_session:.0} bytes per idle session ({} sessions; before any retention pruning)",
        row.operations
    )
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M devices", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k devices", n / 1_000),
        n => format!("{n} devices"),
    }
}

fn database_size(cluster: &Cluster) -> Option<u64> {
    let db = cluster.data_dir.join("casement.db");
    let wal = cluster.data_dir.join("casement.db-wal");
    let size = std::fs::metadata(db).ok()?.len();
    Some(size + std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0))
}

fn standard_notes(setup: &Setup) -> Vec<String> {
    let mut notes = vec![
        "the simulator runs on the same machine and cores as the server: rates are what both together reach; CPU per operation is the server's alone".to_owned(),
    ];
    if setup.database == Database::Postgres {
        notes.push(match setup.pg_synchronous_commit {
            OnOff::On => "PostgreSQL is a throwaway server on the same machine and disk with fsync=on, full_page_writes=on, synchronous_commit=on: every commit waits for its WAL flush (concurrent commits share a flush)".into(),
            OnOff::Off => "PostgreSQL is a throwaway server on the same machine and disk with fsync=on, full_page_writes=on, synchronous_commit=off: a commit returns before its WAL flush (the WAL writer flushes within 3 × wal_writer_delay; a crash may lose those commits, never corrupts), like SQLite's synchronous=NORMAL".into(),
        });
    }
    notes
}
