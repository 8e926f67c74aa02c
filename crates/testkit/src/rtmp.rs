//! A raw RTMP client for the end-to-end forms of the malformed-input cases (P2, A1): completes
//! the handshake with rml_rtmp's own handshake code, then writes whatever chunks a test builds —
//! well-formed AMF0 commands or deliberately broken headers. The bench's publishers
//! (`bench/rtmp-fleet`) shake hands through it too.

use std::{net::SocketAddr, time::Duration};

use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

pub mod msg {
    pub const SET_CHUNK_SIZE: u8 = 1;
    pub const AUDIO: u8 = 8;
    pub const VIDEO: u8 = 9;
    pub const AMF0_DATA: u8 = 18;
    pub const AMF0_COMMAND: u8 = 20;
}

/// Connects and completes the RTMP handshake (5 s at most).
pub async fn handshaken(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    tokio::time::timeout(Duration::from_secs(5), handshake(&mut stream))
        .await
        .map_err(|_| std::io::Error::other("handshake timed out"))??;
    Ok(stream)
}

/// The client side of the RTMP handshake on a connected `stream`; returns the bytes the server
/// sent after it (the start of its first messages). No deadline of its own: the caller bounds it,
/// the bench's publishers together with `connect` and `publish`.
pub async fn handshake(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut handshake = Handshake::new(PeerType::Client);
    let c0c1 = handshake
        .generate_outbound_p0_and_p1()
        .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    stream.write_all(&c0c1).await?;
    let mut buffer = vec![0u8; 8192];
    loop {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            return Err(std::io::Error::other("server closed during the handshake"));
        }
        match handshake
            .process_bytes(&buffer[..n])
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?
        {
            HandshakeProcessResult::InProgress { response_bytes } => {
                stream.write_all(&response_bytes).await?;
            }
            HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            } => {
                stream.write_all(&response_bytes).await?;
                return Ok(remaining_bytes);
            }
        }
    }
}

/// One message as a fmt-0 chunk followed by fmt-3 continuations of `chunk_size` bytes.
pub fn chunked(
    csid: u8,
    timestamp: u32,
    type_id: u8,
    stream_id: u32,
    payload: &[u8],
    chunk_size: usize,
) -> Vec<u8> {
    let mut out = vec![csid & 0x3f];
    let extended = timestamp >= 0x00FF_FFFF;
    let field = if extended { 0x00FF_FFFF } else { timestamp };
    out.extend_from_slice(&field.to_be_bytes()[1..]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.push(type_id);
    out.extend_from_slice(&stream_id.to_le_bytes());
    if extended {
        out.extend_from_slice(&timestamp.to_be_bytes());
    }
    for (i, chunk) in payload.chunks(chunk_size.max(1)).enumerate() {
        if i > 0 {
            out.push(0xC0 | (csid & 0x3f));
            if extended {
                out.extend_from_slice(&timestamp.to_be_bytes());
            }
        }
        out.extend_from_slice(chunk);
    }
    out
}

/// An AMF0 value, just enough to write commands.
pub enum Amf {
    Number(f64),
    Str(String),
    Null,
    Object(Vec<(String, Amf)>),
}

pub fn amf0(values: &[Amf]) -> Vec<u8> {
    let mut out = Vec::new();
    for value in values {
        write_amf(&mut out, value);
    }
    out
}

fn write_amf(out: &mut Vec<u8>, value: &Amf) {
    match value {
        Amf::Number(n) => {
            out.push(0x00);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Amf::Str(s) => {
            out.push(0x02);
            out.extend_from_slice(&(s.len() as u16).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        Amf::Null => out.push(0x05),
        Amf::Object(fields) => {
            out.push(0x03);
            for (name, value) in fields {
                out.extend_from_slice(&(name.len() as u16).to_be_bytes());
                out.extend_from_slice(name.as_bytes());
                write_amf(out, value);
            }
            out.extend_from_slice(&[0, 0, 0x09]);
        }
    }
}

pub fn connect_command(app: &str) -> Vec<u8> {
    amf0(&[
        Amf::Str("connect".into()),
        Amf::Number(1.0),
        Amf::Object(vec![
            ("app".into(), Amf::Str(app.into())),
            ("type".into(), Amf::Str("nonprivate".into())),
            ("tcUrl".into(), Amf::Str(format!("rtmp://127.0.0.1/{app}"))),
        ]),
    ])
}

pub fn create_stream_command(transaction: f64) -> Vec<u8> {
    amf0(&[
        Amf::Str("createStream".into()),
        Amf::Number(transaction),
        Amf::Null,
    ])
}

pub fn publish_command(key: &str) -> Vec<u8> {
    amf0(&[
        Amf::Str("publish".into()),
        Amf::Number(5.0),
        Amf::Null,
        Amf::Str(key.into()),
        Amf::Str("live".into()),
    ])
}

/// `connect` to `app`, `createStream`, then `publish` with `key`, as three messages on chunk
/// stream 3 at the default chunk size of 128 (stream 1 is the one rml hands out first).
pub fn publish_sequence(app: &str, key: &str) -> Vec<u8> {
    let mut out = chunked(3, 0, msg::AMF0_COMMAND, 0, &connect_command(app), 128);
    out.extend(chunked(
        3,
        0,
        msg::AMF0_COMMAND,
        0,
        &create_stream_command(2.0),
        128,
    ));
    out.extend(chunked(
        4,
        0,
        msg::AMF0_COMMAND,
        1,
        &publish_command(key),
        128,
    ));
    out
}

/// Reads until the peer closes; `true` if it did within `limit`. Also returns the bytes read.
pub async fn closed_within(stream: &mut TcpStream, limit: Duration) -> (bool, Vec<u8>) {
    let mut seen = Vec::new();
    let mut buffer = vec![0u8; 16 * 1024];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if seen.len() < 1 << 20 {
                        seen.extend_from_slice(&buffer[..n]);
                    }
                }
            }
        }
    })
    .await
    .is_ok();
    (closed, seen)
}

/// Whether a server answer contains `text` (AMF0 strings are stored verbatim, e.g.
/// `NetStream.Publish.Start` or `NetStream.Publish.BadName`).
pub fn contains(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

/// Reads for up to `limit` until `done(all bytes read so far)`; false if the peer closed first.
async fn read_until(
    stream: &mut TcpStream,
    seen: &mut Vec<u8>,
    limit: Duration,
    done: impl Fn(&[u8]) -> bool,
) -> bool {
    let mut buffer = vec![0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + limit;
    while !done(seen) {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) | Err(_) => return done(seen),
            Ok(Ok(n)) => seen.extend_from_slice(&buffer[..n]),
        }
    }
    true
}

/// The outcome of a publish attempt made like a client: connect, wait for the answer,
/// createStream, then publish and wait for its `onStatus`.
pub struct Publish {
    /// The server answered the publish with `onStatus` `NetStream.Publish.Start`.
    pub started: bool,
    pub stream: TcpStream,
    /// Everything the server sent in answer to the publish command.
    pub answer: Vec<u8>,
}

pub async fn publish(addr: SocketAddr, app: &str, key: &str) -> std::io::Result<Publish> {
    let mut stream = handshaken(addr).await?;
    let mut seen = Vec::new();
    stream
        .write_all(&chunked(
            3,
            0,
            msg::AMF0_COMMAND,
            0,
            &connect_command(app),
            128,
        ))
        .await?;
    read_until(&mut stream, &mut seen, Duration::from_secs(5), |s| {
        contains(s, "NetConnection.Connect.")
    })
    .await;
    stream
        .write_all(&chunked(
            3,
            0,
            msg::AMF0_COMMAND,
            0,
            &create_stream_command(2.0),
            128,
        ))
        .await?;
    let before = seen.len();
    read_until(&mut stream, &mut seen, Duration::from_secs(2), |s| {
        contains(&s[before..], "_result")
    })
    .await;
    let mut answer = Vec::new();
    if stream
        .write_all(&chunked(
            4,
            0,
            msg::AMF0_COMMAND,
            1,
            &publish_command(key),
            128,
        ))
        .await
        .is_ok()
    {
        read_until(&mut stream, &mut answer, Duration::from_secs(8), |s| {
            contains(s, "onStatus")
                && (contains(s, "NetStream.Publish.Start") || contains(s, "NetStream.Publish.Bad"))
        })
        .await;
    }
    Ok(Publish {
        started: contains(&answer, "onStatus") && contains(&answer, "NetStream.Publish.Start"),
        stream,
        answer,
    })
}
