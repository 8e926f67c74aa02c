//! [`HostResolver`] over the system resolver (`getaddrinfo` on tokio's blocking pool), with a
//! deadline: an ingest origin named by host is resolved once when its room is created.

use std::{net::IpAddr, time::Duration};

use futures::future::BoxFuture;

use crate::ports::HostResolver;

/// Longest wait for an answer; a publish waits for it.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, Result<Vec<IpAddr>, String>> {
        Box::pin(async move {
            let lookup = tokio::net::lookup_host((host, port));
            match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                Ok(Ok(addresses)) => Ok(addresses.map(|a| a.ip()).collect()),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err(format!("no answer within {RESOLVE_TIMEOUT:?}")),
            }
        })
    }
}
