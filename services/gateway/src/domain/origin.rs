//! The HLS origin base URL of an ingest node, as rooms records it (e.g. `http://10.0.0.5:8083`).
//!
//! It comes from another service, not the browser, but it still decides where the gateway sends
//! requests: only plain `http(s)://host[:port][/prefix]` bases are accepted, without user info,
//! query or fragment, so a malformed record cannot smuggle credentials or rewrite the path.

use std::{fmt, net::IpAddr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an http(s) origin base URL: {0:?}")]
pub struct InvalidOrigin(pub String);

impl Origin {
    pub fn parse(raw: &str) -> Result<Self, InvalidOrigin> {
        let invalid = || InvalidOrigin(raw.to_owned());
        let rest = raw
            .strip_prefix("http://")
            .or_else(|| raw.strip_prefix("https://"))
            .ok_or_else(invalid)?;
        let (authority, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let authority_ok = !authority.is_empty()
            && authority
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
        let prefix_ok = prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b))
            && !prefix.split('/').any(|s| s == "." || s == "..");
        if authority_ok && prefix_ok {
            Ok(Self(raw.trim_end_matches('/').to_owned()))
        } else {
            Err(invalid())
        }
    }

    /// The IP address the origin names, when its host is an address literal (`10.0.0.5`,
    /// `[::1]`); `None` for a host name.
    pub fn address(&self) -> Option<IpAddr> {
        let rest = self
            .0
            .strip_prefix("http://")
            .or_else(|| self.0.strip_prefix("https://"))?;
        let authority = rest.split('/').next()?;
        if let Some(v6) = authority.strip_prefix('[') {
            return v6.split(']').next()?.parse().ok();
        }
        authority.split(':').next()?.parse().ok()
    }

    /// The origin base joined with an absolute path (`/hls/...`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
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

    #[test]
    fn plain_bases_are_accepted_and_normalised() {
        let origin = Origin::parse("http://10.0.0.5:8083/").map(|o| o.join("/hls/a/master.m3u8"));
        assert_eq!(origin, Ok("http://10.0.0.5:8083/hls/a/master.m3u8".into()));
        assert!(Origin::parse("https://ingest-0.ingest.ferrocast.svc:8083").is_ok());
        assert!(Origin::parse("http://[::1]:8083/edge").is_ok());
    }

    #[test]
    fn the_address_is_read_from_literal_hosts_only() {
        let address = |raw: &str| Origin::parse(raw).ok().and_then(|o| o.address());
        assert_eq!(
            address("http://10.0.0.5:8083"),
            Some(IpAddr::from([10, 0, 0, 5]))
        );
        assert_eq!(
            address("http://127.0.0.2/edge"),
            Some(IpAddr::from([127, 0, 0, 2]))
        );
        assert_eq!(
            address("http://[::1]:8083/edge"),
            Some(IpAddr::from(std::net::Ipv6Addr::LOCALHOST))
        );
        assert_eq!(address("https://ingest-0.ingest.svc:8083"), None);
    }

    #[test]
    fn credentials_queries_and_other_schemes_are_refused() {
        for raw in [
            "ftp://host",
            "http://",
            "http://user:pw@host",
            "http://host/?x=1",
            "http://host/#frag",
            "http://host/../x",
            "host:8083",
        ] {
            assert!(Origin::parse(raw).is_err(), "{raw}");
        }
    }
}
