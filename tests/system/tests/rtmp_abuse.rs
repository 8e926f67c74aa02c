//! P2, end-to-end: malformed RTMP against a running ingest over TCP while an honest ffmpeg
//! publish runs. Every hostile connection must be closed (or its input handled), the process
//! must stay up — a stack overflow or abort would take this whole test process with it — and
//! the honest stream must keep producing segments. (The guard's own fuzzing is the ingest's.)
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ferrocast_testkit::eventually;
use ferrocast_testkit::{
    heavy, hls, publisher,
    rtmp::{self, chunked, msg, Amf},
    Options, Platform,
};
use tokio::{io::AsyncWriteExt, net::TcpStream};

/// How one hostile connection ended.
#[derive(Debug)]
struct Outcome {
    case: &'static str,
    closed: bool,
    publish_started: bool,
}

/// Writes `bytes` (ignoring a reset midway: the server may close early) and waits for the close.
async fn send_and_watch(mut stream: TcpStream, bytes: &[u8], limit: Duration) -> (bool, Vec<u8>) {
    for piece in bytes.chunks(64 * 1024) {
        if stream.write_all(piece).await.is_err() {
            break;
        }
    }
    rtmp::closed_within(&mut stream, limit).await
}

fn connect() -> Vec<u8> {
    chunked(
        3,
        0,
        msg::AMF0_COMMAND,
        0,
        &rtmp::connect_command("live"),
        128,
    )
}

/// A `connect` command whose object nests `depth` levels deep (rml_amf0 recurses without limit).
fn nested_connect(depth: usize) -> Vec<u8> {
    let mut payload = rtmp::amf0(&[Amf::Str("connect".into()), Amf::Number(1.0)]);
    for _ in 0..depth {
        payload.extend_from_slice(&[0x03, 0x00, 0x01, b'a']);
    }
    payload.push(0x05);
    for _ in 0..depth {
        payload.extend_from_slice(&[0, 0, 0x09]);
    }
    chunked(3, 0, msg::AMF0_COMMAND, 0, &payload, 128)
}

/// The hostile inputs sent right after the handshake: (case, bytes).
fn pre_auth_cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut cases = Vec::new();

    // Chunk-size bomb: Set Chunk Size 2^31-1, then a message that would be one huge chunk.
    let mut bomb = chunked(
        2,
        0,
        msg::SET_CHUNK_SIZE,
        0,
        &0x7FFF_FFFFu32.to_be_bytes(),
        128,
    );
    bomb.extend(chunked(
        3,
        0,
        msg::AMF0_COMMAND,
        0,
        &vec![0u8; 4096],
        0x7FFF_FFFF,
    ));
    cases.push(("chunk-size bomb (2^31-1)", bomb));
    cases.push((
        "chunk size zero",
        chunked(2, 0, msg::SET_CHUNK_SIZE, 0, &0u32.to_be_bytes(), 128),
    ));

    // A non-media message declaring 16 MiB - 1, followed by 256 kB of it.
    let mut big = vec![
        0x03,
        0,
        0,
        0,
        0xFF,
        0xFF,
        0xFF,
        msg::AMF0_COMMAND,
        0,
        0,
        0,
        0,
    ];
    big.extend(std::iter::repeat_n(0u8, 128));
    for _ in 0..2048 {
        big.push(0xC3);
        big.extend(std::iter::repeat_n(0u8, 128));
    }
    cases.push(("declared 16 MiB command", big));

    // Interleaved chunk streams: a 300-byte message on csid 3, a chunk of csid 4 in between.
    let payload = rtmp::connect_command("live");
    let mut padded = payload.clone();
    padded.resize(300, 0x05);
    let whole = chunked(3, 0, msg::AMF0_COMMAND, 0, &padded, 128);
    let mut interleaved = whole[..12 + 128].to_vec();
    interleaved.extend(chunked(4, 0, msg::AMF0_COMMAND, 0, &payload, 128));
    interleaved.extend_from_slice(&whole[12 + 128..]);
    cases.push(("interleaved chunk streams", interleaved));

    // A new header on the same chunk stream shrinking the message mid-way (rml underflow).
    let mut shrink = whole[..12 + 128].to_vec();
    shrink.extend(chunked(3, 0, msg::AMF0_COMMAND, 0, &[0x05; 10], 128));
    cases.push(("length shrinks mid-message", shrink));

    // Continuation header on a chunk stream never opened.
    cases.push(("fmt-3 on an unknown chunk stream", vec![0xC9; 64]));

    // Unknown message types before connect.
    let mut unknown = Vec::new();
    for type_id in [0x00u8, 0x07, 0x0B, 0x1F, 0x30, 0x7F, 0xFF] {
        unknown.extend(chunked(5, 0, type_id, 0, &[1, 2, 3, 4], 128));
    }
    cases.push(("unknown message types", unknown));

    // Publish (and createStream) before connect.
    let mut early = chunked(
        3,
        0,
        msg::AMF0_COMMAND,
        0,
        &rtmp::create_stream_command(2.0),
        128,
    );
    early.extend(chunked(
        4,
        0,
        msg::AMF0_COMMAND,
        1,
        &rtmp::publish_command("live_0123456789abcdefghijklmnopqrstuv"),
        128,
    ));
    cases.push(("publish before connect", early));

    // createStream flood after connect.
    let mut flood = connect();
    for i in 0..5_000 {
        flood.extend(chunked(
            3,
            0,
            msg::AMF0_COMMAND,
            0,
            &rtmp::create_stream_command(f64::from(i) + 2.0),
            128,
        ));
    }
    cases.push(("createStream flood (5000)", flood));

    // AMF nesting bomb in the connect command.
    cases.push(("AMF0 nesting 100 000 deep", nested_connect(100_000)));
    // Strict array claiming 2^32-1 elements.
    let mut strict = rtmp::amf0(&[Amf::Str("connect".into()), Amf::Number(1.0)]);
    strict.extend_from_slice(&[0x0A, 0xFF, 0xFF, 0xFF, 0xFF]);
    cases.push((
        "strict array of 2^32-1 elements",
        chunked(3, 0, msg::AMF0_COMMAND, 0, &strict, 128),
    ));
    // Plain garbage.
    cases.push((
        "random bytes",
        (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
    ));
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p2_malformed_rtmp_is_closed_and_an_honest_publish_keeps_producing_segments() {
    let _heavy = heavy().await;
    let platform = Platform::start(Options::default()).await.unwrap();
    let honest = platform.streamer().await;
    let attacker = platform.streamer().await;
    let _ffmpeg = publisher::publish(&platform.rtmp_url(&honest.key));
    let origin = platform.hls_url("");
    let variant = hls::wait_for_segments(
        &platform.http,
        &origin,
        &honest.username,
        2,
        Duration::from_secs(30),
    )
    .await
    .expect("honest segments");
    let sequence = || async {
        hls::playlist(&platform.http, &origin, &honest.username, &variant)
            .await
            .map_or(0, |p| p.next_sequence())
    };
    let before = sequence().await;
    let addr = platform.ingest_rtmp.unwrap();

    let mut outcomes = Vec::new();
    // A handshake that is not RTMP (version byte 0xFF, short C1).
    {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (closed, _) = send_and_watch(stream, &[0xFF; 1537], Duration::from_secs(5)).await;
        outcomes.push(Outcome {
            case: "bad handshake",
            closed,
            publish_started: false,
        });
    }
    // Pre-authentication cases, all at once (the way an attacker would).
    let cases = pre_auth_cases();
    let results = futures::future::join_all(cases.iter().map(|(_, bytes)| async move {
        let stream = rtmp::handshaken(addr).await.unwrap();
        send_and_watch(stream, bytes, Duration::from_secs(8)).await
    }))
    .await;
    for ((case, _), (closed, answer)) in cases.iter().zip(results) {
        outcomes.push(Outcome {
            case,
            closed,
            publish_started: rtmp::contains(&answer, "onStatus")
                && rtmp::contains(&answer, "NetStream.Publish.Start"),
        });
    }

    // After a real publish: timestamps that wrap around 2^32, then unknown message types.
    let publish = rtmp::publish(addr, "live", &attacker.key).await.unwrap();
    assert!(publish.started, "the attacker's own key publishes");
    let mut media = Vec::new();
    // An AVC sequence header the pipeline cannot read, then frames around the wrap.
    media.extend(chunked(
        6,
        0,
        msg::VIDEO,
        1,
        &[0x17, 0, 0, 0, 0, 1, 2, 3],
        128,
    ));
    for timestamp in [
        0xFFFF_FF00u32,
        0xFFFF_FFF0,
        0xFFFF_FFFF,
        0,
        5,
        0x00FF_FFFF,
        0x0100_0000,
    ] {
        media.extend(chunked(
            6,
            timestamp,
            msg::VIDEO,
            1,
            &[0x27, 1, 0, 0, 0, 9, 9],
            128,
        ));
        media.extend(chunked(
            7,
            timestamp,
            msg::AUDIO,
            1,
            &[0xAF, 1, 0x21, 0x10],
            128,
        ));
    }
    for type_id in [0x00u8, 0x07, 0x1F, 0x7F] {
        media.extend(chunked(5, 0, type_id, 1, &[1, 2, 3, 4], 128));
    }
    let (closed, _) = send_and_watch(publish.stream, &media, Duration::from_secs(8)).await;
    outcomes.push(Outcome {
        case: "timestamp wrap and unknown types while publishing",
        closed,
        publish_started: true,
    });
    // That session must not leave a room behind once its connection is gone.
    let attacker_room_gone = platform
        .wait_live(&attacker.username, false, Duration::from_secs(8))
        .await;

    eprintln!("P2 outcomes:");
    for outcome in &outcomes {
        eprintln!("  {outcome:?}");
    }
    let produced = eventually(Duration::from_secs(10), || async {
        sequence().await >= before + 5
    })
    .await;
    let after = sequence().await;
    eprintln!("P2: honest playlist went from sequence {before} to {after} during the attacks");

    let open: Vec<_> = outcomes
        .iter()
        .filter(|o| !o.closed)
        .map(|o| o.case)
        .collect();
    assert!(open.is_empty(), "hostile connections left open: {open:?}");
    let started: Vec<_> = outcomes
        .iter()
        .filter(|o| o.publish_started && !o.case.contains("while publishing"))
        .map(|o| o.case)
        .collect();
    assert!(
        started.is_empty(),
        "hostile input reached a publish: {started:?}"
    );
    assert!(attacker_room_gone, "the hostile session's room stayed");
    assert!(produced, "the honest stream stalled: {before} → {after}");
    // The ingest still accepts new publishers.
    let again = platform.streamer().await;
    let publish = rtmp::publish(addr, "live", &again.key).await.unwrap();
    assert!(publish.started, "the ingest no longer accepts publishes");
}
