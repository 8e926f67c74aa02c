//! Who may open a connection: a total cap and a per-address cap, checked at accept before a
//! byte is read. Shared by the ingest's RTMP listener and every HTTP listener.
//!
//! Without a per-address cap one client can hold every slot of the total cap (4 096 silent
//! connections took a listener down), so each client address gets a share. Proxies named in
//! [`TrustedProxies`] are exempt from the per-address share (one proxy speaks for many
//! clients) but still count toward the total. A permit is held for the connection's life and
//! gives its slots back on drop, so a task that ends in any way (error, panic, shutdown) cannot
//! leak a slot.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
};

use crate::client::{canonical, TrustedProxies};

#[derive(Debug)]
pub struct Admission {
    max_total: usize,
    max_per_address: usize,
    exempt: TrustedProxies,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("connection limit reached")]
    Total,
    #[error("per-address connection limit reached")]
    PerAddress,
}

impl Refused {
    /// The `reason` label of the refused-connection counters.
    pub fn label(self) -> &'static str {
        match self {
            Self::Total => "global",
            Self::PerAddress => "per_address",
        }
    }
}

/// One admitted connection's slots.
#[derive(Debug)]
pub struct Permit {
    admission: Arc<Admission>,
    /// The address whose share this connection takes; `None` for an exempt proxy.
    address: Option<IpAddr>,
}

impl Admission {
    /// Caps without exemptions: every address gets `max_per_address`.
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<Self> {
        Self::with_exempt(max_total, max_per_address, TrustedProxies::none())
    }

    /// Caps where connections from `exempt` networks count toward `max_total` only.
    pub fn with_exempt(
        max_total: usize,
        max_per_address: usize,
        exempt: TrustedProxies,
    ) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_address,
            exempt,
            state: Mutex::new(State::default()),
        })
    }

    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Permit, Refused> {
        // `::ffff:a.b.c.d` from a dual-stack socket is the same client as `a.b.c.d`.
        let address = canonical(address);
        let keyed = !self.exempt.contains(address);
        // The critical sections never panic, but a poisoned lock must not take the server down.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.total >= self.max_total {
            return Err(Refused::Total);
        }
        if keyed {
            let count = state.per_address.entry(address).or_insert(0);
            if *count >= self.max_per_address {
                return Err(Refused::PerAddress);
            }
            *count += 1;
        }
        state.total += 1;
        Ok(Permit {
            admission: self.clone(),
            address: keyed.then_some(address),
        })
    }

    pub fn open_connections(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self
            .admission
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.total = state.total.saturating_sub(1);
        let Some(address) = self.address else {
            return;
        };
        if let Some(count) = state.per_address.get_mut(&address) {
            *count -= 1;
            if *count == 0 {
                // Keeps the map as small as the set of connected addresses.
                state.per_address.remove(&address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn per_address_cap_holds_and_frees_on_drop() {
        let admission = Admission::new(10, 2);
        let a = admission.admit(ip(1)).expect("first");
        let _b = admission.admit(ip(1)).expect("second");
        assert_eq!(admission.admit(ip(1)).err(), Some(Refused::PerAddress));
        assert!(admission.admit(ip(2)).is_ok());
        drop(a);
        assert!(admission.admit(ip(1)).is_ok());
    }

    #[test]
    fn total_cap_holds_across_addresses() {
        let admission = Admission::new(2, 5);
        let _a = admission.admit(ip(1)).expect("a");
        let _b = admission.admit(ip(2)).expect("b");
        assert_eq!(admission.admit(ip(3)).err(), Some(Refused::Total));
        assert_eq!(admission.open_connections(), 2);
    }

    #[test]
    fn map_forgets_addresses_without_connections() {
        let admission = Admission::new(10, 2);
        drop(admission.admit(ip(1)).expect("a"));
        let state = admission.state.lock().expect("lock");
        assert!(state.per_address.is_empty());
        assert_eq!(state.total, 0);
    }

    #[test]
    fn mapped_and_plain_addresses_share_one_share() {
        let admission = Admission::new(10, 1);
        let _a = admission.admit(ip(1)).expect("a");
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().expect("ip");
        assert_eq!(admission.admit(mapped).err(), Some(Refused::PerAddress));
    }

    #[test]
    fn trusted_proxies_skip_the_share_but_count_toward_the_total() {
        let proxies: TrustedProxies = "10.0.0.1".parse().expect("valid");
        let admission = Admission::with_exempt(3, 1, proxies);
        let proxied: Vec<_> = (0..3)
            .map(|_| admission.admit(ip(1)).expect("proxy"))
            .collect();
        assert_eq!(admission.admit(ip(2)).err(), Some(Refused::Total));
        drop(proxied);
        assert_eq!(admission.open_connections(), 0);
        let _client = admission.admit(ip(2)).expect("client");
        assert_eq!(admission.admit(ip(2)).err(), Some(Refused::PerAddress));
        assert!(!admission
            .state
            .lock()
            .expect("lock")
            .per_address
            .contains_key(&ip(1)));
    }
}
