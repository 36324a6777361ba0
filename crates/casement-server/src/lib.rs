//! Casement's server: one HTTPS listener (rustls, optional client certificates verified against
//! our CA) serving enrollment, management and the admin API, over a [`casement_store::Store`].
//!
//! [`Server::start`] bootstraps the data directory (CA, TLS identity, admin token, database),
//! binds, and serves until [`Server::shutdown`]. [`http::app`] is the router, testable without
//! sockets.

pub mod authz;
pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod fault;
pub mod http;
pub mod listener;
pub mod metrics;
pub mod password;
pub mod paths;
pub mod services;
pub mod state;
pub mod tls;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

pub use config::{Config, ConfigError, RawConfig};
pub use state::AppState;

/// A running server.
#[derive(Debug)]
pub struct Server {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The validated configuration (with the public URL resolved to the bound port).
    pub config: Arc<Config>,
    /// Shared state (for tests and embedding).
    pub state: AppState,
    /// The TLS certificate clients should trust, PEM.
    pub tls_certificate_pem: String,
    /// Where the admin token is.
    pub admin_token_path: std::path::PathBuf,
    /// What this start created (CA, TLS identity, admin token).
    pub created: Vec<String>,
    handle: Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    push_worker: Option<tokio::task::JoinHandle<()>>,
    webhook_worker: tokio::task::JoinHandle<()>,
    profile_reconciler: tokio::task::JoinHandle<()>,
    retention_sweeper: tokio::task::JoinHandle<()>,
    metrics_task: Option<(SocketAddr, tokio::task::JoinHandle<()>)>,
}

/// A start that failed, with the reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

impl Server {
    /// Validates `raw`, bootstraps, binds (port 0 picks a free port; the public URL then uses it
    /// unless configured) and starts serving in the background.
    pub async fn start(raw: RawConfig) -> Result<Server, StartError> {
        Self::start_with_clock(raw, Arc::new(clock::SystemClock)).await
    }

    /// [`Server::start`] with the clock every request reads (tests set a
    /// [`clock::ManualClock`] to move time instead of waiting).
    pub async fn start_with_clock(
        raw: RawConfig,
        clock: Arc<dyn clock::Clock>,
    ) -> Result<Server, StartError> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let listen: SocketAddr = raw
            .listen
            .parse()
            .map_err(|e| StartError(format!("listen {:?}: {e}", raw.listen)))?;
        let listener = std::net::TcpListener::bind(listen)
            .map_err(|e| StartError(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError(e.to_string()))?;
        let raw = RawConfig {
            listen: addr.to_string(),
            ..raw
        };
        let config = Arc::new(raw.validate().map_err(|e| StartError(e.to_string()))?);
        let boot = bootstrap::bootstrap(&config)
            .await
            .map_err(|e| StartError(e.to_string()))?;
        let rustls = tls::server_config(&boot.tls, &boot.ca).map_err(StartError)?;
        let fd_limit = listener::raise_fd_limit();
        let max_connections = listener::connection_limit(config.network.max_connections, fd_limit);
        tracing::info!(
            max_connections,
            fd_limit = ?fd_limit,
            header_timeout = ?config.network.header_timeout,
            body_timeout = ?config.network.body_timeout,
            password_workers = config.password_pool.workers,
            "limits"
        );
        let state = AppState {
            config: config.clone(),
            store: Arc::new(boot.store),
            ca: boot.ca,
            admin_token: boot.admin_token.into(),
            metrics: Arc::default(),
            services: Arc::default(),
            hash_pool: Arc::new(password::HashPool::new(config.password_pool)),
            clock,
        };
        let push_worker = match &config.wns_client {
            Some(wns) => {
                let client = casement_push::WnsClient::new(wns.clone())
                    .map_err(|e| StartError(format!("WNS client: {e}")))?;
                Some(services::push::spawn(state.clone(), Arc::new(client)))
            }
            None => None,
        };
        let webhook_worker = services::webhooks::spawn(state.clone());
        let profile_reconciler = services::profiles::spawn_reconciler(state.clone());
        let retention_sweeper = services::retention::spawn(state.clone());
        let metrics_task = match config.network.metrics_listen {
            Some(addr) => Some(
                http::metrics_listener(addr, state.clone())
                    .await
                    .map_err(StartError)?,
            ),
            None => None,
        };
        let app = http::app(state.clone());
        let handle = Handle::new();
        let limits = &config.network;
        let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(RustlsConfig::from_config(
            Arc::new(rustls),
        ))
        .acceptor(listener::LimitAcceptor::new(
            max_connections,
            config.network.max_connections_per_address,
            &config.trusted_proxies,
            state.metrics.clone(),
        ));
        let gate = Arc::new(listener::LogGate::default());
        let mut server = axum_server::from_tcp(listener)
            .map_err(|e| StartError(e.to_string()))?
            .acceptor(acceptor)
            .handle(handle.clone())
            .http1_only()
            // Covers the wait for the first request head even before hyper's own timer runs.
            .first_request_timeout(limits.header_timeout)
            .accept_error_handler(move |addr, e| listener::log_accept_error(&gate, addr, e));
        server
            .http_builder()
            .http1()
            .timer(hyper_util::rt::TokioTimer::new())
            // Counted from the moment a request head is awaited, including after a response on a
            // kept-alive connection: it is also the idle timeout.
            .header_read_timeout(limits.header_timeout);
        let task = tokio::spawn(async move {
            server
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
        });
        Ok(Server {
            addr,
            config,
            state,
            tls_certificate_pem: boot.tls.certificate_pem().to_owned(),
            admin_token_path: boot.admin_token_path,
            created: boot.created,
            handle,
            task,
            push_worker,
            webhook_worker,
            profile_reconciler,
            retention_sweeper,
            metrics_task,
        })
    }

    /// The address of the separate metrics listener, when configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_task.as_ref().map(|(addr, _)| *addr)
    }

    /// The base URL to reach it on loopback.
    pub fn local_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Stops accepting, lets requests in progress finish (up to 10 s), and waits.
    pub async fn shutdown(self) {
        if let Some(worker) = &self.push_worker {
            worker.abort();
        }
        self.webhook_worker.abort();
        self.profile_reconciler.abort();
        self.retention_sweeper.abort();
        if let Some((_, task)) = &self.metrics_task {
            task.abort();
        }
        self.handle.graceful_shutdown(Some(Duration::from_secs(10)));
        if let Ok(Err(e)) = self.task.await {
            tracing::warn!(error = %e, "server ended with an error");
        }
    }

    /// Waits until the server stops by itself (an I/O failure of the listener).
    pub async fn wait(&mut self) -> std::io::Result<()> {
        (&mut self.task)
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}
