//! One RTMP connection, start to end: handshake (bounded in time), then `connect` + `publish`
//! within the auth deadline, then the live loop until the encoder leaves, goes idle, the
//! pipeline fails, the lease is lost or the server shuts down — or a new connection of the same
//! publisher takes the session over. A connection lost without a clean stop parks its session
//! for the publisher to come back (`service::handover`). Every byte read goes through the
//! [`ChunkGuard`] before rml_rtmp's `ServerSession`; every write has a timeout.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use rml_rtmp::{
    handshake::{Handshake, HandshakeProcessResult, PeerType},
    sessions::{ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{timeout, timeout_at, Instant},
};
use tokio_util::sync::CancellationToken;

use super::guard::{ChunkGuard, GuardError, GuardEvent, GuardLimits};
use crate::{
    ports::{Client, MediaPacket},
    service::{
        self, handover::Request, EndReason, Handovers, LiveSession, LiveSlot, SessionDeps,
        StreamKey,
    },
};

/// Bytes read from the socket at a time; also bounds what rml's buffers get per call.
const READ_BUFFER: usize = 16 * 1024;
/// How often the pipeline's renditions are copied for the next lease renewal.
const RENDITIONS_REFRESH: Duration = Duration::from_secs(1);

/// Per-connection limits and the application name that may publish.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    pub app: String,
    pub handshake_timeout: Duration,
    /// From the end of the handshake until the publish is authorised.
    pub auth_timeout: Duration,
    /// Longest time without audio or video while live.
    pub idle_timeout: Duration,
    pub write_timeout: Duration,
    pub guard: GuardLimits,
}

/// Why a connection ended before or outside a live session (logs only; never payload bytes).
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("peer closed the connection")]
    Closed,
    #[error("{0} timed out")]
    Timeout(&'static str),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("refused by the guard: {0}")]
    Guard(#[from] GuardError),
    #[error("rtmp error: {0}")]
    Rtmp(String),
    #[error("{0}")]
    Refused(&'static str),
}

/// What the session layer gets out of one read, in stream order.
enum Item {
    Event(ServerSessionEvent),
    Metadata(Bytes),
}

/// The socket with its guard and rml session.
struct Conn {
    stream: TcpStream,
    guard: ChunkGuard,
    session: ServerSession,
    write_timeout: Duration,
    /// Looked up once: a registry lookup per read showed in a lone stream's profile.
    bytes_in: metrics::Counter,
}

/// Runs one connection to its end. Never panics on peer input; errors end the connection.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    client_id: u64,
    settings: Arc<ConnectionSettings>,
    deps: Arc<SessionDeps>,
    handovers: Arc<Handovers>,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let mut buffer = vec![0; READ_BUFFER];
    let pre_live = async {
        let (mut conn, early) = handshake(stream, &mut buffer, &settings).await?;
        let deadline = Instant::now() + settings.auth_timeout;
        let publish = wait_for_publish(&mut conn, &mut buffer, &early, &settings, deadline).await?;
        Ok::<_, ConnError>((conn, publish, deadline))
    };
    let (mut conn, (request_id, key), deadline) = tokio::select! {
        result = pre_live => match result {
            Ok(ready) => ready,
            Err(error) => return log_end(peer, &error),
        },
        () = shutdown.cancelled() => return,
    };

    let client = Client {
        app: settings.app.clone(),
        addr: peer.ip(),
        client_id,
    };
    let mut live = match service::authorise_or_continue(&deps, &handovers, client, key, deadline)
        .await
    {
        Ok(live) => live,
        Err(refusal) => {
            metrics::counter!("ingest_publishes_total", "result" => refusal.label()).increment(1);
            tracing::info!(%peer, reason = refusal.label(), "publish refused");
            let (code, description) = refusal.rtmp_status();
            let _ = conn.reject(request_id, code, description).await;
            return;
        }
    };
    metrics::counter!("ingest_publishes_total", "result" => "accepted").increment(1);
    tracing::info!(
        %peer,
        username = %live.publisher().username,
        session_id = %live.publisher().session_id,
        "publish accepted"
    );
    let (mut slot, displaced) = handovers.register(&live.publisher().user_id);
    if let Some(displaced) = displaced {
        displaced.finish(EndReason::Disconnected).await;
    }
    let outcome = match conn.accept(request_id).await {
        Ok(()) => {
            conn.guard.authorise();
            run_live(
                &mut conn,
                &mut buffer,
                &mut live,
                &mut slot,
                &settings,
                &shutdown,
            )
            .await
        }
        Err(error) => {
            log_end(peer, &error);
            Outcome::Ended(EndReason::Disconnected)
        }
    };
    // The socket closes here, whatever comes next: a stalled publisher is cut off.
    drop(conn);
    match outcome {
        Outcome::HandOver(request) => {
            tracing::info!(%peer, username = %live.publisher().username, "a new connection of the publisher took the session over");
            handovers.release(slot);
            if let Err(live) = request.send(live) {
                // The new connection gave up waiting.
                live.finish(EndReason::Disconnected).await;
            }
        }
        Outcome::Ended(reason) if reason.may_resume() && !shutdown.is_cancelled() => {
            tracing::info!(%peer, username = %live.publisher().username, reason = reason.label(), "publisher connection lost");
            handovers.park(slot, live, reason, &shutdown).await;
        }
        Outcome::Ended(reason) => {
            handovers.release(slot);
            live.finish(reason).await;
        }
    }
}

/// How a live connection ended.
enum Outcome {
    Ended(EndReason),
    /// A new connection of the publisher asked for the session.
    HandOver(Request),
}

fn log_end(peer: SocketAddr, error: &ConnError) {
    match error {
        ConnError::Guard(guard) => {
            metrics::counter!("ingest_guard_rejections_total", "reason" => guard.reason())
                .increment(1);
            tracing::warn!(%peer, reason = guard.reason(), %error, "closing connection: invalid RTMP");
        }
        ConnError::Timeout(phase) => {
            metrics::counter!("ingest_rtmp_timeouts_total", "phase" => *phase).increment(1);
            tracing::info!(%peer, %error, "closing connection");
        }
        ConnError::Rtmp(_) | ConnError::Refused(_) => {
            tracing::info!(%peer, %error, "closing connection");
        }
        ConnError::Closed | ConnError::Io(_) => tracing::debug!(%peer, %error, "connection ended"),
    }
}

/// The RTMP handshake within `handshake_timeout`. Returns the session and any bytes the peer
/// sent after C2 (they belong to the chunk stream).
async fn handshake(
    mut stream: TcpStream,
    buffer: &mut [u8],
    settings: &ConnectionSettings,
) -> Result<(Conn, Vec<u8>), ConnError> {
    let exchange = async {
        let mut handshake = Handshake::new(PeerType::Server);
        loop {
            let n = stream.read(buffer).await?;
            if n == 0 {
                return Err(ConnError::Closed);
            }
            match handshake.process_bytes(&buffer[..n]) {
                Ok(HandshakeProcessResult::InProgress { response_bytes }) => {
                    write_all(&mut stream, &response_bytes, settings.write_timeout).await?;
                }
                Ok(HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                }) => {
                    write_all(&mut stream, &response_bytes, settings.write_timeout).await?;
                    return Ok(remaining_bytes);
                }
                Err(error) => return Err(ConnError::Rtmp(error.to_string())),
            }
        }
    };
    let early = timeout(settings.handshake_timeout, exchange)
        .await
        .map_err(|_| ConnError::Timeout("handshake"))??;

    let (session, initial) = ServerSession::new(ServerSessionConfig::new())
        .map_err(|e| ConnError::Rtmp(e.to_string()))?;
    let mut conn = Conn {
        stream,
        guard: ChunkGuard::new(settings.guard.clone()),
        session,
        write_timeout: settings.write_timeout,
        bytes_in: metrics::counter!("ingest_rtmp_bytes_in_total"),
    };
    let mut out = Vec::new();
    conn.collect(initial, &mut Vec::new(), &mut out);
    conn.flush(&out).await?;
    Ok((conn, early))
}

/// Reads until the peer asks to publish on the allowed app; answers `connect`, refuses `play`.
async fn wait_for_publish(
    conn: &mut Conn,
    buffer: &mut [u8],
    early: &[u8],
    settings: &ConnectionSettings,
    deadline: Instant,
) -> Result<(u32, StreamKey), ConnError> {
    let mut input: &[u8] = early;
    loop {
        if input.is_empty() {
            let n = conn.read(buffer, deadline, "auth").await?;
            input = &buffer[..n];
        }
        let mut out = Vec::new();
        let items = conn.ingest(input, &mut out)?;
        input = &[];
        conn.flush(&out).await?;
        for item in items {
            let Item::Event(event) = item else { continue };
            match event {
                ServerSessionEvent::ConnectionRequested {
                    request_id,
                    app_name,
                } => {
                    if app_name != settings.app {
                        conn.reject(
                            request_id,
                            "NetConnection.Connect.Rejected",
                            "Unknown application",
                        )
                        .await?;
                        return Err(ConnError::Refused("connect to an unknown application"));
                    }
                    conn.accept(request_id).await?;
                }
                ServerSessionEvent::PublishStreamRequested {
                    request_id,
                    app_name,
                    stream_key,
                    ..
                } => {
                    if app_name != settings.app {
                        return Err(ConnError::Refused("publish to an unknown application"));
                    }
                    return match StreamKey::parse(stream_key) {
                        Ok(key) => Ok((request_id, key)),
                        Err(error) => {
                            metrics::counter!("ingest_publishes_total", "result" => "bad_key")
                                .increment(1);
                            tracing::info!(%error, "publish refused: malformed stream key");
                            let (code, text) = ("NetStream.Publish.BadName", "Invalid stream key");
                            conn.reject(request_id, code, text).await?;
                            Err(ConnError::Refused("malformed stream key"))
                        }
                    };
                }
                ServerSessionEvent::PlayStreamRequested { request_id, .. } => {
                    conn.reject(
                        request_id,
                        "NetStream.Play.Failed",
                        "Playback is over HLS only",
                    )
                    .await?;
                    return Err(ConnError::Refused("play request"));
                }
                _ => {}
            }
        }
    }
}

/// Forwards media until the session ends or is taken over.
async fn run_live(
    conn: &mut Conn,
    buffer: &mut [u8],
    live: &mut LiveSession,
    slot: &mut LiveSlot,
    settings: &ConnectionSettings,
    shutdown: &CancellationToken,
) -> Outcome {
    let mut refresh = tokio::time::interval(RENDITIONS_REFRESH);
    let mut idle_deadline = Instant::now() + settings.idle_timeout;
    // Made once and polled across reads (a stream reads ≈ 100 times a second): a waiter, a boxed
    // future and a timer made per read cost a registration and a removal each time, which was
    // most of a lone stream's CPU beyond the reads themselves. Media moves `idle_deadline` on
    // without touching the timer; the timer re-arms itself when it fires early.
    let lease = live.lease_lost();
    let (lease_lost, stopping, failed) = (lease.cancelled(), shutdown.cancelled(), live.failed());
    let idle = tokio::time::sleep_until(idle_deadline);
    tokio::pin!(lease_lost, stopping, failed, idle);
    loop {
        tokio::select! {
            () = &mut stopping => return Outcome::Ended(EndReason::Shutdown),
            () = &mut lease_lost => return Outcome::Ended(EndReason::LeaseLost),
            Some(request) = slot.requests.recv() => return Outcome::HandOver(request),
            error = &mut failed => {
                tracing::warn!(%error, username = %live.publisher().username, "media pipeline failed");
                return Outcome::Ended(EndReason::PipelineFailed);
            }
            _ = refresh.tick() => live.refresh_renditions(),
            () = &mut idle => {
                if Instant::now() >= idle_deadline {
                    return Outcome::Ended(EndReason::Idle);
                }
                idle.as_mut().reset(idle_deadline);
            }
            read = conn.read_some(buffer) => {
                let n = match read {
                    Ok(n) => n,
                    Err(_) => return Outcome::Ended(EndReason::Disconnected),
                };
                let mut out = Vec::new();
                let items = match conn.ingest(&buffer[..n], &mut out) {
                    Ok(items) => items,
                    Err(error) => {
                        log_end(conn.peer(), &error);
                        return Outcome::Ended(EndReason::ProtocolError);
                    }
                };
                if conn.flush(&out).await.is_err() {
                    return Outcome::Ended(EndReason::Disconnected);
                }
                for item in items {
                    match forward(conn, live, item).await {
                        Forwarded::Media => {
                            let now = Instant::now();
                            idle_deadline = now + settings.idle_timeout;
                            slot.touch(now);
                        }
                        Forwarded::Nothing => {}
                        Forwarded::End(reason) => return Outcome::Ended(reason),
                    }
                }
            }
        }
    }
}

enum Forwarded {
    Media,
    Nothing,
    End(EndReason),
}

async fn forward(conn: &mut Conn, live: &mut LiveSession, item: Item) -> Forwarded {
    let packet = match item {
        Item::Metadata(data) => MediaPacket::Metadata { data },
        Item::Event(ServerSessionEvent::VideoDataReceived {
            data, timestamp, ..
        }) => MediaPacket::Video {
            timestamp_ms: timestamp.value,
            data,
        },
        Item::Event(ServerSessionEvent::AudioDataReceived {
            data, timestamp, ..
        }) => MediaPacket::Audio {
            timestamp_ms: timestamp.value,
            data,
        },
        Item::Event(ServerSessionEvent::PublishStreamFinished { .. }) => {
            return Forwarded::End(EndReason::Unpublished)
        }
        // One publish per connection: a second one (or a play) is refused, the first goes on.
        Item::Event(ServerSessionEvent::PublishStreamRequested { request_id, .. }) => {
            let text = "One publish per connection";
            return match conn
                .reject(request_id, "NetStream.Publish.BadName", text)
                .await
            {
                Ok(()) => Forwarded::Nothing,
                Err(_) => Forwarded::End(EndReason::Disconnected),
            };
        }
        Item::Event(ServerSessionEvent::PlayStreamRequested { request_id, .. }) => {
            return match conn
                .reject(
                    request_id,
                    "NetStream.Play.Failed",
                    "Playback is over HLS only",
                )
                .await
            {
                Ok(()) => Forwarded::Nothing,
                Err(_) => Forwarded::End(EndReason::Disconnected),
            };
        }
        Item::Event(_) => return Forwarded::Nothing,
    };
    let is_media = !matches!(packet, MediaPacket::Metadata { .. });
    if let Err(error) = live.push(packet) {
        tracing::warn!(%error, username = %live.publisher().username, "media pipeline refused a packet");
        return Forwarded::End(EndReason::PipelineFailed);
    }
    if is_media {
        Forwarded::Media
    } else {
        Forwarded::Nothing
    }
}

impl Conn {
    fn peer(&self) -> SocketAddr {
        self.stream
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// One read before `deadline`; `phase` names the timeout.
    async fn read(
        &mut self,
        buffer: &mut [u8],
        deadline: Instant,
        phase: &'static str,
    ) -> Result<usize, ConnError> {
        timeout_at(deadline, self.read_some(buffer))
            .await
            .map_err(|_| ConnError::Timeout(phase))?
    }

    /// One read, however long it takes.
    async fn read_some(&mut self, buffer: &mut [u8]) -> Result<usize, ConnError> {
        match self.stream.read(buffer).await? {
            0 => Err(ConnError::Closed),
            n => {
                self.bytes_in.increment(n as u64);
                Ok(n)
            }
        }
    }

    /// Guard first, then rml. rml is fed up to each metadata message's end before the guard's
    /// metadata event is queued, so items come out in stream order.
    fn ingest(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Vec<Item>, ConnError> {
        let events = self.guard.feed(input)?;
        let mut items = Vec::new();
        let mut start = 0;
        for GuardEvent::Metadata { end, body } in events {
            let results = self
                .session
                .handle_input(&input[start..end])
                .map_err(|e| ConnError::Rtmp(e.to_string()))?;
            self.collect(results, &mut items, out);
            items.push(Item::Metadata(body));
            start = end;
        }
        if start < input.len() {
            let results = self
                .session
                .handle_input(&input[start..])
                .map_err(|e| ConnError::Rtmp(e.to_string()))?;
            self.collect(results, &mut items, out);
        }
        Ok(items)
    }

    fn collect(&self, results: Vec<ServerSessionResult>, items: &mut Vec<Item>, out: &mut Vec<u8>) {
        for result in results {
            match result {
                ServerSessionResult::OutboundResponse(packet) => {
                    out.extend_from_slice(&packet.bytes)
                }
                ServerSessionResult::RaisedEvent(event) => items.push(Item::Event(event)),
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
    }

    async fn flush(&mut self, out: &[u8]) -> Result<(), ConnError> {
        write_all(&mut self.stream, out, self.write_timeout).await
    }

    async fn accept(&mut self, request_id: u32) -> Result<(), ConnError> {
        let results = self
            .session
            .accept_request(request_id)
            .map_err(|e| ConnError::Rtmp(e.to_string()))?;
        let mut out = Vec::new();
        let mut items = Vec::new();
        self.collect(results, &mut items, &mut out);
        self.flush(&out).await
    }

    async fn reject(
        &mut self,
        request_id: u32,
        code: &str,
        description: &str,
    ) -> Result<(), ConnError> {
        let results = self
            .session
            .reject_request(request_id, code, description)
            .map_err(|e| ConnError::Rtmp(e.to_string()))?;
        let mut out = Vec::new();
        let mut items = Vec::new();
        self.collect(results, &mut items, &mut out);
        self.flush(&out).await
    }
}

/// A write that cannot hang on a peer that stopped reading.
async fn write_all(stream: &mut TcpStream, bytes: &[u8], limit: Duration) -> Result<(), ConnError> {
    if bytes.is_empty() {
        return Ok(());
    }
    timeout(limit, stream.write_all(bytes))
        .await
        .map_err(|_| ConnError::Timeout("write"))?
        .map_err(ConnError::from)
}
