//! A raw HTTP/2 client (prior knowledge, cleartext) for tests that watch what a server does with
//! the connection itself: the GOAWAY and the close of an idle connection, a silent peer after the
//! preface. Client libraries hide exactly that behind their pools. Just enough of RFC 9113:
//! the preface, GET requests with literal (never Huffman-coded) headers, acks of SETTINGS and
//! PING, and frame headers read until the server closes.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The client connection preface (RFC 9113 section 3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const ACK: u8 = 0x1;

/// One frame as read: its type, flags, stream and payload.
#[derive(Debug, Clone)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

/// How a connection ended while [`RawH2::until_closed`] watched it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ending {
    /// The server sent GOAWAY (a graceful close).
    pub goaway: bool,
    /// The server closed the connection (end of stream or reset) within the time given.
    pub closed: bool,
}

pub struct RawH2 {
    stream: TcpStream,
    next_stream: u32,
    goaway: bool,
    settings: Vec<(u16, u32)>,
}

impl RawH2 {
    /// Sends the preface and an empty SETTINGS frame on `stream`.
    pub async fn start(mut stream: TcpStream) -> std::io::Result<Self> {
        stream.write_all(PREFACE).await?;
        write_frame(&mut stream, SETTINGS, 0, 0, &[]).await?;
        Ok(Self {
            stream,
            next_stream: 1,
            goaway: false,
            settings: Vec::new(),
        })
    }

    /// The server's SETTINGS read so far, as (identifier, value); e.g. 3 is
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`.
    pub fn server_settings(&self) -> &[(u16, u32)] {
        &self.settings
    }

    /// `GET path` on a new stream; the response's status (0 if the server ended the stream or
    /// the connection without one this client can read).
    pub async fn get(&mut self, authority: &str, path: &str) -> std::io::Result<u16> {
        let id = self.next_stream;
        self.next_stream += 2;
        // :method GET and :scheme http are static-table entries 2 and 6; :path (4) and
        // :authority (1) are literals without indexing.
        let mut block = vec![0x82, 0x86];
        for (name_index, value) in [(4u8, path), (1, authority)] {
            let length = u8::try_from(value.len())
                .ok()
                .filter(|l| *l < 127)
                .ok_or_else(|| std::io::Error::other("header value too long for this client"))?;
            block.push(name_index);
            block.push(length);
            block.extend_from_slice(value.as_bytes());
        }
        write_frame(
            &mut self.stream,
            HEADERS,
            END_STREAM | END_HEADERS,
            id,
            &block,
        )
        .await?;
        let mut status = 0;
        loop {
            let Some(frame) = self.next_frame().await? else {
                return Ok(status);
            };
            if frame.stream != id {
                continue;
            }
            if frame.kind == HEADERS && status == 0 {
                status = static_status(&frame.payload);
            }
            if matches!(frame.kind, HEADERS | DATA) && frame.flags & END_STREAM != 0 {
                return Ok(status);
            }
        }
    }

    /// Reads (and acks) frames until the server closes the connection or `limit` passes.
    pub async fn until_closed(&mut self, limit: Duration) -> Ending {
        let closed = tokio::time::timeout(limit, async {
            while let Ok(Some(_)) = self.next_frame().await {}
        })
        .await
        .is_ok();
        Ending {
            goaway: self.goaway,
            closed,
        }
    }

    /// The next frame, after answering it if it asks for an ack; `None` once the server closed.
    async fn next_frame(&mut self) -> std::io::Result<Option<Frame>> {
        let mut header = [0u8; 9];
        match self.stream.read_exact(&mut header).await {
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                return Ok(None)
            }
            Err(error) => return Err(error),
        }
        let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let stream = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
        let mut payload = vec![0; length];
        if let Err(error) = self.stream.read_exact(&mut payload).await {
            return match error.kind() {
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => Ok(None),
                _ => Err(error),
            };
        }
        let frame = Frame {
            kind: header[3],
            flags: header[4],
            stream,
            payload,
        };
        // A write may fail once the server is closing; the next read then reports the close.
        match frame.kind {
            SETTINGS if frame.flags & ACK == 0 => {
                self.settings
                    .extend(frame.payload.chunks_exact(6).map(|setting| {
                        (
                            u16::from_be_bytes([setting[0], setting[1]]),
                            u32::from_be_bytes([setting[2], setting[3], setting[4], setting[5]]),
                        )
                    }));
                let _ = write_frame(&mut self.stream, SETTINGS, ACK, 0, &[]).await;
            }
            PING if frame.flags & ACK == 0 => {
                let _ = write_frame(&mut self.stream, PING, ACK, 0, &frame.payload).await;
            }
            GOAWAY => self.goaway = true,
            _ => {}
        }
        Ok(Some(frame))
    }
}

async fn write_frame(
    stream: &mut TcpStream,
    kind: u8,
    flags: u8,
    id: u32,
    payload: &[u8],
) -> std::io::Result<()> {
    let length = u32::try_from(payload.len())
        .map_err(|_| std::io::Error::other("frame too long"))?
        .to_be_bytes();
    let mut frame = vec![length[1], length[2], length[3], kind, flags];
    frame.extend_from_slice(&id.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame).await
}

/// The status of a response header block whose first field is an indexed `:status` of the static
/// table (entries 8 to 14), as servers send common statuses; 0 otherwise.
fn static_status(block: &[u8]) -> u16 {
    match block.first().filter(|b| *b & 0x80 != 0).map(|b| b & 0x7f) {
        Some(8) => 200,
        Some(9) => 204,
        Some(10) => 206,
        Some(11) => 304,
        Some(12) => 400,
        Some(13) => 404,
        Some(14) => 500,
        _ => 0,
    }
}
