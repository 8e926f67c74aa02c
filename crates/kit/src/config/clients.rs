//! The section every internal service (users, rooms, the ingest's HTTP origin) reads about the
//! clients of its HTTP listener: which peers are proxies that speak for others, and how many
//! connections one client address may hold. One definition, so the services cannot drift apart
//! on names, defaults or the rule that the cap is positive.

use serde::Deserialize;

use super::{ensure, ConfigError};
use crate::{client::TrustedProxies, http::ServerLimits};

#[derive(Debug, Clone, Deserialize)]
pub struct Clients {
    /// `FERROCAST_TRUSTED_PROXIES`: proxies (addresses or CIDR networks) whose
    /// `X-Forwarded-For` names the client, default the local gateway (`127.0.0.1,::1`). Their
    /// connections also skip the per-address connection cap: a proxy speaks for many clients.
    #[serde(default = "TrustedProxies::loopback")]
    pub trusted_proxies: TrustedProxies,
    /// `FERROCAST_HTTP_MAX_CONNECTIONS_PER_ADDRESS`: open HTTP connections one client address
    /// may hold (trusted proxies excepted).
    #[serde(
        rename = "http_max_connections_per_address",
        default = "crate::http::default_max_connections_per_address"
    )]
    pub max_connections_per_address: usize,
}

impl Default for Clients {
    fn default() -> Self {
        Self {
            trusted_proxies: TrustedProxies::loopback(),
            max_connections_per_address: crate::http::default_max_connections_per_address(),
        }
    }
}

impl Clients {
    pub fn validate(&self) -> Result<(), ConfigError> {
        ensure(
            self.max_connections_per_address > 0,
            "FERROCAST_HTTP_MAX_CONNECTIONS_PER_ADDRESS must be positive",
        )
    }

    /// The listener limits these settings ask for, the rest at their defaults.
    pub fn server_limits(&self) -> ServerLimits {
        ServerLimits {
            max_connections_per_address: self.max_connections_per_address,
            trusted_proxies: self.trusted_proxies.clone(),
            ..ServerLimits::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_trust_the_local_gateway_and_a_zero_cap_is_refused() {
        let clients: Clients = crate::config::from_pairs(&[]).expect("defaults");
        assert!(clients.trusted_proxies.contains([127, 0, 0, 1].into()));
        assert!(clients.validate().is_ok());
        let zero: Clients =
            crate::config::from_pairs(&[("FERROCAST_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "0")])
                .expect("parses");
        assert!(zero.validate().is_err());
        assert_eq!(
            zero.server_limits().max_connections_per_address,
            0,
            "the limits carry the setting as given"
        );
    }
}
