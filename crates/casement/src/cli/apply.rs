//! `casement apply DIR`: configuration profiles and device groups as code
//! (docs/configuration-as-code.md). It reads `DIR/**/*.toml`, reads the server's profiles,
//! groups and assignments through the admin API, prints the plan between them and, with
//! `--yes`, makes it: groups, then profiles, then assignments, then unassignments, deletions
//! last. The first refusal (a conflict between profiles, an invalid profile) stops it with the
//! server's reason. Applying the same directory again plans nothing.

pub mod plan;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

use crate::cli::Invalid;
use crate::cli::admin::{Api, Connection, encode};
use plan::{Action, Current, CurrentGroup, CurrentProfile, Plan};

/// Profiles and groups as code: show the plan; `--yes` applies it.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The directory of `.toml` files (read with its subdirectories).
    dir: PathBuf,
    /// Make the changes (without it, only the plan is shown).
    #[arg(long)]
    yes: bool,
    /// Also delete the server's profiles and groups the directory does not define.
    #[arg(long)]
    prune: bool,
    #[command(flatten)]
    connection: Connection,
}

pub fn run(args: ApplyArgs) -> anyhow::Result<()> {
    let files = read_dir(&args.dir)?;
    if files.is_empty() {
        return Err(Invalid(format!("no .toml files in {}", args.dir.display())).into());
    }
    let desired = plan::parse_files(&files).map_err(Invalid)?;
    let api = args.connection.connect()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let current = read_server(&api).await?;
        let plan = plan::plan(&desired, &current, args.prune).map_err(Invalid)?;
        crate::cli::print_stdout(&plan.render())?;
        if plan.steps.is_empty() {
            return Ok(());
        }
        if !args.yes {
            return crate::cli::print_stdout(
                "Nothing was changed: run again with --yes to apply.\n",
            );
        }
        apply(&api, &plan).await
    })
}

/// Every `*.toml` under `dir`, by path: (the path as shown, its text).
fn read_dir(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut paths = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries =
            std::fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Ok((p.display().to_string(), text))
        })
        .collect()
}

/// The server's groups (with their devices), profiles (with their groups) and each enrolled
/// device's platform.
async fn read_server(api: &Api) -> anyhow::Result<Current> {
    let mut current = Current::default();
    let groups = api.get("/groups").await?;
    for g in groups["groups"].as_array().into_iter().flatten() {
        let id = g["id"].as_str().unwrap_or_default();
        let detail = api.get(&format!("/groups/{}", encode(id))).await?;
        current.groups.push(CurrentGroup::from_json(&detail));
    }
    let profiles = api.get("/profiles").await?;
    for p in profiles["profiles"].as_array().into_iter().flatten() {
        current.profiles.push(CurrentProfile::from_json(p));
    }
    let mut after: Option<String> = None;
    loop {
        let mut path = "/devices?limit=1000".to_owned();
        if let Some(after) = &after {
            path.push_str(&format!("&after={}", encode(after)));
        }
        let page = api.get(&path).await?;
        let list = page["devices"].as_array().cloned().unwrap_or_default();
        for d in &list {
            if let (Some(id), Some(platform)) = (d["id"].as_str(), d["platform"].as_str()) {
                current
                    .device_platforms
                    .insert(id.to_owned(), platform.to_owned());
            }
        }
        match list.last().and_then(|d| d["id"].as_str()) {
            Some(last) if list.len() >= 1000 => after = Some(last.to_owned()),
            _ => break,
        }
    }
    Ok(current)
}

/// Makes the plan's changes in order, printing each; stops at the first refusal.
async fn apply(api: &Api, plan: &Plan) -> anyhow::Result<()> {
    let mut out = String::from("Applying:\n");
    let total = plan.steps.len();
    for (done, step) in plan.steps.iter().enumerate() {
        let answer = match call(api, &step.action).await {
            Ok(answer) => answer,
            Err(e) => {
                crate::cli::print_stdout(&out)?;
                bail!(
                    "{} failed ({done} of {total} changes made): {e:#}",
                    step.line.trim_start_matches(['+', '~', '-', ' '])
                );
            }
        };
        out.push_str(&format!(
            "{}{}\n",
            step.line,
            outcome(&step.action, &answer)
        ));
    }
    out.push_str(&format!("Applied {total} change(s).\n"));
    crate::cli::print_stdout(&out)
}

async fn call(api: &Api, action: &Action) -> anyhow::Result<Value> {
    match action {
        Action::CreateGroup { body } => api.post("/groups", body.clone()).await,
        Action::ChangeGroup { id, body } => {
            api.put(&format!("/groups/{}", encode(id)), body.clone())
                .await
        }
        Action::CreateProfile { body } => api.post("/profiles", body.clone()).await,
        Action::ChangeProfile { id, body } => {
            api.put(&format!("/profiles/{}", encode(id)), body.clone())
                .await
        }
        Action::Assign { profile, group } => {
            api.post(
                &format!("/profiles/{}/assignments", encode(profile)),
                serde_json::json!({ "group": group }),
            )
            .await
        }
        Action::Unassign { profile, group } => {
            api.delete(&format!(
                "/profiles/{}/assignments/{}",
                encode(profile),
                encode(group)
            ))
            .await
        }
        Action::DeleteProfile { id } => api.delete(&format!("/profiles/{}", encode(id))).await,
        Action::DeleteGroup { id } => api.delete(&format!("/groups/{}", encode(id))).await,
    }
}

/// What the server said it did, as a suffix of the step's line.
fn outcome(action: &Action, answer: &Value) -> String {
    let n = |field: &str| answer[field].as_u64().unwrap_or(0);
    match action {
        Action::CreateGroup { .. } => format!(
            ": done, id {}, {} device(s)",
            answer["id"].as_str().unwrap_or("?"),
            n("devices")
        ),
        Action::ChangeGroup { .. } => format!(": done, {} device(s)", n("devices")),
        Action::CreateProfile { .. } => {
            format!(": done, id {}", answer["id"].as_str().unwrap_or("?"))
        }
        Action::ChangeProfile { .. } => format!(": done, revision {}", n("revision")),
        Action::Assign { .. } => format!(": done, {} device(s) added", n("devices_added")),
        Action::Unassign { .. } => format!(": done, {} device(s) removed", n("devices_removed")),
        Action::DeleteProfile { .. } => {
            format!(": done, {} device(s) removing it", n("devices_removing"))
        }
        Action::DeleteGroup { .. } => ": done".to_owned(),
    }
}
