//! Where viewers of a room are sent: an ingest's HLS origin, pinned to an allowlisted address.
//!
//! The gateway connects to whatever origin a room records, so an origin is never a URL taken
//! from a request as is. Only our own ingest (it presents the service token) may state one, and
//! it is recorded as an IP address inside the ingest networks (`FERROCAST_INGEST_NETWORKS`): a
//! host name is resolved once, here, and every address it resolves to must be allowed. nginx-rtmp
//! publishes always get the configured origin of its HLS server, checked the same way.

use std::{fmt, net::IpAddr};

use ferrocast_kit::client::{canonical, Networks};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("origin must be an http(s) base URL: scheme://host[:port][/path], got {0:?}")]
    Malformed(String),
    #[error("origin host {host} resolves to {address}, outside FERROCAST_INGEST_NETWORKS")]
    NotAllowed { host: String, address: IpAddr },
    #[error("origin host {0} does not resolve")]
    Unresolved(String),
}

/// A parsed origin base before its host is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginUrl {
    https: bool,
    host: String,
    port: u16,
    /// `""` or `/a/b`, without a trailing slash.
    prefix: String,
}

const MAX_ORIGIN_LEN: usize = 512;

impl OriginUrl {
    pub fn parse(raw: &str) -> Result<Self, OriginError> {
        let malformed = || OriginError::Malformed(raw.chars().take(80).collect());
        if raw.len() > MAX_ORIGIN_LEN {
            return Err(malformed());
        }
        let (https, rest) = match (raw.strip_prefix("http://"), raw.strip_prefix("https://")) {
            (Some(rest), _) => (false, rest),
            (_, Some(rest)) => (true, rest),
            _ => return Err(malformed()),
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = split_host_port(authority).ok_or_else(malformed)?;
        let port = match port {
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(malformed)?,
            None if https => 443,
            None => 80,
        };
        let host_ok = host.parse::<IpAddr>().is_ok()
            || (!host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'));
        let path = path.trim_end_matches('/');
        let path_ok = path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b))
            && !path.split('/').any(|s| s == "." || s == "..");
        if !host_ok || !path_ok {
            return Err(malformed());
        }
        Ok(Self {
            https,
            host: host.to_ascii_lowercase(),
            port,
            prefix: if path.is_empty() {
                String::new()
            } else {
                format!("/{path}")
            },
        })
    }

    /// The host as written: an address literal or a name to resolve.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address literal the host is, if it is one.
    pub fn literal(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// Pins the origin to the addresses its host resolved to: all of them must be allowed (a
    /// name that resolves both inside and outside would let the gateway be sent outside), and
    /// the first is recorded.
    pub fn pin(&self, resolved: &[IpAddr], allowed: &Networks) -> Result<Origin, OriginError> {
        let first = *resolved
            .first()
            .ok_or_else(|| OriginError::Unresolved(self.host.clone()))?;
        if let Some(outside) = resolved.iter().find(|a| !allowed.contains(**a)) {
            return Err(OriginError::NotAllowed {
                host: self.host.clone(),
                address: *outside,
            });
        }
        let address = match canonical(first) {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        let scheme = if self.https { "https" } else { "http" };
        Ok(Origin(format!(
            "{scheme}://{address}:{}{}",
            self.port, self.prefix
        )))
    }
}

/// `host[:port]` or `[v6][:port]`.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match authority.split_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((authority, None)),
    }
}

/// An origin base pinned to an allowed address, e.g. `http://10.0.0.5:8083`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn nets(s: &str) -> Networks {
        s.parse().expect("networks")
    }

    #[test]
    fn an_allowed_literal_is_pinned_as_written() {
        let url = OriginUrl::parse("http://127.0.0.1:8083/").expect("valid");
        assert_eq!(url.literal(), Some(ip("127.0.0.1")));
        let origin = url.pin(&[ip("127.0.0.1")], &Networks::loopback());
        assert_eq!(
            origin.map(|o| o.to_string()),
            Ok("http://127.0.0.1:8083".into())
        );
    }

    #[test]
    fn a_name_is_pinned_to_its_address_with_prefix_and_default_port() {
        let url = OriginUrl::parse("https://ingest-0.ingest.svc/edge").expect("valid");
        assert_eq!((url.host(), url.port()), ("ingest-0.ingest.svc", 443));
        let origin = url.pin(&[ip("10.1.2.3")], &nets("10.0.0.0/8"));
        assert_eq!(
            origin.map(|o| o.to_string()),
            Ok("https://10.1.2.3:443/edge".into())
        );
        let v6 = OriginUrl::parse("http://[::1]:9000").expect("valid");
        assert_eq!(
            v6.pin(&[ip("::1")], &Networks::loopback())
                .map(|o| o.to_string()),
            Ok("http://[::1]:9000".into())
        );
    }

    #[test]
    fn an_address_outside_the_networks_is_refused_even_beside_an_allowed_one() {
        let url = OriginUrl::parse("http://evil.example:80").expect("valid");
        assert!(matches!(
            url.pin(
                &[ip("127.0.0.1"), ip("169.254.169.254")],
                &Networks::loopback()
            ),
            Err(OriginError::NotAllowed { .. })
        ));
        assert!(matches!(
            url.pin(&[], &Networks::loopback()),
            Err(OriginError::Unresolved(_))
        ));
    }

    #[test]
    fn malformed_origins_are_refused() {
        for raw in [
            "javascript:alert(1)",
            "ftp://host",
            "http://",
            "http://user:pw@host",
            "http://host/?x=1",
            "http://host/#f",
            "http://host/../x",
            "http://host:0",
            "http://host:99999",
            "http://ho st",
            "http://[::1",
        ] {
            assert!(OriginUrl::parse(raw).is_err(), "{raw}");
        }
    }
}
