//! The device list as CSV (`GET /api/v1/devices.csv`, the console's "Download CSV"): one row per
//! device, retired ones included, read in keyset pages so a large fleet costs the same per page.

use casement_store::{DeviceQuery, StoreError};

use crate::state::AppState;

/// The header row.
pub const CSV_COLUMNS: [&str; 9] = [
    "id",
    "name",
    "platform",
    "user",
    "enrolled_at",
    "last_session_at",
    "last_context",
    "channel_state",
    "retired_at",
];

/// Every device as CSV (RFC 4180: CRLF line ends, fields quoted when they hold a comma, a quote
/// or a line break, quotes doubled). Times are RFC 3339 UTC. A field a spreadsheet would take
/// for a formula (`=`, `+`, `-`, `@` first) gets a leading `'`: device names come from devices.
pub async fn devices_csv(state: &AppState) -> Result<String, StoreError> {
    let mut out = String::new();
    line(&mut out, CSV_COLUMNS.iter().map(|c| (*c).to_owned()));
    let mut after: Option<String> = None;
    loop {
        let page = state
            .store
            .query_devices(&DeviceQuery {
                include_retired: true,
                after_id: after.clone(),
                limit: Some(500),
                ..DeviceQuery::default()
            })
            .await?;
        for row in &page.rows {
            let d = &row.device;
            line(
                &mut out,
                [
                    d.id.clone(),
                    d.name.clone().unwrap_or_default(),
                    d.platform.as_str().to_owned(),
                    d.upn.clone(),
                    time(Some(d.enrolled_at)),
                    time(d.last_session_at),
                    d.last_context
                        .map(|c| c.as_str().to_owned())
                        .unwrap_or_default(),
                    row.channel_state
                        .unwrap_or(casement_store::ChannelState::Unconfigured)
                        .as_str()
                        .to_owned(),
                    time(d.retired_at),
                ]
                .into_iter(),
            );
        }
        match page.rows.last() {
            Some(last) if page.has_after => after = Some(last.device.id.clone()),
            _ => return Ok(out),
        }
    }
}

fn line(out: &mut String, fields: impl Iterator<Item = String>) {
    let mut first = true;
    for field in fields {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&field_csv(&field));
    }
    out.push_str("\r\n");
}

/// One field, quoted when it must be.
pub fn field_csv(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\r', '\n']) || value.starts_with(' ') || value.ends_with(' ') {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn time(ms: Option<i64>) -> String {
    ms.and_then(|ms| {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
    })
    .and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_exactly_when_they_must_be() {
        assert_eq!(field_csv("PC-1"), "PC-1");
        assert_eq!(field_csv("a,b"), "\"a,b\"");
        assert_eq!(field_csv("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field_csv("two\nlines"), "\"two\nlines\"");
        assert_eq!(field_csv("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(field_csv(""), "");
        assert_eq!(time(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(time(None), "");
    }
}
