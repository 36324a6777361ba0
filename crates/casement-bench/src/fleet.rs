//! The simulated fleet as a load: enrollment through the real enrollment flow, then rounds of
//! management sessions (or, as the transport's ceiling, one trivial request per "session" over
//! the same kind of connection), `concurrency` at a time, each device in at most one session.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use casement_dm::device::DeviceSession;
use casement_sim::load::{FleetTree, package1};
use casement_sim::{AuthMode, EnrollOptions, EnrolledDevice, WindowsRelease};
use tokio::sync::Semaphore;

use crate::client::{ConnectionMode, DeviceConnection, TlsVersion, tls_config};
use crate::progress::Progress;

/// A device of the fleet with its connection.
#[derive(Debug)]
pub struct FleetDevice {
    /// What enrollment gave it.
    pub device: EnrolledDevice,
    conn: DeviceConnection,
    sessions: u32,
    /// Commands the device ran (Get, Exec, …) in its sessions so far.
    pub commands_run: u64,
}

/// Latencies and errors of one measured phase.
#[derive(Debug, Clone, Default)]
pub struct Measurement {
    /// Wall time of the timed parts.
    pub elapsed: Duration,
    /// One latency per successful operation.
    pub latencies: Vec<Duration>,
    /// Failed operations' reasons.
    pub errors: Vec<String>,
    /// HTTP requests made.
    pub requests: u64,
    /// TLS handshakes made, and how many resumed a session.
    pub handshakes: u64,
    /// See `handshakes`.
    pub resumed: u64,
}

impl Measurement {
    fn absorb(&mut self, other: Measurement) {
        self.latencies.extend(other.latencies);
        self.errors.extend(other.errors);
        self.requests += other.requests;
        self.handshakes += other.handshakes;
        self.resumed += other.resumed;
    }

    /// Successful operations per second.
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `p`-th percentile latency (0..=1), in ms.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted
            .get(((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

/// Enrolls `n` devices through the enrollment endpoints at `base_url` (discovery, policies,
/// WSTEP with a CSR), `concurrency` at a time. RSA keys come from a small pool made before the
/// clock starts (each device still gets its own certificate).
pub async fn enroll(
    base_url: &str,
    server_pem: &str,
    user: &str,
    password: &str,
    platform: WindowsRelease,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<(Vec<EnrolledDevice>, Measurement)> {
    let keys: Vec<String> = (0..n.clamp(1, 16))
        .map(|_| casement_ca::windows_like_csr("POOL", &mut rand::rng()).map(|c| c.private_key_pem))
        .collect::<Result<_, _>>()?;
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    let progress = Progress::start("enrollment".into(), n as u64);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let mut options = EnrollOptions::new(
            format!("{base_url}/EnrollmentServer/Discovery.svc"),
            user.to_owned(),
            password.to_owned(),
            platform,
        );
        options.auth = AuthMode::Any;
        options.server_tls_pem = Some(server_pem.to_owned());
        options.key_pem = Some(keys[i % keys.len()].clone());
        let (limit, done) = (limit.clone(), progress.counter());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            let t = Instant::now();
            let result = casement_sim::enroll(&options).await;
            done.fetch_add(1, Ordering::Relaxed);
            (t.elapsed(), result.map_err(|e| e.to_string()))
        }));
    }
    let mut measurement = Measurement::default();
    let mut devices = Vec::with_capacity(n);
    for task in tasks {
        let (latency, result) = task.await?;
        match result {
            Ok(device) => {
                measurement.latencies.push(latency);
                devices.push(device);
            }
            Err(e) => measurement.errors.push(e),
        }
    }
    measurement.elapsed = started.elapsed();
    progress.finish();
    Ok((devices, measurement))
}

/// Makes the fleet: one connection per device to `entry` (nginx or a node).
pub fn connect(
    devices: Vec<EnrolledDevice>,
    server_pem: &str,
    entry: std::net::SocketAddr,
    mode: ConnectionMode,
    version: TlsVersion,
) -> anyhow::Result<Vec<FleetDevice>> {
    devices
        .into_iter()
        .map(|device| {
            let config = tls_config(
                server_pem,
                Some((&device.certificate_pem, &device.private_key_pem)),
                mode,
                version,
            )
            .with_context(|| format!("TLS client of {}", device.device_id))?;
            let host = format!("localhost:{}", entry.port());
            Ok(FleetDevice {
                conn: DeviceConnection::new(config, entry, &host, mode),
                device,
                sessions: 0,
                commands_run: 0,
            })
        })
        .collect()
}

/// What each device does once per round.
#[derive(Debug, Clone)]
pub enum Work {
    /// A whole management session (`mode` in the query).
    Session {
        /// `Machine`, `Maintenance` or `Apps`.
        mode: String,
    },
    /// One `GET /healthz` on a session's connection: the transport's ceiling.
    Trivial,
}

/// Runs `work` once for every device (one round), `concurrency` devices at a time; the devices
/// are split between the workers, so a device is never in two sessions at once.
pub async fn round(
    fleet: &mut Vec<FleetDevice>,
    work: &Work,
    concurrency: usize,
    progress: &Progress,
) -> Measurement {
    let workers = concurrency.clamp(1, fleet.len().max(1));
    let mut shares: Vec<Vec<FleetDevice>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, device) in std::mem::take(fleet).into_iter().enumerate() {
        shares[i % workers].push(device);
    }
    let started = Instant::now();
    let tasks: Vec<_> = shares
        .into_iter()
        .map(|mut share| {
            let (work, done) = (work.clone(), progress.counter());
            tokio::spawn(async move {
                let mut m = Measurement::default();
                for device in &mut share {
                    let (h0, r0) = (device.conn.handshakes, device.conn.resumed);
                    let t = Instant::now();
                    let result = match &work {
                        Work::Session { mode } => session(device, mode).await,
                        Work::Trivial => trivial(device).await,
                    };
                    match result {
                        Ok(requests) => {
                            m.latencies.push(t.elapsed());
                            m.requests += requests;
                        }
                        Err(e) => m.errors.push(format!("{}: {e:#}", device.device.device_id)),
                    }
                    m.handshakes += device.conn.handshakes - h0;
                    m.resumed += device.conn.resumed - r0;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                (share, m)
            })
        })
        .collect();
    let mut total = Measurement::default();
    for task in tasks {
        match task.await {
            Ok((share, m)) => {
                fleet.extend(share);
                total.absorb(m);
            }
            Err(e) => total.errors.push(format!("worker: {e}")),
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// One whole management session; returns the HTTP requests it took.
pub async fn session(device: &mut FleetDevice, mode: &str) -> anyhow::Result<u64> {
    device.conn.begin_session();
    device.sessions += 1;
    let path = format!(
        "{}?mode={mode}&Platform=WoA",
        path_of(&device.device.management_url)
    );
    let (mut core, mut message) = DeviceSession::start(package1(&device.device, device.sessions));
    let mut tree = FleetTree::default();
    for requests in 1..=64u64 {
        let (status, body) = device
            .conn
            .request(
                hyper::Method::POST,
                &path,
                Some(casement_syncml::CONTENT_TYPE),
                casement_syncml::to_string(&message).into_bytes(),
            )
            .await?;
        if status != 200 {
            anyhow::bail!("HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        let reply = casement_syncml::parse(&body).map_err(|e| anyhow::anyhow!("{e}"))?;
        match core.on_server_message(&reply, &mut tree) {
            Some(next) => message = next,
            None => {
                device.commands_run += tree.executed.load(Ordering::Relaxed);
                return Ok(requests);
            }
        }
    }
    anyhow::bail!("the session did not end within 64 messages")
}

/// `GET /healthz` on a new (or kept) connection, presenting the device certificate.
async fn trivial(device: &mut FleetDevice) -> anyhow::Result<u64> {
    device.conn.begin_session();
    let (status, _) = device
        .conn
        .request(hyper::Method::GET, "/healthz", None, Vec::new())
        .await?;
    if status != 200 {
        anyhow::bail!("HTTP {status}");
    }
    Ok(1)
}

/// The path of `https://host:port/path`.
fn path_of(url: &str) -> &str {
    url.find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| &url[i + 3 + j..]))
        .unwrap_or("/")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_path_of_the_management_url() {
        assert_eq!(
            super::path_of("https://localhost:8443/ManagementServer/MDM.svc"),
            "/ManagementServer/MDM.svc"
        );
    }
}
