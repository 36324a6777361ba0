//! The HTTPS listener's TLS configuration: our identity, and an optional client certificate
//! verified against our CA (enrollment needs none; management requires one).

use std::sync::Arc;

use casement_ca::{CertificateAuthority, TlsIdentity};
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// TLS 1.2 session IDs remembered (each entry holds the client certificate: about 2 KiB).
const SESSION_ID_CACHE: usize = 8192;

/// Builds the rustls server configuration. Client certificates are requested (with our CA as the
/// hint), verified against our CA when presented, and optional.
pub fn server_config(
    identity: &TlsIdentity,
    ca: &CertificateAuthority,
) -> Result<rustls::ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.certificate_der().to_vec()))
        .map_err(|e| format!("CA certificate: {e}"))?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| format!("client verifier: {e}"))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        identity.private_key_pkcs8_der().to_vec(),
    ));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(identity.certificate_der().to_vec())],
            key,
        )
        .map_err(|e| format!("TLS identity: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // Devices come back every few hours over a new connection: let them resume the TLS session
    // (abbreviated handshake, no certificate signatures to make or verify again). Stateless
    // tickets (RFC 8446 §4.6.1, RFC 5077), encrypted with a key this process rotates, hold the
    // session and the client certificate, so nothing per device stays in memory; TLS 1.2
    // clients without ticket support use a bounded session-ID cache.
    config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()
        .map_err(|e| format!("TLS session tickets: {e}"))?;
    config.send_tls13_tickets = 1;
    config.session_storage = rustls::server::ServerSessionMemoryCache::new(SESSION_ID_CACHE);
    Ok(config)
}
