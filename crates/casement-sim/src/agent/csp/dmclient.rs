//! DMClient ([MS-MDE2] §2.2.9.3): `./Vendor/MSFT/DMClient/Provider/<ProviderID>/…` — the push
//! channel (`Push/PFN`, `Push/ChannelURI`, `Push/Status`), `Unenroll`, `EntDMID` and `Poll/*`.
//! Push/PFN is the device's (DMClient runs as System): no user needed. Add and Replace of
//! `Push/PFN` both set it (the server sends them in a Sequence).

use casement_dm::device::NodeValue;
use casement_syncml::{Data, StatusCode};

use super::super::AgentState;
use super::super::nodes::{boolean, chr, encode, int, node_list, stored};
use super::super::tree::{DmClientPush, TreeEnv};
use super::super::wmi::methods::{channel_uri, new_channel};
use super::{Answer, Op, eq, read_only};

/// `DMClient/Provider/<ProviderID>/…`.
pub(super) fn dm_client(
    env: &TreeEnv<'_>,
    state: &mut AgentState,
    path: &[String],
    op: Op<'_>,
) -> Answer {
    let provider = &env.device.provider_id;
    let rest = match path {
        [] => return read_only(op, || node_list(["Provider"])),
        [p] if eq(p, "Provider") => return read_only(op, || node_list([encode(provider)])),
        [p, id, rest @ ..] if eq(p, "Provider") && id.eq_ignore_ascii_case(provider) => rest,
        _ => return Err(StatusCode::NotFound),
    };
    let base = format!("./Vendor/MSFT/DMClient/Provider/{provider}");
    let names: Vec<&str> = rest.iter().map(String::as_str).collect();
    match names.as_slice() {
        [] => read_only(op, || node_list(["EntDMID", "Poll", "Push", "Unenroll"])),
        ["Push"] => read_only(op, || node_list(["PFN", "ChannelURI", "Status"])),
        [push, leaf] if eq(push, "Push") => push_node(env, state, leaf, op),
        [unenroll] if eq(unenroll, "Unenroll") => match op {
            Op::Exec(data) => {
                let given = data.map(Data::as_str).unwrap_or_default();
                if !given.is_empty() && !given.eq_ignore_ascii_case(provider) {
                    return Err(StatusCode::BadRequest);
                }
                state.tree.unenroll_requested.get_or_insert(env.now);
                Ok(None)
            }
            _ => Err(StatusCode::CommandNotAllowed),
        },
        [ent] if eq(ent, "EntDMID") => {
            let key = format!("{base}/EntDMID");
            let default = chr(env.device.device_id.clone());
            setting(state, &key, op, Some(default))
        }
        ["Poll"] => read_only(op, || node_list(POLL_NODES.iter().map(|(n, _)| *n))),
        [poll, leaf] if eq(poll, "Poll") => {
            let (name, default) = POLL_NODES
                .iter()
                .find(|(n, _)| eq(n, leaf))
                .ok_or(StatusCode::NotFound)?;
            let key = format!("{base}/Poll/{name}");
            setting(state, &key, op, default(env))
        }
        _ => Err(StatusCode::NotFound),
    }
}

type PollDefault = fn(&TreeEnv<'_>) -> Option<NodeValue>;

/// `Poll/*` nodes with the provisioned (or Windows default) value.
const POLL_NODES: &[(&str, PollDefault)] = &[
    ("IntervalForFirstSetOfRetries", |e| {
        Some(int(
            poll(e, |p| p.interval_for_first_set_of_retries).unwrap_or(15)
        ))
    }),
    ("NumberOfFirstRetries", |e| {
        Some(int(poll(e, |p| p.number_of_first_retries).unwrap_or(10)))
    }),
    ("IntervalForSecondSetOfRetries", |e| {
        Some(int(
            poll(e, |p| p.interval_for_second_set_of_retries).unwrap_or(0)
        ))
    }),
    ("NumberOfSecondRetries", |e| {
        Some(int(poll(e, |p| p.number_of_second_retries).unwrap_or(0)))
    }),
    ("IntervalForRemainingScheduledRetries", |e| {
        Some(int(
            poll(e, |p| p.interval_for_remaining_scheduled_retries).unwrap_or(1440)
        ))
    }),
    ("NumberOfRemainingScheduledRetries", |e| {
        Some(int(
            poll(e, |p| p.number_of_remaining_scheduled_retries).unwrap_or(0)
        ))
    }),
    ("PollOnLogin", |e| {
        Some(boolean(
            e.device
                .poll
                .as_ref()
                .and_then(|p| p.poll_on_login)
                .unwrap_or(false),
        ))
    }),
    ("AllUsersPollOnFirstLogin", |e| {
        Some(boolean(
            e.device
                .poll
                .as_ref()
                .and_then(|p| p.all_users_poll_on_first_login)
                .unwrap_or(false),
        ))
    }),
];

fn poll(
    env: &TreeEnv<'_>,
    field: impl Fn(&crate::enroll::responses::PollSettings) -> Option<u32>,
) -> Option<u32> {
    env.device.poll.as_ref().and_then(field)
}

/// A settable leaf with a default: Get (stored, else default, else 404), Add (418 when the node
/// holds a value, stored or default: Windows answers Add of an existing node with 418), Replace
/// (store), Delete 405, Exec 405.
fn setting(state: &mut AgentState, key: &str, op: Op<'_>, default: Option<NodeValue>) -> Answer {
    match op {
        Op::Add(_) if default.is_some() || state.tree.settings.contains_key(key) => {
            Err(StatusCode::AlreadyExists)
        }
        Op::Get => state
            .tree
            .settings
            .get(key)
            .cloned()
            .or(default)
            .map(Some)
            .ok_or(StatusCode::NotFound),
        Op::Add(data) | Op::Replace(data) => {
            state.tree.settings.insert(key.to_owned(), stored(data));
            Ok(None)
        }
        Op::Delete | Op::Exec(_) => Err(StatusCode::CommandNotAllowed),
    }
}

/// DMClient push status values ([MS-MDE2] §2.2.9.3).
pub mod push_status {
    /// Success.
    pub const OK: u32 = 0;
    /// WNS registration failed (invalid or revoked PFN).
    pub const REGISTRATION_FAILED: u32 = 3;
    /// The channel URI expired.
    pub const EXPIRED: u32 = 5;
}

/// `Push/PFN`, `Push/ChannelURI`, `Push/Status`.
fn push_node(env: &TreeEnv<'_>, state: &mut AgentState, leaf: &str, op: Op<'_>) -> Answer {
    let push = state.tree.push.as_ref();
    if eq(leaf, "PFN") {
        return match op {
            Op::Get => push
                .map(|p| Some(chr(p.pfn.clone())))
                .ok_or(StatusCode::NotFound),
            Op::Add(data) | Op::Replace(data) => {
                let pfn = data.map(Data::as_str).unwrap_or_default().trim().to_owned();
                if pfn.is_empty() {
                    return Err(StatusCode::BadRequest);
                }
                let uri = channel_uri(&state.wns_endpoint, &env.device.device_id);
                state.tree.push = Some(DmClientPush {
                    pfn,
                    channel: new_channel(uri, env.now),
                });
                Ok(None)
            }
            Op::Delete => state
                .tree
                .push
                .take()
                .map(|_| None)
                .ok_or(StatusCode::NotFound),
            Op::Exec(_) => Err(StatusCode::CommandNotAllowed),
        };
    }
    let value = if eq(leaf, "ChannelURI") {
        push.map(|p| chr(p.channel.uri.clone()))
    } else if eq(leaf, "Status") {
        push.map(|p| {
            int(if p.channel.revoked {
                push_status::REGISTRATION_FAILED
            } else if p.channel.expires_at <= env.now {
                push_status::EXPIRED
            } else {
                push_status::OK
            })
        })
    } else {
        return Err(StatusCode::NotFound);
    };
    let value = value.ok_or(StatusCode::NotFound)?;
    read_only(op, || value)
}
