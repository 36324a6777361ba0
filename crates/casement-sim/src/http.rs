//! HTTP for the simulator: the [`Transport`] the flows talk through, and its real implementation
//! over reqwest (rustls, HTTP/1.1 like the Windows enrollment client).
//!
//! The flows never touch reqwest directly: they send an [`HttpRequest`] and get an
//! [`HttpResponse`] back. That keeps them testable with an in-memory server (the integration
//! tests do so) and lets a load generator share one connection pool between many devices.
//!
//! Two kinds of requests exist, as on a real device:
//! - SOAP calls of the enrollment client (`ENROLLClient`): redirects are **not** followed (a
//!   redirected POST would silently become a GET);
//! - the sign-in pages (the web authentication broker, a browser): redirects are followed.

use std::future::Future;
use std::time::Duration;

/// Largest response body read, in bytes. Enrollment responses are a few KB (an RSTRC with an
/// RSA-2048 chain is about 9 KB); anything near this is a server bug or hostile.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Default timeout of a whole request (connect + send + read).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

/// An HTTP request as the flows build it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Headers in order (names as written).
    pub headers: Vec<(String, String)>,
    /// Body (empty for GET).
    pub body: Vec<u8>,
    /// Follow 3xx redirects (browser pages) or return them as they are (SOAP calls).
    pub follow_redirects: bool,
}

impl HttpRequest {
    /// A `GET` that does not follow redirects.
    pub fn get(url: &str) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: url.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            follow_redirects: false,
        }
    }

    /// A `POST` of `body` with the given `Content-Type`, not following redirects.
    pub fn post(url: &str, content_type: &str, body: Vec<u8>) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            url: url.to_owned(),
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body,
            follow_redirects: false,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> HttpRequest {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Makes the request follow redirects (browser behaviour).
    pub fn following_redirects(mut self) -> HttpRequest {
        self.follow_redirects = true;
        self
    }

    /// The first value of header `name` (ASCII case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// An HTTP response, fully read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// The final URL (after redirects, if followed); relative form actions resolve against it.
    pub url: String,
    /// Headers as received (names lower-case with reqwest).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The media type of `Content-Type` without parameters, lower-cased
    /// (`application/soap+xml`), or `None` without the header.
    pub fn media_type(&self) -> Option<String> {
        let value = self.header("content-type")?;
        let media = value.split(';').next().unwrap_or_default().trim();
        Some(media.to_ascii_lowercase())
    }

    /// Whether the body was sent with a `Content-Length` (not chunked).
    pub fn has_content_length(&self) -> bool {
        self.header("content-length").is_some()
    }
}

/// How the simulator reaches a server. Implemented by [`ReqwestTransport`]; tests implement it
/// with an in-memory server.
pub trait Transport: Sync {
    /// Sends one request and reads the whole response (at most [`MAX_BODY_BYTES`]).
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, TransportError>> + Send;
}

/// A request could not be completed (no HTTP response to look at).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Connecting, TLS, sending or reading failed, or the request timed out. The message
    /// includes the whole cause chain (e.g. the certificate verification error).
    #[error("{message}")]
    Http {
        /// The error and its causes, joined with `: `.
        message: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The response body exceeded [`MAX_BODY_BYTES`].
    #[error("response body over {limit} bytes")]
    TooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// A transport that is not HTTP (tests) failed.
    #[error("{0}")]
    Other(String),
}

impl From<reqwest::Error> for TransportError {
    fn from(source: reqwest::Error) -> TransportError {
        TransportError::Http {
            message: error_chain(&source),
            source,
        }
    }
}

/// The HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The trust anchors are not PEM certificates.
    #[error("server certificate PEM: {0}")]
    BadTrustAnchors(String),
    /// The client certificate or key is not usable PEM.
    #[error("client identity (certificate + key PEM): {0}")]
    BadIdentity(String),
    /// reqwest refused the configuration.
    #[error("HTTP client: {0}")]
    Build(String),
}

/// The real transport: two reqwest clients (SOAP without redirects, browser with redirects)
/// sharing the same TLS trust and, optionally, a client certificate.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    soap: reqwest::Client,
    browser: reqwest::Client,
}

impl ReqwestTransport {
    /// Clients for enrollment: trust only `server_pem` (one or more PEM certificates, e.g. the
    /// server's self-signed TLS certificate) when given, else the platform's trust store; no
    /// client certificate.
    pub fn new(
        server_pem: Option<&str>,
        timeout: Duration,
    ) -> Result<ReqwestTransport, ClientError> {
        Ok(ReqwestTransport {
            soap: client(server_pem, None, timeout, false)?,
            browser: client(server_pem, None, timeout, true)?,
        })
    }

    /// Wraps an existing client (used for both kinds of requests; redirects are then whatever
    /// the client does).
    pub fn from_client(client: reqwest::Client) -> ReqwestTransport {
        ReqwestTransport {
            soap: client.clone(),
            browser: client,
        }
    }
}

impl Transport for ReqwestTransport {
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, TransportError>> + Send {
        let client = if request.follow_redirects {
            self.browser.clone()
        } else {
            self.soap.clone()
        };
        send_with(client, request)
    }
}

/// Builds a reqwest client.
///
/// - `server_pem`: trust exactly these PEM certificates (the server's self-signed TLS
///   certificate); `None` uses the platform verifier.
/// - `identity_pem`: the client certificate chain and its private key, PEM (mutual TLS for
///   management sessions).
/// - HTTP/1.1 only (the workspace's reqwest has no HTTP/2, and Windows enrollment uses 1.1),
///   `timeout` for every request, redirects followed only when `follow_redirects`.
pub fn client(
    server_pem: Option<&str>,
    identity_pem: Option<&str>,
    timeout: Duration,
    follow_redirects: bool,
) -> Result<reqwest::Client, ClientError> {
    let redirects = if follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(redirects);
    if let Some(pem) = server_pem {
        builder = builder.tls_certs_only(trust_anchors(pem)?);
    }
    if let Some(pem) = identity_pem {
        let identity = reqwest::Identity::from_pem(pem.as_bytes())
            .map_err(|e| ClientError::BadIdentity(error_chain(&e)))?;
        builder = builder.identity(identity);
    }
    builder
        .build()
        .map_err(|e| ClientError::Build(error_chain(&e)))
}

/// Parses a PEM bundle into reqwest certificates; at least one is required.
fn trust_anchors(pem: &str) -> Result<Vec<reqwest::Certificate>, ClientError> {
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
        .map_err(|e| ClientError::BadTrustAnchors(error_chain(&e)))?;
    if certs.is_empty() {
        return Err(ClientError::BadTrustAnchors(
            "no CERTIFICATE block found".into(),
        ));
    }
    Ok(certs)
}

async fn send_with(
    client: reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, TransportError> {
    let method = match request.method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
    };
    let mut builder = client.request(method, &request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if request.method == Method::Post {
        builder = builder.body(request.body);
    }
    let mut response = builder.send().await?;
    let status = response.status().as_u16();
    let url = response.url().to_string();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(TransportError::TooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(HttpResponse {
        status,
        url,
        headers,
        body,
    })
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// An error and its causes, `a: b: c` (reqwest's own message hides the TLS reason).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_ignores_parameters_and_case() {
        let response = HttpResponse {
            status: 200,
            url: "https://x/".into(),
            headers: vec![(
                "Content-Type".into(),
                "Application/SOAP+XML ; charset=utf-8".into(),
            )],
            body: Vec::new(),
        };
        assert_eq!(
            response.media_type().as_deref(),
            Some("application/soap+xml")
        );
        assert!(!response.has_content_length());
    }

    #[test]
    fn trust_anchors_need_a_certificate() {
        assert!(matches!(
            trust_anchors("not pem"),
            Err(ClientError::BadTrustAnchors(_))
        ));
    }

    #[test]
    fn request_builders_set_headers() {
        let r = HttpRequest::post("https://x/", "text/plain", b"a".to_vec())
            .header("User-Agent", "ENROLLClient")
            .following_redirects();
        assert_eq!(r.header_value("content-type"), Some("text/plain"));
        assert_eq!(r.header_value("user-agent"), Some("ENROLLClient"));
        assert!(r.follow_redirects);
    }
}
