//! Unit tests of the chunk guard: what real encoders send passes (and rml reads it the same way),
//! each known rml crash path is refused before rml sees it.

use bytes::Bytes;
use rml_rtmp::{
    chunk_io::{ChunkDeserializer, ChunkSerializer},
    messages::MessagePayload,
    time::RtmpTimestamp,
};

use super::*;
use crate::adapters::rtmp::amf::tests::{nested_objects, number, object, string};

fn payload(type_id: u8, data: Vec<u8>) -> MessagePayload {
    MessagePayload {
        timestamp: RtmpTimestamp::new(0),
        type_id,
        message_stream_id: 1,
        data: Bytes::from(data),
    }
}

fn serialize(serializer: &mut ChunkSerializer, type_id: u8, data: Vec<u8>) -> Vec<u8> {
    serializer
        .serialize(&payload(type_id, data), false, false)
        .expect("serializable")
        .bytes
}

fn connect_command() -> Vec<u8> {
    let mut data = string("connect");
    data.extend(number(1.0));
    data.extend(object(&[("app", string("live"))]));
    data
}

fn set_data_frame() -> Vec<u8> {
    let mut data = string("@setDataFrame");
    data.extend(string("onMetaData"));
    data.extend(object(&[("width", number(640.0))]));
    data
}

/// A chunk stream the way ffmpeg sends it: connect, a larger chunk size, metadata, big video.
fn encoder_stream() -> Vec<u8> {
    let mut serializer = ChunkSerializer::new();
    let mut out = serialize(&mut serializer, 20, connect_command());
    out.extend(
        serializer
            .set_max_chunk_size(4096, RtmpTimestamp::new(0))
            .expect("chunk size")
            .bytes,
    );
    out.extend(serialize(&mut serializer, 18, set_data_frame()));
    for i in 0..3u8 {
        out.extend(serialize(&mut serializer, 9, vec![i; 10_000]));
        out.extend(serialize(&mut serializer, 8, vec![i; 300]));
    }
    out
}

fn authorised_guard() -> ChunkGuard {
    let mut guard = ChunkGuard::new(GuardLimits::default());
    guard.authorise();
    guard
}

/// Number of messages rml's own deserializer reads from `bytes` (applying chunk size changes).
fn rml_message_count(bytes: &[u8]) -> usize {
    let mut deserializer = ChunkDeserializer::new();
    let mut count = 0;
    let mut input = bytes;
    while let Some(message) = deserializer.get_next_message(input).expect("rml reads it") {
        if message.type_id == 1 {
            deserializer.set_max_chunk_size(4096).expect("valid size");
        }
        count += 1;
        input = &[];
    }
    count
}

#[test]
fn encoder_stream_passes_whole_and_byte_by_byte() {
    let stream = encoder_stream();
    assert_eq!(rml_message_count(&stream), 9);

    let events = authorised_guard().feed(&stream).expect("valid stream");
    assert_eq!(events.len(), 1);

    let mut guard = authorised_guard();
    let mut byte_events = Vec::new();
    for byte in &stream {
        byte_events.extend(guard.feed(std::slice::from_ref(byte)).expect("valid"));
    }
    assert_eq!(byte_events.len(), 1);
}

#[test]
fn metadata_event_carries_the_flv_script_body_and_its_end() {
    let mut serializer = ChunkSerializer::new();
    let first = serialize(&mut serializer, 20, connect_command());
    let second = serialize(&mut serializer, 18, set_data_frame());
    let mut stream = first.clone();
    stream.extend(&second);
    stream.extend(serialize(&mut serializer, 9, vec![1; 10]));

    let events = authorised_guard().feed(&stream).expect("valid");
    let expected_body = set_data_frame()[16..].to_vec();
    assert_eq!(
        events,
        vec![GuardEvent::Metadata {
            end: first.len() + second.len(),
            body: Bytes::from(expected_body),
        }]
    );
}

#[test]
fn set_chunk_size_zero_and_huge_are_refused() {
    for size in [0u32, 0x7FFF_FFFF, 65_537] {
        let mut serializer = ChunkSerializer::new();
        let bytes = serialize(&mut serializer, 1, size.to_be_bytes().to_vec());
        let result = ChunkGuard::new(GuardLimits::default()).feed(&bytes);
        assert_eq!(result, Err(GuardError::ChunkSizeOutOfRange(size)));
    }
}

#[test]
fn set_chunk_size_of_wrong_length_is_refused() {
    let mut serializer = ChunkSerializer::new();
    let bytes = serialize(&mut serializer, 1, vec![0, 0, 16]);
    let result = ChunkGuard::new(GuardLimits::default()).feed(&bytes);
    assert_eq!(result, Err(GuardError::BadControlMessage(1)));
}

/// fmt 0, csid 3, given timestamp field, length and type, message stream 1.
fn full_header(csid: u8, timestamp: u32, length: u32, type_id: u8) -> Vec<u8> {
    let mut out = vec![csid];
    out.extend_from_slice(&timestamp.to_be_bytes()[1..]);
    out.extend_from_slice(&length.to_be_bytes()[1..]);
    out.push(type_id);
    out.extend_from_slice(&1u32.to_le_bytes());
    out
}

#[test]
fn length_change_mid_message_is_refused() {
    // 200-byte video message, first 128-byte chunk, then a fmt-1 header claiming 50 bytes:
    // rml computes 50 - 128.
    let mut bytes = full_header(6, 0, 200, 9);
    bytes.extend(vec![0; 128]);
    bytes.push(0x40 | 6);
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 50, 9]);
    assert_eq!(
        authorised_guard().feed(&bytes),
        Err(GuardError::HeaderChangedMidMessage)
    );
}

#[test]
fn type_change_mid_message_is_refused() {
    // A video message that turns into an AMF0 command would skip the AMF check.
    let mut bytes = full_header(6, 0, 200, 9);
    bytes.extend(vec![0; 128]);
    bytes.push(0x40 | 6);
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 200, 20]);
    assert_eq!(
        authorised_guard().feed(&bytes),
        Err(GuardError::HeaderChangedMidMessage)
    );
}

#[test]
fn interleaved_chunk_stream_is_refused() {
    let mut bytes = full_header(6, 0, 200, 9);
    bytes.extend(vec![0; 128]);
    bytes.extend(full_header(4, 0, 10, 8));
    assert_eq!(
        authorised_guard().feed(&bytes),
        Err(GuardError::Interleaved)
    );
}

#[test]
fn continuation_on_unknown_chunk_stream_is_refused() {
    for first in [0x40 | 5, 0x80 | 5, 0xC0 | 5] {
        let result = ChunkGuard::new(GuardLimits::default()).feed(&[first, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(result, Err(GuardError::UnknownChunkStream));
    }
}

#[test]
fn chunk_streams_are_capped() {
    let mut guard = authorised_guard();
    let mut bytes = Vec::new();
    for csid in 0..=64u8 {
        // two-byte basic header: csid = 64 + byte
        bytes.push(0);
        bytes.push(csid);
        bytes.extend_from_slice(&full_header(0, 0, 1, 8)[1..]);
        bytes.push(0xAF);
    }
    assert_eq!(guard.feed(&bytes), Err(GuardError::TooManyChunkStreams));
}

#[test]
fn extended_timestamp_delta_below_the_mark_is_refused() {
    let mut bytes = full_header(6, 0, 1, 9);
    bytes.push(0x17);
    // fmt 1 with an extended delta of 5: rml computes 5 - 0xFFFFFF.
    bytes.extend_from_slice(&[0x40 | 6, 0xFF, 0xFF, 0xFF, 0, 0, 1, 9, 0, 0, 0, 5]);
    assert_eq!(
        authorised_guard().feed(&bytes),
        Err(GuardError::BadExtendedTimestamp)
    );
}

#[test]
fn extended_timestamps_are_read_like_rml() {
    // fmt 0 with an extended timestamp, a second chunk (fmt 3) repeating it.
    let mut bytes = full_header(6, 0xFF_FFFF, 200, 9);
    bytes.extend_from_slice(&0x0100_0000u32.to_be_bytes());
    bytes.extend(vec![1; 128]);
    bytes.push(0xC0 | 6);
    bytes.extend_from_slice(&0x0100_0000u32.to_be_bytes());
    bytes.extend(vec![2; 72]);
    assert_eq!(rml_message_count(&bytes), 1);
    assert_eq!(authorised_guard().feed(&bytes), Ok(vec![]));
}

#[test]
fn messages_over_their_cap_are_refused() {
    let unauthenticated =
        ChunkGuard::new(GuardLimits::default()).feed(&full_header(6, 0, 65 * 1024, 9));
    assert!(matches!(
        unauthenticated,
        Err(GuardError::MessageTooLarge { .. })
    ));

    let command = authorised_guard().feed(&full_header(3, 0, 1024 * 1024 + 1, 20));
    assert!(matches!(command, Err(GuardError::MessageTooLarge { .. })));

    let video = authorised_guard().feed(&full_header(6, 0, 8 * 1024 * 1024, 9));
    assert_eq!(video, Ok(vec![]));
}

#[test]
fn deeply_nested_connect_is_refused_before_rml() {
    let mut data = string("connect");
    data.extend(number(1.0));
    data.extend(nested_objects(10_000));
    let mut serializer = ChunkSerializer::new();
    let bytes = serialize(&mut serializer, 20, data);
    // With the default pre-auth cap the 70 kB command is already too large; the depth check
    // holds on its own too.
    assert!(ChunkGuard::new(GuardLimits::default())
        .feed(&bytes)
        .is_err());
    let roomy = GuardLimits {
        max_unauthenticated_message_bytes: 1024 * 1024,
        ..GuardLimits::default()
    };
    assert_eq!(
        ChunkGuard::new(roomy).feed(&bytes),
        Err(GuardError::Amf(AmfError::TooDeep(16)))
    );
}

#[test]
fn commands_and_set_data_frame_with_too_few_values_are_refused() {
    let mut serializer = ChunkSerializer::new();
    let short_command = serialize(&mut serializer, 20, string("connect"));
    assert_eq!(
        ChunkGuard::new(GuardLimits::default()).feed(&short_command),
        Err(GuardError::TooFewValues)
    );

    let mut serializer = ChunkSerializer::new();
    let short_frame = serialize(&mut serializer, 18, string("@setDataFrame"));
    assert_eq!(
        ChunkGuard::new(GuardLimits::default()).feed(&short_frame),
        Err(GuardError::TooFewValues)
    );

    // An empty AMF3 command (type 17) after its zero marker byte.
    let mut serializer = ChunkSerializer::new();
    let amf3 = serialize(&mut serializer, 17, vec![0]);
    assert_eq!(
        ChunkGuard::new(GuardLimits::default()).feed(&amf3),
        Err(GuardError::TooFewValues)
    );
}

#[test]
fn commands_per_connection_are_capped() {
    let limits = GuardLimits {
        max_commands: 3,
        ..GuardLimits::default()
    };
    let mut guard = ChunkGuard::new(limits);
    let mut serializer = ChunkSerializer::new();
    for _ in 0..3 {
        guard
            .feed(&serialize(&mut serializer, 20, connect_command()))
            .expect("within the cap");
    }
    let fourth = serialize(&mut serializer, 20, connect_command());
    assert_eq!(guard.feed(&fourth), Err(GuardError::TooManyCommands));
}

#[test]
fn window_ack_size_above_two_to_the_31_is_refused() {
    let mut serializer = ChunkSerializer::new();
    let bytes = serialize(&mut serializer, 5, u32::MAX.to_be_bytes().to_vec());
    assert_eq!(
        ChunkGuard::new(GuardLimits::default()).feed(&bytes),
        Err(GuardError::BadControlMessage(5))
    );
}

#[test]
fn zero_length_messages_complete_at_once() {
    let mut bytes = full_header(6, 0, 0, 9);
    bytes.extend(full_header(6, 0, 1, 9));
    bytes.push(7);
    assert_eq!(authorised_guard().feed(&bytes), Ok(vec![]));
}

#[test]
fn rml_alone_panics_on_a_short_command_the_guard_refuses() {
    use rml_rtmp::sessions::{ServerSession, ServerSessionConfig};
    let mut serializer = ChunkSerializer::new();
    let bytes = serialize(&mut serializer, 20, string("connect"));
    assert_eq!(
        ChunkGuard::new(GuardLimits::default()).feed(&bytes),
        Err(GuardError::TooFewValues)
    );
    // Proof that the check matters: rml's `drain(..3)` on a one-value command.
    let crashed = std::panic::catch_unwind(|| {
        let (mut session, _) = ServerSession::new(ServerSessionConfig::new()).expect("session");
        let _ = session.handle_input(&bytes);
    });
    assert!(crashed.is_err());
}
