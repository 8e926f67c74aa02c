//! One stream: TCP connect, the RTMP handshake, `connect` and `publish` as a client (all within
//! one deadline), then the source's tags in real time as `ffmpeg -re -stream_loop -1 -c copy`
//! sends them: the tag with timestamp t leaves at start + t, passes follow each other with the
//! clock continuing. Due tags are sent together, at most every [`TICK`]: a thousand streams then
//! cost a few tens of thousands of wake-ups a second, not one per tag.
//!
//! The socket is read all along, so the server's acknowledgements and pings are answered. A
//! server that stops reading stalls the stream (at most [`MAX_BACKLOG`] bytes are queued) and
//! its media time falls behind the wall clock, which is what the bench measures.

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{anyhow, bail, Context, Result};
use bytes::{Buf, BytesMut};
use ferrocast_testkit::rtmp;
use rml_rtmp::{
    sessions::{
        ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult,
        PublishRequestType,
    },
    time::RtmpTimestamp,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{sleep_until, timeout, Instant},
};
use tokio_util::sync::CancellationToken;

use crate::{
    command::Target,
    flv::{Kind, Source},
};

/// TCP connect, handshake, `connect` and `publish` together.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Sending `deleteStream` and what is still queued when a stream is stopped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Shortest time between two sends of one stream.
const TICK: Duration = Duration::from_millis(20);
/// Bytes queued for the socket beyond which no more tags are produced (≈ 0.2 s at 2.5 Mb/s).
const MAX_BACKLOG: usize = 64 * 1024;
const READ_BUFFER: usize = 4096;
/// What ffmpeg announces; fewer, larger chunks than RTMP's default of 128 bytes.
const CHUNK_SIZE: u32 = 4096;

/// What a stream's report line says; written by its task, read by the reporter.
#[derive(Debug, Default)]
pub struct Progress {
    sent_ms: AtomicU64,
    /// Wall time (µs since the UNIX epoch) at which media time 0 was sent; 0 until then.
    t0_us: AtomicU64,
}

impl Progress {
    /// (media seconds sent so far, wall time in UNIX seconds at which media time 0 was sent),
    /// or None before the stream started sending.
    pub fn get(&self) -> Option<(f64, f64)> {
        let t0 = self.t0_us.load(Relaxed);
        (t0 != 0).then(|| (self.sent_ms.load(Relaxed) as f64 / 1e3, t0 as f64 / 1e6))
    }
}

/// Publishes until `stop` is cancelled (Ok) or the connection fails (Err, the reason).
pub async fn publish(
    target: &Target,
    source: &Source,
    progress: &Progress,
    stop: &CancellationToken,
) -> Result<()> {
    let setup = async {
        let socket = TcpStream::connect(&target.addr).await.context("connect")?;
        socket.set_nodelay(true).context("TCP_NODELAY")?;
        Conn::open(socket, target).await
    };
    let mut conn = tokio::select! {
        _ = stop.cancelled() => return Ok(()),
        conn = timeout(SETUP_TIMEOUT, setup) => conn
            .map_err(|_| anyhow!("no publish within {} s of connecting", SETUP_TIMEOUT.as_secs()))??,
    };
    if let Some(metadata) = &source.metadata {
        let packet = conn.session.publish_metadata(metadata)?;
        conn.queue(vec![packet], |_| Ok(()))?;
    }
    conn.stream(source, progress, stop).await?;
    conn.close().await;
    Ok(())
}

/// The socket, rml's client session and what is queued for the socket.
struct Conn {
    socket: TcpStream,
    session: ClientSession,
    out: BytesMut,
    read_buf: Vec<u8>,
}

impl Conn {
    /// Handshake, `connect` to the app, `publish` the key; returns once the server accepted.
    async fn open(mut socket: TcpStream, target: &Target) -> Result<Self> {
        let leftover = rtmp::handshake(&mut socket).await.context("handshake")?;
        let mut config = ClientSessionConfig::new();
        config.chunk_size = CHUNK_SIZE;
        config.tc_url = Some(target.tc_url.clone());
        let (session, results) = ClientSession::new(config)?;
        let mut conn = Conn {
            socket,
            session,
            out: BytesMut::with_capacity(MAX_BACKLOG),
            read_buf: vec![0; READ_BUFFER],
        };
        conn.queue(results, |_| Ok(()))?;
        let results = conn.session.handle_input(&leftover)?;
        conn.queue(results, |_| Ok(()))?;

        let request = conn.session.request_connection(target.app.clone())?;
        conn.queue(vec![request], |_| Ok(()))?;
        conn.until("connect", |event| match event {
            ClientSessionEvent::ConnectionRequestAccepted => Ok(true),
            ClientSessionEvent::ConnectionRequestRejected { description } => {
                bail!("connect refused: {}", one_line(&description))
            }
            _ => Ok(false),
        })
        .await?;

        let request = conn
            .session
            .request_publishing(target.key.expose().to_string(), PublishRequestType::Live)?;
        conn.queue(vec![request], |_| Ok(()))?;
        conn.until("publish", |event| match event {
            ClientSessionEvent::PublishRequestAccepted => Ok(true),
            // NetStream.Publish.BadName, .Rejected, .Denied...: any other publish status.
            ClientSessionEvent::UnhandleableOnStatusCode { code } if code.contains("Publish") => {
                bail!("publish refused: {}", one_line(&code))
            }
            _ => Ok(false),
        })
        .await?;
        Ok(conn)
    }

    /// Queues the session's packets in order and hands its events to `on_event`.
    fn queue(
        &mut self,
        results: Vec<ClientSessionResult>,
        mut on_event: impl FnMut(ClientSessionEvent) -> Result<()>,
    ) -> Result<()> {
        for result in results {
            match result {
                ClientSessionResult::OutboundResponse(packet) => {
                    self.out.extend_from_slice(&packet.bytes)
                }
                ClientSessionResult::RaisedEvent(event) => on_event(event)?,
                ClientSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(())
    }

    /// Sends what is queued, then reads until `wanted` says the awaited event came.
    async fn until(
        &mut self,
        what: &str,
        mut wanted: impl FnMut(ClientSessionEvent) -> Result<bool>,
    ) -> Result<()> {
        loop {
            self.socket.write_all(&self.out).await?;
            self.out.clear();
            let n = self.socket.read(&mut self.read_buf).await?;
            if n == 0 {
                bail!("the server closed the connection before accepting {what}");
            }
            let results = self.session.handle_input(&self.read_buf[..n])?;
            let mut done = false;
            self.queue(results, |event| {
                done |= wanted(event)?;
                Ok(())
            })?;
            if done {
                return Ok(());
            }
        }
    }

    /// The real-time loop, until `stop` is cancelled or the connection fails.
    async fn stream(
        &mut self,
        source: &Source,
        progress: &Progress,
        stop: &CancellationToken,
    ) -> Result<()> {
        let start = Instant::now();
        progress.t0_us.store(unix_us(SystemTime::now()), Relaxed);
        let mut next = Cursor::default();
        let mut wake = start;
        let Conn {
            socket,
            session,
            out,
            read_buf,
        } = self;
        let (mut reader, mut writer) = socket.split();
        loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => return Ok(()),
                written = writer.write(out), if !out.is_empty() => {
                    match written? {
                        0 => bail!("the server stopped accepting data"),
                        n => out.advance(n),
                    }
                }
                read = reader.read(read_buf) => {
                    let n = read?;
                    if n == 0 {
                        bail!("the server closed the connection");
                    }
                    for result in session.handle_input(&read_buf[..n])? {
                        if let ClientSessionResult::OutboundResponse(packet) = result {
                            out.extend_from_slice(&packet.bytes);
                        }
                    }
                }
                () = sleep_until(wake), if out.len() < MAX_BACKLOG => {
                    let now = Instant::now();
                    let due_ms = (now - start).as_millis() as u64;
                    while next.media_ms(source) <= due_ms && out.len() < MAX_BACKLOG {
                        let tag = next.tag(source);
                        // ffmpeg sends the codec headers once per connection, not once per pass.
                        if !(tag.sequence_header && next.pass > 0) {
                            let timestamp = RtmpTimestamp::new(next.media_ms(source) as u32);
                            let packet = match tag.kind {
                                Kind::Video => session.publish_video_data(tag.body.clone(), timestamp, false)?,
                                Kind::Audio => session.publish_audio_data(tag.body.clone(), timestamp, false)?,
                            };
                            if let ClientSessionResult::OutboundResponse(packet) = packet {
                                out.extend_from_slice(&packet.bytes);
                            }
                            progress.sent_ms.store(next.media_ms(source), Relaxed);
                        }
                        next.advance(source);
                    }
                    let due = start + Duration::from_millis(next.media_ms(source));
                    wake = due.max(now + TICK);
                }
            }
        }
    }

    /// Ends the publish politely (`deleteStream`) so the server finishes the stream at once.
    async fn close(mut self) {
        if let Ok(results) = self.session.stop_publishing() {
            let _ = self.queue(results, |_| Ok(()));
        }
        let _ = timeout(CLOSE_TIMEOUT, async {
            self.socket.write_all(&self.out).await?;
            self.socket.shutdown().await
        })
        .await;
    }
}

/// The next tag to send: its index in the file and the pass over the file.
#[derive(Debug, Default)]
struct Cursor {
    pass: u64,
    index: usize,
}

impl Cursor {
    fn tag<'a>(&self, source: &'a Source) -> &'a crate::flv::Tag {
        &source.tags[self.index]
    }

    /// Media time of the tag, counting the passes before this one.
    fn media_ms(&self, source: &Source) -> u64 {
        self.pass * u64::from(source.loop_ms) + u64::from(self.tag(source).timestamp_ms)
    }

    fn advance(&mut self, source: &Source) {
        self.index += 1;
        if self.index == source.tags.len() {
            self.index = 0;
            self.pass += 1;
        }
    }
}

fn unix_us(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_micros() as u64)
}

/// A server-provided text on one report line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::flv::Tag;

    fn source() -> Source {
        let tag = |kind, timestamp_ms, sequence_header| Tag {
            kind,
            timestamp_ms,
            body: Bytes::from_static(b"x"),
            sequence_header,
        };
        Source {
            tags: vec![
                tag(Kind::Video, 0, true),
                tag(Kind::Video, 0, false),
                tag(Kind::Audio, 21, false),
                tag(Kind::Video, 33, false),
            ],
            loop_ms: 66,
            metadata: None,
        }
    }

    #[test]
    fn passes_continue_the_clock() {
        let source = source();
        let mut cursor = Cursor::default();
        let mut times = Vec::new();
        for _ in 0..8 {
            times.push((cursor.pass, cursor.media_ms(&source)));
            cursor.advance(&source);
        }
        assert_eq!(
            times,
            vec![
                (0, 0),
                (0, 0),
                (0, 21),
                (0, 33),
                (1, 66),
                (1, 66),
                (1, 87),
                (1, 99)
            ]
        );
    }

    #[test]
    fn progress_is_unknown_until_the_first_send() {
        let progress = Progress::default();
        assert_eq!(progress.get(), None);
        progress.t0_us.store(1_700_000_000_500_000, Relaxed);
        progress.sent_ms.store(12_345, Relaxed);
        assert_eq!(progress.get(), Some((12.345, 1_700_000_000.5)));
    }

    #[test]
    fn server_texts_fit_on_one_line() {
        assert_eq!(one_line("bad\nname\r\n  here"), "bad name here");
    }
}
