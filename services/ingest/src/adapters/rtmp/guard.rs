//! The validating layer in front of rml_rtmp: every byte a peer sends after the handshake passes
//! through [`ChunkGuard::feed`] before `ServerSession::handle_input` sees it.
//!
//! The guard parses the RTMP chunk stream exactly as rml_rtmp 0.8's `ChunkDeserializer` does —
//! including its model of one message in progress at a time, which is how ffmpeg and OBS send —
//! and refuses what would crash or bloat rml (see /work/shared/SECURITY-NOTES.md):
//! - a header that changes a message's length or type mid-message, or a chunk of another chunk
//!   stream in the middle of one (rml's `message_length - payload_so_far` underflow);
//! - an extended timestamp below 0xFFFFFF on a delta header (rml's `timestamp - 0xFFFFFF`);
//! - Set Chunk Size outside `1..=max_chunk_size`, Window Acknowledgement Size above 2^31;
//! - messages longer than the cap for their type (media vs everything else; tighter before the
//!   publish is authorised), and more chunk streams than `max_chunk_streams`;
//! - AMF0 commands and data nested deeper than `max_amf_depth`, strict arrays that claim more
//!   elements than bytes, and commands / `@setDataFrame` with fewer values than rml indexes.
//!
//! Memory stays bounded: headers are at most 18 bytes, only non-media messages are buffered
//! (up to their cap), and the chunk-stream table is capped. Pure logic, no I/O.

use std::collections::HashMap;

use bytes::Bytes;

use super::amf::{self, AmfError};

/// rml_rtmp's initial chunk size (the RTMP default).
const INITIAL_CHUNK_SIZE: u32 = 128;
/// A 24-bit timestamp field of all ones announces an extended timestamp.
const EXTENDED_TIMESTAMP_MARK: u32 = 0x00FF_FFFF;
/// Largest basic (3) + message (11) + extended timestamp (4) header.
const MAX_HEADER: usize = 18;

mod message_type {
    pub const SET_CHUNK_SIZE: u8 = 1;
    pub const WINDOW_ACK_SIZE: u8 = 5;
    pub const AUDIO: u8 = 8;
    pub const VIDEO: u8 = 9;
    pub const AMF3_DATA: u8 = 15;
    pub const AMF3_COMMAND: u8 = 17;
    pub const AMF0_DATA: u8 = 18;
    pub const AMF0_COMMAND: u8 = 20;
}

/// Limits of one connection's chunk stream.
#[derive(Debug, Clone)]
pub struct GuardLimits {
    /// Largest chunk size the peer may announce.
    pub max_chunk_size: u32,
    /// Largest non-media message (commands, data, control).
    pub max_message_bytes: u32,
    /// Largest audio/video message once the publish is authorised.
    pub max_media_message_bytes: u32,
    /// Largest message of any type before the publish is authorised: a `connect` is well under
    /// a kilobyte, so an anonymous peer cannot make rml buffer megabytes.
    pub max_unauthenticated_message_bytes: u32,
    pub max_chunk_streams: usize,
    pub max_amf_depth: usize,
    /// Commands per connection; each `createStream`/`publish` grows rml's tables.
    pub max_commands: u32,
}

impl Default for GuardLimits {
    fn default() -> Self {
        Self {
            max_chunk_size: 65_536,
            max_message_bytes: 1024 * 1024,
            max_media_message_bytes: 8 * 1024 * 1024,
            max_unauthenticated_message_bytes: 64 * 1024,
            max_chunk_streams: 64,
            max_amf_depth: 16,
            max_commands: 256,
        }
    }
}

/// Why a chunk stream was refused. The text never contains payload bytes (a `publish` command
/// carries the stream key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("set chunk size {0} out of range")]
    ChunkSizeOutOfRange(u32),
    #[error("malformed control message of type {0}")]
    BadControlMessage(u8),
    #[error("message of type {type_id} with length {length} exceeds the cap")]
    MessageTooLarge { type_id: u8, length: u32 },
    #[error("chunk of another chunk stream in the middle of a message")]
    Interleaved,
    #[error("header changes message length or type mid-message")]
    HeaderChangedMidMessage,
    #[error("continuation header on an unknown chunk stream")]
    UnknownChunkStream,
    #[error("too many chunk streams")]
    TooManyChunkStreams,
    #[error("extended timestamp delta below 0xFFFFFF")]
    BadExtendedTimestamp,
    #[error("too many commands on one connection")]
    TooManyCommands,
    #[error("command or data message with too few values")]
    TooFewValues,
    #[error(transparent)]
    Amf(#[from] AmfError),
}

impl GuardError {
    /// Low-cardinality label for the rejection metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::ChunkSizeOutOfRange(_) => "chunk_size",
            Self::BadControlMessage(_) => "control_message",
            Self::MessageTooLarge { .. } => "message_too_large",
            Self::Interleaved => "interleaved",
            Self::HeaderChangedMidMessage => "header_changed",
            Self::UnknownChunkStream => "unknown_chunk_stream",
            Self::TooManyChunkStreams => "too_many_chunk_streams",
            Self::BadExtendedTimestamp => "extended_timestamp",
            Self::TooManyCommands => "too_many_commands",
            Self::TooFewValues => "amf_too_few_values",
            Self::Amf(AmfError::TooDeep(_)) => "amf_too_deep",
            Self::Amf(AmfError::ArrayCountTooLarge) => "amf_array_count",
            Self::Amf(AmfError::Malformed) => "amf_malformed",
        }
    }
}

/// Something the guard saw that the session wants and rml does not hand out raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardEvent {
    /// A complete `@setDataFrame`/`onMetaData` data message; `body` is the FLV script tag body
    /// (`onMetaData` + its array). `end` is the offset in the fed slice just past its last byte,
    /// so the caller can hand rml the bytes up to there first and keep the order of messages.
    Metadata { end: usize, body: Bytes },
}

/// The header state rml keeps per chunk stream.
#[derive(Debug, Clone, Copy)]
struct StreamHeader {
    timestamp_field: u32,
    length: u32,
    type_id: u8,
}

/// The one message rml has in progress.
#[derive(Debug)]
struct Partial {
    csid: u32,
    received: u32,
}

#[derive(Debug)]
enum Stage {
    Header,
    /// Payload bytes of the current chunk still to come.
    Payload {
        left: u32,
    },
}

/// Incremental validator of one connection's chunk stream (after the handshake).
#[derive(Debug)]
pub struct ChunkGuard {
    limits: GuardLimits,
    authenticated: bool,
    chunk_size: u32,
    streams: HashMap<u32, StreamHeader>,
    stage: Stage,
    header: [u8; MAX_HEADER],
    header_len: usize,
    /// Chunk stream and header of the chunk being read.
    current: Option<(u32, StreamHeader)>,
    partial: Option<Partial>,
    /// Body of the current message when it is one the guard must inspect.
    body: Vec<u8>,
    commands: u32,
}

impl ChunkGuard {
    pub fn new(limits: GuardLimits) -> Self {
        Self {
            limits,
            authenticated: false,
            chunk_size: INITIAL_CHUNK_SIZE,
            streams: HashMap::new(),
            stage: Stage::Header,
            header: [0; MAX_HEADER],
            header_len: 0,
            current: None,
            partial: None,
            body: Vec::new(),
            commands: 0,
        }
    }

    /// Raises the message caps to the authorised ones (media up to `max_media_message_bytes`).
    pub fn authorise(&mut self) {
        self.authenticated = true;
    }

    /// Validates `input`, the next bytes from the peer. `Ok` means rml may see all of them.
    pub fn feed(&mut self, input: &[u8]) -> Result<Vec<GuardEvent>, GuardError> {
        let mut events = Vec::new();
        let mut pos = 0;
        while pos < input.len() {
            match self.stage {
                Stage::Header => {
                    let byte = input[pos];
                    pos += 1;
                    self.header[self.header_len] = byte;
                    self.header_len += 1;
                    if let Some(event) = self.try_header()? {
                        events.push(self.locate(event, pos));
                    }
                }
                Stage::Payload { left } => {
                    let take = (left as usize).min(input.len() - pos);
                    if self.is_buffered() {
                        self.body.extend_from_slice(&input[pos..pos + take]);
                    }
                    pos += take;
                    // `take` ≤ `left`, a u32.
                    let left = left - take as u32;
                    if left > 0 {
                        self.stage = Stage::Payload { left };
                    } else if let Some(event) = self.end_of_chunk()? {
                        events.push(self.locate(event, pos));
                    }
                }
            }
        }
        Ok(events)
    }

    fn locate(&self, event: GuardEvent, end: usize) -> GuardEvent {
        match event {
            GuardEvent::Metadata { body, .. } => GuardEvent::Metadata { end, body },
        }
    }

    /// How many header bytes the chunk at hand needs, once enough is known; then decodes it.
    fn try_header(&mut self) -> Result<Option<GuardEvent>, GuardError> {
        let h = &self.header[..self.header_len];
        let fmt = h[0] >> 6;
        let basic = match h[0] & 0x3f {
            0 => 2,
            1 => 3,
            _ => 1,
        };
        if h.len() < basic {
            return Ok(None);
        }
        let csid = match basic {
            2 => u32::from(h[1]) + 64,
            3 => u32::from(h[2]) * 256 + u32::from(h[1]) + 64,
            _ => u32::from(h[0] & 0x3f),
        };
        let message_header = [11, 7, 3, 0][usize::from(fmt)];
        if h.len() < basic + message_header {
            return Ok(None);
        }
        let previous = self.streams.get(&csid).copied();
        let m = &h[basic..];
        let u24 = |b: &[u8]| u32::from_be_bytes([0, b[0], b[1], b[2]]);
        let header = match (fmt, previous) {
            (0, _) => StreamHeader {
                timestamp_field: u24(&m[0..3]),
                length: u24(&m[3..6]),
                type_id: m[6],
            },
            (_, None) => return Err(GuardError::UnknownChunkStream),
            (1, Some(_)) => StreamHeader {
                timestamp_field: u24(&m[0..3]),
                length: u24(&m[3..6]),
                type_id: m[6],
            },
            (2, Some(p)) => StreamHeader {
                timestamp_field: u24(&m[0..3]),
                ..p
            },
            (_, Some(p)) => p,
        };
        let extended = header.timestamp_field >= EXTENDED_TIMESTAMP_MARK;
        let total = basic + message_header + if extended { 4 } else { 0 };
        if h.len() < total {
            return Ok(None);
        }
        if extended && fmt != 0 {
            let e = &h[basic + message_header..total];
            if u32::from_be_bytes([e[0], e[1], e[2], e[3]]) < EXTENDED_TIMESTAMP_MARK {
                return Err(GuardError::BadExtendedTimestamp);
            }
        }
        self.header_len = 0;
        self.start_chunk(csid, header)
    }

    fn start_chunk(
        &mut self,
        csid: u32,
        header: StreamHeader,
    ) -> Result<Option<GuardEvent>, GuardError> {
        if previous_is_new(&self.streams, csid)
            && self.streams.len() >= self.limits.max_chunk_streams
        {
            return Err(GuardError::TooManyChunkStreams);
        }
        let received = match &self.partial {
            Some(partial) => {
                if partial.csid != csid {
                    return Err(GuardError::Interleaved);
                }
                let before = self.streams.get(&csid).copied();
                if before.is_none_or(|b| b.length != header.length || b.type_id != header.type_id) {
                    return Err(GuardError::HeaderChangedMidMessage);
                }
                partial.received
            }
            None => {
                self.check_length(header)?;
                self.body.clear();
                0
            }
        };
        self.streams.insert(csid, header);
        self.current = Some((csid, header));
        // rml: the whole message when it fits one chunk, else up to a chunk of what is left.
        let left = if header.length > self.chunk_size {
            (header.length - received).min(self.chunk_size)
        } else {
            header.length
        };
        if left == 0 {
            return self.end_of_chunk();
        }
        self.stage = Stage::Payload { left };
        Ok(None)
    }

    fn check_length(&self, header: StreamHeader) -> Result<(), GuardError> {
        let cap = if !self.authenticated {
            self.limits.max_unauthenticated_message_bytes
        } else if matches!(header.type_id, message_type::AUDIO | message_type::VIDEO) {
            self.limits.max_media_message_bytes
        } else {
            self.limits.max_message_bytes
        };
        if header.length > cap {
            return Err(GuardError::MessageTooLarge {
                type_id: header.type_id,
                length: header.length,
            });
        }
        Ok(())
    }

    /// Media is the only thing the guard streams through without looking at it.
    fn is_buffered(&self) -> bool {
        self.current
            .is_some_and(|(_, h)| !matches!(h.type_id, message_type::AUDIO | message_type::VIDEO))
    }

    fn end_of_chunk(&mut self) -> Result<Option<GuardEvent>, GuardError> {
        self.stage = Stage::Header;
        let Some((csid, header)) = self.current.take() else {
            return Ok(None);
        };
        let received = self.partial.take().map_or(0, |p| p.received);
        let chunk = if header.length > self.chunk_size {
            (header.length - received).min(self.chunk_size)
        } else {
            header.length
        };
        let received = received + chunk;
        if received < header.length {
            self.partial = Some(Partial { csid, received });
            return Ok(None);
        }
        let body = std::mem::take(&mut self.body);
        let event = self.complete(header.type_id, &body);
        // Keep the allocation for the next message, within the cap it already respected.
        self.body = body;
        self.body.clear();
        event
    }

    /// A whole message arrived: check what rml will do with it.
    fn complete(&mut self, type_id: u8, body: &[u8]) -> Result<Option<GuardEvent>, GuardError> {
        match type_id {
            message_type::SET_CHUNK_SIZE => {
                let size = read_u32(body).ok_or(GuardError::BadControlMessage(type_id))?;
                if size == 0 || size > self.limits.max_chunk_size {
                    return Err(GuardError::ChunkSizeOutOfRange(size));
                }
                self.chunk_size = size;
                Ok(None)
            }
            message_type::WINDOW_ACK_SIZE => {
                // rml adds every read's length to a u32 until it reaches this size.
                match read_u32(body) {
                    Some(size) if size <= 1 << 31 => Ok(None),
                    _ => Err(GuardError::BadControlMessage(type_id)),
                }
            }
            message_type::AMF0_COMMAND | message_type::AMF3_COMMAND => {
                self.commands += 1;
                if self.commands > self.limits.max_commands {
                    return Err(GuardError::TooManyCommands);
                }
                // rml strips the AMF3 marker byte only when it is zero.
                let amf = if type_id == message_type::AMF3_COMMAND && body.first() == Some(&0) {
                    &body[1..]
                } else {
                    body
                };
                let summary = amf::check(amf, self.limits.max_amf_depth)?;
                // rml: `arguments.drain(..3)` panics on fewer.
                if summary.top_level_values < 3 {
                    return Err(GuardError::TooFewValues);
                }
                Ok(None)
            }
            message_type::AMF0_DATA | message_type::AMF3_DATA => {
                // rml decodes type 15 as AMF0 from the first byte, marker or not.
                let summary = amf::check(body, self.limits.max_amf_depth)?;
                match summary.first_string.as_deref() {
                    Some(b"@setDataFrame") => {
                        // rml: `data[0]` then `data.remove(1)` after dropping the first value.
                        if summary.top_level_values < 3 {
                            return Err(GuardError::TooFewValues);
                        }
                        let body = Bytes::copy_from_slice(&body[summary.first_value_end..]);
                        Ok(Some(GuardEvent::Metadata { end: 0, body }))
                    }
                    Some(b"onMetaData") => Ok(Some(GuardEvent::Metadata {
                        end: 0,
                        body: Bytes::copy_from_slice(body),
                    })),
                    _ => Ok(None),
                }
            }
            _ => Ok(None),
        }
    }
}

fn previous_is_new(streams: &HashMap<u32, StreamHeader>, csid: u32) -> bool {
    !streams.contains_key(&csid)
}

/// rml reads the first four bytes and ignores the rest; a well-formed message has exactly four.
fn read_u32(body: &[u8]) -> Option<u32> {
    match body {
        [a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
