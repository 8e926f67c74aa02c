//! Stream keys, access tokens and the service token never reach the logs, at any level, while
//! rooms handles every kind of callback and authenticated request.

use ferrocast_testkit::{
    platform::{
        rooms::{
            config, nginx,
            Credential::{Bearer, Cookie},
            Rooms,
        },
        SERVICE_TOKEN,
    },
    LogCapture, Options, Platform,
};

#[test]
fn keys_and_tokens_never_reach_the_logs() {
    let logs = LogCapture::new();
    logs.run(async {
        let users = Platform::start(Options::users()).await.unwrap();
        let mut config = config(&users);
        config.nginx.hls_app = Some("hls".into());
        let rooms = Rooms::start(config).await;
        let alice = users.streamer().await;
        let unknown_key = "live_UnknownKeyThatMustNotBeLogged42";

        assert_eq!(rooms.publish(&alice.key, "1").await.status(), 302);
        assert_eq!(rooms.publish(&alice.key, "2").await.status(), 409);
        assert_eq!(rooms.publish(unknown_key, "3").await.status(), 403);
        assert_eq!(rooms.update(&alice.key, "1").await.status(), 200);
        let relay = nginx("publish", "hls", &alice.username, "4");
        assert_eq!(rooms.callback(&relay).await.status(), 200);
        let mut ingest = nginx("update", "live", &alice.key, "5");
        ingest.push(("session_id", "s-5"));
        ingest.push(("user_id", &alice.user_id));
        ingest.push(("username", &alice.username));
        rooms.ingest_callback(&ingest).await;
        for credential in [Bearer(&alice.token), Cookie(&alice.token)] {
            let response = rooms.put_title(credential, "hello").await;
            assert_eq!(response.status(), 200);
        }
        assert_eq!(rooms.publish_done(&alice.key, "1").await.status(), 200);

        let text = logs.contents();
        assert!(text.contains("callback"), "the capture sees rooms' logs");
        for (what, secret) in [
            ("stream key", alice.key.as_str()),
            ("unknown stream key", unknown_key),
            ("access token", alice.token.as_str()),
            ("service token", SERVICE_TOKEN),
        ] {
            assert!(!text.contains(secret), "the {what} was logged");
        }
    });
}
