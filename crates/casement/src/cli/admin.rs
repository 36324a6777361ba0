//! `casement admin`: the admin API from the shell. It reaches the server at `--url` (default
//! https://127.0.0.1:8443) with the token in `<data-dir>/admin-token`, trusting the server's
//! certificate in `<data-dir>/tls.pem` (or `--ca-cert`). Output is the API's JSON, pretty-printed
//! (the device CSV as it is). A personal API token works too: `--token` or `CASEMENT_ADMIN_TOKEN`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// Administer a running server through its API.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: AdminCommand,
}

/// Where the server is and how to authenticate to it (shared by `casement admin` and
/// `casement apply`).
#[derive(Debug, Args)]
pub struct Connection {
    /// Server base URL.
    #[arg(long, env = "CASEMENT_URL", default_value = "https://127.0.0.1:8443")]
    url: String,
    /// Data directory holding admin-token and tls.pem.
    #[arg(long, env = "CASEMENT_DATA_DIR", default_value = "casement-data")]
    data_dir: PathBuf,
    /// Admin token (default: read from <data-dir>/admin-token).
    #[arg(long, env = "CASEMENT_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// PEM certificate to trust for the server (default: <data-dir>/tls.pem).
    #[arg(long)]
    ca_cert: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// The user directory.
    #[command(subcommand)]
    Users(Users),
    /// Enrolled devices.
    #[command(subcommand)]
    Devices(Devices),
    /// The command queue.
    #[command(subcommand)]
    Commands(Commands),
    /// Management sessions.
    #[command(subcommand)]
    Sessions(Sessions),
    /// The app catalog and installs.
    #[command(subcommand)]
    Apps(Apps),
    /// Administrator accounts of the web console (/console).
    #[command(subcommand)]
    Admins(Admins),
    /// Personal API tokens (roles: administrator, operator, helpdesk, auditor).
    #[command(subcommand)]
    Tokens(Tokens),
    /// The event log, after a cursor.
    Events {
        /// The `next` of the previous page.
        #[arg(long)]
        after: Option<String>,
        /// Most events.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Webhooks: events POSTed (signed) to HTTPS receivers.
    #[command(subcommand)]
    Webhooks(Webhooks),
    /// Configuration profiles: settings given to the devices of groups (docs/configuration-as-code.md
    /// manages them from files with `casement apply`).
    #[command(subcommand)]
    Profiles(Profiles),
    /// Device groups that profiles are assigned to (`all-devices` is built in).
    #[command(subcommand)]
    Groups(Groups),
    /// The audit log.
    Audit {
        /// Most entries.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
enum Users {
    /// Add a user (password from --password, or read from stdin with --password-stdin).
    Add {
        upn: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
enum Admins {
    /// Add a console administrator (password from --password, or stdin with --password-stdin;
    /// at least 12 characters).
    Add {
        username: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        display_name: Option<String>,
        /// administrator (default), operator, helpdesk or auditor.
        #[arg(long)]
        role: Option<String>,
    },
    /// List console administrators.
    List,
    /// Change an administrator's role.
    Role { id: String, role: String },
}

#[derive(Debug, Subcommand)]
enum Tokens {
    /// List tokens (never their values).
    List,
    /// Create a token; its value is printed this once.
    Create {
        /// A name for people.
        name: String,
        /// administrator, operator, helpdesk or auditor.
        #[arg(long)]
        role: String,
        /// Days until it expires (default 90).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// A service account to create it for (default: the caller's own).
        #[arg(long)]
        service_account: Option<String>,
    },
    /// Revoke a token.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
enum Webhooks {
    /// List webhooks.
    List,
    /// Add a webhook (https:// only); the secret is printed this once.
    Create {
        url: String,
        /// The signing secret (default: one is made).
        #[arg(long)]
        secret: Option<String>,
        /// An event kind to deliver (repeat; default every kind).
        #[arg(long = "kind")]
        kinds: Vec<String>,
    },
    /// Delete a webhook.
    Delete { id: String },
    /// A webhook's deliveries and their attempts.
    Deliveries { id: String },
}

#[derive(Debug, Subcommand)]
enum Profiles {
    /// List profiles with their groups and counts by status.
    List,
    /// One profile (by id or name).
    Show { id: String },
    /// Create a profile from a JSON file (`-` for stdin): {"name","description","platforms",
    /// "scope","settings":[…]} or with "syncml" instead of "settings".
    Create {
        #[arg(long)]
        file: PathBuf,
    },
    /// Replace a profile's fields from a JSON file (`-` for stdin), as for create.
    Update {
        id: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Delete a profile: it is removed from every device it was on.
    Delete { id: String },
    /// Assign a profile to a group (refused with the reason when it conflicts with another).
    Assign { id: String, group: String },
    /// Unassign a profile from a group.
    Unassign { id: String, group: String },
    /// A profile's devices and each one's status.
    Devices {
        id: String,
        /// Only devices in this status (pending, sending, verifying, verified, failed, …).
        #[arg(long)]
        status: Option<String>,
        /// Most devices.
        #[arg(long)]
        limit: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
enum Groups {
    /// List groups with their device counts.
    List,
    /// One group (by id or name) with its devices.
    Show { id: String },
    /// Create a group from a JSON file (`-` for stdin): {"name","description","kind":"static",
    /// "devices":[…]} or {"name","kind":"filter","filter":{"platform","os_version","model","user"}}.
    Create {
        #[arg(long)]
        file: PathBuf,
    },
    /// Replace a group's fields from a JSON file (`-` for stdin), as for create.
    Update {
        id: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Delete a group: profiles assigned through it leave its devices.
    Delete { id: String },
}

#[derive(Debug, Subcommand)]
enum Devices {
    /// List devices.
    List {
        #[arg(long)]
        platform: Option<String>,
        #[arg(long)]
        include_retired: bool,
    },
    /// One device with inventory.
    Show { id: String },
    /// Every device as CSV (to stdout).
    Csv,
    /// Wipe a Windows 10/11 device (RemoteWipe). The device's name must be typed again.
    Wipe {
        id: String,
        /// The device's name (its id when it has none): a wipe names the device it wipes.
        #[arg(long)]
        confirm: String,
        /// doWipe, doWipeProtected (default), doWipePersistProvisionedData, doWipePersistUserData.
        #[arg(long)]
        method: Option<String>,
    },
    /// Reboot a Windows 10/11 device now, or once at an ISO 8601 date and time.
    Reboot {
        id: String,
        #[arg(long)]
        at: Option<String>,
    },
    /// Lock a device (8.1 LockWorkstation, 10/11 RemoteLock).
    Lock { id: String },
    /// Action requests waiting for (or past) a second administrator's approval.
    Requests,
    /// Approve an action request (you must not be the one who asked): the action is queued.
    Approve { request: String },
    /// Reject an action request: nothing is queued.
    Reject { request: String },
    /// A device's profiles and each one's status.
    Profiles { id: String },
    /// Put a device under investigation: every session keeps its whole messages, idle ones
    /// too, for the hours given (docs/retention.md); `--stop` ends it.
    Record {
        id: String,
        /// How long, from now (1 to 720).
        #[arg(long, default_value_t = 24, conflicts_with = "stop")]
        hours: u32,
        /// End the investigation.
        #[arg(long)]
        stop: bool,
    },
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Queue a command: the API body as JSON, e.g. '{"kind":"inventory","sets":["os"]}'.
    Queue { device: String, request: String },
    /// A device's commands, with what pending ones wait for.
    List { device: String },
    /// Cancel a pending command.
    Cancel { id: String },
}

#[derive(Debug, Subcommand)]
enum Apps {
    /// Add an app: '{"name":…,"version":…,"payloads":{"windows-10":{"type":"store",…}}}'.
    Add { app: String },
    /// List the catalog.
    List,
    /// Install an app on a device.
    Install { device: String, app_id: String },
    /// A device's installs and their status.
    Installs {
        device: String,
        /// Wait (at most --timeout seconds) until every install of the device is in this status
        /// or failed, e.g. `--until installed`; then print them.
        #[arg(long)]
        until: Option<String>,
        /// Seconds to wait with --until before giving up (exit 2).
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
enum Sessions {
    /// A device's sessions.
    List { device: String },
    /// One session with its SyncML.
    Show { id: String },
}

pub fn run(args: AdminArgs) -> anyhow::Result<()> {
    let api = args.connection.connect()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let value = runtime.block_on(dispatch(&api, args.command))?;
    match value {
        // Text answers (the CSV) are printed as they are.
        Value::String(text) => crate::cli::print_stdout(&text),
        value => crate::cli::print_stdout(&format!("{}\n", serde_json::to_string_pretty(&value)?)),
    }
}

impl Connection {
    /// The API client: the token from `--token` or `<data-dir>/admin-token`, trusting
    /// `--ca-cert` or `<data-dir>/tls.pem`.
    pub fn connect(&self) -> anyhow::Result<Api> {
        let args = self;
        let token = match &args.token {
            Some(t) => t.clone(),
            None => {
                let path = args.data_dir.join("admin-token");
                std::fs::read_to_string(&path)
                    .with_context(|| {
                        format!(
                            "reading the admin token from {} (or pass --token)",
                            path.display()
                        )
                    })?
                    .trim()
                    .to_owned()
            }
        };
        let ca_path = args
            .ca_cert
            .clone()
            .unwrap_or_else(|| args.data_dir.join("tls.pem"));
        let ca = std::fs::read(&ca_path).with_context(|| {
            format!(
                "reading the server certificate {} (or pass --ca-cert)",
                ca_path.display()
            )
        })?;
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&ca).context("server certificate")?])
            .build()?;
        Ok(Api {
            client,
            base: format!("{}/api/v1", args.url.trim_end_matches('/')),
            token,
        })
    }
}

async fn dispatch(api: &Api, command: AdminCommand) -> anyhow::Result<Value> {
    match command {
        AdminCommand::Users(Users::Add {
            upn,
            password,
            password_stdin,
            display_name,
        }) => {
            let password = read_password(password, password_stdin)?;
            api.post(
                "/users",
                json!({ "upn": upn, "password": password, "display_name": display_name }),
            )
            .await
        }
        AdminCommand::Users(Users::List) => api.get("/users").await,
        AdminCommand::Admins(Admins::Add {
            username,
            password,
            password_stdin,
            display_name,
            role,
        }) => {
            let password = read_password(password, password_stdin)?;
            api.post(
                "/admins",
                json!({ "username": username, "password": password, "display_name": display_name, "role": role }),
            )
            .await
        }
        AdminCommand::Admins(Admins::List) => api.get("/admins").await,
        AdminCommand::Admins(Admins::Role { id, role }) => {
            api.post(
                &format!("/admins/{}/role", encode(&id)),
                json!({ "role": role }),
            )
            .await
        }
        AdminCommand::Tokens(Tokens::List) => api.get("/tokens").await,
        AdminCommand::Tokens(Tokens::Create {
            name,
            role,
            expires_in_days,
            service_account,
        }) => {
            api.post(
                "/tokens",
                json!({ "name": name, "role": role, "expires_in_days": expires_in_days, "service_account": service_account }),
            )
            .await
        }
        AdminCommand::Tokens(Tokens::Revoke { id }) => {
            api.delete(&format!("/tokens/{}", encode(&id))).await
        }
        AdminCommand::Events { after, limit } => {
            let mut path = format!("/events?limit={limit}");
            if let Some(after) = after {
                path.push_str(&format!("&after={}", encode(&after)));
            }
            api.get(&path).await
        }
        AdminCommand::Webhooks(Webhooks::List) => api.get("/webhooks").await,
        AdminCommand::Webhooks(Webhooks::Create { url, secret, kinds }) => {
            api.post(
                "/webhooks",
                json!({ "url": url, "secret": secret, "kinds": kinds }),
            )
            .await
        }
        AdminCommand::Webhooks(Webhooks::Delete { id }) => {
            api.delete(&format!("/webhooks/{}", encode(&id))).await
        }
        AdminCommand::Webhooks(Webhooks::Deliveries { id }) => {
            api.get(&format!("/webhooks/{}/deliveries", encode(&id)))
                .await
        }
        AdminCommand::Devices(Devices::Csv) => api.get_text("/devices.csv").await.map(Value::String),
        AdminCommand::Devices(Devices::List {
            platform,
            include_retired,
        }) => {
            let mut path = format!("/devices?include_retired={include_retired}");
            if let Some(p) = platform {
                path.push_str(&format!("&platform={p}"));
            }
            api.get(&path).await
        }
        AdminCommand::Devices(Devices::Show { id }) => {
            api.get(&format!("/devices/{}", encode(&id))).await
        }
        AdminCommand::Devices(Devices::Wipe {
            id,
            confirm,
            method,
        }) => {
            let mut body = json!({ "kind": "wipe", "confirm": confirm });
            if let Some(method) = method {
                body["method"] = Value::String(method);
            }
            api.post(&format!("/devices/{}/actions", encode(&id)), body)
                .await
        }
        AdminCommand::Devices(Devices::Reboot { id, at }) => {
            let mut body = json!({ "kind": "reboot" });
            if let Some(at) = at {
                body["at"] = Value::String(at);
            }
            api.post(&format!("/devices/{}/actions", encode(&id)), body)
                .await
        }
        AdminCommand::Devices(Devices::Lock { id }) => {
            api.post(
                &format!("/devices/{}/actions", encode(&id)),
                json!({ "kind": "lock" }),
            )
            .await
        }
        AdminCommand::Devices(Devices::Requests) => api.get("/action-requests").await,
        AdminCommand::Devices(Devices::Approve { request }) => {
            api.post(
                &format!("/action-requests/{}/approve", encode(&request)),
                json!({}),
            )
            .await
        }
        AdminCommand::Devices(Devices::Reject { request }) => {
            api.post(
                &format!("/action-requests/{}/reject", encode(&request)),
                json!({}),
            )
            .await
        }
        AdminCommand::Commands(Commands::Queue { device, request }) => {
            let body: Value = serde_json::from_str(&request)
                .context("the request must be JSON, e.g. {\"kind\":\"inventory\"}")?;
            api.post(&format!("/devices/{}/commands", encode(&device)), body)
                .await
        }
        AdminCommand::Commands(Commands::List { device }) => {
            api.get(&format!("/devices/{}/commands", encode(&device)))
                .await
        }
        AdminCommand::Commands(Commands::Cancel { id }) => {
            api.post(&format!("/commands/{}/cancel", encode(&id)), json!({}))
                .await
        }
        AdminCommand::Sessions(Sessions::List { device }) => {
            api.get(&format!("/devices/{}/sessions", encode(&device)))
                .await
        }
        AdminCommand::Sessions(Sessions::Show { id }) => {
            api.get(&format!("/sessions/{}", encode(&id))).await
        }
        AdminCommand::Apps(Apps::Add { app }) => {
            let body: Value = serde_json::from_str(&app).context("the app must be JSON")?;
            api.post("/apps", body).await
        }
        AdminCommand::Apps(Apps::List) => api.get("/apps").await,
        AdminCommand::Apps(Apps::Install { device, app_id }) => {
            api.post(
                &format!("/devices/{}/installs", encode(&device)),
                json!({ "app_id": app_id }),
            )
            .await
        }
        AdminCommand::Apps(Apps::Installs {
            device,
            until,
            timeout,
        }) => {
            let path = format!("/devices/{}/installs", encode(&device));
            let Some(until) = until else {
                return api.get(&path).await;
            };
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(timeout);
            loop {
                let installs = api.get(&path).await?;
                let settled = installs["installs"].as_array().is_some_and(|list| {
                    list.iter()
                        .all(|i| i["status"] == until.as_str() || i["status"] == "failed")
                });
                if settled {
                    return Ok(installs);
                }
                if tokio::time::Instant::now() >= deadline {
                    bail!("not every install is {until} after {timeout} s: {installs}");
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        AdminCommand::Profiles(command) => profiles(api, command).await,
        AdminCommand::Groups(command) => groups(api, command).await,
        AdminCommand::Devices(Devices::Profiles { id }) => {
            api.get(&format!("/devices/{}/profiles", encode(&id))).await
        }
        AdminCommand::Devices(Devices::Record { id, hours, stop }) => {
            let path = format!("/devices/{}/recording", encode(&id));
            if stop {
                api.delete(&path).await
            } else {
                api.put(&path, json!({ "hours": hours })).await
            }
        }
        AdminCommand::Audit { limit } => api.get(&format!("/audit?limit={limit}")).await,
    }
}

async fn profiles(api: &Api, command: Profiles) -> anyhow::Result<Value> {
    match command {
        Profiles::List => api.get("/profiles").await,
        Profiles::Show { id } => api.get(&format!("/profiles/{}", encode(&id))).await,
        Profiles::Create { file } => api.post("/profiles", json_file(&file)?).await,
        Profiles::Update { id, file } => {
            api.put(&format!("/profiles/{}", encode(&id)), json_file(&file)?)
                .await
        }
        Profiles::Delete { id } => api.delete(&format!("/profiles/{}", encode(&id))).await,
        Profiles::Assign { id, group } => {
            api.post(
                &format!("/profiles/{}/assignments", encode(&id)),
                json!({ "group": group }),
            )
            .await
        }
        Profiles::Unassign { id, group } => {
            api.delete(&format!(
                "/profiles/{}/assignments/{}",
                encode(&id),
                encode(&group)
            ))
            .await
        }
        Profiles::Devices { id, status, limit } => {
            let mut query = Vec::new();
            if let Some(status) = status {
                query.push(format!("status={}", encode(&status)));
            }
            if let Some(limit) = limit {
                query.push(format!("limit={limit}"));
            }
            let mut path = format!("/profiles/{}/devices", encode(&id));
            if !query.is_empty() {
                path.push('?');
                path.push_str(&query.join("&"));
            }
            api.get(&path).await
        }
    }
}

async fn groups(api: &Api, command: Groups) -> anyhow::Result<Value> {
    match command {
        Groups::List => api.get("/groups").await,
        Groups::Show { id } => api.get(&format!("/groups/{}", encode(&id))).await,
        Groups::Create { file } => api.post("/groups", json_file(&file)?).await,
        Groups::Update { id, file } => {
            api.put(&format!("/groups/{}", encode(&id)), json_file(&file)?)
                .await
        }
        Groups::Delete { id } => api.delete(&format!("/groups/{}", encode(&id))).await,
    }
}

/// A JSON request body from a file (`-`: stdin).
fn json_file(path: &std::path::Path) -> anyhow::Result<Value> {
    let (name, bytes) = crate::cli::read_input(path)?;
    serde_json::from_slice(&bytes).with_context(|| format!("{name} is not JSON"))
}

/// A password from `--password` or from stdin (`--password-stdin`), exactly one of them.
fn read_password(password: Option<String>, from_stdin: bool) -> anyhow::Result<String> {
    match (password, from_stdin) {
        (Some(p), false) => Ok(p),
        (None, true) => {
            let mut p = String::new();
            std::io::stdin().read_to_string(&mut p)?;
            Ok(p.trim_end_matches(['\r', '\n']).to_owned())
        }
        _ => bail!("give exactly one of --password or --password-stdin"),
    }
}

/// The admin API at one server, with a token.
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    pub(crate) async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("GET {}{path}", self.base))?;
        answer(response).await
    }

    async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("GET {}{path}", self.base))?;
        let status = response.status();
        if !status.is_success() {
            return answer(response).await.map(|_| String::new());
        }
        Ok(response.text().await?)
    }

    pub(crate) async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .client
            .delete(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("DELETE {}{path}", self.base))?;
        answer(response).await
    }

    pub(crate) async fn put(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .put(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("PUT {}{path}", self.base))?;
        answer(response).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {}{path}", self.base))?;
        answer(response).await
    }
}

async fn answer(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let reason = value.get("reason").and_then(Value::as_str).unwrap_or("");
        match value.get("missing_permission").and_then(Value::as_str) {
            Some(missing) => {
                bail!("the server answered {status}: {reason} (missing permission {missing})")
            }
            None => bail!("the server answered {status}: {reason}"),
        }
    }
    Ok(value)
}

/// `segment` percent-encoded for a URL path.
pub(crate) fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}
