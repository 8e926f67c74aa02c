//! Who a request comes from: the peer address, or the address a trusted proxy forwarded.
//!
//! Per-address limits (connection caps, login rate limits, viewer caps) must key on the real
//! client. Behind the gateway every request arrives from the gateway's address, so the client is
//! the last `X-Forwarded-For` entry that a trusted proxy appended. A client can write anything
//! into the header itself, so only entries appended by configured proxies count: the chain is
//! read from the right, skipping trusted proxies, and the first untrusted address is the client.
//! A peer that is not a trusted proxy is the client, whatever its headers say.

use std::{fmt, net::IpAddr, str::FromStr};

use http::HeaderMap;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

/// The `X-Forwarded-For` header proxies append client addresses to.
pub const X_FORWARDED_FOR: http::HeaderName = http::HeaderName::from_static("x-forwarded-for");

/// Networks whose connections are proxies that append the client to `X-Forwarded-For`.
///
/// Configured as a comma-separated list of addresses or CIDR networks
/// (`127.0.0.1/32, 10.0.0.0/8, ::1`); empty trusts nobody.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an IP address or CIDR network: {0:?}")]
pub struct InvalidNetwork(pub String);

impl TrustedProxies {
    pub fn none() -> Self {
        Self(Vec::new())
    }

    /// Loopback only: a proxy on the same machine (the local platform's gateway).
    pub fn loopback() -> Self {
        Self(vec![
            IpNet::from(IpAddr::from([127, 0, 0, 1])),
            IpNet::from(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
        ])
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted proxy, else the rightmost
    /// untrusted address of `X-Forwarded-For` (or `peer` when the header names none).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let mut client = peer;
        // Every header line, each a comma-separated chain; later lines were appended later.
        let entries: Vec<&str> = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for entry in entries.iter().rev() {
            let Ok(address) = entry.trim().parse::<IpAddr>() else {
                // A malformed entry was written by someone untrusted: stop at what we know.
                break;
            };
            client = canonical(address);
            if !self.contains(client) {
                break;
            }
        }
        client
    }
}

impl FromStr for TrustedProxies {
    type Err = InvalidNetwork;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| InvalidNetwork(s.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(ToString::to_string))
            .finish()
    }
}

/// An allowlist of IP networks (`10.0.0.0/8, 127.0.0.1, ::1`), for addresses the platform
/// itself connects to (ingest origins) rather than clients it hears from.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Networks(TrustedProxies);

impl Networks {
    /// Loopback networks: `127.0.0.0/8` and `::1`.
    pub fn loopback() -> Self {
        Self(TrustedProxies(vec![
            IpNet::from(ipnet::Ipv4Net::new_assert(std::net::Ipv4Addr::LOCALHOST, 8)),
            IpNet::from(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
        ]))
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.contains(address)
    }
}

impl FromStr for Networks {
    type Err = InvalidNetwork;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.parse().map(Self)
    }
}

impl<'de> Deserialize<'de> for Networks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        TrustedProxies::deserialize(deserializer).map(Self)
    }
}

impl fmt::Debug for Networks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The unit a per-client cap counts: an IPv4 address, or the /64 network of an IPv6 one (one
/// subscriber usually holds a whole /64, so capping single IPv6 addresses would cap nothing).
pub fn subscriber(address: IpAddr) -> IpAddr {
    match canonical(address) {
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !(u128::from(u64::MAX));
            IpAddr::V6(std::net::Ipv6Addr::from(network))
        }
        v4 => v4,
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, what a dual-stack socket reports) as IPv4, so
/// one client has one key.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(&X_FORWARDED_FOR, line.parse().expect("header"));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let proxies: TrustedProxies = "127.0.0.1".parse().expect("valid");
        let client = proxies.client(ip("127.0.0.7"), &headers(&["203.0.113.9"]));
        assert_eq!(client, ip("127.0.0.7"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_entry_is_the_client() {
        let proxies: TrustedProxies = "127.0.0.1/32, 10.0.0.0/8".parse().expect("valid");
        // The client forged the first entry; the CDN at 10.1.1.1 appended the real one.
        let forwarded = headers(&["198.51.100.1, 203.0.113.9", "10.1.1.1"]);
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &forwarded),
            ip("203.0.113.9")
        );
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn one_subscriber_is_an_ipv4_address_or_an_ipv6_slash_64() {
        assert_eq!(subscriber(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(subscriber(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(subscriber(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            subscriber(ip("2001:db8:1:2::ffff")),
            subscriber(ip("2001:db8:1:2:1234::"))
        );
    }

    #[test]
    fn a_malformed_entry_stops_the_walk() {
        let proxies = TrustedProxies::loopback();
        let forwarded = headers(&["203.0.113.9, not-an-ip"]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &forwarded), ip("127.0.0.1"));
    }

    #[test]
    fn mapped_addresses_are_one_client() {
        let proxies = TrustedProxies::none();
        assert_eq!(
            proxies.client(ip("::ffff:192.0.2.1"), &HeaderMap::new()),
            ip("192.0.2.1")
        );
        assert!(TrustedProxies::loopback().contains(ip("::ffff:127.0.0.1")));
    }

    #[test]
    fn loopback_networks_hold_all_of_127_slash_8() {
        let loopback = Networks::loopback();
        assert!(loopback.contains(ip("127.0.0.2")) && loopback.contains(ip("::1")));
        assert!(!loopback.contains(ip("10.0.0.1")) && !loopback.contains(ip("169.254.169.254")));
    }

    #[test]
    fn bad_networks_are_named() {
        let error = "10.0.0.0/8, nope"
            .parse::<TrustedProxies>()
            .expect_err("bad");
        assert_eq!(error, InvalidNetwork("nope".into()));
        assert_eq!("".parse::<TrustedProxies>(), Ok(TrustedProxies::none()));
    }
}
