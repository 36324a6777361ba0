//! First start and every start: the data directory, the CA, the TLS identity, the admin token and
//! the store. Nothing here is kept in process memory between requests except these.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use casement_ca::{CaConfig, CertificateAuthority, TlsIdentity};
use casement_store_sql::SqlStore;
use rand::RngCore;

use crate::clock::now_utc;
use crate::config::Config;

/// The file holding the admin API token, inside the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// Everything a server needs, loaded or created.
#[derive(Debug)]
pub struct Bootstrapped {
    /// The CA.
    pub ca: Arc<CertificateAuthority>,
    /// The HTTPS identity.
    pub tls: TlsIdentity,
    /// The admin token.
    pub admin_token: String,
    /// Where the admin token is.
    pub admin_token_path: PathBuf,
    /// The store.
    pub store: SqlStore,
    /// Things created on this start, for the operator ("created CA", …).
    pub created: Vec<String>,
}

/// A start that cannot proceed, with the reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BootstrapError(pub String);

/// Loads or creates the data directory's contents and connects the store.
pub async fn bootstrap(config: &Config) -> Result<Bootstrapped, BootstrapError> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| BootstrapError(format!("data directory {}: {e}", dir.display())))?;
    let mut created = Vec::new();
    let now = now_utc();
    let mut rng = rand::rng();

    let ca = match &config.ca_files {
        Some((cert, key)) => CertificateAuthority::load_files(cert, key)
            .map_err(|e| BootstrapError(format!("CA: {e}")))?,
        None => {
            let (ca, new) =
                CertificateAuthority::load_or_generate(dir, &CaConfig::default(), now, &mut rng)
                    .map_err(|e| BootstrapError(format!("CA in {}: {e}", dir.display())))?;
            if new {
                created.push(format!("a new device CA in {}", dir.display()));
            }
            ca
        }
    };
    let validity = time::Duration::days(i64::from(config.device_cert_days));
    let ca = ca
        .with_device_validity(validity)
        .map_err(|e| BootstrapError(format!("CA: {e}")))?;

    let tls = match &config.tls_files {
        Some((cert, key)) => TlsIdentity::load_files(cert, key)
            .map_err(|e| BootstrapError(format!("TLS identity: {e}")))?,
        None => {
            let (tls, new) = TlsIdentity::load_or_generate(
                dir,
                casement_ca::DEFAULT_TLS_NAMES,
                now,
                &mut rng,
            )
            .map_err(|e| BootstrapError(format!("TLS identity in {}: {e}", dir.display())))?;
            if new {
                created.push("a self-signed TLS certificate for localhost".into());
            }
            tls
        }
    };

    let admin_token_path = dir.join(ADMIN_TOKEN_FILE);
    let admin_token = match std::fs::read_to_string(&admin_token_path) {
        Ok(token) if !token.trim().is_empty() => token.trim().to_owned(),
        Ok(_) => {
            return Err(BootstrapError(format!(
                "{} is empty",
                admin_token_path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            rng.fill_bytes(&mut bytes);
            let token = hex::encode(bytes);
            write_secret(&admin_token_path, &token)
                .map_err(|e| BootstrapError(format!("{}: {e}", admin_token_path.display())))?;
            created.push(format!("an admin token in {}", admin_token_path.display()));
            token
        }
        Err(e) => {
            return Err(BootstrapError(format!(
                "{}: {e}",
                admin_token_path.display()
            )));
        }
    };

    let store = SqlStore::connect(&config.database)
        .await
        .map_err(|e| BootstrapError(format!("database: {e}")))?;
    Ok(Bootstrapped {
        ca: Arc::new(ca),
        tls,
        admin_token,
        admin_token_path,
        store,
        created,
    })
}

/// Writes a file readable only by its owner, created new.
fn write_secret(path: &Path, content: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content.as_bytes())?;
    file.write_all(b"\n")
}
