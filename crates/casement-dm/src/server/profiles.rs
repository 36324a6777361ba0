//! Configuration profiles in a session (docs/profiles.md): at package 1 the due device ×
//! profiles the context may carry are planned ([`crate::profiles::work`]); each answer to one of
//! their commands moves its node on and may queue the next command (a read-back, a fallback,
//! a re-apply) for the reply to that very message.

use super::upkeep::queued;
use super::{ActiveSession, Effect, ServerConfig};
use crate::catalog::CommandKind;
use crate::command::PendingCommand;
use crate::context::Context;
use crate::profiles::work::{DeviceProfile, ProfileCommand};

/// What the profiles add to a message: effects (progress, queued commands) and the commands
/// that are candidates for the reply.
#[derive(Default)]
pub(super) struct ProfileSteps {
    pub(super) effects: Vec<Effect>,
    pub(super) candidates: Vec<PendingCommand>,
}

impl ProfileSteps {
    fn queue(&mut self, command: ProfileCommand) {
        let q = queued(command.id, CommandKind::Profile, command.spec);
        self.candidates.push(q.pending);
        self.effects.push(q.effect);
    }
}

fn progress(profile: &DeviceProfile, drift: Vec<crate::profiles::work::DriftFound>) -> Effect {
    Effect::ProfileProgress {
        profile: profile.profile_id.clone(),
        revision: profile.revision,
        status: profile.status(),
        nodes: profile.nodes.clone(),
        drift,
    }
}

/// Plans the due profiles `context` may carry; the session keeps them to follow their answers.
pub(super) fn plan(
    session: &mut ActiveSession,
    config: &ServerConfig,
    context: Context,
    now: i64,
) -> ProfileSteps {
    let mut out = ProfileSteps::default();
    let key = format!("{}/{now}", session.session_id);
    for profile in &config.profiles {
        if !config.policy.allows(profile.class(), context) {
            continue;
        }
        let mut profile = profile.clone();
        let commands = profile.plan(&session.device_id, &key, now);
        // Always: even with nothing to send (a drift check of nodes that cannot be read, a new
        // revision with the same values) the row's status and next due time are written, so a
        // settled profile is not read again at every check-in.
        out.effects.push(progress(&profile, Vec::new()));
        for command in commands {
            out.queue(command);
        }
        if profile.nodes.iter().any(|n| n.command.is_some()) {
            session.profiles.push(profile);
        }
    }
    out
}

/// The next step of every profile command reported in `effects`.
pub(super) fn follow_ups(
    session: &mut ActiveSession,
    effects: &[Effect],
    now: i64,
) -> ProfileSteps {
    let mut out = ProfileSteps::default();
    for effect in effects {
        let Effect::CommandReported {
            command,
            verdict,
            status,
            results,
            ..
        } = effect
        else {
            continue;
        };
        let Some(profile) = session.profiles.iter_mut().find(|p| p.owns(command)) else {
            continue;
        };
        let (next, drift) = profile.on_reported(command, verdict, *status, results, now);
        out.effects
            .push(progress(profile, drift.into_iter().collect()));
        if let Some(next) = next {
            out.queue(next);
        }
    }
    session
        .profiles
        .retain(|p| p.nodes.iter().any(|n| n.command.is_some()));
    out
}
