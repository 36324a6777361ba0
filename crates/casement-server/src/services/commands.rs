//! Queueing commands: the catalog turns a request into SyncML for the device's platform; the
//! queue stores them, in order, for sessions whose context allows them.

use casement_dm::catalog::{self, CatalogContext, CommandKind, CommandRequest, QueuedSpec};
use casement_store::{CommandRow, NewCommand, Platform, StoreError};

use crate::services::management::DEFAULT_MAX_ATTEMPTS;
use crate::state::AppState;

/// Why nothing was queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// No such device.
    #[error("unknown device")]
    UnknownDevice,
    /// The device is retired.
    #[error("the device is retired")]
    Retired,
    /// The catalog refused the request (unsupported on the platform, invalid raw SyncML, …).
    #[error("{0}")]
    Refused(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who queues commands for which device, when: stamped on every row [`Self::rows`] builds.
pub(crate) struct Queueing<'a> {
    /// The device.
    pub device_id: &'a str,
    /// What was asked for.
    pub kind: CommandKind,
    /// Queue time of the first command; the next ones are a millisecond apart, so that commands
    /// queued together keep their order.
    pub at: i64,
    /// Expiry, if any.
    pub expires_at: Option<i64>,
    /// `admin`, `portal:<upn>`, `system`, ….
    pub created_by: &'a str,
}

impl Queueing<'_> {
    /// The one place a queued command's row is built from the catalog's specs: a new id each,
    /// the SyncML serialized once, the default number of attempts.
    pub(crate) fn rows(&self, specs: Vec<QueuedSpec>) -> Result<Vec<NewCommand>, QueueError> {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| self.row(uuid::Uuid::new_v4().to_string(), i, spec))
            .collect()
    }

    /// The row of the `nth` command queued together, with the id given.
    pub(crate) fn row(
        &self,
        id: String,
        nth: usize,
        spec: QueuedSpec,
    ) -> Result<NewCommand, QueueError> {
        Ok(NewCommand {
            id,
            device_id: self.device_id.to_owned(),
            kind: self.kind,
            class: spec.class,
            label: spec.label,
            payload: serde_json::to_string(&spec.command)
                .map_err(|e| QueueError::Refused(e.to_string()))?,
            secret: spec.secret,
            created_at: self.at + nth as i64,
            expires_at: self.expires_at,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            created_by: self.created_by.to_owned(),
        })
    }
}

/// Queues what `request` builds for the device; returns the stored commands in queue order.
/// Commands queued together keep their order (their queue times are a millisecond apart).
pub async fn queue(
    state: &AppState,
    device_id: &str,
    request: &CommandRequest,
    expires_in_seconds: Option<u64>,
    created_by: &str,
) -> Result<Vec<CommandRow>, QueueError> {
    let device = state
        .store
        .device(device_id)
        .await?
        .ok_or(QueueError::UnknownDevice)?;
    if device.retired_at.is_some() {
        return Err(QueueError::Retired);
    }
    // A wipe names the device it wipes, and waits for approval where that is configured.
    super::actions::guard(state, &device, request)?;
    enqueue_for(state, &device, request, expires_in_seconds, created_by).await
}

/// Queues what `request` builds for `device` (known, not retired, its safeguards passed).
pub(crate) async fn enqueue_for(
    state: &AppState,
    device: &casement_store::Device,
    request: &CommandRequest,
    expires_in_seconds: Option<u64>,
    created_by: &str,
) -> Result<Vec<CommandRow>, QueueError> {
    let context = catalog_context(state, device.platform, &device.id);
    let specs =
        catalog::build(request, &context).map_err(|e| QueueError::Refused(e.to_string()))?;
    let now = state.clock.now_ms();
    let expires_at = expires_in_seconds
        .map(|s| now + i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX / 2));
    let commands = Queueing {
        device_id: &device.id,
        kind: request.kind(),
        at: now,
        expires_at,
        created_by,
    }
    .rows(specs)?;
    state.store.enqueue_commands(&commands).await?;
    if matches!(
        request,
        CommandRequest::AppInstall { .. }
            | CommandRequest::Wipe { .. }
            | CommandRequest::Reboot { .. }
            | CommandRequest::Lock
    ) {
        // Wake the device so that it comes back in an Apps session (docs/product.md §3 flow 5); if no
        // push gets through, the next session whose context allows it delivers the install. A
        // device action wakes the device too (issue 15: "woken by push where a channel exists").
        if let Some(first) = commands.first() {
            state
                .store
                .enqueue_push(
                    &uuid::Uuid::new_v4().to_string(),
                    &device.id,
                    &format!("command:{}", first.id),
                    now,
                    state.config.push_interval_ms,
                )
                .await?;
        }
    }
    Ok(commands
        .into_iter()
        .map(NewCommand::into_pending_row)
        .collect())
}

/// The devices a bulk request targets (retired devices never get anything).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BulkDevices {
    /// Every active device.
    All,
    /// The active devices enrolled by this user (id).
    UserId(String),
    /// These devices (at most [`MAX_BULK_IDS`]).
    Ids(Vec<String>),
}

/// Most device ids one bulk request may list (larger sets are selected with `all` or a user).
pub const MAX_BULK_IDS: usize = 10_000;

/// What a bulk request queued.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BulkOutcome {
    /// Devices that got the commands.
    pub devices: u64,
    /// Command rows queued (devices × commands the request builds on their platform).
    pub commands: u64,
    /// Per platform: devices and commands.
    pub by_platform: Vec<BulkPlatform>,
    /// Platforms (or listed devices) the request could not be queued for, with the reason.
    pub refused: Vec<BulkRefusal>,
}

/// One platform's share of a bulk request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BulkPlatform {
    /// `windows-8.1` or `windows-10`.
    pub platform: &'static str,
    /// Devices.
    pub devices: u64,
    /// Commands.
    pub commands: u64,
}

/// Why part of a bulk request was not queued.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BulkRefusal {
    /// The platform (for `all` and user selections) …
    pub platform: Option<&'static str>,
    /// … or the listed device.
    pub device_id: Option<String>,
    /// Why.
    pub reason: String,
}

/// Queues what `request` builds on every device of the selection: for `all` and a user, the
/// database copies one built command to every matching device (one transaction, docs/product.md §6:
/// queueing one command for 100,000 devices takes under a second). Commands whose SyncML names
/// the device (Windows 8.1 `MDM_Client` instances) are built per device instead, as are listed
/// ids. App installs also queue a push per device.
pub async fn queue_bulk(
    state: &AppState,
    devices: &BulkDevices,
    request: &CommandRequest,
    expires_in_seconds: Option<u64>,
    created_by: &str,
) -> Result<BulkOutcome, QueueError> {
    // Wiping more than one device at once needs an explicit flag.
    super::actions::guard_bulk(state, request)?;
    let now = state.clock.now_ms();
    let expires_at = expires_in_seconds
        .map(|s| now + i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX / 2));
    let selection = match devices {
        BulkDevices::All => casement_store::DeviceSelection::All,
        BulkDevices::UserId(user) => casement_store::DeviceSelection::User(user.clone()),
        BulkDevices::Ids(ids) => {
            return queue_listed(state, ids, request, expires_at, created_by, now).await;
        }
    };
    let mut outcome = BulkOutcome::default();
    let mut by_platform = Vec::new();
    let mut per_device = Vec::new();
    for platform in [Platform::Windows81, Platform::Windows10] {
        match shared_commands(state, platform, request, now, expires_at, created_by) {
            Ok(Some(commands)) => by_platform.push((platform, commands)),
            Ok(None) => per_device.push(platform),
            Err(reason) => outcome.refused.push(BulkRefusal {
                platform: Some(platform.as_str()),
                device_id: None,
                reason,
            }),
        }
    }
    let push = matches!(request, CommandRequest::AppInstall { .. }).then(|| {
        (
            format!("bulk {}", request.kind()),
            now,
            state.config.push_interval_ms,
        )
    });
    let specs: Vec<(Platform, u64)> = by_platform
        .iter()
        .map(|(p, c)| (*p, c.len() as u64))
        .collect();
    let queued = state
        .store
        .enqueue_bulk(&casement_store::BulkEnqueue {
            selection,
            by_platform,
            push,
        })
        .await?;
    for ((platform, devices), (_, per)) in queued.into_iter().zip(specs) {
        outcome.add(platform, devices, devices * per);
    }
    for platform in per_device {
        // Page through the platform's devices and queue for each (its SyncML names it).
        let mut after = None;
        loop {
            let page = state
                .store
                .list_devices(&casement_store::DeviceFilter {
                    platform: Some(platform),
                    user_id: match devices {
                        BulkDevices::UserId(user) => Some(user.clone()),
                        _ => None,
                    },
                    after_id: after.clone(),
                    limit: Some(1000),
                    ..casement_store::DeviceFilter::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            let ids: Vec<String> = page.into_iter().map(|d| d.id).collect();
            let part = queue_listed(state, &ids, request, expires_at, created_by, now).await?;
            outcome.merge(part);
        }
    }
    Ok(outcome)
}

impl BulkOutcome {
    fn add(&mut self, platform: Platform, devices: u64, commands: u64) {
        self.devices += devices;
        self.commands += commands;
        match self
            .by_platform
            .iter_mut()
            .find(|p| p.platform == platform.as_str())
        {
            Some(p) => {
                p.devices += devices;
                p.commands += commands;
            }
            None => self.by_platform.push(BulkPlatform {
                platform: platform.as_str(),
                devices,
                commands,
            }),
        }
    }

    fn merge(&mut self, other: BulkOutcome) {
        for p in other.by_platform {
            let platform = Platform::from_name(p.platform).unwrap_or(Platform::Windows10);
            self.add(platform, p.devices, p.commands);
        }
        self.refused.extend(other.refused);
    }
}

/// The commands `request` builds on `platform` if they are the same for every device; `None`
/// when they name the device; the catalog's refusal otherwise.
fn shared_commands(
    state: &AppState,
    platform: Platform,
    request: &CommandRequest,
    now: i64,
    expires_at: Option<i64>,
    created_by: &str,
) -> Result<Option<Vec<casement_store::BulkCommand>>, String> {
    let build = |device_id: &str| {
        catalog::build(request, &catalog_context(state, platform, device_id))
            .map_err(|e| e.to_string())
    };
    let (a, b) = (build("BULK-PROBE-A")?, build("BULK-PROBE-B")?);
    let payloads = |specs: &[catalog::QueuedSpec]| {
        specs
            .iter()
            .map(|s| serde_json::to_string(&s.command).map(|p| (p, s.label.clone())))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    };
    let (pa, pb) = (payloads(&a)?, payloads(&b)?);
    if pa != pb {
        return Ok(None);
    }
    let kind = request.kind();
    Ok(Some(
        a.into_iter()
            .zip(pa)
            .enumerate()
            .map(|(i, (spec, (payload, _)))| casement_store::BulkCommand {
                kind,
                class: spec.class,
                label: spec.label,
                payload,
                secret: spec.secret,
                created_at: now + i as i64,
                expires_at,
                max_attempts: DEFAULT_MAX_ATTEMPTS,
                created_by: created_by.to_owned(),
            })
            .collect(),
    ))
}

/// Queues for listed devices, built per device, in one transaction; unknown and retired
/// devices (and the catalog's refusals) are reported, not fatal.
async fn queue_listed(
    state: &AppState,
    ids: &[String],
    request: &CommandRequest,
    expires_at: Option<i64>,
    created_by: &str,
    now: i64,
) -> Result<BulkOutcome, QueueError> {
    if ids.len() > MAX_BULK_IDS {
        return Err(QueueError::Refused(format!(
            "at most {MAX_BULK_IDS} device ids per request; select all devices or a user's instead"
        )));
    }
    let mut outcome = BulkOutcome::default();
    let mut commands = Vec::new();
    let mut counted = Vec::new();
    let kind = request.kind();
    for id in ids {
        let refuse = |reason: &str| BulkRefusal {
            platform: None,
            device_id: Some(id.clone()),
            reason: reason.to_owned(),
        };
        let Some(device) = state.store.device(id).await? else {
            outcome.refused.push(refuse("unknown device"));
            continue;
        };
        if device.retired_at.is_some() {
            outcome.refused.push(refuse("the device is retired"));
            continue;
        }
        let specs = match catalog::build(
            request,
            &catalog_context(state, device.platform, &device.id),
        ) {
            Ok(specs) => specs,
            Err(e) => {
                outcome.refused.push(refuse(&e.to_string()));
                continue;
            }
        };
        counted.push((device.platform, specs.len() as u64, device.id.clone()));
        commands.extend(
            Queueing {
                device_id: &device.id,
                kind,
                at: now,
                expires_at,
                created_by,
            }
            .rows(specs)?,
        );
    }
    state.store.enqueue_commands(&commands).await?;
    for (platform, n, device_id) in counted {
        outcome.add(platform, 1, n);
        if matches!(request, CommandRequest::AppInstall { .. }) {
            state
                .store
                .enqueue_push(
                    &uuid::Uuid::new_v4().to_string(),
                    &device_id,
                    &format!("bulk {kind}"),
                    now,
                    state.config.push_interval_ms,
                )
                .await?;
        }
    }
    Ok(outcome)
}

/// What the catalog needs to build commands for a device: the one place it is put together.
pub(crate) fn catalog_context(
    state: &AppState,
    platform: Platform,
    device_id: &str,
) -> CatalogContext {
    CatalogContext {
        platform,
        device_id: device_id.to_owned(),
        provider_id: state.config.provider_id.clone(),
        wns: state.config.wns.clone(),
    }
}

/// Cancels a pending command for `actor` and records it in the audit log. A command that is no
/// longer pending is a [`StoreError::Conflict`]; an unknown id [`StoreError::NotFound`].
pub async fn cancel(
    state: &AppState,
    actor: &str,
    id: &str,
) -> Result<casement_store::CommandRow, StoreError> {
    // A profile's commands follow the profile (docs/profiles.md): its node waits for their
    // answer, so they are not cancelled one by one — unassigning the profile removes it.
    if let Some(command) = state.store.command(id).await?
        && command.kind == casement_dm::catalog::CommandKind::Profile
    {
        return Err(StoreError::Conflict(
            "a configuration profile's command cannot be cancelled on its own: unassign the profile instead"
                .into(),
        ));
    }
    let row = state.store.cancel_command(id, state.clock.now_ms()).await?;
    super::audit::record(
        state,
        actor,
        "command.cancel",
        Some(id),
        serde_json::json!({ "device": row.device_id }),
    )
    .await;
    Ok(row)
}
