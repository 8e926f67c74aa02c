//! Where the service token may and may not go (docs/reliability.md, X3): the ingest's ffmpeg,
//! which decodes what publishers send, inherits none of the ingest's environment, and every
//! service refuses a weak or public service token outside dev mode.

// A panic is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ferrocast_ingest::adapters::media::CopyMuxer;
use ferrocast_kit::config::{Secret, DEV_SERVICE_TOKEN};
use ferrocast_testkit::{eventually, heavy, process::children_named, publisher, Options, Platform};
use tokio_util::sync::CancellationToken;

/// The environment of process `pid`, as variable names.
fn environment_names(pid: u32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    raw.split(|b| *b == 0)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            entry.split_once('=').map(|(name, _)| name.to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x3_the_ingests_ffmpeg_sees_path_and_nothing_else_of_its_environment() {
    let _heavy = heavy().await;
    // The test process stands in for the ingest's: it has plenty a child must not see.
    assert!(std::env::vars().any(|(name, _)| name.starts_with("FERROCAST_TEST_")));
    let platform = Platform::start(Options {
        copy_muxer: CopyMuxer::Ffmpeg,
        ..Options::default()
    })
    .await
    .unwrap();
    let streamer = platform.streamer().await;
    let mut publisher = publisher::publish(&platform.rtmp_url(&streamer.key));

    // The pipeline's ffmpeg reads FLV from stdin: `-i pipe:0`; the publisher reads a lavfi source.
    let pipeline = || {
        children_named("ffmpeg")
            .into_iter()
            .filter(|(_, cmdline)| cmdline.contains("pipe:0"))
            .map(|(pid, _)| pid)
            .collect::<Vec<_>>()
    };
    assert!(
        eventually(Duration::from_secs(20), || async { !pipeline().is_empty() }).await,
        "the ingest started no ffmpeg"
    );
    for pid in pipeline() {
        assert_eq!(environment_names(pid), ["PATH"], "ffmpeg {pid}");
    }
    let _ = publisher.kill().await;
}

/// The start was refused, and for the service token.
fn assert_names_the_token(service: &str, token: &str, refusal: Option<String>) {
    let refusal = refusal.unwrap_or_else(|| panic!("{service} took the token {token:?}"));
    assert!(
        refusal.contains("FERROCAST_SERVICE_TOKEN"),
        "{service} refused {token:?} for another reason: {refusal}"
    );
}

#[tokio::test]
async fn x3_every_service_refuses_a_weak_or_public_service_token_outside_dev_mode() {
    let weak = ["", "short-token", DEV_SERVICE_TOKEN];
    for token in weak {
        let secret = Some(Secret::new(token));

        let mut users = ferrocast_users::Config::for_tests("mongodb://127.0.0.1:9", "x");
        users.common.dev_mode = false;
        users.tokens.jwt_secret = Some(Secret::new("j".repeat(32)));
        users.common.service_token = secret.clone();
        let refused = ferrocast_users::start(users, CancellationToken::new())
            .await
            .err()
            .map(|e| e.to_string());
        assert_names_the_token("users", token, refused);

        let mut rooms = ferrocast_rooms::Config::for_tests(
            "redis://127.0.0.1:9",
            "x:",
            "http://127.0.0.1:9",
            token,
        );
        rooms.common.dev_mode = false;
        assert_names_the_token(
            "rooms",
            token,
            rooms.validate().err().map(|e| e.to_string()),
        );

        let mut ingest =
            ferrocast_ingest::Config::for_tests("http://127.0.0.1:9", "http://127.0.0.1:9", token)
                .unwrap();
        ingest.common.dev_mode = false;
        assert_names_the_token(
            "ingest",
            token,
            ingest.validate().err().map(|e| e.to_string()),
        );

        let mut gateway = ferrocast_gateway::Config::for_tests();
        gateway.common.service_token = secret;
        assert_names_the_token(
            "gateway",
            token,
            gateway.validate().err().map(|e| e.to_string()),
        );
    }
    // The tests' own token passes the same rule everywhere.
    let strong = ferrocast_kit::config::TEST_SERVICE_TOKEN;
    assert!(
        ferrocast_rooms::Config::for_tests("redis://x", "x:", "http://x", strong)
            .validate()
            .is_ok()
    );
    assert!(ferrocast_gateway::Config::for_tests().validate().is_ok());
}
