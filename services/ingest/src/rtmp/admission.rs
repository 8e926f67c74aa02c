//! Who may open a connection: a total cap and a per-IP cap, checked before the handshake. A
//! permit is held for the connection's life and gives its slots back on drop, so a task that
//! ends in any way (error, panic, shutdown) cannot leak a slot.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
};

#[derive(Debug)]
pub struct Admission {
    max_total: usize,
    max_per_ip: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("connection limit reached")]
    Total,
    #[error("per-address connection limit reached")]
    PerIp,
}

impl Refused {
    pub fn label(self) -> &'static str {
        match self {
            Self::Total => "total_limit",
            Self::PerIp => "per_ip_limit",
        }
    }
}

/// One admitted connection's slots.
#[derive(Debug)]
pub struct Permit {
    admission: Arc<Admission>,
    ip: IpAddr,
}

impl Admission {
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_ip,
            state: Mutex::new(State::default()),
        })
    }

    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refused> {
        // The critical sections never panic, but a poisoned lock must not take the server down.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.total >= self.max_total {
            return Err(Refused::Total);
        }
        let count = state.per_ip.entry(ip).or_insert(0);
        if *count >= self.max_per_ip {
            return Err(Refused::PerIp);
        }
        *count += 1;
        state.total += 1;
        Ok(Permit {
            admission: self.clone(),
            ip,
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
        if let Some(count) = state.per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                // Keeps the map as small as the set of connected addresses.
                state.per_ip.remove(&self.ip);
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
    fn per_ip_cap_holds_and_frees_on_drop() {
        let admission = Admission::new(10, 2);
        let a = admission.admit(ip(1)).expect("first");
        let _b = admission.admit(ip(1)).expect("second");
        assert_eq!(admission.admit(ip(1)).err(), Some(Refused::PerIp));
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
        assert!(state.per_ip.is_empty());
        assert_eq!(state.total, 0);
    }
}
