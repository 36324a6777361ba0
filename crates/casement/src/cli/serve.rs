//! `casement serve`: the server on its embedded defaults, overridden by `--config`, `CASEMENT_*`
//! environment variables and these flags (in that order).

use std::path::PathBuf;

use anyhow::Context;
use casement_server::{RawConfig, Server};
use clap::Args;
use serde::Serialize;

/// Run the server (HTTPS: enrollment, management, admin API).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file (keys as in `RawConfig`: listen, data_dir, public_url, database, …).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory (default ./casement-data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Listen address (default 127.0.0.1:8443).
    #[arg(long)]
    listen: Option<String>,
    /// Database URL: sqlite://… (default, in the data directory) or postgres://…
    #[arg(long)]
    database: Option<String>,
    /// The URL devices reach this server at (default https://localhost:<port>).
    #[arg(long)]
    public_url: Option<String>,
    /// Push through a running `casement sim wns --dir DIR` (reads DIR/wns-simulator.json: the
    /// token URL, the endpoint's certificate, client id and secret, a package family name).
    #[arg(long, value_name = "DIR")]
    wns_simulator: Option<PathBuf>,
}

/// Flags as a partial config layer: only the ones given.
#[derive(Debug, Serialize)]
struct Flags {
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wns_simulator: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let flags = Flags {
        data_dir: args.data_dir,
        listen: args.listen,
        database: args.database,
        public_url: args.public_url,
        wns_simulator: args.wns_simulator,
    };
    let raw = RawConfig::load(args.config.as_deref(), flags)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(async move {
        let server = Server::start(raw).await?;
        for created in &server.created {
            println!("created {created}");
        }
        let base = &server.config.public_url;
        println!("Casement is listening on https://{}", server.addr);
        println!("  enrollment:  {base}/EnrollmentServer/Discovery.svc");
        println!("  management:  {base}/ManagementServer/MDM.svc");
        println!(
            "  admin API:   {base}/api/v1  (Authorization: Bearer <token in {}>)",
            server.admin_token_path.display()
        );
        println!("  OpenAPI:     {base}/api/v1/openapi.json   metrics: {base}/metrics (admin token)");
        println!("  portal:      {base}/portal   console: {base}/console  (casement admin admins add NAME)");
        println!("  database:    {}", redact_url(&server.config.database));
        match &server.config.wns_client {
            Some(wns) => println!("  WNS:         pushes via {}", wns.token_url),
            None => println!("  WNS:         off (installs wait for the next allowed session)"),
        }
        println!("Press Ctrl-C to stop.");
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        println!("stopping…");
        server.shutdown().await;
        Ok(())
    })
}

/// Logs to stderr; `RUST_LOG` sets the filter (default `info`), `CASEMENT_LOG_FORMAT=json` the format.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::env::var("CASEMENT_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// A database URL without its password.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_in_database_urls_are_not_printed() {
        assert_eq!(
            super::redact_url("postgres://mdm:s3cret@db:5432/mdm"),
            "postgres://mdm:***@db:5432/mdm"
        );
        assert_eq!(
            super::redact_url("sqlite://casement-data/casement.db?mode=rwc"),
            "sqlite://casement-data/casement.db?mode=rwc"
        );
    }
}
