//! Devices: the searchable, filterable, paged list and its CSV download. A device's own page is
//! `device.rs`; the actions its forms post are `device_forms.rs`.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use casement_store::{DeviceQuery, Platform};
use maud::html;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::{STALE_AFTER_MS, badge, console_page};
use crate::state::AppState;
use crate::web::auth::ConsoleSession;
use crate::web::page::WebError;
use crate::web::words;

/// Devices per page.
pub const PAGE_SIZE: u32 = 50;

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    platform: Option<String>,
    context: Option<String>,
    channel: Option<String>,
    stale: Option<String>,
    retired: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

impl ListQuery {
    /// The query string of these filters (no paging), for the pager's links.
    fn filters(&self) -> String {
        let mut parts = Vec::new();
        for (name, value) in [
            ("q", &self.q),
            ("platform", &self.platform),
            ("context", &self.context),
            ("channel", &self.channel),
            ("stale", &self.stale),
            ("retired", &self.retired),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!(
                    "{name}={}",
                    utf8_percent_encode(v, NON_ALPHANUMERIC)
                ));
            }
        }
        parts.join("&")
    }
}

/// `GET /console/devices`.
pub async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let now = state.clock.now_ms();
    let non_empty = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    let query = DeviceQuery {
        search: non_empty(&q.q),
        platform: non_empty(&q.platform).and_then(|p| Platform::from_name(&p)),
        last_context: non_empty(&q.context),
        channel_state: non_empty(&q.channel),
        stale_before: q.stale.is_some().then_some(now - STALE_AFTER_MS),
        include_retired: q.retired.is_some(),
        after_id: non_empty(&q.after),
        before_id: non_empty(&q.before),
        limit: Some(PAGE_SIZE),
    };
    let page = state.store.query_devices(&query).await?;
    let filters = q.filters();
    let link = |cursor: &str, id: &str| {
        let sep = if filters.is_empty() { "" } else { "&" };
        format!(
            "/console/devices?{filters}{sep}{cursor}={}",
            utf8_percent_encode(id, NON_ALPHANUMERIC)
        )
    };
    let selected = |v: &Option<String>, option: &str| v.as_deref() == Some(option);
    let body = html! {
        h1 { "Devices" }
        p { a.button #download-csv href="/console/devices.csv" download="devices.csv" { "Download CSV" } }
        form.filters.card method="get" action="/console/devices" role="search" {
            div {
                label for="q" { "Search" }
                input #q type="search" name="q" value=(q.q.as_deref().unwrap_or("")) placeholder="ID, name or user";
            }
            div {
                label for="platform" { "Platform" }
                select #platform name="platform" {
                    option value="" { "Any" }
                    option value="windows-8.1" selected[selected(&q.platform, "windows-8.1")] { "Windows 8.1" }
                    option value="windows-10" selected[selected(&q.platform, "windows-10")] { "Windows 10/11" }
                }
            }
            div {
                label for="context" { "Last session" }
                select #context name="context" {
                    option value="" { "Any" }
                    @for c in ["Machine", "Maintenance", "Apps"] {
                        option value=(c) selected[selected(&q.context, c)] { (c) }
                    }
                    option value="none" selected[selected(&q.context, "none")] { "Never" }
                }
            }
            div {
                label for="channel" { "Push channel" }
                select #channel name="channel" {
                    option value="" { "Any" }
                    @for c in ["active", "expiring", "configuring", "revoked", "failed", "unconfigured"] {
                        option value=(c) selected[selected(&q.channel, c)] { (c) }
                    }
                }
            }
            div {
                label.check { input type="checkbox" name="stale" checked[q.stale.is_some()]; "Stale (no session in 7 days)" }
                label.check { input type="checkbox" name="retired" checked[q.retired.is_some()]; "Include retired" }
            }
            div { button type="submit" { "Show" } }
        }
        p #result-count role="status" {
            (page.total) (if page.total == 1 { " device matches." } else { " devices match." })
            @if !page.rows.is_empty() { " Showing " (page.rows.len()) " on this page." }
        }
        @if !page.rows.is_empty() {
            div.table-wrap {
                table.responsive {
                    thead { tr {
                        th scope="col" { "Device" } th scope="col" { "User" } th scope="col" { "Platform" }
                        th scope="col" { "Last session" } th scope="col" { "Push channel" }
                    } }
                    tbody {
                        @for row in &page.rows {
                            @let d = &row.device;
                            @let (tone, channel) = words::channel_for_admin(row.channel_state);
                            tr {
                                td data-label="Device" {
                                    a href=(device_href(&d.id)) { (words::device_name(d)) }
                                    br; span.mono.muted { (d.id) }
                                    @if d.retired_at.is_some() { " " (badge("none", "retired")) }
                                }
                                td data-label="User" { (d.upn) }
                                td data-label="Platform" { (words::platform(d.platform)) }
                                td data-label="Last session" {
                                    @match (d.last_session_at, d.last_context) {
                                        (Some(at), Some(c)) => { (c) " · " (words::when(at, now)) }
                                        (Some(at), None) => { (words::when(at, now)) }
                                        _ => { span.muted { "never" } }
                                    }
                                }
                                td data-label="Push channel" { (badge(tone, channel)) }
                            }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if let (true, Some(first)) = (page.has_before, page.rows.first()) {
                a rel="prev" href=(link("before", &first.device.id)) { "← Previous" }
            }
            @if let (true, Some(last)) = (page.has_after, page.rows.last()) {
                a rel="next" href=(link("after", &last.device.id)) { "Next →" }
            }
        }
    };
    Ok(console_page(&session, "Devices", "/console/devices", body))
}

/// The device page's address.
pub fn device_href(id: &str) -> String {
    format!(
        "/console/devices/{}",
        utf8_percent_encode(id, NON_ALPHANUMERIC)
    )
}

/// `GET /console/devices.csv`: the "Download CSV" button (every device, retired ones too).
pub async fn csv(
    State(state): State<AppState>,
    _session: ConsoleSession,
) -> Result<Response, WebError> {
    let body = crate::services::reports::devices_csv(&state).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"devices.csv\"",
            ),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}
