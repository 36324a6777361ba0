//! The page shell every portal and console page shares, and the error a web handler returns
//! (its status code and a page a person can read; internal details are logged, not shown).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::assets;
use crate::fault::{Fault, Faulty};

/// Which site a page belongs to (its header and navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// The end users' portal.
    Portal,
    /// The administrators' console.
    Console,
}

/// The navigation of the signed-in console, with the current section.
pub const CONSOLE_NAV: &[(&str, &str)] = &[
    ("/console", "Dashboard"),
    ("/console/devices", "Devices"),
    ("/console/profiles", "Profiles"),
    ("/console/groups", "Groups"),
    ("/console/apps", "Apps"),
    ("/console/users", "Users"),
    ("/console/audit", "Audit log"),
    ("/console/team", "Team"),
];

/// Who is signed in, for the header: a name, the sign-out form's CSRF token.
#[derive(Debug, Clone)]
pub struct SignedIn<'a> {
    /// Shown name.
    pub name: &'a str,
    /// The session's anti-forgery token.
    pub csrf: &'a str,
}

/// A whole page. `current` is the navigation entry to mark (console).
pub fn page(
    site: Site,
    title: &str,
    signed_in: Option<SignedIn<'_>>,
    current: &str,
    body: Markup,
) -> Markup {
    let (brand, home, logout) = match site {
        Site::Portal => ("Casement — your devices", "/portal", "/portal/logout"),
        Site::Console => ("Casement console", "/console", "/console/logout"),
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(s) = &signed_in {
                    meta name="csrf-token" content=(s.csrf);
                }
                title { (title) " · " (brand) }
                link rel="stylesheet" href=(assets::CSS_PATH);
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href=(home) { (brand) }
                    @if let Some(s) = &signed_in {
                        @if site == Site::Console {
                            nav aria-label="Console" {
                                ul {
                                    @for (href, label) in CONSOLE_NAV {
                                        li {
                                            @if *href == current {
                                                a href=(href) aria-current="page" { (label) }
                                            } @else {
                                                a href=(href) { (label) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        form.signout method="post" action=(logout) {
                            input type="hidden" name="csrf" value=(s.csrf);
                            span.who { (s.name) }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// An HTML response with the headers every page gets: no caching of personal data, a strict
/// content security policy (scripts and styles only from this server, no inline code), no
/// framing, no MIME sniffing.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, Html(markup.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// A web handler's failure: the status and a sentence for the person.
#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    message: String,
}

impl WebError {
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    /// 404. Also what another user's id gets: nothing says it exists.
    pub fn not_found(what: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: format!("There is no {what} here."),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<crate::authz::Forbidden> for WebError {
    fn from(f: crate::authz::Forbidden) -> Self {
        Self::forbidden(format!(
            "You are signed in with the {} role, which does not have the permission {} this needs. Missing permission: {}",
            f.role.as_str(),
            f.missing_permission,
            f.missing_permission
        ))
    }
}

/// Any service error, answered as its fault says (`crate::fault`), in words for a person.
impl<E: Faulty> From<E> for WebError {
    fn from(e: E) -> Self {
        match e.fault() {
            Fault::NotFound => Self::not_found("such item"),
            Fault::Unavailable => {
                tracing::error!(error = %e, "web: storage failure");
                Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    message:
                        "The server cannot reach its database right now. Try again in a minute."
                            .into(),
                }
            }
            fault => Self {
                status: fault.status(),
                message: e.reason(),
            },
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        respond(
            self.status,
            html! {
                (DOCTYPE)
                html lang="en" {
                    head {
                        meta charset="utf-8";
                        meta name="viewport" content="width=device-width, initial-scale=1";
                        title { (title) }
                        link rel="stylesheet" href=(assets::CSS_PATH);
                    }
                    body {
                        main #main.narrow {
                            h1 { (title) }
                            p role="alert" { (self.message) }
                            p { "Use your browser's Back button to return." }
                        }
                    }
                }
            },
        )
    }
}

/// A notice after a successful action (a fixed set, chosen by a code in the query string so that
/// no text from a URL is ever shown).
pub fn notice(code: Option<&str>) -> Markup {
    let text = match code {
        Some("queued") => "The command was queued.",
        Some("cancelled") => "The command was cancelled.",
        Some("install") => "The install was requested.",
        Some("app") => "The app was added to the catalog.",
        Some("user") => "The user was added.",
        Some("admin") => "The administrator account was added.",
        Some("profile") => "The profile was created. Assign it to a group to apply it.",
        Some("profile-deleted") => "The profile was deleted: it is being removed from its devices.",
        Some("assigned") => {
            "The profile was assigned: the group's devices get it at their next sessions."
        }
        Some("unassigned") => {
            "The profile was unassigned: it is being removed from devices no other group covers."
        }
        Some("group") => "The group was created.",
        Some("group-deleted") => "The group was deleted.",
        Some("recording") => "Every session of this device keeps its messages for 24 hours.",
        Some("recording-stopped") => "Idle sessions of this device leave compact records again.",
        _ => return html! {},
    };
    html! { p.notice role="status" { (text) } }
}

/// An error shown above a form, announced to screen readers.
pub fn alert(message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message {
            p.error role="alert" { (m) }
        }
    }
}
