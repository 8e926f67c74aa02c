//! Randomized robustness of guard + rml_rtmp under `cargo test` (the CI stand-in for the
//! `cargo fuzz` targets): valid encoder sessions, mutated and re-chunked with a fixed seed, must
//! never panic — in debug builds that includes every integer overflow inside rml.

use bytes::Bytes;
use ferrocast_ingest::adapters::rtmp::harness::{guard_only, guard_then_session, Outcome};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rml_rtmp::{
    chunk_io::ChunkSerializer,
    messages::{MessagePayload, RtmpMessage},
    rml_amf0::Amf0Value,
    time::RtmpTimestamp,
};

fn message(
    serializer: &mut ChunkSerializer,
    message: RtmpMessage,
    stream: u32,
    ts: u32,
) -> Vec<u8> {
    let payload =
        MessagePayload::from_rtmp_message(message, RtmpTimestamp::new(ts), stream).unwrap();
    serializer.serialize(&payload, false, false).unwrap().bytes
}

fn command(name: &str, id: f64, object: Amf0Value, args: Vec<Amf0Value>) -> RtmpMessage {
    RtmpMessage::Amf0Command {
        command_name: name.into(),
        transaction_id: id,
        command_object: object,
        additional_arguments: args,
    }
}

/// What an encoder sends after the handshake: connect, chunk size, createStream, publish,
/// metadata, audio and video, unpublish.
fn encoder_session(chunk_size: u32) -> Vec<u8> {
    let mut s = ChunkSerializer::new();
    let mut app = std::collections::HashMap::new();
    app.insert("app".to_string(), Amf0Value::Utf8String("live".into()));
    let mut out = message(
        &mut s,
        command("connect", 1.0, Amf0Value::Object(app), vec![]),
        0,
        0,
    );
    out.extend(
        s.set_max_chunk_size(chunk_size, RtmpTimestamp::new(0))
            .unwrap()
            .bytes,
    );
    out.extend(message(
        &mut s,
        command("createStream", 2.0, Amf0Value::Null, vec![]),
        0,
        0,
    ));
    out.extend(message(
        &mut s,
        command(
            "publish",
            3.0,
            Amf0Value::Null,
            vec![
                Amf0Value::Utf8String("live_key".into()),
                Amf0Value::Utf8String("live".into()),
            ],
        ),
        1,
        0,
    ));
    let mut meta = std::collections::HashMap::new();
    meta.insert("width".to_string(), Amf0Value::Number(640.0));
    out.extend(message(
        &mut s,
        RtmpMessage::Amf0Data {
            values: vec![
                Amf0Value::Utf8String("@setDataFrame".into()),
                Amf0Value::Utf8String("onMetaData".into()),
                Amf0Value::Object(meta),
            ],
        },
        1,
        0,
    ));
    for i in 0..6u32 {
        let video = Bytes::from(vec![0x17; 300 + i as usize * 700]);
        out.extend(message(
            &mut s,
            RtmpMessage::VideoData { data: video },
            1,
            i * 33,
        ));
        let audio = Bytes::from(vec![0xAF; 50]);
        out.extend(message(
            &mut s,
            RtmpMessage::AudioData { data: audio },
            1,
            i * 33,
        ));
    }
    out.extend(message(
        &mut s,
        command(
            "deleteStream",
            4.0,
            Amf0Value::Null,
            vec![Amf0Value::Number(1.0)],
        ),
        0,
        0,
    ));
    out
}

/// Values that sit on the edges rml gets wrong.
const INTERESTING: &[u8] = &[
    0x00, 0x01, 0x02, 0x03, 0x09, 0x0a, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff,
];

fn mutate(rng: &mut StdRng, input: &mut Vec<u8>) {
    for _ in 0..rng.gen_range(1..6) {
        if input.is_empty() {
            input.push(rng.gen());
            continue;
        }
        let at = rng.gen_range(0..input.len());
        match rng.gen_range(0..6) {
            0 => input[at] ^= 1 << rng.gen_range(0..8),
            1 => input[at] = INTERESTING[rng.gen_range(0..INTERESTING.len())],
            2 => input.insert(at, rng.gen()),
            3 => {
                input.remove(at);
            }
            4 => input.truncate(at),
            _ => {
                // Duplicate a slice elsewhere: repeated headers, spliced chunks.
                let end = (at + rng.gen_range(1..32)).min(input.len());
                let slice = input[at..end].to_vec();
                let to = rng.gen_range(0..input.len());
                input.splice(to..to, slice);
            }
        }
    }
}

/// Cuts `input` into random-sized reads.
fn pieces<'a>(rng: &mut StdRng, input: &'a [u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let n = rng.gen_range(1..=rest.len().min(4096));
        let (piece, tail) = rest.split_at(n);
        out.push(piece);
        rest = tail;
    }
    out
}

#[test]
fn valid_encoder_sessions_pass_in_any_read_sizes() {
    let mut rng = StdRng::seed_from_u64(1);
    for chunk_size in [128, 4096, 60_000] {
        let session = encoder_session(chunk_size);
        for _ in 0..20 {
            let reads = pieces(&mut rng, &session);
            assert_eq!(
                guard_then_session(reads),
                Outcome::Accepted,
                "chunk size {chunk_size}"
            );
        }
    }
}

#[test]
fn mutated_sessions_never_panic_guard_or_rml() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let seeds = [encoder_session(128), encoder_session(4096)];
    let mut outcomes = [0usize; 3];
    for round in 0..4_000 {
        let mut input = seeds[round % seeds.len()].clone();
        mutate(&mut rng, &mut input);
        let reads = pieces(&mut rng, &input);
        let outcome = guard_then_session(reads.iter().copied());
        // The guard alone never disagrees with itself across read sizes.
        let whole = guard_only([input.as_slice()]);
        assert_eq!(guard_only(reads), whole, "round {round}");
        outcomes[outcome as usize] += 1;
    }
    // The mutations reach all three ends, so the test exercises rml and not just the guard.
    assert!(outcomes.iter().all(|&n| n > 0), "{outcomes:?}");
}

#[test]
fn random_bytes_never_panic_guard_or_rml() {
    let mut rng = StdRng::seed_from_u64(42);
    for _ in 0..2_000 {
        let len = rng.gen_range(0..2048);
        let input: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let reads = pieces(&mut rng, &input);
        let _ = guard_then_session(reads);
    }
}
