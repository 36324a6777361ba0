//! What a benchmark (or the multi-node test) runs against: `casement serve` processes on one
//! database — the embedded SQLite of the data directory, or a throwaway PostgreSQL server — and
//! optionally nginx in front of them.
//!
//! The nodes share one data directory, as an operator shares it (or copies its files) between
//! nodes: the first node creates the CA, the TLS identity and the admin token on its first
//! start; the others start once it is up and only read them. Nothing else is shared: each node
//! is its own process with its own connection pool, and everything about devices is in the
//! database.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use casement_store_tests::postgres::{Durability, TempPostgres};

use crate::nginx::{Nginx, NginxFiles};
use crate::procs::{self, Usage};

/// Which database the nodes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Database {
    /// The embedded SQLite file in the data directory (one node only).
    Sqlite,
    /// A throwaway PostgreSQL server (initdb in a temp directory).
    Postgres,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// The `casement` binary.
    pub exe: PathBuf,
    /// `casement serve` processes.
    pub nodes: usize,
    /// Their database.
    pub database: Database,
    /// Put nginx in front (devices then talk to nginx only).
    pub nginx: bool,
    /// nginx worker processes.
    pub nginx_workers: usize,
    /// Extra `CASEMENT_*` settings for every node.
    pub env: Vec<(String, String)>,
    /// How the throwaway PostgreSQL server commits (ignored for SQLite).
    pub postgres_durability: Durability,
}

/// The running processes. Stopped on drop (nodes, then nginx, then the database).
#[derive(Debug)]
pub struct Cluster {
    spec: ClusterSpec,
    nodes: Vec<Node>,
    nginx: Option<Nginx>,
    postgres: Option<TempPostgres>,
    /// The database URL the nodes use.
    pub database_url: String,
    /// The shared data directory (CA, TLS identity, admin token; the SQLite file).
    pub data_dir: PathBuf,
    /// The nodes' TLS certificate (also nginx's), PEM: what devices trust.
    pub tls_pem: String,
    /// The admin API token.
    pub admin_token: String,
    /// Where devices connect: nginx, or the first node.
    pub entry: SocketAddr,
    dir: tempfile::TempDir,
}

#[derive(Debug)]
struct Node {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Cluster {
    /// Starts the database, the nodes (the first alone, the others once it is up) and nginx.
    pub async fn start(spec: ClusterSpec) -> anyhow::Result<Cluster> {
        if spec.nodes == 0 {
            bail!("at least one node");
        }
        if spec.nodes > 1 && spec.database == Database::Sqlite {
            bail!("several nodes need PostgreSQL (--database postgres): SQLite is one node's");
        }
        let dir = tempfile::Builder::new()
            .prefix("casement-bench-")
            .tempdir()?;
        let data_dir = dir.path().join("data");
        let postgres = match spec.database {
            Database::Sqlite => None,
            Database::Postgres => Some(
                TempPostgres::start_with(spec.postgres_durability)
                    .map_err(|e| anyhow::anyhow!("PostgreSQL: {e}"))?,
            ),
        };
        let database_url = match &postgres {
            Some(pg) => pg.url.clone(),
            None => casement_store_sql::SqlStore::sqlite_url(&data_dir.join("casement.db")),
        };
        let ports: Vec<u16> = (0..spec.nodes + 1)
            .map(|_| free_port())
            .collect::<Result<_, _>>()?;
        let entry_port = if spec.nginx {
            ports[spec.nodes]
        } else {
            ports[0]
        };
        let mut cluster = Cluster {
            spec,
            nodes: Vec::new(),
            nginx: None,
            postgres,
            database_url,
            data_dir,
            tls_pem: String::new(),
            admin_token: String::new(),
            entry: SocketAddr::from(([127, 0, 0, 1], entry_port)),
            dir,
        };
        for (i, port) in ports[..cluster.spec.nodes].iter().enumerate() {
            let node = cluster.spawn_node(i, *port)?;
            cluster.nodes.push(node);
            cluster.wait_ready(i).await?;
        }
        if cluster.spec.nginx {
            let files = NginxFiles {
                public_cert: cluster.data_dir.join("tls.pem"),
                public_key: cluster.data_dir.join("tls.key"),
                ca: cluster.data_dir.join("ca.pem"),
                nodes_tls: cluster.data_dir.join("tls.pem"),
            };
            let addrs = cluster.node_addrs();
            let nginx = Nginx::start(
                &cluster.dir.path().join("nginx"),
                entry_port,
                &addrs,
                &files,
                cluster.spec.nginx_workers,
            )?;
            cluster.nginx = Some(nginx);
        }
        Ok(cluster)
    }

    fn spawn_node(&self, i: usize, port: u16) -> anyhow::Result<Node> {
        let log = self.dir.path().join(format!("node{i}.log"));
        let mut command = Command::new(&self.spec.exe);
        command
            .arg("serve")
            .env("CASEMENT_DATA_DIR", &self.data_dir)
            .env("CASEMENT_LISTEN", format!("127.0.0.1:{port}"))
            .env("CASEMENT_DATABASE", &self.database_url)
            .env(
                "CASEMENT_PUBLIC_URL",
                format!("https://localhost:{}", self.entry.port()),
            )
            .env("CASEMENT_MAX_DEVICES_PER_USER", "100000000")
            // The whole simulated fleet comes from one address, kept-alive connections included.
            .env("CASEMENT_MAX_CONNECTIONS_PER_ADDRESS", "1000000")
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::fs::File::create(&log)?))
            .stderr(Stdio::from(
                std::fs::OpenOptions::new().append(true).open(&log)?,
            ));
        if self.spec.nginx {
            command.env("CASEMENT_TRUSTED_PROXIES", "[\"127.0.0.1\"]");
        }
        for (k, v) in &self.spec.env {
            command.env(k, v);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {} serve", self.spec.exe.display()))?;
        Ok(Node {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        })
    }

    /// Waits until node `i` answers `/healthz` over TLS (the first node creates the TLS identity
    /// and the admin token, read here once it exists).
    async fn wait_ready(&mut self, i: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.nodes[i].child.try_wait() {
                bail!(
                    "node {i} exited ({status}):\n{}",
                    std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
                );
            }
            if self.tls_pem.is_empty()
                && let (Ok(pem), Ok(token)) = (
                    std::fs::read_to_string(self.data_dir.join("tls.pem")),
                    std::fs::read_to_string(self.data_dir.join("admin-token")),
                )
                && !token.trim().is_empty()
            {
                self.tls_pem = pem;
                self.admin_token = token.trim().to_owned();
            }
            if !self.tls_pem.is_empty() && self.healthy(self.nodes[i].addr).await {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "node {i} did not come up:\n{}",
                    std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn healthy(&self, addr: SocketAddr) -> bool {
        let Ok(client) = self.admin_client() else {
            return false;
        };
        client
            .get(format!("https://localhost:{}/healthz", addr.port()))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// An HTTPS client trusting the nodes' certificate (`localhost` resolves to 127.0.0.1).
    pub fn admin_client(&self) -> anyhow::Result<reqwest::Client> {
        Ok(reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(self.tls_pem.as_bytes())?])
            .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], 0)))
            .timeout(Duration::from_secs(120))
            .build()?)
    }

    /// The base URL devices use (`https://localhost:<entry port>`).
    pub fn entry_url(&self) -> String {
        format!("https://localhost:{}", self.entry.port())
    }

    /// Node `i`'s own base URL.
    pub fn node_url(&self, i: usize) -> String {
        format!("https://localhost:{}", self.nodes[i].addr.port())
    }

    /// The nodes' addresses.
    pub fn node_addrs(&self) -> Vec<SocketAddr> {
        self.nodes.iter().map(|n| n.addr).collect()
    }

    /// The nodes' process ids.
    pub fn node_pids(&self) -> Vec<u32> {
        self.nodes.iter().map(|n| n.child.id()).collect()
    }

    /// What the server side has used so far: the nodes, the database server (postmaster and
    /// backends) and nginx (master and workers), each summed.
    pub fn usage(&self) -> ServerUsage {
        ServerUsage {
            nodes: procs::usage_of(&self.node_pids()),
            database: self
                .postgres
                .as_ref()
                .and_then(|pg| pg.postmaster_pid())
                .map(procs::group_usage)
                .unwrap_or_default(),
            nginx: self
                .nginx
                .as_ref()
                .and_then(Nginx::pid)
                .map(procs::group_usage)
                .unwrap_or_default(),
        }
    }

    /// Stops and starts every node again (same data, same database): their peak memory starts
    /// over.
    pub async fn restart_nodes(&mut self) -> anyhow::Result<()> {
        let ports: Vec<u16> = self.nodes.iter().map(|n| n.addr.port()).collect();
        for node in &mut self.nodes {
            stop_node(node);
        }
        self.nodes.clear();
        for (i, port) in ports.into_iter().enumerate() {
            let node = self.spawn_node(i, port)?;
            self.nodes.push(node);
            self.wait_ready(i).await?;
        }
        Ok(())
    }

    /// nginx's error log, if it runs.
    pub fn nginx_errors(&self) -> Option<String> {
        self.nginx.as_ref().map(Nginx::error_log)
    }

    /// A node's log so far.
    pub fn node_log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
    }

    /// The temp directory everything lives in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether nginx is in front.
    pub fn has_nginx(&self) -> bool {
        self.nginx.is_some()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            stop_node(node);
        }
        if let Some(nginx) = &mut self.nginx {
            nginx.stop();
        }
    }
}

/// CPU and memory of the server side, by part.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServerUsage {
    /// The `casement serve` processes.
    pub nodes: Usage,
    /// The PostgreSQL server (none for SQLite: it runs inside the node).
    pub database: Usage,
    /// nginx.
    pub nginx: Usage,
}

impl ServerUsage {
    /// CPU seconds of all parts since `earlier`: (nodes, database, nginx).
    pub fn cpu_since(&self, earlier: &ServerUsage) -> (f64, f64, f64) {
        (
            self.nodes.cpu_since(&earlier.nodes),
            self.database.cpu_since(&earlier.database),
            self.nginx.cpu_since(&earlier.nginx),
        )
    }
}

/// SIGINT (the server's graceful stop), then a kill after 10 s.
fn stop_node(node: &mut Node) {
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(node.child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = node.child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = node.child.kill();
    let _ = node.child.wait();
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
