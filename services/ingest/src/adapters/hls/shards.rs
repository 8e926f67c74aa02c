//! The HLS origin's listener, sharded the way nginx runs its workers: one thread per shard, each
//! with its own single-threaded runtime and its own listening socket on the same port
//! (`SO_REUSEPORT`, so the kernel spreads connections over them). Every connection's stream is a
//! [`SendfileStream`], so cached segments leave with `sendfile`. The connection limits (admission
//! caps shared by every shard, first-request deadline, HTTP/2 idle timeout) are the kit's, the
//! same as every other listener's.

use std::net::SocketAddr;

use ferrocast_kit::http::{serve_service, ConnectionService, ResponseBody, ServerLimits};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::sendfile::SendfileStream;

/// [`serve_service`] on `shards` threads, each with its own single-threaded runtime and its own
/// listening socket on the same port. Nothing is shared between requests of different shards,
/// so no request wakes another thread: on the HLS origin the multi-threaded runtime spent more
/// time waking and switching threads than serving (perf under wrk). For hot read-only routes
/// whose handlers do not block.
///
/// Binds at once (port 0 picks one port for every shard) and returns the address and a future
/// that resolves when every shard has stopped after `shutdown`.
pub async fn serve_sharded<S, B, M>(
    addr: &str,
    shards: usize,
    limits: ServerLimits,
    shutdown: CancellationToken,
    make_service: M,
) -> std::io::Result<(SocketAddr, impl std::future::Future<Output = ()>)>
where
    M: Fn(SocketAddr) -> S + Clone + Send + 'static,
    S: ConnectionService<B>,
    B: ResponseBody,
{
    let requested = tokio::net::lookup_host(addr)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, addr.to_owned()))?;
    let first = reuse_port_listener(requested)?;
    let local = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..shards.max(1) {
        listeners.push(reuse_port_listener(local)?);
    }
    let admission = limits.admission();
    let mut stopped = Vec::with_capacity(listeners.len());
    for (index, listener) in listeners.into_iter().enumerate() {
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let (limits, admission, shutdown) = (limits.clone(), admission.clone(), shutdown.clone());
        let make_service = make_service.clone();
        std::thread::Builder::new()
            .name(format!("http-shard-{index}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        tracing::error!(%error, "cannot start an HTTP shard");
                        return;
                    }
                };
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => {
                            serve_service(
                                listener,
                                limits,
                                admission,
                                shutdown,
                                SendfileStream::new,
                                make_service,
                            )
                            .await;
                        }
                        Err(error) => tracing::error!(%error, "cannot start an HTTP shard"),
                    }
                });
                drop(done);
            })?;
        stopped.push(finished);
    }
    Ok((local, async move {
        for shard in stopped {
            // An error only means the shard's thread ended (its sender dropped): stopped either way.
            let _ = shard.await;
        }
    }))
}

fn reuse_port_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests;
