//! One OMA-DM session over HTTPS, as MDMAgent.exe / the Windows 10/11 DM client runs it.
//!
//! Package 1 (Alert 1201 or 1200, the Windows 10/11 LoginStatus alert, the DevInfo Replace) is
//! POSTed to `<ADDR>?mode=<Machine|Maintenance|Apps>&Platform=WoA`; every server message is
//! answered from the device's tree ([`casement_dm::device::DeviceSession`]) until the server
//! sends a message without commands. A non-200 answer, a transport failure or a body that is not
//! SyncML ends the session (the real agent retries at its next trigger) and is recorded.
//!
//! Headers (real Windows 10 capture, docs/protocol.md §2.1): `Content-Type:
//! application/vnd.syncml.dm+xml`, `Accept: application/vnd.syncml.dm+xml,
//! application/vnd.syncml.dm+wbxml, application/octet-stream`, `Accept-Charset: UTF-8`,
//! `User-Agent: MSFT OMA DM Client/1.2.0.1`, `Ms-Cv: <correlation vector>`. Windows 8.1 sends
//! `User-Agent: Enrollment` per [MS-MDM] App. B <3> — doubtful (no 8.1 capture exists; the note
//! may describe the enrollment client) but it is the only statement on record.

use std::time::Instant;

use casement_dm::device::{DeviceSession, DeviceTree, Package1};
use casement_syncml::{CONTENT_TYPE, SyncMl};
use rand::Rng;
use time::OffsetDateTime;

use super::AgentState;
use super::csp::CspTree;
use super::nodes::devinfo;
use super::tree::TreeEnv;
use super::triggers::SessionPlan;
use super::wmi::WmiTree;
use crate::enroll::WindowsRelease;
use crate::http::{HttpRequest, Transport};
use crate::state::EnrolledDevice;
use crate::transcript::{Direction, HttpFailure, MessageRecord, Outcome, SessionRecord, answered};

/// The DM client's `User-Agent` on Windows 10/11 (real capture).
pub const USER_AGENT_WINDOWS10: &str = "MSFT OMA DM Client/1.2.0.1";
/// The DM client's `User-Agent` on Windows 8.1 ([MS-MDM] App. B <3>; doubtful, see above).
pub const USER_AGENT_WINDOWS81: &str = "Enrollment";
/// `Accept` of the DM client (real capture).
pub const ACCEPT: &str =
    "application/vnd.syncml.dm+xml, application/vnd.syncml.dm+wbxml, application/octet-stream";
/// Messages the device sends at most in one session before giving up.
pub const MAX_MESSAGES: u32 = 64;
/// Bytes of an error body kept in the transcript.
const ERROR_BODY_CHARS: usize = 300;

/// The `User-Agent` of `platform`'s DM client.
pub fn user_agent(platform: WindowsRelease) -> &'static str {
    match platform {
        WindowsRelease::Windows81 => USER_AGENT_WINDOWS81,
        WindowsRelease::Windows10 | WindowsRelease::Windows11 => USER_AGENT_WINDOWS10,
    }
}

/// `<management URL>?mode=<mode>&Platform=WoA` (`&` if the URL already has a query).
pub fn session_url(management_url: &str, plan: &SessionPlan) -> String {
    let sep = if management_url.contains('?') {
        '&'
    } else {
        '?'
    };
    format!(
        "{management_url}{sep}mode={}&Platform=WoA",
        plan.mode.as_str()
    )
}

/// The tree of `device`'s platform over `state`.
pub fn tree<'a>(env: TreeEnv<'a>, state: &'a mut AgentState) -> Box<dyn DeviceTree + 'a> {
    match env.device.platform {
        WindowsRelease::Windows81 => Box::new(WmiTree::new(env, state)),
        WindowsRelease::Windows10 | WindowsRelease::Windows11 => Box::new(CspTree::new(env, state)),
    }
}

/// Runs one session and records it. Takes the next SessionID from `state`; leaves job
/// completion and unenrollment to the caller.
pub async fn run<T: Transport>(
    transport: &T,
    device: &EnrolledDevice,
    state: &mut AgentState,
    plan: &SessionPlan,
    now: OffsetDateTime,
) -> SessionRecord {
    let started = Instant::now();
    let session_id = state.take_session_id();
    let url = session_url(&device.management_url, plan);
    let user_agent = user_agent(device.platform);
    let package1 = Package1 {
        device_id: device.device_id.clone(),
        server_uri: device.management_url.clone(),
        session_id: session_id.to_string(),
        platform: device.platform.protocol(),
        login_status: plan.login_status.map(|l| l.as_str().to_owned()),
        push_triggered: plan.push_triggered,
        devinfo: devinfo(device),
        unenroll_request: false,
    };
    let mut record = SessionRecord {
        task: plan.task,
        mode: plan.mode.as_str().to_owned(),
        url: url.clone(),
        user_agent: user_agent.to_owned(),
        login_status: plan.login_status,
        alert: if plan.push_triggered { 1200 } else { 1201 },
        access: plan.access,
        session_id: session_id.to_string(),
        started: now,
        duration_ms: 0,
        outcome: Outcome::Completed,
        messages: Vec::new(),
        commands: Vec::new(),
        http_errors: Vec::new(),
        apps_installed: 0,
        unenrolled: false,
    };
    let correlation = correlation_vector();
    let env = TreeEnv {
        device,
        now,
        access: plan.access,
    };
    let mut tree = tree(env, state);
    let (mut session, mut message) = DeviceSession::start(package1);
    let mut sent = 0u32;
    loop {
        if sent >= MAX_MESSAGES {
            record.outcome = Outcome::TooManyMessages;
            break;
        }
        let msg_id = message.header.msg_id.0;
        let xml = casement_syncml::to_string(&message);
        record.messages.push(MessageRecord {
            direction: Direction::ToServer,
            msg_id,
            syncml: xml.clone(),
        });
        let mut request = HttpRequest::post(&url, CONTENT_TYPE, xml.into_bytes())
            .header("User-Agent", user_agent)
            .header("Accept", ACCEPT)
            .header("Accept-Charset", "UTF-8");
        if device.platform != WindowsRelease::Windows81 {
            request = request.header("Ms-Cv", &format!("{correlation}.0.0.{sent}"));
        }
        sent += 1;
        let response = match transport.send(request).await {
            Ok(r) => r,
            Err(e) => {
                record.outcome = Outcome::TransportError;
                record.http_errors.push(HttpFailure {
                    msg_id,
                    status: None,
                    message: e.to_string(),
                });
                break;
            }
        };
        let body = String::from_utf8_lossy(&response.body).into_owned();
        if response.status != 200 {
            record.outcome = Outcome::HttpError;
            record.http_errors.push(HttpFailure {
                msg_id,
                status: Some(response.status),
                message: body.chars().take(ERROR_BODY_CHARS).collect(),
            });
            break;
        }
        let reply: SyncMl = match casement_syncml::parse(&response.body) {
            Ok(reply) => reply,
            Err(e) => {
                record.outcome = Outcome::InvalidReply;
                record.http_errors.push(HttpFailure {
                    msg_id,
                    status: Some(response.status),
                    message: format!("not SyncML: {e}"),
                });
                if !body.is_empty() {
                    record.messages.push(MessageRecord {
                        direction: Direction::FromServer,
                        msg_id: 0,
                        syncml: body,
                    });
                }
                break;
            }
        };
        record.messages.push(MessageRecord {
            direction: Direction::FromServer,
            msg_id: reply.header.msg_id.0,
            syncml: body,
        });
        match session.on_server_message(&reply, tree.as_mut()) {
            None => break,
            Some(next) => {
                record.commands.extend(answered(&reply, &next));
                message = next;
            }
        }
    }
    record.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    record
}

/// A Windows-style correlation vector base (16 base64 characters).
fn correlation_vector() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
