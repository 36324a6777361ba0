//! The admin API from the demo: the server's token, its certificate trusted.

use std::time::Duration;

use casement_server::Server;
use serde_json::Value;

/// The admin API with the server's token, trusting its certificate.
pub(super) struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    pub(super) fn new(server: &Server) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(
                server.tls_certificate_pem.as_bytes(),
            )?])
            .timeout(Duration::from_secs(30))
            .build()?;
        let token = std::fs::read_to_string(&server.admin_token_path)?
            .trim()
            .to_owned();
        Ok(Self {
            http,
            base: format!("{}/api/v1", server.local_url()),
            token,
        })
    }

    pub(super) async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        Ok(r.json().await.unwrap_or(Value::Null))
    }

    pub(super) async fn post(&self, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await.unwrap_or(Value::Null)))
    }
}
