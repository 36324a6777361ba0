//! A simulated device's HTTPS connection, under the benchmark's control: a TLS client
//! configuration of its own (its certificate, the server's certificate as the only trust anchor,
//! its own TLS session cache), and one HTTP/1.1 connection that is either kept across sessions
//! or opened anew for each session, resuming the TLS session as Windows does when it comes back
//! to a server it knows.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::client::Resumption;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// How a device's sessions use connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionMode {
    /// A new TCP connection per session with an abbreviated (resumed) TLS handshake.
    Resume,
    /// A new TCP connection and a full TLS handshake per session.
    Full,
    /// One connection per device, kept alive across its sessions.
    KeepAlive,
}

/// The TLS version a fleet speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
pub enum TlsVersion {
    /// TLS 1.2, as Windows 8.1 and Windows 10 negotiate (TLS 1.3 is on by default only from
    /// Windows 11 and Server 2022).
    #[value(name = "1.2")]
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3, as Windows 11.
    #[value(name = "1.3")]
    #[serde(rename = "1.3")]
    Tls13,
}

/// Per-request timeout.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The TLS client configuration of one device (its own session cache).
pub fn tls_config(
    server_pem: &str,
    identity: Option<(&str, &str)>,
    mode: ConnectionMode,
    version: TlsVersion,
) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in pem_blocks(server_pem, "CERTIFICATE")? {
        roots.add(CertificateDer::from(cert))?;
    }
    let versions: &[&rustls::SupportedProtocolVersion] = match version {
        TlsVersion::Tls12 => &[&rustls::version::TLS12],
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert_pem, key_pem)) => {
            let chain = pem_blocks(cert_pem, "CERTIFICATE")?
                .into_iter()
                .map(CertificateDer::from)
                .collect();
            let key = pem_blocks(key_pem, "PRIVATE KEY")?
                .into_iter()
                .next()
                .context("no PRIVATE KEY block")?;
            builder.with_client_auth_cert(chain, PrivateKeyDer::Pkcs8(key.into()))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = match mode {
        ConnectionMode::Full => Resumption::disabled(),
        _ => Resumption::in_memory_sessions(4),
    };
    Ok(Arc::new(config))
}

/// One device's connection to the server.
pub struct DeviceConnection {
    tls: tokio_rustls::TlsConnector,
    addr: SocketAddr,
    host: String,
    mode: ConnectionMode,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// TLS handshakes made, and how many of them resumed a session.
    pub handshakes: u64,
    /// See `handshakes`.
    pub resumed: u64,
}

impl std::fmt::Debug for DeviceConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceConnection")
            .field("addr", &self.addr)
            .field("mode", &self.mode)
            .field("connected", &self.sender.is_some())
            .finish_non_exhaustive()
    }
}

impl DeviceConnection {
    /// A connection to `addr`, presenting `host` (SNI and the Host header).
    pub fn new(
        config: Arc<rustls::ClientConfig>,
        addr: SocketAddr,
        host: &str,
        mode: ConnectionMode,
    ) -> Self {
        Self {
            tls: tokio_rustls::TlsConnector::from(config),
            addr,
            host: host.to_owned(),
            mode,
            sender: None,
            handshakes: 0,
            resumed: 0,
        }
    }

    /// Starts a session: a new connection on the next request unless connections are kept.
    pub fn begin_session(&mut self) {
        if self.mode != ConnectionMode::KeepAlive {
            self.sender = None;
        }
    }

    /// Sends a request and reads the whole response: `(status, body)`.
    pub async fn request(
        &mut self,
        method: hyper::Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, Bytes)> {
        tokio::time::timeout(
            TIMEOUT,
            self.request_inner(method, path, content_type, body),
        )
        .await
        .map_err(|_| anyhow!("no answer within {} s", TIMEOUT.as_secs()))?
    }

    async fn request_inner(
        &mut self,
        method: hyper::Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, Bytes)> {
        let reusable = match &mut self.sender {
            Some(sender) => sender.ready().await.is_ok(),
            None => false,
        };
        if !reusable {
            let (sender, resumed) = self.connect().await?;
            self.sender = Some(sender);
            self.handshakes += 1;
            self.resumed += u64::from(resumed);
        }
        let sender = self.sender.as_mut().context("connected")?;
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.host)
            .header(hyper::header::CONTENT_LENGTH, body.len());
        if let Some(ct) = content_type {
            request = request.header(hyper::header::CONTENT_TYPE, ct);
        }
        let response = sender
            .send_request(request.body(Full::new(Bytes::from(body)))?)
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                self.sender = None;
                return Err(e.into());
            }
        };
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// A new connection; whether its TLS handshake resumed a session.
    async fn connect(&self) -> anyhow::Result<(SendRequest<Full<Bytes>>, bool)> {
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("connecting to {}", self.addr))?;
        tcp.set_nodelay(true)?;
        let name =
            ServerName::try_from(self.host.split(':').next().unwrap_or("localhost"))?.to_owned();
        let tls = self.tls.connect(name, tcp).await.context("TLS handshake")?;
        let resumed = tls.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok((sender, resumed))
    }
}

/// The DER contents of every `-----BEGIN <label>-----` block (the label may have a prefix, as in
/// `RSA PRIVATE KEY`; only PKCS#8 `PRIVATE KEY` is used here).
fn pem_blocks(pem: &str, label: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    use base64::Engine as _;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let stop = after
            .find(&end)
            .with_context(|| format!("unterminated {label}"))?;
        let b64: String = after[..stop].split_whitespace().collect();
        out.push(base64::engine::general_purpose::STANDARD.decode(b64)?);
        rest = &after[stop + end.len()..];
    }
    if out.is_empty() {
        anyhow::bail!("no {label} block");
    }
    Ok(out)
}
