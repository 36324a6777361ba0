//! The benchmarks: what each starts, what it measures, in which order.
//!
//! - `sessions`: the transport ceiling, idle check-ins, check-ins delivering commands, and the
//!   enrollment that made the fleet — one table for one setup (SQLite one node, PostgreSQL one
//!   node, PostgreSQL N nodes behind nginx).
//! - `fanout`: one command queued for N devices through the bulk API (timed), then delivered
//!   to the enrolled fleet in its next check-ins.
//! - `growth`: the check-in scenarios with 10k, 100k, 1M devices already in the database
//!   (seeded in bulk), the nodes restarted at each size so that peak memory is per size.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use casement_sim::WindowsRelease;
use serde_json::{Value, json};

use crate::client::{ConnectionMode, TlsVersion};
use crate::cluster::{Cluster, ClusterSpec, Database};
use crate::fleet::{self, FleetDevice, Measurement, Work};
use crate::progress::Progress;
use crate::report::{Report, Row};

/// The bench user's credentials (created on the fresh server).
const USER: &str = "bench@contoso.com";
const PASSWORD: &str = "bench password 1";

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
    /// Write the report as JSON to this file too.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Check-in scenarios to run after the ceiling (`idle`, `commands`).
    #[arg(long, value_delimiter = ',', default_value = "idle,commands")]
    pub scenarios: Vec<String>,
}

impl Setup {
    fn spec(&self, exe: &std::path::Path) -> ClusterSpec {
        ClusterSpec {
            exe: exe.to_owned(),
            nodes: self.nodes,
            database: self.database,
            nginx: self.nginx,
            nginx_workers: self.nginx_workers,
            env: Vec::new(),
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
            "concurrency": self.concurrency,
            "connection": self.connection,
            "tls": self.tls,
            "commands_per_session": self.commands,
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "load_average_at_start": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
            "entry": cluster.entry_url(),
        })
    }

    fn title(&self, what: &str) -> String {
        let database = match self.database {
            Database::Sqlite => "SQLite",
            Database::Postgres => "PostgreSQL",
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
        rounds: usize,
        mut before_round: impl AsyncFnMut(&mut Bench) -> anyhow::Result<()>,
    ) -> anyhow::Result<Row> {
        let progress = Progress::start(name.to_owned(), (self.fleet.len() * rounds) as u64);
        let mut total = Measurement::default();
        let mut cpu = (0.0, 0.0, 0.0);
        for _ in 0..rounds {
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
            rounds,
            async |_| Ok(()),
        )
        .await
    }

    async fn idle(&mut self, name: &str) -> anyhow::Result<Row> {
        let rounds = self.setup.rounds;
        self.measure(name, maintenance(), rounds, async |_| Ok(()))
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
        self.measure(name, maintenance(), rounds, async move |bench| {
            for i in 0..k {
                bench.queue_bulk(json!({ "ids": ids }), i).await?;
            }
            Ok(())
        })
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
    if setup.scenarios.iter().any(|s| s == "idle") {
        let idle = bench.idle("idle check-in (package 1 → end)").await?;
        rows.push(idle.against(Some(&ceiling)));
    }
    if setup.scenarios.iter().any(|s| s == "commands") {
        let name = format!("check-in delivering {} commands", setup.commands);
        rows.push(bench.delivering(&name).await?.against(Some(&ceiling)));
    }
    rows.push(bench.enrollment.clone().against(Some(&ceiling)));
    Ok(bench.report("sessions", rows, standard_notes(setup)))
}

/// `casement bench fanout`: queue one command for `queued_for` devices, then deliver it.
pub async fn fanout(
    setup: &Setup,
    exe: &std::path::Path,
    queued_for: u64,
) -> anyhow::Result<Report> {
    let mut bench = Bench::start(setup, exe).await?;
    let seeded = bench.seed_to(queued_for).await?;
    bench.cluster.restart_nodes().await?;
    bench.warm_up().await;
    let ceiling = bench.ceiling().await?;
    let before = bench.cluster.usage();
    let started = Instant::now();
    let body = bench.queue_bulk(json!("all"), 0).await?;
    let elapsed = started.elapsed();
    let queued = body["commands"].as_u64().unwrap_or(0);
    let m = Measurement {
        elapsed,
        latencies: vec![elapsed],
        errors: Vec::new(),
        requests: 1,
        ..Measurement::default()
    };
    let mut queue_row = Row::new(
        format!("fan-out: queue 1 command for {queued} devices"),
        &m,
        &before,
        &bench.cluster.usage(),
    );
    // The row's unit is the queued command: rate and CPU per command, the latency of the request.
    queue_row.operations = queued as usize;
    queue_row.per_second = queued as f64 / elapsed.as_secs_f64().max(1e-9);
    queue_row.server_cpu_ms /= queued.max(1) as f64;
    queue_row.node_cpu_ms /= queued.max(1) as f64;
    queue_row.database_cpu_ms /= queued.max(1) as f64;
    queue_row.nginx_cpu_ms /= queued.max(1) as f64;
    let deliver = bench
        .measure(
            "fan-out: check-ins delivering it",
            maintenance(),
            1,
            async |_| Ok(()),
        )
        .await?
        .against(Some(&ceiling));
    let idle = bench
        .idle("idle check-in after the fan-out")
        .await?
        .against(Some(&ceiling));
    let mut notes = standard_notes(setup);
    notes.push(format!(
        "{} devices in the database ({} enrolled, the rest seeded in bulk in {:.1} s); the server took {} ms to queue (its own measure)",
        queued_for,
        bench.fleet.len(),
        seeded.as_secs_f64(),
        body["elapsed_ms"]
    ));
    Ok(bench.report(
        &format!("fanout --queued-for {queued_for}"),
        vec![ceiling, queue_row, deliver, idle],
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
        let idle = bench.idle(&format!("{label}: idle check-in")).await?;
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
        notes.push(
            "PostgreSQL is a throwaway server on the same machine (fsync=off, synchronous_commit=off, like SQLite's synchronous=NORMAL it does not wait for the disk on each commit)".into(),
        );
    }
    notes
}
