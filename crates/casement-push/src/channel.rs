//! Channel URI check: which URIs the server may POST a notification to.
//!
//! A channel URI comes from the device (read back from `MDM_WNSChannel` / `Push/ChannelURI`), so it
//! is untrusted input: a hostile or broken device could report `https://intranet.example/admin` and
//! have the server call it (SSRF). The WNS overview says the service "should never push
//! notifications to a channel on any other domain" than `notify.windows.com`
//! (windows-dev-docs `windows-push-notification-services--wns--overview.md`, "Requesting a
//! notification channel", Important notes), and docs/product.md §7: "A channel URI outside the
//! configured WNS hosts (default `*.notify.windows.com`, HTTPS only) is never contacted".
//!
//! [`check_channel_uri`] is the only way to get a [`ChannelUri`]; the client calls it before every
//! request, and nothing else builds a request URL from a channel URI.

use std::fmt;

use std::net::Ipv4Addr;

use reqwest::Url;

use crate::config::{ConfigError, WnsConfig};

/// Longest channel URI accepted, in bytes. Our own bound (real WNS channel URIs are a few hundred
/// bytes); it keeps a garbage value reported by a device out of request lines and logs.
pub const MAX_CHANNEL_URI_LEN: usize = 4096;

/// A channel URI that passed [`check_channel_uri`] for some [`WnsConfig`].
///
/// `Debug` shows only scheme, host and port: the query carries the channel's token.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelUri(Url);

impl ChannelUri {
    /// The full URI, as it will be requested.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The (lower-cased) host; never contains the channel token, so it is safe to log.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    pub(crate) fn into_url(self) -> Url {
        self.0
    }
}

impl fmt::Debug for ChannelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.port() {
            Some(p) => write!(f, "ChannelUri({}://{}:{p}/…)", self.0.scheme(), self.host()),
            None => write!(f, "ChannelUri({}://{}/…)", self.0.scheme(), self.host()),
        }
    }
}

/// Why a channel URI is refused. The device (or whoever stored the URI) is at fault; the URI is
/// never contacted. Messages never include the URI's query (its token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelRefused {
    /// Longer than [`MAX_CHANNEL_URI_LEN`].
    #[error("channel URI is longer than {MAX_CHANNEL_URI_LEN} bytes")]
    TooLong,
    /// Not an absolute URL.
    #[error("channel URI is not a valid absolute URL")]
    Malformed,
    /// A scheme other than `https` (or `http` for an explicitly allowed test host).
    #[error("channel URI scheme {0:?} is not https")]
    UnsupportedScheme(String),
    /// `http://` to a host that may only be reached over HTTPS.
    #[error("channel URI uses plain http; WNS requires https")]
    InsecureScheme,
    /// `user:password@` in the authority.
    #[error("channel URI carries user information")]
    UserInfo,
    /// No host at all.
    #[error("channel URI has no host")]
    NoHost,
    /// An IP address instead of a WNS host name, and not explicitly allowed.
    #[error("channel URI host {0} is an IP literal")]
    IpLiteral(String),
    /// A host that is not under one of the allowed WNS suffixes nor explicitly allowed.
    #[error("channel URI host {0:?} is not a WNS host")]
    HostNotAllowed(String),
    /// A WNS host with an explicit non-default port (WNS channel URIs never carry one).
    #[error("channel URI names port {0}; WNS hosts are only contacted on the default https port")]
    NonDefaultPort(u16),
}

/// Checks an untrusted channel URI against `config` and returns it parsed.
///
/// Accepted:
/// - `https://` to a host equal to one of `allowed_host_suffixes` or ending with `"." + suffix`
///   (so `evilnotify.windows.com` and `notify.windows.com.evil.com` are refused), on the default
///   port, without user information, host names only (no IP literals);
/// - hosts listed in `allow_insecure_hosts` (tests and the simulator): `https://`, or `http://` if
///   `allow_http_for_those` is set; IP literals are allowed only this way.
///
/// Host comparison happens after URL parsing (lower-casing, IDNA, percent-decoding and IPv4
/// normalisation of the host), so `%2e`, upper case or `0x7f.1` tricks are seen through.
pub fn check_channel_uri(uri: &str, config: &WnsConfig) -> Result<ChannelUri, ChannelRefused> {
    if uri.len() > MAX_CHANNEL_URI_LEN {
        return Err(ChannelRefused::TooLong);
    }
    let url = Url::parse(uri).map_err(|_| ChannelRefused::Malformed)?;
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(ChannelRefused::UnsupportedScheme(scheme.to_owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ChannelRefused::UserInfo);
    }
    let host = match url.host_str() {
        Some(h) if !h.is_empty() => h.to_owned(),
        _ => return Err(ChannelRefused::NoHost),
    };

    if is_explicitly_allowed(&url, config) {
        if scheme == "http" && !config.allow_http_for_those {
            return Err(ChannelRefused::InsecureScheme);
        }
        return Ok(ChannelUri(url));
    }

    if is_ip_literal(&host) {
        return Err(ChannelRefused::IpLiteral(host));
    }
    if !host_matches_suffixes(&host, &config.allowed_host_suffixes) {
        return Err(ChannelRefused::HostNotAllowed(host));
    }
    if scheme != "https" {
        return Err(ChannelRefused::InsecureScheme);
    }
    // `Url` drops a port equal to the scheme's default, so any port left here is non-default.
    if let Some(port) = url.port() {
        return Err(ChannelRefused::NonDefaultPort(port));
    }
    Ok(ChannelUri(url))
}

/// Checks the token URL: https, or http for an explicitly allowed host with the http flag.
pub(crate) fn check_token_url(token_url: &str, config: &WnsConfig) -> Result<Url, ConfigError> {
    let url = Url::parse(token_url).map_err(|_| ConfigError::InvalidTokenUrl)?;
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::InvalidTokenUrl);
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if config.allow_http_for_those && is_explicitly_allowed(&url, config) => Ok(url),
        "http" => Err(ConfigError::InsecureTokenUrl),
        _ => Err(ConfigError::InvalidTokenUrl),
    }
}

/// Validates every `allow_insecure_hosts` entry.
pub(crate) fn check_allowed_hosts(config: &WnsConfig) -> Result<(), ConfigError> {
    for entry in &config.allow_insecure_hosts {
        if parse_host_port(entry).is_none() {
            return Err(ConfigError::InvalidAllowedHost(entry.clone()));
        }
    }
    Ok(())
}

/// `Url` spells IPv6 hosts in brackets and normalises every IPv4 form (`0x7f.1`, `2130706433`)
/// to dotted decimal, so these two checks cover all IP literals of http(s) URLs.
fn is_ip_literal(host: &str) -> bool {
    host.starts_with('[') || host.parse::<Ipv4Addr>().is_ok()
}

fn host_matches_suffixes(host: &str, suffixes: &[String]) -> bool {
    suffixes.iter().any(|s| {
        let s = s.trim().trim_start_matches("*.").trim_start_matches('.');
        if s.is_empty() {
            return false;
        }
        let s = s.to_ascii_lowercase();
        host == s
            || (host.len() > s.len() + 1
                && host.ends_with(s.as_str())
                && host.as_bytes()[host.len() - s.len() - 1] == b'.')
    })
}

fn is_explicitly_allowed(url: &Url, config: &WnsConfig) -> bool {
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return false;
    };
    config
        .allow_insecure_hosts
        .iter()
        .filter_map(|e| parse_host_port(e))
        .any(|(h, p)| h == host && p.is_none_or(|p| p == port))
}

/// Parses `host[:port]` (IPv6 in brackets) into the host as `Url::host_str` spells it
/// (lower-cased, normalised) and the optional port.
fn parse_host_port(entry: &str) -> Option<(String, Option<u16>)> {
    let entry = entry.trim();
    if entry.is_empty() || entry.contains(['/', '@', '?', '#', '\\', ' ']) {
        return None;
    }
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{inner}]"), port)
    } else {
        match entry.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => return None,
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (entry.to_owned(), None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    let url = Url::parse(&format!("http://{host}/")).ok()?;
    Some((url.host_str()?.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN_QUERY: &str = "?token=AwYAAAD%2bXYZ";

    fn wns() -> WnsConfig {
        WnsConfig::new("ms-app://S-1-15-2-1", "secret")
    }

    fn test_cfg(hosts: &[&str], http: bool) -> WnsConfig {
        WnsConfig {
            allow_insecure_hosts: hosts.iter().map(|s| s.to_string()).collect(),
            allow_http_for_those: http,
            ..wns()
        }
    }

    fn refused(uri: &str, cfg: &WnsConfig) -> ChannelRefused {
        match check_channel_uri(uri, cfg) {
            Ok(ok) => panic!("{uri} was accepted: {ok:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn real_wns_channel_shapes_are_accepted() {
        for uri in [
            "https://cloud.notify.windows.com/?token=AQE%bU%2fSjZOCvRjjpILow%3d%3d",
            "https://db5.notify.windows.com/?token=AwYAAAD",
            "https://wns2-by3p.notify.windows.com/w/?token=BQYAAAB",
            "https://notify.windows.com/?token=x",
            "https://CLOUD.Notify.Windows.COM/?token=x",
            "https://cloud.notify.windows.com:443/?token=x",
            "https://a.b.c.notify.windows.com/?token=x#frag",
        ] {
            let ok = check_channel_uri(uri, &wns()).unwrap_or_else(|e| panic!("{uri}: {e}"));
            assert!(ok.host().ends_with("notify.windows.com"), "{uri}");
        }
    }

    #[test]
    fn accepted_uri_is_kept_as_given_apart_from_normalisation() {
        let uri = "https://cloud.notify.windows.com/?token=AQE%bU%2fSjZOCvRjjpILow%3d%3d";
        let ok = check_channel_uri(uri, &wns()).unwrap();
        assert_eq!(ok.as_str(), uri);
        assert_eq!(ok.host(), "cloud.notify.windows.com");
        let dbg = format!("{ok:?}");
        assert!(!dbg.contains("token"), "{dbg}");
    }

    #[test]
    fn suffix_tricks_are_refused() {
        for uri in [
            "https://evilnotify.windows.com/?token=x",
            "https://notify.windows.com.evil.com/?token=x",
            "https://notify.windows.com.evil.com./?token=x",
            "https://cloud.notify.windows.com./?token=x",
            "https://notify.windows.co/?token=x",
            "https://windows.com/?token=x",
            "https://xnotify.windows.com/?token=x",
            "https://cloud.notify.windows.com%2eevil.com/?token=x",
            "https://evil.com/cloud.notify.windows.com/?token=x",
            "https://evil.com/?host=cloud.notify.windows.com",
            "https://evil.com\\@cloud.notify.windows.com/",
            "https://evil.com#@cloud.notify.windows.com/",
            "https://evil.com?@cloud.notify.windows.com/",
        ] {
            let e = refused(uri, &wns());
            assert!(
                matches!(e, ChannelRefused::HostNotAllowed(_)),
                "{uri}: {e:?}"
            );
        }
    }

    #[test]
    fn userinfo_is_refused_even_for_wns_hosts() {
        for uri in [
            "https://user@cloud.notify.windows.com/?token=x",
            "https://user:pw@cloud.notify.windows.com/?token=x",
            "https://:pw@cloud.notify.windows.com/?token=x",
            "https://cloud.notify.windows.com@evil.com/",
        ] {
            assert_eq!(refused(uri, &wns()), ChannelRefused::UserInfo, "{uri}");
        }
    }

    #[test]
    fn plain_http_is_refused_for_wns_hosts_even_with_the_test_flag() {
        assert_eq!(
            refused("http://cloud.notify.windows.com/?token=x", &wns()),
            ChannelRefused::InsecureScheme
        );
        let cfg = test_cfg(&["127.0.0.1"], true);
        assert_eq!(
            refused("http://cloud.notify.windows.com/?token=x", &cfg),
            ChannelRefused::InsecureScheme
        );
    }

    #[test]
    fn other_schemes_are_refused() {
        for (uri, scheme) in [
            ("ftp://cloud.notify.windows.com/x", "ftp"),
            ("ws://cloud.notify.windows.com/x", "ws"),
            ("file:///etc/passwd", "file"),
            ("data:text/plain,hi", "data"),
            ("javascript:alert(1)", "javascript"),
        ] {
            assert_eq!(
                refused(uri, &wns()),
                ChannelRefused::UnsupportedScheme(scheme.into()),
                "{uri}"
            );
        }
    }

    #[test]
    fn malformed_and_oversized_uris_are_refused() {
        for uri in [
            "",
            "cloud.notify.windows.com/?token=x",
            "/?token=x",
            "https://",
            "https:// /",
        ] {
            let e = refused(uri, &wns());
            assert!(
                matches!(e, ChannelRefused::Malformed | ChannelRefused::NoHost),
                "{uri:?}: {e:?}"
            );
        }
        let long = format!(
            "https://cloud.notify.windows.com/?token={}",
            "a".repeat(MAX_CHANNEL_URI_LEN)
        );
        assert_eq!(refused(&long, &wns()), ChannelRefused::TooLong);
    }

    #[test]
    fn ip_literals_are_refused_unless_explicitly_allowed() {
        for uri in [
            "https://127.0.0.1/?token=x",
            "https://10.0.0.5:8443/",
            "https://169.254.169.254/latest/meta-data",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://[::1]/",
            "https://[fe80::1]:443/",
        ] {
            let e = refused(uri, &wns());
            assert!(matches!(e, ChannelRefused::IpLiteral(_)), "{uri}: {e:?}");
        }
    }

    #[test]
    fn non_default_port_on_a_wns_host_is_refused() {
        assert_eq!(
            refused("https://cloud.notify.windows.com:8443/?token=x", &wns()),
            ChannelRefused::NonDefaultPort(8443)
        );
    }

    #[test]
    fn explicit_allow_list_with_port_matches_only_that_port() {
        let cfg = test_cfg(&["127.0.0.1:8444"], false);
        check_channel_uri(&format!("https://127.0.0.1:8444/{TOKEN_QUERY}"), &cfg).unwrap();
        assert!(matches!(
            refused("https://127.0.0.1:8445/", &cfg),
            ChannelRefused::IpLiteral(_)
        ));
        assert!(matches!(
            refused("https://127.0.0.1/", &cfg),
            ChannelRefused::IpLiteral(_)
        ));
        assert!(matches!(
            refused("https://127.0.0.2:8444/", &cfg),
            ChannelRefused::IpLiteral(_)
        ));
    }

    #[test]
    fn explicit_allow_list_needs_the_http_flag_for_plain_http() {
        let strict = test_cfg(&["127.0.0.1:8444"], false);
        assert_eq!(
            refused("http://127.0.0.1:8444/", &strict),
            ChannelRefused::InsecureScheme
        );
        let lax = test_cfg(&["127.0.0.1:8444"], true);
        check_channel_uri("http://127.0.0.1:8444/?token=x", &lax).unwrap();
        check_channel_uri("https://127.0.0.1:8444/?token=x", &lax).unwrap();
    }

    #[test]
    fn explicit_allow_list_without_port_matches_any_port() {
        let cfg = test_cfg(&["Sim.Local", "[::1]"], true);
        check_channel_uri("https://sim.local:9000/x", &cfg).unwrap();
        check_channel_uri("http://sim.local/x", &cfg).unwrap();
        check_channel_uri("http://[::1]:9000/x", &cfg).unwrap();
        assert!(matches!(
            refused("http://other.local/x", &cfg),
            ChannelRefused::HostNotAllowed(_)
        ));
    }

    #[test]
    fn explicit_allow_list_does_not_lift_the_userinfo_rule() {
        let cfg = test_cfg(&["127.0.0.1"], true);
        assert_eq!(
            refused("http://a:b@127.0.0.1/", &cfg),
            ChannelRefused::UserInfo
        );
    }

    #[test]
    fn explicit_allow_list_matches_normalised_ipv4_forms() {
        // `0x7f.0.0.1` and `127.0.0.1` are the same address once parsed.
        let cfg = test_cfg(&["127.0.0.1:8444"], true);
        check_channel_uri("http://0x7f.0.0.1:8444/", &cfg).unwrap();
    }

    #[test]
    fn configured_suffixes_are_normalised_and_empty_ones_ignored() {
        let cfg = WnsConfig {
            allowed_host_suffixes: vec!["*.Example.Test".into(), "".into(), ".".into()],
            ..wns()
        };
        check_channel_uri("https://a.example.test/", &cfg).unwrap();
        check_channel_uri("https://example.test/", &cfg).unwrap();
        assert!(matches!(
            refused("https://cloud.notify.windows.com/", &cfg),
            ChannelRefused::HostNotAllowed(_)
        ));
        assert!(matches!(
            refused("https://badexample.test/", &cfg),
            ChannelRefused::HostNotAllowed(_)
        ));
    }

    #[test]
    fn no_suffixes_means_nothing_but_explicit_hosts() {
        let cfg = WnsConfig {
            allowed_host_suffixes: vec![],
            ..test_cfg(&["127.0.0.1:1"], true)
        };
        assert!(matches!(
            refused("https://cloud.notify.windows.com/", &cfg),
            ChannelRefused::HostNotAllowed(_)
        ));
        check_channel_uri("http://127.0.0.1:1/", &cfg).unwrap();
    }

    #[test]
    fn host_port_entries_parse() {
        assert_eq!(
            parse_host_port("127.0.0.1:8444"),
            Some(("127.0.0.1".into(), Some(8444)))
        );
        assert_eq!(
            parse_host_port("LOCALHOST"),
            Some(("localhost".into(), None))
        );
        assert_eq!(
            parse_host_port("[::1]:80"),
            Some(("[::1]".into(), Some(80)))
        );
        assert_eq!(parse_host_port("[::1]"), Some(("[::1]".into(), None)));
        for bad in [
            "", "::1", "[::1", "[::1]x", "h:99999", "h:", "h:x", "http://h", "a@h", "h/x",
        ] {
            assert_eq!(parse_host_port(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn token_url_must_be_https_unless_explicitly_allowed_with_the_flag() {
        check_token_url("https://login.live.com/accesstoken.srf", &wns()).unwrap();
        assert!(matches!(
            check_token_url("http://login.live.com/accesstoken.srf", &wns()),
            Err(ConfigError::InsecureTokenUrl)
        ));
        let cfg = test_cfg(&["127.0.0.1:9"], true);
        check_token_url("http://127.0.0.1:9/accesstoken.srf", &cfg).unwrap();
        assert!(matches!(
            check_token_url("http://127.0.0.1:10/accesstoken.srf", &cfg),
            Err(ConfigError::InsecureTokenUrl)
        ));
        assert!(matches!(
            check_token_url("not a url", &cfg),
            Err(ConfigError::InvalidTokenUrl)
        ));
    }
}
