//! Shared helpers of the server's integration tests: a server on a free port with a temp data
//! dir, a device enrolled through the real enrollment endpoints, an mTLS client for it.

#![allow(dead_code)]

use std::collections::BTreeMap;

use casement_dm::device::{DeviceSession, DeviceTree, NodeValue, Package1, Platform};
use casement_server::{RawConfig, Server};
use casement_store_tests::postgres::TempPostgres;
use casement_syncml::{Data, StatusCode, SyncMl};

pub const RST: &str = include_str!("../../testdata/win10-05-rst-request-onpremise.xml");

pub struct Harness {
    pub server: Server,
    pub http: reqwest::Client,
    pub token: String,
    pub dir: tempfile::TempDir,
    /// The throwaway PostgreSQL server the store is on, if any (dropped after the server).
    pub postgres: Option<TempPostgres>,
}

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded SQLite file in the data directory.
    Sqlite,
    /// A throwaway PostgreSQL server.
    Postgres,
}

pub async fn start(raw: RawConfig) -> Harness {
    start_on(Backend::Sqlite, "", raw)
        .await
        .expect("SQLite is always available")
}

/// [`start`] on `backend`; `None` when PostgreSQL is wanted but not installed (outside CI, where
/// the test named `test` is then skipped).
pub async fn start_on(backend: Backend, test: &str, raw: RawConfig) -> Option<Harness> {
    let postgres = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(casement_store_tests::postgres::start_or_skip(test)?),
    };
    let dir = tempfile::tempdir().unwrap();
    let raw = RawConfig {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".into(),
        database: postgres.as_ref().map(|pg| pg.url.clone()).or(raw.database),
        ..raw
    };
    let server = Server::start(raw).await.expect("server starts");
    let http = client(&server, None);
    let token = std::fs::read_to_string(&server.admin_token_path)
        .unwrap()
        .trim()
        .to_owned();
    let hash = casement_server::password::hash("demo").unwrap();
    let user = casement_store::NewUser {
        id: "u-demio".into(),
        upn: "demio".into(),
        display_name: "Demio".into(),
        password_hash: hash,
        created_at: 0,
    };
    server.state.store.create_user(&user).await.unwrap();
    Some(Harness {
        server,
        http,
        token,
        dir,
        postgres,
    })
}

pub fn client(server: &Server, identity: Option<reqwest::Identity>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(server.tls_certificate_pem.as_bytes()).unwrap(),
        ]);
    if let Some(identity) = identity {
        builder = builder.identity(identity);
    }
    builder.build().unwrap()
}

/// An enrolled device: its id and an mTLS client presenting its certificate.
pub struct Enrolled {
    pub device_id: String,
    pub client: reqwest::Client,
    pub certificate_pem: String,
    pub key_pem: String,
}

impl Harness {
    /// Enrolls a device through the real WSTEP endpoint: the real Windows 10 request with our
    /// own key's CSR and device ID in it.
    pub async fn enroll(&self, device_id: &str) -> Enrolled {
        let csr = casement_ca::windows_like_csr(device_id, &mut rand::rng()).unwrap();
        let csr_b64 =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &csr.csr_der);
        let start = RST.find("MIIC").unwrap();
        let end = RST[start..].find('<').unwrap() + start;
        let body = format!("{}{}{}", &RST[..start], csr_b64, &RST[end..])
            .replace("B5B954E81FBCB94EB79BD08BE625F4EE", device_id);
        let response = self
            .http
            .post(format!(
                "{}/EnrollmentServer/Enrollment.svc",
                self.server.local_url()
            ))
            .header("content-type", "application/soap+xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let xml = response.text().await.unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let token = doc
            .descendants()
            .find(|n| n.tag_name().name() == "BinarySecurityToken")
            .and_then(|n| n.text())
            .unwrap();
        let provisioning = String::from_utf8(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, token.trim())
                .unwrap(),
        )
        .unwrap();
        let prov = roxmltree::Document::parse(&provisioning).unwrap();
        let my = prov
            .descendants()
            .find(|n| n.attribute("type") == Some("My"))
            .expect("My store");
        let cert_b64 = my
            .descendants()
            .find(|n| n.attribute("name") == Some("EncodedCertificate"))
            .and_then(|n| n.attribute("value"))
            .unwrap();
        let der =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, cert_b64).unwrap();
        let certificate_pem = pem("CERTIFICATE", &der);
        let identity = reqwest::Identity::from_pem(
            format!("{certificate_pem}{}", csr.private_key_pem).as_bytes(),
        )
        .unwrap();
        Enrolled {
            device_id: device_id.to_owned(),
            client: client(&self.server, Some(identity)),
            certificate_pem,
            key_pem: csr.private_key_pem,
        }
    }

    /// Records an enrolled device as a Windows 8.1 PC (the enrollment fixture is Windows 10's),
    /// for tests of the 8.1 policy table: the device keeps its certificate.
    pub async fn as_windows81(&self, device_id: &str) {
        let store = &self.server.state.store;
        let d = store.device(device_id).await.unwrap().unwrap();
        let device = casement_store::NewDevice {
            id: d.id.clone(),
            platform: Platform::Windows81,
            user_id: d.user_id.clone(),
            upn: d.upn.clone(),
            user_sid: d.user_sid.clone(),
            name: d.name.clone(),
            enrollment_context: d.enrollment_context.clone(),
            enrolled_at: d.enrolled_at,
        };
        // A second certificate row under a serial of its own (the device keeps presenting its
        // real one, which stays valid).
        let certificate = casement_store::NewCertificate {
            serial_hex: format!("81{}", uuid::Uuid::new_v4().simple()),
            device_id: d.id.clone(),
            thumbprint: "00".repeat(20),
            not_before: 0,
            not_after: i64::MAX / 2,
            pem: String::new(),
            issued_at: 0,
        };
        store
            .record_enrollment(&device, &certificate)
            .await
            .unwrap();
    }

    pub async fn api_get(&self, path: &str) -> serde_json::Value {
        let response = self
            .http
            .get(format!("{}/api/v1{path}", self.server.local_url()))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    pub async fn api_post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = self
            .http
            .post(format!("{}/api/v1{path}", self.server.local_url()))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }
}

pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A device tree answering from a map; some URIs fail.
#[derive(Debug, Default)]
pub struct Tree {
    pub nodes: BTreeMap<String, String>,
    pub execs: Vec<String>,
    pub failing: BTreeMap<String, StatusCode>,
}

impl DeviceTree for Tree {
    fn get(&mut self, uri: &str) -> Result<NodeValue, StatusCode> {
        self.nodes
            .get(uri)
            .map(|v| NodeValue {
                format: "chr".into(),
                data: v.clone(),
            })
            .ok_or(StatusCode::NotFound)
    }
    fn add(&mut self, uri: &str, data: Option<&Data>) -> StatusCode {
        self.replace(uri, data)
    }
    fn replace(&mut self, uri: &str, data: Option<&Data>) -> StatusCode {
        self.nodes.insert(
            uri.into(),
            data.map(|d| d.as_str().to_owned()).unwrap_or_default(),
        );
        StatusCode::Ok
    }
    fn delete(&mut self, uri: &str) -> StatusCode {
        if self.nodes.remove(uri).is_some() {
            StatusCode::Ok
        } else {
            StatusCode::NotFound
        }
    }
    fn exec(&mut self, uri: &str, _data: Option<&Data>) -> StatusCode {
        if let Some(code) = self.failing.get(uri) {
            return *code;
        }
        self.execs.push(uri.into());
        StatusCode::Ok
    }
}

/// Runs one whole management session over HTTPS; returns the server messages received.
pub async fn session(
    h: &Harness,
    device: &Enrolled,
    mode: Option<&str>,
    session_id: u32,
    platform: Platform,
    login: Option<&str>,
    tree: &mut Tree,
) -> Vec<SyncMl> {
    session_with(h, device, mode, session_id, platform, login, tree, false).await
}

/// [`session`], optionally with the user's unenroll request (generic alert 1226) in package 1.
#[allow(clippy::too_many_arguments)]
pub async fn session_with(
    h: &Harness,
    device: &Enrolled,
    mode: Option<&str>,
    session_id: u32,
    platform: Platform,
    login: Option<&str>,
    tree: &mut Tree,
    unenroll_request: bool,
) -> Vec<SyncMl> {
    let url = match mode {
        Some(mode) => format!(
            "{}/ManagementServer/MDM.svc?mode={mode}&Platform=WoA",
            h.server.local_url()
        ),
        None => format!("{}/ManagementServer/MDM.svc", h.server.local_url()),
    };
    let package1 = Package1 {
        device_id: device.device_id.clone(),
        server_uri: format!(
            "https://localhost:{}/ManagementServer/MDM.svc",
            h.server.addr.port()
        ),
        session_id: session_id.to_string(),
        platform,
        login_status: login.map(str::to_owned),
        push_triggered: false,
        devinfo: vec![
            ("./DevInfo/DevId".into(), device.device_id.clone()),
            ("./DevInfo/Man".into(), "Contoso".into()),
            ("./DevInfo/Mod".into(), "Surface".into()),
        ],
        unenroll_request,
    };
    let (mut core, mut outgoing) = DeviceSession::start(package1);
    let mut replies = Vec::new();
    loop {
        let response = device
            .client
            .post(&url)
            .header("content-type", casement_syncml::CONTENT_TYPE)
            .body(casement_syncml::to_string(&outgoing))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "management reply");
        let reply = casement_syncml::parse(response.text().await.unwrap().as_bytes()).unwrap();
        replies.push(reply.clone());
        match core.on_server_message(&reply, tree) {
            Some(next) => outgoing = next,
            None => return replies,
        }
    }
}

/// A raw TLS connection to the server (trusting its certificate, as `localhost`), from
/// `local` (e.g. 127.0.0.2: a second client address on loopback) or the default address.
pub async fn tls_connect(
    server: &Server,
    local: Option<std::net::IpAddr>,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = &server.tls_certificate_pem;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
    roots
        .add(rustls_pki_types::CertificateDer::from(der))
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let socket = match server.addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    if let Some(ip) = local {
        socket.bind(std::net::SocketAddr::new(ip, 0))?;
    }
    let tcp = socket.connect(server.addr).await?;
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
}

/// Reads until the peer closes the connection (EOF or an error), at most `bound`; returns what
/// was read, or `None` if the connection was still open after `bound`.
pub async fn read_until_closed<R: tokio::io::AsyncRead + Unpin>(
    stream: &mut R,
    bound: std::time::Duration,
) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(bound, read).await.ok()?;
    Some(received)
}

/// One request through the router (no sockets): the status, the `Location` header (empty when
/// none) and the body as text.
pub async fn oneshot(
    state: &casement_server::AppState,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<axum::body::Body>,
) -> (axum::http::StatusCode, String, String) {
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = casement_server::http::app(state.clone())
        .oneshot(
            request
                .body(body.unwrap_or_else(axum::body::Body::empty))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    (
        status,
        location,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// One admin API request through the router with a bearer token: the status and the JSON
/// answer (`Null` when it is not JSON).
pub async fn router_api(
    state: &casement_server::AppState,
    method: &str,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (axum::http::StatusCode, serde_json::Value) {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![("authorization", bearer.as_str())];
    let body = body.map(|b| {
        headers.push(("content-type", "application/json"));
        axum::body::Body::from(b.to_string())
    });
    let (status, _, text) = oneshot(state, method, path, &headers, body).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}
