//! A management session: its context and how it was determined, the commands it carried, and
//! every SyncML message, the device's and the server's side by side (secrets were redacted when
//! the messages were recorded).

use axum::extract::{Path, State};
use axum::response::Response;
use casement_store::MessageRow;
use maud::{Markup, html};

use super::devices::device_href;
use super::{console_page, time};
use crate::state::AppState;
use crate::web::auth::ConsoleSession;
use crate::web::page::WebError;
use crate::web::words;

/// `GET /console/sessions/{id}`.
pub async fn show(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let s = state
        .store
        .session(&id)
        .await?
        .ok_or_else(|| WebError::not_found("session with that id"))?;
    let device = state.store.device(&s.device_id).await?;
    let messages = state.store.session_messages(&id).await?;
    let deliveries = state.store.session_deliveries(&id).await?;
    let mut delivered = Vec::with_capacity(deliveries.len());
    for d in &deliveries {
        delivered.push((d, state.store.command(&d.command_id).await?));
    }
    let evidence: serde_json::Value = serde_json::from_str(&s.evidence).unwrap_or_default();
    let device_name = device
        .as_ref()
        .map_or_else(|| s.device_id.clone(), words::device_name);
    let body = html! {
        p { a href=(device_href(&s.device_id)) { "← " (device_name) } }
        h1 { (s.context) " session · " (words::absolute(s.started_at)) }
        div.card {
            dl.facts {
                dt { "Context" } dd { strong { (s.context) } " — " (words::context_for_admin(s.context)) }
                dt { "Determined by" } dd { (words::context_reason(&s.reason)) }
                dt { "Evidence" } dd.mono { (evidence_words(&evidence)) }
                dt { "SyncML SessionID" } dd.mono { (s.session_id) }
                dt { "Started" } dd { (time(s.started_at)) }
                dt { "Ended" } dd { @if let Some(e) = s.ended_at { (time(e)) " · " (s.outcome.as_deref().unwrap_or("")) } @else { "not yet" } }
            }
        }
        @if !s.warnings.is_empty() {
            div.card.warnings role="note" {
                h2 { "Warnings" }
                ul { @for w in &s.warnings { li { (w) } } }
            }
        }
        h2 { "Commands carried" }
        @if delivered.is_empty() { p.muted { "None." } } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { "MsgID" } th scope="col" { "CmdID" } th scope="col" { "Command" } th scope="col" { "State now" } } }
                tbody { @for (d, c) in &delivered { tr {
                    td { (d.msg_id) } td { (d.cmd_id) }
                    td { @if let Some(c) = c { (c.label) } @else { span.mono { (d.command_id) } } }
                    td { @if let Some(c) = c { (c.state.as_str()) @if let Some(code) = c.status_code { " (" (code) ")" } } }
                } } }
            } }
        }
        h2 { "Messages" }
        @if !s.messages_kept {
            p.muted #messages-not-kept { "Not kept: an idle session (one exchange, nothing carried) leaves only this record. To keep every session's messages, put the device under investigation (the device page's Sessions section, or PUT /api/v1/devices/{id}/recording)." }
        } @else {
            p.muted { "Each row is one exchange: what the device sent, and the server's reply." }
        }
        @for (i, pair) in exchanges(&messages).iter().enumerate() {
            div.exchange {
                (message_cell(pair.0, "Device → server", i + 1))
                (message_cell(pair.1, "Server → device", i + 1))
            }
        }
    };
    Ok(console_page(
        &session,
        &format!("{} session", s.context),
        "/console/devices",
        body,
    ))
}

/// Messages paired as (device, server reply); a message without its partner stands alone.
fn exchanges(messages: &[MessageRow]) -> Vec<(Option<&MessageRow>, Option<&MessageRow>)> {
    let mut out: Vec<(Option<&MessageRow>, Option<&MessageRow>)> = Vec::new();
    for m in messages {
        match (m.direction.as_str(), out.last_mut()) {
            ("server", Some((Some(_), reply @ None))) => *reply = Some(m),
            ("server", _) => out.push((None, Some(m))),
            _ => out.push((Some(m), None)),
        }
    }
    out
}

fn message_cell(m: Option<&MessageRow>, heading: &str, n: usize) -> Markup {
    html! {
        section aria-label=(format!("{heading}, exchange {n}")) {
            h3 { (heading) " · " (n) }
            @match m {
                Some(m) => {
                    @if m.truncated { p.muted { "Cut at the recording limit." } }
                    pre { code { (pretty(&m.body)) } }
                }
                None => { p.muted { "(none)" } }
            }
        }
    }
}

/// The message indented for reading; as recorded when it does not parse (e.g. cut).
fn pretty(body: &str) -> String {
    casement_syncml::parse(body.as_bytes())
        .map(|m| casement_syncml::to_string_pretty(&m))
        .unwrap_or_else(|_| body.to_owned())
}

fn evidence_words(e: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    if let Some(mode) = e.get("mode").filter(|m| !m.is_null()) {
        parts.push(format!(
            "mode={}",
            mode.as_str()
                .map_or_else(|| mode.to_string(), str::to_owned)
        ));
    }
    if let Some(alerts) = e
        .get("alerts")
        .and_then(|a| a.as_array())
        .filter(|a| !a.is_empty())
    {
        let codes: Vec<String> = alerts.iter().map(|a| a.to_string()).collect();
        parts.push(format!("alerts {}", codes.join(", ")));
    }
    if let Some(login) = e
        .pointer("/decision/facts/login_status")
        .filter(|v| !v.is_null())
    {
        parts.push(format!("LoginStatus={}", login.as_str().unwrap_or("?")));
    }
    if let Some(agent) = e.get("user_agent").and_then(|a| a.as_str()) {
        parts.push(format!("User-Agent: {agent}"));
    }
    if parts.is_empty() {
        "not recorded".into()
    } else {
        parts.join(" · ")
    }
}
