//! Scripted scenarios: timed events for one or many enrolled devices, run in order on a
//! simulated clock, with a JSON transcript of every session.
//!
//! A scenario file is JSON: either a list of events, or an object with an optional `start`
//! (RFC 3339; origin of numeric `at` offsets), an optional `devices` map (name → state
//! directory, relative to the scenario file; default `<devices dir>/<name>`) and `events`.
//!
//! ```json
//! {
//!   "start": "2026-11-23T18:00:00Z",
//!   "devices": { "ann": "devices/ann", "bob": "devices/bob" },
//!   "events": [
//!     { "at": 0,                      "device": "ann", "event": "logon" },
//!     { "at": 3600,                   "device": "ann", "event": "lock" },
//!     { "at": "2026-11-23T20:00:00Z", "device": "bob", "event": "logoff" },
//!     { "at": "2026-11-24T02:00:00Z", "device": "ann", "event": "nightly" },
//!     {                               "device": "bob", "event": "nightly" },
//!     {                               "device": "ann", "event": "push" },
//!     { "event": "wait", "seconds": 172800 },
//!     { "at": "2026-11-26T09:00:00Z", "device": "ann", "event": "interactive" },
//!     { "device": "bob", "event": "reboot" },
//!     { "device": "ann", "event": "change-setting",
//!       "node": "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera", "value": "1" }
//!   ]
//! }
//! ```
//!
//! - `event`: `reboot`, `logon`, `logoff`, `lock`, `unlock`, `nightly`, `interactive`, `push`
//!   (see [`crate::agent::triggers`]), `wait`, or `change-setting`.
//! - `change-setting` (with `device`, `node` and `value`, a string or a number): a local
//!   administrator changes the setting `node` ([`Agent::change_setting`]); no session runs. The
//!   transcript's `setting_changes` records it, or the device's refusal (`error`).
//! - `at`: an RFC 3339 time or a number of seconds after `start`; without `at` an event happens
//!   at the current simulated time. Times never go back (an earlier `at` is an error).
//! - `nightly` runs only if its time falls in the device's maintenance hour (default 02:00
//!   local); otherwise it is recorded as skipped — the task scheduler would not start it then.
//! - `wait` lets time pass by `seconds` (or `until` a time) for `device`, or for every device of
//!   the scenario when `device` is absent: the nightly task runs at every maintenance hour on the
//!   way, as the real scheduler would. Moving the clock with `at` does not run anything.
//! - Each device's clock is set to the scenario's start when it is loaded; its state is saved
//!   after every event (unless [`ScenarioOptions::save`] is false).
//!
//! `start` defaults to [`ScenarioOptions::start`], else the earliest absolute `at`, else now.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::agent::{Agent, AgentError, Event};
use crate::http::{ReqwestTransport, Transport};
use crate::transcript::{SettingChangeEntry, Transcript};

/// Most nightly runs one `wait` may cause per device (a guard against years-long waits).
pub const MAX_NIGHTLY_RUNS_PER_WAIT: usize = 3660;

/// Where a scenario comes from.
#[derive(Debug, Clone)]
pub enum ScenarioSource {
    /// A JSON file.
    Path(PathBuf),
    /// A parsed JSON value (device paths are relative to the current directory).
    Value(Value),
}

impl From<&Path> for ScenarioSource {
    fn from(path: &Path) -> Self {
        Self::Path(path.to_owned())
    }
}

impl From<PathBuf> for ScenarioSource {
    fn from(path: PathBuf) -> Self {
        Self::Path(path)
    }
}

impl From<Value> for ScenarioSource {
    fn from(value: Value) -> Self {
        Self::Value(value)
    }
}

/// How to run a scenario.
#[derive(Debug, Clone, Default)]
pub struct ScenarioOptions {
    /// Where device directories are when the scenario does not name them: `<dir>/<name>`
    /// (default: the current directory).
    pub devices_dir: PathBuf,
    /// Where to write the JSON transcript, if anywhere.
    pub transcript_path: Option<PathBuf>,
    /// The start when the scenario has none.
    pub start: Option<OffsetDateTime>,
    /// PEM of the server's TLS certificate, overriding each device's saved one.
    pub server_tls_pem: Option<String>,
    /// WNS endpoint base URL, overriding each device's saved one.
    pub wns_endpoint: Option<String>,
    /// Do not save device states after each event (dry runs, tests).
    pub no_save: bool,
}

impl ScenarioOptions {
    /// Whether device states are saved after each event.
    pub fn save(&self) -> bool {
        !self.no_save
    }
}

/// A scenario could not be read or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The scenario file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The scenario is not JSON.
    #[error("scenario is not JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The scenario is JSON but not a valid scenario.
    #[error("scenario {where_}: {reason}")]
    Invalid {
        /// Where (`events[3]`, `start`, …).
        where_: String,
        /// What is wrong.
        reason: String,
    },
    /// A device's state could not be loaded or saved.
    #[error("device {name}: {source}")]
    Device {
        /// The device's name in the scenario.
        name: String,
        /// The error.
        #[source]
        source: AgentError,
    },
    /// The transcript could not be written.
    #[error("transcript {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// What a scenario step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// An agent event.
    Event(Event),
    /// Let time pass until the given time.
    Wait(OffsetDateTime),
    /// A local administrator changes a setting (no session).
    ChangeSetting {
        /// The node.
        node: String,
        /// The new value.
        value: String,
    },
}

/// One step, with its time resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its index in `events`.
    pub index: usize,
    /// When it happens.
    pub at: OffsetDateTime,
    /// The device (absent for a `wait` of every device).
    pub device: Option<String>,
    /// What happens.
    pub action: Action,
}

/// A parsed scenario with its times resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The simulated start.
    pub start: OffsetDateTime,
    /// Device name → state directory, for every device the events name.
    pub devices: BTreeMap<String, PathBuf>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One event as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    #[serde(default)]
    at: Option<Value>,
    #[serde(default)]
    device: Option<String>,
    event: String,
    #[serde(default)]
    seconds: Option<f64>,
    #[serde(default)]
    until: Option<Value>,
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    value: Option<Value>,
}

/// A time as written: seconds after the start, or RFC 3339.
enum At {
    Offset(f64),
    Time(OffsetDateTime),
}

fn invalid(where_: impl Into<String>, reason: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        where_: where_.into(),
        reason: reason.into(),
    }
}

fn parse_at(value: &Value, where_: &str) -> Result<At, ScenarioError> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(At::Offset)
            .ok_or_else(|| invalid(where_, "an offset must be a number of seconds ≥ 0")),
        Value::String(s) => OffsetDateTime::parse(s, &Rfc3339)
            .map(At::Time)
            .map_err(|e| invalid(where_, format!("{s:?} is not an RFC 3339 time: {e}"))),
        _ => Err(invalid(
            where_,
            "expected seconds after start or an RFC 3339 time",
        )),
    }
}

fn seconds(s: f64) -> Duration {
    Duration::seconds_f64(s)
}

impl Scenario {
    /// Parses a scenario. `base` resolves relative device paths; `devices_dir` gives the
    /// directory of devices the scenario does not map; `default_start` is used when the
    /// scenario has no `start`.
    pub fn parse(
        value: &Value,
        base: &Path,
        devices_dir: &Path,
        default_start: Option<OffsetDateTime>,
    ) -> Result<Scenario, ScenarioError> {
        let (start, devices, events) = match value {
            Value::Array(events) => (None, None, events.as_slice()),
            Value::Object(map) => {
                if let Some(key) = map
                    .keys()
                    .find(|k| !matches!(k.as_str(), "start" | "devices" | "events"))
                {
                    return Err(invalid(
                        key.clone(),
                        "unknown field (start, devices, events)",
                    ));
                }
                let events = map
                    .get("events")
                    .and_then(Value::as_array)
                    .ok_or_else(|| invalid("events", "a list of events is required"))?;
                (map.get("start"), map.get("devices"), events.as_slice())
            }
            _ => return Err(invalid("", "expected a list of events or an object")),
        };
        let start = match start {
            None | Some(Value::Null) => None,
            Some(v) => match parse_at(v, "start")? {
                At::Time(t) => Some(t),
                At::Offset(_) => return Err(invalid("start", "must be an RFC 3339 time")),
            },
        };
        let mut mapped: BTreeMap<String, PathBuf> = BTreeMap::new();
        if let Some(devices) = devices {
            let map = devices
                .as_object()
                .ok_or_else(|| invalid("devices", "expected an object name → directory"))?;
            for (name, dir) in map {
                let dir = dir
                    .as_str()
                    .ok_or_else(|| invalid(format!("devices.{name}"), "expected a path"))?;
                mapped.insert(name.clone(), base.join(dir));
            }
        }
        let raw: Vec<(usize, RawEvent)> = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                serde_json::from_value(e.clone())
                    .map(|r| (i, r))
                    .map_err(|err| invalid(format!("events[{i}]"), err.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let mut ats = Vec::with_capacity(raw.len());
        for (i, event) in &raw {
            let where_ = format!("events[{i}].at");
            ats.push(
                event
                    .at
                    .as_ref()
                    .map(|v| parse_at(v, &where_))
                    .transpose()?,
            );
        }
        let earliest = ats
            .iter()
            .filter_map(|a| match a {
                Some(At::Time(t)) => Some(*t),
                _ => None,
            })
            .min();
        let start = start
            .or(default_start)
            .or(earliest)
            .unwrap_or_else(OffsetDateTime::now_utc);
        let resolve = |at: &At| match at {
            At::Offset(s) => start + seconds(*s),
            At::Time(t) => *t,
        };

        let mut clock = start;
        let mut steps = Vec::with_capacity(raw.len());
        let mut devices = BTreeMap::new();
        for ((index, event), at) in raw.into_iter().zip(ats) {
            let where_ = format!("events[{index}]");
            let at_time = at.as_ref().map_or(clock, resolve);
            if at_time < clock {
                return Err(invalid(
                    where_,
                    format!(
                        "at {} is before the simulated clock {} (events run in order)",
                        crate::agent::clock::rfc3339(at_time),
                        crate::agent::clock::rfc3339(clock)
                    ),
                ));
            }
            clock = at_time;
            if event.event != "change-setting" && (event.node.is_some() || event.value.is_some()) {
                return Err(invalid(&where_, "node and value belong to change-setting"));
            }
            let action = if event.event == "change-setting" {
                if event.seconds.is_some() || event.until.is_some() {
                    return Err(invalid(&where_, "seconds and until belong to wait"));
                }
                if event.device.is_none() {
                    return Err(invalid(&where_, "device is required"));
                }
                let value = match &event.value {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    Some(Value::Bool(b)) => b.to_string(),
                    _ => return Err(invalid(&where_, "change-setting needs a value")),
                };
                let node = event
                    .node
                    .clone()
                    .ok_or_else(|| invalid(&where_, "change-setting needs a node"))?;
                Action::ChangeSetting { node, value }
            } else if event.event == "wait" {
                let until = match (event.seconds, &event.until) {
                    (Some(s), None) if s.is_finite() && s >= 0.0 => at_time + seconds(s),
                    (None, Some(v)) => resolve(&parse_at(v, &format!("{where_}.until"))?),
                    _ => {
                        return Err(invalid(where_, "wait needs either seconds (≥ 0) or until"));
                    }
                };
                if until < at_time {
                    return Err(invalid(where_, "wait until a time in the past"));
                }
                clock = until;
                Action::Wait(until)
            } else {
                let e = Event::from_name(&event.event).ok_or_else(|| {
                    invalid(
                        &where_,
                        format!(
                            "unknown event {:?} (reboot, logon, logoff, lock, unlock, nightly, interactive, push, wait, change-setting)",
                            event.event
                        ),
                    )
                })?;
                if event.seconds.is_some() || event.until.is_some() {
                    return Err(invalid(&where_, "seconds and until belong to wait"));
                }
                if event.device.is_none() {
                    return Err(invalid(&where_, "device is required"));
                }
                Action::Event(e)
            };
            if let Some(name) = &event.device {
                let dir = mapped
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| devices_dir.join(name));
                devices.insert(name.clone(), dir);
            }
            steps.push(Step {
                index,
                at: at_time,
                device: event.device,
                action,
            });
        }
        for (name, dir) in mapped {
            devices.entry(name).or_insert(dir);
        }
        Ok(Scenario {
            start,
            devices,
            steps,
        })
    }
}

/// Runs a scenario over HTTPS (each device with its own client certificate) and returns the
/// transcript (also written to [`ScenarioOptions::transcript_path`]).
pub async fn run_scenario(
    source: impl Into<ScenarioSource>,
    options: &ScenarioOptions,
) -> Result<Transcript, ScenarioError> {
    run(source.into(), options, None::<&ReqwestTransport>).await
}

/// [`run_scenario`] with every device talking through `transport` (an in-memory server in
/// tests).
pub async fn run_scenario_with<T: Transport>(
    source: impl Into<ScenarioSource>,
    options: &ScenarioOptions,
    transport: &T,
) -> Result<Transcript, ScenarioError> {
    run(source.into(), options, Some(transport)).await
}

async fn run<T: Transport>(
    source: ScenarioSource,
    options: &ScenarioOptions,
    transport: Option<&T>,
) -> Result<Transcript, ScenarioError> {
    let (value, base, name) = match source {
        ScenarioSource::Path(path) => {
            let text = std::fs::read(&path).map_err(|source| ScenarioError::Read {
                path: path.clone(),
                source,
            })?;
            let value = serde_json::from_slice(&text).map_err(ScenarioError::Json)?;
            let base = path.parent().map(Path::to_owned).unwrap_or_default();
            (value, base, Some(path.display().to_string()))
        }
        ScenarioSource::Value(value) => (value, PathBuf::new(), None),
    };
    let scenario = Scenario::parse(&value, &base, &options.devices_dir, options.start)?;

    let mut agents: BTreeMap<String, (PathBuf, Agent)> = BTreeMap::new();
    for (name, dir) in &scenario.devices {
        let mut agent = Agent::load(dir).map_err(|source| ScenarioError::Device {
            name: name.clone(),
            source,
        })?;
        let state = agent.state_mut();
        state.clock = scenario.start;
        if let Some(pem) = &options.server_tls_pem {
            state.server_tls_pem = Some(pem.clone());
        }
        if let Some(endpoint) = &options.wns_endpoint {
            state.wns_endpoint = endpoint.clone();
        }
        agents.insert(name.clone(), (dir.clone(), agent));
    }

    let mut transcript = Transcript::new(scenario.start);
    transcript.scenario = name;
    for step in &scenario.steps {
        let names: Vec<String> = match &step.device {
            Some(name) => vec![name.clone()],
            None => agents.keys().cloned().collect(),
        };
        for name in names {
            let Some((dir, agent)) = agents.get_mut(&name) else {
                continue;
            };
            let entries = match &step.action {
                Action::Event(event) => {
                    let event = *event;
                    let entry = match transport {
                        Some(t) => agent.event_with(t, event, step.at).await,
                        None => agent.event(event, step.at).await,
                    };
                    vec![entry]
                }
                Action::ChangeSetting { node, value } => {
                    agent.set_clock(step.at);
                    let (before, after, error) = match agent.change_setting(node, value) {
                        Ok(change) => (change.before, change.after, None),
                        Err(e) => (None, None, Some(e)),
                    };
                    transcript.setting_changes.push(SettingChangeEntry {
                        device: name.clone(),
                        at: agent.state().clock,
                        node: node.clone(),
                        value: value.clone(),
                        before,
                        after,
                        error,
                    });
                    Vec::new()
                }
                Action::Wait(until) => {
                    let until = *until;
                    agent.set_clock(step.at);
                    let runs = agent
                        .state()
                        .maintenance
                        .starts_between(agent.state().clock, until)
                        .len();
                    if runs > MAX_NIGHTLY_RUNS_PER_WAIT {
                        return Err(invalid(
                            format!("events[{}]", step.index),
                            format!("wait would run {runs} nightly sessions for {name}"),
                        ));
                    }
                    match transport {
                        Some(t) => agent.advance_with(t, until).await,
                        None => agent.advance(until).await,
                    }
                }
            };
            for mut entry in entries {
                entry.device = name.clone();
                transcript.push(entry);
            }
            if options.save() {
                agent.save(dir).map_err(|source| ScenarioError::Device {
                    name: name.clone(),
                    source,
                })?;
            }
        }
        transcript.finished_at = transcript.finished_at.max(match step.action {
            Action::Wait(until) => until,
            Action::Event(_) | Action::ChangeSetting { .. } => step.at,
        });
    }
    if let Some(path) = &options.transcript_path {
        transcript
            .write(path)
            .map_err(|source| ScenarioError::Write {
                path: path.clone(),
                source,
            })?;
    }
    Ok(transcript)
}

#[cfg(test)]
mod tests;
