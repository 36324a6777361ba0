//! The demo's helpers: running an event and telling what its session carried, the admin API
//! calls, waiting for pushes, and printing the timeline.

use std::time::Duration;

use anyhow::{Context, bail};
use casement_sim::agent::Event;
use casement_sim::transcript::SessionTranscript;
use casement_sim::wns::ReceivedPush;
use serde_json::{Value, json};

use super::words::{describe, push_text, text};
use super::{DEADLINE, Day};

impl Day {
    /// Runs `event` on a PC at `at` after the day's start; prints the session and the queue.
    pub(super) async fn event(
        &mut self,
        pc: usize,
        event: Event,
        at: time::Duration,
    ) -> anyhow::Result<SessionTranscript> {
        let id = self.pcs[pc].id();
        let before = self.commands(&id).await?;
        let entry = self.pcs[pc].agent.event(event, self.start + at).await;
        self.pcs[pc].agent.save(&self.pcs[pc].dir)?;
        self.say(at, pc, &describe(&entry));
        // As `casement sim wns` does all along: a new channel makes a revoked one answer again.
        for restored in self.watch.scan(&self.wns, &self.devices_dir) {
            if restored == id {
                self.more("the PC registered a new channel: WNS delivers to it again");
            }
        }
        if entry.session.is_some() {
            let session = self.api.get(&format!("/devices/{id}/sessions")).await?;
            let last = &session["sessions"][0];
            let context = text(&last["context"]);
            let article = if context.starts_with(['A', 'E', 'I', 'O', 'U']) {
                "an"
            } else {
                "a"
            };
            self.more(&format!(
                "the server recorded {article} {context} session ({})",
                text(&last["determined_by"])
            ));
            let after = self.commands(&id).await?;
            let carried: Vec<String> = after
                .iter()
                .filter(|c| {
                    c["state"] != "pending"
                        && before
                            .get(text(&c["id"]).as_str())
                            .is_none_or(|state| state == "pending")
                })
                .map(|c| format!("{} ({})", text(&c["label"]), text(&c["state"])))
                .collect();
            if carried.is_empty() {
                self.more("carried: nothing queued");
            } else {
                self.more(&format!("carried: {}", carried.join("; ")));
            }
            self.print_waiting(&after);
        }
        Ok(entry)
    }

    pub(super) async fn waiting(&self, pc: usize) -> anyhow::Result<()> {
        let commands = self.commands(&self.pcs[pc].id()).await?;
        self.print_waiting(&commands);
        Ok(())
    }

    pub(super) fn print_waiting(&self, commands: &[Value]) {
        for c in commands.iter().filter(|c| c["state"] == "pending") {
            self.more(&format!(
                "waiting: {} — {}",
                text(&c["label"]),
                text(&c["waits_for"])
            ));
        }
    }

    /// Every command of the device, by id → state (for the diff) — and as a list.
    async fn commands(&self, id: &str) -> anyhow::Result<Commands> {
        let v = self.api.get(&format!("/devices/{id}/commands")).await?;
        Ok(Commands(
            v["commands"].as_array().cloned().unwrap_or_default(),
        ))
    }

    pub(super) async fn queue(&self, id: &str, command: Value) -> anyhow::Result<()> {
        let (status, body) = self
            .api
            .post(&format!("/devices/{id}/commands"), command)
            .await?;
        if status != 201 {
            bail!("queueing a command: {status} {body}");
        }
        Ok(())
    }

    pub(super) async fn app(&self, name: &str, package: &str) -> anyhow::Result<String> {
        let (status, app) = self
            .api
            .post(
                "/apps",
                json!({ "name": name, "version": "1.0", "payloads": { "windows-8.1": {
                    "type": "app-install-job",
                    "job_data": format!("<Job PackageFullName=\"{package}\"/>"),
                    "package_full_name": package } } }),
            )
            .await?;
        if status != 201 {
            bail!("adding {name}: {status} {app}");
        }
        Ok(text(&app["id"]))
    }

    /// The user picks the app for their PC (the same request as the portal's install button).
    pub(super) async fn install(
        &self,
        pc: usize,
        app_id: &str,
        name: &str,
        at: time::Duration,
    ) -> anyhow::Result<String> {
        let id = self.pcs[pc].id();
        let (status, install) = self
            .api
            .post(
                &format!("/devices/{id}/installs"),
                json!({ "app_id": app_id }),
            )
            .await?;
        if status != 201 {
            bail!("installing: {status} {install}");
        }
        self.say(
            at,
            pc,
            &format!(
                "{name} for {} (POST …/installs: the request the portal's install button makes): install {} {}",
                self.pcs[pc].upn,
                text(&install["id"]),
                text(&install["status"])
            ),
        );
        Ok(text(&install["id"]))
    }

    /// Waits for the server's push to reach the PC's channel, then runs `MDMAgent.exe -App`.
    pub(super) async fn expect_push(
        &mut self,
        pc: usize,
        at: time::Duration,
    ) -> anyhow::Result<()> {
        let id = self.pcs[pc].id();
        let push = self.next_push(&id).await?;
        self.say(at, pc, &push_text(&push));
        let delivered = tokio::time::timeout(DEADLINE, self.pushes.recv())
            .await
            .ok()
            .flatten();
        if delivered.as_deref() != Some(id.as_str()) {
            bail!("the push to {} was not delivered", self.pcs[pc].name);
        }
        self.event(pc, Event::Push, at).await?;
        Ok(())
    }

    /// Waits for a push that the channel refused (404/410).
    pub(super) async fn expect_refused_push(
        &mut self,
        pc: usize,
        at: time::Duration,
    ) -> anyhow::Result<()> {
        let id = self.pcs[pc].id();
        let push = self.next_push(&id).await?;
        self.say(at, pc, &push_text(&push));
        if push.delivered {
            bail!("the push to {} was delivered", self.pcs[pc].name);
        }
        Ok(())
    }

    pub(super) async fn next_push(&mut self, id: &str) -> anyhow::Result<ReceivedPush> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let push = tokio::time::timeout_at(deadline, self.observed.recv())
                .await
                .ok()
                .flatten()
                .with_context(|| format!("no push to {id} within {DEADLINE:?}"))?;
            if push.device_id == id {
                return Ok(push);
            }
        }
    }

    /// Waits until the server's channel of the PC is in `state`, then says so.
    pub(super) async fn channel_state(
        &self,
        pc: usize,
        state: &str,
        at: time::Duration,
    ) -> anyhow::Result<()> {
        let id = self.pcs[pc].id();
        let device = self
            .wait(&format!("/devices/{id}"), |d| {
                d["push_channel"]["state"] == state
            })
            .await?;
        let channel = &device["push_channel"];
        let reason = text(&channel["reason"]);
        self.say(
            at,
            pc,
            &format!(
                "the server's view of the channel: {}{}",
                text(&channel["state"]),
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({reason})")
                }
            ),
        );
        Ok(())
    }

    pub(super) async fn install_status(
        &self,
        pc: usize,
        install: &str,
        at: time::Duration,
    ) -> anyhow::Result<()> {
        let v = self.api.get(&format!("/installs/{install}")).await?;
        self.say(
            at,
            pc,
            &format!(
                "install {install}: {} — {}",
                text(&v["status"]),
                text(&v["detail"])
            ),
        );
        Ok(())
    }

    pub(super) async fn wait(
        &self,
        path: &str,
        check: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let v = self.api.get(path).await?;
            if check(&v) {
                return Ok(v);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("{path} did not reach the expected state within {DEADLINE:?}: {v}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(super) fn say(&self, at: time::Duration, pc: usize, what: &str) {
        let t = self.start + at;
        println!(
            "{:02}:{:02}  {:<6} {what}",
            t.hour(),
            t.minute(),
            self.pcs.get(pc).map_or("", |p| p.name)
        );
    }

    pub(super) fn more(&self, what: &str) {
        println!("{:14}{what}", "");
    }
}

/// A device's commands, as the API lists them.
struct Commands(Vec<Value>);

impl Commands {
    fn get(&self, id: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|c| c["id"].as_str() == Some(id))
            .map(|c| &c["state"])
    }
}

impl std::ops::Deref for Commands {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.0
    }
}
