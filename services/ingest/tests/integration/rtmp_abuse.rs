//! Malformed and hostile RTMP clients, each next to an honest ffmpeg publish that must keep
//! delivering media: the ingest closes the bad connection, stays up, and nobody else notices.

use std::time::Duration;

use crate::rtmp_support::*;
use ferrocast_testkit::Platform;
use rand::{rngs::StdRng, RngCore, SeedableRng};
use tokio::{io::AsyncWriteExt, net::TcpStream};

/// An ingest with one honest publisher already flowing.
struct Scene {
    ingest: Ingest,
    user: TestUser,
    _users: Platform,
    _rooms: Rooms,
    _ffmpeg: tokio::process::Child,
}

async fn honest_scene(tweak: impl FnOnce(&mut ferrocast_ingest::Config)) -> Scene {
    let (users, user, rooms, ingest) = publishing(15, tweak).await;
    let ffmpeg = ffmpeg_publish(&ingest.url(&user.key));
    assert!(
        video_flows(&ingest, &user.username, 0, 15).await,
        "honest stream starts"
    );
    Scene {
        ingest,
        user,
        _users: users,
        _rooms: rooms,
        _ffmpeg: ffmpeg,
    }
}

impl Scene {
    /// The honest stream still delivers video after the abuse.
    async fn assert_honest_stream_flows(&self) {
        let before = self.ingest.transcoder.received(&self.user.username).video;
        assert!(
            video_flows(&self.ingest, &self.user.username, before, 15).await,
            "honest stream keeps flowing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_megabyte_of_random_bytes_is_closed_and_others_flow() {
    let scene = honest_scene(|_| {}).await;
    let mut random = vec![0u8; 1024 * 1024];
    StdRng::seed_from_u64(7).fill_bytes(&mut random);

    // Straight at the handshake.
    let mut raw = TcpStream::connect(scene.ingest.rtmp_addr).await.unwrap();
    let _ = raw.write_all(&random).await;
    assert!(closed_within(&mut raw, Duration::from_secs(3)).await);

    // After a valid handshake, at the chunk parser.
    let mut client = rtmp::handshaken(scene.ingest.rtmp_addr).await.unwrap();
    let _ = client.write_all(&random).await;
    assert!(closed_within(&mut client, Duration::from_secs(3)).await);

    scene.assert_honest_stream_flows().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_that_stops_halfway_is_closed_after_the_timeout() {
    let scene = honest_scene(|c| c.rtmp.handshake_timeout = Duration::from_millis(800)).await;
    let mut stalled = TcpStream::connect(scene.ingest.rtmp_addr).await.unwrap();
    // C0 and half of C1, then silence.
    let mut half = vec![3u8];
    half.extend(vec![0u8; 768]);
    stalled.write_all(&half).await.unwrap();
    let started = std::time::Instant::now();
    assert!(closed_within(&mut stalled, Duration::from_secs(3)).await);
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    scene.assert_honest_stream_flows().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_chunk_size_0x7fffffff_is_refused() {
    let scene = honest_scene(|_| {}).await;
    let mut client = rtmp::handshaken(scene.ingest.rtmp_addr).await.unwrap();
    let message = rtmp::chunked(2, 0, 1, 0, &0x7FFF_FFFFu32.to_be_bytes(), 128);
    client.write_all(&message).await.unwrap();
    // A large message that rml would otherwise read as one chunk.
    let _ = client
        .write_all(&rtmp::chunked(3, 0, 20, 0, &vec![0u8; 4096], 128))
        .await;
    assert!(closed_within(&mut client, Duration::from_secs(3)).await);
    scene.assert_honest_stream_flows().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_deep_amf_object_in_connect_is_refused() {
    // Raise the pre-auth message cap so the depth check, not the size cap, is what refuses it.
    let scene = honest_scene(|c| c.rtmp.max_unauthenticated_message_bytes = 1024 * 1024).await;
    let mut amf = vec![0x02, 0, 7];
    amf.extend_from_slice(b"connect");
    amf.push(0x00);
    amf.extend_from_slice(&1f64.to_be_bytes());
    for _ in 0..10_000 {
        amf.extend_from_slice(&[0x03, 0, 1, b'a']);
    }
    amf.push(0x05);
    for _ in 0..10_000 {
        amf.extend_from_slice(&[0, 0, 0x09]);
    }
    let mut client = rtmp::handshaken(scene.ingest.rtmp_addr).await.unwrap();
    let _ = client
        .write_all(&rtmp::chunked(3, 0, 20, 0, &amf, 128))
        .await;
    assert!(closed_within(&mut client, Duration::from_secs(3)).await);
    scene.assert_honest_stream_flows().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_idle_connections_are_closed_and_the_per_ip_cap_holds() {
    let per_ip = 20;
    let scene = honest_scene(|c| {
        c.rtmp.max_connections_per_ip = per_ip;
        c.rtmp.handshake_timeout = Duration::from_millis(2_500);
    })
    .await;

    let mut idle = Vec::with_capacity(500);
    for _ in 0..500 {
        if let Ok(stream) = TcpStream::connect(scene.ingest.rtmp_addr).await {
            idle.push(stream);
        }
    }
    assert!(idle.len() >= 450, "{} connected", idle.len());
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Over the cap they were closed at once; within it they wait for the handshake timeout.
    // The honest publisher holds one of the address's slots.
    let mut still_open = 0;
    for stream in &mut idle {
        if !closed_within(stream, Duration::from_millis(1)).await {
            still_open += 1;
        }
    }
    assert!(still_open < per_ip, "{still_open} open, cap {per_ip}");
    assert!(still_open > 0, "some were admitted");
    for stream in &mut idle {
        assert!(closed_within(stream, Duration::from_secs(4)).await);
    }
    scene.assert_honest_stream_flows().await;

    // Slots were given back: a new connection is admitted again.
    let mut fresh = TcpStream::connect(scene.ingest.rtmp_addr).await.unwrap();
    assert!(
        !closed_within(&mut fresh, Duration::from_millis(200)).await,
        "admitted again"
    );
}
